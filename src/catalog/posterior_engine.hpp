#pragma once
/// Posteriors for a chunk of catalog galaxies (MODEL.md sections 8-9): conditioning vector,
/// flow samples, physical and derived quantities, summaries, the chi^2 of the highest-density
/// sample, and the out-of-support flags. Not collective; the caller distributes chunks.
///
/// A galaxy's samples are keyed by its catalog row (Flow::sample's first_obs_index), so the
/// output does not depend on how rows are split into chunks or over ranks.
#include <cstdint>
#include <string>
#include <vector>

#include "catalog/catalog_reader.hpp"
#include "catalog/quantities.hpp"
#include "catalog/support.hpp"
#include "flow/flow.hpp"
#include "noise/conditioning.hpp"
#include "prior/prior.hpp"
#include "sps/sed_model.hpp"

namespace sedpost::catalog {

/// Bits of the per-galaxy flag mask (`/flags`; names in flag_names()).
enum InferFlag : std::uint32_t {
  kFlagBadPhotometry = 1u << 0,   ///< NaN flux, sigma <= 0, NaN or negative ivar, missing band: no posterior
  kFlagBadRedshift = 1u << 1,     ///< z non-finite or outside the training range: no posterior
  kFlagNoisier = 1u << 2,         ///< MODEL.md 9 criterion 1: noisier than the training data
  kFlagColour = 1u << 3,          ///< criterion 2: a colour outside the training colours
  kFlagChi2 = 1u << 4,            ///< criterion 3: implausible chi^2 of the best sample
};
inline constexpr int kNumInferFlags = 5;
/// "bad_photometry", "bad_redshift", "noisier_than_training", "colour_out_of_range",
/// "chi2_implausible".
const std::vector<std::string>& infer_flag_names();
/// Flags that mean "no posterior was computed" (summaries NaN).
inline constexpr std::uint32_t kFlagsNoPosterior = kFlagBadPhotometry | kFlagBadRedshift;

struct InferSettings {
  int n_samples = 1000;        ///< posterior draws per galaxy used for the summaries
  int n_store = 0;             ///< of those, stored per galaxy in /samples (0 = none)
  std::uint64_t seed = 0;      ///< flow sampling seed
  double chi2_pvalue = 1e-3;   ///< criterion 3: flag when P(chi^2_B > chi2) < this
  /// Throws ConfigError for n_samples < 1, n_store outside [0, n_samples], p outside (0, 1).
  void validate() const;
};

/// Results for one chunk of n galaxies (row-major arrays).
struct ChunkResult {
  std::uint64_t n = 0;
  std::vector<float> summary;        ///< [n, K, 7]
  std::vector<float> samples;        ///< [n, n_store, K]
  std::vector<double> chi2;          ///< [n] (NaN when no posterior)
  std::vector<double> best_flux;     ///< [n, B] model fluxes of the best sample [nmgy]
  std::vector<double> log_q_best;    ///< [n] log q of the best sample in the unbounded coordinates
  std::vector<std::uint32_t> flags;  ///< [n]
  std::vector<std::string> reason;   ///< [n] "" or "; "-joined reasons
  std::vector<double> truth;         ///< [n, K] when the chunk has truth, else empty
  double seconds_sampling = 0;       ///< wall time in Flow::sample
  double seconds_rest = 0;           ///< checks, quantities, summaries, chi^2
};

class PosteriorEngine {
 public:
  /// `flow` must have been trained on this model's training set (theta = the prior's flow
  /// coordinates, x = Conditioning(bands)). Throws ConfigError when the dimensions disagree.
  PosteriorEngine(const flow::Flow& flow, const sps::SedModel& model, const prior::Prior& prior,
                  const TrainingSupport& support, const InferSettings& settings);

  ChunkResult run(const CatalogChunk& chunk) const;

  int num_bands() const { return static_cast<int>(support_.bands.size()); }
  double chi2_threshold() const { return chi2_max_; }
  const InferSettings& settings() const { return settings_; }

 private:
  /// Input checks (flags 0-1 and criteria 1-2) for row i; returns the flag bits.
  std::uint32_t check_row(const CatalogChunk& c, std::size_t i, std::string* reason) const;
  /// log q of a draw in the flow's unbounded coordinates u = logit((theta - lo)/(hi - lo)):
  /// log q(theta) + sum_k log |d theta_k / d u_k|. `theta` [n_theta] in flow coordinates.
  double log_q_unbounded(const float* theta, float log_q) const;
  /// Quantities [S, K], summaries, chi^2 and best flux of galaxy i from its flow samples.
  void summarise_galaxy(const CatalogChunk& c, std::size_t i, const float* theta_flow, const float* log_q,
                        ChunkResult& r) const;

  const flow::Flow& flow_;
  const sps::SedModel& model_;
  const prior::Prior& prior_;
  const TrainingSupport& support_;
  InferSettings settings_;
  noise::Conditioning conditioning_;
  double chi2_max_;
};

}  // namespace sedpost::catalog
