#include "validation/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/special_functions.hpp"
#include "validation/stats.hpp"

namespace sedpost::validation {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Rng streams of the validation metrics (raw values outside core's RngStream enumeration so
// that they never collide with a stored stream): one generator per (purpose, galaxy).
constexpr std::uint32_t kStreamTarp = 0x56A10001u;
constexpr std::uint32_t kStreamSbc = 0x56A10002u;

/// L (samples ranked) and B (bins) such that (L + 1) % B == 0, L <= l_max.
void choose_ranks(int l_max, int bins, int& l, int& b) {
  b = bins;
  l = ((l_max + 1) / b) * b - 1;
  if (l < 1) {  // fewer samples than bins: one bin per rank value
    l = l_max;
    b = l_max + 1;
  }
}

SbcResult sbc_from_ranks(const std::vector<int>& ranks, const std::vector<double>& jitter, int l, int b) {
  SbcResult r;
  r.n_ranks = l;
  r.n_bins = b;
  r.histogram.assign(static_cast<std::size_t>(b), 0);
  const std::size_t n = ranks.size();
  if (n == 0) {
    r.chi2 = r.chi2_p_value = r.ks_statistic = r.ks_p_value = kNaN;
    r.outer_fraction = r.outer_z = r.mean_rank_offset = kNaN;
    r.chi2_dof = b - 1;
    r.outer_expected = 2.0 / b;
    return r;
  }
  std::vector<double> u(n);
  double offset = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const int bin = static_cast<int>(static_cast<long long>(ranks[i]) * b / (l + 1));
    ++r.histogram[static_cast<std::size_t>(bin)];
    u[i] = (ranks[i] + jitter[i]) / (l + 1.0);
    offset += static_cast<double>(ranks[i]) / l - 0.5;
  }
  const double nd = static_cast<double>(n);
  const double expected = nd / b;
  double chi2 = 0.0;
  for (auto c : r.histogram) chi2 += (c - expected) * (c - expected) / expected;
  r.chi2 = chi2;
  r.chi2_dof = b - 1;
  r.chi2_p_value = chi2_survival(chi2, b - 1);
  r.ks_statistic = ks_statistic_uniform(u);
  r.ks_p_value = ks_p_value(r.ks_statistic, n);
  const double outer = static_cast<double>(r.histogram.front() + (b > 1 ? r.histogram.back() : 0));
  const double p_outer = b > 1 ? 2.0 / b : 1.0;
  r.outer_expected = p_outer;
  r.outer_fraction = outer / nd;
  const double var = nd * p_outer * (1.0 - p_outer);
  r.outer_z = var > 0.0 ? (outer - nd * p_outer) / std::sqrt(var) : kNaN;
  r.mean_rank_offset = offset / nd;
  return r;
}

double fraction_within(const std::vector<double>& u, double level) {
  if (u.empty()) return kNaN;
  std::size_t c = 0;
  for (double v : u) c += std::fabs(v - 0.5) <= 0.5 * level + 1e-12;
  return static_cast<double>(c) / u.size();
}

}  // namespace

/// Per-galaxy results; the statistics are formed in finish().
struct CalibrationAccumulator::Impl {
  std::size_t n = 0, s_n = 0, k_n = 0;
  std::vector<std::string> names;
  CalibrationSettings settings;
  std::vector<double> truth;  // [N, K]
  std::vector<double> levels;
  int l = 0, b = 0;               // SBC: L ranked samples, B bins
  std::vector<std::size_t> thin;  // [L] sample indices ranked
  // [N, K] per galaxy and quantity; used = 0 until add() saw finite samples and a finite truth.
  std::vector<unsigned char> used;
  std::vector<double> u, jitter, med_err, post_sd;
  std::vector<int> rank;
  // TARP: quantities, z-scoring, reference box, f per galaxy (NaN = unusable)
  std::vector<int> tq;
  std::vector<double> t_mean, t_sd, t_lo, t_hi;
  std::vector<unsigned char> t_truth_ok;  // [N]
  std::vector<double> f;                  // [N]
};

