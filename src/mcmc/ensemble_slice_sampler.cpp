#include "mcmc/ensemble_slice_sampler.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "mcmc/diagnostics.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <limits>
#include <cmath>
#include <numeric>
#include <sstream>
#include <utility>

namespace sedpost::mcmc {

MoveType move_type_from_string(const std::string& name) {
  if (name == "differential") return MoveType::kDifferential;
  if (name == "gaussian") return MoveType::kGaussian;
  if (name == "global") return MoveType::kGlobal;
  throw ConfigError("unknown MCMC move '" + name + "' (differential, gaussian, global)");
}

const char* to_string(MoveType move) {
  switch (move) {
    case MoveType::kDifferential: return "differential";
    case MoveType::kGaussian: return "gaussian";
    case MoveType::kGlobal: return "global";
  }
  return "?";
}

void SamplerSettings::validate(int n_dim) const {
  auto fail = [](const std::string& m) { throw ConfigError("mcmc settings: " + m); };
  if (n_dim < 1) fail("n_dim must be >= 1");
  if (n_walkers < 2 * n_dim || n_walkers % 2 != 0)
    fail("n_walkers must be even and >= 2 * n_dim (" + std::to_string(2 * n_dim) + "), got " +
         std::to_string(n_walkers));
  if (n_walkers < 4) fail("n_walkers must be >= 4");
  if (n_steps < 0 || n_burn < 0) fail("n_steps and n_burn must be >= 0");
  if (thin < 1) fail("thin must be >= 1");
  if (max_steps_out < 1) fail("max_steps_out must be >= 1");
  if (max_iterations < 1) fail("max_iterations must be >= 1");
  if (!(mu > 0.0) || !std::isfinite(mu)) fail("mu must be positive and finite");
  if (tune_patience < 0 || !(tune_tolerance >= 0.0)) fail("tune_patience/tune_tolerance must be >= 0");
  if (early_stop.enabled && early_stop.check_every < 1) fail("early_stop.check_every must be >= 1");
  if (global.gmm.max_components < 1) fail("global.gmm.max_components must be >= 1");
  if (!(global.rescale_cov > 0.0)) fail("global.rescale_cov must be > 0");
  if (!axis_slices.axes.empty() && axis_slices.per_step < 1) fail("axis_slices.per_step must be >= 1");
  for (const Eigen::VectorXd& c : mode_jumps.centers)
    if (c.size() != n_dim || !c.allFinite()) fail("mode_jumps: every centre must be finite with n_dim entries");
  for (const BoundedAxis& a : axis_slices.axes) {
    if (a.index < 0 || a.index >= n_dim)
      fail("axis_slices: coordinate index " + std::to_string(a.index) + " outside [0, " + std::to_string(n_dim) + ")");
    if (a.map == BoundedAxis::Map::kLinear && !(a.lo < a.hi && std::isfinite(a.lo) && std::isfinite(a.hi)))
      fail("axis_slices: coordinate " + std::to_string(a.index) + " needs finite lo < hi");
  }
}

Eigen::MatrixXd SamplerResult::parameter(int dim) const {
  Eigen::MatrixXd out(n_steps, n_walkers);
  for (int s = 0; s < n_steps; ++s)
    for (int w = 0; w < n_walkers; ++w) out(s, w) = at(s, w, dim);
  return out;
}

Eigen::MatrixXd SamplerResult::flat() const {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(n_steps) * n_walkers, n_dim);
  for (Eigen::Index r = 0; r < out.rows(); ++r)
    for (int d = 0; d < n_dim; ++d) out(r, d) = chain[static_cast<std::size_t>(r) * n_dim + d];
  return out;
}

EnsembleSliceSampler::EnsembleSliceSampler(BatchLogDensity log_density, int n_dim, SamplerSettings settings)
    : log_density_(std::move(log_density)), n_dim_(n_dim), settings_(std::move(settings)) {
  settings_.validate(n_dim_);
  if (!log_density_) throw ConfigError("EnsembleSliceSampler: empty log-density callback");
}

