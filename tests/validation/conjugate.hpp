#pragma once
/// Test data for the calibration tests: a conjugate Gaussian model per quantity k,
/// theta_k ~ N(0, 1), x_k = theta_k + sigma_k eps, whose exact posterior is
/// N(x_k / (1 + sigma_k^2), sigma_k^2 / (1 + sigma_k^2)). Samples are drawn from that posterior
/// with its std multiplied by `width` (1 = exact, < 1 overconfident, > 1 underconfident).
#include <cmath>
#include <cstddef>
#include <vector>

#include "core/rng.hpp"

namespace sedpost::validation::testing {

struct ConjugateData {
  std::size_t n = 0, s = 0, k = 0;
  std::vector<float> samples;  ///< [n, s, k]
  std::vector<double> truth;   ///< [n, k]
};

inline ConjugateData conjugate_gaussian(std::size_t n, std::size_t s, std::size_t k, double width,
                                        std::uint64_t seed) {
  ConjugateData d{n, s, k, std::vector<float>(n * s * k), std::vector<double>(n * k)};
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(seed, RngStream::kTest, i);
    for (std::size_t q = 0; q < k; ++q) {
      const double sigma = 0.3 + 0.4 * static_cast<double>(q);  // 0.3, 0.7, 1.1, ...
      const double theta = rng.normal();
      const double x = theta + sigma * rng.normal();
      const double mean = x / (1.0 + sigma * sigma);
      const double sd = sigma / std::sqrt(1.0 + sigma * sigma);
      d.truth[i * k + q] = theta;
      for (std::size_t j = 0; j < s; ++j)
        d.samples[(i * s + j) * k + q] = static_cast<float>(mean + width * sd * rng.normal());
    }
  }
  return d;
}

}  // namespace sedpost::validation::testing
