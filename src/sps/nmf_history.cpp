#include "sps/nmf_history.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "sps/piecewise_linear.hpp"

namespace sedpost::sps {

std::vector<double> fixed_time_bin_edges_yr() {
  std::vector<double> e{0.0};
  for (int k = 0; k <= 40; ++k) e.push_back(std::pow(10.0, 6.05 + 0.1 * k));
  e.push_back(13.8e9);
  return e;
}

std::vector<double> time_bin_edges_yr(double t_age_yr) {
  static const std::vector<double> fixed = fixed_time_bin_edges_yr();
  std::vector<double> e;
  e.reserve(fixed.size() + 1);
  for (double x : fixed)
    if (x < t_age_yr) e.push_back(x);
  e.push_back(t_age_yr);
  return e;
}

namespace {
std::vector<std::vector<double>> read_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot open PROVABGS basis file '" + path + "'");
  std::vector<std::vector<double>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    std::istringstream ls(line);
    std::vector<double> r;
    double v;
    while (ls >> v) r.push_back(v);
    if (!ls.eof()) throw DataError("PROVABGS basis file '" + path + "': non-numeric entry");
    rows.push_back(std::move(r));
  }
  return rows;
}
}  // namespace

NmfHistory::NmfHistory(const std::string& dir) {
  const std::string ft = dir + "/sfh_t_int.txt";
  const std::string fs = dir + "/NMF_2basis_SFH_components_nowgt_lin_Nc4.txt";
  const std::string fz = dir + "/NMF_2basis_Z_components_nowgt_lin_Nc2.txt";
  const auto t = read_table(ft);
  for (const auto& r : t)
    if (r.size() != 1) throw DataError("PROVABGS file '" + ft + "': expected one time per line");
  const size_t n = t.size();
  if (n < 2) throw DataError("PROVABGS file '" + ft + "': fewer than 2 times");
  for (size_t i = 0; i < n; ++i) t_gyr_.push_back(t[n - 1 - i][0]);
  if (!std::is_sorted(t_gyr_.begin(), t_gyr_.end()))
    throw DataError("PROVABGS file '" + ft + "': times are not in decreasing order");
  const auto s = read_table(fs);
  const auto z = read_table(fz);
  if (s.size() != kNumSfhBases) throw DataError("PROVABGS file '" + fs + "': expected 4 rows");
  if (z.size() != kNumZhBases) throw DataError("PROVABGS file '" + fz + "': expected 2 rows");
  for (const auto& r : s)
    if (r.size() != n) throw DataError("PROVABGS file '" + fs + "': rows must have " + std::to_string(n) + " columns");
  for (const auto& r : z)
    if (r.size() != n) throw DataError("PROVABGS file '" + fz + "': rows must have " + std::to_string(n) + " columns");
  static const int kOrder[kNumSfhBases] = {2, 0, 1, 3};
  for (int k = 0; k < kNumSfhBases; ++k)
    sfh_[static_cast<size_t>(k)] = std::vector<double>(s[static_cast<size_t>(kOrder[k])].rbegin(),
                                                       s[static_cast<size_t>(kOrder[k])].rend());
  for (int k = 0; k < kNumZhBases; ++k)
    zh_[static_cast<size_t>(k)] = std::vector<double>(z[static_cast<size_t>(k)].rbegin(), z[static_cast<size_t>(k)].rend());
}

std::array<double, kNumSfhBases> NmfHistory::sfh_bin_average(double a_yr, double b_yr) const {
  const auto w = average_weights(t_gyr_, a_yr * 1e-9, b_yr * 1e-9, Extrapolation::kLinear);
  std::array<double, kNumSfhBases> out{};
  for (int k = 0; k < kNumSfhBases; ++k)
    out[static_cast<size_t>(k)] = std::max(0.0, apply_weights(w, sfh_[static_cast<size_t>(k)]));
  return out;
}

std::array<double, kNumZhBases> NmfHistory::zh_at(double t_yr) const {
  std::vector<NodeWeight> w;
  append_interp_weights(t_gyr_, t_yr * 1e-9, Extrapolation::kLinear, 1.0, w);
  return {apply_weights(w, zh_[0]), apply_weights(w, zh_[1])};
}

double NmfHistory::metallicity_at(double t_yr, double gamma1, double gamma2) const {
  const auto z = zh_at(t_yr);
  return std::clamp(gamma1 * z[0] + gamma2 * z[1], kZhMin, kZhMax);
}

}  // namespace sedpost::sps
