#include "catalog/posterior_engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/special_functions.hpp"
#include "sps/fixed_z_model.hpp"

namespace sedpost::catalog {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int K = kNumQuantities;
constexpr int kS = kNumSummaryColumns;
constexpr std::size_t kRowsPerCall = 1 << 16;

void add_reason(std::string* reason, const std::string& text) {
  if (!reason) return;
  if (!reason->empty()) *reason += "; ";
  *reason += text;
}

}  // namespace

const std::vector<std::string>& infer_flag_names() {
  static const std::vector<std::string> names = {"bad_photometry", "bad_redshift", "noisier_than_training",
                                                 "colour_out_of_range", "chi2_implausible"};
  return names;
}

void InferSettings::validate() const {
  if (n_samples < 1) throw ConfigError("infer: n_samples must be >= 1");
  if (n_store < 0 || n_store > n_samples)
    throw ConfigError(cat("infer: n_store (", n_store, ") must be between 0 and n_samples (", n_samples, ")"));
  if (!(chi2_pvalue > 0 && chi2_pvalue < 1)) throw ConfigError("infer: chi2_pvalue must be in (0, 1)");
}

PosteriorEngine::PosteriorEngine(const flow::Flow& flow, const sps::SedModel& model, const prior::Prior& prior,
                                 const TrainingSupport& support, const InferSettings& settings)
    : flow_(flow),
      model_(model),
      prior_(prior),
      support_(support),
      settings_(settings),
      conditioning_(support.bands),
      chi2_max_(chi2_quantile_upper(settings.chi2_pvalue, static_cast<double>(support.bands.size()))) {
  settings_.validate();
  if (!flow.has_box()) throw ConfigError("model file: the flow has no prior box, so it is not an SED model");
  if (flow.n_theta() != static_cast<int>(prior::kNumFlow))
    throw ConfigError(cat("model file: the flow has ", flow.n_theta(), "-D theta, the SED prior ", prior::kNumFlow));
  if (flow.n_x() != static_cast<int>(conditioning_.dim()))
    throw ConfigError(cat("model file: the flow has ", flow.n_x(), "-D x, but ", support.bands.size(),
                          " bands give a ", conditioning_.dim(), "-D conditioning vector"));
  if (model.num_bands() != num_bands())
    throw ConfigError(cat("model file: ", num_bands(), " bands in the training support, ", model.num_bands(),
                          " in the SED model"));
}

std::uint32_t PosteriorEngine::check_row(const CatalogChunk& c, std::size_t i, std::string* reason) const {
  const std::size_t nb = support_.bands.size();
  const double* flux = c.flux.data() + i * nb;
  const double* sigma = c.sigma.data() + i * nb;
  std::uint32_t flags = 0;
  if (!c.note.empty() && !c.note[i].empty()) {
    flags |= kFlagBadPhotometry;
    add_reason(reason, c.note[i]);
  }
  for (std::size_t b = 0; b < nb; ++b) {
    const std::string& band = support_.bands[b];
    if (!std::isfinite(flux[b])) {
      flags |= kFlagBadPhotometry;
      add_reason(reason, cat(band, ": flux missing or not finite"));
    } else if (std::isinf(sigma[b])) {
      flags |= kFlagBadPhotometry;
      add_reason(reason, cat(band, ": not measured (inverse variance 0)"));
    } else if (!(sigma[b] > 0)) {
      flags |= kFlagBadPhotometry;
      add_reason(reason, cat(band, ": error ", sigma[b], " (NaN, negative inverse variance, or <= 0)"));
    }
  }
  const double z = c.z[i];
  if (!std::isfinite(z) || z <= 0 || z < support_.z_min || z > support_.z_max) {
    flags |= kFlagBadRedshift;
    add_reason(reason, cat("z = ", z, " outside the training range (", support_.z_min, ", ", support_.z_max, "]"));
  }
  if (flags & kFlagsNoPosterior) return flags;

  std::string why;
  if (support_.noise.is_noisier_than_training(flux, sigma, &why)) {
    flags |= kFlagNoisier;
    add_reason(reason, "noisier than training: " + why);
  }
  for (std::size_t b = 0; b + 1 < nb; ++b) {
    const double colour = noise::asinh_mag(flux[b], conditioning_.softening()[b]) -
                          noise::asinh_mag(flux[b + 1], conditioning_.softening()[b + 1]);
    if (colour < support_.colour_lo[b] || colour > support_.colour_hi[b]) {
      flags |= kFlagColour;
      add_reason(reason, cat(support_.bands[b], "-", support_.bands[b + 1], " = ", colour, " outside training [",
                             support_.colour_lo[b], ", ", support_.colour_hi[b], "]"));
    }
  }
  return flags;
}

