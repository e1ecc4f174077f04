#include "prior/prior.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace sedpost::prior {
namespace {

constexpr std::uint64_t kSeed = 20221123;

Prior dirichlet() { return Prior(PriorSettings{}); }
Prior sedflow() {
  PriorSettings s;
  s.sfh_prior = SfhPrior::kSedflow;
  return Prior(s);
}

// Determinant of a 3x3 matrix.
double det3(const double m[3][3]) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

TEST(PriorNames, ExactNamesAndUnits) {
  const std::vector<std::string> phys = {"log_mstar_formed", "beta_1", "beta_2", "beta_3",
                                         "beta_4", "f_burst", "t_burst", "gamma_1", "gamma_2",
                                         "tau_bc", "tau_ism", "n_dust"};
  const std::vector<std::string> flow = {"log_mstar_formed", "u_1", "u_2", "u_3",
                                         "f_burst", "t_burst", "log_gamma_1", "log_gamma_2",
                                         "tau_bc", "tau_ism", "n_dust"};
  EXPECT_EQ(Prior::physical_names(), phys);
  EXPECT_EQ(Prior::flow_names(), flow);
  EXPECT_EQ(Prior::physical_units().size(), kNumPhysical);
  EXPECT_EQ(Prior::flow_units().size(), kNumFlow);
  EXPECT_EQ(Prior::physical_units()[kTBurst], "Gyr");
}

TEST(PriorBox, DefaultsAreSedflow) {
  const Prior p = dirichlet();
  const FlowCoords lo = {7, 0, 0, 0, 0, 0.01, std::log10(4.5e-5), std::log10(4.5e-5), 0, 0, -2};
  const FlowCoords hi = {12.5, 1, 1, 1, 1, 13.27, std::log10(1.5e-2), std::log10(1.5e-2), 3, 3, 1};
  for (std::size_t i = 0; i < kNumFlow; ++i) {
    EXPECT_DOUBLE_EQ(p.flow_lower()[i], lo[i]) << i;
    EXPECT_DOUBLE_EQ(p.flow_upper()[i], hi[i]) << i;
  }
}

TEST(PriorSample, BetasSumToOneAndInSupport) {
  for (const Prior& p : {dirichlet(), sedflow()}) {
    for (std::uint64_t i = 0; i < 20000; ++i) {
      Rng rng(kSeed, RngStream::kPrior, i);
      const Physical t = p.sample(rng);
      double sum = 0;
      for (std::size_t k = 0; k < kNumBeta; ++k) {
        EXPECT_GE(t[kBeta1 + k], 0.0);
        sum += t[kBeta1 + k];
      }
      EXPECT_NEAR(sum, 1.0, 1e-14);
      std::string reason;
      ASSERT_TRUE(p.in_support(t, &reason)) << reason;
      EXPECT_TRUE(std::isfinite(p.log_prob_physical(t)));
    }
  }
}

TEST(PriorRoundTrip, PhysicalFlowUnboundedTo1e12) {
  for (const Prior& p : {dirichlet(), sedflow()}) {
    double max_phys = 0, max_flow = 0, max_unb = 0;
    for (std::uint64_t i = 0; i < 20000; ++i) {
      Rng rng(kSeed, RngStream::kTest, i);
      const FlowCoords x = p.sample_flow(rng);
      const Physical t = p.to_physical(x);
      const FlowCoords x2 = p.to_flow(t);
      const Physical t2 = p.to_physical(x2);
      const FlowCoords y = p.to_unbounded(x);
      const FlowCoords x3 = p.from_unbounded(y);
      const FlowCoords y3 = p.to_unbounded(x3);
      for (std::size_t j = 0; j < kNumFlow; ++j) {
        max_flow = std::max(max_flow, std::abs(x2[j] - x[j]));
        max_unb = std::max(max_unb, std::abs(x3[j] - x[j]));
        // y is ill-conditioned near the bounds; compare relative to dy/dx scale.
        const double s = (x[j] - p.flow_lower()[j]) / (p.flow_upper()[j] - p.flow_lower()[j]);
        const double scale = 1.0 / std::max(1e-300, s * (1 - s));
        EXPECT_NEAR(y3[j], y[j], 1e-12 * scale + 1e-12) << j;
      }
      for (std::size_t j = 0; j < kNumPhysical; ++j) {
        const double tol = (j == kGamma1 || j == kGamma2) ? 1e-12 * t[j] : 1e-12;
        max_phys = std::max(max_phys, std::abs(t2[j] - t[j]) / (tol / 1e-12));
      }
    }
    EXPECT_LT(max_flow, 1e-12);
    EXPECT_LT(max_unb, 1e-12);
    EXPECT_LT(max_phys, 1e-12);
  }
}

TEST(PriorRoundTrip, BatchMatchesSingle) {
  const Prior p = dirichlet();
  const std::size_t n = 7;
  const std::vector<double> phys = p.sample_batch(kSeed, 100, n);
  ASSERT_EQ(phys.size(), n * kNumPhysical);
  const std::vector<double> flow = p.to_flow(phys);
  ASSERT_EQ(flow.size(), n * kNumFlow);
  std::vector<double> y(n * kNumFlow), ld(n), x(n * kNumFlow), ld2(n);
  p.to_unbounded(flow.data(), n, y.data(), ld.data());
  p.from_unbounded(y.data(), n, x.data(), ld2.data());
  const std::vector<double> phys2 = p.to_physical(x);
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(kSeed, RngStream::kPrior, 100 + i);
    const Physical t = p.sample(rng);
    for (std::size_t j = 0; j < kNumPhysical; ++j) {
      EXPECT_EQ(phys[i * kNumPhysical + j], t[j]);
      EXPECT_NEAR(phys2[i * kNumPhysical + j], t[j], 1e-12 * std::max(1.0, std::abs(t[j])));
    }
    EXPECT_NEAR(ld[i], -ld2[i], 1e-9);
  }
  // Rank invariance: rows 3.. of a batch equal a batch started at index 3.
  const std::vector<double> tail = p.sample_batch(kSeed, 103, n - 3);
  for (std::size_t k = 0; k < tail.size(); ++k) EXPECT_EQ(tail[k], phys[3 * kNumPhysical + k]);
  EXPECT_THROW(p.to_flow(std::vector<double>(13)), DataError);
  EXPECT_THROW(p.to_physical(std::vector<double>(12)), DataError);
}

