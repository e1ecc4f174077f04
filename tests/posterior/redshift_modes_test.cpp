// Modes of a redshift posterior (src/posterior/redshift_modes.hpp): the z_multimodal flag.
#include <gtest/gtest.h>

#include <vector>

#include "core/rng.hpp"
#include "posterior/redshift_modes.hpp"

namespace sedpost::posterior {
namespace {

/// n draws: a share `a` from N(m1, s1), the rest from N(m2, s2).
std::vector<double> two_gaussians(std::size_t n, double a, double m1, double s1, double m2, double s2,
                                  std::uint64_t seed) {
  Rng rng(seed, RngStream::kTest, 0);
  std::vector<double> z(n);
  for (std::size_t i = 0; i < n; ++i) z[i] = rng.uniform() < a ? m1 + s1 * rng.normal() : m2 + s2 * rng.normal();
  return z;
}

TEST(PosteriorRedshiftModes, FindsBothModesOfABimodalPosterior) {
  const std::vector<double> z = two_gaussians(4000, 0.7, 0.3, 0.03, 0.8, 0.04, 1);
  const auto modes = redshift_modes(z.data(), nullptr, z.size(), 0.0, 1.5, 0.1);
  ASSERT_EQ(modes.size(), 2u);
  EXPECT_NEAR(modes[0].z, 0.3, 0.03);
  EXPECT_NEAR(modes[1].z, 0.8, 0.03);
  EXPECT_NEAR(modes[0].weight, 0.7, 0.03);  // 4000 draws: binomial sd 0.007
  EXPECT_NEAR(modes[1].weight, 0.3, 0.03);
  EXPECT_EQ(describe_modes(modes).substr(0, 6), "z = 0.");
}

TEST(PosteriorRedshiftModes, WeightsDecideTheShares) {
  // The same draws, the second mode's weighted down to 5 %: below min_weight, one mode.
  const std::vector<double> z = two_gaussians(4000, 0.5, 0.3, 0.03, 0.8, 0.04, 2);
  std::vector<double> w(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) w[i] = z[i] > 0.55 ? 0.05 : 0.95;
  EXPECT_EQ(redshift_modes(z.data(), w.data(), z.size(), 0.0, 1.5, 0.1).size(), 1u);
  EXPECT_EQ(redshift_modes(z.data(), nullptr, z.size(), 0.0, 1.5, 0.1).size(), 2u);
}

TEST(PosteriorRedshiftModes, UnimodalSkewedAndFlatPosteriorsHaveOneMode) {
  Rng rng(3, RngStream::kTest, 0);
  std::vector<double> skewed(3000), flat(3000);
  for (std::size_t i = 0; i < skewed.size(); ++i) {
    const double e = -std::log(rng.uniform());  // exponential: a long tail, one mode
    skewed[i] = 0.1 + 0.15 * e;
    flat[i] = rng.uniform(0.2, 0.9);
  }
  EXPECT_EQ(redshift_modes(skewed.data(), nullptr, skewed.size(), 0.0, 3.0, 0.1).size(), 1u);
  EXPECT_EQ(redshift_modes(flat.data(), nullptr, flat.size(), 0.0, 1.0, 0.1).size(), 1u);
  const std::vector<double> narrow = two_gaussians(1000, 1.0, 0.5, 0.01, 0, 1, 4);
  EXPECT_EQ(redshift_modes(narrow.data(), nullptr, narrow.size(), 0.0, 3.0, 0.1).size(), 1u);
  EXPECT_TRUE(redshift_modes(narrow.data(), nullptr, 0, 0.0, 3.0, 0.1).empty());
}

}  // namespace
}  // namespace sedpost::posterior
