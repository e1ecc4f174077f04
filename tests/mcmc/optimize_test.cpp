#include "mcmc/optimize.hpp"

#include "mcmc/gaussian_mixture.hpp"

#include "core/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace sedpost::mcmc {
namespace {

TEST(McmcOptimize, NelderMeadFindsQuadraticMinimum) {
  Eigen::MatrixXd A(5, 5);
  Rng rng(1, RngStream::kTest, 10);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) A(i, j) = rng.normal();
  const Eigen::MatrixXd H = A * A.transpose() + Eigen::MatrixXd::Identity(5, 5);
  const Eigen::VectorXd c = (Eigen::VectorXd(5) << 1.0, -2.0, 0.5, 3.0, -0.25).finished();
  auto f = [&](const Eigen::VectorXd& x) { return (x - c).dot(H * (x - c)) + 3.0; };
  NelderMeadSettings s;
  s.initial_step = 0.5;
  const MinimizeResult r = nelder_mead(f, Eigen::VectorXd::Zero(5), s);
  EXPECT_TRUE(r.converged);
  EXPECT_NEAR(r.value, 3.0, 1e-9);
  EXPECT_LT((r.x - c).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(McmcOptimize, FindMapPicksBestModeAndSkipsInvalidStarts) {
  // Two Gaussian bumps (heights 0 and -1) inside a box; starts outside the box are skipped.
  const BatchLogDensity f = batch_from_scalar([](const Eigen::Ref<const Eigen::VectorXd>& t) {
    if (t.cwiseAbs().maxCoeff() > 10.0) return -std::numeric_limits<double>::infinity();
    const double a = -((t.array() - 3.0).square().sum());
    const double b = -1.0 - ((t.array() + 3.0).square().sum());
    return std::max(a, b);
  });
  Eigen::MatrixXd starts(3, 2);
  starts << -2.5, -2.5, 20.0, 20.0, 2.0, 2.5;
  const MapResult m = find_map(f, starts);
  EXPECT_EQ(m.best_start, 2);
  EXPECT_EQ(m.runs.size(), 2u);
  EXPECT_NEAR(m.log_prob, 0.0, 1e-9);
  EXPECT_LT((m.theta.array() - 3.0).abs().maxCoeff(), 1e-5);
  EXPECT_THROW(find_map(f, Eigen::MatrixXd::Constant(1, 2, 50.0)), NumericsError);
}

TEST(McmcOptimize, InitWalkersStayInsideSupport) {
  const BatchLogDensity f = batch_from_scalar([](const Eigen::Ref<const Eigen::VectorXd>& t) {
    return (t.array() < 0.0).any() ? -std::numeric_limits<double>::infinity() : -t.sum();
  });
  Rng rng(3, RngStream::kTest, 11);
  const Eigen::MatrixXd w = init_walkers_around(f, Eigen::Vector3d(0.0, 0.1, 1.0), Eigen::Vector3d(0.1, 0.1, 0.1), 24, rng);
  EXPECT_EQ(w.rows(), 24);
  EXPECT_GE(w.minCoeff(), 0.0);
  EXPECT_GT((w.rowwise() - Eigen::RowVector3d(0.0, 0.1, 1.0)).cwiseAbs().maxCoeff(), 0.0);
  Rng rng2(3, RngStream::kTest, 12);
  EXPECT_THROW(init_walkers_around(f, Eigen::Vector3d::Constant(-5.0), Eigen::VectorXd::Constant(1, 0.1), 4, rng2, 10),
               NumericsError);
}

TEST(McmcGaussianMixture, FindsTwoClustersByBic) {
  Rng rng(4, RngStream::kTest, 13);
  Eigen::MatrixXd x(40, 2);
  for (int i = 0; i < 40; ++i)
    for (int k = 0; k < 2; ++k) x(i, k) = (i < 15 ? -5.0 : 5.0) + 0.5 * rng.normal();
  const GaussianMixture g = fit_gaussian_mixture(x, GmmSettings{}, rng);
  ASSERT_EQ(g.n_components(), 2);
  for (int i = 1; i < 15; ++i) EXPECT_EQ(g.labels[i], g.labels[0]);
  for (int i = 16; i < 40; ++i) EXPECT_EQ(g.labels[i], g.labels[15]);
  EXPECT_NE(g.labels[0], g.labels[15]);
  const int light = g.labels[0];
  EXPECT_NEAR(g.weights[light], 15.0 / 40.0, 1e-6);
  EXPECT_LT((g.means[light].array() + 5.0).abs().maxCoeff(), 0.5);
  // One blob: BIC prefers one component.
  const GaussianMixture one = fit_gaussian_mixture(x.bottomRows(25), GmmSettings{}, rng);
  EXPECT_EQ(one.n_components(), 1);
}

}  // namespace
}  // namespace sedpost::mcmc