double PosteriorEngine::log_q_unbounded(const float* theta, float log_q) const {
  const auto& lo = flow_.metadata().theta_lower;
  const auto& hi = flow_.metadata().theta_upper;
  double lq = log_q;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const double t = theta[k];
    lq += std::log((t - lo[k]) * (hi[k] - t) / (hi[k] - lo[k]));  // log |d theta / d logit|
  }
  return lq;
}

void PosteriorEngine::summarise_galaxy(const CatalogChunk& c, std::size_t i, const float* theta_flow,
                                       const float* log_q, ChunkResult& r) const {
  const int S = settings_.n_samples;
  const std::size_t nb = support_.bands.size();
  // Physical theta of every sample: [S, 12].
  std::vector<double> flow_coords(static_cast<std::size_t>(S) * prior::kNumFlow);
  std::copy(theta_flow, theta_flow + flow_coords.size(), flow_coords.begin());
  std::vector<double> physical(static_cast<std::size_t>(S) * kNumPhysical);
  prior_.to_physical(flow_coords.data(), static_cast<std::size_t>(S), physical.data());
  // All quantities: [S, K].
  const sps::FixedZModel at_z(model_, c.z[i]);
  std::vector<double> q(static_cast<std::size_t>(S) * K);
  for (int s = 0; s < S; ++s) {
    const double* th = physical.data() + static_cast<std::size_t>(s) * kNumPhysical;
    double* row = q.data() + static_cast<std::size_t>(s) * K;
    std::copy(th, th + kNumPhysical, row);
    derived_values(at_z.derived(th), row + kNumPhysical);
  }
  std::vector<double> column(static_cast<std::size_t>(S));
  for (int k = 0; k < K; ++k) {
    for (int s = 0; s < S; ++s) column[static_cast<std::size_t>(s)] = q[static_cast<std::size_t>(s) * K + k];
    summarize(column, r.summary.data() + (i * K + static_cast<std::size_t>(k)) * kS);
  }
  const std::size_t n_store = static_cast<std::size_t>(settings_.n_store);
  for (std::size_t s = 0; s < n_store * K; ++s) r.samples[i * n_store * K + s] = static_cast<float>(q[s]);
  // chi^2 of the highest-density sample against the observed fluxes: one SED evaluation. The
  // density is taken in the flow's unbounded (logit) coordinates: in the bounded ones the box
  // Jacobian 1 / ((t - lo)(hi - t)) makes the draws closest to a box edge the densest, whatever
  // they predict; in logit space the densest draw is the one the photometry favours.
  std::size_t best = 0;
  double best_log_q = -std::numeric_limits<double>::infinity();
  for (int s = 0; s < S; ++s) {
    const double lq = log_q_unbounded(theta_flow + static_cast<std::size_t>(s) * prior::kNumFlow, log_q[s]);
    if (lq > best_log_q) {
      best_log_q = lq;
      best = static_cast<std::size_t>(s);
    }
  }
  double* model_flux = r.best_flux.data() + i * nb;
  at_z.evaluate(physical.data() + best * kNumPhysical, model_flux);
  double chi2 = 0;
  for (std::size_t b = 0; b < nb; ++b) {
    const double d = (c.flux[i * nb + b] - model_flux[b]) / c.sigma[i * nb + b];
    chi2 += d * d;
  }
  r.chi2[i] = chi2;
  r.log_q_best[i] = best_log_q;
}

