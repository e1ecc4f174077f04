#include "prior/magnitude_redshift_prior.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::prior {

MagnitudeRedshiftPrior::MagnitudeRedshiftPrior(double z_min, double z_max, std::vector<double> edges,
                                               const std::vector<double>& weights, const std::string& source)
    : edges_(std::move(edges)) {
  for (std::size_t k = 0; k < edges_.size(); ++k) {
    if (!std::isfinite(edges_[k]))
      throw ConfigError(cat(source, ": z_prior_mag_edges[", k, "] = ", edges_[k], " is not finite"));
    if (k > 0 && !(edges_[k] > edges_[k - 1]))
      throw ConfigError(cat(source, ": z_prior_mag_edges must ascend strictly, but [", k - 1, "] = ", edges_[k - 1],
                            " and [", k, "] = ", edges_[k]));
  }
  const std::size_t n_m = edges_.size() + 1;
  if (weights.empty() || weights.size() % n_m != 0)
    throw ConfigError(cat(source, ": z_prior_mag_weights has ", weights.size(), " entries; expected ", n_m,
                          " magnitude bins (one more than z_prior_mag_edges) x the z bins of each"));
  n_z_ = static_cast<int>(weights.size() / n_m);
  for (std::size_t m = 0; m < n_m; ++m) {
    const auto first = weights.begin() + static_cast<std::ptrdiff_t>(m * static_cast<std::size_t>(n_z_));
    std::vector<double> row(first, first + n_z_);
    double sum = 0;
    for (std::size_t k = 0; k < row.size(); ++k) {
      if (!(row[k] >= 0) || !std::isfinite(row[k]))
        throw ConfigError(cat(source, ": z_prior_mag_weights[", m * row.size() + k, "] (magnitude bin ", m,
                              ", z bin ", k, ") = ", row[k], " must be finite and >= 0"));
      sum += row[k];
    }
    if (!(sum > 0)) throw ConfigError(cat(source, ": z_prior_mag_weights of magnitude bin ", m, " are all 0"));
    priors_.emplace_back(z_min, z_max, std::move(row), source);
  }
}

int MagnitudeRedshiftPrior::bin_of(double magnitude) const {
  if (std::isnan(magnitude)) return -1;
  return static_cast<int>(std::upper_bound(edges_.begin(), edges_.end(), magnitude) - edges_.begin());
}

std::string MagnitudeRedshiftPrior::describe() const {
  std::string e;
  for (double v : edges_) e += cat(e.empty() ? "" : ", ", v);
  return cat(priors_.size(), " magnitude bins (edges ", e.empty() ? "none" : e, ") x ", n_z_, " z bins on [",
             priors_.front().z_min(), ", ", priors_.front().z_max(), "]");
}

}  // namespace sedpost::prior
