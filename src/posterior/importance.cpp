#include "posterior/importance.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace sedpost::posterior {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

double ess_at(const std::vector<double>& log_w, double beta, double max_lw) {
  double s = 0, s2 = 0;
  for (double lw : log_w) {
    if (!(lw > -kInf)) continue;
    const double e = std::exp(beta * (lw - max_lw));
    s += e;
    s2 += e * e;
  }
  return s2 > 0 ? s * s / s2 : 0.0;
}
}  // namespace

double normalise_log_weights(const std::vector<double>& log_w, std::vector<double>& w) {
  w.assign(log_w.size(), 0.0);
  double max_lw = -kInf;
  for (double lw : log_w)
    if (lw > max_lw) max_lw = lw;  // NaN never compares greater
  if (!(max_lw > -kInf)) return -kInf;
  double sum = 0;
  for (std::size_t i = 0; i < log_w.size(); ++i) {
    w[i] = log_w[i] > -kInf ? std::exp(log_w[i] - max_lw) : 0.0;
    sum += w[i];
  }
  for (double& v : w) v /= sum;
  return max_lw + std::log(sum);
}

double effective_sample_size(const std::vector<double>& w) {
  double s2 = 0;
  for (double v : w) s2 += v * v;
  return s2 > 0 ? 1.0 / s2 : 0.0;
}

double tempering_exponent(const std::vector<double>& log_w, double target_ess) {
  double max_lw = -kInf;
  for (double lw : log_w)
    if (lw > max_lw) max_lw = lw;
  if (!(max_lw > -kInf) || ess_at(log_w, 1.0, max_lw) >= target_ess) return 1.0;
  double lo = 0.0, hi = 1.0;  // ESS(lo) >= target > ESS(hi)
  for (int it = 0; it < 30; ++it) {
    const double mid = 0.5 * (lo + hi);
    (ess_at(log_w, mid, max_lw) >= target_ess ? lo : hi) = mid;
  }
  return std::max(lo, 1e-6);
}

void weighted_summary(const double* values, const double* w, std::size_t n, float* out) {
  constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
  std::fill(out, out + 7, kNaNf);
  std::vector<std::size_t> idx;
  idx.reserve(n);
  double mean = 0, sw = 0, sw2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(values[i]) || !(w[i] > 0)) continue;
    idx.push_back(i);
    if (std::isfinite(values[i])) {
      sw += w[i];
      sw2 += w[i] * w[i];
      mean += w[i] * values[i];
    }
  }
  if (idx.empty()) return;
  if (sw > 0) {
    mean /= sw;
    double var = 0;
    for (std::size_t i : idx)
      if (std::isfinite(values[i])) var += w[i] / sw * (values[i] - mean) * (values[i] - mean);
    const double rel = sw2 / (sw * sw);  // sum of squared normalised weights
    out[0] = static_cast<float>(mean);
    out[1] = rel < 1 ? static_cast<float>(std::sqrt(var / (1 - rel))) : 0.0f;
  }
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  double total = 0;
  for (std::size_t i : idx) total += w[i];
  // Midpoint of each draw's weight on the CDF axis, then linear interpolation between them.
  std::vector<double> mid(idx.size());
  double c = 0;
  for (std::size_t k = 0; k < idx.size(); ++k) {
    const double wk = w[idx[k]] / total;
    mid[k] = c + 0.5 * wk;
    c += wk;
  }
  const double q[5] = {0.025, 0.16, 0.5, 0.84, 0.975};
  for (int j = 0; j < 5; ++j) {
    const auto it = std::upper_bound(mid.begin(), mid.end(), q[j]);
    double v;
    if (it == mid.begin()) {
      v = values[idx.front()];
    } else if (it == mid.end()) {
      v = values[idx.back()];
    } else {
      const std::size_t k = static_cast<std::size_t>(it - mid.begin());
      const double a = values[idx[k - 1]], b = values[idx[k]];
      const double f = (q[j] - mid[k - 1]) / (mid[k] - mid[k - 1]);
      v = (a == b || !std::isfinite(a) || !std::isfinite(b)) ? (f < 0.5 ? a : b) : a + f * (b - a);
    }
    out[2 + j] = static_cast<float>(v);
  }
}

std::vector<std::size_t> systematic_resample(const std::vector<double>& w, std::size_t m, double u0) {
  std::vector<std::size_t> out;
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  if (!(total > 0) || m == 0) return out;
  out.reserve(m);
  double c = w.empty() ? 0 : w[0] / total;
  std::size_t i = 0;
  for (std::size_t k = 0; k < m; ++k) {
    const double u = (static_cast<double>(k) + u0) / static_cast<double>(m);
    while (u > c && i + 1 < w.size()) c += w[++i] / total;
    out.push_back(i);
  }
  return out;
}

}  // namespace sedpost::posterior
