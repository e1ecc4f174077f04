// Mean IGM attenuation (sps/igm.hpp, Inoue et al. 2014) and its use by the SED model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "sps/igm.hpp"
#include "sps/sed_model.hpp"
#include "sps_test_util.hpp"

namespace sedpost::sps {
namespace {

const IgmInoue2014& igm() {
  static const IgmInoue2014 m(test::data_dir() + "/igm");
  return m;
}

TEST(SpsIgm, ReadsTheThirtyNineLymanLines) {
  ASSERT_EQ(igm().lines().size(), 39u);  // j = 2..40
  EXPECT_DOUBLE_EQ(igm().lines().front(), 1215.67);
  EXPECT_GT(igm().lines().back(), IgmInoue2014::kLymanLimit);
}

TEST(SpsIgm, TransparentRedwardOfLymanAlphaAndOpaqueBelowTheLymanLimit) {
  for (double z : {0.1, 1.0, 3.0, 6.0}) {
    EXPECT_EQ(igm().tau(1215.67 * (1 + z) * 1.0001, z), 0.0);
    EXPECT_EQ(igm().transmission(1215.67 * (1 + z) * 1.0001, z), 1.0);
    EXPECT_EQ(igm().transmission(900.0, z), 0.0);
    for (double lo = 912; lo < 1215.67 * (1 + z); lo *= 1.01) {
      const double t = igm().transmission(lo, z);
      ASSERT_TRUE(t >= 0 && t <= 1) << "z " << z << " lambda " << lo;
    }
  }
  // Bluer is never more transparent, on the whole: the mean transmission below Lyman beta is
  // lower than between Lyman beta and Lyman alpha.
  const double z = 3;
  auto mean_t = [&](double a, double b) {
    double s = 0;
    const int n = 400;
    for (int i = 0; i < n; ++i) s += igm().transmission((a + (b - a) * (i + 0.5) / n) * (1 + z), z);
    return s / n;
  };
  EXPECT_LT(mean_t(920, 1020), mean_t(1030, 1210));
}

TEST(SpsIgm, LymanAlphaOpticalDepthMatchesObservations) {
  // Effective Lya optical depth of absorbers at z_abs (only Lya absorbs between the source's
  // Lyb and Lya): the fit of Becker et al. 2013 (MNRAS 430, 2067) to SDSS quasar spectra,
  // tau = 0.751 ((1 + z) / 4.5)^2.90 - 0.132, independent of Inoue et al.'s: 0.40 at z = 3,
  // 0.89 at z = 4. The two agree to a few per cent.
  for (double z_abs : {3.0, 4.0}) {
    const double lo = 1215.67 * (1 + z_abs);
    const double z_source = z_abs + 0.05;
    const double becker = 0.751 * std::pow((1 + z_abs) / 4.5, 2.90) - 0.132;
    EXPECT_NEAR(igm().tau(lo, z_source), becker, 0.1 * becker) << "z_abs " << z_abs;
  }
}

TEST(SpsIgm, PiecewiseFitsAreContinuous) {
  // Each line's LAF term switches power law at 2.2 and 5.7 lambda_j, its DLA term at 3.0
  // lambda_j; Inoue et al. chose the coefficients to join there.
  const double z = 9.0;  // every line absorbs up to 10 lambda_j
  for (double lj : igm().lines()) {
    for (double r : {2.2, 5.7}) {
      const double below = igm().tau_lyman_series_laf(lj * r * (1 - 1e-9), z);
      const double above = igm().tau_lyman_series_laf(lj * r * (1 + 1e-9), z);
      EXPECT_NEAR(below, above, 0.01 * above + 1e-6) << "LAF, line " << lj << " at " << r;
    }
    const double below = igm().tau_lyman_series_dla(lj * 3.0 * (1 - 1e-9), z);
    const double above = igm().tau_lyman_series_dla(lj * 3.0 * (1 + 1e-9), z);
    EXPECT_NEAR(below, above, 0.01 * above + 1e-6) << "DLA, line " << lj;
  }
  // The continuum terms switch at 2.2 and 5.7 lambda_L (LAF) and 3.0 lambda_L (DLA); the
  // published (rounded) coefficients join to within 1 per cent of the optical depth.
  const double ll = IgmInoue2014::kLymanLimit;
  auto relative_jump = [&](double (*f)(double, double), double x, double zs) {
    const double a = f(ll * x * (1 - 1e-9), zs), b = f(ll * x * (1 + 1e-9), zs);
    return std::abs(a - b) / std::max(std::abs(b), 1.0);
  };
  for (double zs : {2.0, 3.5}) EXPECT_LT(relative_jump(IgmInoue2014::tau_lyman_continuum_laf, 2.2, zs), 1e-2);
  for (double x : {2.2, 5.7}) EXPECT_LT(relative_jump(IgmInoue2014::tau_lyman_continuum_laf, x, 6.0), 1e-2);
  EXPECT_LT(relative_jump(IgmInoue2014::tau_lyman_continuum_dla, 3.0, 4.0), 1e-2);
}

TEST(SpsIgm, ContinuumAbsorptionVanishesAtTheSourcesLymanLimit) {
  // No absorber lies beyond the source: both continuum terms fall to ~0 at lambda_L (1 + z).
  for (double z : {0.5, 1.5, 3.0, 5.0}) {
    const double lo = IgmInoue2014::kLymanLimit * (1 + z) * (1 - 1e-9);
    EXPECT_NEAR(IgmInoue2014::tau_lyman_continuum_laf(lo, z), 0.0, 1e-2) << z;
    EXPECT_NEAR(IgmInoue2014::tau_lyman_continuum_dla(lo, z), 0.0, 1e-2) << z;
  }
}

TEST(SpsIgm, MalformedCoefficientsNameFileAndLine) {
  const auto dir = std::filesystem::temp_directory_path() / "sedpost_igm_test";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(test::data_dir() + "/igm/DLAcoeff.txt", dir / "DLAcoeff.txt",
                             std::filesystem::copy_options::overwrite_existing);
  {
    std::ifstream in(test::data_dir() + "/igm/LAFcoeff.txt");
    std::ofstream out(dir / "LAFcoeff.txt");
    std::string line;
    for (int i = 1; std::getline(in, line); ++i) out << (i == 4 ? "    5  949.743 1.31901E-03 oops" : line) << "\n";
  }
  try {
    IgmInoue2014 bad(dir.string());
    FAIL() << "no exception";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("LAFcoeff.txt' line 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(IgmInoue2014((dir / "missing").string()), IoError);
  std::filesystem::remove_all(dir);
}

TEST(SpsIgm, TheSedModelAttenuatesOnlyBandsBlueOfLymanAlpha) {
  SedModelSettings s;
  s.data_dir = test::data_dir();
  s.bands = {"sedpy:galex_FUV", "sdss2010-u", "sdss2010-r"};
  s.z_max = 0.5;
  const SedModel plain(s);
  s.igm = "inoue2014";
  const SedModel with_igm(s);
  const std::array<double, kNumTheta> theta{10.5, 0.3, 0.2, 0.4, 0.1, 0.2, 2.0, 1e-3, 5e-3, 0.5, 0.4, -0.3};
  // z = 0.4: Lya at 1,702 A, inside GALEX FUV (1,340-1,810 A); u and r far redder.
  const auto a = plain.evaluate(theta.data(), 0.4), b = with_igm.evaluate(theta.data(), 0.4);
  EXPECT_LT(b[0], a[0] * 0.999);
  EXPECT_GT(b[0], a[0] * 0.8);
  EXPECT_EQ(b[1], a[1]);
  EXPECT_EQ(b[2], a[2]);
  // The spectrum carries the same transmission.
  const Spectrum sa = plain.spectrum(theta.data(), 0.4), sb = with_igm.spectrum(theta.data(), 0.4);
  for (std::size_t j = 0; j < sa.wavelength.size(); ++j)
    ASSERT_DOUBLE_EQ(sb.flambda[j], sa.flambda[j] * igm().transmission(sa.wavelength[j], 0.4));
  s.igm = "madau";
  EXPECT_THROW(SedModel{s}, ConfigError);
}

}  // namespace
}  // namespace sedpost::sps
