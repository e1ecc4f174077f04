#include "sps/filters.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "core/error.hpp"
#include "sps/simd.hpp"

namespace sedpost::sps {

namespace {

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_filter(const Filter& f) {
  if (f.wavelength.size() < 2)
    throw DataError("filter file '" + f.path + "': fewer than 2 data rows");
  for (size_t i = 1; i < f.wavelength.size(); ++i)
    if (!(f.wavelength[i] > f.wavelength[i - 1]))
      throw DataError("filter file '" + f.path + "': wavelengths not strictly ascending at row " +
                      std::to_string(i));
  bool any = false;
  for (double r : f.response) any = any || r > 0;
  if (!any) throw DataError("filter file '" + f.path + "': response is zero everywhere");
}

/// Keeps one zero node before the first and after the last non-zero response.
void trim(Filter& f) {
  size_t lo = 0, hi = f.response.size() - 1;
  while (lo + 1 < f.response.size() && f.response[lo + 1] == 0.0 && f.response[lo] == 0.0) ++lo;
  while (hi > 0 && f.response[hi - 1] == 0.0 && f.response[hi] == 0.0) --hi;
  f.wavelength = std::vector<double>(f.wavelength.begin() + static_cast<long>(lo),
                                     f.wavelength.begin() + static_cast<long>(hi) + 1);
  f.response = std::vector<double>(f.response.begin() + static_cast<long>(lo),
                                   f.response.begin() + static_cast<long>(hi) + 1);
}

}  // namespace

Filter read_sedpy_par(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot open filter file '" + path + "'");
  Filter f;
  f.name = path;
  f.path = path;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const auto p = line.find_first_not_of(" \t\r");
    if (p == std::string::npos || line[p] == '#') continue;
    std::istringstream ls(line);
    double w, r;
    if (!(ls >> w >> r))
      throw DataError("filter file '" + path + "' line " + std::to_string(lineno) +
                      ": expected 2 numbers (wavelength [A], response)");
    f.wavelength.push_back(w);
    f.response.push_back(r);
  }
  check_filter(f);
  return f;
}

Filter read_speclite_ecsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot open filter file '" + path + "'");
  Filter f;
  f.name = path;
  f.path = path;
  std::string line, unit;
  bool header_row_seen = false;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line[0] == '#') {
      // "{name: wavelength, unit: nm, ...}" or "unit: !astropy.units.Unit {unit: Angstrom}"
      std::string key;
      auto p = line.find("name: wavelength, unit: ");
      if (p != std::string::npos) key = line.substr(p + 24);
      p = line.find("!astropy.units.Unit {unit: ");
      if (p != std::string::npos && unit.empty()) key = line.substr(p + 27);
      if (!key.empty()) {
        const auto e = key.find_first_of(",}");
        unit = key.substr(0, e);
      }
      continue;
    }
    const auto p = line.find_first_not_of(" \t\r");
    if (p == std::string::npos) continue;
    if (!header_row_seen) {
      header_row_seen = true;
      if (line.find("wavelength") == std::string::npos)
        throw DataError("filter file '" + path + "': missing 'wavelength response' column header");
      continue;
    }
    std::istringstream ls(line);
    double w, r;
    if (!(ls >> w >> r))
      throw DataError("filter file '" + path + "' line " + std::to_string(lineno) +
                      ": expected 2 numbers (wavelength, response)");
    f.wavelength.push_back(w);
    f.response.push_back(std::max(r, 0.0));  // speclite writes "-0.0"
  }
  double scale;
  if (unit == "Angstrom" || unit == "AA" || unit == "angstrom") {
    scale = 1.0;
  } else if (unit == "nm") {
    scale = 10.0;
  } else if (unit == "micron" || unit == "um") {
    scale = 1e4;
  } else if (unit.empty()) {
    throw DataError("filter file '" + path + "': no wavelength unit in the ECSV header");
  } else {
    throw DataError("filter file '" + path + "': unsupported wavelength unit '" + unit + "'");
  }
  for (double& w : f.wavelength) w *= scale;
  check_filter(f);
  return f;
}

