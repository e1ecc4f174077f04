#include "sps/filters.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "core/error.hpp"

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
  std::vector<double> inv_f(filter.wavelength.size() - 1), inv_s(static_cast<size_t>(std::max(n - 1, 0)));
  for (size_t i = 0; i + 1 < filter.wavelength.size(); ++i)
    inv_f[i] = 1.0 / (filter.wavelength[i + 1] - filter.wavelength[i]);
  for (int j = 0; j + 1 < n; ++j) inv_s[static_cast<size_t>(j)] = 1.0 / (wave_obs[j + 1] - wave_obs[j]);
  BandWeights bw;
  band_weights_into(filter, inv_f.data(), wave_obs, inv_s.data(), 1.0, n, bw);
  return bw;
}

void band_weights_into(const Filter& filter, const double* inv_filter_spacing, const double* wave_obs,
                       const double* inv_spacing, double inv_spacing_scale, int n, BandWeights& bw) {
  const auto& fw = filter.wavelength;
  const auto& fr = filter.response;
  const int nf = static_cast<int>(fw.size());
  const double lo = fw.front(), hi = fw.back();
  if (n < 2 || lo < wave_obs[0] || hi > wave_obs[n - 1]) {
    std::ostringstream os;
    os << "band '" << filter.name << "' (" << lo << "-" << hi
       << " A) is not covered by the spectrum (" << (n > 0 ? wave_obs[0] : 0.0) << "-"
       << (n > 0 ? wave_obs[n - 1] : 0.0) << " A observed frame)";
    throw DataError(os.str());
  }
  // Walk the union of filter nodes and spectrum nodes strictly inside (lo, hi) in order; the
  // trapezoid adds h/2 of each interval's end values to both ends.
  const int js = static_cast<int>(std::upper_bound(wave_obs, wave_obs + n, lo) - wave_obs);
  const int first = std::max(0, js - 1);
  int je = js;  // one past the last spectrum node strictly below hi
  while (je < n && wave_obs[je] < hi) ++je;
  const int last = std::min(n - 1, je + 1);  // a node exactly at hi may be written with weight 0
  bw.first = first;
  bw.weights.assign(static_cast<size_t>(last - first + 1), 0.0);
  bw.denominator = 0.0;
  double* w = bw.weights.data() - first;
  int i = 0, j = js, fi = 0, sj = first;
  double xp = 0, xpp = 0, gp = 0, dp = 0, tsp = 0;
  int sjp = -1;
  while (i < nf || j < je) {
    // Next union point; the list it comes from gives its own segment directly, the other
    // list's segment only ever advances by the merge order.
    double x, r, ts;
    if (j >= je || (i < nf && fw[static_cast<size_t>(i)] <= wave_obs[j])) {
      x = fw[static_cast<size_t>(i)];
      r = fr[static_cast<size_t>(i)];
      fi = std::min(i, nf - 2);
      if (j < je && wave_obs[j] == x) ++j;  // coincident nodes: one union point
      ++i;
      while (sj + 2 < n && wave_obs[sj + 1] <= x) ++sj;
      ts = (x - wave_obs[sj]) * inv_spacing[sj] * inv_spacing_scale;
      ts = ts < 0 ? 0 : (ts > 1 ? 1 : ts);
    } else {
      x = wave_obs[j];
      sj = std::min(j, n - 2);
      ts = x == wave_obs[sj] ? 0.0 : 1.0;
      ++j;
      while (fi + 2 < nf && fw[static_cast<size_t>(fi + 1)] <= x) ++fi;
      double tf = (x - fw[static_cast<size_t>(fi)]) * inv_filter_spacing[fi];
      tf = tf < 0 ? 0 : (tf > 1 ? 1 : tf);
      r = fr[static_cast<size_t>(fi)] + (fr[static_cast<size_t>(fi + 1)] - fr[static_cast<size_t>(fi)]) * tf;
    }
    const double g = r * x;
    const double dn = r * kSpeedOfLightAngstrom / x;
    // Trapezoid: the previous point's weight is (x_next - x_prevprev) / 2, known now.
    if (sjp >= 0) {
      const double c = 0.5 * (x - xpp);
      const double cg = c * gp;
      w[sjp] += cg * (1.0 - tsp);
      if (tsp != 0.0) w[sjp + 1] += cg * tsp;
      bw.denominator += c * dp;
      xpp = xp;
    } else {
      xpp = x;
    }
    xp = x;
    gp = g;
    dp = dn;
    tsp = ts;
    sjp = sj;
  }
  if (sjp >= 0) {  // the last point (the filter's last node)
    const double c = 0.5 * (xp - xpp);
    w[sjp] += c * gp * (1.0 - tsp);
    if (tsp != 0.0) w[sjp + 1] += c * gp * tsp;
    bw.denominator += c * dp;
  }
}

