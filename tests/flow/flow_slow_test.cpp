// Statistical test (label slow): training on a linear-Gaussian problem recovers the analytic
// posterior mean and covariance.
#include <gtest/gtest.h>

#include <cmath>

#include "core/comm.hpp"
#include "core/rng.hpp"
#include "flow/flow.hpp"
#include "flow/train.hpp"

namespace sedpost::flow {
namespace {

// theta ~ N(0, I_2); x = A theta + s eps, A = [[1, 0.5], [-0.3, 1]], s = 0.5.
// Posterior: Sigma = (I + A^T A / s^2)^-1, mu = Sigma A^T x / s^2.
TEST(FlowTrainSlow, LinearGaussianPosteriorRecovered) {
  set_threads(0);
  const double A[2][2] = {{1.0, 0.5}, {-0.3, 1.0}}, s = 0.5;
  const std::int64_t n = 20000;
  std::vector<float> theta, x;
  Rng rng(11, RngStream::kTest, 0);
  for (std::int64_t i = 0; i < n; ++i) {
    const double t0 = rng.normal(), t1 = rng.normal();
    theta.push_back(static_cast<float>(t0));
    theta.push_back(static_cast<float>(t1));
    x.push_back(static_cast<float>(A[0][0] * t0 + A[0][1] * t1 + s * rng.normal()));
    x.push_back(static_cast<float>(A[1][0] * t0 + A[1][1] * t1 + s * rng.normal()));
  }
  MafConfig cfg;
  cfg.n_theta = 2;
  cfg.n_x = 2;
  cfg.n_blocks = 5;
  cfg.hidden = 50;
  cfg.seed = 1;
  Flow flow(cfg);
  TrainSettings st;
  st.batch_size = 50;  // sbi / SEDflow defaults: lr 5e-4, batch 50, patience 20
  st.learning_rate = 5e-4;
  st.max_epochs = 200;
  st.patience = 20;
  st.progress = false;
  SerialComm comm;
  const TrainResult r = train(comm, flow, st, theta.data(), x.data(), n);
  std::printf("trained %zu epochs, best val loss %.4f at %d, %.1f s\n", r.curve.size(),
              r.best_val_loss, r.best_epoch, r.seconds);

  // Analytic posterior.
  double P[2][2] = {{1, 0}, {0, 1}};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) P[i][j] += A[k][i] * A[k][j] / (s * s);
  const double det = P[0][0] * P[1][1] - P[0][1] * P[1][0];
  const double S[2][2] = {{P[1][1] / det, -P[0][1] / det}, {-P[1][0] / det, P[0][0] / det}};
  // Expected loss = E[-log p(theta|x)] = entropy of the posterior.
  const double entropy = 1.0 + std::log(2 * M_PI) + 0.5 * std::log(S[0][0] * S[1][1] - S[0][1] * S[1][0]);
  std::printf("best validation loss %.4f, exact posterior entropy %.4f\n", r.best_val_loss, entropy);
  EXPECT_NEAR(r.best_val_loss, entropy, 0.03);

  for (const auto& x0v : std::vector<std::vector<float>>{{0.f, 0.f}, {1.5f, -1.0f}, {-2.f, 2.5f}}) {
    const auto smp = flow.sample(x0v, 40000, 3);
    double m[2] = {0, 0}, c[2][2] = {{0, 0}, {0, 0}};
    const std::size_t N = smp.size() / 2;
    for (std::size_t i = 0; i < N; ++i)
      for (int a = 0; a < 2; ++a) m[a] += smp[2 * i + a] / static_cast<double>(N);
    for (std::size_t i = 0; i < N; ++i)
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) c[a][b] += (smp[2 * i + a] - m[a]) * (smp[2 * i + b] - m[b]) / (N - 1.0);
    double mu[2];
    for (int a = 0; a < 2; ++a) {
      double atx = 0;
      mu[a] = 0;
      for (int b = 0; b < 2; ++b) {
        atx = A[0][b] * x0v[0] + A[1][b] * x0v[1];
        mu[a] += S[a][b] * atx / (s * s);
      }
    }
    std::printf("x0 = (%.1f, %.1f): mean %.4f %.4f (exact %.4f %.4f); cov %.4f %.4f %.4f (exact %.4f %.4f %.4f)\n",
                x0v[0], x0v[1], m[0], m[1], mu[0], mu[1], c[0][0], c[0][1], c[1][1], S[0][0], S[0][1], S[1][1]);
    // Posterior std ~0.4: a well-trained amortized flow is within a few percent of it.
    for (int a = 0; a < 2; ++a) EXPECT_NEAR(m[a], mu[a], 0.06);  // 0.15 posterior std
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) EXPECT_NEAR(c[a][b], S[a][b], 0.15 * S[0][0]);
  }
}

}  // namespace
}  // namespace sedpost::flow
