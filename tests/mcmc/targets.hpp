#pragma once
// Test and benchmark targets with known moments, shared by the mcmc tests and mcmc_bench.
#include "core/rng.hpp"
#include "mcmc/log_density.hpp"

#include <Eigen/Core>
#include <Eigen/QR>

#include <cmath>
#include <limits>

namespace sedpost::mcmc::testing {

/// D-dimensional Gaussian with eigenvalues log-spaced from 1 down to 1/condition and a random
/// rotation (Haar, from the QR of a Gaussian matrix drawn with `seed`).
struct CorrelatedGaussian {
  int dim;
  Eigen::VectorXd mean;      // [D]
  Eigen::VectorXd eigvals;   // [D]
  Eigen::MatrixXd rotation;  // [D, D] columns are eigenvectors
  Eigen::MatrixXd cov;       // [D, D]
  Eigen::MatrixXd precision; // [D, D]

  CorrelatedGaussian(int d, double condition, std::uint64_t seed) : dim(d) {
    Rng rng(seed, RngStream::kTest, 0);
    Eigen::MatrixXd g(d, d);
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j) g(i, j) = rng.normal();
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
    rotation = qr.householderQ();
    // Fix the sign convention so that the rotation is Haar distributed.
    const Eigen::MatrixXd r = qr.matrixQR().triangularView<Eigen::Upper>();
    for (int i = 0; i < d; ++i)
      if (r(i, i) < 0) rotation.col(i) *= -1.0;
    eigvals.resize(d);
    for (int i = 0; i < d; ++i)
      eigvals[i] = std::pow(condition, -static_cast<double>(i) / std::max(d - 1, 1));
    mean.resize(d);
    for (int i = 0; i < d; ++i) mean[i] = 0.5 * i - 1.0;
    cov = rotation * eigvals.asDiagonal() * rotation.transpose();
    precision = rotation * eigvals.cwiseInverse().asDiagonal() * rotation.transpose();
  }

  BatchLogDensity log_density() const {
    return [this](const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Ref<Eigen::VectorXd> lp) {
      const Eigen::MatrixXd diff = x.rowwise() - mean.transpose();
      lp = -0.5 * (diff * precision).cwiseProduct(diff).rowwise().sum();
    };
  }
};

/// Goodman & Weare (2010) Rosenbrock density p(x, y) ~ exp(-(100 (y - x^2)^2 + (1 - x)^2) / 20):
/// x ~ N(1, 10) and y | x ~ N(x^2, 0.1), so E x = 1, Var x = 10, E y = 11,
/// Var y = Var(x^2) + 0.1 = 4 mu^2 s^2 + 2 s^4 + 0.1 = 240.1.
inline double rosenbrock_log_density(double x, double y) {
  return -(100.0 * (y - x * x) * (y - x * x) + (1.0 - x) * (1.0 - x)) / 20.0;
}

/// Rosenbrock-shaped banana with analytic moments: x ~ N(1, s_x^2), y | x ~ N(x^2, s_y^2), so
/// E x = 1, Var x = s_x^2, E y = 1 + s_x^2, Var y = 4 s_x^2 + 2 s_x^4 + s_y^2.
/// (s_x^2 = 10, s_y^2 = 0.1 is the Goodman-Weare density above.)
inline double banana_log_density(double x, double y, double s_x, double s_y) {
  return -0.5 * ((x - 1.0) * (x - 1.0) / (s_x * s_x) + (y - x * x) * (y - x * x) / (s_y * s_y));
}

/// Standard normal pdf and cdf.
inline double std_normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI); }
inline double std_normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

/// Mean and variance of N(mu, s^2) truncated to [a, b].
inline void truncated_normal_moments(double mu, double s, double a, double b, double* mean, double* var) {
  const double al = (a - mu) / s, be = (b - mu) / s;
  const double z = std_normal_cdf(be) - std_normal_cdf(al);
  const double pa = std_normal_pdf(al), pb = std_normal_pdf(be);
  *mean = mu + s * (pa - pb) / z;
  *var = s * s * (1.0 + (al * pa - be * pb) / z - ((pa - pb) / z) * ((pa - pb) / z));
}

}  // namespace sedpost::mcmc::testing
