// Metrics of the likelihood-checked posteriors (src/validation/posterior_checks.hpp).
#include "validation/posterior_checks.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "validation/metrics_json.hpp"

namespace sedpost::validation {
namespace {

TEST(ValidationPosteriorChecks, AllowedFlagFractionIsTheBinomialLimit) {
  // Largest k with P(Binomial(1000, p0) >= k) >= 1e-3 (scipy.stats.binom.sf(k - 1, 1000, p0)).
  EXPECT_DOUBLE_EQ(allowed_flag_fraction(0.001, 1000), 5.0 / 1000);
  EXPECT_DOUBLE_EQ(allowed_flag_fraction(0.00675, 1000), 16.0 / 1000);
  EXPECT_DOUBLE_EQ(allowed_flag_fraction(0.01, 1000), 21.0 / 1000);
  EXPECT_DOUBLE_EQ(allowed_flag_fraction(0.0, 1000), 0.0);
  EXPECT_TRUE(std::isnan(allowed_flag_fraction(std::nan(""), 1000)));
}

TEST(ValidationPosteriorChecks, ExpectedFlagRatesFollowTheirDefinitions) {
  const auto r = expected_flag_rates({"bad_photometry", "noisier_than_training", "colour_out_of_range",
                                      "chi2_implausible", "weights_degenerate", "something_else"},
                                     5, 3.0, 0.001, 1e-3);
  EXPECT_EQ(r[0], 0.0);
  EXPECT_NEAR(r[1], 5 * 0.0013498980316301, 1e-12);
  EXPECT_NEAR(r[2], 4 * 2 * 0.001, 1e-15);
  EXPECT_EQ(r[3], 1e-3);
  EXPECT_EQ(r[4], 0.01);
  EXPECT_TRUE(std::isnan(r[5]));
}

TEST(ValidationPosteriorChecks, GoodnessOfFitAcceptsChiSquareAndRejectsAShift) {
  std::mt19937_64 g(5);
  std::chi_squared_distribution<double> chi2(5.0);
  std::vector<double> draw(2000), best(2000), shifted(2000);
  for (std::size_t i = 0; i < draw.size(); ++i) {
    draw[i] = chi2(g);
    best[i] = 0.3 * draw[i];  // fitted: smaller than chi^2_5
    shifted[i] = draw[i] + 1.0;
  }
  draw.push_back(std::nan(""));
  best.push_back(std::nan(""));
  const GoodnessOfFit ok = goodness_of_fit(draw, best, 5.0);
  EXPECT_EQ(ok.n, 2000);
  EXPECT_GT(ok.p_draw, 1e-3);
  EXPECT_LT(ok.p_best, 1e-6);
  EXPECT_NEAR(ok.median_draw, 4.35, 0.3);
  const GoodnessOfFit bad = goodness_of_fit(shifted, best, 5.0);
  EXPECT_LT(bad.p_draw, 1e-6);
}

TEST(ValidationPosteriorChecks, WeightingSummarySkipsRowsWithoutWeights) {
  const WeightingSummary w = summarize_weighting({100.0, 300.0, std::nan(""), 50.0}, {1000, 2000, 0, 1000},
                                                 {0, 1, 0, 0});
  EXPECT_EQ(w.n, 3);
  EXPECT_DOUBLE_EQ(w.median_ess, 100.0);
  EXPECT_DOUBLE_EQ(w.median_ess_per_1000, 100.0);
  EXPECT_NEAR(w.fraction_refined, 1.0 / 3, 1e-12);
  EXPECT_NEAR(w.mean_draws, 4000.0 / 3, 1e-9);
}

TEST(ValidationPosteriorChecks, FlagAndGoodnessChecksEnterMetricsJson) {
  MetricsReport r;
  std::vector<std::uint32_t> flags(1000, 0);
  for (int i = 0; i < 30; ++i) flags[static_cast<std::size_t>(i)] = 1u << 4;  // chi2_implausible on 3 %
  r.flags = summarize_flags(flags.data(), flags.size(),
                            {"bad_photometry", "bad_redshift", "noisier_than_training", "colour_out_of_range",
                             "chi2_implausible", "weights_degenerate"});
  set_flag_expectations(*r.flags, expected_flag_rates(r.flags->names, 5, 3.0, 0.001, 1e-3));
  r.goodness_of_fit = goodness_of_fit({1.0, 4.0, 9.0}, {0.5, 1.0, 2.0}, 5.0);
  const auto checks = evaluate_checks(r);
  int n_flag = 0;
  for (const Check& c : checks) {
    if (c.name != "flag_rate") continue;
    ++n_flag;
    ASSERT_TRUE(c.passed.has_value()) << c.quantity;
    EXPECT_EQ(*c.passed, c.quantity != "chi2_implausible") << c.quantity;
  }
  EXPECT_EQ(n_flag, 6);
  const std::string j = to_json(r);
  EXPECT_NE(j.find("\"goodness_of_fit\""), std::string::npos);
  EXPECT_NE(j.find("\"chi2_draw_ks_p_value\""), std::string::npos);
  EXPECT_NE(j.find("\"expected\""), std::string::npos);
  EXPECT_NE(j.find("\"pass\": false"), std::string::npos);
}

}  // namespace
}  // namespace sedpost::validation
