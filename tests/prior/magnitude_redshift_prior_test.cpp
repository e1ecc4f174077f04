// prior::MagnitudeRedshiftPrior: magnitudes fall in the bins the edges define (+inf, which infer
// gives a flux <= 0, in the faintest; NaN in none), each bin's z prior is its own row of weights, and bad settings are
// config errors naming the entry.
#include "prior/magnitude_redshift_prior.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace sedpost::prior {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// The error text of constructing a prior from (edges, weights), "" when it is valid.
std::string error_of(const std::vector<double>& edges, const std::vector<double>& weights) {
  try {
    MagnitudeRedshiftPrior(0.0, 1.0, edges, weights, "test");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(PriorMagnitudeRedshift, MagnitudesFallInTheirBins) {
  // 3 magnitude bins (edges 19, 21) x 2 z bins on [0, 1].
  const MagnitudeRedshiftPrior p(0.0, 1.0, {19.0, 21.0}, {1, 0, 1, 1, 0, 1}, "test");
  EXPECT_EQ(p.n_magnitude_bins(), 3);
  EXPECT_EQ(p.n_z_bins(), 2);
  EXPECT_EQ(p.bin_of(-kInf), 0);
  EXPECT_EQ(p.bin_of(18.99), 0);
  EXPECT_EQ(p.bin_of(19.0), 1);  // a bin holds its lower edge
  EXPECT_EQ(p.bin_of(20.99), 1);
  EXPECT_EQ(p.bin_of(21.0), 2);
  EXPECT_EQ(p.bin_of(kInf), 2);  // a flux <= 0
  EXPECT_EQ(p.bin_of(std::nan("")), -1);
  // Row k is bin k's histogram: bright galaxies only at z < 0.5, faint only above, the middle
  // uniform (log density relative to uniform: log(w_k n) = log 2 in an allowed half, 0 for flat).
  EXPECT_NEAR(p.prior(0).log_relative_density(0.25), std::log(2.0), 1e-12);
  EXPECT_TRUE(std::isinf(p.prior(0).log_relative_density(0.75)));
  EXPECT_NEAR(p.prior(1).log_relative_density(0.75), 0.0, 1e-12);
  EXPECT_TRUE(std::isinf(p.prior(2).log_relative_density(0.25)));
  EXPECT_NEAR(p.prior(2).log_relative_density(0.75), std::log(2.0), 1e-12);
}

TEST(PriorMagnitudeRedshift, OneBinWithoutEdges) {
  const MagnitudeRedshiftPrior p(0.0, 1.0, {}, {1, 3}, "test");
  EXPECT_EQ(p.n_magnitude_bins(), 1);
  EXPECT_EQ(p.bin_of(30.0), 0);
  EXPECT_NEAR(p.prior(0).log_relative_density(0.9), std::log(1.5), 1e-12);
  EXPECT_NE(p.describe().find("1 magnitude bins (edges none) x 2 z bins on [0, 1]"), std::string::npos) << p.describe();
}

TEST(PriorMagnitudeRedshift, BadSettingsAreConfigErrors) {
  EXPECT_EQ(error_of({20.0}, {1, 1, 1, 1}), "");
  EXPECT_NE(error_of({20.0}, {1, 1, 1}).find("3 entries; expected 2 magnitude bins"), std::string::npos);
  EXPECT_NE(error_of({20.0}, {}).find("0 entries"), std::string::npos);
  EXPECT_NE(error_of({21.0, 20.0}, {1, 1, 1}).find("must ascend strictly, but [0] = 21 and [1] = 20"),
            std::string::npos);
  EXPECT_NE(error_of({std::nan("")}, {1, 1}).find("z_prior_mag_edges[0] = nan is not finite"), std::string::npos);
  EXPECT_NE(error_of({20.0}, {1, 1, 0, 0}).find("magnitude bin 1 are all 0"), std::string::npos);
  EXPECT_NE(error_of({20.0}, {1, 1, -1, 2}).find("z_prior_mag_weights[2] (magnitude bin 1, z bin 0) = -1"),
            std::string::npos);
}

}  // namespace
}  // namespace sedpost::prior
