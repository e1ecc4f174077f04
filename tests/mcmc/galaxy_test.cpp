// The per-galaxy posterior and sampling run of `sedpost mcmc` (src/mcmc/galaxy_posterior.hpp,
// src/mcmc/galaxy_run.hpp) on the SED model of the demo config (BC03, SDSS ugriz, z <= 0.2)
// from $SEDPOST_DATA_DIR (else ../shared/data; tests/posterior/posterior_test_util.hpp).
#include <gtest/gtest.h>

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "mcmc/diagnostics.hpp"
#include "mcmc/galaxy_posterior.hpp"
#include "mcmc/galaxy_run.hpp"
#include "../posterior/posterior_test_util.hpp"
#include "prior/prior.hpp"
#include "sps/fixed_z_model.hpp"
#include "sps/sed_model.hpp"

namespace sedpost::mcmc {
namespace {

constexpr int D = static_cast<int>(prior::kNumFlow);
constexpr double kInf = std::numeric_limits<double>::infinity();

using posterior::test::Galaxy;
using posterior::test::sed_model;
using posterior::test::free_z_model;

/// Test galaxy `index` of this file's stream (log M* = 10, noiseless fluxes, 5 % errors).
Galaxy make_galaxy(const prior::Prior& prior, const sps::FixedZModel& at_z, std::uint64_t index) {
  return posterior::test::make_galaxy(prior, at_z, 17, index);
}

/// Flow coordinates well inside the box: prior draws with log M* in [9.5, 10.5].
Eigen::MatrixXd inner_points(const prior::Prior& prior, int n, std::uint64_t index) {
  Rng rng(23, RngStream::kTest, index);
  Eigen::MatrixXd x(n, D);
  for (int i = 0; i < n; ++i) {
    prior::FlowCoords xi = prior.sample_flow(rng);
    xi[0] = 9.5 + rng.uniform();
    for (int k = 0; k < D; ++k) x(i, k) = xi[k];
  }
  return x;
}

/// -0.5 chi^2 + log prior at flow coordinates x, computed here: one SED evaluation, the bands
/// with finite sigma, the uniform density -log(box volume).
double expected_log_prob(const prior::Prior& prior, const sps::FixedZModel& at_z, const Galaxy& g,
                         const prior::FlowCoords& x) {
  const prior::Physical p = prior.to_physical(x);
  std::vector<double> f(g.flux.size());
  at_z.evaluate(p.data(), f.data());
  double chi2 = 0.0;
  for (std::size_t b = 0; b < f.size(); ++b) {
    if (std::isinf(g.sigma[b])) continue;
    const double r = (f[b] - g.flux[b]) / g.sigma[b];
    chi2 += r * r;
  }
  double log_volume = 0.0;
  for (int k = 0; k < D; ++k) log_volume += std::log(prior.flow_upper()[k] - prior.flow_lower()[k]);
  return -0.5 * chi2 - log_volume;
}

TEST(McmcGalaxyPosterior, CoordinateNames) {
  EXPECT_EQ(sampled_coords_from_string("box"), SampledCoords::kBox);
  EXPECT_EQ(sampled_coords_from_string("unbounded"), SampledCoords::kUnbounded);
  EXPECT_EQ(sampled_coords_from_string("amplitude"), SampledCoords::kAmplitude);
  EXPECT_THROW(sampled_coords_from_string("logit"), ConfigError);
}

// In the box coordinates the log density is the chi^2 formula plus the uniform prior; a band
// with sigma = +inf has no term whatever its flux; -inf outside the box and at non-finite points.
TEST(McmcGalaxyPosterior, BoxLogProbIsChiSquarePlusPrior) {
  const prior::Prior prior;
  const sps::FixedZModel at_z(sed_model(), 0.05);
  Galaxy g = make_galaxy(prior, at_z, 0);
  const int B = at_z.num_bands();
  const Eigen::MatrixXd x = inner_points(prior, 5, 0);
  for (const bool drop_band : {false, true}) {
    if (drop_band) {
      g.flux[1] = std::nan("");
      g.sigma[1] = kInf;
    }
    GalaxyPosterior post(at_z, prior, g.flux.data(), g.sigma.data(), B, SampledCoords::kBox);
    Eigen::VectorXd lp(x.rows());
    post(x, lp);
    EXPECT_EQ(post.n_evals(), x.rows());
    for (int i = 0; i < x.rows(); ++i) {
      prior::FlowCoords xi{};
      for (int k = 0; k < D; ++k) xi[k] = x(i, k);
      const double expected = expected_log_prob(prior, at_z, g, xi);
      ASSERT_TRUE(std::isfinite(expected));
      // evaluate() and evaluate_batch() agree to float rounding (FixedZModel), ~1e-7 relative.
      EXPECT_NEAR(lp[i], expected, 1e-5 * (1.0 + std::abs(expected))) << "row " << i << " drop " << drop_band;
    }
  }
  // At the noiseless truth chi^2 = 0: the density is the prior's.
  GalaxyPosterior post(at_z, prior, g.flux.data(), g.sigma.data(), B, SampledCoords::kBox);
  Eigen::MatrixXd t(1, D);
  for (int k = 0; k < D; ++k) t(0, k) = g.x[k];
  Eigen::VectorXd lp(1);
  post(t, lp);
  EXPECT_NEAR(lp[0], prior.log_prob_flow(g.x), 1e-6);

  Eigen::MatrixXd out = x.topRows(3);
  out(0, 9) = -0.1;                                          // tau_bc < 0
  out(1, 0) = prior.flow_upper()[0] + 0.1;                   // log M* above the box
  out(2, 4) = std::numeric_limits<double>::quiet_NaN();      // not a point
  Eigen::VectorXd lp_out(3);
  const long evals = post.n_evals();
  post(out, lp_out);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(lp_out[i], -kInf) << i;
  EXPECT_EQ(post.n_evals(), evals);  // no model call outside the support
}

// The unbounded and amplitude coordinates: x -> y -> x round-trips, to_flow returns the box
// coordinates' log density, and the difference of the two log densities is log |det dx/dy|
// (central differences of to_flow; dx/dy is triangular: x_k, k >= 1, depends on y_k only).
TEST(McmcGalaxyPosterior, SampledCoordinatesRoundTripWithTheirJacobian) {
  const prior::Prior prior;
  const sps::FixedZModel at_z(sed_model(), 0.08);
  const Galaxy g = make_galaxy(prior, at_z, 1);
  const int B = at_z.num_bands();
  const Eigen::MatrixXd x = inner_points(prior, 4, 1);
  GalaxyPosterior box(at_z, prior, g.flux.data(), g.sigma.data(), B, SampledCoords::kBox);
  Eigen::VectorXd lp_box(x.rows());
  box(x, lp_box);
  for (const SampledCoords c : {SampledCoords::kUnbounded, SampledCoords::kAmplitude}) {
    const char* name = c == SampledCoords::kUnbounded ? "unbounded" : "amplitude";
    GalaxyPosterior post(at_z, prior, g.flux.data(), g.sigma.data(), B, c);
    EXPECT_TRUE((post.scale().array() == 4.0).all());
    const Eigen::MatrixXd y = post.from_flow(x);
    Eigen::VectorXd lp(y.rows());
    post(y, lp);
    Eigen::MatrixXd x_back;
    Eigen::VectorXd lp_flow;
    post.to_flow(y, lp, x_back, lp_flow);
    for (int i = 0; i < x.rows(); ++i) {
      SCOPED_TRACE(std::string(name) + " row " + std::to_string(i));
      for (int k = 0; k < D; ++k) EXPECT_NEAR(x_back(i, k), x(i, k), 1e-6) << k;
      EXPECT_NEAR(lp_flow[i], lp_box[i], 1e-5 * (1.0 + std::abs(lp_box[i])));
      // log |det dx/dy| = sum_k log |dx_k / dy_k| at y_i.
      double log_det = 0.0;
      const double h = 1e-5;
      for (int k = 0; k < D; ++k) {
        Eigen::MatrixXd yp = y.row(i), ym = y.row(i);
        yp(0, k) += h;
        ym(0, k) -= h;
        Eigen::MatrixXd xp, xm;
        Eigen::VectorXd unused;
        post.to_flow(yp, Eigen::VectorXd::Zero(1), xp, unused);
        post.to_flow(ym, Eigen::VectorXd::Zero(1), xm, unused);
        log_det += std::log(std::abs((xp(0, k) - xm(0, k)) / (2 * h)));
      }
      EXPECT_NEAR(lp[i] - lp_flow[i], log_det, 1e-6);
    }
  }
  // A mass outside the prior's range has no preimage in the box: -inf in amplitude coordinates.
  GalaxyPosterior amp(at_z, prior, g.flux.data(), g.sigma.data(), B, SampledCoords::kAmplitude);
  Eigen::MatrixXd y = amp.from_flow(x.topRows(1));
  y(0, 0) = -1e30;  // M = M_hat - 1e30 sigma_M < 0
  Eigen::VectorXd lp(1);
  amp(y, lp);
  EXPECT_EQ(lp[0], -kInf);
}

// With a spectrum the log density differs from the photometric one by exactly -0.5 chi^2_spec
// of each point's theta, in every sampled coordinate system and in to_flow's logp_flow.
TEST(McmcGalaxyPosterior, SpectrumAddsMinusHalfChi2SpecInEveryCoordinateSystem) {
  const prior::Prior prior;
  const double z = 0.08;
  const sps::FixedZModel at_z(sed_model(), z);
  const Galaxy g = make_galaxy(prior, at_z, 2);
  const int B = at_z.num_bands();
  const prior::Physical truth = prior.to_physical(g.x);
  const std::vector<float> obs = posterior::test::observed_spectrum(truth.data(), z, 3);
  const posterior::SpectrumLikelihood like(sed_model(), posterior::test::spectrograph(), obs.data(), z);
  const Eigen::MatrixXd x = inner_points(prior, 3, 2);
  std::vector<double> term(static_cast<std::size_t>(x.rows()));
  for (int i = 0; i < x.rows(); ++i) {
    prior::FlowCoords xi{};
    for (int k = 0; k < D; ++k) xi[k] = x(i, k);
    const prior::Physical p = prior.to_physical(xi);
    term[static_cast<std::size_t>(i)] = -0.5 * like.chi2(p.data(), z);
    ASSERT_LT(term[static_cast<std::size_t>(i)], 0.0);
  }
  for (const SampledCoords c : {SampledCoords::kBox, SampledCoords::kUnbounded, SampledCoords::kAmplitude}) {
    GalaxyPosterior photo(at_z, prior, g.flux.data(), g.sigma.data(), B, c);
    GalaxyPosterior spec(at_z, prior, g.flux.data(), g.sigma.data(), B, c, &like);
    const Eigen::MatrixXd y = photo.from_flow(x);
    Eigen::VectorXd lp0(y.rows()), lp1(y.rows());
    photo(y, lp0);
    spec(y, lp1);
    Eigen::MatrixXd x0, x1;
    Eigen::VectorXd f0, f1;
    photo.to_flow(y, lp0, x0, f0);
    spec.to_flow(y, lp1, x1, f1);
    for (int i = 0; i < x.rows(); ++i) {
      const double t = term[static_cast<std::size_t>(i)];
      // The spectrum is mass-free: the unit-mass theta of kAmplitude gives the same term to
      // rounding of the SED (float), ~1e-7 relative.
      EXPECT_NEAR(lp1[i] - lp0[i], t, 1e-6 * std::abs(t)) << static_cast<int>(c) << " row " << i;
      EXPECT_NEAR(f1[i] - f0[i], t, 1e-6 * std::abs(t)) << static_cast<int>(c) << " row " << i;
    }
  }
}

// Photo-z mode: with z free the box log density at (x, z) is the fixed-z one at z minus
// log(z_max - z_min) (the flat z prior); the sampled coordinates round-trip, their log density
// differs by log |det dx/dy| including z's logit term, and a z outside the range is -inf.
TEST(McmcGalaxyPosterior, FreeRedshiftMatchesFixedAndRoundTrips) {
  const prior::Prior prior;
  const double z = 0.08, z_lo = 0.01, z_hi = 0.2;
  const sps::FixedZModel at_z(sed_model(), z);
  const Galaxy g = make_galaxy(prior, at_z, 3);
  const int B = at_z.num_bands();
  const Eigen::MatrixXd x = inner_points(prior, 4, 2);
  Eigen::MatrixXd xz(x.rows(), D + 1);
  xz.leftCols(D) = x;
  xz.col(D).setConstant(z);
  GalaxyPosterior fixed(at_z, prior, g.flux.data(), g.sigma.data(), B, SampledCoords::kBox);
  GalaxyPosterior box(free_z_model(), prior::RedshiftPrior(z_lo, z_hi), prior, g.flux.data(), g.sigma.data(), B, SampledCoords::kBox);
  ASSERT_EQ(box.dim(), D + 1);
  EXPECT_EQ(box.bounded_axes().size(), static_cast<std::size_t>(D + 1));
  Eigen::VectorXd lp_fixed(x.rows()), lp_box(x.rows());
  fixed(x, lp_fixed);
  box(xz, lp_box);
  for (int i = 0; i < x.rows(); ++i)
    EXPECT_NEAR(lp_box[i], lp_fixed[i] - std::log(z_hi - z_lo), 1e-6 * (1 + std::abs(lp_fixed[i])));
  Eigen::MatrixXd out = xz.topRows(1);
  out(0, D) = z_hi + 0.01;
  Eigen::VectorXd lp1(1);
  box(out, lp1);
  EXPECT_EQ(lp1[0], -kInf);
  for (const SampledCoords c : {SampledCoords::kUnbounded, SampledCoords::kAmplitude}) {
    GalaxyPosterior post(free_z_model(), prior::RedshiftPrior(z_lo, z_hi), prior, g.flux.data(), g.sigma.data(), B, c);
    const Eigen::MatrixXd y = post.from_flow(xz);
    Eigen::VectorXd lp(y.rows());
    post(y, lp);
    Eigen::MatrixXd x_back;
    Eigen::VectorXd lp_flow;
    post.to_flow(y, lp, x_back, lp_flow);
    for (int i = 0; i < x.rows(); ++i) {
      for (int k = 0; k <= D; ++k) EXPECT_NEAR(x_back(i, k), xz(i, k), 1e-6) << k;
      EXPECT_NEAR(lp_flow[i], lp_box[i], 1e-5 * (1.0 + std::abs(lp_box[i])));
      // z's term of log |det dx/dy|: dz/dy = (z - lo)(hi - z) / (hi - lo) for the logit.
      const double dz = (z - z_lo) * (z_hi - z) / (z_hi - z_lo);
      GalaxyPosterior fixed_c(at_z, prior, g.flux.data(), g.sigma.data(), B, c);
      const Eigen::MatrixXd y11 = fixed_c.from_flow(x.row(i));
      Eigen::VectorXd lp11(1), lp11_flow;
      Eigen::MatrixXd x11;
      fixed_c(y11, lp11);
      fixed_c.to_flow(y11, lp11, x11, lp11_flow);
      EXPECT_NEAR(lp[i] - lp_flow[i], (lp11[0] - lp11_flow[0]) + std::log(dz), 1e-6);
    }
  }
}

// Up to kMaxRows kept steps the probe holds the whole chain: its diagnostics are those of the
// chain. Beyond, it thins by powers of two and scales tau back to kept steps.
TEST(McmcConvergenceProbe, ExactUpToMaxRowsThenThinned) {
  const int W = 22, n = 3 * ConvergenceProbe::kMaxRows;
  const double rho = 0.9;  // AR(1): tau = (1 + rho) / (1 - rho) = 19
  EarlyStopSettings es;
  ConvergenceProbe probe(W, es);
  EXPECT_TRUE(std::isnan(probe.diagnose(0).tau[0]));
  SamplerResult full;
  full.n_dim = D;
  full.n_walkers = W;
  Rng rng(3, RngStream::kTest, 0);
  Eigen::MatrixXd pos = Eigen::MatrixXd::Zero(W, D);
  for (int w = 0; w < W; ++w)
    for (int k = 0; k < D; ++k) pos(w, k) = rng.normal();
  const int n_exact = ConvergenceProbe::kMaxRows - 96;
  for (int kept = 1; kept <= n; ++kept) {
    for (int w = 0; w < W; ++w)
      for (int k = 0; k < D; ++k) pos(w, k) = rho * pos(w, k) + std::sqrt(1 - rho * rho) * rng.normal();
    probe.add(kept, pos);
    for (int w = 0; w < W; ++w)
      for (int k = 0; k < D; ++k) full.chain.push_back(pos(w, k));
    full.n_steps = kept;
    if (kept == 3) {
      EXPECT_TRUE(std::isnan(probe.diagnose(kept).rhat[0]));
    }
    if (kept == n_exact) {
      const ChainDiagnostics p = probe.diagnose(kept);
      const ChainDiagnostics f = diagnose(full, es.window_c, es.min_tau_multiple, es.max_rhat);
      for (int k = 0; k < D; ++k) {
        EXPECT_EQ(p.tau[k], f.tau[k]) << k;
        EXPECT_EQ(p.rhat[k], f.rhat[k]) << k;
        EXPECT_DOUBLE_EQ(p.ess[k], static_cast<double>(kept) * W / f.tau[k]) << k;
      }
      EXPECT_EQ(p.converged, f.converged);
    }
  }
  const ChainDiagnostics p = probe.diagnose(n);
  const ChainDiagnostics f = diagnose(full, es.window_c, es.min_tau_multiple, es.max_rhat);
  for (int k = 0; k < D; ++k) {
    EXPECT_NEAR(p.tau[k], f.tau[k], 0.15 * f.tau[k]) << k;
    EXPECT_NEAR(p.tau[k], 19.0, 0.2 * 19.0) << k;
    EXPECT_NEAR(p.rhat[k], 1.0, 0.01) << k;
  }
  // n = 12288 > 50 tau (~950) and R-hat ~ 1: the criterion holds.
  EXPECT_TRUE(p.converged);
}

// The flag bits and names are an output-file contract (/flags, attribute flag_names).
TEST(McmcGalaxyRun, FlagBitsAndNames) {
  const std::vector<std::string> names = {"bad_sigma", "bad_flux",      "bad_redshift", "no_finite_log_prob",
                                          "numerics",  "not_converged", "time_limit"};
  EXPECT_EQ(galaxy_flag_names(), names);
  EXPECT_EQ(kNumGalaxyFlags, 7);
  EXPECT_EQ(kFlagBadSigma, 0);
  EXPECT_EQ(kFlagNumerics, 4);
  EXPECT_EQ(kFlagTimeLimit, 6);
  GalaxyResult r(3, 22);
  EXPECT_EQ(r.chains.size(), 3u * 22u * 12u);
  EXPECT_EQ(r.log_prob.size(), 3u * 22u);
  r.flag(kFlagBadRedshift, "a");
  r.flag(kFlagNotConverged, "b");
  EXPECT_EQ(r.flags, (1u << 2) | (1u << 5));
  EXPECT_EQ(r.reason, "a; b");
  EXPECT_EQ(physical_slot(3), 3);
  EXPECT_EQ(physical_slot(4), 5);
  EXPECT_EQ(physical_slot(10), 11);
}

GalaxyRunSettings short_run() {
  GalaxyRunSettings s;
  s.sampler.n_walkers = 22;
  s.sampler.n_steps = 12;
  s.sampler.n_burn = 8;
  s.sampler.thin = 2;
  s.sampler.seed = 5;
  s.map_starts = 2;
  s.map_evals = 300;
  return s;
}

// Bad input is flagged without sampling; a short run fills the kept steps with finite physical
// theta and depends only on (seed, row).
TEST(McmcGalaxyRun, FlagsBadInputAndIsReproducible) {
  const prior::Prior prior;
  const sps::FixedZModel at_z(sed_model(), 0.05);
  const Galaxy g = make_galaxy(prior, at_z, 2);
  const GalaxyRunSetup run{sed_model(), prior, short_run()};
  const int S = 6, W = 22;

  std::vector<double> sigma = g.sigma;
  sigma[3] = -1.0;
  const GalaxyResult bad = run_galaxy(run, g.flux.data(), sigma.data(), 0.05, 0);
  EXPECT_EQ(bad.flags, 1u << kFlagBadSigma);
  EXPECT_NE(bad.reason.find("sigma of band 3"), std::string::npos) << bad.reason;
  EXPECT_EQ(bad.n_steps, 0);
  EXPECT_EQ(bad.n_evals, 0);
  EXPECT_TRUE(std::isnan(bad.chains[0]));
  const GalaxyResult far = run_galaxy(run, g.flux.data(), g.sigma.data(), 0.5, 0);
  EXPECT_EQ(far.flags, 1u << kFlagBadRedshift);

  const GalaxyResult a = run_galaxy(run, g.flux.data(), g.sigma.data(), 0.05, 7);
  EXPECT_EQ(a.flags, 0u) << a.reason;
  EXPECT_EQ(a.n_steps, S);
  ASSERT_EQ(a.chains.size(), static_cast<std::size_t>(S * W * 12));
  for (int s = 0; s < S; ++s) {
    for (int w = 0; w < W; ++w) {
      const float* t = a.chains.data() + (s * W + w) * 12;
      double beta = 0.0;
      for (int k = 0; k < 12; ++k) ASSERT_TRUE(std::isfinite(t[k])) << s << " " << w << " " << k;
      for (int k = 1; k <= 4; ++k) beta += t[k];
      EXPECT_NEAR(beta, 1.0, 1e-5);
      EXPECT_TRUE(std::isfinite(a.log_prob[s * W + w]));
    }
  }
  EXPECT_TRUE(std::isfinite(a.map_log_prob));
  EXPECT_GT(a.n_evals, 0);
  EXPECT_TRUE(std::isfinite(a.tau[0]) && std::isnan(a.tau[4]));

  const GalaxyResult again = run_galaxy(run, g.flux.data(), g.sigma.data(), 0.05, 7);
  EXPECT_EQ(again.chains, a.chains);
  EXPECT_EQ(again.log_prob, a.log_prob);
  EXPECT_EQ(again.n_evals, a.n_evals);
  const GalaxyResult other_row = run_galaxy(run, g.flux.data(), g.sigma.data(), 0.05, 8);
  EXPECT_NE(other_row.chains, a.chains);

  // Early stopping on: 6 kept steps cannot be > 50 tau, so the galaxy is flagged not_converged
  // and its chain is the same as without the checks.
  GalaxyRunSettings es = short_run();
  es.sampler.early_stop.enabled = true;
  es.sampler.early_stop.check_every = 2;
  const GalaxyResult checked = run_galaxy(GalaxyRunSetup{sed_model(), prior, es}, g.flux.data(), g.sigma.data(),
                                          0.05, 7);
  EXPECT_EQ(checked.flags, 1u << kFlagNotConverged) << checked.reason;
  EXPECT_EQ(checked.converged, 0);
  EXPECT_EQ(checked.chains, a.chains);
}

}  // namespace
}  // namespace sedpost::mcmc