namespace {

/// Coordinate value x -> t in (0, 1) of a BoundedAxis (the logistic function for kLogit).
double to_unit(const BoundedAxis& a, double x) {
  if (a.map == BoundedAxis::Map::kLinear) return (x - a.lo) / (a.hi - a.lo);
  return 1.0 / (1.0 + std::exp(-x));
}

/// t in (0, 1) -> coordinate value x of a BoundedAxis.
double from_unit(const BoundedAxis& a, double t) {
  if (a.map == BoundedAxis::Map::kLinear) return a.lo + (a.hi - a.lo) * t;
  return std::log(t) - std::log1p(-t);
}

/// log |dx/dt| at coordinate value x: log(hi - lo) for kLinear, -log t(1 - t) for kLogit
/// (written with softplus so that it stays finite where t rounds to 0 or 1).
double log_jacobian(const BoundedAxis& a, double x) {
  if (a.map == BoundedAxis::Map::kLinear) return std::log(a.hi - a.lo);
  const auto softplus = [](double v) { return v > 0.0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); };
  return softplus(x) + softplus(-x);
}

/// All mutable state of one run: positions, buffers for batched evaluations, the RNG.
class Run {
 public:
  Run(const BatchLogDensity& f, int n_dim, const SamplerSettings& s)
      : f_(f), s_(s), d_(n_dim), w_(s.n_walkers), h_(s.n_walkers / 2),
        rng_(s.seed, RngStream::kMcmc, s.stream_index) {
    X_.resize(w_, d_);
    Z_.resize(w_);
    Xc_.resize(h_, d_);
    X0_.resize(h_, d_);
    dirs_.resize(h_, d_);
    Z0_.resize(h_);
    L_.resize(h_);
    R_.resize(h_);
    Wd_.resize(h_);
    J_.resize(h_);
    K_.resize(h_);
    tune_ok_.assign(h_, 1);
    batch_.resize(2 * h_, d_);
    batch_lp_.resize(2 * h_);
    batch_idx_.resize(2 * h_);
    perm_.resize(w_);
    axis_.resize(w_);
    jump_to_.resize(w_);
    T0_.resize(w_);
    Tp_.resize(w_);
    TL_.resize(w_);
    TR_.resize(w_);
    Zt_.resize(w_);
    std::iota(perm_.begin(), perm_.end(), 0);
  }

  void init(const Eigen::Ref<const Eigen::MatrixXd>& initial) {
    if (initial.rows() != w_ || initial.cols() != d_)
      throw ConfigError("EnsembleSliceSampler::run: initial positions must be [" + std::to_string(w_) +
                        ", " + std::to_string(d_) + "]");
    X_ = initial;
    batch_ = X_;  // 2h == W rows
    evaluate(w_);
    Z_ = batch_lp_.head(w_);
    for (int i = 0; i < w_; ++i)
      if (!std::isfinite(Z_[i]))
        throw ConfigError("EnsembleSliceSampler::run: initial walker " + std::to_string(i) +
                          " has log density " + std::to_string(Z_[i]) + " (must be finite)");
  }

  struct StepCounts {
    long evals = 0;
    long nexp = 0;
    long ncon = 0;
    long nexp_tune = 0;
    long ncon_tune = 0;
    long n_tune = 0;
  };

  /// One ensemble step: shuffle, then update each half from the other (zeus ensemble.py).
  StepCounts step(MoveType move, double mu) {
    StepCounts c;
    for (int i = w_ - 1; i > 0; --i) std::swap(perm_[i], perm_[rng_.below(static_cast<std::uint32_t>(i + 1))]);
    for (int half = 0; half < 2; ++half) {
      const int* active = perm_.data() + (half == 0 ? 0 : h_);
      const int* inactive = perm_.data() + (half == 0 ? h_ : 0);
      for (int j = 0; j < h_; ++j) Xc_.row(j) = X_.row(inactive[j]);
      for (int j = 0; j < h_; ++j) X0_.row(j) = X_.row(active[j]);
      directions(move, mu);
      update_half(active, c);
    }
    return c;
  }

