#pragma once
/// Bits of the per-galaxy flag mask of a posterior catalog (`/flags`, names in the attribute
/// `flag_names`; docs/file-formats.md, docs/metrics.md "Flags"). Bit positions are part of the
/// file contract: new flags are appended, never renumbered.
#include <cstdint>
#include <string>
#include <vector>

namespace sedpost::posterior {

enum InferFlag : std::uint32_t {
  kFlagBadPhotometry = 1u << 0,   ///< NaN flux, sigma <= 0, NaN or negative ivar, missing band: no posterior
  kFlagBadRedshift = 1u << 1,     ///< z non-finite or outside the training range: no posterior
  kFlagNoisier = 1u << 2,         ///< MODEL.md 9 criterion 1: noisier than the training data
  kFlagColour = 1u << 3,          ///< criterion 2: a colour outside the training colours
  kFlagChi2 = 1u << 4,            ///< criterion 3: implausible chi^2 of the best-fitting draw
  kFlagWeightsDegenerate = 1u << 5,  ///< likelihood weighting: ESS below min_ess after the refinement budget
  /// likelihood weighting: no draw's model fluxes lie inside the training flux range (the
  /// simulator's prior), so the galaxy was weighted with the untruncated prior
  kFlagOutsideFluxRange = 1u << 6,
  /// photo-z mode: the redshift posterior has two or more modes, each with at least
  /// PosteriorSettings::z_mode_weight of the weight (posterior/redshift_modes.hpp)
  kFlagZMultimodal = 1u << 7,
};
inline constexpr int kNumInferFlags = 8;
/// "bad_photometry", "bad_redshift", "noisier_than_training", "colour_out_of_range",
/// "chi2_implausible", "weights_degenerate", "outside_flux_range", "z_multimodal".
const std::vector<std::string>& infer_flag_names();
/// Flags that mean "no posterior was computed" (summaries NaN).
inline constexpr std::uint32_t kFlagsNoPosterior = kFlagBadPhotometry | kFlagBadRedshift;

/// Appends `text` to a "; "-joined reason string (no-op when `reason` is null).
void add_reason(std::string* reason, const std::string& text);

}  // namespace sedpost::posterior