RedshiftedBand::RedshiftedBand(const Filter& filter, const std::vector<double>& rest_wave)
    : name_(filter.name), fw_(filter.wavelength), fr_(filter.response), rest_(rest_wave) {
  const int nf = static_cast<int>(fw_.size()), n = static_cast<int>(rest_.size());
  if (nf < 2 || n < 2) throw DataError("band '" + name_ + "': a filter and a spectrum need >= 2 nodes");
  for (int i = 0; i < nf; ++i) {
    const auto u = static_cast<size_t>(i);
    if (i + 1 < nf) inv_fs_.push_back(1.0 / (fw_[u + 1] - fw_[u]));
    fg_.push_back(fr_[u] * fw_[u]);
    fd_.push_back(fr_[u] * kSpeedOfLightAngstrom / fw_[u]);
  }
  for (int j = 0; j < n; ++j) {
    const auto u = static_cast<size_t>(j);
    if (j + 1 < n) inv_rs_.push_back(1.0 / (rest_[u + 1] - rest_[u]));
    c_over_rest_.push_back(kSpeedOfLightAngstrom / rest_[u]);
  }
  // Rest-grid buckets no wider than its smallest spacing: finding the first node inside the
  // filter is a table entry and a step or two instead of a binary search.
  double min_sp = rest_.back() - rest_.front();
  for (int j = 0; j + 1 < n; ++j) min_sp = std::min(min_sp, rest_[static_cast<size_t>(j + 1)] - rest_[static_cast<size_t>(j)]);
  const double span = rest_.back() - rest_.front();
  const double bucket = std::max(min_sp, span / double(1 << 20));
  r_lo_ = rest_.front();
  r_inv_bucket_ = 1.0 / bucket;
  const auto nbk = static_cast<size_t>(span * r_inv_bucket_) + 2;
  r_bucket_.assign(nbk, 0);
  size_t k = 0;
  for (size_t b = 0; b < nbk; ++b) {
    const double start = r_lo_ + static_cast<double>(b) * bucket;
    while (k + 1 < rest_.size() && rest_[k + 1] <= start) ++k;
    r_bucket_[b] = static_cast<int>(k);
  }
}

void RedshiftedBand::weights(double z, BandWeights& bw) const {
  const double s = 1 + z, inv_s = 1.0 / s;
  const int nf = static_cast<int>(fw_.size()), n = static_cast<int>(rest_.size());
  const double lo = fw_.front(), hi = fw_.back();
  const double* rw = rest_.data();
  // Observed node j is rw[j] * s, exactly as the caller of band_weights_into would form it.
  if (lo < rw[0] * s || hi > rw[n - 1] * s) {
    std::ostringstream os;
    os << "band '" << name_ << "' (" << lo << "-" << hi << " A) is not covered by the spectrum ("
       << rw[0] * s << "-" << rw[n - 1] * s << " A observed frame)";
    throw DataError(os.str());
  }
  // First rest node whose observed wavelength is > lo: bucket table on lo / s, then exact steps.
  int js;
  {
    const double y = (lo * inv_s - r_lo_) * r_inv_bucket_;
    const int nbk = static_cast<int>(r_bucket_.size()) - 1;
    int j = r_bucket_[static_cast<size_t>(y <= 0 ? 0 : std::min(static_cast<int>(y), nbk))];
    while (j > 0 && rw[j] * s > lo) --j;
    while (j + 1 < n && rw[j + 1] * s <= lo) ++j;
    js = j + 1;
  }
  const int first = std::max(0, js - 1);
  int je = js;  // one past the last spectrum node strictly below hi
  while (je < n && rw[je] * s < hi) ++je;
  const int last = std::min(n - 1, je + 1);  // a node exactly at hi may be written with weight 0
  bw.first = first;
  bw.weights.assign(static_cast<size_t>(last - first + 1), 0.0);
  double* w = bw.weights.data() - first;
  const double* fw = fw_.data();
  const double* fr = fr_.data();
  // The merge of band_weights_into (same points, same order, same arithmetic but for the
  // precomputed R x, R c / x of the filter nodes and c / lam of the spectrum nodes).
  int i = 0, j = js, fi = 0, sj = first;
  double xp = 0, xpp = 0, gp = 0, dp = 0, tsp = 0, den = 0;
  int sjp = -1;
  while (i < nf || j < je) {
    double x, g, dn, ts;
    const double xj = j < je ? rw[j] * s : 0.0;
    if (j >= je || (i < nf && fw[i] <= xj)) {
      x = fw[i];
      g = fg_[static_cast<size_t>(i)];
      dn = fd_[static_cast<size_t>(i)];
      fi = std::min(i, nf - 2);
      if (j < je && xj == x) ++j;  // coincident nodes: one union point
      ++i;
      while (sj + 2 < n && rw[sj + 1] * s <= x) ++sj;
      ts = (x - rw[sj] * s) * inv_rs_[static_cast<size_t>(sj)] * inv_s;
      ts = ts < 0 ? 0 : (ts > 1 ? 1 : ts);
    } else {
      x = xj;
      sj = std::min(j, n - 2);
      ts = j == sj ? 0.0 : 1.0;
      while (fi + 2 < nf && fw[fi + 1] <= x) ++fi;
      double tf = (x - fw[fi]) * inv_fs_[static_cast<size_t>(fi)];
      tf = tf < 0 ? 0 : (tf > 1 ? 1 : tf);
      const double r = fr[fi] + (fr[fi + 1] - fr[fi]) * tf;
      g = r * x;
      dn = r * c_over_rest_[static_cast<size_t>(j)] * inv_s;
      ++j;
    }
    if (sjp >= 0) {
      const double c = 0.5 * (x - xpp);
      const double cg = c * gp;
      w[sjp] += cg * (1.0 - tsp);
      if (tsp != 0.0) w[sjp + 1] += cg * tsp;
      den += c * dp;
      xpp = xp;
    } else {
      xpp = x;
    }
    xp = x;
    gp = g;
    dp = dn;
    tsp = ts;
    sjp = sj;
  }
  if (sjp >= 0) {  // the last point (the filter's last node)
    const double c = 0.5 * (xp - xpp);
    w[sjp] += c * gp * (1.0 - tsp);
    if (tsp != 0.0) w[sjp + 1] += c * gp * tsp;
    den += c * dp;
  }
  bw.denominator = den;
}

}  // namespace sedpost::sps
