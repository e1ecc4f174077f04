#pragma once
/// Conditional masked autoregressive flow (sbi's MAF, MODEL.md section 7) for q(theta | x).
///
/// Plain C++ interface: no LibTorch header is included here, so application code can use
/// the flow without compiling against torch. Arrays are row-major float32:
/// theta [n, n_theta] in the coordinates of the training set's `/theta` (the "physical" flow
/// coordinates, inside the prior box when one is set), x [n, n_x] the raw conditioning vector.
///
/// Transform chain (theta -> z, the density direction):
///   1. prior box bijection (if a box is set): u = logit((theta - lo) / (hi - lo));
///   2. z-score with training-split mean/std (sbi's standardizing transform);
///   3. n_blocks x [MADE transform of each y_i given (y_<i, e): affine s * y_i + t, or
///      s * RQ(y_i) + t with a rational-quadratic spline RQ (MafConfig::transform); then a
///      fixed random permutation];
///   4. standard normal base.
/// The context e = (x - mean_x) / std_x enters each MADE's first layer as
/// tanh(W0m y + b0 + tanh(Wc e + bc)) (nflows MADE.forward, use_residual_blocks=False).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flow/device.hpp"

namespace sedpost::flow {

/// What each MADE does to its value y_i given (y_<i, e).
enum class Transform : std::uint8_t {
  kAffine = 0,  ///< y_i -> s y_i + t (sbi's "maf"; MODEL.md section 7)
  /// Monotone rational-quadratic spline on [-tail_bound, tail_bound], identity outside
  /// (Durkan et al. 2019, whose spline flows give sbi's published sbibm NPE figures), then an
  /// affine map: y_i -> s RQ(y_i) + t, all parameters from the same MADE. The affine part
  /// lets a block shift and scale as the MAF's does (a spline alone maps [-B, B] onto
  /// itself). Trained with LibTorch autograd, sampled with D MADE passes per block.
  kSpline = 1,
};

/// Architecture of the flow. SEDflow: 15 blocks x 500 hidden units, 2 hidden blocks per MADE.
struct MafConfig {
  int n_theta = 0;          ///< D, dimension of theta (>= 1)
  int n_x = 0;              ///< C, dimension of the conditioning vector (>= 1)
  int n_blocks = 15;        ///< number of MADE transforms (sbi: num_transforms)
  int hidden = 500;         ///< hidden width H (sbi: hidden_features)
  int n_hidden_blocks = 2;  ///< MADE feedforward blocks after the input layer (sbi: num_blocks)
  bool batch_norm = false;  ///< not implemented: true throws ConfigError
  Transform transform = Transform::kAffine;
  int spline_bins = 10;       ///< K, spline transform only (sbi's nsf: 10)
  double tail_bound = 3.0;    ///< spline transform only (sbi's nsf: 3, on z-scored values)
  std::uint64_t seed = 0;   ///< weight initialisation and permutations (same on every rank)
};

/// Everything stored with the weights so that a model file is self-contained.
struct FlowMetadata {
  /// Prior box in theta coordinates; both empty = unbounded (no bijection).
  std::vector<double> theta_lower, theta_upper;
  std::vector<std::string> theta_names;  ///< [n_theta] or empty
  std::vector<std::string> x_names;      ///< [n_x] or empty
  std::vector<std::string> band_names;   ///< free list (e.g. ugriz), may be empty
  std::string config_text;               ///< free-form (the effective TOML of the run)
  /// Named blobs the application stores with the model (format up to the caller), e.g.
  /// "training_config" (the training set's TOML) and "support" (out-of-support tables).
  std::vector<std::pair<std::string, std::string>> attachments;
  /// The blob called `name`, or nullptr.
  const std::string* attachment(const std::string& name) const {
    for (const auto& [n, blob] : attachments)
      if (n == name) return &blob;
    return nullptr;
  }
};

/// Format version written by save(); load() reads this and every version down to
/// kOldestModelFormatVersion.
inline constexpr std::uint32_t kModelFormatVersion = 3;  // 2: attachments; 3: transform kind
inline constexpr std::uint32_t kOldestModelFormatVersion = 2;

class Flow {
 public:
  /// New flow with weights initialised as torch.nn.Linear does (U(+-1/sqrt(fan_in))), keyed
  /// by cfg.seed through Rng(seed, kFlowInit, ...): identical on every rank. Z-score stats
  /// start as identity (train() sets them). Throws ConfigError on a bad config or metadata
  /// (box sizes, lo >= hi, name counts).
  Flow(const MafConfig& cfg, FlowMetadata meta = {});
  ~Flow();
  Flow(Flow&&) noexcept;
  Flow& operator=(Flow&&) noexcept;
  Flow(const Flow&) = delete;
  Flow& operator=(const Flow&) = delete;
  /// Deep copy (weights, stats, metadata).
  Flow clone() const;

