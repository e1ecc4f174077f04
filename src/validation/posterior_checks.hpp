#pragma once
/// Metrics of the likelihood-checked posteriors on a simulated test set (docs/metrics.md):
/// the goodness of fit of the posterior draws against the model's own chi^2 distribution, the
/// importance-weighting statistics, and the expected rate of every flag.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "validation/calibration.hpp"

namespace sedpost::validation {

/// chi^2 of the posterior draws over the galaxies of a simulated test set with B bands. Under
/// the model, the chi^2 at a posterior draw (/chi2_draw) follows chi^2_B exactly (the draw and
/// the truth have the same joint distribution with the data, the premise of SBC); the chi^2 at
/// the best-fitting draw (/chi2) is smaller (fitted), so P(chi2 > the chi^2_B quantile) <= p.
struct GoodnessOfFit {
  std::int64_t n = 0;              ///< galaxies with finite values
  double dof = 0;                  ///< B (the mean over galaxies when their band counts differ)
  double ks_draw = 0, p_draw = 0;  ///< KS of chi2_draw against chi^2_B, its p-value
  double ks_best = 0, p_best = 0;  ///< the same for chi2 (expected to fail: it is fitted)
  double median_draw = 0, median_best = 0;
  double p90_best = 0;             ///< 90th percentile of the best-fit chi^2
  double fraction_best_above_100 = 0;
};
/// From chi2_draw [n] and chi2_best [n] (NaN rows skipped).
GoodnessOfFit goodness_of_fit(const std::vector<double>& chi2_draw, const std::vector<double>& chi2_best, double dof);
/// The same with each galaxy's own dof [n] (the bands that entered its posterior): the KS tests
/// compare each value's chi^2_dof CDF with U(0, 1).
GoodnessOfFit goodness_of_fit(const std::vector<double>& chi2_draw, const std::vector<double>& chi2_best,
                              const std::vector<double>& dof);

/// Importance-weighting statistics over the galaxies with a posterior.
struct WeightingSummary {
  std::int64_t n = 0;               ///< galaxies with a finite ESS (0: weighting off)
  double median_ess = 0;            ///< median effective sample size
  double median_ess_per_1000 = 0;   ///< median ESS per 1,000 likelihood evaluations
  double median_efficiency = 0;     ///< median ess / n_draws
  double fraction_refined = 0;      ///< galaxies with at least one refinement round
  double mean_draws = 0;            ///< mean likelihood evaluations per galaxy
};
WeightingSummary summarize_weighting(const std::vector<double>& ess, const std::vector<std::uint32_t>& n_draws,
                                     const std::vector<std::uint32_t>& rounds);

/// Largest fraction k / n of n galaxies a flag with expected rate p0 may fire on: the largest k
/// with P(Binomial(n, p0) >= k) >= level (level 1e-3; 0 when p0 = 0). NaN when p0 is NaN.
double allowed_flag_fraction(double p0, std::int64_t n, double level = 1e-3);

/// Expected rates of the posterior-catalog flags (posterior::infer_flag_names) on galaxies
/// simulated from the model: bad_photometry, bad_redshift, outside_flux_range 0; noisier_than_training B x
/// P(N(0,1) > flag_nsigma) (the noise model draws sigma from a Gaussian); colour_out_of_range
/// (B - 1) x 2 x colour_quantile (a union bound); chi2_implausible <= chi2_pvalue;
/// weights_degenerate: the 1 % budget of docs/metrics.md. Names not listed get NaN.
std::vector<double> expected_flag_rates(const std::vector<std::string>& names, int n_bands, double flag_nsigma,
                                        double colour_quantile, double chi2_pvalue);

/// Fills summary.expected and summary.allowed (allowed_flag_fraction at `level`).
void set_flag_expectations(FlagSummary& summary, const std::vector<double>& expected, double level = 1e-3);

}  // namespace sedpost::validation
