#include "mcmc/gaussian_mixture.hpp"

#include "core/error.hpp"

#include <Eigen/Cholesky>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sedpost::mcmc {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;

/// Cholesky of a symmetric positive (semi)definite matrix, adding jitter until it succeeds.
Eigen::MatrixXd robust_cholesky(Eigen::MatrixXd cov) {
  const double scale = std::max(cov.diagonal().cwiseAbs().maxCoeff(), 1e-300);
  double jitter = 0.0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    Eigen::MatrixXd c = cov;
    c.diagonal().array() += jitter;
    Eigen::LLT<Eigen::MatrixXd> llt(c);
    if (llt.info() == Eigen::Success) return llt.matrixL();
    jitter = (jitter == 0.0) ? 1e-12 * scale : jitter * 10.0;
  }
  throw NumericsError("Gaussian mixture: covariance is not positive definite");
}

/// log N(x | mean, L L^T) for every row of X; returns [n].
Eigen::VectorXd log_normal_rows(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::VectorXd& mean,
                                const Eigen::MatrixXd& L) {
  const Eigen::Index n = X.rows(), d = X.cols();
  Eigen::MatrixXd diff = (X.rowwise() - mean.transpose()).transpose();  // [D, n]
  L.triangularView<Eigen::Lower>().solveInPlace(diff);
  const double log_det = 2.0 * L.diagonal().array().log().sum();
  Eigen::VectorXd out(n);
  for (Eigen::Index i = 0; i < n; ++i)
    out[i] = -0.5 * (diff.col(i).squaredNorm() + log_det + static_cast<double>(d) * kLog2Pi);
  return out;
}

}  // namespace

Eigen::VectorXd GaussianMixture::sample_component(int k, double cov_scale, Rng& rng) const {
  const Eigen::Index d = means[k].size();
  Eigen::VectorXd z(d);
  for (Eigen::Index i = 0; i < d; ++i) z[i] = rng.normal();
  const Eigen::VectorXd lz = chol[k].triangularView<Eigen::Lower>() * z;
  return means[k] + std::sqrt(cov_scale) * lz;
}

GaussianMixture fit_gaussian_mixture_k(const Eigen::Ref<const Eigen::MatrixXd>& X, int K,
                                       const GmmSettings& s, Rng& rng) {
  const Eigen::Index n = X.rows(), d = X.cols();
  if (n < 1 || d < 1 || K < 1 || K > n)
    throw ConfigError("fit_gaussian_mixture_k: need 1 <= K <= n points and D >= 1");
  const Eigen::RowVectorXd global_mean = X.colwise().mean();
  Eigen::VectorXd var = (X.rowwise() - global_mean).colwise().squaredNorm().transpose() /
                        static_cast<double>(std::max<Eigen::Index>(n - 1, 1));
  for (Eigen::Index j = 0; j < d; ++j)
    if (!(var[j] > 0.0)) var[j] = 1.0;  // degenerate dimension: any positive scale will do
  const Eigen::MatrixXd prior_scale = var.asDiagonal();

  // k-means++ seeding (Arthur & Vassilvitskii 2007), then hard assignment as first E-step.
  std::vector<Eigen::Index> centres;
  centres.push_back(static_cast<Eigen::Index>(rng.below(static_cast<std::uint32_t>(n))));
  Eigen::VectorXd d2 = (X.rowwise() - X.row(centres[0])).rowwise().squaredNorm();
  while (static_cast<int>(centres.size()) < K) {
    const double total = d2.sum();
    Eigen::Index pick = 0;
    if (total > 0.0) {
      double u = rng.uniform() * total;
      for (pick = 0; pick < n - 1; ++pick) {
        u -= d2[pick];
        if (u <= 0.0) break;
      }
    } else {
      pick = static_cast<Eigen::Index>(rng.below(static_cast<std::uint32_t>(n)));
    }
    centres.push_back(pick);
    d2 = d2.cwiseMin((X.rowwise() - X.row(pick)).rowwise().squaredNorm());
  }
  Eigen::MatrixXd resp = Eigen::MatrixXd::Zero(n, K);  // [n, K]
  for (Eigen::Index i = 0; i < n; ++i) {
    int best = 0;
    double best_d = std::numeric_limits<double>::infinity();
    for (int k = 0; k < K; ++k) {
      const double dd = (X.row(i) - X.row(centres[k])).squaredNorm();
      if (dd < best_d) best_d = dd, best = k;
    }
    resp(i, best) = 1.0;
  }

  GaussianMixture g;
  g.weights.resize(K);
  g.means.assign(K, Eigen::VectorXd::Zero(d));
  g.covs.assign(K, Eigen::MatrixXd::Zero(d, d));
  g.chol.assign(K, Eigen::MatrixXd::Zero(d, d));
  Eigen::MatrixXd logr(n, K);
  double prev = -std::numeric_limits<double>::infinity();
  for (int iter = 0; iter < s.max_iterations; ++iter) {
    // M-step: MAP covariance with a prior of `prior_weight` pseudo-points of scale diag(var).
    for (int k = 0; k < K; ++k) {
      const double nk = resp.col(k).sum();
      g.weights[k] = (nk + 1e-10) / (static_cast<double>(n) + K * 1e-10);
      if (nk > 1e-12) g.means[k] = (X.transpose() * resp.col(k)) / nk;
      const Eigen::MatrixXd diff = X.rowwise() - g.means[k].transpose();
      const Eigen::MatrixXd S = diff.transpose() * resp.col(k).asDiagonal() * diff;
      g.covs[k] = (S + s.prior_weight * prior_scale) / (nk + s.prior_weight);
      g.covs[k].diagonal() += s.reg_covar * var;
      g.chol[k] = robust_cholesky(g.covs[k]);
    }
    // E-step with log-sum-exp.
    for (int k = 0; k < K; ++k)
      logr.col(k) = log_normal_rows(X, g.means[k], g.chol[k]).array() + std::log(g.weights[k]);
    double ll = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double m = logr.row(i).maxCoeff();
      const double lse = m + std::log((logr.row(i).array() - m).exp().sum());
      ll += lse;
      resp.row(i) = (logr.row(i).array() - lse).exp();
    }
    g.log_likelihood = ll;
    if (std::abs(ll - prev) < s.tolerance * static_cast<double>(n)) break;
    prev = ll;
  }
  g.labels.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    Eigen::Index k;
    logr.row(i).maxCoeff(&k);
    g.labels[i] = static_cast<int>(k);
  }
  const double n_params = (K - 1) + K * (d + 0.5 * d * (d + 1));
  g.bic = -2.0 * g.log_likelihood + n_params * std::log(static_cast<double>(n));
  return g;
}

GaussianMixture fit_gaussian_mixture(const Eigen::Ref<const Eigen::MatrixXd>& X, const GmmSettings& s,
                                     Rng& rng) {
  const int k_max = std::max(1, std::min<int>(s.max_components, static_cast<int>(X.rows() / 2)));
  GaussianMixture best = fit_gaussian_mixture_k(X, 1, s, rng);
  for (int k = 2; k <= k_max; ++k) {
    GaussianMixture g = fit_gaussian_mixture_k(X, k, s, rng);
    if (g.bic < best.bic) best = std::move(g);
  }
  return best;
}

}  // namespace sedpost::mcmc