// Flat Dirichlet(1,1,1,1): every beta_k ~ Beta(1,3) (mean 1/4, var 3/80),
// cov(beta_i, beta_j) = -1/80. Checked with 5-sigma Monte Carlo bounds.
TEST(PriorDirichlet, MarginalsAreBeta13) {
  const Prior p = dirichlet();
  const std::size_t n = 200000;
  double s[kNumBeta] = {}, s2[kNumBeta] = {}, s4[kNumBeta] = {}, s12 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(kSeed, RngStream::kTest, i);
    const Physical t = p.sample(rng);
    for (std::size_t k = 0; k < kNumBeta; ++k) {
      const double b = t[kBeta1 + k];
      s[k] += b;
      s2[k] += b * b;
      s4[k] += (b - 0.25) * (b - 0.25) * (b - 0.25) * (b - 0.25);
    }
    s12 += (t[kBeta1] - 0.25) * (t[kBeta2] - 0.25);
  }
  const double mean_true = 0.25, var_true = 3.0 / 80.0;
  for (std::size_t k = 0; k < kNumBeta; ++k) {
    const double mean = s[k] / n;
    const double var = s2[k] / n - mean * mean;
    const double m4 = s4[k] / n;
    EXPECT_NEAR(mean, mean_true, 5 * std::sqrt(var_true / n)) << "beta_" << k + 1;
    EXPECT_NEAR(var, var_true, 5 * std::sqrt((m4 - var_true * var_true) / n)) << "beta_" << k + 1;
  }
  // var of the product of two centred betas <= sqrt(E[a^4] E[b^4]).
  const double sd12 = std::sqrt(s4[0] / n * s4[1] / n);
  EXPECT_NEAR(s12 / n, -1.0 / 80.0, 5 * std::sqrt(sd12 / n));
}

