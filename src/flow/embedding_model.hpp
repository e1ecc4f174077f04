#pragma once
/// Internal (LibTorch) side of SpectrumEmbedding. Included only by src/flow/*.cpp and tests/flow.
#include <torch/torch.h>

#include <vector>

#include "flow/spectrum_embedding.hpp"

namespace sedpost::flow {

struct SpectrumEmbedding::Impl {
  EmbeddingConfig cfg;
  /// Weights, in the fixed order of parameters(): per convolution W [C, C_in, K], b [C]; with
  /// attention pooling its scores W [heads, C, 1] and per-position bias [L, heads]; the head's
  /// W1 [hidden, pooled], b1, W2 [E, hidden], b2. Leaves that require grad (joint training reads
  /// their .grad()).
  std::vector<torch::Tensor> weights;
  torch::Tensor pixel_mean, pixel_std;  ///< [P] input z-score
  torch::Tensor position;               ///< [P'] input position on [-1, 1] (P' = P + rest_shift; pixels are uniform in ln lambda)

  explicit Impl(const EmbeddingConfig& c);
  /// The network's input [B, P', C_in] (C_in = 2, or 3 in the rest frame) of spectra [B, P]
  /// float32 and, in the rest frame, their redshifts z [B] (else undefined).
  torch::Tensor input(const torch::Tensor& spectra, const torch::Tensor& z) const;
  /// spectra [B, P] float32 (and z [B] in the rest frame) -> [B, E]; autograd through the
  /// weights when grad mode is on.
  torch::Tensor forward(const torch::Tensor& spectra, const torch::Tensor& z = {}) const;
  std::int64_t n_params() const;
  /// Weights flattened into / from one [n_params] vector (the order of `weights`).
  torch::Tensor flat() const;
  void set_flat(const float* p);
  /// Gradients of the weights in the same layout (zeros where a weight has none), then cleared.
  void take_grad(float* out);
};

}  // namespace sedpost::flow
