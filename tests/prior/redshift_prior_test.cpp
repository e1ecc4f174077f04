// prior::RedshiftPrior: the uniform default draws exactly as before (one uniform per z), the
// histogram's draws follow its bin weights, and its density integrates to 1.
#include "prior/redshift_prior.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace sedpost::prior {
namespace {

constexpr std::uint64_t kSeed = 20261206;

TEST(PriorRedshift, UniformDrawsAsOneUniformVariate) {
  const RedshiftPrior flat(0.01, 1.0);
  EXPECT_TRUE(flat.uniform());
  for (std::uint64_t i = 0; i < 100; ++i) {
    Rng a(kSeed, RngStream::kTest, i), b(kSeed, RngStream::kTest, i);
    EXPECT_EQ(flat.sample(a), b.uniform(0.01, 1.0));
  }
  EXPECT_EQ(flat.log_relative_density(0.5), 0.0);
  EXPECT_TRUE(std::isinf(flat.log_relative_density(1.01)));
  EXPECT_TRUE(std::isinf(flat.log_relative_density(0.0)));
}

TEST(PriorRedshift, HistogramDrawsFollowTheBinWeights) {
  const std::vector<double> weights = {2.0, 0.0, 5.0, 1.0, 2.0};  // sum 10; bin 1 empty
  const RedshiftPrior hist(0.0, 1.0, weights);
  const int n = 200000;
  std::vector<int> counts(weights.size(), 0);
  for (int i = 0; i < n; ++i) {
    Rng rng(kSeed, RngStream::kTest, static_cast<std::uint64_t>(i));
    const double z = hist.sample(rng);
    ASSERT_TRUE(z >= 0.0 && z <= 1.0);
    counts[static_cast<std::size_t>(z * 5)] += 1;
  }
  for (std::size_t k = 0; k < weights.size(); ++k) {
    const double p = weights[k] / 10.0;
    const double sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(counts[k], n * p, 5 * sd + 1e-9) << "bin " << k;  // 5 sigma; bin 1 exactly 0
  }
  // Density relative to uniform: w_k / sum w x n_bins; integrates to 1 over [0, 1].
  EXPECT_NEAR(hist.log_relative_density(0.5), std::log(0.5 * 5), 1e-14);
  EXPECT_TRUE(std::isinf(hist.log_relative_density(0.3)));
  EXPECT_NEAR(hist.log_relative_density(1.0), std::log(0.2 * 5), 1e-14);  // z_max: the last bin
  double integral = 0;
  const int m = 10000;
  for (int i = 0; i < m; ++i) integral += std::exp(hist.log_relative_density((i + 0.5) / m)) / m;
  EXPECT_NEAR(integral, 1.0, 1e-12);
}

TEST(PriorRedshift, BadRangeOrWeightsAreConfigErrors) {
  EXPECT_THROW(RedshiftPrior(0.5, 0.5), ConfigError);
  EXPECT_THROW(RedshiftPrior(-0.1, 0.5), ConfigError);
  EXPECT_THROW(RedshiftPrior(0.0, 1.0, {1.0, NAN}), ConfigError);
  EXPECT_THROW(RedshiftPrior(0.0, 1.0, {0.0, 0.0}), ConfigError);
}

}  // namespace
}  // namespace sedpost::prior
