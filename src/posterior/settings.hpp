#pragma once
/// Settings of a galaxy posterior (`sedpost infer`, `sample`, `validate`; docs/metrics.md,
/// "Likelihood-checked posteriors").
#include <cstdint>

namespace sedpost::posterior {

struct PosteriorSettings {
  int n_samples = 1000;        ///< flow draws per galaxy (the first proposal round)
  int n_store = 0;             ///< draws per galaxy written to /samples (resampled by weight; 0 = none)
  std::uint64_t seed = 0;      ///< sampling seed; galaxy row i's draws depend on (seed, i) only
  double chi2_pvalue = 1e-3;   ///< chi2_implausible: flag when P(chi^2_B > chi2 of the best draw) < this
  /// Importance-weight the flow's draws with the exact likelihood x prior / flow density and
  /// refine where the weights degenerate. Off: the flow's draws as they are (equal weights).
  bool weighting = true;
  /// Effective sample size a galaxy's weighted draws must reach; below it a refinement round
  /// adds n_samples draws from a Student-t fitted to the weighted draws, until max_rounds.
  /// Galaxies still below it get weights_degenerate.
  double min_ess = 100;
  int max_rounds = 12;         ///< refinement rounds at most (each n_samples likelihood evaluations)
  /// Keep the flow in the refinement's proposal mixture (defensive importance sampling; one flow
  /// density per refinement draw). Off: the flow's draws seed the first Student-t and the
  /// refinement draws are weighted against the t's alone: 3x faster with the SEDflow-size flow,
  /// but overconfident tails on the demo test set (docs/metrics.md).
  bool defensive = true;
  /// Fractional model error added in quadrature to every flux error in the likelihood and the
  /// chi^2: sigma_eff^2 = sigma^2 + (model_error * f_obs)^2 (docs/metrics.md, "Model-systematics
  /// floor"). Default 0.02: the minimum errors kcorrect adds to SDSS griz photometry (0.02 mag).
  /// `validate` uses 0 on its simulated test set, where the model is exact.
  double model_error = 0.02;
  /// Throws ConfigError naming the setting when a value is out of range.
  void validate() const;
};

}  // namespace sedpost::posterior