  /// Reads a model file written by save(). Throws IoError (cannot open), DataError (not a
  /// sedpost flow file, wrong format version, truncated or corrupted: checksum mismatch).
  static Flow load(const std::string& path);
  /// Same, from the file's bytes (e.g. read on rank 0 and broadcast).
  static Flow from_bytes(const std::string& bytes);
  /// Writes the model file atomically (path.tmp, then rename). Throws IoError.
  void save(const std::string& path) const;
  std::string to_bytes() const;

  const MafConfig& config() const;
  const FlowMetadata& metadata() const;
  /// Sets the attachment `name` (replacing one of that name) to `blob`.
  void set_attachment(const std::string& name, std::string blob);
  int n_theta() const;
  int n_x() const;
  bool has_box() const;
  /// Number of parameters, counted as nflows does (masked weights included; SEDflow ~7.9 M).
  std::int64_t parameter_count() const;
  /// Number of parameters that can be nonzero (masked entries excluded).
  std::int64_t free_parameter_count() const;

  /// Z-score statistics (flow coordinates after the box bijection; x raw). Size D / C.
  void set_standardization(std::vector<double> theta_mean, std::vector<double> theta_std,
                           std::vector<double> x_mean, std::vector<double> x_std);
  const std::vector<double>& theta_mean() const;
  const std::vector<double>& theta_std() const;
  const std::vector<double>& x_mean() const;
  const std::vector<double>& x_std() const;

  /// Draws `n_per_obs` samples for each of `n_obs` observations.
  /// x: [n_obs, n_x]; samples_out: [n_obs, n_per_obs, n_theta]; log_q_out (may be null):
  /// [n_obs, n_per_obs], log q(theta | x) in theta coordinates (box Jacobian included).
  /// Noise for observation j is keyed by (seed, kFlowSample, first_obs_index + j), so a
  /// galaxy's samples do not depend on how a catalog is split over ranks. Samples are always
  /// strictly inside the prior box when one is set. Not collective. Uses set_threads() threads.
  void sample(const float* x, std::int64_t n_obs, std::int64_t n_per_obs, std::uint64_t seed,
              float* samples_out, float* log_q_out = nullptr,
              std::int64_t first_obs_index = 0) const;
  /// Convenience overload returning [n_obs * n_per_obs * n_theta].
  std::vector<float> sample(const std::vector<float>& x, std::int64_t n_per_obs,
                            std::uint64_t seed, std::vector<float>* log_q = nullptr,
                            std::int64_t first_obs_index = 0) const;

  /// log q(theta_i | x_i) for n pairs: theta [n, n_theta], x [n, n_x] -> out [n].
  /// -inf where theta is outside the open prior box.
  void log_prob(const float* theta, const float* x, std::int64_t n, float* out) const;
  /// log q for draws that share their observation's x (the layout sample() writes):
  /// theta [n_obs, n_per_obs, n_theta], x [n_obs, n_x] -> out [n_obs, n_per_obs]. Same values as
  /// the pairwise log_prob with each x repeated.
  void log_prob(const float* theta, const float* x, std::int64_t n_obs, std::int64_t n_per_obs, float* out) const;
  std::vector<float> log_prob(const std::vector<float>& theta, const std::vector<float>& x) const;

  /// Where sample(), log_prob() and train() compute (device.hpp). Default cpu: the CPU
  /// kernels. A CUDA device (from select_device) keeps a copy of the weights on that GPU and
  /// runs the LibTorch path there; the parameters stay on the host as well, so save() and
  /// to_bytes() write the same file whatever the device. Throws ConfigError for a CUDA device
  /// in a build without CUDA. clone() keeps the device; a model file does not record
  /// it (a loaded flow is on cpu).
  void set_device(const Device& device);
  Device device() const;

  /// Flat parameter vector (the layout of the fused gradient buffer), for tests and tools.
  std::vector<float> parameters() const;
  void set_parameters(const std::vector<float>& p);

  struct Impl;
  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  explicit Flow(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Sets the number of threads LibTorch and OpenBLAS use (intra-op). n <= 0: all cores
/// (std::thread::hardware_concurrency()). LibTorch's default here is 1.
void set_threads(int n);
int get_threads();

}  // namespace sedpost::flow
