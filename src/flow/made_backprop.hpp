#pragma once
/// Training kernels of the MAF (no LibTorch): log q of a batch and the gradient of the loss
/// by hand-written back-propagation. They use the degree-sorted staircase of the inference
/// kernels (made_kernels.hpp): a masked weight is never multiplied, nor differentiated, and
/// the loops run over the live prefix of every row only (55 % of the dense multiply-adds at
/// SEDflow size). Results equal LibTorch autograd through Flow::Impl::log_prob_train to float
/// rounding (tests/flow: FlowBackprop).
///
/// Work split: each thread runs the forward pass and the backward pass of the activations
/// for its own tiles of rows; the weight gradients of each MADE are then split by weight rows
/// (one barrier per MADE). Kernel sets for AVX-512F and for AVX2 + FMA, chosen once by
/// isa_name(); callers fall back to autograd where it is "scalar".
#include <cstdint>
#include <vector>

#include "flow/made_kernels.hpp"

namespace sedpost::flow::kern {

/// Where the gradient of one MADE goes: the shapes and layout of MadePtrs, inside a buffer
/// laid out like the flat parameter buffer.
struct MadeGradPtrs {
  float *W0 = nullptr, *b0 = nullptr;      ///< [H, D], [H]
  float *Wc = nullptr, *bc = nullptr;      ///< [H, C], [H]
  std::vector<float*> Wh, bh;              ///< L x [H, H], [H]
  float *Wout = nullptr, *bout = nullptr;  ///< [2D, H], [2D]
};

/// True when this CPU runs these kernels: isa_name() is "avx512" or "avx2" (so false only
/// without AVX2 + FMA, or with SEDPOST_FLOW_ISA=scalar). loss_and_grad needs it.
bool backprop_available();

/// Scratch memory (activations of one micro-batch); grows on first use.
struct BackpropWorkspace {
  std::vector<float> buf;
};

/// Rows per micro-batch: bounds the stored activations (about 120 KB per row at SEDflow size).
inline constexpr std::int64_t kMicroRows = 256;

/// y [n, D] z-scored flow inputs, e [n, C] z-scored contexts (row-major). Returns
/// sum_r log q(y_r | e_r), the base density plus the MADE log-determinants (what
/// Flow::Impl::log_prob_train returns, summed), and writes (accumulate = false) or adds
/// (accumulate = true) the gradient of  loss = -scale * sum_r log q  for every unmasked
/// parameter into grad; masked weight entries are never written. Runs `threads` threads.
double loss_and_grad(const MafView& v, const std::vector<MadeGradPtrs>& grad, const float* y,
                     const float* e, std::int64_t n, double scale, bool accumulate, int threads,
                     BackpropWorkspace& ws);

/// Sum of squares of g[0, n) (double accumulation): for the gradient norm.
double sum_squares(const float* g, std::int64_t n);

/// torch.optim.Adam's update (no weight decay) of n parameters, float arithmetic:
///   g' = clip g;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;
///   p -= step_size m / (sqrt(v) inv_sqrt_bc2 + eps)
/// with step_size = lr / (1 - b1^t) and inv_sqrt_bc2 = 1 / sqrt(1 - b2^t). The AVX-512, AVX2
/// and scalar versions give identical results (no fused multiply-adds).
struct AdamStep {
  float b1, b2, c1, c2;      ///< betas and 1 - betas
  float step_size, inv_sqrt_bc2, eps;
  float clip;                ///< gradient-norm clipping factor (1 = none)
};
void adam_update(float* p, float* m, float* v, const float* g, std::int64_t n, const AdamStep& a);

}  // namespace sedpost::flow::kern
