#pragma once
/// Importance-sampling arithmetic on one galaxy's draws: normalised weights, effective sample
/// size, tempering, weighted summaries and resampling. Nothing here knows the SED model.
#include <cstddef>
#include <vector>

namespace sedpost::posterior {

/// Normalised weights w [n] (sum 1) from log weights `log_w` [n] (-inf = weight 0; NaN is
/// treated as -inf). Returns log sum_i exp(log_w_i) (-inf when every weight is 0; then w is 0).
double normalise_log_weights(const std::vector<double>& log_w, std::vector<double>& w);

/// Kish effective sample size 1 / sum w_i^2 of normalised weights (0 when all are 0).
double effective_sample_size(const std::vector<double>& w);

/// Tempering for fitting a proposal when the weights are degenerate: the largest beta in
/// (0, 1] with ESS(exp(beta log_w)) >= target_ess (bisection on beta, 30 steps); 1 when the
/// untempered ESS already reaches it. ESS(beta) falls as beta grows, from the number of finite
/// weights at beta -> 0.
double tempering_exponent(const std::vector<double>& log_w, double target_ess);

/// Weighted summaries of one quantity over n draws: `values` [n], normalised `w` [n].
/// Writes 7 floats to `out`: weighted mean and std over the finite values (std with the
/// reliability-weights correction 1 / (1 - sum w^2), which is n / (n - 1) for equal weights),
/// then the 2.5, 16, 50, 84, 97.5 % weighted percentiles over all non-NaN values (-inf log SFR
/// draws count as the lowest). Percentiles interpolate linearly between the midpoints of the
/// sorted draws' weights. NaN values are dropped; all NaN when no weight remains.
void weighted_summary(const double* values, const double* w, std::size_t n, float* out);

/// Systematic resampling: m indices into w [n] (normalised), index i appearing about m w_i
/// times, in increasing order. u0 in [0, 1) is the one uniform draw. Empty when sum w == 0.
std::vector<std::size_t> systematic_resample(const std::vector<double>& w, std::size_t m, double u0);

}  // namespace sedpost::posterior