Filter load_filter(const std::string& data_dir, const std::string& band_name) {
  std::string path;
  const std::string dir = data_dir + "/filters/";
  if (ends_with(band_name, ".par") || ends_with(band_name, ".ecsv")) {
    path = band_name;
  } else if (band_name.rfind("sedpy:", 0) == 0) {
    path = dir + "sedpy/" + band_name.substr(6) + ".par";
  } else if (band_name.rfind("speclite:", 0) == 0) {
    path = dir + "speclite/" + band_name.substr(9) + ".ecsv";
  } else {
    path = dir + "speclite/" + band_name + ".ecsv";
    if (!file_exists(path)) path = dir + "sedpy/" + band_name + ".par";
  }
  if (!file_exists(path))
    throw DataError("band '" + band_name + "': filter file '" + path + "' not found");
  Filter f = ends_with(path, ".par") ? read_sedpy_par(path) : read_speclite_ecsv(path);
  f.name = band_name;
  trim(f);
  return f;
}

std::vector<Filter> load_filters(const std::string& data_dir, const std::vector<std::string>& band_names) {
  std::vector<Filter> out;
  for (const auto& b : band_names) out.push_back(load_filter(data_dir, b));
  return out;
}

BandWeights band_weights(const Filter& filter, const double* wave_obs, int n) {
  if (n < 2) {
    std::ostringstream os;
    os << "band '" << filter.name << "' (" << filter.min_wavelength() << "-" << filter.max_wavelength()
       << " A) is not covered by the spectrum (" << n << " node(s))";
    throw DataError(os.str());
  }
  BandWeights bw;
  RedshiftedBand(filter, std::vector<double>(wave_obs, wave_obs + n)).weights(0.0, bw);
  return bw;
}

namespace {

/// q[i] = the first observed node >= F_i (observed node j at rp[j] s), from the bucket table
/// `tab` [nbk] (last rest node <= bucket start, at most n - 2) and two branch-free steps; exact
/// when the buckets are no wider than half the smallest rest spacing and s >= 1.
SEDPOST_SPS_CLONES void locate_filter_nodes(const double* __restrict f, int nf, const int* __restrict tab, int nbk,
                                            double r_lo, double r_inv_bucket, const double* __restrict rp,
                                            double s, double inv_s, int* __restrict q) {
  const double ymax = nbk - 1;
  for (int i = 0; i < nf; ++i) {
    double y = (f[i] * inv_s - r_lo) * r_inv_bucket;
    y = y > 0 ? y : 0.0;
    y = y < ymax ? y : ymax;
    const int k = tab[static_cast<int>(y)];
    q[i] = k + 1 - (rp[k] * s >= f[i] ? 1 : 0) + (rp[k + 1] * s < f[i] ? 1 : 0);
  }
}

/// Filter node i (F_i = fp[i + 1]) with q = q[i]: its union neighbours are max(F_{i-1}, x_{q-1})
/// and min(F_{i+1}, x_q), its trapezoid weight c half their distance; the spectrum there is
/// linear between nodes q - 1 and q (q = 0 only when x_0 = F_0: all of it on node 0). Writes
/// a[i] (the share of node q - 1), b[i] (of node q), both c R x, and dt[i] = c R c / x.
SEDPOST_SPS_CLONES void filter_node_terms(const int* __restrict q, int nf, const double* __restrict fp,
                                          const double* __restrict fg, const double* __restrict fd,
                                          const double* __restrict rp, const double* __restrict inv_rs, double s,
                                          double inv_s, double* __restrict a, double* __restrict b,
                                          double* __restrict dt) {
  for (int i = 0; i < nf; ++i) {
    const int qi = q[i];
    const int sj = qi > 0 ? qi - 1 : 0;
    const double xb = rp[qi - 1] * s, xq = rp[qi] * s;
    const double fl = fp[i], fh = fp[i + 2];
    const double prev = fl > xb ? fl : xb;
    const double next = fh < xq ? fh : xq;
    const double c = 0.5 * (next - prev);
    double ts = (fp[i + 1] - xb) * inv_rs[sj] * inv_s;
    ts = ts > 0 ? ts : 0.0;
    ts = ts < 1 ? ts : 1.0;
    ts = qi > 0 ? ts : 1.0;
    const double cg = c * fg[i];
    a[i] = cg * (1.0 - ts);
    b[i] = cg * ts;
    dt[i] = c * fd[i];
  }
}

/// The observed nodes j in [j0, j1), those in [F_0, F_{nf-1}), all of them union points:
///   w[j] = c_j R(x_j) x_j + fb[j - j0] + fa[j - j0 + 1],  dterm[j - j0] = c_j R(x_j) c / lam_j
/// (times 1 / (1 + z) later), x_j = rp[j] s, c_j = (next - previous union point) / 2 with the
/// previous one the larger of x_{j-1} and the node F_i <= x_j of the node's filter segment
/// i = seg[j - j0], the next one the smaller of x_{j+1} and F_{i+1}; fa, fb the filter nodes'
/// shares by node (see filter_node_terms). `fp` [nf + 2] is the filter's nodes with the first and
/// last repeated (F_i = fp[i + 1]); `rp` [-1, n) the rest nodes [A] (rp[-1] = rp[0]).
/// Branch-free, so the AVX clones vectorise it (gathers of the segment data).
SEDPOST_SPS_CLONES void observed_node_weights(const int* __restrict seg, const double* __restrict rp,
                                              const double* __restrict c_over_rest,
                                              const double* __restrict fp, const double* __restrict fr,
                                              const double* __restrict slope, const double* __restrict fa,
                                              const double* __restrict fb, double s, int j0, int j1,
                                              double* __restrict w, double* __restrict dterm) {
  for (int j = j0; j < j1; ++j) {
    const int i = seg[j - j0];
    const double x = rp[j] * s;
    const double fl = fp[i + 1], fh = fp[i + 2];
    const double xl = rp[j - 1] * s, xh = rp[j + 1] * s;
    const double prev = xl > fl ? xl : fl;
    const double next = xh < fh ? xh : fh;
    const double cr = 0.5 * (next - prev) * (fr[i] + slope[i] * (x - fl));
    w[j] = cr * x + fb[j - j0] + fa[j - j0 + 1];
    dterm[j - j0] = cr * c_over_rest[j];
  }
}

/// Sum in a fixed order (four interleaved partial sums), the same in every clone.
double fixed_order_sum(const double* t, int m) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int k = 0;
  for (; k + 4 <= m; k += 4) {
    a0 += t[k];
    a1 += t[k + 1];
    a2 += t[k + 2];
    a3 += t[k + 3];
  }
  for (; k < m; ++k) a0 += t[k];
  return (a0 + a1) + (a2 + a3);
}

