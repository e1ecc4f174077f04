#include "posterior/resample_move.hpp"

#include <Eigen/Core>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "posterior/importance.hpp"
#include "posterior/student_t.hpp"

namespace sedpost::posterior {

namespace {

constexpr double kTargetAcceptance = 0.234;  ///< optimal for random-walk Metropolis in many dimensions

}  // namespace

MovedDraws resample_move(const SedTarget& target, const WeightedPool& pool, int m, int steps, double fit_ess,
                         Rng& rng) {
  const int D = target.dim(), B = target.n_bands();
  const std::size_t n = pool.w->size();
  MovedDraws out;
  // Only draws with amplitude coordinates can move; the others' weight is dropped.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> w(n, 0.0), log_w(n, -kInf), log_pi(n, -kInf);
  std::vector<int> movable;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double lp = (*pool.log_target)[i] - (*pool.log_det)[i];  // density in amplitude coordinates
    if ((*pool.w)[i] > 0 && std::isfinite(lp)) {
      w[i] = (*pool.w)[i];
      log_w[i] = std::log(w[i]);
      log_pi[i] = lp;
      sum += w[i];
      movable.push_back(static_cast<int>(i));
    }
  }
  if (!(sum > 0) || m < 1) return out;
  for (double& v : w) v /= sum;
  // The proposal's shape: the covariance of the movable draws, weights tempered for the fit.
  Eigen::MatrixXd L;
  try {
    L = StudentT::fit_tempered(*pool.amp, D, movable, log_w, fit_ess, 5).scale_factor();
  } catch (const NumericsError&) {
    return out;  // no spread to move along: keep the weighted draws
  }
  const std::vector<std::size_t> picks = systematic_resample(w, static_cast<std::size_t>(m), rng.uniform());
  const auto M = static_cast<std::size_t>(m), Du = static_cast<std::size_t>(D);
  std::vector<double> a(M * Du), lp(M);
  out.x.resize(M * Du);
  out.chi2.resize(M);
  for (std::size_t j = 0; j < M; ++j) {
    const std::size_t i = picks[j];
    std::copy_n(&(*pool.amp)[i * Du], Du, &a[j * Du]);
    std::copy_n(&(*pool.x)[i * Du], Du, &out.x[j * Du]);
    out.chi2[j] = (*pool.chi2)[i];
    lp[j] = log_pi[i];
  }

  std::vector<double> a_new(M * Du), x_new(M * Du), lt_new(M), chi2_new(M), unit(M * static_cast<std::size_t>(B)),
      det_new(M);
  double log_c = std::log(2.38 / std::sqrt(static_cast<double>(D)));
  Eigen::VectorXd z(D), dz(D);  // reused: no allocation per proposal
  long accepted = 0;
  for (int step = 0; step < steps; ++step) {
    const double c = std::exp(log_c);
    for (std::size_t j = 0; j < M; ++j) {
      for (int k = 0; k < D; ++k) z[k] = rng.normal();
      dz.noalias() = L * z;
      dz *= c;
      for (std::size_t k = 0; k < Du; ++k) a_new[j * Du + k] = a[j * Du + k] + dz[static_cast<Eigen::Index>(k)];
    }
    target.evaluate_amplitude(a_new.data(), m, x_new.data(), lt_new.data(), chi2_new.data(), unit.data(),
                              det_new.data());
    long acc_step = 0;
    for (std::size_t j = 0; j < M; ++j) {
      const double lp_new = lt_new[j] - det_new[j];
      const double u = rng.uniform();  // drawn for every draw, so the stream does not depend on the outcomes
      if (!std::isfinite(lp_new) || !(std::log(u) < lp_new - lp[j])) continue;
      std::copy_n(&a_new[j * Du], Du, &a[j * Du]);
      std::copy_n(&x_new[j * Du], Du, &out.x[j * Du]);
      out.chi2[j] = chi2_new[j];
      lp[j] = lp_new;
      ++acc_step;
    }
    accepted += acc_step;
    log_c += 2.0 * (static_cast<double>(acc_step) / static_cast<double>(m) - kTargetAcceptance);
  }
  out.m = m;
  out.evaluations = static_cast<long>(m) * steps;
  out.acceptance = steps > 0 ? static_cast<double>(accepted) / (static_cast<double>(m) * steps) : 0.0;
  return out;
}

}  // namespace sedpost::posterior
