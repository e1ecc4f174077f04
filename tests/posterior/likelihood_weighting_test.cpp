// Likelihood-checked posterior of one galaxy (src/posterior/likelihood_weighting.hpp): an
// untrained flow is a poor proposal, so the refinement must carry the weights to min_ess and
// put the posterior where the likelihood is; the resample-move stage
// (src/posterior/resample_move.hpp) must spread a too-narrow sample over the posterior.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <utility>
#include <vector>

#include "core/rng.hpp"
#include "flow/flow.hpp"
#include "posterior/importance.hpp"
#include "posterior/likelihood_weighting.hpp"
#include "posterior/resample_move.hpp"
#include "posterior_test_util.hpp"
#include "prior/prior.hpp"
#include "sps/fixed_z_model.hpp"

namespace sedpost::posterior {
namespace {

constexpr int D = static_cast<int>(prior::kNumFlow);

flow::Flow untrained_flow(const prior::Prior& prior) {
  flow::MafConfig cfg;
  cfg.n_theta = D;
  cfg.n_x = 3;
  cfg.n_blocks = 2;
  cfg.hidden = 16;
  cfg.seed = 3;
  flow::FlowMetadata meta;
  meta.theta_lower.assign(prior.flow_lower().begin(), prior.flow_lower().end());
  meta.theta_upper.assign(prior.flow_upper().begin(), prior.flow_upper().end());
  return flow::Flow(cfg, meta);
}

struct Fixture {
  prior::Prior prior;
  sps::FixedZModel at_z{test::sed_model(), 0.05};
  flow::Flow flow = untrained_flow(prior);
  prior::FlowCoords truth{};
  std::vector<double> flux, sigma;
  std::vector<float> x_cond{0.1f, -0.2f, 0.3f};
  Fixture() {
    Rng rng(21, RngStream::kTest, 0);
    truth = prior.sample_flow(rng);
    truth[0] = 10.3;
    const prior::Physical p = prior.to_physical(truth);
    flux.resize(static_cast<std::size_t>(at_z.num_bands()));
    at_z.evaluate(p.data(), flux.data());
    for (double f : flux) sigma.push_back(0.03 * std::abs(f));
  }
  WeightedDraws run(const PosteriorSettings& s, std::uint64_t row) const {
    const SedTarget target(at_z, prior, flux.data(), sigma.data(), at_z.num_bands(), 0.0);
    std::vector<float> theta(static_cast<std::size_t>(s.n_samples) * D), log_q(static_cast<std::size_t>(s.n_samples));
    flow.sample(x_cond.data(), 1, s.n_samples, s.seed, theta.data(), log_q.data(), static_cast<std::int64_t>(row));
    return LikelihoodWeighting(flow, s).run(target, x_cond.data(), theta.data(), log_q.data(), row);
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

TEST(PosteriorLikelihoodWeighting, RefinementCarriesAPoorProposalToTheLikelihood) {
  for (const bool defensive : {false, true}) {
    SCOPED_TRACE(defensive ? "defensive mixture" : "two groups");
    PosteriorSettings s;
    s.n_samples = 500;
    s.min_ess = 100;
    s.max_rounds = 12;
    s.seed = 5;
    s.defensive = defensive;
    const WeightedDraws d = fixture().run(s, 7);
    ASSERT_EQ(d.n, 500 * (1 + d.rounds));
    EXPECT_GT(d.rounds, 0) << "an untrained flow should not reach ESS 100 by itself";
    EXPECT_GE(d.ess, s.min_ess);
    EXPECT_NEAR(effective_sample_size(d.w), d.ess, 1e-9);
    double sum = 0, mean = 0, var = 0;
    for (int i = 0; i < d.n; ++i) {
      sum += d.w[static_cast<std::size_t>(i)];
      mean += d.w[static_cast<std::size_t>(i)] * d.x[static_cast<std::size_t>(i) * D];
    }
    for (int i = 0; i < d.n; ++i) {
      const double dx = d.x[static_cast<std::size_t>(i) * D] - mean;
      var += d.w[static_cast<std::size_t>(i)] * dx * dx;
    }
    EXPECT_NEAR(sum, 1.0, 1e-9);
    // The fluxes are noiseless, so the truth sits at the likelihood's peak: the posterior mass
    // must be near it (3 % errors: log M* to ~0.1 dex, widened by the dust-age degeneracies).
    EXPECT_LT(std::abs(mean - fixture().truth[0]), 3.0 * std::sqrt(var) + 0.02);
    EXPECT_LT(std::sqrt(var), 0.5);
    ASSERT_GE(d.best, 0);
    EXPECT_LT(d.chi2[static_cast<std::size_t>(d.best)], 3.0);  // chi^2 = 0 at the truth
  }
}

TEST(PosteriorLikelihoodWeighting, DrawsDependOnSeedAndRowOnly) {
  PosteriorSettings s;
  s.n_samples = 200;
  s.min_ess = 50;
  s.max_rounds = 2;
  const WeightedDraws a = fixture().run(s, 3), b = fixture().run(s, 3), c = fixture().run(s, 4);
  ASSERT_EQ(a.n, b.n);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.w, b.w);
  EXPECT_NE(a.x, c.x);
}

TEST(PosteriorLikelihoodWeighting, NoRefinementWhenRoundsAreZero) {
  PosteriorSettings s;
  s.n_samples = 300;
  s.max_rounds = 0;
  const WeightedDraws d = fixture().run(s, 9);
  EXPECT_EQ(d.rounds, 0);
  EXPECT_EQ(d.n, 300);
}

/// Weighted mean and std of flow coordinate k over draws x [n, D] with weights w [n].
std::pair<double, double> moments(const std::vector<double>& x, const std::vector<double>& w, int k) {
  double sw = 0, mean = 0, var = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    sw += w[i];
    mean += w[i] * x[i * D + static_cast<std::size_t>(k)];
  }
  mean /= sw;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double dx = x[i * D + static_cast<std::size_t>(k)] - mean;
    var += w[i] * dx * dx;
  }
  return {mean, std::sqrt(var / sw)};
}

/// The reference posterior: many refinement rounds, ESS >= 2,000.
const WeightedDraws& reference() {
  static const WeightedDraws d = [] {
    PosteriorSettings s;
    s.n_samples = 4000;
    s.min_ess = 2000;
    s.max_rounds = 40;
    s.seed = 11;
    return fixture().run(s, 1);
  }();
  return d;
}

TEST(PosteriorResampleMove, MovedDrawsReplaceTheWeightedOnes) {
  PosteriorSettings s;
  s.n_samples = 500;
  s.min_ess = 100;
  s.seed = 5;
  s.moves = 5;
  s.move_draws = 400;
  const WeightedDraws d = fixture().run(s, 7);
  ASSERT_GE(d.n, 400);
  ASSERT_LE(d.n, 401);  // the best weighted draw may be appended with weight 0
  EXPECT_EQ(d.evaluations, 500L * (1 + d.rounds) + 400L * 5);
  for (int i = 0; i < 400; ++i) EXPECT_DOUBLE_EQ(d.w[static_cast<std::size_t>(i)], 1.0 / 400);
  if (d.n == 401) {
    EXPECT_EQ(d.w[400], 0.0);
  }
  EXPECT_GT(d.acceptance, 0.02);
  EXPECT_LT(d.acceptance, 0.9);
  ASSERT_GE(d.best, 0);
  for (int i = 0; i < d.n; ++i) EXPECT_LE(d.chi2[static_cast<std::size_t>(d.best)], d.chi2[static_cast<std::size_t>(i)]);
  // The same draws for the same (seed, row).
  const WeightedDraws again = fixture().run(s, 7);
  EXPECT_EQ(again.x, d.x);
}

TEST(PosteriorResampleMove, MovesSpreadFewDistinctDrawsAndKeepThePosterior) {
  // 20 draws resampled by weight from the reference: a posterior sample, but of only 20
  // distinct points. Resampling 1,000 from them and moving each must give ~1,000 distinct
  // draws with the reference's moments (every step leaves the posterior invariant).
  const WeightedDraws& ref = reference();
  ASSERT_GE(ref.ess, 2000);
  const std::vector<std::size_t> picks = systematic_resample(ref.w, 20, 0.5);
  const Fixture& f = fixture();
  const SedTarget target(f.at_z, f.prior, f.flux.data(), f.sigma.data(), f.at_z.num_bands(), 0.0);
  const int B = target.n_bands(), n = 20;
  std::vector<double> x(static_cast<std::size_t>(n) * D), amp(x.size()), log_target(n), chi2(n), log_det(n),
      unit(static_cast<std::size_t>(n) * B), w(n, 1.0 / n);
  for (int j = 0; j < n; ++j) std::copy_n(&ref.x[picks[static_cast<std::size_t>(j)] * D], D, &x[static_cast<std::size_t>(j) * D]);
  target.evaluate_flow(x.data(), n, log_target.data(), chi2.data(), unit.data());
  for (int j = 0; j < n; ++j)
    log_det[static_cast<std::size_t>(j)] = target.to_amplitude(&x[static_cast<std::size_t>(j) * D],
                                                               &unit[static_cast<std::size_t>(j) * B],
                                                               &amp[static_cast<std::size_t>(j) * D]);
  const WeightedPool pool{&x, &amp, &chi2, &log_target, &log_det, &w};
  Rng rng(3, RngStream::kTest, 0);
  const MovedDraws moved = resample_move(target, pool, 1000, 20, 50, rng);
  ASSERT_EQ(moved.m, 1000);
  EXPECT_EQ(moved.evaluations, 1000L * 20);
  EXPECT_NEAR(moved.acceptance, 0.234, 0.1);  // the scale adapts towards it
  std::vector<double> first(1000);
  for (std::size_t j = 0; j < 1000; ++j) first[j] = moved.x[j * D];
  std::sort(first.begin(), first.end());
  const auto distinct = std::unique(first.begin(), first.end()) - first.begin();
  EXPECT_GT(distinct, 900) << "the moves should leave few of the 20 starting points unmoved";
  // Moments of every coordinate against the reference: 1,000 moved draws from 20 posterior
  // draws, so the tolerance is that of a ~20-draw estimate (std error of a mean s / sqrt(20) =
  // 0.22 s, of a std ~16 %), not of 1,000 independent draws.
  for (int k = 0; k < D; ++k) {
    const auto [m_ref, s_ref] = moments(ref.x, ref.w, k);
    const auto [m_mv, s_mv] = moments(moved.x, std::vector<double>(1000, 1.0), k);
    SCOPED_TRACE(k);
    EXPECT_LT(std::abs(m_mv - m_ref), 0.6 * s_ref);
    EXPECT_GT(s_mv / s_ref, 0.6);
    EXPECT_LT(s_mv / s_ref, 1.5);
  }
  // Moved draws stay inside the prior box, with their chi^2 finite.
  for (double c : moved.chi2) EXPECT_TRUE(std::isfinite(c));
}

TEST(PosteriorResampleMove, NothingToMoveWithoutAmplitudeCoordinates) {
  const Fixture& f = fixture();
  const SedTarget target(f.at_z, f.prior, f.flux.data(), f.sigma.data(), f.at_z.num_bands(), 0.0);
  std::vector<double> x(D, 0.0), amp(D, 0.0), chi2{1.0}, log_target{-0.5}, log_det{std::nan("")}, w{1.0};
  Rng rng(3, RngStream::kTest, 1);
  const MovedDraws moved = resample_move(target, WeightedPool{&x, &amp, &chi2, &log_target, &log_det, &w}, 10, 5, 50, rng);
  EXPECT_EQ(moved.m, 0);
  EXPECT_TRUE(moved.x.empty());
}

}  // namespace
}  // namespace sedpost::posterior