/// Per-thread scratch of RedshiftedBand::weights (grown, never shrunk).
struct WeightScratch {
  std::vector<int> q, seg, run_n;                 // [nf], [m], [m + 1]
  std::vector<double> a, b, dt, run_a, run_b, dterm;  // [nf] x 3, [m + 1] x 2, [m]
};

}  // namespace

RedshiftedBand::RedshiftedBand(const Filter& filter, const std::vector<double>& rest_wave)
    : name_(filter.name),
      nf_(static_cast<int>(filter.wavelength.size())),
      n_(static_cast<int>(rest_wave.size())) {
  if (nf_ < 2 || n_ < 2) throw DataError("band '" + name_ + "': a filter and a spectrum need >= 2 nodes");
  const auto& fw = filter.wavelength;
  const auto nf = static_cast<size_t>(nf_), n = static_cast<size_t>(n_);
  fpad_.reserve(nf + 2);
  fpad_.push_back(fw.front());
  fpad_.insert(fpad_.end(), fw.begin(), fw.end());
  fpad_.push_back(fw.back());
  fr_ = filter.response;
  for (size_t i = 0; i < nf; ++i) {
    if (i + 1 < nf) slope_.push_back((fr_[i + 1] - fr_[i]) * (1.0 / (fw[i + 1] - fw[i])));
    fg_.push_back(fr_[i] * fw[i]);
    fd_.push_back(fr_[i] * kSpeedOfLightAngstrom / fw[i]);
  }
  rpad_.reserve(n + 1);
  rpad_.push_back(rest_wave.front());
  rpad_.insert(rpad_.end(), rest_wave.begin(), rest_wave.end());
  double min_sp = rest_wave.back() - rest_wave.front();
  for (size_t j = 0; j < n; ++j) {
    if (j + 1 < n) {
      const double h = rest_wave[j + 1] - rest_wave[j];
      if (!(h > 0)) throw DataError("band '" + name_ + "': spectrum wavelengths not strictly ascending");
      inv_rs_.push_back(1.0 / h);
      min_sp = std::min(min_sp, h);
    }
    c_over_rest_.push_back(kSpeedOfLightAngstrom / rest_wave[j]);
  }
  // Bucket table over the rest wavelengths F_i / (1 + z) can take for z >= 0 (up to the
  // filter's red end). Buckets no wider than half the smallest spacing: the last node <= the
  // bucket start is at most one node off the one sought, fixed by two branch-free steps.
  r_lo_ = rest_wave.front();
  const double r_hi = std::max(r_lo_, std::min(rest_wave.back(), fw.back()));
  const double bucket = std::max(0.5 * min_sp, (r_hi - r_lo_) / double(1 << 20));
  table_exact_ = bucket == 0.5 * min_sp;
  r_inv_bucket_ = 1.0 / bucket;
  const auto nbk = static_cast<size_t>((r_hi - r_lo_) * r_inv_bucket_) + 2;
  r_bucket_.assign(nbk, 0);
  size_t k = 0;
  for (size_t b = 0; b < nbk; ++b) {
    const double start = r_lo_ + static_cast<double>(b) * bucket;
    while (k + 1 < n && rest_wave[k + 1] <= start) ++k;
    r_bucket_[b] = static_cast<int>(std::min(k, n - 2));
  }
}

