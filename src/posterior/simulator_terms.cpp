#include "posterior/simulator_terms.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sedpost::posterior {

namespace {
constexpr double kMinSpreadMag = 1e-4;
const double kLogSqrt2Pi = 0.5 * std::log(2.0 * M_PI);
}  // namespace

double log_sigma_density(const noise::NoiseModel& noise, std::size_t band, double f, double sigma) {
  if (!(f > 0)) return -std::numeric_limits<double>::infinity();
  const noise::BandNoise& bn = noise.band(band);
  const double mag = noise::nmgy_to_mag(f);
  const double mu = bn.mu_at(mag), s = std::max(bn.s_at(mag), kMinSpreadMag);
  const double sigma_mag = noise::kMagPerLnFlux * sigma / f;
  const double t = (sigma_mag - mu) / s;
  const double log_kept = std::log(0.5 * std::erfc(-mu / (s * std::sqrt(2.0))));  // P(sigma_mag > 0)
  return -0.5 * t * t - std::log(s) - kLogSqrt2Pi - log_kept + std::log(noise::kMagPerLnFlux / f);
}

SimulatorTerms::SimulatorTerms(const noise::NoiseModel& noise, const double* sigma, const std::uint8_t* sigma_bands,
                               bool truncate)
    : noise_(noise), sigma_(sigma, sigma + noise.num_bands()), truncate_(truncate) {
  for (std::size_t b = 0; sigma_bands && b < noise.num_bands(); ++b)
    if (sigma_bands[b]) sigma_bands_.push_back(b);
}

double SimulatorTerms::log_density(const double* f) const {
  if (truncate_)
    for (std::size_t b = 0; b < noise_.num_bands(); ++b)
      if (!(f[b] >= noise_.band(b).flux_min && f[b] <= noise_.band(b).flux_max))
        return -std::numeric_limits<double>::infinity();
  double lp = 0;
  for (std::size_t b : sigma_bands_) lp += log_sigma_density(noise_, b, f[b], sigma_[b]);
  return lp;
}

}  // namespace sedpost::posterior