// Flat Dirichlet <=> the map u -> (beta_1..beta_3) has a constant Jacobian 1/3!.
TEST(PriorDirichlet, StickBreakingJacobianIsConstant) {
  const Prior p = dirichlet();
  const double h = 1e-6;
  for (std::uint64_t i = 0; i < 50; ++i) {
    Rng rng(kSeed, RngStream::kTest, i);
    FlowCoords x = p.sample_flow(rng);
    for (std::size_t k = 0; k < 3; ++k) x[kFlowU1 + k] = 0.05 + 0.9 * x[kFlowU1 + k];
    double jac[3][3];
    for (std::size_t c = 0; c < 3; ++c) {
      FlowCoords xp = x, xm = x;
      xp[kFlowU1 + c] += h;
      xm[kFlowU1 + c] -= h;
      const Physical tp = p.to_physical(xp), tm = p.to_physical(xm);
      for (std::size_t r = 0; r < 3; ++r) jac[r][c] = (tp[kBeta1 + r] - tm[kBeta1 + r]) / (2 * h);
    }
    EXPECT_NEAR(std::abs(det3(jac)), 1.0 / 6.0, 1e-7);
  }
}

TEST(PriorSedflow, FormulasOfTheSedflowCode) {
  const Prior p = sedflow();
  Rng rng(kSeed, RngStream::kTest, 0);
  for (int i = 0; i < 1000; ++i) {
    const FlowCoords x = p.sample_flow(rng);
    const double z1 = x[kFlowU1], z2 = x[kFlowU2], z3 = x[kFlowU3];
    const Physical t = p.to_physical(x);
    EXPECT_NEAR(t[kBeta1], 1 - z1, 1e-15);
    EXPECT_NEAR(t[kBeta2], z1 * (1 - z2), 1e-15);
    EXPECT_NEAR(t[kBeta3], z1 * z2 * (1 - z3), 1e-15);
    EXPECT_NEAR(t[kBeta4], z1 * z2 * z3, 1e-15);
  }
  // Not flat: E[beta_1] = 1/2, E[beta_4] = 1/8.
  const std::size_t n = 100000;
  double m1 = 0, m4 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    Rng r(kSeed, RngStream::kTest, i);
    const Physical t = p.sample(r);
    m1 += t[kBeta1];
    m4 += t[kBeta4];
  }
  EXPECT_NEAR(m1 / n, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(m4 / n, 0.125, 5 * std::sqrt((1.0 / 27 - 1.0 / 64) / n));
}

// log p_phys(theta) = log p_flow(x) - log|d(free physical)/d(flow)|, checked by finite
// differences of to_physical for both SFH variants (free physical: all but beta_4).
TEST(PriorDensity, PhysicalDensityIsFlowDensityTimesJacobian) {
  for (const Prior& p : {dirichlet(), sedflow()}) {
    for (std::uint64_t i = 0; i < 30; ++i) {
      Rng rng(kSeed, RngStream::kTest, i);
      FlowCoords x = p.sample_flow(rng);
      for (std::size_t k = 0; k < 3; ++k) x[kFlowU1 + k] = 0.05 + 0.9 * x[kFlowU1 + k];
      const double h = 1e-6;
      double jac[3][3];
      for (std::size_t c = 0; c < 3; ++c) {
        FlowCoords xp = x, xm = x;
        xp[kFlowU1 + c] += h;
        xm[kFlowU1 + c] -= h;
        const Physical tp = p.to_physical(xp), tm = p.to_physical(xm);
        for (std::size_t r = 0; r < 3; ++r) jac[r][c] = (tp[kBeta1 + r] - tm[kBeta1 + r]) / (2 * h);
      }
      const Physical t = p.to_physical(x);
      const double log_jac = std::log(std::abs(det3(jac))) + std::log(t[kGamma1] * std::log(10.0)) +
                             std::log(t[kGamma2] * std::log(10.0));
      EXPECT_NEAR(p.log_prob_physical(t), p.log_prob_flow(x) - log_jac, 1e-6)
          << to_string(p.settings().sfh_prior);
    }
  }
}

