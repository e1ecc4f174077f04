#include "validation/flow_mcmc.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "validation/stats.hpp"

namespace sedpost::validation {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Rows of object i of the view with all K values finite, copied to [n_rows, K] float; with
/// thin > 1 only rows with (row / walkers) % thin == 0.
std::vector<float> finite_rows(const SamplesView& v, std::size_t i, std::size_t& n_rows,
                               std::size_t walkers = 1, std::size_t thin = 1) {
  const std::size_t k_n = v.n_quantities;
  std::vector<float> out;
  out.reserve(v.n_samples * k_n / std::max<std::size_t>(thin, 1));
  n_rows = 0;
  for (std::size_t s = 0; s < v.n_samples; ++s) {
    if (thin > 1 && (s / std::max<std::size_t>(walkers, 1)) % thin != 0) continue;
    bool ok = true;
    for (std::size_t k = 0; k < k_n && ok; ++k) ok = std::isfinite(v.at(i, s, k));
    if (!ok) continue;
    for (std::size_t k = 0; k < k_n; ++k) out.push_back(v.at(i, s, k));
    ++n_rows;
  }
  return out;
}

void median_std(const std::vector<float>& rows, std::size_t n_rows, std::size_t k_n, std::size_t k,
                double& med, double& sd) {
  if (n_rows == 0) {
    med = sd = kNaN;
    return;
  }
  std::vector<double> c(n_rows);
  double m = 0.0;
  for (std::size_t r = 0; r < n_rows; ++r) {
    c[r] = rows[r * k_n + k];
    m += c[r];
  }
  m /= n_rows;
  double v = 0.0;
  for (double x : c) v += (x - m) * (x - m);
  sd = n_rows > 1 ? std::sqrt(v / (n_rows - 1)) : kNaN;
  med = median(std::move(c));
}

}  // namespace

FlowMcmcComparison compare_flow_mcmc(const SamplesView& flow, const SamplesView& mcmc,
                                     const std::vector<std::string>& names,
                                     const std::vector<std::int64_t>& ids, const FlowMcmcSettings& settings) {
  const std::size_t g_n = flow.n_objects, k_n = flow.n_quantities;
  if (mcmc.n_objects != g_n || mcmc.n_quantities != k_n)
    throw ConfigError("compare_flow_mcmc: flow and MCMC views differ in galaxies or quantities");
  if (names.size() != k_n) throw ConfigError("compare_flow_mcmc: names.size() != number of quantities");
  if (!ids.empty() && ids.size() != g_n)
    throw ConfigError("compare_flow_mcmc: ids.size() != number of galaxies");
  if (flow.stride() < k_n || mcmc.stride() < k_n)
    throw ConfigError("compare_flow_mcmc: row stride smaller than the number of quantities");

  FlowMcmcComparison c;
  c.names = names;
  c.n_galaxies = static_cast<std::int64_t>(g_n);
  c.ids = ids;
  if (c.ids.empty())
    for (std::size_t g = 0; g < g_n; ++g) c.ids.push_back(static_cast<std::int64_t>(g));
  const std::size_t gk = g_n * k_n;
  c.n_mcmc_used.assign(g_n, 0);
  c.median_flow.assign(gk, kNaN);
  c.median_mcmc.assign(gk, kNaN);
  c.std_mcmc.assign(gk, kNaN);
  c.median_shift.assign(gk, kNaN);
  c.std_ratio.assign(gk, kNaN);
  c.joint_c2st.assign(g_n, kNaN);
  c.marginal_c2st.assign(gk, kNaN);

  for (std::size_t g = 0; g < g_n; ++g) {
    std::size_t nf = 0, nm = 0;
    const auto fr = finite_rows(flow, g, nf);
    const auto mr = finite_rows(mcmc, g, nm);
    c.n_mcmc_used[g] = static_cast<std::int64_t>(nm);
    for (std::size_t k = 0; k < k_n; ++k) {
      double mf, sf, mm, sm;
      median_std(fr, nf, k_n, k, mf, sf);
      median_std(mr, nm, k_n, k, mm, sm);
      const std::size_t idx = g * k_n + k;
      c.median_flow[idx] = mf;
      c.median_mcmc[idx] = mm;
      c.std_mcmc[idx] = sm;
      if (sm > 0.0) {
        c.median_shift[idx] = (mf - mm) / sm;
        c.std_ratio[idx] = sf / sm;
      }
    }
    std::size_t nm_c2st = nm;
    std::vector<float> mr_thinned;
    if (settings.mcmc_thin_steps > 1)
      mr_thinned = finite_rows(mcmc, g, nm_c2st, settings.mcmc_walkers, settings.mcmc_thin_steps);
    const std::vector<float>& mc = settings.mcmc_thin_steps > 1 ? mr_thinned : mr;
    C2stSettings cs = settings.c2st;
    cs.seed = settings.c2st.seed * 1000003ull + g;
    if (settings.joint_c2st) c.joint_c2st[g] = c2st(fr.data(), nf, mc.data(), nm_c2st, k_n, cs).accuracy;
    if (settings.marginal_c2st) {
      std::vector<float> a(nf), b(nm_c2st);
      for (std::size_t k = 0; k < k_n; ++k) {
        for (std::size_t r = 0; r < nf; ++r) a[r] = fr[r * k_n + k];
        for (std::size_t r = 0; r < nm_c2st; ++r) b[r] = mc[r * k_n + k];
        c.marginal_c2st[g * k_n + k] = c2st(a.data(), nf, b.data(), nm_c2st, 1, cs).accuracy;
      }
    }
  }

  for (std::size_t k = 0; k < k_n; ++k) {
    FlowMcmcQuantitySummary q;
    q.name = names[k];
    std::vector<double> abs_shift, ratio, marg;
    for (std::size_t g = 0; g < g_n; ++g) {
      const std::size_t idx = g * k_n + k;
      if (std::isfinite(c.median_shift[idx])) abs_shift.push_back(std::fabs(c.median_shift[idx]));
      if (std::isfinite(c.std_ratio[idx])) ratio.push_back(c.std_ratio[idx]);
      if (std::isfinite(c.marginal_c2st[idx])) marg.push_back(c.marginal_c2st[idx]);
    }
    q.n_galaxies = static_cast<std::int64_t>(abs_shift.size());
    q.max_abs_median_shift = abs_shift.empty() ? kNaN : *std::max_element(abs_shift.begin(), abs_shift.end());
    q.median_abs_median_shift = median(abs_shift);
    q.median_std_ratio = median(ratio);
    q.median_marginal_c2st = median(marg);
    c.per_quantity.push_back(q);
  }
  c.median_joint_c2st = median(c.joint_c2st);
  return c;
}

}  // namespace sedpost::validation
