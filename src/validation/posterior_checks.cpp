#include "validation/posterior_checks.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "core/special_functions.hpp"
#include "validation/stats.hpp"

namespace sedpost::validation {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// KS statistic of x [n] against chi^2 with dof[i] for x[i]: the chi^2 CDF maps each to U(0, 1)
/// under the null.
double ks_chi2(const std::vector<double>& x, const std::vector<double>& dof) {
  std::vector<double> u;
  u.reserve(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) u.push_back(1.0 - chi2_survival(x[i], dof[i]));
  return ks_statistic_uniform(std::move(u));
}

/// The finite values of x [n] and their dof.
std::pair<std::vector<double>, std::vector<double>> finite(const std::vector<double>& x, const std::vector<double>& dof) {
  std::pair<std::vector<double>, std::vector<double>> out;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(x[i]) && dof[i] > 0) {
      out.first.push_back(x[i]);
      out.second.push_back(dof[i]);
    }
  return out;
}
}  // namespace

GoodnessOfFit goodness_of_fit(const std::vector<double>& chi2_draw, const std::vector<double>& chi2_best, double dof) {
  return goodness_of_fit(chi2_draw, chi2_best, std::vector<double>(chi2_best.size(), dof));
}

GoodnessOfFit goodness_of_fit(const std::vector<double>& chi2_draw, const std::vector<double>& chi2_best,
                              const std::vector<double>& dof) {
  GoodnessOfFit g;
  const auto [draw, draw_dof] = finite(chi2_draw, dof);
  const auto [best, best_dof] = finite(chi2_best, dof);
  g.dof = best_dof.empty() ? kNaN : std::accumulate(best_dof.begin(), best_dof.end(), 0.0) / best_dof.size();
  g.n = static_cast<std::int64_t>(best.size());
  g.ks_draw = draw.empty() ? kNaN : ks_chi2(draw, draw_dof);
  g.p_draw = draw.empty() ? kNaN : ks_p_value(g.ks_draw, draw.size());
  g.ks_best = best.empty() ? kNaN : ks_chi2(best, best_dof);
  g.p_best = best.empty() ? kNaN : ks_p_value(g.ks_best, best.size());
  g.median_draw = median(draw);
  g.median_best = median(best);
  if (!best.empty()) {
    std::vector<double> sorted = best;
    std::sort(sorted.begin(), sorted.end());
    g.p90_best = sorted[static_cast<std::size_t>(0.9 * static_cast<double>(sorted.size() - 1))];
    g.fraction_best_above_100 =
        static_cast<double>(std::count_if(best.begin(), best.end(), [](double v) { return v > 100; })) /
        static_cast<double>(best.size());
  } else {
    g.p90_best = g.fraction_best_above_100 = kNaN;
  }
  return g;
}

WeightingSummary summarize_weighting(const std::vector<double>& ess, const std::vector<std::uint32_t>& n_draws,
                                     const std::vector<std::uint32_t>& rounds) {
  WeightingSummary w;
  std::vector<double> e, per1000, eff;
  double draws = 0;
  std::int64_t refined = 0;
  for (std::size_t i = 0; i < ess.size(); ++i) {
    if (!std::isfinite(ess[i]) || n_draws[i] <= 0) continue;
    e.push_back(ess[i]);
    per1000.push_back(1000.0 * ess[i] / n_draws[i]);
    eff.push_back(ess[i] / n_draws[i]);
    draws += n_draws[i];
    refined += rounds[i] > 0;
  }
  w.n = static_cast<std::int64_t>(e.size());
  if (w.n == 0) {
    w.median_ess = w.median_ess_per_1000 = w.median_efficiency = w.fraction_refined = w.mean_draws = kNaN;
    return w;
  }
  w.median_ess = median(e);
  w.median_ess_per_1000 = median(per1000);
  w.median_efficiency = median(eff);
  w.fraction_refined = static_cast<double>(refined) / static_cast<double>(w.n);
  w.mean_draws = draws / static_cast<double>(w.n);
  return w;
}

double allowed_flag_fraction(double p0, std::int64_t n, double level) {
  if (std::isnan(p0) || n <= 0) return kNaN;
  if (p0 <= 0) return 0.0;
  if (p0 >= 1) return 1.0;
  // Upper tail P(X >= k), summed from the top with log pmfs.
  const double nn = static_cast<double>(n);
  auto log_pmf = [&](double k) {
    return std::lgamma(nn + 1) - std::lgamma(k + 1) - std::lgamma(nn - k + 1) + k * std::log(p0) +
           (nn - k) * std::log1p(-p0);
  };
  double tail = 0;
  for (std::int64_t k = n; k >= 0; --k) {
    tail += std::exp(log_pmf(static_cast<double>(k)));
    if (tail >= level) return static_cast<double>(k) / nn;  // P(X >= k) >= level: k is still accepted
  }
  return 1.0;
}

std::vector<double> expected_flag_rates(const std::vector<std::string>& names, int n_bands, double flag_nsigma,
                                        double colour_quantile, double chi2_pvalue) {
  std::vector<double> out;
  const double tail = 0.5 * std::erfc(flag_nsigma / std::sqrt(2.0));
  for (const std::string& n : names) {
    if (n == "bad_photometry" || n == "bad_redshift" || n == "outside_flux_range") out.push_back(0.0);
    else if (n == "noisier_than_training") out.push_back(std::min(1.0, n_bands * tail));
    else if (n == "colour_out_of_range") out.push_back(std::min(1.0, (n_bands - 1) * 2.0 * colour_quantile));
    else if (n == "chi2_implausible") out.push_back(chi2_pvalue);
    else if (n == "weights_degenerate") out.push_back(0.01);
    else out.push_back(kNaN);
  }
  return out;
}

void set_flag_expectations(FlagSummary& summary, const std::vector<double>& expected, double level) {
  summary.expected = expected;
  summary.allowed.clear();
  for (double p0 : expected) summary.allowed.push_back(allowed_flag_fraction(p0, summary.n_galaxies, level));
}

}  // namespace sedpost::validation
