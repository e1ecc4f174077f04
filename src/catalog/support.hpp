#pragma once
/// What the training set covered, stored in the model file (attachment "support") so that
/// `infer` can flag galaxies outside it (MODEL.md section 9, SEDflow Appendix A):
///   1. noisier than the training data: sigma_X > mu(f_X) + k s(f_X) (the noise model);
///   2. a colour outside the [q, 1 - q] quantiles of the training colours (q = 0.001);
///   3. the chi^2 of the highest-density posterior sample is implausible (infer's setting).
/// Colours are differences of adjacent asinh magnitudes (the first bands of x), so they exist
/// for any flux, as in the conditioning vector.
#include <string>
#include <vector>

#include "noise/noise_model.hpp"

namespace sedpost::catalog {

struct TrainingSupport {
  std::vector<std::string> bands;     ///< [B] band names
  double z_min = 0, z_max = 0;        ///< training redshift range (the z prior's when z_inferred)
  /// The flow infers z (theta's last column, x without z; docs/photo-z.md). Absent in model
  /// files from before the photo-z mode: false.
  bool z_inferred = false;
  /// Histogram weights of the z prior on [z_min, z_max] (prior::RedshiftPrior; empty: uniform,
  /// as in model files from before the histogram prior).
  std::vector<double> z_prior_weights;
  double colour_quantile = 0.001;     ///< q
  std::vector<double> colour_lo;      ///< [B-1] q quantile of (m_b - m_{b+1}) [mag]
  std::vector<double> colour_hi;      ///< [B-1] 1 - q quantile [mag]
  noise::NoiseModel noise;            ///< the model the training noise was drawn from
  /// Trained with random band masks (x carries present flags; docs/missing-bands.md). Absent in
  /// model files from before band masks: false.
  bool band_masks = false;
  std::vector<double> mask_rates;     ///< [B] training drop rate per band (band_masks only)

  /// Colour ranges from training conditioning vectors x [n, n_x] (float, row-major; the first
  /// B columns are the asinh magnitudes). Rows with non-finite colours are ignored, and with
  /// `present_offset` > 0 (the column of band 0's present flag) so are colours with a band
  /// missing. Throws DataError when fewer than 2 usable rows remain for a colour.
  static std::vector<double> colour_quantiles(const float* x, std::size_t n, std::size_t n_x, std::size_t n_bands,
                                              double q, std::size_t present_offset = 0);
  /// "u-g", "g-r", ...
  std::vector<std::string> colour_names() const;

  /// Serialises to / from TOML text (format_version 1). from_toml throws DataError naming
  /// `source` when a key is missing or malformed.
  std::string to_toml() const;
  static TrainingSupport from_toml(const std::string& text, const std::string& source);
};

}  // namespace sedpost::catalog
