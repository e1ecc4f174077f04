#pragma once
/// The prior of the redshift when it is inferred (docs/photo-z.md, "Redshift prior"): a
/// piecewise-constant density on [z_min, z_max] with n equal-width bins of relative weights w_k
/// (config `[model] z_prior = "histogram"`, `z_prior_weights`), or, with no weights, uniform on
/// [z_min, z_max] (the default, `z_prior = "uniform"`). The density of bin k is
/// (w_k / sum w) n / (z_max - z_min), 0 outside [z_min, z_max]. A population n(z), e.g. a
/// histogram of a survey's spectroscopic redshifts, enters the simulator (training galaxies
/// are drawn from it), the likelihood weighting and the MCMC (log_relative_density).
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace sedpost::prior {

class RedshiftPrior {
 public:
  /// Uniform on [z_min, z_max] (empty `weights`) or the histogram of `weights` [n_bins] (each
  /// >= 0 and finite, sum > 0; any scale). Throws ConfigError for 0 <= z_min < z_max violated or
  /// bad weights, naming `source`.
  RedshiftPrior(double z_min, double z_max, std::vector<double> weights = {}, const std::string& source = "z prior");

  double z_min() const { return z_min_; }
  double z_max() const { return z_max_; }
  bool uniform() const { return weights_.empty(); }
  /// Bin weights normalised to sum 1 [n_bins]; empty when uniform.
  const std::vector<double>& weights() const { return weights_; }

  /// "uniform on [z_min, z_max]" or "histogram of n bins on [z_min, z_max]" (for logs).
  std::string describe() const;

  /// One redshift from the prior. Uniform: rng.uniform(z_min, z_max) (one draw, as before the
  /// histogram existed); histogram: a bin by its weight, then uniform inside it (two draws).
  double sample(Rng& rng) const;

  /// log p(z) - log(1 / (z_max - z_min)): the density relative to the uniform one on the same
  /// range (0 everywhere inside when uniform; -inf outside [z_min, z_max] and in empty bins).
  double log_relative_density(double z) const;

 private:
  double z_min_, z_max_;
  std::vector<double> weights_;       ///< [n] normalised
  std::vector<double> cdf_;           ///< [n] cumulative weights (last = 1)
  std::vector<double> log_relative_;  ///< [n] log(w_k n)
};

}  // namespace sedpost::prior
