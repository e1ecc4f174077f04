// The per-galaxy SED posterior and its amplitude coordinates (src/posterior/sed_target.hpp).
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "noise/noise_model.hpp"
#include "posterior/sed_target.hpp"
#include "posterior/simulator_terms.hpp"
#include "posterior_test_util.hpp"
#include "prior/prior.hpp"
#include "sps/fixed_z_model.hpp"

namespace sedpost::posterior {
namespace {

constexpr int D = static_cast<int>(prior::kNumFlow);

using test::sed_model;
using test::free_z_model;
using test::kFreeZFluxTolerance;
using test::chi2_change_bound;

using test::Galaxy;

/// Test galaxy `index` of this file's stream.
Galaxy make_galaxy(const prior::Prior& prior, const sps::FixedZModel& at_z, std::uint64_t index) {
  return test::make_galaxy(prior, at_z, 11, index);
}

TEST(PosteriorSedTarget, ChiSquareIsZeroAtTheNoiselessTruthAndScalesWithTheFloor) {
  const prior::Prior prior;
  const sps::FixedZModel at_z(sed_model(), 0.05);
  const Galaxy g = make_galaxy(prior, at_z, 0);
  const int B = at_z.num_bands();
  const SedTarget target(at_z, prior, g.flux.data(), g.sigma.data(), B, 0.0);
  double lt, chi2;
  std::vector<double> unit(static_cast<std::size_t>(B));
  target.evaluate_flow(g.x.data(), 1, &lt, &chi2, unit.data());
  // evaluate() and evaluate_batch() agree to float rounding (FixedZModel), ~1e-7 relative.
  EXPECT_NEAR(chi2, 0.0, 1e-8);
  for (int b = 0; b < B; ++b) {
    const double f = g.flux[static_cast<std::size_t>(b)];
    EXPECT_NEAR(unit[static_cast<std::size_t>(b)] * 1e10, f, 1e-6 * f);
  }
  // Mass 10 % high: every residual is 0.1 f; with a 5 % error chi^2 = B x 4, with the 5 % error
  // plus a 5 % floor in quadrature B x 2.
  prior::FlowCoords x = g.x;
  x[0] = std::log10(1.1e10);
  target.evaluate_flow(x.data(), 1, &lt, &chi2, unit.data());
  EXPECT_NEAR(chi2, 4.0 * B, 1e-4);
  EXPECT_NEAR(lt, -0.5 * chi2, 1e-12);
  const SedTarget floored(at_z, prior, g.flux.data(), g.sigma.data(), B, 0.05);
  floored.evaluate_flow(x.data(), 1, &lt, &chi2, unit.data());
  EXPECT_NEAR(chi2, 2.0 * B, 1e-4);
  // Outside the box: -inf.
  x[9] = -0.1;  // tau_bc < 0
  target.evaluate_flow(x.data(), 1, &lt, &chi2, unit.data());
  EXPECT_TRUE(std::isinf(lt) && lt < 0);
}

// A band with sigma = +inf is left out: chi^2 and the amplitude are those of the other bands,
// whatever its flux (NaN included), in both coordinate systems.
TEST(PosteriorSedTarget, InfiniteErrorLeavesABandOut) {
  const prior::Prior prior;
  const sps::FixedZModel at_z(sed_model(), 0.05);
  const Galaxy g = make_galaxy(prior, at_z, 3);
  const int B = at_z.num_bands();
  std::vector<double> flux = g.flux, sigma = g.sigma;
  flux[2] = std::nan("");
  sigma[2] = std::numeric_limits<double>::infinity();
  const SedTarget without_r(at_z, prior, flux.data(), sigma.data(), B, 0.02);
  prior::FlowCoords x = g.x;
  x[0] = std::log10(1.1e10);
  double lt, chi2, chi2_full;
  std::vector<double> unit(static_cast<std::size_t>(B));
  without_r.evaluate_flow(x.data(), 1, &lt, &chi2, unit.data());
  const SedTarget full(at_z, prior, g.flux.data(), g.sigma.data(), B, 0.02);
  full.evaluate_flow(x.data(), 1, &lt, &chi2_full, unit.data());
  // Each band's residual is the same 0.1 f with a 5 % error and 2 % floor, so one band fewer
  // takes one B-th off the chi^2.
  EXPECT_NEAR(chi2, chi2_full * (B - 1) / B, 1e-6 * chi2_full);
  std::vector<double> w(static_cast<std::size_t>(D)), x_back(static_cast<std::size_t>(D)), ld(1), c2(1);
  ASSERT_TRUE(std::isfinite(without_r.to_amplitude(x.data(), unit.data(), w.data())));
  without_r.evaluate_amplitude(w.data(), 1, x_back.data(), &lt, c2.data(), unit.data(), ld.data());
  EXPECT_NEAR(x_back[0], x[0], 1e-9);
  EXPECT_NEAR(c2[0], chi2, 1e-6 * chi2);
}

// p(sigma | f) of the simulator's noise model is a density in sigma [nmgy]: it integrates to 1
// (the truncation to sigma_mag > 0 renormalised), and SimulatorTerms' flux range gives -inf
// outside the catalog's range.
TEST(PosteriorSimulatorTerms, ErrorDensityIntegratesToOneAndRangeTruncates) {
  std::vector<double> flux, sigma;
  Rng rng(5, RngStream::kTest, 0);
  for (int i = 0; i < 4000; ++i) {
    const double f = 10.0 * std::pow(100.0, rng.uniform());
    flux.push_back(f);
    sigma.push_back(f * std::abs(0.05 + 0.04 * rng.normal()) / noise::kMagPerLnFlux);
  }
  const noise::NoiseModel nm = noise::NoiseModel::fit(flux, sigma, {"r"});
  for (double f : {20.0, 100.0, 700.0}) {
    double integral = 0;
    const double step = f * 1e-4;
    for (double s = step / 2; s < f; s += step) integral += std::exp(log_sigma_density(nm, 0, f, s)) * step;
    EXPECT_NEAR(integral, 1.0, 1e-3) << f;
  }
  const double s_obs = 3.0;
  const SimulatorTerms terms(nm, &s_obs, nullptr, true);
  const double inside = 100.0, below = 0.5 * nm.band(0).flux_min;
  EXPECT_EQ(terms.log_density(&inside), 0.0);  // no error bands: only the range
  EXPECT_TRUE(std::isinf(terms.log_density(&below)));
  const std::uint8_t use = 1;
  const SimulatorTerms with_sigma(nm, &s_obs, &use, true);
  EXPECT_DOUBLE_EQ(with_sigma.log_density(&inside), log_sigma_density(nm, 0, inside, s_obs));
}

TEST(PosteriorSedTarget, AmplitudeCoordinatesRoundTripWithTheirJacobian) {
  const prior::Prior prior;
  const sps::FixedZModel at_z(sed_model(), 0.05);
  const int B = at_z.num_bands();
  for (std::uint64_t gi = 1; gi < 4; ++gi) {
    const Galaxy g = make_galaxy(prior, at_z, gi);
    const SedTarget target(at_z, prior, g.flux.data(), g.sigma.data(), B, 0.02);
    Rng rng(12, RngStream::kTest, gi);
    prior::FlowCoords x = g.x;  // a point near the truth, not on it
    for (int k = 1; k < D; ++k) {
      const double lo = prior.flow_lower()[k], hi = prior.flow_upper()[k];
      x[k] = std::min(hi - 0.05 * (hi - lo), std::max(lo + 0.05 * (hi - lo), x[k] + 0.02 * (hi - lo) * rng.normal()));
    }
    x[0] += 0.01;
    double lt, chi2, w[D];
    std::vector<double> unit(static_cast<std::size_t>(B));
    target.evaluate_flow(x.data(), 1, &lt, &chi2, unit.data());
    const double log_det = target.to_amplitude(x.data(), unit.data(), w);
    ASSERT_TRUE(std::isfinite(log_det));
    double x2[D], lt2, chi22, log_det2;
    std::vector<double> unit2(static_cast<std::size_t>(B));
    target.evaluate_amplitude(w, 1, x2, &lt2, &chi22, unit2.data(), &log_det2);
    for (int k = 0; k < D; ++k) EXPECT_NEAR(x2[k], x[k], 1e-9) << "coordinate " << k;
    EXPECT_NEAR(lt2, lt, 1e-7 * (1 + std::abs(lt)));
    EXPECT_NEAR(log_det2, log_det, 1e-7);
    // log |det dw/dx| against central differences of x -> w (the model re-evaluated each time).
    Eigen::MatrixXd J(D, D);
    for (int j = 0; j < D; ++j) {
      const double h = 1e-6 * (prior.flow_upper()[j] - prior.flow_lower()[j]);
      double wp[D], wm[D];
      for (int sgn : {1, -1}) {
        prior::FlowCoords xs = x;
        xs[j] += sgn * h;
        target.evaluate_flow(xs.data(), 1, &lt, &chi2, unit.data());
        target.to_amplitude(xs.data(), unit.data(), sgn > 0 ? wp : wm);
      }
      for (int i = 0; i < D; ++i) J(i, j) = (wp[i] - wm[i]) / (2 * h);
    }
    EXPECT_NEAR(std::log(std::abs(J.determinant())), log_det, 1e-4) << "galaxy " << gi;
  }
}

// Photo-z mode: with z as the 12th coordinate the target at a draw's z is the fixed-z target
// there (unit fluxes to the free-z model's table accuracy, chi^2 to what that can change); outside [z_min, z_max]
// it is -inf; the amplitude coordinates round-trip with w_11 = logit of z and their Jacobian.
TEST(PosteriorSedTarget, FreeRedshiftMatchesTheFixedTargetAndRoundTrips) {
  const prior::Prior prior;
  const double z_lo = 0.01, z_hi = 0.2;
  for (std::uint64_t gi = 0; gi < 3; ++gi) {
    const double z = 0.04 + 0.05 * static_cast<double>(gi);
    const sps::FixedZModel at_z(sed_model(), z);
    const int B = at_z.num_bands();
    const Galaxy g = make_galaxy(prior, at_z, 20 + gi);
    const SedTarget fixed(at_z, prior, g.flux.data(), g.sigma.data(), B, 0.02);
    const SedTarget free(free_z_model(), prior::RedshiftPrior(z_lo, z_hi), prior, g.flux.data(), g.sigma.data(), B, 0.02);
    ASSERT_EQ(free.dim(), D + 1);
    prior::FlowCoords x = g.x;
    x[0] += 0.02;
    double x12[D + 1];
    std::copy(x.begin(), x.end(), x12);
    x12[D] = z;
    double lt_f, chi2_f, lt, chi2;
    std::vector<double> unit_f(static_cast<std::size_t>(B)), unit(static_cast<std::size_t>(B));
    fixed.evaluate_flow(x.data(), 1, &lt_f, &chi2_f, unit_f.data());
    free.evaluate_flow(x12, 1, &lt, &chi2, unit.data());
    EXPECT_NEAR(chi2, chi2_f, chi2_change_bound(chi2_f, B, 20.0));  // 5 % errors: S/N <= 20
    for (int b = 0; b < B; ++b) EXPECT_NEAR(unit[b], unit_f[b], kFreeZFluxTolerance * std::abs(unit_f[b]));
    // A redshift off by 0.03 fits worse.
    x12[D] = z + 0.03;
    double lt_off, chi2_off;
    free.evaluate_flow(x12, 1, &lt_off, &chi2_off, unit.data());
    EXPECT_GT(chi2_off, chi2);
    x12[D] = z_hi + 0.01;  // outside the z prior
    free.evaluate_flow(x12, 1, &lt_off, &chi2_off, unit.data());
    EXPECT_TRUE(std::isinf(lt_off) && lt_off < 0);

    x12[D] = z;
    free.evaluate_flow(x12, 1, &lt, &chi2, unit.data());
    double w[D + 1];
    const double log_det = free.to_amplitude(x12, unit.data(), w);
    ASSERT_TRUE(std::isfinite(log_det));
    EXPECT_NEAR(w[D], std::log((z - z_lo) / (z_hi - z)), 1e-12);
    double back[D + 1], lt2, chi22, log_det2;
    std::vector<double> unit2(static_cast<std::size_t>(B));
    free.evaluate_amplitude(w, 1, back, &lt2, &chi22, unit2.data(), &log_det2);
    for (int k = 0; k <= D; ++k) EXPECT_NEAR(back[k], x12[k], 1e-9) << "coordinate " << k;
    EXPECT_NEAR(lt2, lt, 1e-7 * (1 + std::abs(lt)));
    EXPECT_NEAR(log_det2, log_det, 1e-7);
    // The z term of log |det dw/dx| against a central difference (the amplitude depends on z too).
    const double h = 1e-6;
    double wp[D + 1], wm[D + 1];
    for (int sgn : {1, -1}) {
      double xs[D + 1];
      std::copy(x12, x12 + D + 1, xs);
      xs[D] += sgn * h;
      free.evaluate_flow(xs, 1, &lt, &chi2, unit.data());
      free.to_amplitude(xs, unit.data(), sgn > 0 ? wp : wm);
    }
    EXPECT_NEAR((wp[D] - wm[D]) / (2 * h), (z_hi - z_lo) / ((z - z_lo) * (z_hi - z)), 1e-4 * (z_hi - z_lo) / ((z - z_lo) * (z_hi - z)));
  }
  EXPECT_THROW(SedTarget(free_z_model(), prior::RedshiftPrior(0.1, 0.5), prior, nullptr, nullptr, 0, 0.0), ConfigError);  // beyond the model's z_max
}

// A histogram z prior (docs/photo-z.md, "Redshift prior") adds log p(z) relative to the uniform
// density to the target, in flow and in amplitude coordinates; the chi^2 is the uniform prior's.
TEST(PosteriorSedTarget, HistogramRedshiftPriorAddsItsLogDensity) {
  const prior::Prior prior;
  const double z_lo = 0.01, z_hi = 0.2;
  const prior::RedshiftPrior histogram(z_lo, z_hi, {1.0, 3.0, 0.0, 4.0});  // densities x 0.5, 1.5, 0, 2
  const double z = 0.06;                                                   // in bin 1
  const sps::FixedZModel at_z(sed_model(), z);
  const int B = at_z.num_bands();
  const Galaxy g = make_galaxy(prior, at_z, 31);
  const SedTarget flat(free_z_model(), prior::RedshiftPrior(z_lo, z_hi), prior, g.flux.data(), g.sigma.data(), B, 0.02);
  const SedTarget shaped(free_z_model(), histogram, prior, g.flux.data(), g.sigma.data(), B, 0.02);
  double x12[D + 1];
  std::copy(g.x.begin(), g.x.end(), x12);
  std::vector<double> unit(static_cast<std::size_t>(B));
  for (const auto& [zz, log_ratio] : {std::pair{z, std::log(1.5)}, std::pair{0.16, std::log(2.0)}}) {
    x12[D] = zz;
    double lt_flat, chi2_flat, lt, chi2;
    flat.evaluate_flow(x12, 1, &lt_flat, &chi2_flat, unit.data());
    shaped.evaluate_flow(x12, 1, &lt, &chi2, unit.data());
    EXPECT_EQ(chi2, chi2_flat);
    EXPECT_NEAR(lt - lt_flat, log_ratio, 1e-12) << "z " << zz;
    double w[D + 1], back[D + 1], lt_w, chi2_w, log_det;
    shaped.to_amplitude(x12, unit.data(), w);
    shaped.evaluate_amplitude(w, 1, back, &lt_w, &chi2_w, unit.data(), &log_det);
    EXPECT_NEAR(lt_w, lt, 1e-7 * (1 + std::abs(lt)));
  }
  x12[D] = 0.12;  // the empty bin: outside the support
  double lt, chi2;
  shaped.evaluate_flow(x12, 1, &lt, &chi2, unit.data());
  EXPECT_TRUE(std::isinf(lt) && lt < 0);
  EXPECT_TRUE(std::isfinite(chi2));
}

TEST(PosteriorSedTarget, AmplitudeOutsideTheMassPriorIsExcluded) {
  const prior::Prior prior;
  const sps::FixedZModel at_z(sed_model(), 0.05);
  const int B = at_z.num_bands();
  const Galaxy g = make_galaxy(prior, at_z, 5);
  const SedTarget target(at_z, prior, g.flux.data(), g.sigma.data(), B, 0.0);
  double w[D] = {}, x[D], lt, chi2, log_det;
  std::vector<double> unit(static_cast<std::size_t>(B));
  w[0] = -1e6;  // M = M_hat - 1e6 sigma_M < 0
  target.evaluate_amplitude(w, 1, x, &lt, &chi2, unit.data(), &log_det);
  EXPECT_TRUE(std::isinf(lt) && lt < 0);
  EXPECT_TRUE(std::isnan(log_det));
}

}  // namespace
}  // namespace sedpost::posterior
