#pragma once
/// Embedding network of a spectrum (docs/spectra.md): compresses one flux-normalised spectrum of
/// P pixels to E numbers, which the flow takes as the last E entries of its conditioning vector.
/// Trained jointly with the flow (flow::train with a SpectrumInput), stored in the model file as
/// the attachment kSpectrumEmbeddingAttachment.
///
/// Architecture (a 1-D CNN with attention pooling or a flattened head):
///   input [2, P] in the observed frame: the spectrum z-scored per pixel with the training
///     split's mean and std, and the pixel's position, ln(lambda) mapped linearly onto [-1, 1]
///     (so that features can depend on where in the spectrum they are);
///   or [3, P + rest_shift] in the rest frame (models with the redshift given): the z-scored
///     spectrum moved by the galaxy's redshift onto a grid of the same ln(lambda) step that
///     covers every rest wavelength seen at z in [z_min, z_max] (a whole-pixel shift of
///     round((ln(1 + z_max) - ln(1 + z)) / step); 0 where the spectrum does not reach), a
///     coverage mask (1 where it does) and the rest position; a rest-frame feature (the 4,000 A
///     break, a Balmer line) then sits at the same input position at every z;
///   Conv1d(kernel 2 input_stride, stride input_stride) -> GELU, then n_conv - 1 x [Conv1d(kernel 7,
///     stride 2, padding 3) -> GELU], `channels` channels each (P -> about P / (input_stride
///     2^(n_conv - 1)) positions). The first stride is large because the pixels oversample the
///     SSP library (BC03's nodes are 10-20 A apart, a pixel at R = 2,000 is 1-2.5 A): a learned
///     binning, at a fraction of the cost of a stride-2 first layer;
///   pooling "attention": `heads` scores per position (a 1x1 convolution of the features plus a
///     learned bias per position and head, so a head can attend to a wavelength as well as to a
///     feature), softmax over positions, each head the score-weighted mean of the features ->
///     [heads x channels]; or "flatten": the features of every position in order -> [L x
///     channels] (keeps where each feature is; more weights in the next layer);
///   Linear(pooled, hidden) -> GELU -> Linear(hidden, E).
/// Plain C++ interface: no LibTorch header here (the model lives in embedding_model.hpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sedpost::flow {

/// Name of the model-file attachment holding the embedding (FlowMetadata::attachments).
inline constexpr const char* kSpectrumEmbeddingAttachment = "spectrum_embedding";

enum class Pooling : std::int32_t { kAttention = 0, kFlatten = 1 };

/// "attention" / "flatten" and back (ConfigError naming the value otherwise).
Pooling pooling_from_string(const std::string& s);
std::string to_string(Pooling p);

struct EmbeddingConfig {
  int n_pixels = 0;   ///< P (>= 16 input_stride)
  int out_dim = 16;   ///< E, entries appended to the flow's conditioning vector
  int channels = 16;  ///< width of every convolution
  int n_conv = 4;     ///< strided convolutions
  int input_stride = 8;  ///< stride of the first convolution (kernel 2 x stride)
  int heads = 4;      ///< attention-pooling heads
  int hidden = 64;    ///< width of the head's hidden layer
  Pooling pooling = Pooling::kFlatten;
  /// Rest-frame input (0: observed frame): pixels the rest grid adds to P, >= the largest shift
  /// (rest_frame_shift()). Needs the pixels' ln(lambda) step and ln(1 + z_max).
  int rest_shift = 0;
  double ln_step = 0.0;    ///< ln(lambda) step of one pixel (rest frame only)
  double ln1pz_max = 0.0;  ///< ln(1 + z_max) (rest frame only)
  std::uint64_t seed = 0;  ///< weight initialisation (identical on every rank)
};

/// Pixels a rest-frame grid adds for redshifts in [z_min, z_max] at a ln(lambda) step `ln_step`:
/// ceil((ln(1 + z_max) - ln(1 + z_min)) / ln_step).
int rest_frame_shift(double ln_step, double z_min, double z_max);

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
  /// The input is moved to the rest frame: embed() needs each spectrum's redshift.
  bool rest_frame() const { return config().rest_shift > 0; }
  std::int64_t parameter_count() const;

  /// Per-pixel z-score of the input spectra, [P] each (std > 0).
  void set_standardization(const std::vector<float>& mean, const std::vector<float>& std);

  /// Rescales the last layer so that outputs of mean `mean` and std `std` [E] (measured on the
  /// training set) become mean 0 and std 1 (a data-dependent initialisation: at the usual
  /// initial scale the pooled outputs spread by about 1e-3).
  void standardize_outputs(const std::vector<double>& mean, const std::vector<double>& std);

  /// spectra [n, P] (finite) and their redshifts z [n] (read only when rest_frame(); may be
  /// null otherwise) -> out [n, E]. No gradients; uses flow::set_threads() threads. Throws
  /// ConfigError when a rest-frame embedding gets no redshifts.
  void embed(const float* spectra, const float* z, std::int64_t n, float* out) const;

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
