// `sedpost mcmc`: reference posteriors of catalog galaxies with the ensemble slice sampler
// (zeus-style; src/mcmc), one galaxy at a time per rank, galaxies claimed dynamically.
// Schema: ARCHITECTURE.md "File schemas", Chains. A galaxy's chain depends only on the run
// seed and its global catalog row, never on the number of ranks or on who ran it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>

#include "app/commands.hpp"
#include "catalog/catalog_reader.hpp"
#include "core/data_dir.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "io/output_file.hpp"
#include "mcmc/diagnostics.hpp"
#include "mcmc/ensemble_slice_sampler.hpp"
#include "mcmc/optimize.hpp"
#include "mpi/mpi_comm.hpp"
#include "mpi/parallel_h5.hpp"
#include "posterior/sed_target.hpp"
#include "prior/prior.hpp"
#include "simulate/model_config.hpp"
#include "sps/fixed_z_model.hpp"
#include "sps/sed_model.hpp"
#include "validation/stats.hpp"

namespace sedpost::app {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kNumFlow = static_cast<int>(prior::kNumFlow);
constexpr int kNumPhys = static_cast<int>(prior::kNumPhysical);

struct McmcOptions {
  std::string catalog;
  std::string out = "chains.h5";
  std::string rows;                 ///< "a:b" (rows [a, b)); empty = all
  int walkers = 24;                 ///< 2 D + 2: the R-hat criterion needs per-walker length, so few walkers are cheapest
  int steps = 4000;
  int burn = 1000;
  int thin = 1;
  std::string move = "differential";
  std::string coordinates = "amplitude";  ///< SampledCoords: amplitude | unbounded | box
  std::string burn_move;            ///< empty = same as move
  std::uint64_t seed = 0;
  bool early_stop = false;
  int check_every = 500;
  double min_tau_multiple = 50.0;
  double max_rhat = 1.01;
  int max_steps_out = 10000;
  int map_starts = 8;
  int map_evals = 20000;
  double init_scale = 0.01;
  double time_limit = 0.0;          ///< seconds per galaxy (0 = none)
};

// ---- flags (bit i = flag_names[i]) ----
enum FlagBit : int {
  kBadSigma = 0,         ///< a sigma is non-finite or <= 0
  kBadFlux = 1,          ///< an observed flux is non-finite
  kBadRedshift = 2,      ///< z non-finite, <= 0 or beyond the model's z_max
  kNoFiniteLogProb = 3,  ///< log-probability -inf at every start point
  kNumerics = 4,         ///< NaN / +inf log-probability or sampler failure (NumericsError)
  kNotConverged = 5,     ///< --early-stop given and the criterion was not met within --steps
  kTimeLimit = 6,        ///< --time-limit reached: the chain is shorter than --steps
  kNumFlags = 7,
};
const std::vector<std::string>& flag_names() {
  static const std::vector<std::string> names = {"bad_sigma",          "bad_flux", "bad_redshift",
                                                 "no_finite_log_prob", "numerics", "not_converged",
                                                 "time_limit"};
  return names;
}
constexpr std::uint64_t kReasonWidth = 160;

// ---- catalog ----

/// The selected rows of the input catalog.
struct Catalog {
  std::string path;
  std::uint64_t n_total = 0;     ///< rows in the file
  std::uint64_t first = 0;       ///< first selected row
  std::uint64_t n = 0;           ///< selected rows
  std::uint64_t n_bands = 0;
  std::vector<double> flux;      ///< [n, bands] nanomaggies
  std::vector<double> sigma;     ///< [n, bands] nanomaggies
  std::vector<double> z;         ///< [n]
  std::vector<std::int64_t> id;  ///< [n]
  std::string id_source;         ///< "row" or the column the IDs came from
  std::vector<double> truth;     ///< [n, 12] physical theta when the catalog is simulated
};

/// The selected rows, read with the catalog readers of `infer` (FITS, HDF5, CSV; column map
/// from the config's [catalog] table, docs/catalogs.md). Text IDs are replaced by row numbers.
Catalog read_catalog(const std::string& path, const std::string& rows, const Config& config, int n_bands) {
  const catalog::ColumnMap map = catalog::ColumnMap::from_config(config, path);
  const auto reader = catalog::CatalogReader::open(path, map, n_bands);
  const catalog::RowSelection sel = catalog::select_rows(rows, reader->num_rows());
  catalog::CatalogChunk chunk = reader->read(sel.begin, sel.count());
  Catalog c;
  c.path = path;
  c.n_total = reader->num_rows();
  c.first = sel.begin;
  c.n = sel.count();
  c.n_bands = static_cast<std::uint64_t>(n_bands);
  c.flux = std::move(chunk.flux);
  c.sigma = std::move(chunk.sigma);
  c.z = std::move(chunk.z);
  c.truth = std::move(chunk.truth);
  if (reader->id_is_string() || map.id.empty()) {
    c.id.resize(c.n);
    std::iota(c.id.begin(), c.id.end(), static_cast<std::int64_t>(sel.begin));
    c.id_source = "row";
  } else {
    c.id = std::move(chunk.id);
    c.id_source = map.id;
  }
  return c;
}

// ---- log-probability of one galaxy ----

/// Coordinates the sampler moves in (all sample the same posterior: the prior of MODEL.md 1
/// times the Gaussian flux likelihood; each carries the log-Jacobian of its map to the box).
enum class SampledCoords {
  kBox,        ///< the 11 flow coordinates themselves (uniform prior on the box)
  kUnbounded,  ///< y = logit of each flow coordinate scaled to (0, 1) (the flow's R^11 map)
  kAmplitude,  ///< kUnbounded for the 10 shape coordinates; log M* replaced by the
               ///< standardised amplitude u = (M - M_hat) / sigma_M (see GalaxyPosterior)
};

SampledCoords sampled_coords_from_string(const std::string& name) {
  if (name == "box") return SampledCoords::kBox;
  if (name == "unbounded") return SampledCoords::kUnbounded;
  if (name == "amplitude") return SampledCoords::kAmplitude;
  throw ConfigError("mcmc: unknown --coordinates '" + name + "' (amplitude, unbounded, box)");
}

/// Posterior of one galaxy in the flow coordinates x (MODEL.md 1, 4; SEDflow Eq. 1 with the
/// Gaussian normalisation dropped):
///   log p(x | f_obs) = -0.5 sum_b ((f_b(theta(x)) - f_obs_b) / sigma_b)^2 + log prior(x),
/// the prior uniform on the flow-coordinate box (-log volume inside, -inf outside), sampled in
/// the coordinates y of SampledCoords with log p(y) = log p(x(y)) + log |det dx/dy|. A band
/// with sigma = +inf (missing) has no term.
///
/// kAmplitude (MODEL.md 10b: the slowest mixing is along mass-dust-burst degeneracies, which
/// are mostly "the other parameters change the overall brightness and log M* compensates").
/// The model fluxes are exactly linear in M = 10^logM* (MODEL.md 2: the SFH is normalised to
/// 1 M_sun and multiplied by M*), f_b = M g_b(s) with s the 10 shape coordinates. For fixed s the
/// chi^2 is a parabola in M with minimum M_hat(s) = sum g f iv / sum g^2 iv and width
/// sigma_M(s) = (sum g^2 iv)^-1/2; sampling u = (M - M_hat(s)) / sigma_M(s) instead of log M*
/// makes the likelihood's dependence on u the same N(0, 1) shape for every s, so the curved
/// mass ridge becomes a straight axis. Bijection for fixed s: log M* = log10(M_hat + sigma_M u)
/// with log |d logM*/du| = log sigma_M - log M - log ln 10; points with M outside the prior's
/// mass range get -inf. One model evaluation per point, as in the other coordinates.
class GalaxyPosterior {
 public:
  GalaxyPosterior(const sps::FixedZModel& model, const prior::Prior& prior, const double* flux_obs,
                  const double* sigma, int n_bands, SampledCoords coords)
      : model_(model), prior_(prior), flux_obs_(flux_obs, flux_obs + n_bands), ivar_(n_bands), n_bands_(n_bands),
        coords_(coords) {
    for (int b = 0; b < n_bands; ++b) {
      const bool missing = std::isinf(sigma[b]);
      ivar_[b] = missing ? 0.0 : 1.0 / (sigma[b] * sigma[b]);
      if (missing) flux_obs_[b] = 0.0;
    }
    prior::FlowCoords mid{};
    for (int k = 0; k < kNumFlow; ++k) mid[k] = 0.5 * (prior.flow_lower()[k] + prior.flow_upper()[k]);
    log_prior_in_box_ = prior.log_prob_flow(mid);
    m_lo_ = std::pow(10.0, prior.flow_lower()[0]);
    m_hi_ = std::pow(10.0, prior.flow_upper()[0]);
    // from_unbounded's log-Jacobian term of coordinate 0 at y_0 = 0 (removed in kAmplitude).
    log_det_y0_ = std::log(prior.flow_upper()[0] - prior.flow_lower()[0]) + 2.0 * std::log(0.5);
  }

