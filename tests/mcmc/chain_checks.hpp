#pragma once
// Checks shared by the sampler's unit and slow tests: tolerances are kSigmas Monte Carlo
// standard errors computed from the measured autocorrelation time.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "mcmc/diagnostics.hpp"
#include "mcmc/ensemble_slice_sampler.hpp"

namespace sedpost::mcmc::testing {

inline constexpr double kSigmas = 4.0;

/// Series [steps, walkers] of f applied to each kept sample.
template <class F>
Eigen::MatrixXd map_chain(const SamplerResult& r, F f) {
  Eigen::MatrixXd out(r.n_steps, r.n_walkers);
  Eigen::VectorXd x(r.n_dim);
  for (int s = 0; s < r.n_steps; ++s)
    for (int w = 0; w < r.n_walkers; ++w) {
      for (int d = 0; d < r.n_dim; ++d) x[d] = r.at(s, w, d);
      out(s, w) = f(x);
    }
  return out;
}

/// Expect the chain mean of `series` to match `truth` within kSigmas MC standard errors.
inline void expect_mean(const Eigen::MatrixXd& series, double truth, const std::string& what) {
  const double mean = series.mean();
  const double se = mc_standard_error(series);
  EXPECT_LT(std::abs(mean - truth), kSigmas * se)
      << what << ": estimate " << mean << " truth " << truth << " se " << se;
}

}  // namespace sedpost::mcmc::testing
