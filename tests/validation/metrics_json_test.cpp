#include "validation/metrics_json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "conjugate.hpp"
#include "core/error.hpp"

namespace sedpost::validation {
namespace {

MetricsReport small_report(std::size_t n_flow_galaxies) {
  MetricsReport r;
  r.run_info = {{"model", "model.pt"}, {"note", "quote \" and backslash \\"}};
  const auto d = testing::conjugate_gaussian(100, 99, 2, 1.0, 1);
  r.calibration = calibrate(d.samples.data(), d.truth.data(), 100, 99, 2, {"log_mstar", "tau_ism"});
  const std::vector<std::uint32_t> flags = {0, 1, 0, 2};
  r.flags = summarize_flags(flags.data(), flags.size(), {"noise", "colour"});
  // Flow vs MCMC on the first galaxies of the same data, MCMC = flow (shift 0); one galaxy's
  // MCMC is all NaN, so its metrics are NaN and must come out as null.
  std::vector<float> mcmc(d.samples.begin(),
                          d.samples.begin() + static_cast<std::ptrdiff_t>(n_flow_galaxies * 99 * 2));
  for (std::size_t j = 0; j < 99 * 2; ++j) mcmc[j] = NAN;
  r.flow_vs_mcmc = compare_flow_mcmc({d.samples.data(), n_flow_galaxies, 99, 2, 0},
                                     {mcmc.data(), n_flow_galaxies, 99, 2, 0}, {"log_mstar", "tau_ism"});
  return r;
}

TEST(ValidationMetricsJson, HasDocumentedKeysAndNullForNaN) {
  const auto r = small_report(3);
  const std::string j = to_json(r);
  for (const char* key : {"\"schema_version\": 1",
                          "\"run\"",
                          "\"thresholds\"",
                          "\"calibration\"",
                          "\"levels\"",
                          "\"pp_ecdf\"",
                          "\"central_coverage\"",
                          "\"sbc\"",
                          "\"chi2_p_value\"",
                          "\"histogram\"",
                          "\"tarp\"",
                          "\"ecp\"",
                          "\"max_deviation\"",
                          "\"flags\"",
                          "\"per_flag\"",
                          "\"flow_vs_mcmc\"",
                          "\"median_shift\"",
                          "\"std_ratio\"",
                          "\"joint_c2st\"",
                          "\"per_quantity\"",
                          "\"median_abs_median_shift\"",
                          "\"checks\"",
                          "\"pass\"",
                          "\"median_rmse\""})
    EXPECT_NE(j.find(key), std::string::npos) << key;
  EXPECT_EQ(j.find("nan"), std::string::npos);
  EXPECT_EQ(j.find("inf"), std::string::npos);
  EXPECT_NE(j.find("null"), std::string::npos);
  EXPECT_NE(j.find("quote \\\" and backslash \\\\"), std::string::npos);
}

TEST(ValidationMetricsJson, ChecksFollowThresholds) {
  auto r = small_report(3);
  auto checks = evaluate_checks(r);
  // 2 SBC + 1 TARP + 2 flow-MCMC checks.
  ASSERT_EQ(checks.size(), 5u);
  EXPECT_EQ(checks[0].name, "sbc_uniformity");
  EXPECT_EQ(checks[0].quantity, "log_mstar");
  EXPECT_TRUE(checks[0].passed.has_value());
  EXPECT_EQ(checks[2].name, "tarp");
  EXPECT_NEAR(checks[2].threshold, 1.63 / std::sqrt(100.0), 1e-12);
  // Only 2 galaxies with finite MCMC: below the 20 needed, so not evaluated.
  EXPECT_EQ(checks[3].name, "flow_mcmc_median_shift");
  EXPECT_FALSE(checks[3].passed.has_value());
  EXPECT_NE(checks[3].note.find("needs >= 20"), std::string::npos);
  // 21 galaxies, flow == MCMC: shift 0 for the 20 finite ones, passes.
  r = small_report(21);
  checks = evaluate_checks(r);
  ASSERT_TRUE(checks[3].passed.has_value());
  EXPECT_TRUE(*checks[3].passed);
  EXPECT_DOUBLE_EQ(checks[3].value, 0.0);
  // A threshold that cannot be met fails the check and the document's "pass".
  r.thresholds.sbc_min_p_value = 1.1;
  const std::string j = to_json(r);
  EXPECT_NE(j.find("\"pass\": false"), std::string::npos);
}

TEST(ValidationMetricsJson, EmptyReportIsValid) {
  const std::string j = to_json(MetricsReport{});
  EXPECT_NE(j.find("\"calibration\": null"), std::string::npos);
  EXPECT_NE(j.find("\"checks\": []"), std::string::npos);
  EXPECT_NE(j.find("\"pass\": null"), std::string::npos);
}

TEST(ValidationMetricsJson, WriteReplacesFileAtomically) {
  const std::string path = ::testing::TempDir() + "validation_metrics_test.json";
  write_metrics_json(path, small_report(3));
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), to_json(small_report(3)));
  EXPECT_FALSE(std::ifstream(path + ".partial").good());
  std::remove(path.c_str());
  EXPECT_THROW(write_metrics_json("/nonexistent-dir/x/metrics.json", MetricsReport{}), IoError);
}

}  // namespace
}  // namespace sedpost::validation
