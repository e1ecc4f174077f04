// Importance-sampling arithmetic and the Student-t proposal (src/posterior/importance.hpp,
// student_t.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "catalog/quantities.hpp"
#include "core/rng.hpp"
#include "posterior/importance.hpp"
#include "posterior/student_t.hpp"

namespace sedpost::posterior {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(PosteriorImportance, NormalisedWeightsSumToOneAndSkipMinusInf) {
  std::vector<double> w;
  const double lse = normalise_log_weights({0.0, std::log(3.0), -kInf, std::nan("")}, w);
  EXPECT_NEAR(lse, std::log(4.0), 1e-12);
  EXPECT_NEAR(w[0], 0.25, 1e-12);
  EXPECT_NEAR(w[1], 0.75, 1e-12);
  EXPECT_EQ(w[2], 0.0);
  EXPECT_EQ(w[3], 0.0);
  EXPECT_EQ(normalise_log_weights({-kInf, -kInf}, w), -kInf);
  EXPECT_EQ(effective_sample_size(w), 0.0);
}

TEST(PosteriorImportance, EffectiveSampleSizeOfEqualAndOneHotWeights) {
  EXPECT_NEAR(effective_sample_size(std::vector<double>(200, 1.0 / 200)), 200.0, 1e-9);
  EXPECT_NEAR(effective_sample_size({1.0, 0.0, 0.0}), 1.0, 1e-12);
}

TEST(PosteriorImportance, TemperingReachesTheTargetEss) {
  Rng rng(1, RngStream::kTest, 0);
  std::vector<double> lw(1000);
  for (double& v : lw) v = 20.0 * rng.normal();  // very uneven weights
  std::vector<double> w;
  normalise_log_weights(lw, w);
  ASSERT_LT(effective_sample_size(w), 50.0);
  const double beta = tempering_exponent(lw, 50.0);
  ASSERT_GT(beta, 0.0);
  ASSERT_LT(beta, 1.0);
  std::vector<double> tempered(lw);
  for (double& v : tempered) v *= beta;
  normalise_log_weights(tempered, w);
  EXPECT_GE(effective_sample_size(w), 50.0 - 1e-6);
  EXPECT_LT(effective_sample_size(w), 60.0);  // the largest such beta, not a tiny one
  EXPECT_EQ(tempering_exponent(std::vector<double>(10, 0.0), 5.0), 1.0);
}

TEST(PosteriorImportance, EqualWeightSummaryMatchesTheUnweightedOne) {
  Rng rng(2, RngStream::kTest, 0);
  std::vector<double> v(4000);
  for (double& x : v) x = rng.normal();
  const std::vector<double> w(v.size(), 1.0 / static_cast<double>(v.size()));
  float a[7], b[7];
  weighted_summary(v.data(), w.data(), v.size(), a);
  std::vector<double> copy(v);
  catalog::summarize(copy, b);
  EXPECT_NEAR(a[0], b[0], 1e-6);
  EXPECT_NEAR(a[1], b[1], 1e-6);  // reliability weights: n / (n - 1) as the unweighted std
  for (int k = 2; k < 7; ++k) EXPECT_NEAR(a[k], b[k], 0.01) << "percentile column " << k;
}

TEST(PosteriorImportance, WeightedSummaryRecoversATargetFromAWiderProposal) {
  // Proposal N(0, 2^2), target N(1, 1): weights N(x; 1, 1) / N(x; 0, 4).
  Rng rng(3, RngStream::kTest, 0);
  const std::size_t n = 200000;
  std::vector<double> x(n), lw(n), w;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = 2.0 * rng.normal();
    lw[i] = -0.5 * (x[i] - 1) * (x[i] - 1) + 0.5 * x[i] * x[i] / 4.0;
  }
  normalise_log_weights(lw, w);
  float s[7];
  weighted_summary(x.data(), w.data(), n, s);
  EXPECT_NEAR(s[0], 1.0, 0.02);
  EXPECT_NEAR(s[1], 1.0, 0.02);
  EXPECT_NEAR(s[3], 0.0, 0.03);   // p16 = 1 - 0.994
  EXPECT_NEAR(s[4], 1.0, 0.02);   // median
  EXPECT_NEAR(s[6], 2.96, 0.05);  // p97.5 = 1 + 1.96
}

