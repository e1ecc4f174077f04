#include "validation/calibration.hpp"

#include <gtest/gtest.h>

#include "core/special_functions.hpp"

#include <cmath>
#include <numeric>

#include "conjugate.hpp"
#include "core/error.hpp"
#include "validation/stats.hpp"

namespace sedpost::validation {
namespace {

using testing::conjugate_gaussian;

// N = 1000 galaxies, S = 999 samples (L + 1 = 1000 rank values, 50 per bin of B = 20), K = 3.
constexpr std::size_t kN = 1000, kS = 999, kK = 3;
const std::vector<std::string> kNames = {"a", "b", "c"};

// KS critical values for N = 1000 at 1 % (the issue #10 TARP threshold) and at 0.1 % (the
// per-quantity p-p bound, the same false-alarm rate as the p-value > 0.001 bounds).
const double kKs1 = 1.63 / std::sqrt(static_cast<double>(kN));
const double kKs01 = 1.95 / std::sqrt(static_cast<double>(kN));

CalibrationReport run(double width, std::uint64_t seed = 11) {
  const auto d = conjugate_gaussian(kN, kS, kK, width, seed);
  return calibrate(d.samples.data(), d.truth.data(), kN, kS, kK, kNames);
}

TEST(ValidationStats, Chi2AndGammaTailsMatchTables) {
  EXPECT_NEAR(sedpost::gamma_q(1.0, 2.0), std::exp(-2.0), 1e-14);
  EXPECT_NEAR(sedpost::chi2_survival(3.841458820694124, 1), 0.05, 1e-9);
  EXPECT_NEAR(sedpost::chi2_survival(30.14352720564616, 19), 0.05, 1e-9);  // scipy.stats.chi2.isf(0.05, 19)
  EXPECT_NEAR(sedpost::chi2_survival(6.634896601021214, 1), 0.01, 1e-9);
  EXPECT_NEAR(sedpost::chi2_survival(200.0, 19), 0.0, 1e-20);
  EXPECT_DOUBLE_EQ(sedpost::chi2_survival(0.0, 19), 1.0);
}

TEST(ValidationStats, KsStatisticAndPValue) {
  // Evenly spread points (i + 0.5) / n have D = 0.5 / n.
  std::vector<double> u(100);
  for (int i = 0; i < 100; ++i) u[i] = (i + 0.5) / 100.0;
  EXPECT_NEAR(ks_statistic_uniform(u), 0.005, 1e-12);
  // All at 0.3: D = 0.7 (ties handled).
  EXPECT_NEAR(ks_statistic_uniform(std::vector<double>(10, 0.3)), 0.7, 1e-12);
  // Asymptotic critical values: 1.358 (5 %) and 1.628 (1 %) / sqrt(n) for large n.
  EXPECT_NEAR(ks_p_value(1.3581 / std::sqrt(1e6), 1000000), 0.05, 1e-3);
  EXPECT_NEAR(ks_p_value(1.6276 / std::sqrt(1e6), 1000000), 0.01, 3e-4);
  EXPECT_DOUBLE_EQ(ks_p_value(0.0, 100), 1.0);
  EXPECT_NEAR(median({3.0, 1.0, NAN, 2.0, 10.0}), 2.5, 1e-15);
}

TEST(ValidationCalibration, ExactPosteriorIsCalibrated) {
  const auto r = run(1.0);
  ASSERT_EQ(r.quantities.size(), kK);
  EXPECT_EQ(r.levels.size(), 101u);
  for (const auto& q : r.quantities) {
    SCOPED_TRACE(q.name);
    EXPECT_EQ(q.n_used, static_cast<std::int64_t>(kN));
    EXPECT_EQ(q.sbc.n_ranks, 999);
    EXPECT_EQ(q.sbc.n_bins, 20);
    EXPECT_EQ(std::accumulate(q.sbc.histogram.begin(), q.sbc.histogram.end(), std::int64_t{0}),
              static_cast<std::int64_t>(kN));
    // Under calibration the p-values are U(0, 1): each bound fails with probability 0.001.
    EXPECT_GT(q.sbc.chi2_p_value, 1e-3);
    EXPECT_GT(q.sbc.ks_p_value, 1e-3);
    // outer_z is ~N(0, 1) under calibration.
    EXPECT_LT(std::fabs(q.sbc.outer_z), 3.5);
    // KS D of the percentiles below the 0.1 % critical value.
    EXPECT_LT(q.pp_max_deviation, kKs01);
    // Binomial sd of a coverage fraction: sqrt(0.68 0.32 / 1000) = 0.015, sqrt(.95 .05 / 1000) = 0.007.
    EXPECT_NEAR(q.coverage_68, 0.6827, 4 * 0.015);
    EXPECT_NEAR(q.coverage_95, 0.9545, 4 * 0.007);
    EXPECT_NEAR(q.pp_ecdf.front(), 0.0, 0.01);
    EXPECT_DOUBLE_EQ(q.pp_ecdf.back(), 1.0);
    // The mean rank offset has sd 0.289 / sqrt(1000) = 0.009.
    EXPECT_LT(std::fabs(q.sbc.mean_rank_offset), 4 * 0.0092);
    // The median's error ~ N(0, posterior var): bias sd = post_sd / sqrt(N), rmse ~ post_sd.
    EXPECT_LT(std::fabs(q.median_bias), 4 * q.mean_posterior_std / std::sqrt(1000.0));
    EXPECT_NEAR(q.median_rmse / q.mean_posterior_std, 1.0, 0.1);
  }
  EXPECT_EQ(r.tarp.n_used, static_cast<std::int64_t>(kN));
  EXPECT_LT(r.tarp.max_deviation, kKs1);
  EXPECT_GT(r.tarp.ks_p_value, 1e-3);
  EXPECT_DOUBLE_EQ(r.tarp.ecp.front(), 0.0);
  EXPECT_DOUBLE_EQ(r.tarp.ecp.back(), 1.0);
}

TEST(ValidationCalibration, TooNarrowPosteriorIsOverconfident) {
  const auto r = run(0.5);
  for (const auto& q : r.quantities) {
    SCOPED_TRACE(q.name);
    EXPECT_LT(q.sbc.chi2_p_value, 1e-10);
    EXPECT_LT(q.sbc.ks_p_value, 1e-6);
    // U shape: u = Phi(2 Z), so the outer bins (u < 0.05 or > 0.95) hold P(|Z| > 0.82) = 0.41
    // instead of 0.1 (z ~ +33).
    EXPECT_GT(q.sbc.outer_fraction, 0.25);
    EXPECT_GT(q.sbc.outer_z, 10.0);
    // 68 % intervals cover P(|Z| < 0.5) = 0.38.
    EXPECT_LT(q.coverage_68, 0.5);
    EXPECT_GT(q.pp_max_deviation, 3 * kKs1);
  }
  EXPECT_GT(r.tarp.max_deviation, 3 * kKs1);
  EXPECT_LT(r.tarp.ks_p_value, 1e-6);
}

TEST(ValidationCalibration, TooWidePosteriorIsUnderconfident) {
  const auto r = run(2.0);
  for (const auto& q : r.quantities) {
    SCOPED_TRACE(q.name);
    EXPECT_LT(q.sbc.chi2_p_value, 1e-10);
    // Cap shape: the outer bins (u < 0.05 or > 0.95) need |Z| > 3.29, fraction 0.001 vs 0.1.
    EXPECT_LT(q.sbc.outer_fraction, 0.03);
    EXPECT_LT(q.sbc.outer_z, -5.0);
    // 68 % intervals cover P(|Z| < 2) = 0.954.
    EXPECT_GT(q.coverage_68, 0.9);
    EXPECT_GT(q.pp_max_deviation, 3 * kKs1);
  }
  EXPECT_GT(r.tarp.max_deviation, 3 * kKs1);
}

TEST(ValidationCalibration, NonFiniteTruthOrSamplesAreLeftOut) {
  auto d = conjugate_gaussian(100, 99, 2, 1.0, 3);
  d.truth[5 * 2 + 0] = NAN;               // galaxy 5, quantity 0
  d.samples[(7 * 99 + 3) * 2 + 1] = NAN;  // galaxy 7, quantity 1
  const auto r = calibrate(d.samples.data(), d.truth.data(), 100, 99, 2, {"a", "b"});
  EXPECT_EQ(r.quantities[0].n_used, 99);
  EXPECT_EQ(r.quantities[1].n_used, 99);
  EXPECT_EQ(r.tarp.n_used, 99);  // galaxy 5 out (NaN truth); galaxy 7 keeps its finite samples
  EXPECT_TRUE(std::isfinite(r.tarp.max_deviation));
}

TEST(ValidationCalibration, FewSamplesUseOneBinPerRank) {
  const auto d = conjugate_gaussian(50, 9, 1, 1.0, 4);
  CalibrationSettings st;
  st.sbc_bins = 20;
  const auto r = calibrate(d.samples.data(), d.truth.data(), 50, 9, 1, {"a"}, st);
  EXPECT_EQ(r.quantities[0].sbc.n_ranks, 9);
  EXPECT_EQ(r.quantities[0].sbc.n_bins, 10);
  // sbc_max_rank thins: L + 1 must be a multiple of B.
  st.sbc_bins = 4;
  st.sbc_max_rank = 6;
  const auto r2 = calibrate(d.samples.data(), d.truth.data(), 50, 9, 1, {"a"}, st);
  EXPECT_EQ(r2.quantities[0].sbc.n_ranks, 3);
  EXPECT_EQ(r2.quantities[0].sbc.n_bins, 4);
}

TEST(ValidationCalibration, StridedViewEqualsContiguous) {
  const auto d = conjugate_gaussian(200, 99, 3, 1.0, 5);
  // Use quantities 0 and 1 of the 3 through a view with row stride 3.
  SamplesView v{d.samples.data(), 200, 99, 2, 3};
  std::vector<double> truth2(200 * 2);
  std::vector<float> s2(200 * 99 * 2);
  for (std::size_t i = 0; i < 200; ++i)
    for (std::size_t q = 0; q < 2; ++q) {
      truth2[i * 2 + q] = d.truth[i * 3 + q];
      for (std::size_t s = 0; s < 99; ++s) s2[(i * 99 + s) * 2 + q] = d.samples[(i * 99 + s) * 3 + q];
    }
  const auto a = calibrate(v, truth2.data(), {"a", "b"});
  const auto b = calibrate(s2.data(), truth2.data(), 200, 99, 2, {"a", "b"});
  EXPECT_EQ(a.quantities[1].sbc.histogram, b.quantities[1].sbc.histogram);
  EXPECT_DOUBLE_EQ(a.tarp.max_deviation, b.tarp.max_deviation);
}

TEST(ValidationCalibration, AccumulatorInBlocksEqualsWholeArray) {
  const auto d = conjugate_gaussian(300, 99, 3, 0.8, 8);
  const auto whole = calibrate(d.samples.data(), d.truth.data(), 300, 99, 3, kNames);
  CalibrationAccumulator acc(d.truth.data(), 300, 99, 3, kNames);
  // Blocks of 100 rows, out of order.
  for (std::size_t first : {200u, 0u, 100u})
    acc.add(first, {d.samples.data() + first * 99 * 3, 100, 99, 3, 0});
  const auto blocks = acc.finish();
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(blocks.quantities[k].sbc.histogram, whole.quantities[k].sbc.histogram);
    EXPECT_EQ(blocks.quantities[k].pp_ecdf, whole.quantities[k].pp_ecdf);
    EXPECT_DOUBLE_EQ(blocks.quantities[k].sbc.ks_p_value, whole.quantities[k].sbc.ks_p_value);
    EXPECT_DOUBLE_EQ(blocks.quantities[k].median_rmse, whole.quantities[k].median_rmse);
  }
  EXPECT_EQ(blocks.tarp.ecp, whole.tarp.ecp);
  // A galaxy never added is left out.
  CalibrationAccumulator part(d.truth.data(), 300, 99, 3, kNames);
  part.add(0, {d.samples.data(), 250, 99, 3, 0});
  const auto r = part.finish();
  EXPECT_EQ(r.quantities[0].n_used, 250);
  EXPECT_EQ(r.tarp.n_used, 250);
  EXPECT_THROW(part.add(250, {d.samples.data(), 51, 99, 3, 0}), ConfigError);
  EXPECT_THROW(part.add(0, {d.samples.data(), 10, 98, 3, 0}), ConfigError);
}

TEST(ValidationCalibration, BadShapesThrow) {
  const auto d = conjugate_gaussian(10, 9, 2, 1.0, 6);
  EXPECT_THROW(calibrate(d.samples.data(), d.truth.data(), 10, 9, 2, {"a"}), ConfigError);
  CalibrationSettings st;
  st.tarp_quantities = {2};
  EXPECT_THROW(calibrate(d.samples.data(), d.truth.data(), 10, 9, 2, {"a", "b"}, st), ConfigError);
}

TEST(ValidationFlags, CountsPerBit) {
  const std::vector<std::uint32_t> f = {0, 1, 2, 3, 0, 4, 0, 0};
  const auto s = summarize_flags(f.data(), f.size(), {"noise", "colour", "chi2"});
  EXPECT_EQ(s.n_flagged, 4);
  EXPECT_DOUBLE_EQ(s.fraction_flagged, 0.5);
  EXPECT_EQ(s.counts, (std::vector<std::int64_t>{2, 2, 1}));
  EXPECT_DOUBLE_EQ(s.fractions[2], 0.125);
}

}  // namespace
}  // namespace sedpost::validation