  /// thetas [n, 11] sampled coordinates -> logp [n] (log density in those coordinates).
  void operator()(const Eigen::Ref<const Eigen::MatrixXd>& thetas, Eigen::Ref<Eigen::VectorXd> logp) {
    evaluate(thetas, logp.data(), nullptr, nullptr);
  }

  /// Sampled coordinates y [n, 11] with their log density `logp` [n] (as the sampler returned
  /// it) -> flow coordinates x [n, 11] and the flow-coordinate log posterior [n] (-0.5 chi^2 +
  /// log prior, the schema's /log_prob). kAmplitude evaluates the model once per row (log M*
  /// needs M_hat); the others need no model call.
  void to_flow(const Eigen::Ref<const Eigen::MatrixXd>& y, const Eigen::Ref<const Eigen::VectorXd>& logp,
               Eigen::MatrixXd& x, Eigen::VectorXd& logp_flow) {
    const Eigen::Index n = y.rows();
    x.resize(n, kNumFlow);
    logp_flow.resize(n);
    if (coords_ == SampledCoords::kBox) {
      x = y;
      logp_flow = logp;
    } else if (coords_ == SampledCoords::kUnbounded) {
      std::vector<double> ys(static_cast<std::size_t>(n) * kNumFlow), xs(ys.size()), ld(static_cast<std::size_t>(n));
      for (Eigen::Index i = 0; i < n; ++i)
        for (int k = 0; k < kNumFlow; ++k) ys[i * kNumFlow + k] = y(i, k);
      prior_.from_unbounded(ys.data(), static_cast<std::size_t>(n), xs.data(), ld.data());
      for (Eigen::Index i = 0; i < n; ++i) {
        for (int k = 0; k < kNumFlow; ++k) x(i, k) = xs[i * kNumFlow + k];
        logp_flow[i] = logp[i] - ld[i];
      }
    } else {
      Eigen::VectorXd lp(n);
      evaluate(y, lp.data(), &x, &logp_flow);
    }
  }

  /// Flow coordinates x [n, 11] (inside the box) -> sampled coordinates [n, 11]. kAmplitude
  /// evaluates the model once per row (for M_hat, sigma_M).
  Eigen::MatrixXd from_flow(const Eigen::Ref<const Eigen::MatrixXd>& x) {
    const Eigen::Index n = x.rows();
    Eigen::MatrixXd y(n, kNumFlow);
    if (coords_ == SampledCoords::kBox) {
      y = x;
      return y;
    }
    std::vector<double> xs(static_cast<std::size_t>(n) * kNumFlow), ys(xs.size());
    for (Eigen::Index i = 0; i < n; ++i)
      for (int k = 0; k < kNumFlow; ++k) xs[i * kNumFlow + k] = x(i, k);
    prior_.to_unbounded(xs.data(), static_cast<std::size_t>(n), ys.data());
    for (Eigen::Index i = 0; i < n; ++i)
      for (int k = 0; k < kNumFlow; ++k) y(i, k) = ys[i * kNumFlow + k];
    if (coords_ == SampledCoords::kAmplitude) {
      phys_.resize(static_cast<std::size_t>(n) * kNumPhys);
      flux_.resize(static_cast<std::size_t>(n) * n_bands_);
      for (Eigen::Index i = 0; i < n; ++i) {
        prior::FlowCoords xi{};
        for (int k = 0; k < kNumFlow; ++k) xi[k] = x(i, k);
        xi[0] = 0.0;  // shape only: fluxes per M_sun formed
        const prior::Physical p = prior_.to_physical(xi);
        std::copy(p.begin(), p.end(), phys_.begin() + static_cast<std::ptrdiff_t>(i * kNumPhys));
      }
      model_.evaluate_batch(phys_.data(), static_cast<int>(n), flux_.data());
      n_evals_ += n;
      for (Eigen::Index i = 0; i < n; ++i) {
        const Amplitude a = amplitude(flux_.data() + static_cast<std::size_t>(i) * n_bands_);
        y(i, 0) = (std::pow(10.0, x(i, 0)) - a.m_hat) / a.sigma_m;
      }
    }
    return y;
  }

