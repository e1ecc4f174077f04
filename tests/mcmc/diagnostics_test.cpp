#include "mcmc/diagnostics.hpp"

#include "core/rng.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace sedpost::mcmc {
namespace {

/// n_walkers independent stationary AR(1) series x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t.
Eigen::MatrixXd ar1(int n, int walkers, double phi, std::uint64_t seed) {
  Eigen::MatrixXd x(n, walkers);
  for (int w = 0; w < walkers; ++w) {
    Rng rng(seed, RngStream::kTest, static_cast<std::uint64_t>(w));
    double v = rng.normal();
    for (int t = 0; t < n; ++t) {
      x(t, w) = v;
      v = phi * v + std::sqrt(1.0 - phi * phi) * rng.normal();
    }
  }
  return x;
}

TEST(McmcDiagnostics, AutocorrelationFunctionOfAr1IsGeometric) {
  const Eigen::MatrixXd x = ar1(100000, 1, 0.5, 1);
  const Eigen::VectorXd acf = autocorrelation_function(x.col(0));
  EXPECT_DOUBLE_EQ(acf[0], 1.0);
  // sd of a lag-k sample autocorrelation ~ sqrt((1 + phi^2) / (1 - phi^2) / n) = 0.0041.
  for (int k = 1; k <= 4; ++k) EXPECT_NEAR(acf[k], std::pow(0.5, k), 4 * 0.0041) << "lag " << k;
}

TEST(McmcDiagnostics, IntegratedTimeOfAr1) {
  // tau = (1 + phi) / (1 - phi). Sokal: sd(tau_hat) / tau ~ sqrt(2 (2M + 1) / N) with the window
  // M ~ c tau and N = steps * walkers; the tolerance is 4 of those sd plus the O(M / n) bias of
  // subtracting each walker's own mean.
  for (const double phi : {0.5, 0.9}) {
    const double tau = (1.0 + phi) / (1.0 - phi);
    const int n = 20000, w = 32;
    const Eigen::MatrixXd x = ar1(n, w, phi, 2);
    const double est = integrated_autocorr_time(x, 5.0);
    const double rel_sd = std::sqrt(2.0 * (2.0 * 5.0 * tau + 1.0) / (static_cast<double>(n) * w));
    const double bias = 2.0 * 5.0 * tau / n;
    EXPECT_NEAR(est / tau, 1.0, 4.0 * rel_sd + bias) << "phi " << phi << " estimate " << est;
    EXPECT_NEAR(effective_sample_size(x), static_cast<double>(n) * w / est, 1e-6);
  }
}

TEST(McmcDiagnostics, IidSeriesHasTauOne) {
  const Eigen::MatrixXd x = ar1(10000, 8, 0.0, 3);
  EXPECT_NEAR(integrated_autocorr_time(x), 1.0, 0.1);
  const double se = mc_standard_error(x);
  EXPECT_NEAR(se, 1.0 / std::sqrt(80000.0), 0.1 / std::sqrt(80000.0));
}

TEST(McmcDiagnostics, SplitRhat) {
  const Eigen::MatrixXd x = ar1(4000, 16, 0.5, 4);
  // Mixed chains: R-hat^2 - 1 ~ tau / (n / 2) = 3 / 2000.
  EXPECT_LT(split_rhat(x), 1.005);
  EXPECT_GT(split_rhat(x), 0.995);
  // One walker stuck elsewhere.
  Eigen::MatrixXd y = x;
  y.col(3).array() += 3.0;
  EXPECT_GT(split_rhat(y), 1.05);
  // A trend within walkers is caught by splitting.
  Eigen::MatrixXd z = x;
  for (int t = 0; t < 4000; ++t) z.row(t).array() += 2.0 * t / 4000.0;
  EXPECT_GT(split_rhat(z), 1.05);
  EXPECT_TRUE(std::isnan(split_rhat(Eigen::MatrixXd::Zero(3, 4))));
}

TEST(McmcDiagnostics, ConstantSeriesIsHandled) {
  const Eigen::MatrixXd c = Eigen::MatrixXd::Constant(100, 4, 2.0);
  EXPECT_DOUBLE_EQ(integrated_autocorr_time(c), 1.0);
  EXPECT_DOUBLE_EQ(split_rhat(c), 1.0);
}

}  // namespace
}  // namespace sedpost::mcmc
