#include "posterior/redshift_modes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sedpost::posterior {

namespace {

constexpr int kBins = 200;

/// Weighted q-quantile of draws sorted by value (pairs value, weight; total weight `total`).
double weighted_quantile(const std::vector<std::pair<double, double>>& sorted, double total, double q) {
  double acc = 0;
  for (const auto& [v, w] : sorted) {
    acc += w;
    if (acc >= q * total) return v;
  }
  return sorted.back().first;
}

}  // namespace

std::vector<RedshiftMode> redshift_modes(const double* z, const double* w, std::size_t n, double lo, double hi,
                                         double min_weight, double max_dip) {
  std::vector<std::pair<double, double>> draws;
  double total = 0, total_sq = 0, mean = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double wi = w ? w[i] : 1.0;
    if (!(wi > 0) || !(z[i] >= lo && z[i] <= hi)) continue;
    draws.emplace_back(z[i], wi);
    total += wi;
    total_sq += wi * wi;
    mean += wi * z[i];
  }
  if (draws.empty()) return {};
  mean /= total;
  double var = 0;
  for (const auto& [v, wi] : draws) var += wi * (v - mean) * (v - mean);
  const double sd = std::sqrt(var / total);
  std::sort(draws.begin(), draws.end());
  const double iqr = weighted_quantile(draws, total, 0.75) - weighted_quantile(draws, total, 0.25);
  const double n_eff = total * total / total_sq;
  const double bin = (hi - lo) / kBins;
  double spread = std::min(sd, iqr / 1.34);
  if (!(spread > 0)) spread = sd;
  const double h = std::max(2 * bin, 0.9 * spread * std::pow(n_eff, -0.2));

  std::vector<double> mass(kBins, 0.0), density(kBins, 0.0);
  for (const auto& [v, wi] : draws)
    mass[static_cast<std::size_t>(std::clamp(static_cast<int>((v - lo) / bin), 0, kBins - 1))] += wi / total;
  const int reach = static_cast<int>(std::ceil(4 * h / bin));
  for (int j = 0; j < kBins; ++j) {
    if (mass[static_cast<std::size_t>(j)] == 0) continue;
    for (int k = std::max(0, j - reach); k <= std::min(kBins - 1, j + reach); ++k) {
      const double d = (k - j) * bin / h;
      density[static_cast<std::size_t>(k)] += mass[static_cast<std::size_t>(j)] * std::exp(-0.5 * d * d);
    }
  }

  // Segments between the density minima: [begin, end) bins, with their peak bin.
  struct Segment {
    int begin, end, peak;
  };
  std::vector<Segment> seg;
  int begin = 0;
  for (int j = 1; j < kBins - 1; ++j) {
    const auto sj = static_cast<std::size_t>(j);
    if (density[sj] < density[sj - 1] && density[sj] <= density[sj + 1]) {  // a minimum: cut here
      seg.push_back({begin, j, begin});
      begin = j;
    }
  }
  seg.push_back({begin, kBins, begin});
  for (Segment& s : seg)
    for (int j = s.begin; j < s.end; ++j)
      if (density[static_cast<std::size_t>(j)] > density[static_cast<std::size_t>(s.peak)]) s.peak = j;
  // Merge neighbours separated by a shallow dip, shallowest first.
  for (;;) {
    int merge = -1;
    double shallowest = max_dip;
    for (std::size_t k = 0; k + 1 < seg.size(); ++k) {
      const double dip = density[static_cast<std::size_t>(seg[k + 1].begin)];
      const double lower = std::min(density[static_cast<std::size_t>(seg[k].peak)],
                                    density[static_cast<std::size_t>(seg[k + 1].peak)]);
      const double ratio = lower > 0 ? dip / lower : 1.0;
      if (ratio >= shallowest) {
        shallowest = ratio;
        merge = static_cast<int>(k);
      }
    }
    if (merge < 0) break;
    Segment& a = seg[static_cast<std::size_t>(merge)];
    const Segment& b = seg[static_cast<std::size_t>(merge) + 1];
    a.end = b.end;
    if (density[static_cast<std::size_t>(b.peak)] > density[static_cast<std::size_t>(a.peak)]) a.peak = b.peak;
    seg.erase(seg.begin() + merge + 1);
  }
  std::vector<RedshiftMode> modes;
  for (const Segment& s : seg) {
    double m = 0;
    for (int j = s.begin; j < s.end; ++j) m += mass[static_cast<std::size_t>(j)];
    if (m >= min_weight) modes.push_back({lo + (s.peak + 0.5) * bin, m});
  }
  std::sort(modes.begin(), modes.end(), [](const RedshiftMode& a, const RedshiftMode& b) { return a.weight > b.weight; });
  return modes;
}

std::string describe_modes(const std::vector<RedshiftMode>& modes) {
  std::string s = "z = ";
  char buf[64];
  for (std::size_t k = 0; k < modes.size(); ++k) {
    std::snprintf(buf, sizeof buf, "%s%.3g (%.2f)", k ? ", " : "", modes[k].z, modes[k].weight);
    s += buf;
  }
  return s;
}

}  // namespace sedpost::posterior