void RedshiftedBand::weights(double z, BandWeights& bw) const {
  const double s = 1 + z, inv_s = 1.0 / s;
  const int nf = nf_, n = n_;
  const double* rp = rpad_.data() + 1;  // rest nodes, rp[-1] = rp[0]
  const double* fp = fpad_.data();      // F_i = fp[i + 1], fp[0] = F_0, fp[nf + 1] = F_{nf-1}
  const double lo = fp[1], hi = fp[nf];
  // Observed node j is rp[j] * s throughout (the same product everywhere it is compared).
  if (lo < rp[0] * s || hi > rp[n - 1] * s) {
    std::ostringstream os;
    os << "band '" << name_ << "' (" << lo << "-" << hi << " A) is not covered by the spectrum ("
       << rp[0] * s << "-" << rp[n - 1] * s << " A observed frame)";
    throw DataError(os.str());
  }
  // q[i]: first observed node >= F_i, in [0, n - 1] by the coverage check, nondecreasing in i.
  thread_local WeightScratch ws;
  const auto unf = static_cast<size_t>(nf);
  if (ws.q.size() < unf) {
    ws.q.resize(unf);
    ws.a.resize(unf);
    ws.b.resize(unf);
    ws.dt.resize(unf);
  }
  int* q = ws.q.data();
  locate_filter_nodes(fp + 1, nf, r_bucket_.data(), static_cast<int>(r_bucket_.size()), r_lo_, r_inv_bucket_, rp, s,
                      inv_s, q);
  if (!table_exact_ || !(z >= 0)) {  // a capped table or z < 0: walk the rest of the way
    for (int i = 0; i < nf; ++i) {
      const double f = fp[i + 1];
      int qi = q[i];
      while (qi > 0 && rp[qi - 1] * s >= f) --qi;
      while (qi < n - 1 && rp[qi] * s < f) ++qi;
      q[i] = qi;
    }
  }
  const int js = q[0];       // first observed node >= F_0
  const int je = q[nf - 1];  // first observed node >= F_{nf-1}
  const int m = je - js;     // observed nodes in [F_0, F_{nf-1})
  const int first = std::max(0, js - 1);
  const int last = std::min(n - 1, je + 1);  // a node exactly at hi may be written with weight 0
  filter_node_terms(q, nf, fp, fg_.data(), fd_.data(), rp, inv_rs_.data(), s, inv_s, ws.a.data(), ws.b.data(),
                    ws.dt.data());
  // Filter nodes sharing q form one run (q is nondecreasing): sum each run's shares in order
  // into run_a / run_b [q - js] (a register carry, no read-modify-write of memory) and count it.
  const auto um = static_cast<size_t>(m);
  if (ws.run_a.size() < um + 1) {
    ws.run_a.resize(um + 1);
    ws.run_b.resize(um + 1);
    ws.run_n.resize(um + 1);
    ws.seg.resize(um + 1);
    ws.dterm.resize(um + 1);
  }
  double* run_a = ws.run_a.data();
  double* run_b = ws.run_b.data();
  int* run_n = ws.run_n.data();
  std::fill_n(run_a, m + 1, 0.0);
  std::fill_n(run_b, m + 1, 0.0);
  std::fill_n(run_n, m + 1, 0);
  {
    const double* a = ws.a.data();
    const double* b = ws.b.data();
    int pq = -1, rn = 0;
    double ra = 0, rb = 0;
    for (int i = 0; i < nf; ++i) {
      const int k = q[i] - js;
      const bool same = k == pq;
      ra = (same ? ra : 0.0) + a[i];
      rb = (same ? rb : 0.0) + b[i];
      rn = (same ? rn : 0) + 1;
      run_a[k] = ra;
      run_b[k] = rb;
      run_n[k] = rn;
      pq = k;
    }
  }
  // seg[j - js]: the filter segment holding observed node j in [js, je), i.e. the number of
  // filter nodes with q <= j, less one.
  int* seg = ws.seg.data();
  for (int k = 0, acc = -1; k < m; ++k) seg[k] = (acc += run_n[k]);
  bw.first = first;
  bw.weights.resize(static_cast<size_t>(last - first + 1));  // every entry is written below
  double* w = bw.weights.data() - first;
  if (js > 0) w[js - 1] = run_a[0];  // (js = 0: run_a[0] is 0, all on node 0)
  if (last > je) w[last] = 0.0;
  observed_node_weights(seg, rp, c_over_rest_.data(), fp, fr_.data(), slope_.data(), run_a, run_b, s, js, je, w,
                        ws.dterm.data());
  w[je] = run_b[m];
  const double den = fixed_order_sum(ws.dt.data(), nf) + fixed_order_sum(ws.dterm.data(), m) * inv_s;
  bw.denominator = den;
}

