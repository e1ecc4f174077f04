#include "posterior/student_t.hpp"

#include <Eigen/Cholesky>

#include <cmath>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "posterior/importance.hpp"

namespace sedpost::posterior {

StudentT StudentT::fit(const Eigen::MatrixXd& points, const std::vector<double>& w, double nu, double inflate) {
  const Eigen::Index n = points.rows(), d = points.cols();
  StudentT t;
  t.nu_ = nu;
  t.mean_ = Eigen::VectorXd::Zero(d);
  double sw = 0;
  for (Eigen::Index i = 0; i < n; ++i)
    if (w[static_cast<std::size_t>(i)] > 0) {
      t.mean_ += w[static_cast<std::size_t>(i)] * points.row(i).transpose();
      sw += w[static_cast<std::size_t>(i)];
    }
  if (!(sw > 0)) throw NumericsError("Student-t fit: every weight is zero");
  t.mean_ /= sw;
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double wi = w[static_cast<std::size_t>(i)] / sw;
    if (!(wi > 0)) continue;
    const Eigen::VectorXd dx = points.row(i).transpose() - t.mean_;
    cov.noalias() += wi * dx * dx.transpose();
  }
  cov *= inflate * inflate;
  cov.diagonal().array() += 1e-9 * cov.diagonal().mean() + 1e-12;
  Eigen::LLT<Eigen::MatrixXd> llt(cov);
  if (llt.info() != Eigen::Success)
    throw NumericsError(cat("Student-t fit: the covariance of ", n, " draws is not positive definite"));
  t.chol_ = llt.matrixL();
  const double dd = static_cast<double>(d);
  t.log_norm_ = std::lgamma(0.5 * (nu + dd)) - std::lgamma(0.5 * nu) - 0.5 * dd * std::log(nu * M_PI) -
                t.chol_.diagonal().array().log().sum();
  return t;
}

StudentT StudentT::fit_tempered(const std::vector<double>& points, int D, const std::vector<int>& rows,
                                const std::vector<double>& log_w, double fit_ess, double nu) {
  std::vector<double> lw_fit(rows.size());
  for (std::size_t j = 0; j < rows.size(); ++j) lw_fit[j] = log_w[static_cast<std::size_t>(rows[j])];
  const double beta = tempering_exponent(lw_fit, fit_ess);
  for (double& v : lw_fit) v *= beta;
  std::vector<double> w_fit;
  normalise_log_weights(lw_fit, w_fit);
  Eigen::MatrixXd pts(static_cast<Eigen::Index>(rows.size()), D);
  for (std::size_t j = 0; j < rows.size(); ++j)
    for (int k = 0; k < D; ++k) pts(static_cast<Eigen::Index>(j), k) = points[static_cast<std::size_t>(rows[j]) * D + k];
  return fit(pts, w_fit, nu, 1.0);
}

Eigen::MatrixXd StudentT::sample(Rng& rng, int n) const {
  const Eigen::Index d = mean_.size();
  const int nu_int = static_cast<int>(std::lround(nu_));
  Eigen::MatrixXd out(n, d);
  Eigen::VectorXd z(d);
  for (int i = 0; i < n; ++i) {
    for (Eigen::Index k = 0; k < d; ++k) z[k] = rng.normal();
    double chi2 = 0;
    for (int k = 0; k < nu_int; ++k) {
      const double e = rng.normal();
      chi2 += e * e;
    }
    out.row(i) = (mean_ + std::sqrt(nu_ / chi2) * (chol_ * z)).transpose();
  }
  return out;
}

double StudentT::log_density(const double* x) const {
  const Eigen::Index d = mean_.size();
  const Eigen::VectorXd dx = Eigen::Map<const Eigen::VectorXd>(x, d) - mean_;
  const Eigen::VectorXd y = chol_.triangularView<Eigen::Lower>().solve(dx);
  return log_norm_ - 0.5 * (nu_ + static_cast<double>(d)) * std::log1p(y.squaredNorm() / nu_);
}

}  // namespace sedpost::posterior