  /// Typical scale of each sampled coordinate [11] (the box widths; 4 in the logit and
  /// amplitude coordinates, where the prior's bulk spans a few units).
  Eigen::VectorXd scale() const {
    Eigen::VectorXd w(kNumFlow);
    for (int k = 0; k < kNumFlow; ++k)
      w[k] = coords_ == SampledCoords::kBox ? prior_.flow_upper()[k] - prior_.flow_lower()[k] : 4.0;
    return w;
  }

  long n_evals() const { return n_evals_; }

 private:
  using Amplitude = posterior::Amplitude;
  /// Least-squares amplitude of the unit-mass fluxes g [n_bands] and its standard deviation.
  Amplitude amplitude(const double* g) const {
    return posterior::least_squares_amplitude(g, flux_obs_.data(), ivar_.data(), n_bands_);
  }

  /// Log density in the sampled coordinates at the rows of y [n, 11] into logp [n]; optionally
  /// the flow coordinates x [n, 11] (rows outside the support: NaN) and the flow-coordinate log
  /// posterior [n].
  void evaluate(const Eigen::Ref<const Eigen::MatrixXd>& y, double* logp, Eigen::MatrixXd* x_out,
                Eigen::VectorXd* logp_flow) {
    const Eigen::Index n = y.rows();
    ys_.resize(static_cast<std::size_t>(n) * kNumFlow);
    xs_.resize(ys_.size());
    log_det_.assign(static_cast<std::size_t>(n), 0.0);
    for (Eigen::Index i = 0; i < n; ++i)
      for (int k = 0; k < kNumFlow; ++k) ys_[i * kNumFlow + k] = y(i, k);
    if (coords_ == SampledCoords::kBox) {
      xs_ = ys_;
    } else {
      if (coords_ == SampledCoords::kAmplitude)
        for (Eigen::Index i = 0; i < n; ++i) ys_[i * kNumFlow] = 0.0;
      prior_.from_unbounded(ys_.data(), static_cast<std::size_t>(n), xs_.data(), log_det_.data());
      if (coords_ == SampledCoords::kAmplitude) {
        for (Eigen::Index i = 0; i < n; ++i) {
          log_det_[i] -= log_det_y0_;
          xs_[i * kNumFlow] = 0.0;  // unit mass: f = M g
        }
      }
    }
    phys_.resize(static_cast<std::size_t>(n) * kNumPhys);
    flux_.resize(static_cast<std::size_t>(n) * n_bands_);
    inside_.clear();
    prior::FlowCoords x{};
    for (Eigen::Index i = 0; i < n; ++i) {
      bool finite = true;
      for (int k = 0; k < kNumFlow; ++k) {
        x[k] = xs_[i * kNumFlow + k];
        finite = finite && std::isfinite(y(i, k));
      }
      bool ok = finite && std::isfinite(log_det_[i]);
      if (ok && coords_ == SampledCoords::kAmplitude) {
        x[0] = prior_.flow_lower()[0];  // mass checked after the model call
        ok = prior_.in_box(x);
        x[0] = 0.0;
      } else if (ok) {
        ok = prior_.in_box(x);
      }
      if (!ok) {
        logp[i] = -kInf;
        if (logp_flow) (*logp_flow)[i] = -kInf;
        if (x_out) x_out->row(i).setConstant(kNaN);
        continue;
      }
      const prior::Physical p = prior_.to_physical(x);
      std::copy(p.begin(), p.end(), phys_.begin() + static_cast<std::ptrdiff_t>(inside_.size() * kNumPhys));
      inside_.push_back(i);
    }
    const int m = static_cast<int>(inside_.size());
    if (m > 0) model_.evaluate_batch(phys_.data(), m, flux_.data());
    n_evals_ += m;
    for (int j = 0; j < m; ++j) {
      const Eigen::Index i = inside_[j];
      double* f = flux_.data() + static_cast<std::size_t>(j) * n_bands_;
      double log_det = log_det_[i];
      double log_mstar = xs_[i * kNumFlow];
      if (coords_ == SampledCoords::kAmplitude) {
        const Amplitude a = amplitude(f);
        const double mass = a.m_hat + a.sigma_m * y(i, 0);
        if (!(mass >= m_lo_ && mass <= m_hi_)) {  // also rejects NaN (no flux at all)
          logp[i] = -kInf;
          if (logp_flow) (*logp_flow)[i] = -kInf;
          if (x_out) x_out->row(i).setConstant(kNaN);
          continue;
        }
        for (int b = 0; b < n_bands_; ++b) f[b] *= mass;
        log_det += std::log(a.sigma_m) - std::log(mass) - std::log(std::log(10.0));
        log_mstar = std::log10(mass);
      }
      double chi2 = 0.0;
      for (int b = 0; b < n_bands_; ++b) {
        const double d = f[b] - flux_obs_[b];
        chi2 += d * d * ivar_[b];
      }
      const double lp_flow = log_prior_in_box_ - 0.5 * chi2;  // NaN flux -> NaN -> NumericsError
      logp[i] = lp_flow + log_det;
      if (logp_flow) (*logp_flow)[i] = lp_flow;
      if (x_out) {
        for (int k = 0; k < kNumFlow; ++k) (*x_out)(i, k) = xs_[i * kNumFlow + k];
        (*x_out)(i, 0) = log_mstar;
      }
    }
  }

