#pragma once
/// Monotone rational-quadratic spline transform (Durkan et al. 2019, "Neural Spline Flows",
/// section 3.1), elementwise with linear tails: the identity outside [-B, B], a spline of K
/// bins inside whose end derivatives are 1, so the map and its derivative are continuous.
/// Internal to src/flow (LibTorch); used by the spline variant of the MAF (maf_model.cpp).
#include <torch/torch.h>

namespace sedpost::flow {

struct SplineShape {
  int bins = 10;              ///< K
  double tail_bound = 3.0;    ///< B: the spline acts on [-B, B] (flow inputs are z-scored)
  double min_bin_width = 1e-3;   ///< fraction of 2B every bin keeps (nflows' default)
  double min_bin_height = 1e-3;
  double min_derivative = 1e-3;  ///< lower bound of the knot derivatives
  /// Unnormalised widths and heights are multiplied by this before the softmax
  /// (1 / sqrt(hidden units): keeps the initial spline close to the identity).
  double logit_scale = 1.0;
  /// Spline parameters per transformed value: K widths, K heights, K - 1 inner derivatives.
  int params_per_value() const { return 3 * bins - 1; }
};

/// Forward (inverse = false: x -> y) or inverse (x holds y, returns x) of the spline.
/// x: [N, D]; params: [N, D, 3K - 1] unconstrained (softmax widths, softmax heights,
/// softplus derivatives). Returns the transformed [N, D]; logabsdet (if not null) gets
/// log |dy/dx| [N, D] at the point, in the FORWARD direction in both cases (0 in the tails).
/// Differentiable in x and params (autograd).
torch::Tensor rq_spline(const torch::Tensor& x, const torch::Tensor& params, const SplineShape& shape,
                        bool inverse, torch::Tensor* logabsdet);

}  // namespace sedpost::flow
