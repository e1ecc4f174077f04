#include "sps/piecewise_linear.hpp"

#include <algorithm>

namespace sedpost::sps {

void append_interp_weights(const std::vector<double>& x, double t, Extrapolation mode, double scale,
                           std::vector<NodeWeight>& out) {
  const int n = static_cast<int>(x.size());
  if (n == 1) {
    out.push_back({0, scale});
    return;
  }
  int lo;
  if (t <= x.front()) {
    if (mode == Extrapolation::kClamp) {
      out.push_back({0, scale});
      return;
    }
    lo = 0;
  } else if (t >= x.back()) {
    if (mode == Extrapolation::kClamp) {
      out.push_back({n - 1, scale});
      return;
    }
    lo = n - 2;
  } else {
    lo = static_cast<int>(std::upper_bound(x.begin(), x.end(), t) - x.begin()) - 1;
  }
  const double u = (t - x[lo]) / (x[lo + 1] - x[lo]);
  out.push_back({lo, scale * (1.0 - u)});
  out.push_back({lo + 1, scale * u});
}

std::vector<NodeWeight> integral_weights(const std::vector<double>& x, double a, double b,
                                         Extrapolation mode) {
  std::vector<NodeWeight> raw;
  if (b > a) {
    std::vector<double> brk{a};
    auto it = std::upper_bound(x.begin(), x.end(), a);
    for (; it != x.end() && *it < b; ++it) brk.push_back(*it);
    brk.push_back(b);
    for (size_t k = 0; k + 1 < brk.size(); ++k) {
      const double h = 0.5 * (brk[k + 1] - brk[k]);
      append_interp_weights(x, brk[k], mode, h, raw);
      append_interp_weights(x, brk[k + 1], mode, h, raw);
    }
  }
  // merge by index: raw is short and its indices are non-decreasing runs; sort then fold
  std::sort(raw.begin(), raw.end(), [](const NodeWeight& x, const NodeWeight& y) { return x.index < y.index; });
  std::vector<NodeWeight> out;
  out.reserve(raw.size());
  for (const auto& w : raw) {
    if (!out.empty() && out.back().index == w.index) out.back().weight += w.weight;
    else out.push_back(w);
  }
  return out;
}

std::vector<NodeWeight> average_weights(const std::vector<double>& x, double a, double b,
                                        Extrapolation mode) {
  if (!(b > a)) {
    std::vector<NodeWeight> out;
    append_interp_weights(x, a, mode, 1.0, out);
    return out;
  }
  auto w = integral_weights(x, a, b, mode);
  for (auto& e : w) e.weight /= (b - a);
  return w;
}

double apply_weights(const std::vector<NodeWeight>& w, const std::vector<double>& y) {
  double s = 0.0;
  for (const auto& e : w) s += e.weight * y[static_cast<size_t>(e.index)];
  return s;
}

}  // namespace sedpost::sps