  const sps::FixedZModel& model_;
  const prior::Prior& prior_;
  std::vector<double> flux_obs_, ivar_;
  int n_bands_;
  SampledCoords coords_;
  double log_prior_in_box_ = 0.0;
  double m_lo_ = 0.0, m_hi_ = 0.0, log_det_y0_ = 0.0;
  std::vector<double> ys_, xs_, log_det_, phys_, flux_;
  std::vector<Eigen::Index> inside_;
  long n_evals_ = 0;
};

// ---- one galaxy ----

/// Everything written for one galaxy (NaN-filled unless the run got that far).
struct GalaxyResult {
  std::vector<float> chains;     ///< [steps, walkers, 12]
  std::vector<float> log_prob;   ///< [steps, walkers]
  std::int64_t n_steps = 0;
  std::vector<double> tau, rhat, ess;  ///< [12], NaN in beta_4's slot
  std::vector<double> map_theta;       ///< [12]
  double map_log_prob = kNaN;
  std::uint32_t flags = 0;
  std::string reason;
  std::int64_t n_evals = 0;
  std::uint8_t converged = 0;
  double wall_s = 0.0;
  double max_tau = kNaN;

  GalaxyResult(std::size_t steps, std::size_t walkers)
      : chains(steps * walkers * kNumPhys, std::numeric_limits<float>::quiet_NaN()),
        log_prob(steps * walkers, std::numeric_limits<float>::quiet_NaN()),
        tau(kNumPhys, kNaN), rhat(kNumPhys, kNaN), ess(kNumPhys, kNaN), map_theta(kNumPhys, kNaN) {}

  void flag(FlagBit bit, const std::string& why) {
    flags |= 1u << bit;
    reason += (reason.empty() ? "" : "; ") + why;
  }
};

/// Slot of flow coordinate k in the 12-slot physical layout: u_1..u_3 sit in beta_1..beta_3's
/// slots, beta_4's slot (4) has no flow coordinate, the rest shift by one.
int physical_slot(int k) { return k < 4 ? k : k + 1; }

struct RunSetup {
  const sps::SedModel& model;
  const prior::Prior& prior;
  const mcmc::SamplerSettings& sampler;  ///< stream_index set per galaxy
  const McmcOptions& opt;
  double z_max;
  SampledCoords coords;
};

/// A thinned copy of the kept chain for convergence checks at bounded cost: at most kMaxRows
/// rows per walker; when full, every other row is dropped and the thinning doubles. The
/// integrated autocorrelation time of the thinned chain times the thinning approximates that
/// of the whole chain when tau >> thinning; thinning <= n / (kMaxRows / 2) and the criterion
/// n > 50 tau keep tau / thinning >= 40 wherever the stop decision is made.
class ConvergenceProbe {
 public:
  static constexpr int kMaxRows = 4096;

  ConvergenceProbe(int n_walkers, const mcmc::EarlyStopSettings& es) : es_(es) {
    r_.n_dim = kNumFlow;
    r_.n_walkers = n_walkers;
    r_.chain.reserve(static_cast<std::size_t>(kMaxRows) * n_walkers * kNumFlow);
  }

  /// Offer kept step `kept` (1-based) with positions [walkers, 11].
  void add(int kept, const Eigen::MatrixXd& positions) {
    if (kept % thin_ != 0) return;
    if (r_.n_steps == kMaxRows) {
      // Keep rows whose kept index is a multiple of 2 thin (the odd 0-based rows).
      const std::size_t row = static_cast<std::size_t>(r_.n_walkers) * kNumFlow;
      for (int i = 1, j = 0; i < r_.n_steps; i += 2, ++j) {
        std::copy_n(r_.chain.begin() + static_cast<std::ptrdiff_t>(i * row), row,
                    r_.chain.begin() + static_cast<std::ptrdiff_t>(j * row));
      }
      r_.n_steps /= 2;
      r_.chain.resize(static_cast<std::size_t>(r_.n_steps) * row);
      thin_ *= 2;
      if (kept % thin_ != 0) return;
    }
    for (int w = 0; w < r_.n_walkers; ++w)
      for (int k = 0; k < kNumFlow; ++k) r_.chain.push_back(positions(w, k));
    ++r_.n_steps;
  }

  /// Diagnostics for a chain of `n_kept` kept steps (tau and ESS in kept steps).
  mcmc::ChainDiagnostics diagnose(int n_kept) const {
    mcmc::ChainDiagnostics d;
    if (r_.n_steps < 4) {
      d.tau = Eigen::VectorXd::Constant(kNumFlow, kNaN);
      d.rhat = d.tau;
      d.ess = d.tau;
      return d;
    }
    d = mcmc::diagnose(r_, es_.window_c, es_.min_tau_multiple, es_.max_rhat);
    d.tau *= thin_;
    d.ess = (static_cast<double>(n_kept) * r_.n_walkers) / d.tau.array();
    d.converged = n_kept > es_.min_tau_multiple * d.tau.maxCoeff() && d.rhat.maxCoeff() < es_.max_rhat;
    return d;
  }

