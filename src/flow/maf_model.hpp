#pragma once
/// Internal (LibTorch) side of the flow. Included only by src/flow/*.cpp and tests/flow.
///
/// Parameter layout: ONE flat float32 buffer; every weight is a view into it. Hidden units
/// of each MADE are stored sorted by degree (nflows assigns degree (k mod (D-1)) + 1 to unit
/// k; we store the same multiset of degrees, unit order sorted, which is a relabelling of
/// the same network family with the same i.i.d. initialisation). Then every masked weight
/// matrix has a "live row prefix": row r may be nonzero only in columns [0, live_cols[r]).
/// Masked entries are initialised to 0 and never updated (their gradients are dropped), so
/// dense GEMMs are exact and the inference paths can use block-triangular GEMMs.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "flow/flow.hpp"
#include "flow/made_backprop.hpp"
#include "flow/made_kernels.hpp"
#include "flow/rq_spline.hpp"

namespace sedpost::flow {

/// One tensor of the model inside the flat buffer.
struct ParamInfo {
  std::int64_t offset = 0;  ///< into the flat buffer
  std::int64_t rows = 0, cols = 0;  ///< cols = 1 for biases (stored as [rows])
  bool is_bias = false;
  std::vector<std::int32_t> live_cols;  ///< per row; empty = all columns live
};

/// A contiguous run of live parameters (for the fused optimizer and gradient buffer).
struct Segment {
  std::int64_t flat_offset;     ///< into the flat parameter buffer
  std::int64_t param_index;     ///< which ParamInfo
  std::int64_t param_offset;    ///< element offset inside that parameter
  std::int64_t compact_offset;  ///< into the packed (live-only) gradient buffer
  std::int64_t length;
};

struct MadeViews {
  torch::Tensor W0, b0, Wc, bc;        ///< input [H, D], context [H, C]
  std::vector<torch::Tensor> Wh, bh;   ///< hidden blocks [H, H]
  /// [P D, H]; rows i P .. i P + P - 1 are value i's transform parameters: unconstrained
  /// scale, shift, then for the spline (P = 2 + 3K - 1) the spline's in SplineShape's order.
  torch::Tensor Wout, bout;
};

/// The parameters as LibTorch tensors on one device: the flat buffer and views into it in the
/// layout of Flow::Impl::params. The views are leaves that require grad (autograd training).
struct TorchWeights {
  torch::Tensor flat;                       ///< [n_params] float32
  std::vector<torch::Tensor> leaves;        ///< one view per ParamInfo ([rows, cols] or [rows])
  std::vector<MadeViews> blocks;            ///< the same views, by MADE
  std::vector<torch::Tensor> perm_t, inv_perm_t;  ///< per block, int64 on the same device
};

struct Flow::Impl {
  MafConfig cfg;
  FlowMetadata meta;
  int D = 0, C = 0, H = 0, L = 0;  ///< L = n_hidden_blocks
  int P = 2;                        ///< MADE outputs per value (2 affine, 2 + 3K - 1 spline)
  SplineShape spline;               ///< spline transform only
  bool is_spline() const { return cfg.transform == Transform::kSpline; }

  // Degrees (nflows): hidden degree groups after sorting.
  std::vector<int> hidden_degree;        ///< [H], non-decreasing
  std::vector<int> group_degree;         ///< distinct hidden degrees, increasing
  std::vector<std::int64_t> group_begin, group_end;  ///< unit ranges of each group
  std::vector<std::int64_t> prefix_le;   ///< prefix_le[d] = #hidden units with degree <= d, d=0..D

  std::vector<ParamInfo> params;  ///< all tensors, block-major
  std::vector<Segment> segments;  ///< live runs
  std::int64_t n_params = 0, n_live = 0;
  /// [n_params] float32 on the host: THE parameters (training's Adam step, save(), the CPU
  /// kernels). `host` holds views into it.
  torch::Tensor flat;
  TorchWeights host;
  std::vector<std::vector<std::int64_t>> perm, inv_perm;  ///< per block

  /// Where the LibTorch path runs in place of the CPU kernels (Flow::set_device; tests also
  /// set torch::kCPU to run the device code on the host). Empty: the CPU kernels for the
  /// affine flow, LibTorch on `host` for the spline.
  std::optional<torch::Device> torch_device;
  /// A copy of `flat` on torch_device with its views; refreshed by upload_parameters() after
  /// every change of `flat`. Null when torch_device is empty.
  std::shared_ptr<TorchWeights> device_weights;
  /// Sets or clears torch_device and uploads the parameters there.
  void set_torch_device(std::optional<torch::Device> device);
  /// Copies `flat` into device_weights (no-op without a torch device).
  void upload_parameters() const;
  /// The weights of the LibTorch passes below: device_weights when a torch device is set,
  /// else `host`. Input tensors of those passes must be on the same device.
  const TorchWeights& torch_weights() const { return device_weights ? *device_weights : host; }
  /// The LibTorch path serves forward_rows / inverse_rows (spline flows, or a torch device).
  bool uses_torch_path() const { return is_spline() || torch_device.has_value(); }

