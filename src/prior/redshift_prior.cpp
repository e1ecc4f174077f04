#include "prior/redshift_prior.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::prior {

RedshiftPrior::RedshiftPrior(double z_min, double z_max, std::vector<double> weights, const std::string& source)
    : z_min_(z_min), z_max_(z_max), weights_(std::move(weights)) {
  if (!(z_min >= 0 && z_max > z_min && std::isfinite(z_max)))
    throw ConfigError(cat(source, ": need 0 <= z_min < z_max, got [", z_min, ", ", z_max, "]"));
  double sum = 0;
  for (std::size_t k = 0; k < weights_.size(); ++k) {
    if (!(weights_[k] >= 0) || !std::isfinite(weights_[k]))
      throw ConfigError(cat(source, ": z_prior_weights[", k, "] = ", weights_[k], " must be finite and >= 0"));
    sum += weights_[k];
  }
  if (!weights_.empty() && !(sum > 0)) throw ConfigError(cat(source, ": z_prior_weights are all 0"));
  const double n = static_cast<double>(weights_.size());
  double c = 0;
  for (double& w : weights_) {
    w /= sum;
    c += w;
    cdf_.push_back(c);
    log_relative_.push_back(std::log(w * n));
  }
  if (!cdf_.empty()) cdf_.back() = 1.0;
}

std::string RedshiftPrior::describe() const {
  const std::string range = cat("[", z_min_, ", ", z_max_, "]");
  return uniform() ? "uniform on " + range : cat("histogram of ", weights_.size(), " bins on ", range);
}

double RedshiftPrior::sample(Rng& rng) const {
  if (uniform()) return rng.uniform(z_min_, z_max_);
  const double u = rng.uniform();
  const auto k = static_cast<std::size_t>(std::upper_bound(cdf_.begin(), cdf_.end() - 1, u) - cdf_.begin());
  const double width = (z_max_ - z_min_) / static_cast<double>(weights_.size());
  return std::min(z_min_ + width * (static_cast<double>(k) + rng.uniform()), z_max_);
}

double RedshiftPrior::log_relative_density(double z) const {
  if (!(z >= z_min_ && z <= z_max_)) return -std::numeric_limits<double>::infinity();
  if (uniform()) return 0.0;
  const double n = static_cast<double>(weights_.size());
  const auto k = std::min(static_cast<std::size_t>((z - z_min_) / (z_max_ - z_min_) * n), weights_.size() - 1);
  return log_relative_[k];
}

}  // namespace sedpost::prior
