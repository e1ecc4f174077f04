#pragma once
/// Multivariate Student-t distribution: the refinement proposal of the likelihood weighting,
/// fitted to weighted draws (heavier tails than a Gaussian keep the importance weights bounded
/// where the fit is too narrow). A weighted-EM mixture of up to 8 t's was tried in its place on
/// the demo test set and did no better (more galaxies below min_ess, 2-3x slower).
#include <Eigen/Core>

#include <vector>

#include "core/rng.hpp"

namespace sedpost::posterior {

class StudentT {
 public:
  /// Fit to the rows of `points` [n, D] with weights `w` [n] (>= 0, not all 0; rows with w = 0
  /// are ignored): weighted mean and covariance, the covariance scaled by inflate^2 plus a ridge
  /// of 1e-9 x its mean diagonal (+ 1e-12) so that it is positive definite, and `nu` degrees of
  /// freedom (> 2). Throws NumericsError when the covariance cannot be factorised.
  static StudentT fit(const Eigen::MatrixXd& points, const std::vector<double>& w, double nu, double inflate);
  /// Fit (no inflation) to the draws `rows` of `points` [n, D] (row-major) with log weights
  /// `log_w` [n] (indexed like the points), tempered for the fit to at least `fit_ess` effective
  /// draws (w^beta, tempering_exponent): the likelihood weighting's refinement proposal and the
  /// resample-move's random-walk shape. Throws NumericsError as fit.
  static StudentT fit_tempered(const std::vector<double>& points, int D, const std::vector<int>& rows,
                               const std::vector<double>& log_w, double fit_ess, double nu);

  int dim() const { return static_cast<int>(mean_.size()); }
  const Eigen::VectorXd& mean() const { return mean_; }
  /// Scale matrix Sigma (the t's covariance is nu / (nu - 2) Sigma).
  Eigen::MatrixXd scale() const { return chol_ * chol_.transpose(); }
  /// Lower Cholesky factor L of the scale matrix (Sigma = L L^T).
  const Eigen::MatrixXd& scale_factor() const { return chol_; }

  /// n draws [n, D]: mean + L z sqrt(nu / chi^2_nu), z ~ N(0, I), from `rng` (nu rounded to an
  /// integer for the chi^2 draw).
  Eigen::MatrixXd sample(Rng& rng, int n) const;
  /// log density at x [D] (normalised).
  double log_density(const double* x) const;

 private:
  Eigen::VectorXd mean_;
  Eigen::MatrixXd chol_;  ///< lower Cholesky factor of the scale matrix
  double nu_ = 5;
  double log_norm_ = 0;   ///< log of the normalising constant, log |L| included
};

}  // namespace sedpost::posterior