CalibrationAccumulator::CalibrationAccumulator(const double* truth, std::size_t n, std::size_t s_n,
                                               std::size_t k_n, const std::vector<std::string>& names,
                                               const CalibrationSettings& settings)
    : impl_(std::make_unique<Impl>()) {
  if (names.size() != k_n)
    throw ConfigError("calibrate: " + std::to_string(names.size()) + " names for " + std::to_string(k_n) +
                      " quantities");
  if (s_n < 1) throw ConfigError("calibrate: need at least one posterior sample per galaxy");
  if (n > 0 && truth == nullptr) throw ConfigError("calibrate: null truth");
  if (settings.n_levels < 2) throw ConfigError("calibrate: n_levels must be >= 2");
  if (settings.sbc_bins < 2) throw ConfigError("calibrate: sbc_bins must be >= 2");
  if (settings.sbc_max_rank < 0) throw ConfigError("calibrate: sbc_max_rank must be >= 0");
  Impl& m = *impl_;
  m.n = n;
  m.s_n = s_n;
  m.k_n = k_n;
  m.names = names;
  m.settings = settings;
  m.truth.assign(truth, truth + n * k_n);
  m.tq = settings.tarp_quantities;
  if (m.tq.empty())
    for (std::size_t k = 0; k < k_n; ++k) m.tq.push_back(static_cast<int>(k));
  for (int k : m.tq)
    if (k < 0 || static_cast<std::size_t>(k) >= k_n)
      throw ConfigError("calibrate: TARP quantity index " + std::to_string(k) + " out of range");

  m.levels.resize(static_cast<std::size_t>(settings.n_levels));
  for (int a = 0; a < settings.n_levels; ++a)
    m.levels[static_cast<std::size_t>(a)] = static_cast<double>(a) / (settings.n_levels - 1);
  const int l_max =
      settings.sbc_max_rank > 0
          ? std::min<int>(settings.sbc_max_rank, static_cast<int>(std::min<std::size_t>(s_n, 1u << 30)))
          : static_cast<int>(std::min<std::size_t>(s_n, 1u << 30));
  choose_ranks(l_max, settings.sbc_bins, m.l, m.b);
  // Evenly spaced thinning of the S samples to L (Talts et al. section 5.1 thin autocorrelated
  // samples; flow samples are independent, so this only matters for MCMC input).
  m.thin.resize(static_cast<std::size_t>(m.l));
  for (int j = 0; j < m.l; ++j)
    m.thin[static_cast<std::size_t>(j)] = static_cast<std::size_t>(static_cast<double>(j) * s_n / m.l);

  const std::size_t nk = n * k_n;
  m.used.assign(nk, 0);
  m.u.assign(nk, kNaN);
  m.jitter.assign(nk, kNaN);
  m.med_err.assign(nk, kNaN);
  m.post_sd.assign(nk, kNaN);
  m.rank.assign(nk, 0);

  // TARP: z-score with the truths' mean and std (the `tarp` package's norm=True rescales by the
  // truths' range instead; any affine map gives a valid test, z-scoring just weighs the
  // quantities equally in the Euclidean distance).
  const std::size_t kq = m.tq.size();
  m.t_truth_ok.assign(n, 0);
  m.f.assign(n, kNaN);
  std::size_t n_ok = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bool ok = true;
    for (int k : m.tq) ok = ok && std::isfinite(m.truth[i * k_n + k]);
    m.t_truth_ok[i] = ok;
    n_ok += ok;
  }
  m.t_mean.assign(kq, 0.0);
  m.t_sd.assign(kq, 1.0);
  m.t_lo.assign(kq, 0.0);
  m.t_hi.assign(kq, 0.0);
  for (std::size_t j = 0; j < kq && n_ok > 0; ++j) {
    const std::size_t k = static_cast<std::size_t>(m.tq[j]);
    double mean = 0.0, var = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      if (m.t_truth_ok[i]) mean += m.truth[i * k_n + k];
    mean /= n_ok;
    for (std::size_t i = 0; i < n; ++i)
      if (m.t_truth_ok[i]) var += (m.truth[i * k_n + k] - mean) * (m.truth[i * k_n + k] - mean);
    var = n_ok > 1 ? var / (n_ok - 1) : 0.0;
    m.t_mean[j] = mean;
    m.t_sd[j] = var > 0.0 ? std::sqrt(var) : 1.0;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t i = 0; i < n; ++i)
      if (m.t_truth_ok[i]) {
        const double z = (m.truth[i * k_n + k] - mean) / m.t_sd[j];
        lo = std::min(lo, z);
        hi = std::max(hi, z);
      }
    m.t_lo[j] = lo;
    m.t_hi[j] = hi;
  }
}

CalibrationAccumulator::~CalibrationAccumulator() = default;
CalibrationAccumulator::CalibrationAccumulator(CalibrationAccumulator&&) noexcept = default;
CalibrationAccumulator& CalibrationAccumulator::operator=(CalibrationAccumulator&&) noexcept = default;

