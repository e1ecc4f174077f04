#pragma once
/// Settings of a galaxy posterior (`sedpost infer`, `sample`, `validate`; docs/metrics.md,
/// "Likelihood-checked posteriors").
#include <cstdint>
#include <string>
#include <vector>

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
  /// Resample-move (posterior/resample_move.hpp): after the weights, resample move_draws draws
  /// and move each by this many random-walk Metropolis steps on the exact posterior; the summaries
  /// and stored draws then come from the moved, equally weighted draws. 0 (default): no moves.
  int moves = 0;
  int move_draws = 1000;       ///< draws resampled and moved (move_draws x moves likelihood evaluations)
  /// Weight every draw against one mixture of the flow and the t's (defensive importance
  /// sampling; one flow density per refinement draw). Off (default): the flow's draws and the
  /// refinement draws are weighted as two groups, each against its own proposal, and combined in
  /// proportion to their ESS; as well calibrated on the demo test set, and no flow density is
  /// needed, which with the SEDflow-size flow is most of the cost (docs/metrics.md).
  bool defensive = false;
  /// Fractional model error added in quadrature to every flux error in the likelihood and the
  /// chi^2: sigma_eff^2 = sigma^2 + (model_error * f_obs)^2 (docs/metrics.md, "Model-systematics
  /// floor"). Default 0.02: the minimum errors kcorrect adds to SDSS griz photometry (0.02 mag).
  /// `validate` uses 0 on its simulated test set, where the model is exact.
  double model_error = 0.02;
  /// Include the noise model's density of each observed error, log p(sigma_b | model flux b), in
  /// the target (posterior/simulator_terms.hpp): the simulator drew the errors at the true
  /// fluxes, so they carry information. Off by default: where the noise model's spread is tiny
  /// the term pins the flux far more tightly than the flow's draws resolve, and on the demo
  /// test set the weighted posteriors then failed SBC (docs/metrics.md). Bands noisier than the
  /// training data never get the term.
  bool noise_likelihood = false;
  /// Photo-z mode (docs/photo-z.md): flag z_multimodal when the redshift posterior has two or
  /// more modes holding at least this share of the weight each (posterior/redshift_modes.hpp).
  double z_mode_weight = 0.1;
  /// Photo-z mode: a redshift prior that depends on each galaxy's observed magnitude in one band
  /// (prior::MagnitudeRedshiftPrior, docs/photo-z.md "Magnitude-dependent redshift prior"),
  /// used in the likelihood weighting's target instead of the model's z prior. Off when
  /// z_prior_mag_band is empty. The band is one of the model's band names; the edges [n_m - 1]
  /// are ascending AB magnitudes; the weights [n_m * n_z] are row-major (magnitude bin, z bin),
  /// each row a histogram on the model's [z_min, z_max]. A galaxy whose band is not in its
  /// posterior (missing photometry) keeps the model's z prior; a flux <= 0 is in the faintest bin.
  std::string z_prior_mag_band;
  std::vector<double> z_prior_mag_edges;
  std::vector<double> z_prior_mag_weights;
  /// Throws ConfigError naming the setting when a value is out of range.
  void validate() const;
};

}  // namespace sedpost::posterior