  /// The whole-range coordinate slices of every walker (AxisSliceSettings), batched over the
  /// walkers: one call per shrinking round.
  StepCounts axis_slices() {
    StepCounts c;
    const std::vector<BoundedAxis>& axes = s_.axis_slices.axes;
    if (axes.empty()) return c;
    const long evals_before = total_evals_;
    for (int rep = 0; rep < s_.axis_slices.per_step; ++rep) {
      for (int w = 0; w < w_; ++w) {
        const BoundedAxis& a = axes[rng_.below(static_cast<std::uint32_t>(axes.size()))];
        axis_[w] = &a;
        const double t0 = to_unit(a, X_(w, a.index));
        T0_[w] = t0;
        // Slice height in t: log p(x) + log |dx_k/dt| at the walker, minus an Exp(1) draw.
        Zt_[w] = Z_[w] + log_jacobian(a, X_(w, a.index)) + std::log(rng_.uniform());
        TL_[w] = 0.0;
        TR_[w] = 1.0;
      }
      std::vector<char>& pending = grow_l_;
      pending.assign(w_, 1);
      for (long rounds = 0;; ++rounds) {
        if (rounds > s_.max_iterations)
          throw NumericsError("ensemble slice sampler: coordinate-slice contractions exceeded max_iterations (" +
                              std::to_string(s_.max_iterations) + ")");
        int m = 0;
        for (int w = 0; w < w_; ++w) {
          if (!pending[w]) continue;
          const double t = TL_[w] + rng_.uniform() * (TR_[w] - TL_[w]);
          const double x = from_unit(*axis_[w], t);
          if (!std::isfinite(x) || t <= 0.0 || t >= 1.0) {  // rounded onto the support's edge
            (t < T0_[w] ? TL_[w] : TR_[w]) = t;
            continue;
          }
          Tp_[w] = t;
          batch_.row(m) = X_.row(w);
          batch_(m, axis_[w]->index) = x;
          batch_idx_[m++] = w;
        }
        if (m == 0) {
          if (std::find(pending.begin(), pending.end(), 1) == pending.end()) break;
          continue;
        }
        evaluate(m);
        for (int i = 0; i < m; ++i) {
          const int w = batch_idx_[i];
          const BoundedAxis& a = *axis_[w];
          if (Zt_[w] < batch_lp_[i] + log_jacobian(a, batch_(i, a.index))) {
            pending[w] = 0;
            X_.row(w) = batch_.row(i);
            Z_[w] = batch_lp_[i];
          } else {
            (Tp_[w] < T0_[w] ? TL_[w] : TR_[w]) = Tp_[w];
            ++c.ncon;
          }
        }
      }
    }
    c.evals += total_evals_ - evals_before;
    return c;
  }

  /// The mode jumps of every walker (ModeJumpSettings), one batched evaluation.
  StepCounts mode_jumps(long& proposed, long& accepted) {
    StepCounts c;
    const std::vector<Eigen::VectorXd>& centers = s_.mode_jumps.centers;
    const int k = static_cast<int>(centers.size());
    if (k < 2) return c;
    const long evals_before = total_evals_;
    int m = 0;
    for (int w = 0; w < w_; ++w) {
      const int i = nearest_center(X_.row(w));
      int j = static_cast<int>(rng_.below(static_cast<std::uint32_t>(k - 1)));
      if (j >= i) ++j;
      batch_.row(m) = X_.row(w) + (centers[j] - centers[i]).transpose();
      jump_to_[m] = j;
      batch_idx_[m++] = w;
    }
    evaluate(m);
    for (int r = 0; r < m; ++r) {
      const int w = batch_idx_[r];
      ++proposed;
      if (nearest_center(batch_.row(r)) != jump_to_[r]) continue;
      if (std::log(rng_.uniform()) < batch_lp_[r] - Z_[w]) {
        X_.row(w) = batch_.row(r);
        Z_[w] = batch_lp_[r];
        ++accepted;
      }
    }
    c.evals += total_evals_ - evals_before;
    return c;
  }

  long total_evals() const { return total_evals_; }
  const Eigen::MatrixXd& positions() const { return X_; }
  const Eigen::VectorXd& log_prob() const { return Z_; }

 private:
  /// Evaluate the first m rows of batch_ into batch_lp_; NaN/+inf is an error.
  void evaluate(int m) {
    if (m <= 0) return;
    f_(batch_.topRows(m), batch_lp_.head(m));
    total_evals_ += m;
    for (int i = 0; i < m; ++i) {
      const double v = batch_lp_[i];
      if (std::isnan(v) || v == std::numeric_limits<double>::infinity()) {
        std::ostringstream os;
        os.precision(17);
        os << "log density returned " << v << " at theta = [";
        for (int k = 0; k < d_; ++k) os << (k ? ", " : "") << batch_(i, k);
        os << "]";
        throw NumericsError(os.str());
      }
    }
  }

