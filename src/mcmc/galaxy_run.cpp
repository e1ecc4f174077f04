#include "mcmc/galaxy_run.hpp"

#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/rng.hpp"
#include "mcmc/log_density.hpp"
#include "mcmc/optimize.hpp"
#include "sps/fixed_z_model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <type_traits>

namespace sedpost::mcmc {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kNumFlow = static_cast<int>(prior::kNumFlow);
constexpr int kNumPhys = static_cast<int>(prior::kNumPhysical);

/// The MAP search's local optima (sampled coordinates) with log posterior >= best - drop, best
/// first, each at least 0.1 (Euclidean) from those kept before it.
std::vector<Eigen::VectorXd> distinct_optima(const MapResult& map, double drop) {
  std::vector<const MinimizeResult*> runs;
  for (const MinimizeResult& r : map.runs)
    if (std::isfinite(r.value) && -r.value >= map.log_prob - drop) runs.push_back(&r);
  std::sort(runs.begin(), runs.end(), [](const MinimizeResult* a, const MinimizeResult* b) { return a->value < b->value; });
  std::vector<Eigen::VectorXd> kept;
  for (const MinimizeResult* r : runs) {
    bool is_new = true;
    for (const Eigen::VectorXd& c : kept) is_new = is_new && (r->x - c).norm() >= 0.1;
    if (is_new) kept.push_back(r->x);
  }
  return kept;
}

}  // namespace

const std::vector<std::string>& galaxy_flag_names() {
  static const std::vector<std::string> names = {"bad_sigma",          "bad_flux", "bad_redshift",
                                                 "no_finite_log_prob", "numerics", "not_converged",
                                                 "time_limit"};
  return names;
}

GalaxyResult::GalaxyResult(std::size_t steps, std::size_t walkers, std::size_t params)
    : chains(steps * walkers * params, std::numeric_limits<float>::quiet_NaN()),
      log_prob(steps * walkers, std::numeric_limits<float>::quiet_NaN()),
      tau(params, kNaN), rhat(params, kNaN), ess(params, kNaN), map_theta(params, kNaN) {}

void GalaxyResult::flag(GalaxyFlag bit, const std::string& why) {
  flags |= 1u << bit;
  reason += (reason.empty() ? "" : "; ") + why;
}

ConvergenceProbe::ConvergenceProbe(int n_walkers, const EarlyStopSettings& es, int n_dim) : es_(es) {
  r_.n_dim = n_dim;
  r_.n_walkers = n_walkers;
  r_.chain.reserve(static_cast<std::size_t>(kMaxRows) * n_walkers * n_dim);
}

