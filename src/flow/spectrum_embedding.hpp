#pragma once
/// Embedding network of a spectrum (docs/spectra.md): compresses one flux-normalised spectrum of
/// P pixels to E numbers, which the flow takes as the last E entries of its conditioning vector.
/// Trained jointly with the flow (flow::train with a SpectrumInput), stored in the model file as
/// the attachment kSpectrumEmbeddingAttachment.
///
/// Architecture (a 1-D CNN with attention pooling):
///   input [2, P]: the spectrum z-scored per pixel with the training split's mean and std, and the
///     pixel's position, ln(lambda) mapped linearly onto [-1, 1] (so that features can depend
///     on where in the spectrum they are);
///   Conv1d(kernel 2 input_stride, stride input_stride) -> GELU, then n_conv - 1 x [Conv1d(kernel 7,
///     stride 2, padding 3) -> GELU], `channels` channels each (P -> about P / (input_stride
///     2^(n_conv - 1)) positions). The first stride is large because the pixels oversample the
///     SSP library (BC03's nodes are 10-20 A apart, a pixel at R = 2,000 is 1-2.5 A): a learned
///     binning, at a fraction of the cost of a stride-2 first layer;
///   attention pooling: `heads` scores per position (a 1x1 convolution of the features plus a
///     learned bias per position and head, so a head can attend to a wavelength as well as to a
///     feature), softmax over positions, each head the score-weighted mean of the features ->
///     [heads x channels];
///   Linear(heads x channels, hidden) -> GELU -> Linear(hidden, E).
/// Plain C++ interface: no LibTorch header here (the model lives in embedding_model.hpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sedpost::flow {

/// Name of the model-file attachment holding the embedding (FlowMetadata::attachments).
inline constexpr const char* kSpectrumEmbeddingAttachment = "spectrum_embedding";

struct EmbeddingConfig {
  int n_pixels = 0;   ///< P (>= 16 input_stride)
  int out_dim = 16;   ///< E, entries appended to the flow's conditioning vector
  int channels = 16;  ///< width of every convolution
  int n_conv = 4;     ///< strided convolutions
  int input_stride = 8;  ///< stride of the first convolution (kernel 2 x stride)
  int heads = 4;      ///< attention-pooling heads
  int hidden = 64;    ///< width of the head's hidden layer
  std::uint64_t seed = 0;  ///< weight initialisation (identical on every rank)
};

class SpectrumEmbedding {
 public:
  /// New network with weights drawn He-uniform (U(+-sqrt(6 / fan_in))) from Rng(seed, kFlowInit,
  /// ...), identical on every rank, and biases 0; per-pixel statistics start as (0, 1). Throws
  /// ConfigError for a bad config.
  explicit SpectrumEmbedding(const EmbeddingConfig& cfg);
  ~SpectrumEmbedding();
  SpectrumEmbedding(SpectrumEmbedding&&) noexcept;
  SpectrumEmbedding& operator=(SpectrumEmbedding&&) noexcept;
  SpectrumEmbedding(const SpectrumEmbedding&) = delete;
  SpectrumEmbedding& operator=(const SpectrumEmbedding&) = delete;

  /// The attachment's bytes (architecture, statistics, weights) and back; from_bytes throws
  /// DataError naming `what` for a malformed blob.
  std::string to_bytes() const;
  static SpectrumEmbedding from_bytes(const std::string& bytes, const std::string& what = "spectrum embedding");

  const EmbeddingConfig& config() const;
  int n_pixels() const { return config().n_pixels; }
  int out_dim() const { return config().out_dim; }
  std::int64_t parameter_count() const;

  /// Per-pixel z-score of the input spectra, [P] each (std > 0).
  void set_standardization(const std::vector<float>& mean, const std::vector<float>& std);

  /// Rescales the last layer so that outputs of mean `mean` and std `std` [E] (measured on the
  /// training set) become mean 0 and std 1 (a data-dependent initialisation: at the usual
  /// initial scale the pooled outputs spread by about 1e-3).
  void standardize_outputs(const std::vector<double>& mean, const std::vector<double>& std);

  /// spectra [n, P] (finite) -> out [n, E]. No gradients; uses flow::set_threads() threads.
  void embed(const float* spectra, std::int64_t n, float* out) const;

  /// All weights as one vector (a fixed order) and back; for tests, checkpoints and tools.
  std::vector<float> parameters() const;
  void set_parameters(const std::vector<float>& p);

  struct Impl;
  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  explicit SpectrumEmbedding(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sedpost::flow