  /// Index of the ModeJumpSettings centre nearest to the row x [1, D] (Euclidean; ties: the
  /// lower index). Takes the row expression itself: no copy per walker.
  template <class Row>
  int nearest_center(const Eigen::MatrixBase<Row>& x) const {
    const std::vector<Eigen::VectorXd>& centers = s_.mode_jumps.centers;
    int best = 0;
    double best_d2 = (x - centers[0].transpose()).squaredNorm();
    for (int i = 1; i < static_cast<int>(centers.size()); ++i) {
      const double d2 = (x - centers[i].transpose()).squaredNorm();
      if (d2 < best_d2) {
        best = i;
        best_d2 = d2;
      }
    }
    return best;
  }

  /// Fill dirs_ [h, D] (and tune_ok_) from the complementary half Xc_.
  void directions(MoveType move, double mu) {
    switch (move) {
      case MoveType::kDifferential: {
        // zeus: random.sample(permutations(range(h), 2), h): h distinct ordered pairs.
        used_.assign(static_cast<std::size_t>(h_) * h_, 0);
        for (int j = 0; j < h_; ++j) {
          int a, b;
          do {
            a = static_cast<int>(rng_.below(static_cast<std::uint32_t>(h_)));
            b = static_cast<int>(rng_.below(static_cast<std::uint32_t>(h_ - 1)));
            if (b >= a) ++b;
          } while (used_[static_cast<std::size_t>(a) * h_ + b]);
          used_[static_cast<std::size_t>(a) * h_ + b] = 1;
          dirs_.row(j) = 2.0 * mu * (Xc_.row(a) - Xc_.row(b));
          tune_ok_[j] = 1;
        }
        break;
      }
      case MoveType::kGaussian: {
        const Eigen::RowVectorXd mean = Xc_.colwise().mean();
        const Eigen::MatrixXd centred = Xc_.rowwise() - mean;
        const Eigen::MatrixXd cov = centred.transpose() * centred / static_cast<double>(h_ - 1);
        // Symmetric square root: works for the rank-deficient covariance of h <= D points.
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
        const Eigen::MatrixXd root =
            es.eigenvectors() * es.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal();
        Eigen::VectorXd z(d_);
        for (int j = 0; j < h_; ++j) {
          for (int k = 0; k < d_; ++k) z[k] = rng_.normal();
          dirs_.row(j) = 2.0 * mu * (root * z).transpose();
          tune_ok_[j] = 1;
        }
        break;
      }
      case MoveType::kGlobal: {
        // KBP21 section 3.3 / zeus GlobalMove, drawn per walker: pick two complementary
        // walkers; if their GMM components differ, jump between the components with shrunken
        // covariances; otherwise move within the component (the only case that tunes mu).
        const GaussianMixture g = fit_gaussian_mixture(Xc_, s_.global.gmm, rng_);
        for (int j = 0; j < h_; ++j) {
          const int a = static_cast<int>(rng_.below(static_cast<std::uint32_t>(h_)));
          int b = static_cast<int>(rng_.below(static_cast<std::uint32_t>(h_ - 1)));
          if (b >= a) ++b;
          const int ci = g.labels[a], cj = g.labels[b];
          if (ci != cj) {
            const Eigen::VectorXd p = g.sample_component(ci, s_.global.rescale_cov, rng_);
            const Eigen::VectorXd q = g.sample_component(cj, s_.global.rescale_cov, rng_);
            dirs_.row(j) = 2.0 * (p - q).transpose();
            tune_ok_[j] = 0;
          } else {
            Eigen::VectorXd z(d_);
            for (int k = 0; k < d_; ++k) z[k] = rng_.normal();
            dirs_.row(j) = 2.0 * mu * (g.chol[ci].triangularView<Eigen::Lower>() * z).transpose();
            tune_ok_[j] = 1;
          }
        }
        break;
      }
    }
  }

