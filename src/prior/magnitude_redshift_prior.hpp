#pragma once
/// A redshift prior that depends on the galaxy's observed magnitude in one band (docs/photo-z.md,
/// "Magnitude-dependent redshift prior"; the prior p(z | m_0) of template photo-z codes, Benitez
/// 2000): the magnitude axis is cut into n_m bins at ascending AB-magnitude edges, and each bin
/// has its own histogram prior of z (prior::RedshiftPrior, n_z equal-width bins on the model's
/// [z_min, z_max]). A survey's spectroscopic sample supplies it
/// (validation/z_prior_histogram.py --by-magnitude); `infer` applies it in the likelihood
/// weighting's target instead of the model's z prior, so the flow (trained under the model's
/// prior) stays the proposal and the weights carry the ratio.
#include <string>
#include <vector>

#include "prior/redshift_prior.hpp"

namespace sedpost::prior {

class MagnitudeRedshiftPrior {
 public:
  /// `edges` [n_m - 1] inner bin edges [AB mag], strictly ascending and finite (empty: one bin);
  /// `weights` [n_m * n_z] row-major (magnitude bin, then z bin), each row >= 0, finite, with a
  /// positive sum (any scale). Bin k holds magnitudes in [edges[k-1], edges[k]); the first bin
  /// reaches -inf, the last +inf. Throws ConfigError naming `source` and the offending entry.
  MagnitudeRedshiftPrior(double z_min, double z_max, std::vector<double> edges, const std::vector<double>& weights,
                         const std::string& source);

  int n_magnitude_bins() const { return static_cast<int>(priors_.size()); }
  int n_z_bins() const { return n_z_; }
  const std::vector<double>& edges() const { return edges_; }

  /// Magnitude bin of an AB magnitude (NaN: -1); +inf (a flux <= 0) falls in the last bin.
  int bin_of(double magnitude) const;
  /// The z prior of magnitude bin k (0 <= k < n_magnitude_bins()).
  const RedshiftPrior& prior(int k) const { return priors_.at(static_cast<std::size_t>(k)); }

  /// "n_m magnitude bins (edges ...) x n_z z bins on [z_min, z_max]" (for logs).
  std::string describe() const;

 private:
  std::vector<double> edges_;           ///< [n_m - 1] AB mag
  std::vector<RedshiftPrior> priors_;   ///< [n_m]
  int n_z_ = 0;
};

}  // namespace sedpost::prior