TEST(PriorBijection, LogJacobianMatchesFiniteDifferences) {
  const Prior p = dirichlet();
  for (std::uint64_t i = 0; i < 50; ++i) {
    Rng rng(kSeed, RngStream::kTest, i);
    FlowCoords y;
    for (auto& v : y) v = 4.0 * rng.normal();
    double log_fd = 0;
    for (std::size_t j = 0; j < kNumFlow; ++j) {
      const double h = 1e-5;
      FlowCoords yp = y, ym = y;
      yp[j] += h;
      ym[j] -= h;
      const double d = (p.from_unbounded(yp)[j] - p.from_unbounded(ym)[j]) / (2 * h);
      log_fd += std::log(d);
      // elementwise map: other coordinates do not move
      for (std::size_t k = 0; k < kNumFlow; ++k) {
        if (k != j) {
          EXPECT_EQ(p.from_unbounded(yp)[k], p.from_unbounded(ym)[k]);
        }
      }
    }
    const double ld = p.log_abs_det_jacobian_from_unbounded(y);
    EXPECT_NEAR(ld, log_fd, 1e-5 * std::max(1.0, std::abs(ld)));
    EXPECT_NEAR(p.log_abs_det_jacobian_to_unbounded(p.from_unbounded(y)), -ld, 1e-8 * std::max(1.0, std::abs(ld)));
  }
}

TEST(PriorBijection, BoundaryIsFiniteAndInverseStaysInBox) {
  const Prior p = dirichlet();
  const FlowCoords ylo = p.to_unbounded(p.flow_lower());
  const FlowCoords yhi = p.to_unbounded(p.flow_upper());
  for (std::size_t j = 0; j < kNumFlow; ++j) {
    EXPECT_TRUE(std::isfinite(ylo[j]));
    EXPECT_TRUE(std::isfinite(yhi[j]));
    EXPECT_LT(ylo[j], -30);
    EXPECT_GT(yhi[j], 30);
  }
  FlowCoords big;
  big.fill(1e4);
  EXPECT_TRUE(p.in_box(p.from_unbounded(big)));
  big.fill(-1e4);
  EXPECT_TRUE(p.in_box(p.from_unbounded(big)));
  EXPECT_TRUE(std::isfinite(p.log_abs_det_jacobian_from_unbounded(big)));
}

// The unbounded-coordinate density integrates to 1 (1-D check per coordinate is enough since
// it factorises; here: the full density equals the product of the flow density and |dx/dy|)
// and the batch versions agree with the single ones.
TEST(PriorDensity, UnboundedAndBatchVersions) {
  const Prior p = sedflow();
  const std::size_t n = 20;
  std::vector<double> y(n * kNumFlow), x(n * kNumFlow), theta(n * kNumPhysical), a(n), b(n), c(n);
  Rng rng(kSeed, RngStream::kTest, 77);
  for (auto& v : y) v = 3.0 * rng.normal();
  p.from_unbounded(y.data(), n, x.data());
  p.to_physical(x.data(), n, theta.data());
  p.log_prob_unbounded(y.data(), n, a.data());
  p.log_prob_flow(x.data(), n, b.data());
  p.log_prob_physical(theta.data(), n, c.data());
  for (std::size_t i = 0; i < n; ++i) {
    FlowCoords yi, xi;
    Physical ti;
    std::copy_n(&y[i * kNumFlow], kNumFlow, yi.begin());
    std::copy_n(&x[i * kNumFlow], kNumFlow, xi.begin());
    std::copy_n(&theta[i * kNumPhysical], kNumPhysical, ti.begin());
    EXPECT_NEAR(a[i], p.log_prob_unbounded(yi), 1e-12);
    EXPECT_NEAR(a[i], p.log_prob_flow(xi) + p.log_abs_det_jacobian_from_unbounded(yi), 1e-12);
    EXPECT_EQ(b[i], p.log_prob_flow(xi));
    EXPECT_EQ(c[i], p.log_prob_physical(ti));
  }
  // 1-D: the density of y_0 (log_mstar) integrates to 1: int sigmoid'(y) dy = 1.
  double integral = 0;
  const double h = 0.01;
  for (double t = -40; t < 40; t += h) {
    const double ls = -std::log1p(std::exp(-t)) - std::log1p(std::exp(t));
    integral += std::exp(ls) * h;
  }
  EXPECT_NEAR(integral, 1.0, 1e-6);
}

