#pragma once
/// Special functions for p-values: the chi-square distribution.

namespace sedpost {

/// Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a), a > 0, x >= 0
/// (series for x < a + 1, continued fraction otherwise; relative accuracy ~1e-12).
double gamma_q(double a, double x);

/// P(X > x) for X ~ chi^2 with `dof` degrees of freedom (dof > 0). x <= 0 gives 1.
double chi2_survival(double x, double dof);

/// The x with chi2_survival(x, dof) = p, for 0 < p < 1 (bisection to 1e-10 relative).
double chi2_quantile_upper(double p, double dof);

}  // namespace sedpost
