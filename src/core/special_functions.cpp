#include "core/special_functions.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace sedpost {

namespace {

constexpr int kMaxIterations = 1000;
constexpr double kEps = 1e-15;
constexpr double kTiny = 1e-300;

/// P(a, x) by its series (x < a + 1).
double gamma_p_series(double a, double x) {
  double sum = 1.0 / a, term = sum;
  for (int n = 1; n < kMaxIterations; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::abs(term) < std::abs(sum) * kEps) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

/// Q(a, x) by Lentz's continued fraction (x >= a + 1).
double gamma_q_fraction(double a, double x) {
  double b = x + 1.0 - a, c = 1.0 / kTiny, d = 1.0 / b, h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::abs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1.0) < kEps) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

}  // namespace

double gamma_q(double a, double x) {
  if (!(a > 0) || !(x >= 0)) throw NumericsError("gamma_q: needs a > 0 and x >= 0");
  if (x == 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  return x < a + 1.0 ? 1.0 - gamma_p_series(a, x) : gamma_q_fraction(a, x);
}

double chi2_survival(double x, double dof) {
  if (!(dof > 0)) throw NumericsError("chi2_survival: dof must be > 0");
  if (std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (x <= 0) return 1.0;
  return gamma_q(0.5 * dof, 0.5 * x);
}

double chi2_quantile_upper(double p, double dof) {
  if (!(p > 0 && p < 1)) throw NumericsError("chi2_quantile_upper: p must be in (0, 1)");
  double lo = 0.0, hi = std::max(1.0, dof);
  while (chi2_survival(hi, dof) > p) hi *= 2.0;
  while (hi - lo > 1e-10 * hi) {
    const double mid = 0.5 * (lo + hi);
    (chi2_survival(mid, dof) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace sedpost
