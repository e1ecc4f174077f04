#include "core/rng.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace sedpost {
namespace {

TEST(CoreRng, SameKeyGivesSameSequence) {
  Rng a(42, RngStream::kPrior, 7), b(42, RngStream::kPrior, 7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u32(), b.next_u32());
}

TEST(CoreRng, DifferentIndexStreamOrSeedDiffer) {
  Rng base(42, RngStream::kPrior, 7);
  Rng other_index(42, RngStream::kPrior, 8);
  Rng other_stream(42, RngStream::kNoise, 7);
  Rng other_seed(43, RngStream::kPrior, 7);
  Rng high_seed(42 + (std::uint64_t{1} << 32), RngStream::kPrior, 7);
  Rng high_index(42, RngStream::kPrior, 7 + (std::uint64_t{1} << 32));
  const std::uint32_t v = base.next_u32();
  EXPECT_NE(v, other_index.next_u32());
  EXPECT_NE(v, other_stream.next_u32());
  EXPECT_NE(v, other_seed.next_u32());
  EXPECT_NE(v, high_seed.next_u32());
  EXPECT_NE(v, high_index.next_u32());
}

TEST(CoreRng, UniformMomentsWithinMonteCarloError) {
  const int n = 200000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    Rng rng(1, RngStream::kTest, static_cast<std::uint64_t>(i));
    const double u = rng.uniform();
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  // Standard errors: sqrt(1/12/n) = 6.5e-4 for the mean; var of u^2 terms ~ 1/180/n for var.
  EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(var, 1.0 / 12, 5 * std::sqrt(1.0 / 180 / n));
}

TEST(CoreRng, NormalMomentsWithinMonteCarloError) {
  const int n = 200000;
  Rng rng(3, RngStream::kTest, 0);
  double s1 = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    s1 += x;
    s2 += x * x;
    s4 += x * x * x * x;
  }
  EXPECT_NEAR(s1 / n, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s4 / n, 3.0, 5 * std::sqrt(96.0 / n));
}

TEST(CoreRng, BelowIsInRangeAndCoversIt) {
  Rng rng(5, RngStream::kTest, 0);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const auto k = rng.below(7);
    ASSERT_LT(k, 7u);
    ++counts[k];
  }
  // Each count ~ Binomial(70000, 1/7): sd ~ 92.6.
  for (int c : counts) EXPECT_NEAR(c, 10000, 5 * 92.6);
}

}  // namespace
}  // namespace sedpost
