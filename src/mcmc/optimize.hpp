#pragma once
/// Walker initialisation: a MAP search by Nelder-Mead restarts, then a small ball of walkers
/// around it inside the support.
#include "core/rng.hpp"
#include "mcmc/log_density.hpp"

#include <Eigen/Core>

#include <functional>
#include <vector>

namespace sedpost::mcmc {

/// Nelder-Mead settings (adaptive coefficients of Gao & Han 2012 for dimension D).
struct NelderMeadSettings {
  int max_evals = 20000;          ///< function evaluations per minimisation
  double initial_step = 0.1;      ///< simplex edge along each axis (absolute, parameter units)
  Eigen::VectorXd initial_steps;  ///< [D] per-axis edges; overrides initial_step when set
  double f_tol = 1e-10;           ///< converged when max |f_i - f_best| <= f_tol and
  double x_tol = 1e-8;            ///<   max |x_i - x_best|_inf <= x_tol over the simplex
  int restarts = 1;               ///< re-runs from the result (NM can stall on a ridge)
};

/// Result of one minimisation.
struct MinimizeResult {
  Eigen::VectorXd x;              ///< [D] best point
  double value = 0.0;             ///< f(x)
  int n_evals = 0;
  bool converged = false;         ///< tolerance met (false: max_evals reached)
};

/// Minimise f: R^D -> R u {+inf} from x0 [D]. +inf (e.g. outside the support) is allowed
/// except at x0. Throws ConfigError on bad settings, NumericsError if f(x0) is not finite or NaN
/// is returned.
MinimizeResult nelder_mead(const std::function<double(const Eigen::VectorXd&)>& f,
                           const Eigen::Ref<const Eigen::VectorXd>& x0, const NelderMeadSettings& s = {});

/// Result of find_map.
struct MapResult {
  Eigen::VectorXd theta;          ///< [D] highest log density found
  double log_prob = 0.0;
  int best_start = -1;            ///< row of `starts` the best came from
  long n_evals = 0;               ///< total log-density evaluations
  std::vector<MinimizeResult> runs;  ///< one per start with finite log density (minimising -log p)
};

/// MAP search: Nelder-Mead on -log p from each row of starts [n_starts, D] (e.g. prior draws
/// from the caller) whose log density is finite; returns the best. Throws NumericsError if no
/// start has a finite log density.
MapResult find_map(const BatchLogDensity& log_density, const Eigen::Ref<const Eigen::MatrixXd>& starts,
                   const NelderMeadSettings& s = {});

/// Walkers in a ball around `center` [D]: center + scale .* z, z ~ N(0, I), keeping only points
/// with finite log density (proposals are evaluated in batches of n_walkers). `scale` is [D]
/// or [1]. Returns [n_walkers, D]. Throws NumericsError after max_batches batches without
/// enough valid points.
Eigen::MatrixXd init_walkers_around(const BatchLogDensity& log_density,
                                    const Eigen::Ref<const Eigen::VectorXd>& center,
                                    const Eigen::Ref<const Eigen::VectorXd>& scale, int n_walkers, Rng& rng,
                                    int max_batches = 1000);

}  // namespace sedpost::mcmc
