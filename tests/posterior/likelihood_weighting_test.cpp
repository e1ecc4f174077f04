// Likelihood-checked posterior of one galaxy (src/posterior/likelihood_weighting.hpp): an
// untrained flow is a poor proposal, so the refinement must carry the weights to min_ess and
// put the posterior where the likelihood is.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/rng.hpp"
#include "flow/flow.hpp"
#include "posterior/importance.hpp"
#include "posterior/likelihood_weighting.hpp"
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

}  // namespace
}  // namespace sedpost::posterior
