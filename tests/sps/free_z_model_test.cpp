// FreeZModel: the band weights interpolated in ln(1 + z) against the exact model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sps/free_z_model.hpp"
#include "sps/sed_model.hpp"
#include "sps_test_util.hpp"

namespace sedpost::sps {
namespace {

SedModel make_model(std::vector<std::string> bands, double z_max, const std::string& igm) {
  SedModelSettings s;
  s.data_dir = test::data_dir();
  s.bands = std::move(bands);
  s.z_max = z_max;
  s.igm = igm;
  return SedModel(s);
}

/// Largest |f_table / f_exact - 1| over prior draws at uniform z in (0, z_max], counting only
/// fluxes above 1e-6 of the galaxy's brightest band (fainter ones are far below any error).
double max_relative_error(const SedModel& exact, const FreeZModel& table, double z_max, int n) {
  std::mt19937_64 g(7);
  std::uniform_real_distribution<double> uz(1e-3, z_max);
  const int nb = exact.num_bands();
  std::vector<double> fe(static_cast<size_t>(nb)), ft(static_cast<size_t>(nb));
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    const auto theta = test::draw_theta(g);
    const double z = uz(g);
    exact.evaluate(theta.data(), z, fe.data());
    table.evaluate(theta.data(), z, ft.data());
    const double peak = *std::max_element(fe.begin(), fe.end());
    for (int b = 0; b < nb; ++b)
      if (fe[static_cast<size_t>(b)] > 1e-6 * peak)
        worst = std::max(worst, std::abs(ft[static_cast<size_t>(b)] / fe[static_cast<size_t>(b)] - 1));
  }
  return worst;
}

// The tolerance is the photometry's own check level (1e-3 mag ~ 1e-3 relative; the simulator's
// floor is 1 %): the measured error is printed so docs/photo-z.md can quote it.
void expect_table_matches_exact(const std::string& label, std::vector<std::string> bands, double z_max,
                                const std::string& igm) {
  const auto exact = make_model(std::move(bands), z_max, igm);
  const FreeZModel table(exact);
  const double err = max_relative_error(exact, table, z_max, 400);
  std::printf("max relative flux error (%s, z <= %g): %.3g; table %.1f MB\n", label.c_str(), z_max, err,
              static_cast<double>(table.memory_bytes()) / 1e6);
  EXPECT_LT(err, 1e-3) << label;
}

TEST(SpsFreeZModel, LsstBandsWithIgmMatchExactModel) {
  expect_table_matches_exact("LSST ugrizy, IGM",
                             {"speclite:lsst2023-u", "speclite:lsst2023-g", "speclite:lsst2023-r",
                              "speclite:lsst2023-i", "speclite:lsst2023-z", "speclite:lsst2023-y"},
                             3.0, "inoue2014");
}

TEST(SpsFreeZModel, SdssBandsMatchExactModel) {
  expect_table_matches_exact("SDSS ugriz",
                             {"sedpy:sdss_u0", "sedpy:sdss_g0", "sedpy:sdss_r0", "sedpy:sdss_i0", "sedpy:sdss_z0"},
                             1.0, "none");
}

TEST(SpsFreeZModel, ExactAtTableNodesAndDerivedUnchanged) {
  const auto exact = make_model({"sedpy:sdss_g0", "sedpy:sdss_r0"}, 1.0, "none");
  const double spacing = 0.01;
  const FreeZModel table(exact, spacing);
  std::mt19937_64 g(3);
  const auto theta = test::draw_theta(g);
  // Nodes at u = i * du with du = ln 2 / ceil(ln 2 / spacing): the table is exact there.
  const double du = std::log1p(1.0) / std::ceil(std::log1p(1.0) / spacing);
  for (int i : {1, 17, 40}) {
    const double z = std::expm1(i * du);
    const auto fe = exact.evaluate(theta.data(), z);
    std::vector<double> ft(2);
    table.evaluate(theta.data(), z, ft.data());
    for (int b = 0; b < 2; ++b) EXPECT_NEAR(ft[static_cast<size_t>(b)] / fe[static_cast<size_t>(b)], 1.0, 1e-6) << "z " << z;
  }
  for (double z : {0.05, 0.333, 0.91}) {
    const auto de = exact.derived(theta.data(), z), dt = table.derived(theta.data(), z);
    EXPECT_DOUBLE_EQ(dt.log_mstar_surviving, de.log_mstar_surviving);
    EXPECT_DOUBLE_EQ(dt.log_sfr_100myr, de.log_sfr_100myr);
    EXPECT_DOUBLE_EQ(dt.t50_gyr, de.t50_gyr);
    EXPECT_DOUBLE_EQ(dt.t10_gyr, de.t10_gyr);
    EXPECT_DOUBLE_EQ(dt.t90_gyr, de.t90_gyr);
    EXPECT_DOUBLE_EQ(dt.log_z_mw, de.log_z_mw);
  }
  std::vector<double> f(2);
  EXPECT_THROW(table.evaluate(theta.data(), 1.5, f.data()), DataError);
  EXPECT_THROW(table.evaluate(theta.data(), 0.0, f.data()), DataError);
}

}  // namespace
}  // namespace sedpost::sps