  /// Slice-sample every walker of the active half along dirs_ (KB20 algorithm 2, batched:
  /// all pending stepping-out points of the half in one call, then all shrink proposals).
  void update_half(const int* active, StepCounts& c) {
    const long evals_before = total_evals_;
    for (int j = 0; j < h_; ++j) {
      Z0_[j] = Z_[active[j]] + std::log(rng_.uniform());  // log slice height: log p - Exp(1)
      L_[j] = -rng_.uniform();
      R_[j] = L_[j] + 1.0;
      J_[j] = static_cast<int>(std::floor(s_.max_steps_out * rng_.uniform()));
      K_[j] = (s_.max_steps_out - 1) - J_[j];
    }
    // Stepping out (Neal 2003 fig. 3, with the m-limit split randomly between the sides).
    std::vector<char>& grow_l = grow_l_;
    std::vector<char>& grow_r = grow_r_;
    grow_l.assign(h_, 0);
    grow_r.assign(h_, 0);
    for (int j = 0; j < h_; ++j) {
      grow_l[j] = J_[j] >= 1;
      grow_r[j] = K_[j] >= 1;
    }
    long rounds = 0;
    for (;;) {
      int m = 0;
      bool any_l = false, any_r = false;
      for (int j = 0; j < h_; ++j) {
        if (grow_l[j]) {
          batch_.row(m) = X0_.row(j) + L_[j] * dirs_.row(j);
          batch_idx_[m++] = j;
          any_l = true;
        }
      }
      const int m_left = m;
      for (int j = 0; j < h_; ++j) {
        if (grow_r[j]) {
          batch_.row(m) = X0_.row(j) + R_[j] * dirs_.row(j);
          batch_idx_[m++] = j;
          any_r = true;
        }
      }
      if (m == 0) break;
      rounds += static_cast<long>(any_l) + static_cast<long>(any_r);
      if (rounds > s_.max_iterations)
        throw NumericsError("ensemble slice sampler: number of expansions exceeded max_iterations (" +
                            std::to_string(s_.max_iterations) + "); is the density proper?");
      evaluate(m);
      for (int i = 0; i < m; ++i) {
        const int j = batch_idx_[i];
        const bool left = i < m_left;
        if (Z0_[j] < batch_lp_[i]) {
          ++c.nexp;
          if (tune_ok_[j]) ++c.nexp_tune;
          if (left) {
            L_[j] -= 1.0;
            grow_l[j] = --J_[j] >= 1;
          } else {
            R_[j] += 1.0;
            grow_r[j] = --K_[j] >= 1;
          }
        } else {
          (left ? grow_l : grow_r)[j] = 0;
        }
      }
    }
    // Shrinking (Neal 2003 fig. 5).
    std::vector<char>& pending = grow_l;
    pending.assign(h_, 1);
    rounds = 0;
    for (;;) {
      int m = 0;
      for (int j = 0; j < h_; ++j) {
        if (!pending[j]) continue;
        Wd_[j] = L_[j] + rng_.uniform() * (R_[j] - L_[j]);
        batch_.row(m) = X0_.row(j) + Wd_[j] * dirs_.row(j);
        batch_idx_[m++] = j;
      }
      if (m == 0) break;
      evaluate(m);
      for (int i = 0; i < m; ++i) {
        const int j = batch_idx_[i];
        if (Z0_[j] < batch_lp_[i]) {
          pending[j] = 0;
          X_.row(active[j]) = batch_.row(i);
          Z_[active[j]] = batch_lp_[i];
        } else {
          if (Wd_[j] < 0.0) {
            L_[j] = Wd_[j];
          } else if (Wd_[j] > 0.0) {
            R_[j] = Wd_[j];
          }
          ++c.ncon;
          if (tune_ok_[j]) ++c.ncon_tune;
        }
      }
      if (++rounds > s_.max_iterations)
        throw NumericsError("ensemble slice sampler: number of contractions exceeded max_iterations (" +
                            std::to_string(s_.max_iterations) + ")");
    }
    for (int j = 0; j < h_; ++j) c.n_tune += tune_ok_[j];
    c.evals += total_evals_ - evals_before;
  }

  const BatchLogDensity& f_;
  const SamplerSettings& s_;
  int d_, w_, h_;
  Rng rng_;
  Eigen::MatrixXd X_;        // [W, D] walker positions
  Eigen::VectorXd Z_;        // [W] log densities
  Eigen::MatrixXd Xc_, X0_, dirs_;  // [h, D] complementary, active starts, directions
  Eigen::VectorXd Z0_, L_, R_, Wd_;  // [h] slice heights, interval ends, proposals
  std::vector<int> J_, K_;   // remaining stepping-out budget per side
  std::vector<char> tune_ok_, grow_l_, grow_r_, used_;
  Eigen::MatrixXd batch_;    // [2h, D] points of one batched call
  Eigen::VectorXd batch_lp_; // [2h]
  std::vector<int> batch_idx_, perm_;
  // Coordinate slices, per walker [W]: the axis, t of the start and of the proposal, the
  // interval in t, the slice height in t.
  std::vector<const BoundedAxis*> axis_;
  std::vector<int> jump_to_;  // [W] target centre of each mode-jump proposal
  std::vector<double> T0_, Tp_, TL_, TR_, Zt_;
  long total_evals_ = 0;
};

}  // namespace

