#pragma once
/// Convergence and efficiency diagnostics for ensemble chains. A "series" is one scalar per
/// step and walker: [n_steps, n_walkers] (e.g. SamplerResult::parameter(d)).
#include "mcmc/ensemble_slice_sampler.hpp"

#include <Eigen/Core>

namespace sedpost::mcmc {

/// Normalised autocorrelation function of a 1-D series x [n] (FFT, zero-padded to a power of
/// two >= 2n; acf[0] = 1). Returns [n]. A constant series gives acf = [1, 0, 0, ...].
Eigen::VectorXd autocorrelation_function(const Eigen::Ref<const Eigen::VectorXd>& x);

/// Integrated autocorrelation time (in steps) of a series [n_steps, n_walkers], emcee/zeus
/// style: the ACFs of the walkers are averaged, tau(M) = 1 + 2 sum_{t=1..M} acf(t), and the
/// window M is the smallest M with M >= c tau(M) (Sokal's automatic window, c = 5).
double integrated_autocorr_time(const Eigen::Ref<const Eigen::MatrixXd>& series, double c = 5.0);

/// Split-R-hat (Gelman et al. BDA3 eq. 11.4): each walker's series is cut in two halves,
/// giving 2 n_walkers chains. Returns NaN when n_steps < 4. Not rank-normalised.
double split_rhat(const Eigen::Ref<const Eigen::MatrixXd>& series);

/// Effective sample size n_steps * n_walkers / tau.
double effective_sample_size(const Eigen::Ref<const Eigen::MatrixXd>& series, double c = 5.0);

/// Monte Carlo standard error of the mean of a series: sqrt(var * tau / (n_steps n_walkers)).
double mc_standard_error(const Eigen::Ref<const Eigen::MatrixXd>& series, double c = 5.0);

/// Per-parameter diagnostics of a run plus the sampler's effort.
struct ChainDiagnostics {
  Eigen::VectorXd tau;    ///< [D] integrated autocorrelation time, in kept steps
  Eigen::VectorXd rhat;   ///< [D] split-R-hat
  Eigen::VectorXd ess;    ///< [D] effective sample size
  double evals_per_step = 0.0;         ///< mean over post-burn-in steps (whole ensemble)
  double expansions_per_step = 0.0;    ///< mean over post-burn-in steps
  double contractions_per_step = 0.0;  ///< mean over post-burn-in steps
  double ess_per_1k_evals = 0.0;       ///< min ESS / post-burn-in evaluations * 1000
  /// emcee/zeus-style convergence: n_steps > min_tau_multiple * max tau and max R-hat < max_rhat.
  bool converged = false;
};

/// Diagnose a SamplerResult (thinning is not undone: tau is in kept steps).
ChainDiagnostics diagnose(const SamplerResult& result, double c = 5.0, double min_tau_multiple = 50.0,
                          double max_rhat = 1.01);

}  // namespace sedpost::mcmc