 private:
  mcmc::EarlyStopSettings es_;
  mcmc::SamplerResult r_;
  int thin_ = 1;
};

GalaxyResult run_galaxy(const RunSetup& run, const Catalog& cat_, std::uint64_t local) {
  const McmcOptions& opt = run.opt;
  const std::uint64_t row = cat_.first + local;
  const int nb = static_cast<int>(cat_.n_bands);
  const std::size_t max_kept = static_cast<std::size_t>(opt.steps / opt.thin);
  GalaxyResult res(max_kept, static_cast<std::size_t>(opt.walkers));
  const auto t0 = std::chrono::steady_clock::now();
  const double* flux = cat_.flux.data() + local * cat_.n_bands;
  const double* sigma = cat_.sigma.data() + local * cat_.n_bands;
  const double z = cat_.z[local];

  // A missing band (flux not finite or sigma +inf: not measured, as catalogs and band-masked
  // test sets write it) is left out of the likelihood; a NaN or non-positive sigma is bad input.
  std::vector<double> sigma_used(sigma, sigma + nb);
  int n_used = 0;
  for (int b = 0; b < nb; ++b) {
    const bool missing = !std::isfinite(flux[b]) || std::isinf(sigma[b]);
    if (missing) {
      sigma_used[static_cast<std::size_t>(b)] = std::numeric_limits<double>::infinity();
    } else if (!std::isfinite(sigma[b]) || !(sigma[b] > 0.0)) {
      res.flag(kBadSigma, cat("sigma of band ", b, " is ", sigma[b], " (must be > 0, or +inf for a missing band)"));
      break;
    } else {
      ++n_used;
    }
  }
  if (res.flags == 0 && n_used == 0) res.flag(kBadFlux, "every band is missing");
  if (!std::isfinite(z) || !(z > 0.0) || z > run.z_max) {
    res.flag(kBadRedshift, cat("z = ", z, " is outside (0, ", run.z_max, "]"));
  }
  if (res.flags != 0) return res;

  std::shared_ptr<GalaxyPosterior> state;
  try {
    const sps::FixedZModel fz(run.model, z);
    state = std::make_shared<GalaxyPosterior>(fz, run.prior, flux, sigma_used.data(), nb, run.coords);
    const mcmc::BatchLogDensity log_density = [state](const Eigen::Ref<const Eigen::MatrixXd>& t,
                                                      Eigen::Ref<Eigen::VectorXd> lp) { (*state)(t, lp); };

    // Initialisation stream: kMcmc keyed by the row with the top bit set, so it never overlaps
    // the sampler's own stream Rng(seed, kMcmc, row).
    Rng init_rng(opt.seed, RngStream::kMcmc, row | (std::uint64_t{1} << 63));
    Eigen::MatrixXd start_flow(opt.map_starts, kNumFlow);
    for (int s = 0; s < opt.map_starts; ++s) {
      const prior::FlowCoords x = run.prior.sample_flow(init_rng);
      for (int k = 0; k < kNumFlow; ++k) start_flow(s, k) = x[k];
    }
    const Eigen::MatrixXd starts = state->from_flow(start_flow);
    const Eigen::VectorXd start_lp = mcmc::evaluate(log_density, starts);
    if (!start_lp.array().isFinite().any()) {
      res.flag(kNoFiniteLogProb, cat("log-probability is -inf at all ", opt.map_starts, " prior draws"));
    } else {
      const Eigen::VectorXd width = state->scale();
      mcmc::NelderMeadSettings nm;
      nm.initial_steps = 0.05 * width;
      nm.max_evals = opt.map_evals;
      const mcmc::MapResult map = mcmc::find_map(log_density, starts, nm);
      Eigen::MatrixXd map_flow;
      {
        Eigen::VectorXd map_lp_flow;
        state->to_flow(map.theta.transpose(), Eigen::VectorXd::Constant(1, map.log_prob), map_flow, map_lp_flow);
        prior::FlowCoords xm{};
        for (int k = 0; k < kNumFlow; ++k) xm[k] = map_flow(0, k);
        const prior::Physical pm = run.prior.to_physical(xm);
        res.map_theta.assign(pm.begin(), pm.end());
        res.map_log_prob = map_lp_flow[0];  // the mode in the sampled coordinates
      }

      // Walkers start in a ball around the MAP drawn in the flow coordinates (radius init_scale
      // of each coordinate's prior range, points outside the box redrawn), then mapped to the
      // sampled coordinates. A ball drawn in the sampled coordinates can miss the support
      // entirely in kAmplitude when the likelihood is flat (sigma_M >> the prior's mass range).
      Eigen::MatrixXd init(opt.walkers, kNumFlow);
      {
        Eigen::MatrixXd cand(opt.walkers, kNumFlow);
        int got = 0;
        for (int batch = 0; got < opt.walkers; ++batch) {
          if (batch == 1000)
            throw NumericsError(cat("row ", row, ": found only ", got, " of ", opt.walkers,
                                    " initial walkers with finite log density around the MAP"));
          prior::FlowCoords xc{};
          for (int i = 0; i < opt.walkers; ++i) {
            do {
              for (int k = 0; k < kNumFlow; ++k)
                xc[k] = map_flow(0, k) + opt.init_scale * (run.prior.flow_upper()[k] - run.prior.flow_lower()[k]) *
                                             init_rng.normal();
            } while (!run.prior.in_box(xc));
            for (int k = 0; k < kNumFlow; ++k) cand(i, k) = xc[k];
          }
          const Eigen::MatrixXd y = state->from_flow(cand);
          const Eigen::VectorXd lp = mcmc::evaluate(log_density, y);
          for (int i = 0; i < opt.walkers && got < opt.walkers; ++i)
            if (std::isfinite(lp[i])) init.row(got++) = y.row(i);
        }
      }
      mcmc::SamplerSettings settings = run.sampler;
      settings.stream_index = row;
      const mcmc::EnsembleSliceSampler sampler(log_density, kNumFlow, settings);
      // Convergence checks on a thinned copy of the chain (ConvergenceProbe): each check costs
      // the same at any chain length, where diagnosing the whole chain every check_every steps
      // costs O(n log n) per check, O(n^2 log n) per run (16 s per check at 58k steps here).
      ConvergenceProbe probe(opt.walkers, settings.early_stop);
      bool converged_early = false, timed_out = false;
      double last_tau = kNaN;
      Eigen::MatrixXd x_flow;
      Eigen::VectorXd lp_flow;
      const mcmc::StepCallback callback = [&](const mcmc::StepInfo& info) {
        if (info.burn_in) return true;
        const int after_burn = info.step - opt.burn + 1;
        if (after_burn % opt.thin != 0) return true;
        const int kept = after_burn / opt.thin;
        // Kept steps go out (and into the convergence checks) in flow coordinates, whatever
        // the sampled coordinates: tau and R-hat are those of the parameters reported.
        state->to_flow(*info.positions, *info.log_prob, x_flow, lp_flow);
        if (!x_flow.allFinite())
          throw NumericsError(cat("row ", row, ": a walker left the support (sampled coordinates -> flow)"));
        const std::size_t s = static_cast<std::size_t>(kept - 1);
        prior::FlowCoords x{};
        for (int w = 0; w < opt.walkers; ++w) {
          for (int k = 0; k < kNumFlow; ++k) x[k] = x_flow(w, k);
          const prior::Physical p = run.prior.to_physical(x);
          float* dst = res.chains.data() + (s * opt.walkers + w) * kNumPhys;
          for (int k = 0; k < kNumPhys; ++k) dst[k] = static_cast<float>(p[k]);
          res.log_prob[s * opt.walkers + w] = static_cast<float>(lp_flow[w]);
        }
        probe.add(kept, x_flow);
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        // A check cannot succeed while kept < min_tau_multiple * tau; skip checks until the chain
        // is at least half that long for the last estimate (tau estimates grow with the chain).
        const bool may_converge = !(kept < 0.5 * opt.min_tau_multiple * last_tau);
        if (kept % opt.check_every == 0 && ((opt.early_stop && may_converge) || logger().level() == LogLevel::kDebug)) {
          const mcmc::ChainDiagnostics d = probe.diagnose(kept);
          last_tau = d.tau.size() ? d.tau.maxCoeff() : kNaN;
          logger().debug(cat("row ", row, ": ", kept, " kept steps, ", state->n_evals(), " evals, ", elapsed,
                             " s, max tau ", last_tau, ", max R-hat ", d.rhat.size() ? d.rhat.maxCoeff() : kNaN));
          if (opt.early_stop && d.converged) {
            converged_early = true;
            return false;
          }
        }
        if (opt.time_limit > 0.0 && elapsed > opt.time_limit) {
          timed_out = true;
          return false;
        }
        return true;
      };
      const mcmc::SamplerResult r = sampler.run(init, callback);
      if (timed_out) {
        res.flag(kTimeLimit, cat("time limit ", opt.time_limit, " s reached after ", r.n_steps, " kept steps"));
      }

      res.n_steps = r.n_steps;  // res.chains / res.log_prob were filled by the callback
      if (r.n_steps >= 4) {
        // Flow-coordinate diagnostics: exact (whole chain) up to ConvergenceProbe::kMaxRows kept
        // steps, the thinned probe's beyond (tau scaled back to kept steps).
        const mcmc::ChainDiagnostics d = probe.diagnose(r.n_steps);
        for (int k = 0; k < kNumFlow; ++k) {
          res.tau[physical_slot(k)] = d.tau[k];
          res.rhat[physical_slot(k)] = d.rhat[k];
          res.ess[physical_slot(k)] = d.ess[k];
        }
        res.max_tau = d.tau.maxCoeff();
        res.converged = (d.converged || converged_early) ? 1 : 0;
        if (opt.early_stop && !converged_early) {
          res.flag(kNotConverged, cat("not converged in ", r.n_steps, " kept steps: max tau ", d.tau.maxCoeff(),
                                      " (need steps > ", settings.early_stop.min_tau_multiple,
                                      " tau), max R-hat ", d.rhat.maxCoeff()));
        }
      } else if (opt.early_stop) {
        res.flag(kNotConverged, cat("only ", r.n_steps, " kept steps: no diagnostics"));
      }
    }
  } catch (const NumericsError& e) {
    // The galaxy's chains stay NaN; the run goes on with the next galaxy.
    std::fill(res.chains.begin(), res.chains.end(), std::numeric_limits<float>::quiet_NaN());
    std::fill(res.log_prob.begin(), res.log_prob.end(), std::numeric_limits<float>::quiet_NaN());
    res.n_steps = 0;
    res.flag(kNumerics, e.what());
  } catch (const DataError& e) {
    res.flag(kBadRedshift, e.what());  // FixedZModel rejects the redshift
  }
  if (state) res.n_evals = state->n_evals();
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

// ---- output ----

struct Dataset {
  const char* name;
  io::DType type;
  std::vector<std::uint64_t> trailing;
  const char* units;
  const char* description;
};

void create_output(io::H5File& f, const Context& ctx, const McmcOptions& opt, const Catalog& c,
                   const sps::SedModel& model, std::uint64_t max_kept) {
  const std::uint64_t g = c.n, w = static_cast<std::uint64_t>(opt.walkers), p = kNumPhys;
  const std::vector<Dataset> sets = {
      {"chains", io::DType::kFloat32, {max_kept, w, p}, "see theta_names / theta_units",
       "physical theta after burn-in [galaxy, step, walker, parameter]; NaN past n_steps"},
      {"log_prob", io::DType::kFloat32, {max_kept, w}, "nats",
       "unnormalised log posterior: -0.5 chi^2 + log prior (flow-coordinate box); NaN past n_steps"},
      {"id", io::DType::kInt64, {}, "", "catalog ID (see attribute source)"},
      {"row", io::DType::kInt64, {}, "", "0-based row of the galaxy in the input catalog"},
      {"z", io::DType::kFloat64, {}, "", "redshift (fixed, not inferred)"},
      {"n_steps", io::DType::kInt64, {}, "steps", "kept steps (after burn-in and thinning) in /chains"},
      {"n_evals", io::DType::kInt64, {}, "", "log-probability evaluations (MAP search + sampler)"},
      {"tau", io::DType::kFloat64, {p}, "kept steps",
       "integrated autocorrelation time of each flow coordinate (slots: see attribute coordinates)"},
      {"rhat", io::DType::kFloat64, {p}, "", "split R-hat of each flow coordinate (slots: attribute coordinates)"},
      {"ess", io::DType::kFloat64, {p}, "samples", "effective sample size n_steps * walkers / tau"},
      {"converged", io::DType::kUInt8, {}, "", "1: n_steps > min_tau_multiple * max tau and max R-hat < max_rhat"},
      {"map_theta", io::DType::kFloat64, {p}, "see theta_names / theta_units", "maximum a posteriori point found"},
      {"map_log_prob", io::DType::kFloat64, {}, "nats", "log posterior at map_theta"},
      {"flags", io::DType::kUInt32, {}, "", "bit mask, bit i = flag_names[i]; 0 = fine"},
      {"wall_s", io::DType::kFloat64, {}, "s", "wall time spent on the galaxy"},
  };
  for (const Dataset& d : sets) {
    std::vector<std::uint64_t> dims{g};
    dims.insert(dims.end(), d.trailing.begin(), d.trailing.end());
    f.create_dataset(d.name, d.type, dims, 1);
    f.set_attr(d.name, "units", std::string(d.units));
    f.set_attr(d.name, "description", std::string(d.description));
  }
  if (!c.truth.empty()) {
    f.create_dataset("theta_true", io::DType::kFloat64, {g, p}, 1);
    f.set_attr("theta_true", "units", std::string("see theta_names / theta_units"));
    f.set_attr("theta_true", "description", std::string("true physical theta of the simulated catalog"));
  }
  f.create_string_dataset("flag_reason", g, kReasonWidth);
  f.set_attr("flag_reason", "units", std::string(""));
  f.set_attr("flags", "flag_names", flag_names());
  f.set_attr("id", "source", c.id_source);
  // Diagnostics are in flow coordinates; u_k take beta_k's slot, beta_4's slot is NaN.
  std::vector<std::string> coords(kNumPhys, "(none)");
  for (int k = 0; k < kNumFlow; ++k) coords[physical_slot(k)] = prior::Prior::flow_names()[k];
  for (const char* d : {"tau", "rhat", "ess"}) f.set_attr(d, "coordinates", coords);

  f.set_attr("", "theta_names", prior::Prior::physical_names());
  f.set_attr("", "theta_units", prior::Prior::physical_units());
  f.set_attr("", "bands", simulate::short_band_names(model.band_names()));
  f.set_attr("", "filters", model.filter_paths());
  f.set_attr("", "config", ctx.config.to_toml());
  f.set_attr("", "seed", static_cast<std::int64_t>(opt.seed));
  f.set_attr("", "catalog", c.path);
  f.set_attr("", "first_row", static_cast<std::int64_t>(c.first));
  f.set_attr("", "walkers", static_cast<std::int64_t>(opt.walkers));
  f.set_attr("", "steps", static_cast<std::int64_t>(opt.steps));
  f.set_attr("", "burn", static_cast<std::int64_t>(opt.burn));
  f.set_attr("", "thin", static_cast<std::int64_t>(opt.thin));
  f.set_attr("", "move", opt.move);
  f.set_attr("", "sampled_coordinates", opt.coordinates);
  f.set_attr("", "chain_coordinates", prior::Prior::flow_names());
}

void write_galaxy(io::H5File& f, const Catalog& c, std::uint64_t local, const GalaxyResult& r) {
  const std::uint64_t g = local;  // output row = selected-catalog row
  const std::int64_t row = static_cast<std::int64_t>(c.first + local);
  f.write_rows("chains", g, 1, r.chains.data());
  f.write_rows("log_prob", g, 1, r.log_prob.data());
  f.write_rows("id", g, 1, &c.id[local]);
  f.write_rows("row", g, 1, &row);
  f.write_rows("z", g, 1, &c.z[local]);
  f.write_rows("n_steps", g, 1, &r.n_steps);
  f.write_rows("n_evals", g, 1, &r.n_evals);
  f.write_rows("tau", g, 1, r.tau.data());
  f.write_rows("rhat", g, 1, r.rhat.data());
  f.write_rows("ess", g, 1, r.ess.data());
  f.write_rows("converged", g, 1, &r.converged);
  f.write_rows("map_theta", g, 1, r.map_theta.data());
  f.write_rows("map_log_prob", g, 1, &r.map_log_prob);
  f.write_rows("flags", g, 1, &r.flags);
  f.write_rows("wall_s", g, 1, &r.wall_s);
  if (!c.truth.empty()) f.write_rows("theta_true", g, 1, c.truth.data() + local * prior::kNumPhysical);
  f.write_string_rows("flag_reason", g, {r.reason});
}

int run_mcmc(Context& ctx, const McmcOptions& opt) {
  Comm& comm = ctx.comm;
  if (opt.catalog.empty()) throw ConfigError("mcmc: --catalog (or [mcmc] catalog) is required");
  if (opt.steps < opt.thin) throw ConfigError("mcmc: --steps must be >= --thin");
  if (opt.map_starts < 1) throw ConfigError("mcmc: --map-starts must be >= 1");
  if (opt.check_every < 1) throw ConfigError("mcmc: --check-every must be >= 1");
  mcmc::SamplerSettings settings;
  settings.n_walkers = opt.walkers;
  settings.n_steps = opt.steps;
  settings.n_burn = opt.burn;
  settings.thin = opt.thin;
  settings.max_steps_out = opt.max_steps_out;
  settings.move = mcmc::move_type_from_string(opt.move);
  if (!opt.burn_move.empty()) settings.burn_move = mcmc::move_type_from_string(opt.burn_move);
  settings.seed = opt.seed;
  // Early stopping is done by the app's ConvergenceProbe (bounded cost per check), not the
  // sampler's whole-chain check; the settings carry the criterion.
  settings.early_stop.enabled = false;
  settings.early_stop.check_every = opt.check_every;
  settings.early_stop.min_tau_multiple = opt.min_tau_multiple;
  settings.early_stop.max_rhat = opt.max_rhat;
  settings.validate(kNumFlow);

  const std::string data_dir = ctx.data_dir();
  const sps::SedModelSettings model_settings = simulate::sed_settings_from_config(ctx.config, data_dir);
  const sps::SedModel model(model_settings);
  const prior::Prior prior(prior::PriorSettings::from_config(ctx.config));
  // Every rank reads its own copy of the selected rows (small: bands + z per galaxy).
  const Catalog catalog =
      read_catalog(resolve_input_path(opt.catalog, data_dir), opt.rows, ctx.config, model.num_bands());

  const std::uint64_t g_total = catalog.n;
  const std::uint64_t max_kept = static_cast<std::uint64_t>(opt.steps / opt.thin);
  logger().info(cat("mcmc: ", g_total, " galaxies (rows ", catalog.first, ":", catalog.first + g_total, " of ",
                    opt.catalog, "), ", opt.walkers, " walkers, ", opt.burn, " burn-in + ",
                    opt.early_stop ? "up to " : "", opt.steps, " steps, move ", opt.move, ", seed ", opt.seed, ", ",
                    comm.size(), " rank(s)"));

  io::FileAccess access = mpi::file_access_independent(comm);
  io::OutputFile out(opt.out, comm, access);
  io::H5File& f = out.file();
  create_output(f, ctx, opt, catalog, model, max_kept);

  const RunSetup setup{model, prior, settings, opt, model_settings.z_max, sampled_coords_from_string(opt.coordinates)};
  auto* mpi_comm = dynamic_cast<mpi::MpiComm*>(&comm);
  std::unique_ptr<mpi::WorkCounter> counter;
  if (mpi_comm) counter = std::make_unique<mpi::WorkCounter>(*mpi_comm);
  std::int64_t static_next = comm.rank();
  auto claim = [&]() -> std::int64_t {
    if (counter) return counter->next(1);
    const std::int64_t k = static_next;  // SerialComm (or another Comm): static round-robin
    static_next += comm.size();
    return k;
  };

  ProgressMeter progress("mcmc (galaxies started)", g_total, "galaxies", comm.is_root());
  std::vector<std::int64_t> counts(kNumFlags + 3, 0);  // flags..., done, evals, flagged
  std::vector<double> max_tau(g_total, 0.0);
  double compute_s = 0.0;
  const auto t_start = std::chrono::steady_clock::now();
  for (std::int64_t k = claim(); k < static_cast<std::int64_t>(g_total); k = claim()) {
    if (comm.is_root()) progress.advance(static_cast<std::uint64_t>(k + 1) - progress.done());
    const std::uint64_t local = static_cast<std::uint64_t>(k);
    const GalaxyResult r = run_galaxy(setup, catalog, local);
    write_galaxy(f, catalog, local, r);
    for (int b = 0; b < kNumFlags; ++b) counts[b] += (r.flags >> b) & 1u;
    counts[kNumFlags] += 1;
    counts[kNumFlags + 1] += r.n_evals;
    counts[kNumFlags + 2] += r.flags != 0;
    max_tau[local] = std::isfinite(r.max_tau) ? r.max_tau : kNaN;
    compute_s += r.wall_s;
    logger().debug(cat("row ", catalog.first + local, " (id ", catalog.id[local], ", z ", catalog.z[local], "): ",
                       r.n_steps, " steps, max tau ", r.max_tau, ", ", r.n_evals, " evals, ", r.wall_s, " s",
                       r.flags ? cat(", flags ", r.flags, ": ", r.reason) : std::string()));
  }
  counter.reset();  // collective
  comm.allreduce_sum(counts.data(), counts.size());
  comm.allreduce_sum(max_tau.data(), max_tau.size());  // each galaxy filled by one rank
  const double compute_total = comm.sum(compute_s);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  const auto done = static_cast<std::uint64_t>(counts[kNumFlags]);
  progress.advance(done > progress.done() ? done - progress.done() : 0);
  progress.finish();

  std::string per_reason;
  for (int b = 0; b < kNumFlags; ++b) per_reason += cat(b ? ", " : "", flag_names()[b], " ", counts[b]);
  const double evals = static_cast<double>(counts[kNumFlags + 1]);
  logger().info(cat("mcmc: ", counts[kNumFlags], " galaxies done, ", counts[kNumFlags + 2], " flagged (", per_reason,
                    "); median max-tau ", validation::median(max_tau), " kept steps; ", counts[kNumFlags + 1],
                    " log-prob evaluations, ", evals / std::max(1e-9, compute_total), " evals/s per rank, ",
                    evals / std::max(1e-9, wall), " evals/s job-wide; wall ", ProgressMeter::format_duration(wall)));
  out.commit();
  logger().info(cat("wrote ", opt.out));
  return 0;
}

}  // namespace

void register_mcmc(Cli& cli) {
  auto opt = std::make_shared<McmcOptions>();
  CLI::App* sub = cli.add(
      "mcmc",
      "Reference posteriors with the ensemble slice sampler (zeus-style) for catalog rows; galaxies are "
      "claimed dynamically by the ranks, chains do not depend on the number of ranks",
      [opt](Context& ctx) { return run_mcmc(ctx, *opt); }, "mcmc");
  sub->add_option("--catalog", opt->catalog,
                  "Input catalog, read as `sedpost infer` reads it: FITS, HDF5 or CSV with the column map of the "
                  "config's [catalog] table (defaults: NSA for FITS, `sedpost simulate` output for HDF5; "
                  "docs/catalogs.md)");
  sub->add_option("--out", opt->out,
                  "Output HDF5 (written as <out>.partial, renamed when complete): /chains [G, steps, walkers, 12] "
                  "physical theta, /log_prob, /tau, /rhat, /ess, /flags, ...")
      ->capture_default_str();
  sub->add_option("--rows", opt->rows, "Catalog rows 'begin:end' (0-based, end excluded; default all)");
  sub->add_option("--walkers", opt->walkers, "Walkers in the ensemble (even, >= 22 = 2 x 11 flow coordinates). The early-stop criterion (chain > 50 tau and split R-hat < 1.01) is per walker chain, so the cost to convergence grows with the walkers: keep it near the minimum")
      ->capture_default_str();
  sub->add_option("--steps", opt->steps,
                  "Sampling steps after burn-in per galaxy (ensemble steps; the upper bound with --early-stop)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--burn", opt->burn, "Burn-in steps (not stored; the scale factor mu is tuned here)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--thin", opt->thin, "Keep every thin-th step after burn-in (stored steps = steps / thin)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--move", opt->move,
                  "Direction move: differential (pairs of walkers), gaussian (ensemble covariance) or global "
                  "(Gaussian-mixture jumps)")
      ->capture_default_str();
  sub->add_option("--burn-move", opt->burn_move, "Move during burn-in (default: --move)");
  sub->add_option("--coordinates", opt->coordinates,
                  "Coordinates the sampler moves in (same posterior, Jacobian included): amplitude (logit of the "
                  "prior box for the 10 shape parameters, log M* replaced by the standardised least-squares "
                  "amplitude: mixes fastest), unbounded (logit of the box for all 11) or box (flow coordinates)")
      ->capture_default_str()
      ->check(CLI::IsMember({"amplitude", "unbounded", "box"}));
  sub->add_option("--seed", opt->seed, "Seed; galaxy row i depends on (seed, i) only")->capture_default_str();
  sub->add_flag("--early-stop", opt->early_stop,
                "Stop a galaxy once kept steps > min-tau-multiple x max autocorrelation time and max split R-hat < "
                "max-rhat (checked every --check-every kept steps); unconverged galaxies get flag not_converged");
  sub->add_option("--check-every", opt->check_every, "Kept steps between early-stop checks")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--min-tau-multiple", opt->min_tau_multiple,
                  "Early stop: chain length needed, in autocorrelation times")
      ->capture_default_str();
  sub->add_option("--max-rhat", opt->max_rhat, "Early stop: largest split R-hat allowed")->capture_default_str();
  sub->add_option("--max-steps-out", opt->max_steps_out,
                  "Most stepping-out expansions per slice update (Neal's m)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--map-starts", opt->map_starts,
                  "Prior draws that start a Nelder-Mead MAP search; walkers start in a ball around the best")
      ->capture_default_str();
  sub->add_option("--map-evals", opt->map_evals, "Most log-probability evaluations per MAP search")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--time-limit", opt->time_limit,
                  "Wall-clock limit per galaxy [s] (0 = none); a galaxy that hits it keeps the steps done so far "
                  "and gets flag time_limit (its chain then depends on the machine's speed)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--init-scale", opt->init_scale,
                  "Radius of the initial walker ball, as a fraction of each flow coordinate's prior range")
      ->capture_default_str();
}

}  // namespace sedpost::app
