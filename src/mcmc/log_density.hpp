#pragma once
/// Log-density interface of the MCMC library: one call evaluates a batch of points, so a whole
/// half-ensemble's proposals cost one model call (ARCHITECTURE.md, "Where the time goes").
#include <Eigen/Core>

#include <functional>

namespace sedpost::mcmc {

/// Batch log-density callback.
///   thetas: [n, D], one point per row (parameter-space coordinates of the caller).
///   logp:   [n], to be filled with the unnormalised natural log density at each row.
/// -inf is allowed (outside the prior support). NaN or +inf is an error: the sampler throws
/// NumericsError naming the point. The callback may be called with any n >= 1 and must not
/// keep the references past the call.
using BatchLogDensity = std::function<void(const Eigen::Ref<const Eigen::MatrixXd>& thetas,
                                           Eigen::Ref<Eigen::VectorXd> logp)>;

/// Scalar log-density: theta [D] -> log p (same rules for -inf/NaN as BatchLogDensity).
using ScalarLogDensity = std::function<double(const Eigen::Ref<const Eigen::VectorXd>& theta)>;

/// Wrap a scalar log density as a batch one (loops over rows; one copy per row).
BatchLogDensity batch_from_scalar(ScalarLogDensity f);

/// Evaluate `f` at the rows of `thetas` [n, D]; returns [n]. Convenience for callers.
Eigen::VectorXd evaluate(const BatchLogDensity& f, const Eigen::Ref<const Eigen::MatrixXd>& thetas);

}  // namespace sedpost::mcmc