TEST(PriorSupport, OutsideIsRejectedWithReason) {
  const Prior p = dirichlet();
  Rng rng(kSeed, RngStream::kTest, 1);
  const Physical good = p.sample(rng);
  auto check = [&](std::size_t idx, double value, const std::string& word) {
    Physical t = good;
    t[idx] = value;
    std::string reason;
    EXPECT_FALSE(p.in_support(t, &reason)) << idx;
    EXPECT_NE(reason.find(word), std::string::npos) << reason;
    EXPECT_EQ(p.log_prob_physical(t), -std::numeric_limits<double>::infinity());
  };
  check(kLogMstar, 12.6, "log_mstar_formed");
  check(kTBurst, 0.0, "t_burst");
  check(kGamma2, 1e-5, "gamma_2");
  check(kNDust, 1.5, "n_dust");
  check(kBeta1, good[kBeta1] + 0.1, "sum");
  check(kTauIsm, std::nan(""), "tau_ism");
  Physical neg = good;
  neg[kBeta1] = -0.1;
  neg[kBeta2] += 0.1;
  EXPECT_FALSE(p.in_support(neg));
  FlowCoords x = p.to_flow(good);
  EXPECT_DOUBLE_EQ(p.log_prob_flow(x), p.log_prob_flow(p.flow_lower()));
  x[kFlowU2] = 1.1;
  EXPECT_EQ(p.log_prob_flow(x), -std::numeric_limits<double>::infinity());
}

TEST(PriorSettings, ValidationAndConfig) {
  PriorSettings bad;
  bad.tau_bc_max = -1;
  EXPECT_THROW(Prior{bad}, ConfigError);
  bad = PriorSettings{};
  bad.gamma_min = 0;
  EXPECT_THROW(Prior{bad}, ConfigError);
  const Config c = Config::from_text(
      "[prior]\nsfh_prior = \"sedflow\"\nlog_mstar_formed = [8.0, 12.0]\ngamma = [1e-4, 1e-2]\n",
      "test.toml");
  const PriorSettings s = PriorSettings::from_config(c);
  EXPECT_EQ(s.sfh_prior, SfhPrior::kSedflow);
  EXPECT_EQ(s.log_mstar_min, 8.0);
  EXPECT_EQ(s.log_mstar_max, 12.0);
  EXPECT_EQ(s.gamma_min, 1e-4);
  EXPECT_EQ(s.t_burst_max, 13.27);
  EXPECT_THROW(PriorSettings::from_config(Config::from_text("[prior]\nsfh_prior = \"flat\"\n", "x.toml")),
               ConfigError);
  EXPECT_THROW(PriorSettings::from_config(Config::from_text("[prior]\nn_dust = [1.0]\n", "x.toml")),
               ConfigError);
  EXPECT_THROW(parse_sfh_prior("Dirichlet"), ConfigError);
}

}  // namespace
}  // namespace sedpost::prior