TEST(PosteriorImportance, MinusInfValuesCountAsLowestInPercentilesOnly) {
  const std::vector<double> v{-kInf, 1.0, 2.0, 3.0};
  const std::vector<double> w{0.5, 0.5 / 3, 0.5 / 3, 0.5 / 3};
  float s[7];
  weighted_summary(v.data(), w.data(), v.size(), s);
  EXPECT_NEAR(s[0], 2.0, 1e-6);            // mean over the finite values
  EXPECT_TRUE(std::isinf(s[2]) && s[2] < 0);  // p2.5 lies in the -inf draw's weight
}

TEST(PosteriorImportance, SystematicResamplingFollowsTheWeights) {
  const std::vector<double> w{0.5, 0.0, 0.25, 0.25};
  const auto idx = systematic_resample(w, 8, 0.3);
  ASSERT_EQ(idx.size(), 8u);
  std::vector<int> count(4, 0);
  for (std::size_t i : idx) ++count[i];
  EXPECT_EQ(count[0], 4);
  EXPECT_EQ(count[1], 0);
  EXPECT_EQ(count[2], 2);
  EXPECT_EQ(count[3], 2);
  EXPECT_TRUE(systematic_resample({0.0, 0.0}, 4, 0.5).empty());
}

TEST(PosteriorStudentT, OneDimensionalDensityMatchesTheFormula) {
  Eigen::MatrixXd pts(2, 1);
  pts << -1.0, 1.0;  // mean 0, variance 1
  const StudentT t = StudentT::fit(pts, {0.5, 0.5}, 5.0, 2.0);  // scale 2
  for (double x : {-3.0, 0.0, 0.7, 5.0}) {
    const double y = x / 2.0;
    const double expected = std::lgamma(3.0) - std::lgamma(2.5) - 0.5 * std::log(5.0 * M_PI) - std::log(2.0) -
                            3.0 * std::log1p(y * y / 5.0);
    EXPECT_NEAR(t.log_density(&x), expected, 1e-9 * (1 + std::abs(expected)));
  }
}

TEST(PosteriorStudentT, FitAndSampleReproduceMeanAndCovariance) {
  Rng rng(4, RngStream::kTest, 0);
  const int n = 50000;
  Eigen::MatrixXd pts(n, 3);
  for (int i = 0; i < n; ++i) {
    const double a = rng.normal(), b = rng.normal(), c = rng.normal();
    pts.row(i) << 1 + a, -2 + 0.5 * a + b, 3 * c;
  }
  const StudentT t = StudentT::fit(pts, std::vector<double>(n, 1.0), 5.0, 1.0);
  EXPECT_NEAR(t.mean()[0], 1.0, 0.03);
  EXPECT_NEAR(t.mean()[1], -2.0, 0.03);
  EXPECT_NEAR(t.scale()(1, 0), 0.5, 0.03);
  EXPECT_NEAR(t.scale()(2, 2), 9.0, 0.2);
  Rng draw(5, RngStream::kTest, 0);
  const Eigen::MatrixXd s = t.sample(draw, n);
  const Eigen::RowVectorXd mean = s.colwise().mean();
  EXPECT_NEAR(mean[0], 1.0, 0.05);
  const Eigen::MatrixXd centred = s.rowwise() - mean;
  const Eigen::MatrixXd cov = centred.transpose() * centred / (n - 1);
  EXPECT_NEAR(cov(0, 0), 5.0 / 3.0, 0.15);  // nu / (nu - 2) x the scale
  EXPECT_NEAR(cov(2, 2), 9.0 * 5.0 / 3.0, 1.2);
}

}  // namespace
}  // namespace sedpost::posterior
