#include <gtest/gtest.h>

#include "sps/cosmology.hpp"

namespace sedpost::sps {
namespace {

// Table vs quadrature agree to ~1e-9 (the requirement vs astropy is 1e-4).
// astropy Planck13 (MODEL.md section 2).
TEST(SpsCosmology, AgeMatchesAstropyPlanck13) {
  const Cosmology c;
  const double z[] = {0, 0.01, 0.05, 0.1, 0.2, 0.5, 1};
  const double age[] = {13.79629, 13.65306, 13.1005, 12.45303, 11.28739, 8.60426, 5.86317};
  for (int i = 0; i < 7; ++i) {
    EXPECT_NEAR(c.age_gyr(z[i]) / age[i], 1.0, 1e-4) << "z = " << z[i];
    EXPECT_NEAR(c.age_gyr_exact(z[i]) / age[i], 1.0, 1e-4) << "z = " << z[i];
  }
}

TEST(SpsCosmology, LuminosityDistanceMatchesAstropyPlanck13) {
  const Cosmology c;
  const double z[] = {0.01, 0.05, 0.1, 0.2, 0.5, 1.0};
  const double dl[] = {44.5755, 229.5294, 475.14, 1011.0286, 2917.4321, 6790.317};
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(c.luminosity_distance_mpc(z[i]) / dl[i], 1.0, 1e-4) << "z = " << z[i];
    EXPECT_NEAR((1 + z[i]) * c.comoving_distance_mpc_exact(z[i]) / dl[i], 1.0, 1e-4) << "z = " << z[i];
  }
}

TEST(SpsCosmology, TableAgreesWithQuadrature) {
  const Cosmology c;
  for (double z = 0.0007; z < 3; z += 0.0731) {
    EXPECT_NEAR(c.age_gyr(z) / c.age_gyr_exact(z), 1.0, 1e-8) << z;
    EXPECT_NEAR(c.luminosity_distance_mpc(z) / ((1 + z) * c.comoving_distance_mpc_exact(z)), 1.0, 1e-8) << z;
  }
}

}  // namespace
}  // namespace sedpost::sps
