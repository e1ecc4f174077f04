#pragma once
/// Builds the forward model's settings from a run configuration (configs/*.toml, table
/// [model]) so that simulate, sed, mcmc and infer all use the same model.
#include <string>
#include <vector>

#include "core/config.hpp"
#include "prior/prior.hpp"
#include "prior/theta_layout.hpp"
#include "sps/sed_model.hpp"

namespace sedpost::simulate {

/// [model] keys: ssp ("bc03" | "maraston2005"), ssp_dir (relative to the data directory),
/// bands (filter names, sps/filters.hpp scheme), t_esc_gyr, bc_dust_index, z_max.
/// Throws ConfigError naming the key.
sps::SedModelSettings sed_settings_from_config(const Config& config, const std::string& data_dir);

/// Redshift range of simulated galaxies ([model] z_min, z_max; SEDflow: U(0, 0.2)), and whether
/// z is given (an input: part of the conditioning vector) or inferred (a 12th flow coordinate,
/// its prior on [z_min, z_max]; [model] redshift = "given" | "inferred"), and the prior the
/// simulator draws z from ([model] z_prior = "uniform" (default) | "histogram" with
/// z_prior_weights: relative weights of equal-width bins on [z_min, z_max]; prior::RedshiftPrior).
struct RedshiftRange {
  double z_min = 0.0;
  double z_max = 0.2;
  bool inferred = false;
  std::vector<double> z_weights;  ///< histogram weights (empty: uniform)

  /// The flow's theta layout this implies.
  prior::ThetaLayout layout() const { return {inferred, z_min, z_max, z_weights}; }
  /// The prior z is drawn from.
  prior::RedshiftPrior z_prior() const { return layout().z_prior(); }
};
/// Throws ConfigError naming the key for a bad range, an unknown model.redshift or
/// model.z_prior, or bad z_prior_weights.
RedshiftRange redshift_range_from_config(const Config& config);

/// Throws ConfigError when the model cannot simulate the range: the universe at z_max must be
/// older than the prior's youngest burst (t_burst_min) and the birth-cloud escape time, so that
/// every star-formation history the prior allows fits in the age of the universe.
void check_redshift_range(const sps::SedModel& model, const prior::Prior& prior, const RedshiftRange& range,
                          const std::string& source);

/// Short band labels for the configured filters: the part after the last '-' or '_' with a
/// trailing SDSS '0' removed ("speclite:sdss2010-u" -> "u", "sedpy:sdss_u0" -> "u").
std::vector<std::string> short_band_names(const std::vector<std::string>& filters);

/// Flow coordinates [n, dim] (double, inside the open box (lo, hi) per column) as float32 for
/// the training set's /theta, nudged one float step inwards where rounding to float lands on
/// (or past) a bound: a value within 1e-8 of an edge rounds to the edge itself about once per
/// 10^7 coordinates, and the flow's logit of an edge is infinite.
std::vector<float> to_float_inside_box(const std::vector<double>& values, const std::vector<double>& lo,
                                       const std::vector<double>& hi);

}  // namespace sedpost::simulate