void CalibrationAccumulator::add(std::size_t first, const SamplesView& sv) {
  Impl& m = *impl_;
  if (sv.n_samples != m.s_n || sv.n_quantities != m.k_n)
    throw ConfigError("calibrate: block has " + std::to_string(sv.n_samples) + " samples x " +
                      std::to_string(sv.n_quantities) + " quantities, expected " + std::to_string(m.s_n) +
                      " x " + std::to_string(m.k_n));
  if (first + sv.n_objects > m.n) throw ConfigError("calibrate: block rows run past the number of galaxies");
  if (sv.stride() < m.k_n) throw ConfigError("calibrate: row stride smaller than the number of quantities");
  if (sv.n_objects > 0 && sv.data == nullptr) throw ConfigError("calibrate: null samples");
  const std::size_t s_n = m.s_n, k_n = m.k_n, kq = m.tq.size();
  std::vector<double> col(s_n), ref(kq), tz(kq);
  for (std::size_t b = 0; b < sv.n_objects; ++b) {
    const std::size_t i = first + b;
    for (std::size_t k = 0; k < k_n; ++k) {
      const std::size_t ik = i * k_n + k;
      const double t = m.truth[ik];
      if (!std::isfinite(t)) continue;
      bool ok = true;
      for (std::size_t s = 0; s < s_n && ok; ++s) {
        col[s] = sv.at(b, s, k);
        ok = std::isfinite(col[s]);
      }
      if (!ok) continue;
      std::size_t less = 0, equal = 0;
      double mean = 0.0;
      for (double x : col) {
        less += x < t;
        equal += x == t;
        mean += x;
      }
      mean /= s_n;
      double v = 0.0;
      for (double x : col) v += (x - mean) * (x - mean);
      m.post_sd[ik] = s_n > 1 ? std::sqrt(v / (s_n - 1)) : 0.0;
      m.u[ik] = (less + 0.5 * equal) / s_n;
      // SBC rank among the thinned samples; ties broken uniformly at random (Talts et al.).
      Rng rng(m.settings.seed, kStreamSbc, ik);
      int r = 0, eq = 0;
      for (auto s : m.thin) {
        r += col[s] < t;
        eq += col[s] == t;
      }
      if (eq > 0) r += static_cast<int>(rng.below(static_cast<std::uint32_t>(eq + 1)));
      m.rank[ik] = r;
      m.jitter[ik] = rng.uniform();
      m.med_err[ik] = median(col) - t;
      m.used[ik] = 1;
    }
    if (!m.t_truth_ok[i]) continue;
    // TARP: one reference point per galaxy, uniform in the box of the z-scored truths (as the
    // reference implementation draws one per simulation in its normalised unit box).
    Rng rng(m.settings.seed, kStreamTarp, i);
    double d_truth = 0.0;
    for (std::size_t j = 0; j < kq; ++j) {
      ref[j] = rng.uniform(m.t_lo[j], m.t_hi[j]);
      tz[j] = (m.truth[i * k_n + m.tq[j]] - m.t_mean[j]) / m.t_sd[j];
      d_truth += (tz[j] - ref[j]) * (tz[j] - ref[j]);
    }
    std::size_t closer = 0, finite = 0;
    for (std::size_t s = 0; s < s_n; ++s) {
      double d = 0.0;
      bool ok = true;
      for (std::size_t j = 0; j < kq; ++j) {
        const double x = sv.at(b, s, static_cast<std::size_t>(m.tq[j]));
        ok = ok && std::isfinite(x);
        const double z = (x - m.t_mean[j]) / m.t_sd[j] - ref[j];
        d += z * z;
      }
      if (!ok) continue;
      ++finite;
      closer += d < d_truth;
    }
    m.f[i] = finite > 0 ? static_cast<double>(closer) / finite : kNaN;
  }
}

