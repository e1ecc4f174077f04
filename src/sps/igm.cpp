#include "sps/igm.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace sedpost::sps {

namespace {

/// Rows of `path`: `n_values` numbers each (blank lines and '#' comments skipped).
std::vector<std::vector<double>> read_table(const std::string& path, std::size_t n_values) {
  std::ifstream in(path);
  if (!in) throw IoError("IGM coefficients: cannot open '" + path + "'");
  std::vector<std::vector<double>> rows;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream ss(line);
    std::vector<double> row;
    double v;
    while (ss >> v) row.push_back(v);
    if (row.empty() && line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (row.size() != n_values || !ss.eof())
      throw DataError("IGM coefficients '" + path + "' line " + std::to_string(number) + ": expected " +
                      std::to_string(n_values) + " numbers");
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw DataError("IGM coefficients '" + path + "': no rows");
  return rows;
}

}  // namespace

IgmInoue2014::IgmInoue2014(const std::string& dir) {
  const std::string laf_path = dir + "/LAFcoeff.txt", dla_path = dir + "/DLAcoeff.txt";
  const auto laf = read_table(laf_path, 5);
  const auto dla = read_table(dla_path, 4);
  if (laf.size() != dla.size())
    throw DataError("IGM coefficients: '" + laf_path + "' and '" + dla_path + "' list different numbers of lines");
  for (std::size_t i = 0; i < laf.size(); ++i) {
    const double j = laf[i][0], lam = laf[i][1];
    if (j != dla[i][0] || lam != dla[i][1] || !(lam > kLymanLimit) || (i > 0 && !(lam < lambda_.back())))
      throw DataError("IGM coefficients: line " + std::to_string(i + 1) + " of '" + laf_path + "' and '" + dla_path +
                      "' must be the same Lyman line, bluer than the one before and redder than the Lyman limit");
    for (double a : {laf[i][2], laf[i][3], laf[i][4], dla[i][2], dla[i][3]})
      if (!(a >= 0) || !std::isfinite(a))
        throw DataError("IGM coefficients: negative or non-finite coefficient for line j = " + std::to_string(int(j)));
    lambda_.push_back(lam);
    laf1_.push_back(laf[i][2]);
    laf2_.push_back(laf[i][3]);
    laf3_.push_back(laf[i][4]);
    dla1_.push_back(dla[i][2]);
    dla2_.push_back(dla[i][3]);
  }
}

double IgmInoue2014::tau_lyman_series_laf(double lo, double z) const {
  double t = 0;
  for (std::size_t i = 0; i < lambda_.size(); ++i) {
    const double lj = lambda_[i], r = lo / lj;
    if (!(lo > lj && lo < lj * (1 + z))) continue;  // absorbers between us and the source
    if (r < 2.2) t += laf1_[i] * std::pow(r, 1.2);
    else if (r < 5.7) t += laf2_[i] * std::pow(r, 3.7);
    else t += laf3_[i] * std::pow(r, 5.5);
  }
  return t;
}

double IgmInoue2014::tau_lyman_series_dla(double lo, double z) const {
  double t = 0;
  for (std::size_t i = 0; i < lambda_.size(); ++i) {
    const double lj = lambda_[i], r = lo / lj;
    if (!(lo > lj && lo < lj * (1 + z))) continue;
    t += r < 3.0 ? dla1_[i] * r * r : dla2_[i] * r * r * r;
  }
  return t;
}

double IgmInoue2014::tau_lyman_continuum_laf(double lo, double z) {
  const double x = lo / kLymanLimit, zp = 1 + z;
  if (!(x > 1 && x < zp)) return 0;
  if (z < 1.2) return 0.325 * (std::pow(x, 1.2) - std::pow(zp, -0.9) * std::pow(x, 2.1));
  if (z < 4.7) {
    if (x < 2.2) return 2.55e-2 * std::pow(zp, 1.6) * std::pow(x, 2.1) + 0.325 * std::pow(x, 1.2) - 0.250 * std::pow(x, 2.1);
    return 2.55e-2 * (std::pow(zp, 1.6) * std::pow(x, 2.1) - std::pow(x, 3.7));
  }
  if (x < 2.2)
    return 5.22e-4 * std::pow(zp, 3.4) * std::pow(x, 2.1) + 0.325 * std::pow(x, 1.2) - 3.14e-2 * std::pow(x, 2.1);
  if (x < 5.7)
    return 5.22e-4 * std::pow(zp, 3.4) * std::pow(x, 2.1) + 0.218 * std::pow(x, 2.1) - 2.55e-2 * std::pow(x, 3.7);
  return 5.22e-4 * (std::pow(zp, 3.4) * std::pow(x, 2.1) - std::pow(x, 5.5));
}

double IgmInoue2014::tau_lyman_continuum_dla(double lo, double z) {
  const double x = lo / kLymanLimit, zp = 1 + z;
  if (!(x > 1 && x < zp)) return 0;
  if (z < 2.0) return 0.211 * zp * zp - 7.66e-2 * std::pow(zp, 2.3) * std::pow(x, -0.3) - 0.135 * x * x;
  if (x < 3.0)
    return 0.634 + 4.70e-2 * std::pow(zp, 3) - 1.78e-2 * std::pow(zp, 3.3) * std::pow(x, -0.3) - 0.135 * x * x -
           0.291 * std::pow(x, -0.3);
  return 4.70e-2 * std::pow(zp, 3) - 1.78e-2 * std::pow(zp, 3.3) * std::pow(x, -0.3) - 2.92e-2 * x * x * x;
}

double IgmInoue2014::tau(double lo, double z) const {
  if (!(z > 0) || lo >= lambda_.front() * (1 + z)) return 0;
  // The fitting functions' rounding can give tiny negative values at the edges of their ranges.
  const double t = tau_lyman_series_laf(lo, z) + tau_lyman_series_dla(lo, z) + tau_lyman_continuum_laf(lo, z) +
                   tau_lyman_continuum_dla(lo, z);
  return t > 0 ? t : 0;
}

double IgmInoue2014::transmission(double lo, double z) const {
  if (lo < kLymanLimit) return 0;
  return std::exp(-tau(lo, z));
}

}  // namespace sedpost::sps