SamplerResult EnsembleSliceSampler::run(const Eigen::Ref<const Eigen::MatrixXd>& initial,
                                        const StepCallback& callback) const {
  const SamplerSettings& s = settings_;
  Run run(log_density_, n_dim_, s);
  run.init(initial);

  SamplerResult r;
  r.n_dim = n_dim_;
  r.n_walkers = s.n_walkers;
  r.n_burn = s.n_burn;
  r.thin = s.thin;
  const int max_kept = s.n_steps / s.thin;
  r.chain.resize(static_cast<std::size_t>(max_kept) * s.n_walkers * n_dim_);
  r.log_prob.resize(max_kept, s.n_walkers);
  const int total_steps = s.n_burn + s.n_steps;
  r.n_evals.setZero(total_steps);
  r.n_expansions.setZero(total_steps);
  r.n_contractions.setZero(total_steps);
  r.mu.setZero(total_steps);

  double mu = s.mu;
  bool tuning = s.tune;
  int patience_count = 0;
  int steps_done = 0;
  int kept = 0;
  for (int it = 0; it < total_steps; ++it) {
    const bool burning = it < s.n_burn;
    const MoveType move = burning ? s.burn_move.value_or(s.move) : s.move;
    if (!burning) tuning = false;  // tuning happens during burn-in only
    const Run::StepCounts c = run.step(move, mu);
    const Run::StepCounts ca = run.axis_slices();
    const Run::StepCounts cj = run.mode_jumps(r.mode_jumps_proposed, r.mode_jumps_accepted);
    r.n_evals[it] = static_cast<int>(c.evals + ca.evals + cj.evals);
    r.n_expansions[it] = static_cast<int>(c.nexp);
    r.n_contractions[it] = static_cast<int>(c.ncon);
    r.mu[it] = mu;
    if (!burning) r.sampling_evals += c.evals + ca.evals + cj.evals;
    steps_done = it + 1;
    if (tuning && c.n_tune > 0) {
      // zeus: mu <- 2 mu N_e / (N_e + N_c) drives N_e / (N_e + N_c) to 1/2 (KB20 section 4.3).
      const double ne = static_cast<double>(std::max(1L, c.nexp_tune));
      const double nc = static_cast<double>(c.ncon_tune);
      mu *= 2.0 * ne / (ne + nc);
      if (std::abs(ne / (ne + nc) - 0.5) < s.tune_tolerance) ++patience_count;
      if (patience_count > s.tune_patience) tuning = false;
    }
    if (!burning && (it - s.n_burn + 1) % s.thin == 0 && kept < max_kept) {
      const Eigen::MatrixXd& X = run.positions();
      double* dst = r.chain.data() + static_cast<std::size_t>(kept) * s.n_walkers * n_dim_;
      for (int w = 0; w < s.n_walkers; ++w)
        for (int d = 0; d < n_dim_; ++d) dst[w * n_dim_ + d] = X(w, d);
      r.log_prob.row(kept) = run.log_prob().transpose();
      ++kept;
      r.n_steps = kept;
      if (s.early_stop.enabled && kept % s.early_stop.check_every == 0) {
        const ChainDiagnostics diag = diagnose(r, s.early_stop.window_c, s.early_stop.min_tau_multiple,
                                               s.early_stop.max_rhat);
        if (diag.converged) {
          r.converged = true;
        }
      }
    }
    if (callback) {
      StepInfo info;
      info.step = it;
      info.burn_in = burning;
      info.positions = &run.positions();
      info.log_prob = &run.log_prob();
      info.n_evals = c.evals;
      info.mu = r.mu[it];
      if (!callback(info)) {
        r.stopped_by_callback = true;
        break;
      }
    }
    if (r.converged) break;
  }
  r.n_steps = kept;
  r.chain.resize(static_cast<std::size_t>(kept) * s.n_walkers * n_dim_);
  r.log_prob.conservativeResize(kept, s.n_walkers);
  r.n_evals.conservativeResize(steps_done);
  r.n_expansions.conservativeResize(steps_done);
  r.n_contractions.conservativeResize(steps_done);
  r.mu.conservativeResize(steps_done);
  r.final_mu = mu;
  r.total_evals = run.total_evals();
  r.final_positions = run.positions();
  r.final_log_prob = run.log_prob();
  return r;
}

}  // namespace sedpost::mcmc
