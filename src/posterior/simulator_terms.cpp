#include "posterior/simulator_terms.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sedpost::posterior {

double log_sigma_density(const noise::NoiseModel& noise, std::size_t band, double f, double sigma) {
  if (!(f > 0)) return -std::numeric_limits<double>::infinity();
  // p(sigma_nmgy | f) = p(sigma_mag | mag) d sigma_mag / d sigma_nmgy, sigma_mag = 1.0857 sigma / f
  return noise.band(band).log_density(noise::nmgy_to_mag(f), noise::kMagPerLnFlux * sigma / f) +
         std::log(noise::kMagPerLnFlux / f);
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
