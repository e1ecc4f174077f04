#pragma once
/// Resample-move stage of the likelihood-checked posterior (Gilks & Berzuini 2001; docs/metrics.md,
/// "Resample-move"): m draws are resampled by weight from a galaxy's weighted draws, and each is
/// moved by random-walk Metropolis steps in SedTarget's amplitude coordinates. Every step leaves
/// the exact posterior invariant, so the moved draws are at least as close to it as the weighted
/// ones; where the weights rest on few draws (a low ESS) the moves spread the duplicates over
/// the posterior instead of repeating them, which is what importance weights alone cannot do.
///
/// The random walk's proposal is N(0, c^2 Sigma), with Sigma the covariance of the weighted draws
/// (tempered to at least `fit_ess` effective draws, as the refinement's Student-t fit, so that it
/// has a spread however few draws carry the weight) and c starting at 2.38 / sqrt(D); after each
/// step log c moves by 2 (acceptance - 0.234) (the draws are a population, so adapting on them
/// keeps every step a valid Metropolis kernel for the next).
#include <vector>

#include "core/rng.hpp"
#include "posterior/sed_target.hpp"

namespace sedpost::posterior {

/// A galaxy's weighted draws, as the resample-move stage reads them (n draws, D = SedTarget::dim()).
struct WeightedPool {
  const std::vector<double>* x = nullptr;           ///< [n, D] flow coordinates
  const std::vector<double>* amp = nullptr;         ///< [n, D] amplitude coordinates
  const std::vector<double>* chi2 = nullptr;        ///< [n] photometric chi^2
  const std::vector<double>* log_target = nullptr;  ///< [n] log posterior density in flow coordinates
  const std::vector<double>* log_det = nullptr;     ///< [n] log |det dw/dx| (NaN: no amplitude coordinates)
  const std::vector<double>* w = nullptr;           ///< [n] normalised weights
};

/// Equal-weight draws after the moves.
struct MovedDraws {
  int m = 0;                  ///< draws
  std::vector<double> x;      ///< [m, D] flow coordinates
  std::vector<double> chi2;   ///< [m] photometric chi^2 (SedTarget's chi2)
  long evaluations = 0;       ///< likelihood evaluations spent (m x steps)
  double acceptance = 0;      ///< mean acceptance rate over the steps
};

/// Resamples m draws (systematic, by weight; draws without amplitude coordinates are left out
/// and the rest renormalised) and moves each `steps` times. `rng` gives every random number, so
/// the result depends on its stream only. Returns m = 0 when no draw can be moved (every weight
/// on draws without amplitude coordinates) or the draws' covariance cannot be factorised; the
/// caller then keeps the weighted draws.
MovedDraws resample_move(const SedTarget& target, const WeightedPool& pool, int m, int steps, double fit_ess,
                         Rng& rng);

}  // namespace sedpost::posterior
