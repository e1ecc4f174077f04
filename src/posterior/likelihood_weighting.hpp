#pragma once
/// Likelihood-checked posterior of one galaxy (docs/metrics.md, "Likelihood-checked
/// posteriors"): the flow's draws are a proposal, weighted by the exact posterior over the flow
/// density, w = pi(x) / q(x | obs). Where the weights degenerate (Kish ESS < min_ess) the draws
/// are refined by adaptive multiple importance sampling (AMIS, Cornuet et al. 2012): each round
/// fits a Student-t (5 dof) to the weighted draws in the amplitude coordinates of SedTarget
/// (tempered weights w^beta when fewer than kFitEss effective draws remain), adds n_samples draws
/// from it, and re-weights the refinement draws against the deterministic mixture of all the t's.
/// The flow's draws stay, weighted against the flow; the two groups are each self-normalised and
/// combined in proportion to their ESS (no flow density is needed at the refinement draws). With
/// `defensive` every draw is instead weighted against one mixture of the flow and the t's (one
/// flow density per refinement draw). With `moves` > 0 a resample-move stage follows
/// (resample_move.hpp): move_draws draws resampled by weight, each moved `moves` Metropolis steps
/// on the exact posterior, replace the weighted draws (equal weights).
#include <cstdint>
#include <vector>

#include "flow/flow.hpp"
#include "posterior/sed_target.hpp"
#include "posterior/settings.hpp"

namespace sedpost::posterior {

/// One galaxy's weighted draws.
struct WeightedDraws {
  int n = 0;                    ///< draws
  std::vector<double> x;        ///< [n, D] flow coordinates (D = SedTarget::dim(): 11, or 12 with z)
  std::vector<double> w;        ///< [n] normalised weights (0 outside the prior or far in the tails)
  std::vector<double> chi2;     ///< [n] chi^2 against the observed fluxes (sigma_eff), +inf outside the prior
  long evaluations = 0;         ///< likelihood evaluations spent (n without moves; + move_draws x moves with)
  double ess = 0;               ///< Kish effective sample size of the importance weights (before any moves)
  int rounds = 0;               ///< refinement rounds run (0: the flow's draws sufficed)
  /// Draw of the highest posterior density among every draw evaluated (lowest chi^2 with weight
  /// > 0 before the moves; after them, a weighted draw that beats every moved one is appended
  /// with weight 0), -1 if none.
  int best = -1;
  double acceptance = 0;        ///< mean acceptance rate of the moves (0 without moves)
};

class LikelihoodWeighting {
 public:
  /// Effective draws the Student-t fit needs; below it the weights are tempered.
  static constexpr double kFitEss = 50;

  /// `flow` gives the proposal density of refinement draws (Flow::log_prob); settings as in
  /// PosteriorSettings (n_samples, min_ess, max_rounds, seed).
  LikelihoodWeighting(const flow::Flow& flow, const PosteriorSettings& settings);

  /// theta [n_samples, target.dim()] float flow draws with their flow log density log_q [n_samples]
  /// (bounded flow coordinates, as Flow::sample returns them) for the conditioning vector
  /// x_cond [n_x]; `row` keys the refinement's random stream (Rng(seed, kImportance, row)).
  WeightedDraws run(const SedTarget& target, const float* x_cond, const float* theta, const float* log_q,
                    std::uint64_t row) const;

 private:
  const flow::Flow& flow_;
  PosteriorSettings settings_;
};

}  // namespace sedpost::posterior
