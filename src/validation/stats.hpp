#pragma once
/// Small statistical helpers of the validation metrics: the Kolmogorov distribution and the
/// one-sample Kolmogorov-Smirnov statistic against U(0, 1). The chi^2 tail is
/// sedpost::chi2_survival (core/special_functions.hpp).
#include <cstddef>
#include <vector>

namespace sedpost::validation {

/// Kolmogorov-Smirnov statistic D = sup_a |F_n(a) - a| of values u [n] in [0, 1] against the
/// uniform distribution (exact supremum, ties handled). `u` is taken by value and sorted.
/// Returns NaN when n = 0.
double ks_statistic_uniform(std::vector<double> u);

/// Asymptotic p-value of the one-sample KS test with Stephens' small-n correction
/// (lambda = (sqrt(n) + 0.12 + 0.11 / sqrt(n)) D; Q_KS(lambda) = 2 sum_j (-1)^(j-1) exp(-2 j^2 lambda^2)).
/// Accurate to a few per cent of p for n >= 5. NaN when n = 0 or D is NaN.
double ks_p_value(double d, std::size_t n);

/// Median of the finite values of x [n] (mean of the two middle ones for even n; NaN if none).
double median(std::vector<double> x);

}  // namespace sedpost::validation
