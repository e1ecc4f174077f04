#include "sps/ssp_library.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "sps/piecewise_linear.hpp"

namespace sedpost::sps {

std::vector<double> SspLibrary::metallicities() const {
  std::vector<double> z;
  for (const auto& s : slices) z.push_back(s.metallicity);
  return z;
}

void SspLibrary::validate() const {
  if (wavelength.size() < 2) throw DataError("SSP library " + name + ": fewer than 2 wavelengths");
  if (!std::is_sorted(wavelength.begin(), wavelength.end()))
    throw DataError("SSP library " + name + ": wavelengths not ascending");
  if (slices.empty()) throw DataError("SSP library " + name + ": no metallicities");
  for (size_t i = 0; i < slices.size(); ++i) {
    const auto& s = slices[i];
    if (i > 0 && !(s.metallicity > slices[i - 1].metallicity))
      throw DataError("SSP library " + name + ": metallicities not ascending at " + s.source);
    if (s.ages.empty() || !std::is_sorted(s.ages.begin(), s.ages.end()))
      throw DataError("SSP library " + name + ": ages missing or not ascending in " + s.source);
    if (static_cast<size_t>(s.luminosity.rows()) != s.ages.size() ||
        static_cast<size_t>(s.luminosity.cols()) != wavelength.size() ||
        s.surviving.size() != s.ages.size())
      throw DataError("SSP library " + name + ": inconsistent shapes in " + s.source);
  }
}

namespace {

std::vector<char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open SSP file '" + path + "'");
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

/// Splits a Fortran unformatted sequential file into records (int32 length markers).
std::vector<std::pair<const char*, int32_t>> fortran_records(const std::vector<char>& buf,
                                                             const std::string& path) {
  std::vector<std::pair<const char*, int32_t>> recs;
  size_t pos = 0;
  while (pos < buf.size()) {
    int32_t n1 = 0, n2 = 0;
    if (pos + 4 > buf.size()) throw DataError("BC03 file '" + path + "': truncated record marker");
    std::memcpy(&n1, buf.data() + pos, 4);
    if (n1 < 0 || pos + 8 + static_cast<size_t>(n1) > buf.size())
      throw DataError("BC03 file '" + path + "': record " + std::to_string(recs.size()) +
                      " length " + std::to_string(n1) + " runs past the end of the file");
    std::memcpy(&n2, buf.data() + pos + 4 + n1, 4);
    if (n1 != n2)
      throw DataError("BC03 file '" + path + "': record " + std::to_string(recs.size()) +
                      " has mismatched length markers (not a Fortran unformatted .ised file?)");
    recs.emplace_back(buf.data() + pos + 4, n1);
    pos += 8 + static_cast<size_t>(n1);
  }
  return recs;
}

int32_t rd_i32(const char* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
float rd_f32(const char* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

/// Reads "int32 n; float32 x[n]" at the start of a record.
std::vector<double> counted_floats(const std::pair<const char*, int32_t>& rec, int expect,
                                   const std::string& path, const std::string& what) {
  if (rec.second < 4) throw DataError("BC03 file '" + path + "': empty record for " + what);
  const int32_t n = rd_i32(rec.first);
  if (n <= 0 || 4 + 4 * static_cast<int64_t>(n) > rec.second || (expect > 0 && n != expect))
    throw DataError("BC03 file '" + path + "': bad count " + std::to_string(n) + " for " + what);
  std::vector<double> v(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = rd_f32(rec.first + 4 + 4 * i);
  return v;
}

}  // namespace

SspSlice read_bc03_ised(const std::string& path, double metallicity, std::vector<double>* wavelength) {
  const auto buf = read_all(path);
  const auto recs = fortran_records(buf, path);
  if (recs.size() < 2) throw DataError("BC03 file '" + path + "': fewer than 2 records");
  SspSlice s;
  s.metallicity = metallicity;
  s.source = path;
  s.ages = counted_floats(recs[0], -1, path, "ages (record 0)");
  const size_t na = s.ages.size();
  auto w = counted_floats(recs[1], -1, path, "wavelengths (record 1)");
  const size_t nw = w.size();
  if (recs.size() < 2 + na + 14)
    throw DataError("BC03 file '" + path + "': " + std::to_string(recs.size()) + " records, expected " +
                    std::to_string(2 + na + 14) + " (" + std::to_string(na) + " ages + 16)");
  s.luminosity.resize(static_cast<Eigen::Index>(na), static_cast<Eigen::Index>(nw));
  for (size_t a = 0; a < na; ++a) {
    const auto spec = counted_floats(recs[2 + a], static_cast<int>(nw), path,
                                     "spectrum of age index " + std::to_string(a));
    for (size_t j = 0; j < nw; ++j) s.luminosity(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(j)) = spec[j];
  }
  const auto living = counted_floats(recs[2 + na + 1], static_cast<int>(na), path, "living mass [1]");
  const auto remnant = counted_floats(recs[2 + na + 9], static_cast<int>(na), path, "remnant mass [9]");
  s.surviving.resize(na);
  for (size_t a = 0; a < na; ++a) s.surviving[a] = living[a] + remnant[a];
  if (wavelength) *wavelength = std::move(w);
  return s;
}

SspLibrary read_bc03_library(const std::string& dir) {
  static const std::pair<const char*, double> kFiles[] = {
      {"m22", 1e-4}, {"m32", 4e-4}, {"m42", 4e-3}, {"m52", 8e-3},
      {"m62", 0.02}, {"m72", 0.05}, {"m82", 0.1}};
  SspLibrary lib;
  lib.name = "bc03 (" + dir + ")";
  lib.lsun_erg_s = 3.826e33;
  for (const auto& [tag, z] : kFiles) {
    std::vector<double> w;
    const std::string path = dir + "/bc2003_lr_BaSeL_" + tag + "_chab_ssp.ised";
    lib.slices.push_back(read_bc03_ised(path, z, &w));
    if (lib.wavelength.empty()) {
      lib.wavelength = std::move(w);
    } else if (w != lib.wavelength) {
      throw DataError("BC03 file '" + path + "': wavelength grid differs from the other metallicities");
    }
  }
  lib.validate();
  return lib;
}

SspLibrary read_maraston_library(const std::string& dir) {
  static const std::pair<const char*, double> kFiles[] = {
      {"10m4", 1e-4}, {"0001", 1e-3}, {"001", 0.01}, {"002", 0.02}, {"004", 0.04}, {"007", 0.07}};
  constexpr double kLsun = 3.826e33;
  SspLibrary lib;
  lib.name = "maraston2005 (" + dir + ")";
  lib.lsun_erg_s = kLsun;
  // stellarmass.kroupa: [Z/H], t [Gyr], M*_T (alive + remnants), ...
  std::map<long, std::vector<std::pair<double, double>>> mass_by_zh;
  {
    std::ifstream in(dir + "/stellarmass.kroupa");
    std::string line;
    while (in && std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      double zh, t, mt;
      if (ls >> zh >> t >> mt) mass_by_zh[std::lround(zh * 100)].emplace_back(t * 1e9, mt);
    }
  }
  for (const auto& [tag, z] : kFiles) {
    const std::string path = dir + "/sed.krz" + tag + ".rhb";
    std::ifstream in(path);
    if (!in) throw DataError("cannot open SSP file '" + path + "'");
    std::vector<double> ages, wave, lum;
    std::vector<double> first_wave;
    double zh = 0.0;
    std::string line;
    size_t lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::istringstream ls(line);
      double age, zhv, w, l;
      if (!(ls >> age >> zhv >> w >> l))
        throw DataError("Maraston file '" + path + "' line " + std::to_string(lineno) +
                        ": expected 4 numbers (age, [Z/H], wavelength, L_lambda)");
      zh = zhv;
      if (ages.empty() || age != ages.back()) {
        if (!ages.empty() && age < ages.back())
          throw DataError("Maraston file '" + path + "': ages not ascending at line " + std::to_string(lineno));
        if (ages.size() == 1) first_wave = wave;
        ages.push_back(age);
      }
      if (ages.size() == 1) wave.push_back(w);
      lum.push_back(l / kLsun);
    }
    if (ages.size() == 1) first_wave = wave;
    if (ages.empty() || lum.size() != ages.size() * first_wave.size())
      throw DataError("Maraston file '" + path + "': not every age has the same " +
                      std::to_string(first_wave.size()) + " wavelengths");
    SspSlice s;
    s.metallicity = z;
    s.source = path;
    for (double a : ages) s.ages.push_back(a * 1e9);
    s.luminosity = Eigen::Map<RowMatrix>(lum.data(), static_cast<Eigen::Index>(ages.size()),
                                         static_cast<Eigen::Index>(first_wave.size()));
    s.surviving.assign(ages.size(), std::nan(""));
    auto it = mass_by_zh.find(std::lround(zh * 100));
    if (it != mass_by_zh.end() && !it->second.empty()) {
      std::vector<double> mt_age, mt;
      for (const auto& [t, m] : it->second) {
        mt_age.push_back(t);
        mt.push_back(m);
      }
      for (size_t a = 0; a < ages.size(); ++a) {
        std::vector<NodeWeight> w;
        append_interp_weights(mt_age, s.ages[a], Extrapolation::kClamp, 1.0, w);
        s.surviving[a] = apply_weights(w, mt);
      }
    }
    if (lib.wavelength.empty()) {
      lib.wavelength = first_wave;
    } else if (first_wave != lib.wavelength) {
      throw DataError("Maraston file '" + path + "': wavelength grid differs from the other metallicities");
    }
    lib.slices.push_back(std::move(s));
  }
  lib.validate();
  return lib;
}

SspLibrary read_ssp_library(const std::string& kind, const std::string& dir) {
  if (kind == "bc03") return read_bc03_library(dir);
  if (kind == "maraston2005" || kind == "maraston") return read_maraston_library(dir);
  throw ConfigError("unknown SSP library kind '" + kind + "' (expected \"bc03\" or \"maraston2005\")");
}

}  // namespace sedpost::sps
