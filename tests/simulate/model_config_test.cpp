// Helpers of the simulate stage that do not need the SED model.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/config.hpp"
#include "core/error.hpp"
#include "simulate/model_config.hpp"

namespace sedpost::simulate {
namespace {

TEST(SimulateRedshift, ModeAndRangeFromConfig) {
  const RedshiftRange given = redshift_range_from_config(Config::from_text("[model]\nz_max = 0.3\n", "a.toml"));
  EXPECT_FALSE(given.inferred);
  EXPECT_EQ(given.z_max, 0.3);
  EXPECT_EQ(given.layout().dim(), 11u);
  const RedshiftRange inferred =
      redshift_range_from_config(Config::from_text("[model]\nredshift = \"inferred\"\nz_min = 0.01\nz_max = 1.0\n", "b.toml"));
  EXPECT_TRUE(inferred.inferred);
  const prior::ThetaLayout layout = inferred.layout();
  EXPECT_EQ(layout.dim(), 12u);
  EXPECT_EQ(layout.names().back(), "z");
  const prior::Prior prior;
  EXPECT_EQ(layout.lower(prior).back(), 0.01);
  EXPECT_EQ(layout.upper(prior).back(), 1.0);
  EXPECT_EQ(layout.lower(prior)[0], prior.flow_lower()[0]);
  try {
    redshift_range_from_config(Config::from_text("[model]\nredshift = \"photo\"\n", "c.toml"));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("c.toml: model.redshift = 'photo'"), std::string::npos) << e.what();
  }
}

// [model] z_prior: "uniform" (default, no weights) or "histogram" with z_prior_weights; errors
// name the file and key.
TEST(SimulateRedshift, HistogramPriorFromConfig) {
  const std::string base = "[model]\nredshift = \"inferred\"\nz_min = 0.0\nz_max = 1.0\n";
  const RedshiftRange flat = redshift_range_from_config(Config::from_text(base, "a.toml"));
  EXPECT_TRUE(flat.z_weights.empty());
  EXPECT_TRUE(flat.z_prior().uniform());
  const RedshiftRange hist = redshift_range_from_config(
      Config::from_text(base + "z_prior = \"histogram\"\nz_prior_weights = [1, 3]\n", "b.toml"));
  EXPECT_EQ(hist.layout().z_weights, (std::vector<double>{1, 3}));
  EXPECT_EQ(hist.z_prior().weights(), (std::vector<double>{0.25, 0.75}));
  const auto message = [&](const std::string& extra) {
    try {
      redshift_range_from_config(Config::from_text(base + extra, "c.toml"));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("z_prior = \"histogram\"\n").find("c.toml: model.z_prior = \"histogram\" needs model.z_prior_weights"),
            std::string::npos);
  EXPECT_NE(message("z_prior = \"nz\"\n").find("c.toml: model.z_prior = 'nz'"), std::string::npos);
  EXPECT_NE(message("z_prior_weights = [1, 2]\n").find("z_prior is \"uniform\""), std::string::npos);
  EXPECT_NE(message("z_prior = \"histogram\"\nz_prior_weights = [1, -2]\n").find("c.toml: model: z_prior_weights[1] = -2"),
            std::string::npos);
  EXPECT_NE(message("z_prior = \"histogram\"\nz_prior_weights = [0, 0]\n").find("all 0"), std::string::npos);
}

TEST(SimulateTheta, FloatCoordinatesStayInsideTheOpenBox) {
  const std::vector<double> lo = {7.0, 0.0}, hi = {12.5, 1.0};
  // 1 - 1e-9 rounds to 1.0f and 1e-50 to 0.0f: both must be nudged inwards; NaN stays NaN.
  const std::vector<double> v = {12.5 - 1e-9, 1.0 - 1e-9, 7.0 + 1e-12, 1e-50, 9.0, 0.5,
                                 std::numeric_limits<double>::quiet_NaN(), 0.25};
  const std::vector<float> f = to_float_inside_box(v, lo, hi);
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t k = i % 2;
    EXPECT_GT(f[i], static_cast<float>(lo[k])) << i;
    EXPECT_LT(f[i], static_cast<float>(hi[k])) << i;
  }
  EXPECT_EQ(f[4], 9.0f);
  EXPECT_EQ(f[5], 0.5f);
  EXPECT_TRUE(std::isnan(f[6]));
  EXPECT_EQ(f[7], 0.25f);
  EXPECT_EQ(f[1], std::nextafter(1.0f, 0.0f));
}

}  // namespace
}  // namespace sedpost::simulate