  std::vector<double> theta_mean, theta_std, x_mean, x_std;

  explicit Impl(const MafConfig& c, FlowMetadata m);
  void build_layout();
  /// Views of `flat_buffer` (on any device) in this flow's layout.
  TorchWeights make_weights(const torch::Tensor& flat_buffer) const;
  /// host = make_weights(flat).
  void make_views();
  void init_weights(std::uint64_t seed);
  std::unique_ptr<Impl> clone() const;

  // ---- coordinate maps (double precision, host) ----
  /// theta (box coords) -> z-scored flow input y (float) plus the log |det| of the map.
  /// Returns false for rows outside the open box (y unspecified, logdet -inf).
  bool to_flow_coords(const float* theta, float* y, double* logdet) const;
  /// y -> theta, log |dtheta/dy|; theta is clamped strictly inside the box.
  void from_flow_coords(const float* y, float* theta, double* logdet) const;
  void standardize_x(const float* x, float* e) const;

  // ---- torch forward passes (y already z-scored, e already z-scored; torch_weights()) ----
  /// Training forward with autograd (dense masked GEMMs): returns log q(y|e) per row
  /// (base + MADE log-dets, no z-score/box terms), shape [B].
  torch::Tensor log_prob_train(const torch::Tensor& y, const torch::Tensor& e) const;
  /// Density direction through every block with LibTorch ops (autograd when enabled):
  /// y [B, D] -> z [B, D]; logdet [B] = sum of the blocks' log |dz/dy|. Both transforms.
  torch::Tensor forward_torch(const torch::Tensor& y, const torch::Tensor& e, torch::Tensor& logdet) const;
  /// Sampling direction with LibTorch ops, D MADE passes per block: z [B, D], e [B, C] ->
  /// y [B, D]; logdet [B] in the forward direction. Both transforms (the spline's only path).
  torch::Tensor inverse_torch(const torch::Tensor& z, const torch::Tensor& e, torch::Tensor& logdet) const;
  /// Pointers and degree groups for the inference kernels (made_kernels.hpp). Cheap: views
  /// into `flat`, so it always sees the current parameters.
  kern::MafView kernel_view() const;
  /// Gradient destinations of every MADE inside `base`, a buffer of n_params floats laid out
  /// like `flat` (for kern::loss_and_grad).
  std::vector<kern::MadeGradPtrs> grad_view(float* base) const;
  /// Inference forward (density direction) of n rows, parallel over row chunks on the
  /// set_threads() threads (uses_torch_path(): forward_torch on torch_weights()' device, host
  /// arrays copied there and back): y [n, D], e [n, C] (both z-scored) -> z [n, D] and
  /// logdet [n] = sum log s. Masked entries are never multiplied by the CPU kernels.
  void forward_rows(const float* y, const float* e, std::int64_t n, float* z, float* logdet) const;
  /// Degree-ordered inverse of n rows, parallel over row chunks (uses_torch_path():
  /// inverse_torch as above): z [n, D] -> y [n, D] and
  /// logdet [n] (forward-direction sum log s). Row r has the context e_obs[row_obs[r]]
  /// (e_obs [n_obs, C], z-scored); the context layer runs once per observation and block.
  void inverse_rows(const float* z, const float* e_obs, std::int64_t n_obs,
                    const std::int64_t* row_obs, std::int64_t n, float* y, float* logdet) const;
  /// Tensor wrappers of forward_rows / inverse_rows (tests and the validation loss):
  /// z and logdet [B]; row_to_obs [B] int64 maps each row to its row of e.
  void forward_fast(const torch::Tensor& y, const torch::Tensor& e, torch::Tensor& z,
                    torch::Tensor& logdet) const;
  void inverse_fast(const torch::Tensor& z, const torch::Tensor& e,
                    const torch::Tensor& row_to_obs, torch::Tensor& y,
                    torch::Tensor& logdet) const;
  /// Dense MADE output [B, 2D] of block k (reference, no sorting tricks).
  torch::Tensor made_dense(int k, const torch::Tensor& y, const torch::Tensor& e) const;
};

/// Keeps large freed blocks in the heap (glibc mallopt), once per process.
void tune_allocator();

/// 64-bit FNV-1a.
std::uint64_t fnv1a64(const char* data, std::size_t n);

}  // namespace sedpost::flow
