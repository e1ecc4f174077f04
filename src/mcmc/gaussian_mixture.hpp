#pragma once
/// Small Gaussian mixture model fitted by EM, for the global move of the ensemble slice sampler
/// (Karamanis, Beutler & Peacock 2021, section 3.3). Sized for tens of points in <= ~20 dims.
#include "core/rng.hpp"

#include <Eigen/Core>

#include <vector>

namespace sedpost::mcmc {

/// Settings of the EM fit.
struct GmmSettings {
  int max_components = 5;     ///< K is chosen by BIC among 1..max_components (and K <= n/2)
  int max_iterations = 100;   ///< EM iterations per K
  double tolerance = 1e-6;    ///< stop when the mean log-likelihood per point changes less
  /// Covariance prior: each component's covariance is the MAP estimate under a prior worth
  /// `prior_weight` pseudo-points with scale diag(var(X)) (keeps a component of 2 points in D
  /// dimensions non-singular, like the Wishart prior of sklearn's BayesianGaussianMixture).
  double prior_weight = 1.0;
  double reg_covar = 1e-9;    ///< added to the diagonal, relative to each dimension's variance
};

/// A fitted mixture. Shapes: K components in D dimensions.
struct GaussianMixture {
  Eigen::VectorXd weights;                ///< [K], sum 1
  std::vector<Eigen::VectorXd> means;     ///< K x [D]
  std::vector<Eigen::MatrixXd> covs;      ///< K x [D, D]
  std::vector<Eigen::MatrixXd> chol;      ///< K x [D, D] lower Cholesky factors of covs
  Eigen::VectorXi labels;                 ///< [n] most probable component of each fitted point
  double log_likelihood = 0.0;            ///< total log-likelihood of the fitted points
  double bic = 0.0;                       ///< -2 logL + n_params log n

  int n_components() const { return static_cast<int>(weights.size()); }
  /// Draw from component k, covariance scaled by `cov_scale`: mean_k + sqrt(cov_scale) L_k z.
  Eigen::VectorXd sample_component(int k, double cov_scale, Rng& rng) const;
};

/// Fit a GMM to the rows of X [n, D] with a fixed number of components K (k-means++ start).
/// Throws ConfigError if n < 1 or K < 1 or K > n.
GaussianMixture fit_gaussian_mixture_k(const Eigen::Ref<const Eigen::MatrixXd>& X, int K,
                                       const GmmSettings& settings, Rng& rng);

/// Fit GMMs with K = 1..max_components and return the one with the lowest BIC.
GaussianMixture fit_gaussian_mixture(const Eigen::Ref<const Eigen::MatrixXd>& X,
                                     const GmmSettings& settings, Rng& rng);

}  // namespace sedpost::mcmc
