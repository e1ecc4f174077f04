#include "validation/c2st.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "validation/flow_mcmc.hpp"

namespace sedpost::validation {
namespace {

/// [n, dim] standard normal draws, the first coordinate shifted by `shift`.
std::vector<double> normals(std::size_t n, std::size_t dim, double shift, std::uint64_t seed) {
  std::vector<double> x(n * dim);
  Rng rng(seed, RngStream::kTest, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dim; ++j) x[i * dim + j] = rng.normal() + (j == 0 ? shift : 0.0);
  return x;
}

TEST(ValidationC2st, IdenticalDistributionsGiveHalf) {
  // 2 x 1000 points: the CV accuracy of a classifier with no signal has sd ~ 0.5 / sqrt(2000)
  // = 0.011 (a little more from the folds' correlation); 0.05 is > 4 sd.
  for (std::uint64_t seed : {1, 2, 3}) {
    const auto a = normals(1000, 3, 0.0, 10 + seed);
    const auto b = normals(1000, 3, 0.0, 20 + seed);
    C2stSettings st;
    st.seed = seed;
    const auto r = c2st(a.data(), 1000, b.data(), 1000, 3, st);
    EXPECT_EQ(r.n_per_class, 1000u);
    EXPECT_NEAR(r.accuracy, 0.5, 0.05) << "seed " << seed;
  }
}

TEST(ValidationC2st, ThreeSigmaShiftIsDetected) {
  // Bayes accuracy for a 3-sigma shift of one coordinate: Phi(1.5) = 0.933.
  const auto a = normals(1000, 3, 0.0, 31);
  const auto b = normals(1000, 3, 3.0, 32);
  const auto r = c2st(a.data(), 1000, b.data(), 1000, 3);
  EXPECT_GT(r.accuracy, 0.9);
  EXPECT_LT(r.accuracy, 0.933 + 0.04);
}

TEST(ValidationC2st, UnequalSizesAndNonFiniteRows) {
  auto a = normals(500, 2, 0.0, 41);
  const auto b = normals(3000, 2, 0.0, 42);
  a[7] = NAN;  // row 3 dropped
  C2stSettings st;
  st.max_samples = 2000;
  const auto r = c2st(a.data(), 500, b.data(), 3000, 2, st);
  EXPECT_EQ(r.n_per_class, 499u);
  EXPECT_NEAR(r.accuracy, 0.5, 0.08);  // sd ~ 0.5 / sqrt(998) = 0.016
  // Deterministic for a fixed seed.
  EXPECT_DOUBLE_EQ(c2st(a.data(), 500, b.data(), 3000, 2, st).accuracy, r.accuracy);
  // Too few points: NaN, no throw.
  EXPECT_TRUE(std::isnan(c2st(a.data(), 5, b.data(), 5, 2, st).accuracy));
  EXPECT_THROW(c2st(a.data(), 5, b.data(), 5, 0, st), ConfigError);
}

TEST(ValidationC2st, OneDimensionalPathEqualsGeneralPath) {
  // The 1-D fast path (sorted neighbours) against the general one (GEMM distances): a constant
  // second column adds nothing to the distances, so both must classify identically.
  const auto a = normals(700, 1, 0.0, 51);
  const auto b = normals(700, 1, 0.4, 52);
  std::vector<double> a2(1400), b2(1400);
  for (std::size_t i = 0; i < 700; ++i) {
    a2[2 * i] = a[i];
    b2[2 * i] = b[i];
    a2[2 * i + 1] = b2[2 * i + 1] = 1.0;
  }
  const auto r1 = c2st(a.data(), 700, b.data(), 700, 1);
  const auto r2 = c2st(a2.data(), 700, b2.data(), 700, 2);
  EXPECT_DOUBLE_EQ(r1.accuracy, r2.accuracy);
  EXPECT_GT(r1.accuracy, 0.55);  // Bayes accuracy Phi(0.2) = 0.579
}

/// [G, S, stride] float Gaussian samples, quantity k ~ N(mu_g + shift_k * sd_k, (scale sd_k)^2).
std::vector<float> gaussian_set(std::size_t g, std::size_t s, std::size_t stride, double shift, double scale,
                                std::uint64_t seed) {
  std::vector<float> x(g * s * stride);
  for (std::size_t i = 0; i < g; ++i) {
    Rng rng(seed, RngStream::kTest, i);
    for (std::size_t j = 0; j < s; ++j)
      for (std::size_t k = 0; k < stride; ++k) {
        const double sd = 0.1 + 0.2 * k, mu = 10.0 + i;
        x[(i * s + j) * stride + k] = static_cast<float>(mu + (shift + scale * rng.normal()) * sd);
      }
  }
  return x;
}

TEST(ValidationFlowMcmc, SameDistributionGivesSmallShifts) {
  constexpr std::size_t kG = 20, kSf = 2000, kSm = 2400, kK = 2;
  // Flow rows have 3 columns, of which the first 2 are compared (row stride 3).
  const auto flow = gaussian_set(kG, kSf, 3, 0.0, 1.0, 1);
  auto mcmc = gaussian_set(kG, kSm, kK, 0.0, 1.0, 2);
  // The last 400 MCMC rows of each galaxy are NaN (a chain that stopped early): dropped.
  for (std::size_t g = 0; g < kG; ++g)
    for (std::size_t j = 2000; j < kSm; ++j) mcmc[(g * kSm + j) * kK] = NAN;
  FlowMcmcSettings st;
  st.c2st.max_samples = 500;  // C2ST sd per galaxy 0.5 / sqrt(1000) = 0.016
  const auto c =
      compare_flow_mcmc({flow.data(), kG, kSf, kK, 3}, {mcmc.data(), kG, kSm, kK, 0}, {"a", "b"}, {}, st);
  ASSERT_EQ(c.per_quantity.size(), kK);
  EXPECT_EQ(c.ids.back(), 19);
  EXPECT_EQ(c.n_mcmc_used[0], 2000);
  for (const auto& q : c.per_quantity) {
    SCOPED_TRACE(q.name);
    EXPECT_EQ(q.n_galaxies, 20);
    // The difference of two medians of 2000 draws has sd sqrt(2 pi / 2 / 2000) = 0.04 sd; the
    // median of |.| over 20 galaxies is ~0.027.
    EXPECT_LT(q.median_abs_median_shift, 0.07);
    EXPECT_NEAR(q.median_std_ratio, 1.0, 0.05);
    EXPECT_NEAR(q.median_marginal_c2st, 0.5, 0.05);
  }
  EXPECT_NEAR(c.median_joint_c2st, 0.5, 0.05);
}

TEST(ValidationFlowMcmc, ShiftedAndWideFlowIsMeasured) {
  constexpr std::size_t kG = 5, kS = 2000, kK = 2;
  const auto flow = gaussian_set(kG, kS, kK, 0.5, 1.5, 3);
  const auto mcmc = gaussian_set(kG, kS, kK, 0.0, 1.0, 4);
  FlowMcmcSettings st;
  st.marginal_c2st = false;
  st.c2st.max_samples = 1000;
  const auto c = compare_flow_mcmc({flow.data(), kG, kS, kK, 0}, {mcmc.data(), kG, kS, kK, 0}, {"a", "b"},
                                   {7, 8, 9, 10, 11}, st);
  EXPECT_EQ(c.ids[0], 7);
  for (const auto& q : c.per_quantity) {
    EXPECT_NEAR(q.median_abs_median_shift, 0.5, 0.15);
    EXPECT_NEAR(q.median_std_ratio, 1.5, 0.1);
    EXPECT_TRUE(std::isnan(q.median_marginal_c2st));
  }
  // Joint C2ST of N(0.5, 1.5^2) vs N(0, 1) in two dims is clearly above chance.
  EXPECT_GT(c.median_joint_c2st, 0.6);
  EXPECT_THROW(compare_flow_mcmc({flow.data(), kG, kS, kK, 0}, {mcmc.data(), kG - 1, kS, kK, 0}, {"a", "b"}),
               ConfigError);
}

TEST(ValidationFlowMcmc, ThinningSelectsWholeStepsForTheC2stOnly) {
  // MCMC rows laid out [steps, walkers]: the steps kept by mcmc_thin_steps = 5 (step % 5 == 0)
  // hold N(0, 1) draws like the flow, the other steps N(10, 1). Unthinned the C2ST sees the
  // far rows (~0.9); thinned it sees only the kept steps (chance, ~0.5); medians and stds use
  // every row either way.
  constexpr std::size_t kSteps = 3000, kW = 3, kSm = kSteps * kW, kSf = 600;
  std::vector<float> mcmc(kSm), flow(kSf);
  Rng rng(9, RngStream::kTest, 0);
  for (std::size_t t = 0; t < kSteps; ++t)
    for (std::size_t w = 0; w < kW; ++w)
      mcmc[t * kW + w] = static_cast<float>(rng.normal() + (t % 5 ? 10.0 : 0.0));
  for (auto& x : flow) x = static_cast<float>(rng.normal());
  FlowMcmcSettings st;
  st.marginal_c2st = false;
  const auto raw = compare_flow_mcmc({flow.data(), 1, kSf, 1, 0}, {mcmc.data(), 1, kSm, 1, 0}, {"a"}, {}, st);
  st.mcmc_walkers = kW;
  st.mcmc_thin_steps = 5;  // 600 steps x 3 walkers = 1800 rows kept
  const auto thin =
      compare_flow_mcmc({flow.data(), 1, kSf, 1, 0}, {mcmc.data(), 1, kSm, 1, 0}, {"a"}, {}, st);
  EXPECT_DOUBLE_EQ(raw.median_shift[0], thin.median_shift[0]);
  EXPECT_EQ(thin.n_mcmc_used[0], static_cast<std::int64_t>(kSm));
  // Unthinned: 80 % of the MCMC rows are 10 sd away, optimal accuracy 0.9.
  EXPECT_GT(raw.joint_c2st[0], 0.85);
  // Thinned: same distribution, 2 x 600 points, sd 0.015.
  EXPECT_NEAR(thin.joint_c2st[0], 0.5, 0.06);
}

}  // namespace
}  // namespace sedpost::validation
