#include "posterior/settings.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::posterior {

void PosteriorSettings::validate() const {
  if (n_samples < 1) throw ConfigError("n_samples must be >= 1");
  if (n_store < 0 || n_store > n_samples)
    throw ConfigError(cat("n_store (", n_store, ") must be between 0 and n_samples (", n_samples, ")"));
  if (!(chi2_pvalue > 0 && chi2_pvalue < 1)) throw ConfigError(cat("chi2_pvalue (", chi2_pvalue, ") must be in (0, 1)"));
  if (!(min_ess >= 1)) throw ConfigError(cat("min_ess (", min_ess, ") must be >= 1"));
  if (max_rounds < 0) throw ConfigError(cat("max_rounds (", max_rounds, ") must be >= 0"));
  if (moves < 0) throw ConfigError(cat("moves (", moves, ") must be >= 0"));
  if (move_draws < 1) throw ConfigError(cat("move_draws (", move_draws, ") must be >= 1"));
  if (moves > 0 && n_store > move_draws)
    throw ConfigError(cat("n_store (", n_store, ") must be at most move_draws (", move_draws,
                          ") when moves > 0: the stored draws are picked from the moved ones"));
  if (!(model_error >= 0 && model_error < 1) || !std::isfinite(model_error))
    throw ConfigError(cat("model_error (", model_error, ") must be a fraction in [0, 1)"));
  if (!(z_mode_weight > 0 && z_mode_weight <= 0.5))
    throw ConfigError(cat("z_mode_weight (", z_mode_weight, ") must be in (0, 0.5]"));
  if (z_prior_mag_band.empty() && (!z_prior_mag_edges.empty() || !z_prior_mag_weights.empty()))
    throw ConfigError("z_prior_mag_edges / z_prior_mag_weights are set but z_prior_mag_band is not");
  if (!z_prior_mag_band.empty() && !weighting)
    throw ConfigError(cat("z_prior_mag_band = '", z_prior_mag_band,
                          "' needs the likelihood weighting (weighting = true): the magnitude-dependent z prior "
                          "enters through the weights"));
}

}  // namespace sedpost::posterior