ChunkResult PosteriorEngine::run(const CatalogChunk& c) const {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const std::size_t n = c.n, nb = support_.bands.size(), nx = conditioning_.dim();
  const std::size_t S = static_cast<std::size_t>(settings_.n_samples);
  const std::size_t n_store = static_cast<std::size_t>(settings_.n_store);
  ChunkResult r;
  r.n = n;
  r.summary.assign(n * K * kS, std::numeric_limits<float>::quiet_NaN());
  r.samples.assign(n * n_store * K, std::numeric_limits<float>::quiet_NaN());
  r.chi2.assign(n, kNaN);
  r.best_flux.assign(n * nb, kNaN);
  r.log_q_best.assign(n, kNaN);
  r.flags.assign(n, 0);
  r.reason.assign(n, "");

  // Conditioning vectors; rows without a posterior get the training mean (their samples are
  // drawn, to keep every row's random stream at its catalog index, and discarded).
  std::vector<float> x(n * nx);
  for (std::size_t i = 0; i < n; ++i) {
    r.flags[i] = check_row(c, i, &r.reason[i]);
    float* xi = x.data() + i * nx;
    if (r.flags[i] & kFlagsNoPosterior) {
      for (std::size_t j = 0; j < nx; ++j) xi[j] = static_cast<float>(flow_.x_mean()[j]);
    } else {
      const std::vector<double> xd = conditioning_.make(c.flux.data() + i * nb, c.sigma.data() + i * nb, c.z[i]);
      for (std::size_t j = 0; j < nx; ++j) xi[j] = static_cast<float>(xd[j]);
    }
  }
  std::vector<float> theta(n * S * prior::kNumFlow), log_q(n * S);
  const auto t1 = Clock::now();
  // Galaxies per Flow::sample call: about kRowsPerCall draws in flight bounds the activations
  // (rows x hidden floats per layer) whatever the chunk size and sample count.
  const std::size_t per_call = std::max<std::size_t>(1, kRowsPerCall / S);
  for (std::size_t g = 0; g < n; g += per_call) {
    const std::size_t m = std::min(per_call, n - g);
    flow_.sample(x.data() + g * nx, static_cast<std::int64_t>(m), static_cast<std::int64_t>(S), settings_.seed,
                 theta.data() + g * S * prior::kNumFlow, log_q.data() + g * S, static_cast<std::int64_t>(c.first + g));
  }
  const auto t2 = Clock::now();

  for (std::size_t i = 0; i < n; ++i) {
    if (r.flags[i] & kFlagsNoPosterior) continue;
    summarise_galaxy(c, i, theta.data() + i * S * prior::kNumFlow, log_q.data() + i * S, r);
    if (!(r.chi2[i] <= chi2_max_)) {
      r.flags[i] |= kFlagChi2;
      add_reason(&r.reason[i], cat("chi2 of the best sample ", r.chi2[i], " > ", chi2_max_, " (p < ",
                                   settings_.chi2_pvalue, " for ", nb, " bands)"));
    }
  }
  if (!c.truth.empty()) {
    r.truth.assign(n * K, kNaN);
    for (std::size_t i = 0; i < n; ++i) {
      const double* th = c.truth.data() + i * kNumPhysical;
      double* row = r.truth.data() + i * K;
      std::copy(th, th + kNumPhysical, row);
      if (std::isfinite(c.z[i]) && c.z[i] > 0 && c.z[i] <= model_.settings().z_max)
        derived_values(model_.derived(th, c.z[i]), row + kNumPhysical);
    }
  }
  const auto t3 = Clock::now();
  r.seconds_sampling = std::chrono::duration<double>(t2 - t1).count();
  r.seconds_rest = std::chrono::duration<double>((t1 - t0) + (t3 - t2)).count();
  return r;
}

}  // namespace sedpost::catalog
