// BC03 SSP photometry through sedpy sdss_?0 reproduces BC03's own .1ABmag tables.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "sps/filters.hpp"
#include "sps/ssp_library.hpp"
#include "sps_test_util.hpp"

namespace sedpost::sps {
namespace {

struct AbRow {
  double log_age, g, ug, gr, gi, gz;
};

std::vector<AbRow> read_abmag(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<AbRow> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    AbRow r;
    double mbol;
    if (ls >> r.log_age >> mbol >> r.g >> r.ug >> r.gr >> r.gi >> r.gz) rows.push_back(r);
  }
  return rows;
}

/// Max |model - table| over all ages and the 5 quantities (g, u-g, g-r, g-i, g-z) for one file.
double max_abmag_error(const std::string& tag, double z, int* n_compared) {
  const std::string base = test::bc03_dir() + "/bc2003_lr_BaSeL_" + tag + "_chab_ssp";
  std::vector<double> wave;
  const SspSlice s = read_bc03_ised(base + ".ised", z, &wave);
  const auto rows = read_abmag(base + ".1ABmag");
  EXPECT_GT(rows.size(), 200u);
  const char* bands[5] = {"sedpy:sdss_u0", "sedpy:sdss_g0", "sedpy:sdss_r0", "sedpy:sdss_i0", "sedpy:sdss_z0"};
  std::vector<BandWeights> bw;
  for (const char* b : bands)
    bw.push_back(band_weights(load_filter(test::data_dir(), b), wave.data(), static_cast<int>(wave.size())));
  // BC03 convention: 1 M_sun SSP at 10 pc, L_sun = 3.826e33 erg/s, rest frame.
  const double pc_cm = 3.0856775814913673e18;
  const double scale = 3.826e33 / (4 * M_PI * 100 * pc_cm * pc_cm);
  double worst = 0;
  *n_compared = 0;
  for (const auto& r : rows) {
    int ia = -1;
    for (size_t i = 1; i < s.ages.size(); ++i)
      if (std::abs(std::log10(s.ages[i]) - r.log_age) < 2e-4) ia = static_cast<int>(i);
    if (ia < 0) {
      ADD_FAILURE() << tag << ": no library age for log-age " << r.log_age;
      continue;
    }
    double mag[5];
    for (int b = 0; b < 5; ++b) {
      double num = 0;
      for (size_t j = 0; j < bw[b].weights.size(); ++j)
        num += bw[b].weights[j] * s.luminosity(ia, bw[b].first + static_cast<int>(j)) * scale;
      mag[b] = -2.5 * std::log10(num / bw[b].denominator / kAbZeroPoint);
    }
    const double d[5] = {mag[1] - r.g, (mag[0] - mag[1]) - r.ug, (mag[1] - mag[2]) - r.gr,
                         (mag[1] - mag[3]) - r.gi, (mag[1] - mag[4]) - r.gz};
    for (double x : d) worst = std::max(worst, std::abs(x));
    ++*n_compared;
  }
  return worst;
}

TEST(SpsSspPhotometry, ReproducesBc03AbmagAtSolarZ) {
  int n = 0;
  const double err = max_abmag_error("m62", 0.02, &n);
  EXPECT_EQ(n, 220);
  EXPECT_LE(err, 0.002) << "max |delta mag| over " << n << " ages at Z = 0.02";
  std::cout << "[ info ] solar Z: max |dmag| = " << err << " over " << n << " ages x 5 quantities\n";
}

TEST(SpsSspPhotometry, ReproducesBc03AbmagAtAllZ) {
  const std::pair<const char*, double> files[] = {{"m22", 1e-4}, {"m32", 4e-4}, {"m42", 4e-3}, {"m52", 8e-3},
                                                  {"m62", 0.02}, {"m72", 0.05}, {"m82", 0.1}};
  for (const auto& [tag, z] : files) {
    int n = 0;
    const double err = max_abmag_error(tag, z, &n);
    EXPECT_LE(err, 0.003) << tag;
    std::cout << "[ info ] " << tag << ": max |dmag| = " << err << " over " << n << " ages\n";
  }
}

TEST(SpsSspLibrary, Bc03LibraryShapes) {
  const auto lib = read_bc03_library(test::bc03_dir());
  ASSERT_EQ(lib.slices.size(), 7u);
  EXPECT_EQ(lib.wavelength.size(), 1238u);
  EXPECT_EQ(lib.slices[4].ages.size(), 221u);
  EXPECT_EQ(lib.slices[4].ages[0], 0.0);
  EXPECT_DOUBLE_EQ(lib.lsun_erg_s, 3.826e33);
  // surviving mass: 1 at age 0 (0.99915 for Z = 0.05, a data quirk), decreasing to ~0.5-0.6 at 13 Gyr
  EXPECT_NEAR(lib.slices[4].surviving[0], 1.0, 1e-3);
  EXPECT_NEAR(lib.slices[5].surviving[0], 0.99915, 2e-5);
  EXPECT_GT(lib.slices[4].surviving.back(), 0.4);
  EXPECT_LT(lib.slices[4].surviving.back(), 0.7);
}

TEST(SpsSspLibrary, MarastonLibraryReads) {
  const auto lib = read_maraston_library(test::data_dir() + "/sps/maraston2005");
  ASSERT_EQ(lib.slices.size(), 6u);
  EXPECT_EQ(lib.slices[0].ages.size(), 16u);
  EXPECT_EQ(lib.slices[3].ages.size(), 67u);
  EXPECT_GT(lib.slices[3].luminosity.maxCoeff(), 0.0);
  EXPECT_NEAR(lib.slices[3].surviving[0], 1.0, 1e-3);
}

TEST(SpsSspLibrary, MissingOrMalformedFileThrowsDataError) {
  EXPECT_THROW(read_bc03_ised("/nonexistent/x.ised", 0.02, nullptr), DataError);
  EXPECT_THROW(read_bc03_library("/nonexistent"), DataError);
  const std::string bad = ::testing::TempDir() + "/sps_bad.ised";
  {
    std::ofstream o(bad, std::ios::binary);
    o << "this is not a fortran file";
  }
  try {
    read_bc03_ised(bad, 0.02, nullptr);
    FAIL() << "no throw";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_ssp_library("fsps", test::bc03_dir()), ConfigError);
}

TEST(SpsFilters, ReadsUnitsFromEcsvHeaders) {
  const auto u = load_filter(test::data_dir(), "sdss2010-u");
  EXPECT_NEAR(u.min_wavelength(), 2939, 1);
  // a file in nm and one in micron end up in Angstrom
  const auto lsst = load_filter(test::data_dir(), "speclite:lsst2016-g");
  EXPECT_GT(lsst.min_wavelength(), 3000);
  EXPECT_LT(lsst.max_wavelength(), 6500);
  const auto sedpy_u = load_filter(test::data_dir(), "sedpy:sdss_u0");
  EXPECT_NEAR(sedpy_u.max_wavelength(), 4130, 1);
  EXPECT_THROW(load_filter(test::data_dir(), "no_such_band"), DataError);
  const std::string bad = ::testing::TempDir() + "/sps_nounit.ecsv";
  {
    std::ofstream o(bad);
    o << "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: wavelength, datatype: float64}\nwavelength response\n1 0\n2 1\n3 0\n";
  }
  EXPECT_THROW(read_speclite_ecsv(bad), DataError);
}

}  // namespace
}  // namespace sedpost::sps