void ConvergenceProbe::add(int kept, const Eigen::MatrixXd& positions) {
  if (kept % thin_ != 0) return;
  if (r_.n_steps == kMaxRows) {
    // Keep rows whose kept index is a multiple of 2 thin (the odd 0-based rows).
    const std::size_t row = static_cast<std::size_t>(r_.n_walkers) * r_.n_dim;
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
    for (int k = 0; k < r_.n_dim; ++k) r_.chain.push_back(positions(w, k));
  ++r_.n_steps;
}

ChainDiagnostics ConvergenceProbe::diagnose(int n_kept) const {
  ChainDiagnostics d;
  if (r_.n_steps < 4) {
    d.tau = Eigen::VectorXd::Constant(r_.n_dim, kNaN);
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

GalaxyResult run_galaxy(const GalaxyRunSetup& run, const double* flux, const double* sigma, double z,
                        std::uint64_t row, const float* spectrum) {
  const GalaxyRunSettings& opt = run.settings;
  const SamplerSettings& ss = opt.sampler;
  const bool early_stop = ss.early_stop.enabled;
  const int nb = run.model.num_bands();
  const double z_max = run.model.settings().z_max;
  const std::size_t max_kept = static_cast<std::size_t>(ss.n_steps / ss.thin);
  const bool z_free = run.layout.z_inferred;
  const int D = static_cast<int>(run.layout.dim());     // sampled coordinates
  const int P = kNumPhys + (z_free ? 1 : 0);            // values per chain entry
  GalaxyResult res(max_kept, static_cast<std::size_t>(ss.n_walkers), static_cast<std::size_t>(P));
  const auto t0 = std::chrono::steady_clock::now();

  // A missing band (flux not finite or sigma +inf: not measured, as catalogs and band-masked
  // test sets write it) is left out of the likelihood; a NaN or non-positive sigma is bad input.
  std::vector<double> sigma_used(sigma, sigma + nb);
  int n_used = 0;
  for (int b = 0; b < nb; ++b) {
    const bool missing = !std::isfinite(flux[b]) || std::isinf(sigma[b]);
    if (missing) {
      sigma_used[static_cast<std::size_t>(b)] = std::numeric_limits<double>::infinity();
    } else if (!std::isfinite(sigma[b]) || !(sigma[b] > 0.0)) {
      res.flag(kFlagBadSigma,
               cat("sigma of band ", b, " is ", sigma[b], " (must be > 0, or +inf for a missing band)"));
      break;
    } else {
      ++n_used;
    }
  }
  if (res.flags == 0 && n_used == 0) res.flag(kFlagBadFlux, "every band is missing");
  if (!z_free && (!std::isfinite(z) || !(z > 0.0) || z > z_max)) {
    res.flag(kFlagBadRedshift, cat("z = ", z, " is outside (0, ", z_max, "]"));
  }
  if (res.flags != 0) return res;

  std::shared_ptr<GalaxyPosterior> state;
  // The flow coordinates [D] of a chain point -> physical theta (then z) into dst [P].
  auto to_output = [&](const double* x, auto* dst) {
    prior::FlowCoords xf{};
    std::copy(x, x + kNumFlow, xf.begin());
    const prior::Physical p = run.prior.to_physical(xf);
    for (int k = 0; k < kNumPhys; ++k) dst[k] = static_cast<std::remove_pointer_t<decltype(dst)>>(p[k]);
    if (z_free) dst[kNumPhys] = static_cast<std::remove_pointer_t<decltype(dst)>>(x[kNumFlow]);
  };
  // The box of the flow coordinates [D]: the prior's, then the z range.
  const std::vector<double> lo = run.layout.lower(run.prior), hi = run.layout.upper(run.prior);
  auto in_box = [&](const double* x) {
    prior::FlowCoords xf{};
    std::copy(x, x + kNumFlow, xf.begin());
    return run.prior.in_box(xf) && (!z_free || (x[kNumFlow] > 0 && x[kNumFlow] >= lo[kNumFlow] && x[kNumFlow] <= hi[kNumFlow]));
  };
  const prior::RedshiftPrior z_prior = run.layout.z_prior();  // used when z is free
  if (spectrum && !run.spectrograph) throw ConfigError("mcmc: a spectrum needs GalaxyRunSetup::spectrograph");
  try {
    std::unique_ptr<sps::FixedZModel> fz;
    std::unique_ptr<posterior::SpectrumLikelihood> spectrum_like;  // outlives the sampling below
    if (spectrum) {
      spectrum_like = std::make_unique<posterior::SpectrumLikelihood>(
          run.model, *run.spectrograph, spectrum, z_free ? std::nullopt : std::optional<double>(z));
    }
    if (z_free) {
      if (!run.free_z) throw ConfigError("mcmc: z inferred needs GalaxyRunSetup::free_z");
      state = std::make_shared<GalaxyPosterior>(*run.free_z, z_prior, run.prior, flux,
                                                sigma_used.data(), nb, opt.coords, spectrum_like.get());
    } else {
      fz = std::make_unique<sps::FixedZModel>(run.model, z);
      state = std::make_shared<GalaxyPosterior>(*fz, run.prior, flux, sigma_used.data(), nb, opt.coords,
                                                spectrum_like.get());
    }
    const BatchLogDensity log_density = [state](const Eigen::Ref<const Eigen::MatrixXd>& t,
                                                Eigen::Ref<Eigen::VectorXd> lp) { (*state)(t, lp); };

    // Initialisation stream: kMcmc keyed by the row with the top bit set, so it never overlaps
    // the sampler's own stream Rng(seed, kMcmc, row).
    Rng init_rng(ss.seed, RngStream::kMcmc, row | (std::uint64_t{1} << 63));
    Eigen::MatrixXd start_flow(opt.map_starts, D);
    for (int s = 0; s < opt.map_starts; ++s) {
      const prior::FlowCoords x = run.prior.sample_flow(init_rng);
      for (int k = 0; k < kNumFlow; ++k) start_flow(s, k) = x[k];
      if (z_free) start_flow(s, kNumFlow) = z_prior.sample(init_rng);
    }
    const Eigen::MatrixXd starts = state->from_flow(start_flow);
    const Eigen::VectorXd start_lp = mcmc::evaluate(log_density, starts);
    if (!start_lp.array().isFinite().any()) {
      res.flag(kFlagNoFiniteLogProb, cat("log-probability is -inf at all ", opt.map_starts, " prior draws"));
    } else {
      const Eigen::VectorXd width = state->scale();
      NelderMeadSettings nm;
      nm.initial_steps = 0.05 * width;
      nm.max_evals = opt.map_evals;
      const MapResult map = find_map(log_density, starts, nm);
      Eigen::MatrixXd map_flow;
      {
        Eigen::VectorXd map_lp_flow;
        state->to_flow(map.theta.transpose(), Eigen::VectorXd::Constant(1, map.log_prob), map_flow, map_lp_flow);
        const Eigen::VectorXd xm = map_flow.row(0).transpose();
        to_output(xm.data(), res.map_theta.data());
        res.map_log_prob = map_lp_flow[0];  // the mode in the sampled coordinates
      }

      // Walkers start in a ball around the MAP drawn in the flow coordinates (radius init_scale
      // of each coordinate's prior range, points outside the box redrawn), then mapped to the
      // sampled coordinates. A ball drawn in the sampled coordinates can miss the support
      // entirely in kAmplitude when the likelihood is flat (sigma_M >> the prior's mass range).
      Eigen::MatrixXd init(ss.n_walkers, D);
      {
        Eigen::MatrixXd cand(ss.n_walkers, D);
        int got = 0;
        for (int batch = 0; got < ss.n_walkers; ++batch) {
          if (batch == 1000)
            throw NumericsError(cat("row ", row, ": found only ", got, " of ", ss.n_walkers,
                                    " initial walkers with finite log density around the MAP"));
          std::vector<double> xc(static_cast<std::size_t>(D));
          for (int i = 0; i < ss.n_walkers; ++i) {
            do {
              for (int k = 0; k < D; ++k) xc[k] = map_flow(0, k) + opt.init_scale * (hi[k] - lo[k]) * init_rng.normal();
            } while (!in_box(xc.data()));
            for (int k = 0; k < D; ++k) cand(i, k) = xc[k];
          }
          const Eigen::MatrixXd y = state->from_flow(cand);
          const Eigen::VectorXd lp = mcmc::evaluate(log_density, y);
          for (int i = 0; i < ss.n_walkers && got < ss.n_walkers; ++i)
            if (std::isfinite(lp[i])) init.row(got++) = y.row(i);
        }
      }
      SamplerSettings settings = ss;
      settings.stream_index = row;
      settings.early_stop.enabled = false;  // checked by the probe below, not by the sampler
      settings.axis_slices = AxisSliceSettings{};
      if (opt.axis_slices > 0) {
        settings.axis_slices.axes = state->bounded_axes();
        settings.axis_slices.per_step = opt.axis_slices;
      }
      settings.mode_jumps = ModeJumpSettings{};
      if (opt.mode_jumps) settings.mode_jumps.centers = distinct_optima(map, opt.mode_jump_drop);
      const EnsembleSliceSampler sampler(log_density, D, settings);
      // Convergence checks on a thinned copy of the chain (ConvergenceProbe): each check costs
      // the same at any chain length, where diagnosing the whole chain every check_every steps
      // costs O(n log n) per check, O(n^2 log n) per run (16 s per check at 58k steps here).
      ConvergenceProbe probe(ss.n_walkers, settings.early_stop, D);
      bool converged_early = false, timed_out = false;
      double last_tau = kNaN;
      Eigen::MatrixXd x_flow;
      Eigen::VectorXd lp_flow;
      const StepCallback callback = [&](const StepInfo& info) {
        if (info.burn_in) return true;
        const int after_burn = info.step - ss.n_burn + 1;
        if (after_burn % ss.thin != 0) return true;
        const int kept = after_burn / ss.thin;
        // Kept steps go out (and into the convergence checks) in flow coordinates, whatever
        // the sampled coordinates: tau and R-hat are those of the parameters reported.
        state->to_flow(*info.positions, *info.log_prob, x_flow, lp_flow);
        if (!x_flow.allFinite())
          throw NumericsError(cat("row ", row, ": a walker left the support (sampled coordinates -> flow)"));
        const std::size_t s = static_cast<std::size_t>(kept - 1);
        for (int w = 0; w < ss.n_walkers; ++w) {
          const Eigen::VectorXd xw = x_flow.row(w).transpose();
          to_output(xw.data(), res.chains.data() + (s * ss.n_walkers + w) * P);
          res.log_prob[s * ss.n_walkers + w] = static_cast<float>(lp_flow[w]);
        }
        probe.add(kept, x_flow);
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        // A check cannot succeed while kept < min_tau_multiple * tau; skip checks until the chain
        // is at least half that long for the last estimate (tau estimates grow with the chain).
        const bool may_converge = !(kept < 0.5 * ss.early_stop.min_tau_multiple * last_tau);
        if (kept % ss.early_stop.check_every == 0 &&
            ((early_stop && may_converge) || logger().level() == LogLevel::kDebug)) {
          const ChainDiagnostics d = probe.diagnose(kept);
          last_tau = d.tau.size() ? d.tau.maxCoeff() : kNaN;
          logger().debug(cat("row ", row, ": ", kept, " kept steps, ", state->n_evals(), " evals, ", elapsed,
                             " s, max tau ", last_tau, ", max R-hat ", d.rhat.size() ? d.rhat.maxCoeff() : kNaN));
          if (early_stop && d.converged) {
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
      const SamplerResult r = sampler.run(init, callback);
      if (settings.mode_jumps.centers.size() >= 2)
        logger().debug(cat("row ", row, ": ", settings.mode_jumps.centers.size(), " modes, ", r.mode_jumps_accepted, " of ",
                           r.mode_jumps_proposed, " mode jumps accepted"));
      if (timed_out) {
        res.flag(kFlagTimeLimit, cat("time limit ", opt.time_limit, " s reached after ", r.n_steps, " kept steps"));
      }

      res.n_steps = r.n_steps;  // res.chains / res.log_prob were filled by the callback
      if (r.n_steps >= 4) {
        // Flow-coordinate diagnostics: exact (whole chain) up to ConvergenceProbe::kMaxRows kept
        // steps, the thinned probe's beyond (tau scaled back to kept steps).
        const ChainDiagnostics d = probe.diagnose(r.n_steps);
        for (int k = 0; k < D; ++k) {
          res.tau[physical_slot(k)] = d.tau[k];
          res.rhat[physical_slot(k)] = d.rhat[k];
          res.ess[physical_slot(k)] = d.ess[k];
        }
        res.max_tau = d.tau.maxCoeff();
        res.converged = (d.converged || converged_early) ? 1 : 0;
        if (early_stop && !converged_early) {
          res.flag(kFlagNotConverged, cat("not converged in ", r.n_steps, " kept steps: max tau ", d.tau.maxCoeff(),
                                          " (need steps > ", settings.early_stop.min_tau_multiple,
                                          " tau), max R-hat ", d.rhat.maxCoeff()));
        }
      } else if (early_stop) {
        res.flag(kFlagNotConverged, cat("only ", r.n_steps, " kept steps: no diagnostics"));
      }
    }
  } catch (const NumericsError& e) {
    // The galaxy's chains stay NaN; the run goes on with the next galaxy.
    std::fill(res.chains.begin(), res.chains.end(), std::numeric_limits<float>::quiet_NaN());
    std::fill(res.log_prob.begin(), res.log_prob.end(), std::numeric_limits<float>::quiet_NaN());
    res.n_steps = 0;
    res.flag(kFlagNumerics, e.what());
  } catch (const DataError& e) {
    res.flag(kFlagBadRedshift, e.what());  // FixedZModel rejects the redshift
  }
  if (state) res.n_evals = state->n_evals();
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace sedpost::mcmc
