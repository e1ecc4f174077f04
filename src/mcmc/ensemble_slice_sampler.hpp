#pragma once
/// Ensemble slice sampling (Karamanis & Beutler 2020, arXiv:2002.06212; zeus, Karamanis, Beutler
/// & Peacock 2021, arXiv:2105.03468). The ensemble is split into two complementary halves; each
/// walker of one half moves by a 1-D slice-sampling update (stepping out, then shrinking; Neal
/// 2003) along a direction built from the other half. The scale factor mu is adapted during
/// burn-in from the ratio of expansions to contractions (Robbins-Monro, as zeus does).
///
/// Samplers never print: results come back in SamplerResult, progress through StepCallback.
#include "mcmc/gaussian_mixture.hpp"
#include "mcmc/log_density.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sedpost::mcmc {

/// How directions are built from the complementary half (KB20 section 4; zeus moves.py).
enum class MoveType {
  kDifferential,  ///< 2 mu (x_a - x_b) for distinct random pairs of complementary walkers
  kGaussian,      ///< 2 mu z, z ~ N(0, Cov(complementary half))
  kGlobal,        ///< GMM fit of the complementary half; jumps between components (KBP21 3.3)
};

/// Parse "differential" | "gaussian" | "global"; throws ConfigError otherwise.
MoveType move_type_from_string(const std::string& name);
const char* to_string(MoveType move);

/// Early stopping after burn-in: stop when the kept chain is longer than `min_tau_multiple`
/// times the largest integrated autocorrelation time and the largest split-R-hat is below
/// `max_rhat`. Checked every `check_every` kept steps (each check costs an FFT per walker and
/// parameter).
struct EarlyStopSettings {
  bool enabled = false;
  int check_every = 1000;         ///< kept steps between checks
  double min_tau_multiple = 50.0;
  double max_rhat = 1.01;
  double window_c = 5.0;          ///< autocorrelation window constant (emcee's c)
};

/// Settings of the global move (KBP21 section 3.3; zeus GlobalMove defaults).
struct GlobalMoveSettings {
  GmmSettings gmm;                ///< EM fit of the complementary half (K chosen by BIC)
  double rescale_cov = 1e-3;      ///< covariance scale of the inter-component jump draws
};

/// A sampled coordinate with a bounded support after a fixed map from t in (0, 1): kLogit,
/// coordinate = log(t / (1 - t)) (support R); kLinear, coordinate = lo + (hi - lo) t.
struct BoundedAxis {
  enum class Map { kLogit, kLinear };
  int index = 0;                  ///< column of the coordinate, 0 <= index < D
  Map map = Map::kLogit;
  double lo = 0.0, hi = 1.0;      ///< kLinear only: the support [lo, hi]
};

/// Whole-range coordinate slices mixed into every step (after the ensemble move): each walker,
/// `per_step` times, picks one of `axes` at random and slice-samples that coordinate given its
/// others, with t in (0, 1) the coordinate's whole support as the initial interval (Neal 2003
/// section 4: shrinking only, no stepping out). Each update leaves the target invariant; it
/// reaches every part of the coordinate's conditional slice in one update, so a walker can
/// cross to another mode of that coordinate (a bimodal burst age) where the ensemble's
/// directions, drawn from the walkers' spread, rarely do. Cost: 1 + the shrinks, about
/// log2(support / slice width) evaluations per update.
struct AxisSliceSettings {
  std::vector<BoundedAxis> axes;  ///< empty = off
  int per_step = 1;               ///< coordinate updates per walker and step (>= 1 when axes given)
};

/// Jumps between known modes mixed into every step (after the ensemble move and the coordinate
/// slices): each walker x, with c_i the centre nearest to it (Euclidean distance), proposes
/// x' = x + c_j - c_i for a centre j != i drawn uniformly, and accepts with probability
/// min(1, p(x') / p(x)) only if c_j is the centre nearest to x'. The translation is its own
/// reverse between the two nearest-centre cells and has unit Jacobian, so the update is a
/// Metropolis step that leaves the target invariant whatever the centres are; it moves a walker
/// between separated modes (local optima of a MAP search) in one evaluation.
struct ModeJumpSettings {
  std::vector<Eigen::VectorXd> centers;  ///< [D] each; fewer than 2 = off
};

