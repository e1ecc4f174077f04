#include "validation/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sedpost::validation {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double ks_statistic_uniform(std::vector<double> u) {
  const std::size_t n = u.size();
  if (n == 0) return kNaN;
  std::sort(u.begin(), u.end());
  double d = 0.0;
  const double inv_n = 1.0 / static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = std::clamp(u[i], 0.0, 1.0);
    // F_n jumps from i/n to (i+1)/n at u_(i); with ties the extreme values of the group are
    // covered by its first and last members.
    d = std::max(d, std::max(static_cast<double>(i + 1) * inv_n - v, v - static_cast<double>(i) * inv_n));
  }
  return d;
}

double ks_p_value(double d, std::size_t n) {
  if (n == 0 || std::isnan(d)) return kNaN;
  const double sn = std::sqrt(static_cast<double>(n));
  const double lambda = (sn + 0.12 + 0.11 / sn) * d;
  if (lambda < 0.2) return 1.0;  // the series converges slowly there; Q_KS(0.2) = 1 - 1e-12
  double sum = 0.0, sign = 1.0;
  for (int j = 1; j <= 200; ++j) {
    const double term = sign * std::exp(-2.0 * j * j * lambda * lambda);
    sum += term;
    if (std::fabs(term) < 1e-16 * std::fabs(sum) || std::fabs(term) < 1e-300) break;
    sign = -sign;
  }
  return std::clamp(2.0 * sum, 0.0, 1.0);
}

double median(std::vector<double> x) {
  x.erase(std::remove_if(x.begin(), x.end(), [](double v) { return !std::isfinite(v); }), x.end());
  const std::size_t n = x.size();
  if (n == 0) return kNaN;
  const std::size_t h = n / 2;
  std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(h), x.end());
  const double hi = x[h];
  if (n % 2 == 1) return hi;
  const double lo = *std::max_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(h));
  return 0.5 * (lo + hi);
}

}  // namespace sedpost::validation