CalibrationReport CalibrationAccumulator::finish() const {
  const Impl& m = *impl_;
  CalibrationReport rep;
  rep.n_galaxies = static_cast<std::int64_t>(m.n);
  rep.n_samples = static_cast<std::int64_t>(m.s_n);
  rep.settings = m.settings;
  rep.levels = m.levels;
  for (std::size_t k = 0; k < m.k_n; ++k) {
    QuantityCalibration qc;
    qc.name = m.names[k];
    std::vector<double> u, jitter, med_err, post_sd;
    std::vector<int> ranks;
    for (std::size_t i = 0; i < m.n; ++i) {
      const std::size_t ik = i * m.k_n + k;
      if (!m.used[ik]) continue;
      u.push_back(m.u[ik]);
      jitter.push_back(m.jitter[ik]);
      med_err.push_back(m.med_err[ik]);
      post_sd.push_back(m.post_sd[ik]);
      ranks.push_back(m.rank[ik]);
    }
    qc.n_used = static_cast<std::int64_t>(u.size());
    qc.pp_ecdf.resize(rep.levels.size());
    qc.central_coverage.resize(rep.levels.size());
    for (std::size_t a = 0; a < rep.levels.size(); ++a) {
      if (u.empty()) {
        qc.pp_ecdf[a] = qc.central_coverage[a] = kNaN;
        continue;
      }
      std::size_t c = 0;
      for (double v : u) c += v <= rep.levels[a] + 1e-12;
      qc.pp_ecdf[a] = static_cast<double>(c) / u.size();
      qc.central_coverage[a] = fraction_within(u, rep.levels[a]);
    }
    qc.pp_max_deviation = ks_statistic_uniform(u);
    qc.coverage_68 = fraction_within(u, 0.6826894921370859);
    qc.coverage_95 = fraction_within(u, 0.9544997361036416);
    qc.sbc = sbc_from_ranks(ranks, jitter, m.l, m.b);
    if (med_err.empty()) {
      qc.median_bias = qc.median_rmse = qc.mean_posterior_std = kNaN;
    } else {
      double sum = 0.0, sq = 0.0, sd = 0.0;
      for (std::size_t i = 0; i < med_err.size(); ++i) {
        sum += med_err[i];
        sq += med_err[i] * med_err[i];
        sd += post_sd[i];
      }
      qc.median_bias = sum / med_err.size();
      qc.median_rmse = std::sqrt(sq / med_err.size());
      qc.mean_posterior_std = sd / med_err.size();
    }
    rep.quantities.push_back(std::move(qc));
  }
  TarpResult& t = rep.tarp;
  t.quantities = m.tq;
  std::vector<double> f;
  for (double v : m.f)
    if (std::isfinite(v)) f.push_back(v);
  t.n_used = static_cast<std::int64_t>(f.size());
  t.ecp.resize(rep.levels.size());
  for (std::size_t a = 0; a < rep.levels.size(); ++a) {
    if (f.empty()) {
      t.ecp[a] = kNaN;
    } else if (rep.levels[a] >= 1.0) {
      t.ecp[a] = 1.0;
    } else {
      std::size_t c = 0;
      for (double v : f) c += v < rep.levels[a];
      t.ecp[a] = static_cast<double>(c) / f.size();
    }
  }
  t.max_deviation = ks_statistic_uniform(f);
  t.ks_p_value = ks_p_value(t.max_deviation, f.size());
  return rep;
}

CalibrationReport calibrate(const SamplesView& sv, const double* truth, const std::vector<std::string>& names,
                            const CalibrationSettings& settings) {
  CalibrationAccumulator acc(truth, sv.n_objects, sv.n_samples, sv.n_quantities, names, settings);
  acc.add(0, sv);
  return acc.finish();
}

CalibrationReport calibrate(const float* samples, const double* truth, std::size_t n_galaxies,
                            std::size_t n_samples, std::size_t n_quantities,
                            const std::vector<std::string>& names, const CalibrationSettings& settings) {
  SamplesView sv{samples, n_galaxies, n_samples, n_quantities, 0};
  return calibrate(sv, truth, names, settings);
}

FlagSummary summarize_flags(const std::uint32_t* flags, std::size_t n,
                            const std::vector<std::string>& flag_names) {
  if (flag_names.size() > 32) throw ConfigError("summarize_flags: more than 32 flag names");
  FlagSummary f;
  f.n_galaxies = static_cast<std::int64_t>(n);
  f.names = flag_names;
  f.counts.assign(flag_names.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    f.n_flagged += flags[i] != 0;
    for (std::size_t b = 0; b < flag_names.size(); ++b) f.counts[b] += (flags[i] >> b) & 1u;
  }
  f.fraction_flagged = n > 0 ? static_cast<double>(f.n_flagged) / n : kNaN;
  for (auto c : f.counts) f.fractions.push_back(n > 0 ? static_cast<double>(c) / n : kNaN);
  return f;
}

}  // namespace sedpost::validation
