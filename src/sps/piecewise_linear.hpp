#pragma once
/// Exact linear-interpolation weights on a sorted node grid: the value and the integral of the
/// piecewise-linear interpolant of node values y_i are written as sum_i w_i y_i, so the same
/// weights apply to scalars (NMF bases, mass fractions) and to whole spectra (rows).
#include <vector>

namespace sedpost::sps {

/// What the interpolant does outside [x_0, x_{n-1}].
enum class Extrapolation {
  kLinear,  ///< continue the first/last segment's line
  kClamp,   ///< hold the end value constant
};

/// One term of a linear combination of node values.
struct NodeWeight {
  int index;
  double weight;
};

/// Weights of the interpolant at `t`: f(t) = sum w.weight * y[w.index]. `x` ascending, size >= 1.
/// Appends to `out` (does not clear it).
void append_interp_weights(const std::vector<double>& x, double t, Extrapolation mode, double scale,
                           std::vector<NodeWeight>& out);

/// Weights of the exact integral over [a, b] (a <= b) of the interpolant: breakpoints a, the nodes
/// strictly inside (a, b), b; the integrand is linear between breakpoints so the trapezoid is exact.
/// Returns merged weights (one entry per node index, ascending).
std::vector<NodeWeight> integral_weights(const std::vector<double>& x, double a, double b,
                                         Extrapolation mode);

/// Weights of the exact average over [a, b] (integral / (b - a)); for a == b the value at a.
std::vector<NodeWeight> average_weights(const std::vector<double>& x, double a, double b,
                                        Extrapolation mode);

/// Applies weights to scalar node values: sum w.weight * y[w.index].
double apply_weights(const std::vector<NodeWeight>& w, const std::vector<double>& y);

}  // namespace sedpost::sps