/// Stan-like settings struct of the sampler. validate() throws ConfigError.
struct SamplerSettings {
  int n_walkers = 32;             ///< even, >= 2 D (zeus's requirement)
  int n_steps = 1000;             ///< steps after burn-in (upper bound when early stopping)
  int n_burn = 0;                 ///< burn-in steps (not stored; mu is tuned here)
  int thin = 1;                   ///< keep every thin-th step after burn-in
  int max_steps_out = 10000;      ///< Neal's m: most stepping-out steps per slice (both sides)
  int max_iterations = 10000;     ///< guard: most expansion or contraction rounds per half-step
  double mu = 1.0;                ///< initial scale factor
  bool tune = true;               ///< adapt mu during burn-in
  double tune_tolerance = 0.05;   ///< zeus: tuning stops once |n_exp/(n_exp+n_con) - 1/2| <
  int tune_patience = 5;          ///<        tune_tolerance for more than tune_patience steps
  MoveType move = MoveType::kDifferential;  ///< move after burn-in
  std::optional<MoveType> burn_move;        ///< move during burn-in (default: `move`)
  GlobalMoveSettings global;
  AxisSliceSettings axis_slices;  ///< off unless axes are given (then also during burn-in)
  ModeJumpSettings mode_jumps;    ///< off unless 2+ centres are given (then also during burn-in)
  std::uint64_t seed = 0;         ///< run seed
  std::uint64_t stream_index = 0; ///< global object index (galaxy row): Rng(seed, kMcmc, index)
  EarlyStopSettings early_stop;

  /// Throws ConfigError if the settings cannot work for `n_dim` parameters.
  void validate(int n_dim) const;
};

/// What the step callback sees after each step (burn-in steps included).
struct StepInfo {
  int step = 0;                   ///< 0-based over burn-in + sampling
  bool burn_in = false;
  const Eigen::MatrixXd* positions = nullptr;  ///< [n_walkers, D] after the step
  const Eigen::VectorXd* log_prob = nullptr;   ///< [n_walkers]
  long n_evals = 0;               ///< log-density evaluations of this step
  double mu = 0.0;                ///< scale factor used in the step
};
/// Return false to stop the run (the result then holds the steps done so far).
using StepCallback = std::function<bool(const StepInfo&)>;

/// Output of a run. The chain is stored in the HDF5 layout [steps, walkers, D] row-major.
struct SamplerResult {
  int n_dim = 0;
  int n_walkers = 0;
  int n_steps = 0;                ///< kept steps (after burn-in and thinning)
  int n_burn = 0;
  int thin = 1;
  std::vector<double> chain;      ///< [n_steps, n_walkers, n_dim] row-major
  Eigen::MatrixXd log_prob;       ///< [n_steps, n_walkers]
  /// Per step, burn-in included ([n_burn + steps run]):
  Eigen::VectorXi n_evals;        ///< log-density evaluations
  Eigen::VectorXi n_expansions;   ///< stepping-out expansions (both halves)
  Eigen::VectorXi n_contractions; ///< shrinking contractions (both halves)
  Eigen::VectorXd mu;             ///< scale factor used in the step
  double final_mu = 0.0;
  long total_evals = 0;           ///< initial evaluation of the walkers included
  long sampling_evals = 0;        ///< evaluations during the post-burn-in steps only
  long mode_jumps_proposed = 0;   ///< ModeJumpSettings proposals (burn-in included)
  long mode_jumps_accepted = 0;
  bool converged = false;         ///< early-stopping criterion met
  bool stopped_by_callback = false;
  Eigen::MatrixXd final_positions;  ///< [n_walkers, n_dim]
  Eigen::VectorXd final_log_prob;   ///< [n_walkers]

  /// chain(step, walker, dim).
  double at(int step, int walker, int dim) const {
    return chain[(static_cast<std::size_t>(step) * n_walkers + walker) * n_dim + dim];
  }
  /// One parameter's trace [n_steps, n_walkers].
  Eigen::MatrixXd parameter(int dim) const;
  /// All kept samples [n_steps * n_walkers, n_dim] (row = step * n_walkers + walker).
  Eigen::MatrixXd flat() const;
};

/// The sampler. Stateless between runs: run() can be called for many galaxies, each with its
/// own settings.stream_index, and from several threads on separate instances.
class EnsembleSliceSampler {
 public:
  /// `log_density` must outlive the sampler. Throws ConfigError (settings.validate).
  EnsembleSliceSampler(BatchLogDensity log_density, int n_dim, SamplerSettings settings);

  /// Run burn-in + sampling from `initial` [n_walkers, D] (all with finite log density, else
  /// ConfigError). Throws NumericsError on NaN/+inf log density or when max_iterations is hit.
  SamplerResult run(const Eigen::Ref<const Eigen::MatrixXd>& initial,
                    const StepCallback& callback = {}) const;

  const SamplerSettings& settings() const { return settings_; }
  int n_dim() const { return n_dim_; }

 private:
  BatchLogDensity log_density_;
  int n_dim_;
  SamplerSettings settings_;
};

}  // namespace sedpost::mcmc