TabulatedBand::TabulatedBand(const RedshiftedBand& band, double z_max, double spacing) {
  if (!(z_max > 0) || !(spacing > 0))
    throw DataError("band table: z_max and the spacing must be positive (z_max " + std::to_string(z_max) +
                    ", spacing " + std::to_string(spacing) + ")");
  const double u_max = std::log1p(z_max);
  const int intervals = std::max(1, static_cast<int>(std::ceil(u_max / spacing)));
  n_ = intervals + 1;
  const double du = u_max / intervals;
  inv_du_ = 1.0 / du;
  first_.resize(static_cast<size_t>(n_));
  size_.resize(static_cast<size_t>(n_));
  offset_.resize(static_cast<size_t>(n_));
  den_.resize(static_cast<size_t>(n_));
  BandWeights bw;
  for (int i = 0; i < n_; ++i) {
    const auto ui = static_cast<size_t>(i);
    const double z = i + 1 < n_ ? std::expm1(i * du) : z_max;  // the last node exactly at z_max
    band.weights(z, bw);
    first_[ui] = bw.first;
    size_[ui] = static_cast<int>(bw.weights.size());
    offset_[ui] = w_.size();
    den_[ui] = bw.denominator;
    w_.insert(w_.end(), bw.weights.begin(), bw.weights.end());
  }
}

void TabulatedBand::weights_at(double u, BandWeights& out) const {
  const double x = u * inv_du_;
  const int i = std::clamp(static_cast<int>(x), 0, n_ - 2);
  const double t = std::clamp(x - i, 0.0, 1.0), s = 1 - t;
  const auto a = static_cast<size_t>(i), b = a + 1;
  const int fa = first_[a], ea = fa + size_[a], fb = first_[b], eb = fb + size_[b];
  const int first = std::min(fa, fb), end = std::max(ea, eb);
  const int lo = std::max(fa, fb), hi = std::min(ea, eb);  // both nodes have weights in [lo, hi)
  out.first = first;
  out.weights.resize(static_cast<size_t>(end - first));  // every entry is written below
  double* w = out.weights.data() - first;
  const float* wa = w_.data() + offset_[a] - fa;
  const float* wb = w_.data() + offset_[b] - fb;
  // The ends, where one node or neither has weights (a node or two: the band moves with z).
  auto edge = [&](int j) {
    return (j >= fa && j < ea ? s * wa[j] : 0.0) + (j >= fb && j < eb ? t * wb[j] : 0.0);
  };
  for (int j = first; j < lo; ++j) w[j] = edge(j);
  for (int j = lo; j < hi; ++j) w[j] = s * wa[j] + t * wb[j];
  for (int j = std::max(hi, lo); j < end; ++j) w[j] = edge(j);
  out.denominator = s * den_[a] + t * den_[b];
}

}  // namespace sedpost::sps
