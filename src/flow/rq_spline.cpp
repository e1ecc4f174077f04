#include "flow/rq_spline.hpp"

#include <cmath>

namespace sedpost::flow {

namespace {
/// Knot positions [N, D, K + 1] from unnormalised bin sizes [N, D, K]: softmax, floored at
/// `min_size` of the interval, cumulated onto [-B, B] with exact end points.
torch::Tensor knots(const torch::Tensor& unnormalised, double min_size, double B) {
  const int64_t K = unnormalised.size(-1);
  torch::Tensor w = torch::softmax(unnormalised, -1);
  w = min_size + (1.0 - min_size * static_cast<double>(K)) * w;
  torch::Tensor c = torch::nn::functional::pad(torch::cumsum(w, -1),
                                               torch::nn::functional::PadFuncOptions({1, 0}));
  c = 2.0 * B * c - B;
  // The cumulative sum of K floats need not end at exactly 1: pin both ends.
  using torch::indexing::Slice;
  return torch::cat({torch::full_like(c.index({"...", Slice(0, 1)}), -B), c.index({"...", Slice(1, K)}),
                     torch::full_like(c.index({"...", Slice(0, 1)}), B)},
                    -1);
}
}  // namespace

torch::Tensor rq_spline(const torch::Tensor& x, const torch::Tensor& params, const SplineShape& s,
                        bool inverse, torch::Tensor* logabsdet) {
  using torch::indexing::Slice;
  const int64_t K = s.bins;
  const double B = s.tail_bound;
  const torch::Tensor inside = (x >= -B) & (x <= B);
  const torch::Tensor v = x.clamp(-B, B);  // the tails' values never reach the spline

  const torch::Tensor cw = knots(params.index({"...", Slice(0, K)}) * s.logit_scale, s.min_bin_width, B);
  const torch::Tensor ch = knots(params.index({"...", Slice(K, 2 * K)}) * s.logit_scale, s.min_bin_height, B);
  torch::Tensor d = s.min_derivative + torch::softplus(params.index({"...", Slice(2 * K, 3 * K - 1)}));
  const torch::Tensor one = torch::ones_like(d.index({"...", Slice(0, 1)}));
  d = torch::cat({one, d, one}, -1);  // [N, D, K + 1]; linear tails: slope 1 at -B and B

  // Bin of each value: the last knot <= it (in y for the inverse), clamped to [0, K - 1].
  const torch::Tensor& grid = inverse ? ch : cw;
  const torch::Tensor bin =
      ((v.unsqueeze(-1) >= grid).sum(-1, /*keepdim=*/true) - 1).clamp(0, K - 1);  // [N, D, 1]
  auto at = [&](const torch::Tensor& t, const torch::Tensor& i) { return t.gather(-1, i).squeeze(-1); };
  const torch::Tensor x0 = at(cw, bin), w = at(cw, bin + 1) - x0;
  const torch::Tensor y0 = at(ch, bin), h = at(ch, bin + 1) - y0;
  const torch::Tensor d0 = at(d, bin), d1 = at(d, bin + 1);
  const torch::Tensor slope = h / w;
  const torch::Tensor bend = d1 + d0 - 2.0 * slope;

  torch::Tensor xi, out;  // xi: position inside the bin, in [0, 1]
  if (!inverse) {
    xi = ((v - x0) / w).clamp(0.0, 1.0);
    const torch::Tensor xx = xi * (1.0 - xi);
    out = y0 + h * (slope * xi.pow(2) + d0 * xx) / (slope + bend * xx);
  } else {
    // Solve the quadratic a xi^2 + b xi + c = 0 for xi (the root in [0, 1]).
    const torch::Tensor dy = v - y0;
    const torch::Tensor a = h * (slope - d0) + dy * bend;
    const torch::Tensor b = h * d0 - dy * bend;
    const torch::Tensor c = -slope * dy;
    const torch::Tensor disc = (b.pow(2) - 4.0 * a * c).clamp_min(0.0);
    xi = ((2.0 * c) / (-b - torch::sqrt(disc))).clamp(0.0, 1.0);
    out = x0 + xi * w;
  }
  if (logabsdet) {
    const torch::Tensor xx = xi * (1.0 - xi);
    const torch::Tensor num = slope.pow(2) * (d1 * xi.pow(2) + 2.0 * slope * xx + d0 * (1.0 - xi).pow(2));
    const torch::Tensor den = slope + bend * xx;
    *logabsdet = torch::where(inside, torch::log(num) - 2.0 * torch::log(den), torch::zeros_like(x));
  }
  return torch::where(inside, out, x);
}

}  // namespace sedpost::flow
