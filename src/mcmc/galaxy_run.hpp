#pragma once
/// The sampling run of one catalog galaxy (`sedpost mcmc`): input checks, a Nelder-Mead MAP
/// search from prior draws, walkers in a ball around the MAP, burn-in and sampling with the
/// ensemble slice sampler in the coordinates of GalaxyPosterior (optionally with whole-range
/// coordinate slices and jumps between the search's distinct local optima), convergence checks
/// on a thinned copy of the chain (ConvergenceProbe), and the per-galaxy flags. No I/O, no MPI:
/// the caller reads the catalog, claims galaxies and writes GalaxyResult (schema:
/// docs/file-formats.md, Chains). A galaxy's chain depends only on the run seed and its global catalog row.
#include "mcmc/diagnostics.hpp"
#include "mcmc/ensemble_slice_sampler.hpp"
#include "mcmc/galaxy_posterior.hpp"
#include "prior/prior.hpp"
#include "prior/theta_layout.hpp"
#include "sps/sed_model.hpp"
#include "sps/spectrograph.hpp"

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sedpost::mcmc {

/// Bits of a galaxy's flag mask (`/flags`, bit i = galaxy_flag_names()[i]). Bit positions are
/// part of the file contract: new flags are appended, never renumbered.
enum GalaxyFlag : int {
  kFlagBadSigma = 0,         ///< a sigma is non-finite or <= 0
  kFlagBadFlux = 1,          ///< an observed flux is non-finite
  kFlagBadRedshift = 2,      ///< z non-finite, <= 0 or beyond the model's z_max
  kFlagNoFiniteLogProb = 3,  ///< log-probability -inf at every start point
  kFlagNumerics = 4,         ///< NaN / +inf log-probability or sampler failure (NumericsError)
  kFlagNotConverged = 5,     ///< --early-stop given and the criterion was not met within --steps
  kFlagTimeLimit = 6,        ///< --time-limit reached: the chain is shorter than --steps
  kNumGalaxyFlags = 7,
};
/// "bad_sigma", "bad_flux", "bad_redshift", "no_finite_log_prob", "numerics", "not_converged",
/// "time_limit" (the file attribute `flag_names`).
const std::vector<std::string>& galaxy_flag_names();

/// Slot of flow coordinate k in the 12-slot physical layout: u_1..u_3 sit in beta_1..beta_3's
/// slots, beta_4's slot (4) has no flow coordinate, the rest shift by one (z, coordinate 11 when
/// free, goes to slot 12 after the physical parameters).
inline int physical_slot(int k) { return k < 4 ? k : k + 1; }

/// Everything written for one galaxy (NaN-filled unless the run got that far).
struct GalaxyResult {
  std::vector<float> chains;     ///< [steps, walkers, P] physical theta (P = 12), then z when free (P = 13)
  std::vector<float> log_prob;   ///< [steps, walkers] flow-coordinate log posterior
  std::int64_t n_steps = 0;      ///< kept steps filled in chains / log_prob
  std::vector<double> tau, rhat, ess;  ///< [P], NaN in beta_4's slot (physical_slot)
  std::vector<double> map_theta;       ///< [P] physical theta (then z)
  double map_log_prob = std::numeric_limits<double>::quiet_NaN();
  std::uint32_t flags = 0;       ///< bit mask of GalaxyFlag
  std::string reason;            ///< "; "-joined reasons of the flags
  std::int64_t n_evals = 0;      ///< log-probability evaluations (MAP search + sampler)
  std::uint8_t converged = 0;
  double wall_s = 0.0;           ///< wall time spent on the galaxy [s]
  double max_tau = std::numeric_limits<double>::quiet_NaN();

  /// `steps` kept steps (steps / thin) of `walkers` walkers, `params` = P values each, all NaN.
  GalaxyResult(std::size_t steps, std::size_t walkers, std::size_t params = 12);

  /// Sets `bit` and appends `why` to the reason.
  void flag(GalaxyFlag bit, const std::string& why);
};

/// Settings shared by every galaxy of a run.
struct GalaxyRunSettings {
  /// Walkers, steps after burn-in, burn-in, thinning, moves, seed and early stopping
  /// (early_stop: enabled, check_every in kept steps, min_tau_multiple, max_rhat). Early stopping
  /// is done by run_galaxy's ConvergenceProbe (bounded cost per check), not the sampler's
  /// whole-chain check; a galaxy that does not meet the criterion gets kFlagNotConverged.
  /// stream_index is ignored: each galaxy uses its catalog row.
  SamplerSettings sampler;
  SampledCoords coords = SampledCoords::kAmplitude;
  int map_starts = 8;             ///< prior draws that start a Nelder-Mead MAP search (>= 1)
  int map_evals = 20000;          ///< most log-probability evaluations per MAP search
  double init_scale = 0.01;       ///< walker ball radius, fraction of each flow coordinate's prior range
  /// Whole-range coordinate slices per walker and step (AxisSliceSettings::per_step) over the
  /// posterior's bounded coordinates (GalaxyPosterior::bounded_axes); 0 = ensemble moves only.
  /// sampler.axis_slices is ignored: run_galaxy fills it.
  int axis_slices = 0;
  /// Mode jumps (ModeJumpSettings) between the distinct local optima of the MAP search whose log
  /// posterior is within mode_jump_drop of the best (optima closer than 0.1 in the sampled
  /// coordinates count once); off when false or when fewer than 2 remain.
  bool mode_jumps = false;
  double mode_jump_drop = 10.0;
  /// Wall-clock seconds per galaxy (0 = none); a galaxy that hits it keeps the steps done so far
  /// and gets kFlagTimeLimit (its chain then depends on the machine's speed).
  double time_limit = 0.0;
};

/// What run_galaxy needs besides the galaxy. The model and prior must outlive the calls.
struct GalaxyRunSetup {
  const sps::SedModel& model;     ///< redshifts up to model.settings().z_max are accepted
  const prior::Prior& prior;
  GalaxyRunSettings settings;
  /// z_inferred: the redshift is sampled too (prior layout.z_prior() on [z_min, z_max]; the
  /// catalog's z is not used), a 12th coordinate, and the chains get it as their 13th column.
  prior::ThetaLayout layout{};
  /// z_inferred: the model at any z (required then; built once from `model`, it must outlive
  /// the calls). Unused at a fixed z.
  const sps::FreeZModel* free_z = nullptr;
  /// The spectrograph of the catalog's spectra ([spectrum] settings), when galaxies are given
  /// a spectrum (run_galaxy's `spectrum`); it must outlive the calls.
  const sps::Spectrograph* spectrograph = nullptr;
};

/// A thinned copy of the kept chain for convergence checks at bounded cost: at most kMaxRows
/// rows per walker; when full, every other row is dropped and the thinning doubles. The
/// integrated autocorrelation time of the thinned chain times the thinning approximates that
/// of the whole chain when tau >> thinning; thinning <= n / (kMaxRows / 2) and the criterion
/// n > 50 tau keep tau / thinning >= 40 wherever the stop decision is made.
class ConvergenceProbe {
 public:
  static constexpr int kMaxRows = 4096;

  ConvergenceProbe(int n_walkers, const EarlyStopSettings& es, int n_dim = 11);

  /// Offer kept step `kept` (1-based, every kept step in order) with the walkers' flow
  /// coordinates [walkers, n_dim].
  void add(int kept, const Eigen::MatrixXd& positions);

  /// Diagnostics for a chain of `n_kept` kept steps (tau and ESS in kept steps; converged by
  /// the criterion of `es`). Fewer than 4 rows stored: tau, rhat, ess NaN [n_dim].
  ChainDiagnostics diagnose(int n_kept) const;

 private:
  EarlyStopSettings es_;
  SamplerResult r_;
  int thin_ = 1;
};

/// Samples one galaxy: flux, sigma [model.num_bands()] nanomaggies (a band with non-finite flux
/// or sigma = +inf is missing and left out of the likelihood), redshift z, `row` its global
/// catalog row (the sampler's stream index Rng(seed, kMcmc, row); the initialisation uses
/// Rng(seed, kMcmc, row | 2^63)). Bad input (NaN or non-positive sigma, every band missing, z
/// outside (0, z_max]) is flagged without sampling; NumericsError and the model's DataError are
/// caught and flagged (kFlagNumerics, kFlagBadRedshift), so the caller goes on with the next
/// galaxy; a ConfigError (settings that cannot work) propagates. Convergence checks are logged
/// at debug level. `spectrum` [run.spectrograph->num_pixels()] (null: photometry only) is the
/// galaxy's normalised spectrum on the spectrograph's pixels, all finite (the caller checks:
/// catalog::first_bad_spectrum_pixel); its likelihood (posterior::SpectrumLikelihood, built at
/// the galaxy's z) is added to the photometric one. ConfigError when given without
/// run.spectrograph.
GalaxyResult run_galaxy(const GalaxyRunSetup& run, const double* flux, const double* sigma, double z,
                        std::uint64_t row, const float* spectrum = nullptr);

}  // namespace sedpost::mcmc
