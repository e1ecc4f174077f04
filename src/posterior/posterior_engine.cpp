#include "posterior/posterior_engine.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <cmath>
#include <limits>
#include <optional>

#include "catalog/spectra.hpp"
#include "posterior/spectrum_likelihood.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/rng.hpp"
#include "core/special_functions.hpp"
#include "noise/noise_model.hpp"
#include "posterior/importance.hpp"
#include "posterior/likelihood_weighting.hpp"
#include "posterior/redshift_modes.hpp"
#include "posterior/sed_target.hpp"
#include "posterior/simulator_terms.hpp"
#include "sps/fixed_z_model.hpp"

namespace sedpost::posterior {

namespace {

using catalog::CatalogChunk;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kS = catalog::kNumSummaryColumns;
constexpr std::size_t kRowsPerCall = 1 << 16;
constexpr std::size_t kZ = prior::ThetaLayout::kZ;

/// The redshift of a flow draw x for the model: a float draw at z_min = 0 can round to 0, where
/// the model is undefined; it is evaluated at 1e-6 instead.
double model_z(const double* x) { return std::max(x[kZ], 1e-6); }

}  // namespace

PosteriorEngine::PosteriorEngine(const flow::Flow& flow, const sps::SedModel& model, const prior::Prior& prior,
                                 const catalog::TrainingSupport& support, const PosteriorSettings& settings,
                                 const std::optional<sps::SpectrographSettings>& spectrograph)
    : flow_(flow),
      model_(model),
      prior_(prior),
      support_(support),
      settings_(settings),
      layout_{support.z_inferred, support.z_min, support.z_max, support.z_prior_weights},
      conditioning_(support.bands, {}, support.band_masks, !support.z_inferred) {
  settings_.validate();
  chi2_max_.push_back(kNaN);
  for (std::size_t k = 1; k <= support.bands.size(); ++k)
    chi2_max_.push_back(chi2_quantile_upper(settings.chi2_pvalue, static_cast<double>(k)));
  if (!flow.has_box()) throw ConfigError("model file: the flow has no prior box, so it is not an SED model");
  if (flow.n_theta() != theta_dim())
    throw ConfigError(cat("model file: the flow has ", flow.n_theta(), "-D theta, the SED prior ", theta_dim(),
                          z_inferred() ? " (11 flow coordinates and z)" : ""));
  if (const std::string* blob = flow.metadata().attachment(flow::kSpectrumEmbeddingAttachment))
    embedding_.emplace(flow::SpectrumEmbedding::from_bytes(*blob, "model file (spectrum embedding)"));
  const int n_embedding = embedding_ ? embedding_->out_dim() : 0;
  if (embedding_) {
    if (!spectrograph)
      throw ConfigError("model file: the flow conditions on spectra, but its training config has no [spectrum] enabled");
    spectrograph_.emplace(*spectrograph);
    if (spectrograph_->num_pixels() != embedding_->n_pixels())
      throw ConfigError(cat("model file: the spectrum embedding takes ", embedding_->n_pixels(),
                            " pixels, the training config's spectrograph gives ", spectrograph_->num_pixels()));
  }
  if (flow.n_x() != static_cast<int>(conditioning_.dim()) + n_embedding)
    throw ConfigError(cat("model file: the flow has ", flow.n_x(), "-D x, but ", support.bands.size(),
                          " bands give a ", conditioning_.dim(), "-D conditioning vector",
                          embedding_ ? cat(" and the spectrum embedding ", n_embedding, " more") : ""));
  if (model.num_bands() != num_bands())
    throw ConfigError(cat("model file: ", num_bands(), " bands in the training support, ", model.num_bands(),
                          " in the SED model"));
  // z inferred: the likelihood and the quantities at each draw's z read the band weights from a
  // table in ln(1 + z) (sps::FreeZModel; the best fit and the truth stay exact).
  if (z_inferred()) {
    free_z_.emplace(model);
    z_prior_.emplace(layout_.z_prior());
  }
  if (!settings_.z_prior_mag_band.empty()) {
    const std::string& band = settings_.z_prior_mag_band;
    if (!z_inferred())
      throw ConfigError(cat("z_prior_mag_band = '", band, "': the model takes the redshift as given ([model] redshift = "
                            "\"given\"), so it has no redshift prior to replace"));
    const auto it = std::find(support.bands.begin(), support.bands.end(), band);
    if (it == support.bands.end()) {
      std::string names;
      for (const std::string& b : support.bands) names += cat(names.empty() ? "" : ", ", b);
      throw ConfigError(cat("z_prior_mag_band = '", band, "' is not one of the model's bands (", names, ")"));
    }
    mag_band_ = static_cast<std::size_t>(it - support.bands.begin());
    mag_z_prior_.emplace(layout_.z_min, layout_.z_max, settings_.z_prior_mag_edges, settings_.z_prior_mag_weights,
                         "z prior by magnitude");
  }
}

const prior::RedshiftPrior& PosteriorEngine::z_prior_of_row(const CatalogChunk& c, std::size_t i,
                                                            std::uint32_t bands_used) const {
  if (!mag_z_prior_ || !(bands_used >> mag_band_ & 1u)) return *z_prior_;
  const double flux = c.flux[i * support_.bands.size() + mag_band_];  // finite: the band is used
  // A flux <= 0 (a faint galaxy's noisy measurement) is fainter than every edge.
  const double mag = flux > 0 ? noise::nmgy_to_mag(flux) : std::numeric_limits<double>::infinity();
  const int k = mag_z_prior_->bin_of(mag);
  return k < 0 ? *z_prior_ : mag_z_prior_->prior(k);
}

std::uint32_t PosteriorEngine::check_row(const CatalogChunk& c, std::size_t i, std::string* reason,
                                         RowBands& bands) const {
  const std::size_t nb = support_.bands.size();
  const double* flux = c.flux.data() + i * nb;
  const double* sigma = c.sigma.data() + i * nb;
  bands.used.assign(nb, 1);
  bands.in_flow.assign(nb, 1);
  bands.typical_noise.assign(nb, 0);
  bands.sigma_flow.assign(sigma, sigma + nb);
  std::uint32_t flags = 0;
  if (!c.note.empty() && !c.note[i].empty()) {
    flags |= kFlagBadPhotometry;
    add_reason(reason, c.note[i]);
  }
  std::string missing;
  for (std::size_t b = 0; b < nb; ++b) {
    const std::string& band = support_.bands[b];
    std::string why;
    if (!std::isfinite(flux[b])) {
      why = cat(band, ": flux missing or not finite");
    } else if (std::isinf(sigma[b])) {
      why = cat(band, ": not measured (inverse variance 0)");
    } else if (!(sigma[b] > 0)) {
      why = cat(band, ": error ", sigma[b], " (NaN, negative inverse variance, or <= 0)");
    }
    if (why.empty()) continue;
    bands.used[b] = bands.in_flow[b] = 0;
    if (!support_.band_masks) {
      flags |= kFlagBadPhotometry;
      add_reason(reason, why);
    }
    add_reason(&missing, why);
  }
  if (std::find(bands.used.begin(), bands.used.end(), 1) == bands.used.end() && !(flags & kFlagBadPhotometry)) {
    flags |= kFlagBadPhotometry;
    add_reason(reason, "no usable band: " + missing);
  }
  const double z = c.z[i];
  if (!z_inferred() && (!std::isfinite(z) || z <= 0 || z < support_.z_min || z > support_.z_max)) {
    flags |= kFlagBadRedshift;
    add_reason(reason, cat("z = ", z, " outside the training range (", support_.z_min, ", ", support_.z_max, "]"));
  }
  if (flags & kFlagsNoPosterior) return flags;

  bands.typical_noise = bands.used;
  flags |= check_noise(flux, sigma, reason, bands);
  for (std::size_t b = 0; b + 1 < nb; ++b) {
    if (!bands.in_flow[b] || !bands.in_flow[b + 1]) continue;
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

std::uint32_t PosteriorEngine::check_noise(const double* flux, const double* sigma, std::string* reason,
                                           RowBands& bands) const {
  const std::size_t nb = support_.bands.size();
  std::string why, noisy;
  std::vector<double> limit(nb, kNaN);
  for (std::size_t b = 0; b < nb; ++b) {
    if (!bands.used[b]) continue;
    limit[b] = support_.noise.training_sigma_limit(b, flux[b], sigma[b]);
    if (!(sigma[b] > limit[b])) continue;
    bands.typical_noise[b] = 0;
    add_reason(&why, cat(support_.bands[b], " sigma ", sigma[b], " > ", limit[b], " nmgy"));
    noisy += (noisy.empty() ? "" : ", ") + support_.bands[b];
  }
  if (noisy.empty()) return 0;
  std::string remedy;
  const bool can_leave_out = [&] {  // a band must stay in the flow
    for (std::size_t b = 0; b < nb; ++b)
      if (bands.in_flow[b] && !(sigma[b] > limit[b])) return true;
    return false;
  }();
  if (support_.band_masks && can_leave_out) {
    for (std::size_t b = 0; b < nb; ++b)
      if (bands.used[b] && sigma[b] > limit[b]) {
        bands.in_flow[b] = 0;
        if (!settings_.weighting) bands.used[b] = 0;
      }
    remedy = settings_.weighting ? cat(noisy, " left out of the flow's conditioning and used in the likelihood weights")
                                 : cat(noisy, " left out of the posterior (the weighting is off)");
  } else if (settings_.weighting) {
    for (std::size_t b = 0; b < nb; ++b)
      if (bands.used[b] && sigma[b] > limit[b]) bands.sigma_flow[b] = limit[b];
    remedy = cat("the flow sees the errors of ", noisy,
                 " clipped to the training bound; the likelihood weights use the real errors");
  } else {
    remedy = "none (the weighting is off and the model has no band masks)";
  }
  add_reason(reason, cat("noisier than training (largest training sigma near the flux): ", why, "; remedy: ", remedy));
  return kFlagNoisier;
}

double PosteriorEngine::log_q_unbounded(const double* theta, double log_q) const {
  const auto& lo = flow_.metadata().theta_lower;
  const auto& hi = flow_.metadata().theta_upper;
  double lq = log_q;
  for (std::size_t k = 0; k < lo.size(); ++k) {
    const double t = theta[k];
    lq += std::log((t - lo[k]) * (hi[k] - t) / (hi[k] - lo[k]));  // log |d theta / d logit|
  }
  return lq;
}

void PosteriorEngine::quantities(const sps::FixedZModel* at_z, const double* x, double* out) const {
  prior_.to_physical(x, 1, out);  // the 12 physical parameters first
  if (at_z) {
    catalog::derived_values(at_z->derived(out), out + catalog::kNumPhysical);
  } else {
    catalog::derived_values(free_z_->derived(out, model_z(x)), out + catalog::kNumPhysical);
    out[catalog::kNumQuantities] = x[kZ];
  }
}

void PosteriorEngine::best_fit(const CatalogChunk& c, std::size_t i, const sps::FixedZModel* at_z, const double* x,
                               ChunkResult& r) const {
  const std::size_t nb = support_.bands.size();
  double physical[catalog::kNumPhysical];
  prior_.to_physical(x, 1, physical);
  double* model_flux = r.best_flux.data() + i * nb;
  if (at_z) at_z->evaluate(physical, model_flux);
  else model_.evaluate(physical, model_z(x), model_flux);
  double chi2 = 0;
  for (std::size_t b = 0; b < nb; ++b) {
    if (!(r.bands_used[i] >> b & 1u)) continue;
    const double f = c.flux[i * nb + b], s = c.sigma[i * nb + b], floor = settings_.model_error * f;
    const double d = f - model_flux[b];
    chi2 += d * d / (s * s + floor * floor);
  }
  r.chi2[i] = chi2;
}

void PosteriorEngine::check_z_modes(const double* x, const double* w, std::size_t m, std::size_t i,
                                    ChunkResult& r) const {
  const std::size_t D = layout_.dim();
  std::vector<double> z(m);
  for (std::size_t s = 0; s < m; ++s) z[s] = x[s * D + kZ];
  const std::vector<RedshiftMode> modes =
      redshift_modes(z.data(), w, m, layout_.z_min, layout_.z_max, settings_.z_mode_weight);
  if (modes.size() < 2) return;
  r.flags[i] |= kFlagZMultimodal;
  add_reason(&r.reason[i], cat("redshift posterior has ", modes.size(), " modes: ", describe_modes(modes)));
}

void PosteriorEngine::summarise_flow_draws(const CatalogChunk& c, std::size_t i, const float* theta_flow,
                                           const float* log_q, ChunkResult& r) const {
  const std::size_t S = static_cast<std::size_t>(settings_.n_samples), D = layout_.dim();
  const auto K = static_cast<std::size_t>(num_quantities());
  std::optional<sps::FixedZModel> fixed;
  if (!z_inferred()) fixed.emplace(model_, c.z[i]);
  const sps::FixedZModel* at_z = fixed ? &*fixed : nullptr;
  std::vector<double> q(S * K), x(D), all(S * D);
  for (std::size_t s = 0; s < S; ++s) {
    std::copy(theta_flow + s * D, theta_flow + (s + 1) * D, x.begin());
    std::copy(x.begin(), x.end(), all.begin() + static_cast<std::ptrdiff_t>(s * D));
    quantities(at_z, x.data(), q.data() + s * K);
  }
  if (z_inferred()) check_z_modes(all.data(), nullptr, S, i, r);
  std::vector<double> column(S);
  for (std::size_t k = 0; k < K; ++k) {
    for (std::size_t s = 0; s < S; ++s) column[s] = q[s * K + k];
    catalog::summarize(column, r.summary.data() + (i * K + k) * kS);
  }
  const std::size_t n_store = static_cast<std::size_t>(settings_.n_store);
  for (std::size_t s = 0; s < n_store * K; ++s) r.samples[i * n_store * K + s] = static_cast<float>(q[s]);
  std::copy(theta_flow, theta_flow + n_store * D, r.draws_flow.begin() + static_cast<std::ptrdiff_t>(i * n_store * D));
  // The highest-density draw, its density taken in the flow's unbounded (logit) coordinates: in
  // the bounded ones the box Jacobian 1 / ((t - lo)(hi - t)) makes the draws closest to a box
  // edge the densest, whatever they predict.
  std::size_t best = 0;
  double best_log_q = -std::numeric_limits<double>::infinity();
  for (std::size_t s = 0; s < S; ++s) {
    std::copy(theta_flow + s * D, theta_flow + (s + 1) * D, x.begin());
    const double lq = log_q_unbounded(x.data(), log_q[s]);
    if (lq > best_log_q) {
      best_log_q = lq;
      best = s;
    }
  }
  std::copy(theta_flow + best * D, theta_flow + (best + 1) * D, x.begin());
  best_fit(c, i, at_z, x.data(), r);
  r.log_q_best[i] = best_log_q;
  r.n_draws[i] = static_cast<std::uint32_t>(S);
}

void PosteriorEngine::summarise_weighted(const CatalogChunk& c, std::size_t i, const float* x_cond,
                                         const float* theta_flow, const float* log_q, const std::uint8_t* typical_noise,
                                         ChunkResult& r, double* best_x) const {
  const std::size_t nb = support_.bands.size(), D = layout_.dim();
  const auto K = static_cast<std::size_t>(num_quantities());
  std::optional<sps::FixedZModel> fixed;
  if (!z_inferred()) fixed.emplace(model_, c.z[i]);
  const sps::FixedZModel* at_z = fixed ? &*fixed : nullptr;
  const double* flux = c.flux.data() + i * nb;
  // Bands outside the posterior get an infinite error: SedTarget leaves them out.
  std::vector<double> sigma(c.sigma.begin() + static_cast<std::ptrdiff_t>(i * nb),
                            c.sigma.begin() + static_cast<std::ptrdiff_t>((i + 1) * nb));
  for (std::size_t b = 0; b < nb; ++b)
    if (!(r.bands_used[i] >> b & 1u)) sigma[b] = std::numeric_limits<double>::infinity();
  const std::uint64_t row = c.first + i;
  const LikelihoodWeighting weighting(flow_, settings_);
  // The simulator's prior (model fluxes inside the training flux range) and error density.
  const SimulatorTerms terms(support_.noise, sigma.data(), settings_.noise_likelihood ? typical_noise : nullptr, true);
  // The exact target: at the galaxy's z, or with z free (the draws' 12th coordinate).
  // With spectra the target includes the galaxy's spectral likelihood.
  std::optional<SpectrumLikelihood> spectrum;
  if (spectrograph_)
    spectrum.emplace(model_, *spectrograph_, c.spectrum.data() + i * static_cast<std::size_t>(spectrograph_->num_pixels()),
                     at_z ? std::optional<double>(c.z[i]) : std::nullopt);
  const SpectrumLikelihood* spec = spectrum ? &*spectrum : nullptr;
  auto target = [&](const SimulatorTerms* t) {
    const int B = static_cast<int>(nb);
    return at_z ? SedTarget(*at_z, prior_, flux, sigma.data(), B, settings_.model_error, t, spec)
                : SedTarget(*free_z_, z_prior_of_row(c, i, r.bands_used[i]), prior_, flux, sigma.data(), B,
                            settings_.model_error, t, spec);
  };
  WeightedDraws d = weighting.run(target(&terms), x_cond, theta_flow, log_q, row);
  if (d.best < 0) {
    d = weighting.run(target(nullptr), x_cond, theta_flow, log_q, row);
    r.flags[i] |= kFlagOutsideFluxRange;
    add_reason(&r.reason[i], "no draw has model fluxes inside the training flux range; weighted without it");
  }
  r.ess[i] = d.ess;
  r.n_draws[i] = static_cast<std::uint32_t>(d.evaluations);
  r.rounds[i] = static_cast<std::uint32_t>(d.rounds);
  if (settings_.moves > 0) r.acceptance[i] = d.acceptance;
  r.efficiency[i] = d.ess / static_cast<double>(d.evaluations);
  if (d.best < 0) return;  // nothing inside the prior: summaries stay NaN, flagged by the caller

  // Resampled draws (for /samples and chi2_draw), then quantities of every draw that carries
  // weight: those below 1e-9 of the total change no summary at float precision.
  Rng rng(settings_.seed, RngStream::kResample, row);
  const std::size_t n_store = static_cast<std::size_t>(settings_.n_store);
  const std::vector<std::size_t> picks = systematic_resample(d.w, n_store, rng.uniform());
  const std::vector<std::size_t> one = systematic_resample(d.w, 1, rng.uniform());
  std::vector<int> slot(static_cast<std::size_t>(d.n), -1);
  std::vector<std::size_t> used;
  for (std::size_t j = 0; j < d.w.size(); ++j)
    if (d.w[j] > 1e-9) used.push_back(j);
  for (std::size_t j : picks)
    if (!(d.w[j] > 1e-9)) used.push_back(j);
  std::vector<double> q, wq;
  q.reserve(used.size() * K);
  for (std::size_t j : used) {
    if (slot[j] >= 0) continue;
    slot[j] = static_cast<int>(wq.size());
    wq.push_back(d.w[j]);
    q.resize(q.size() + K);
    quantities(at_z, &d.x[j * D], q.data() + q.size() - K);
  }
  const std::size_t m = wq.size();
  std::vector<double> column(m);
  for (std::size_t k = 0; k < K; ++k) {
    for (std::size_t s = 0; s < m; ++s) column[s] = q[s * K + k];
    weighted_summary(column.data(), wq.data(), m, r.summary.data() + (i * K + k) * kS);
  }
  if (z_inferred()) check_z_modes(d.x.data(), d.w.data(), d.w.size(), i, r);
  for (std::size_t s = 0; s < picks.size(); ++s) {
    const double* src = &q[static_cast<std::size_t>(slot[picks[s]]) * K];
    float* dst = &r.samples[(i * n_store + s) * K];
    for (std::size_t k = 0; k < K; ++k) dst[k] = static_cast<float>(src[k]);
    for (std::size_t k = 0; k < D; ++k) r.draws_flow[(i * n_store + s) * D + k] = static_cast<float>(d.x[picks[s] * D + k]);
  }
  if (!one.empty()) r.chi2_draw[i] = d.chi2[one[0]];
  const double* xb = &d.x[static_cast<std::size_t>(d.best) * D];
  best_fit(c, i, at_z, xb, r);
  std::copy(xb, xb + D, best_x);  // its flow density is taken for the whole chunk at once
}

void PosteriorEngine::posterior_of_row(const CatalogChunk& c, std::size_t i, const float* x_cond,
                                       const float* theta_flow, const float* log_q, const std::uint8_t* typical_noise,
                                       ChunkResult& r, double* best_x) const {
  if (settings_.weighting) {
    summarise_weighted(c, i, x_cond, theta_flow, log_q, typical_noise, r, best_x);
    if (!(r.ess[i] >= settings_.min_ess)) {
      r.flags[i] |= kFlagWeightsDegenerate;
      add_reason(&r.reason[i], cat("likelihood weighting: effective sample size ", r.ess[i], " of ", r.n_draws[i],
                                   " draws after ", r.rounds[i], " refinement rounds (min_ess ", settings_.min_ess,
                                   ")"));
    }
  } else {
    summarise_flow_draws(c, i, theta_flow, log_q, r);
  }
  const int n_used = __builtin_popcount(r.bands_used[i]);
  if (!(r.chi2[i] <= chi2_threshold(n_used))) {
    r.flags[i] |= kFlagChi2;
    add_reason(&r.reason[i], cat("chi2 of the best-fitting draw ", r.chi2[i], " > ", chi2_threshold(n_used), " (p < ",
                                 settings_.chi2_pvalue, " for ", n_used, " bands)"));
  }
}

void PosteriorEngine::flow_log_q_best(const float* x, const std::vector<double>& best_x, ChunkResult& r) const {
  const std::size_t nx = static_cast<std::size_t>(flow_.n_x()), D = layout_.dim();
  std::vector<std::size_t> rows;
  std::vector<float> theta, xs;
  for (std::size_t i = 0; i < r.n; ++i) {
    if (!std::isfinite(best_x[i * D])) continue;
    rows.push_back(i);
    theta.insert(theta.end(), best_x.begin() + static_cast<std::ptrdiff_t>(i * D),
                 best_x.begin() + static_cast<std::ptrdiff_t>((i + 1) * D));
    xs.insert(xs.end(), x + i * nx, x + (i + 1) * nx);
  }
  std::vector<float> lq(rows.size());
  if (!rows.empty()) flow_.log_prob(theta.data(), xs.data(), static_cast<std::int64_t>(rows.size()), lq.data());
  for (std::size_t j = 0; j < rows.size(); ++j)
    r.log_q_best[rows[j]] = log_q_unbounded(&best_x[rows[j] * D], lq[j]);
}

void PosteriorEngine::append_spectrum_embedding(const CatalogChunk& c, const std::vector<std::uint32_t>& flags,
                                                float* x) const {
  const std::size_t n = c.n, P = static_cast<std::size_t>(embedding_->n_pixels());
  const std::size_t nx = static_cast<std::size_t>(flow_.n_x()), E = static_cast<std::size_t>(embedding_->out_dim());
  if (c.spectrum.size() != n * P)
    throw DataError(cat("the model conditions on spectra of ", P, " pixels, but the catalog has ",
                        c.spectrum.empty() ? std::string("no /spectrum") : cat(c.spectrum.size() / std::max<std::size_t>(n, 1), " pixels per row")));
  std::vector<std::size_t> rows;  // rows with a posterior (the others keep the training mean)
  for (std::size_t i = 0; i < n; ++i) {
    if (flags[i] & kFlagsNoPosterior) continue;
    const std::string id = i < c.id_text.size() ? c.id_text[i] : i < c.id.size() ? std::to_string(c.id[i]) : "?";
    catalog::require_finite_spectrum(c.spectrum.data() + i * P, static_cast<int>(P), catalog::galaxy_label(id, c.first + i));
    rows.push_back(i);
  }
  // The spectra of those rows: the chunk's own when every row has a posterior (no copy); and
  // their catalog redshifts for a rest-frame embedding (a model with z given).
  std::vector<float> s, z, e(rows.size() * E);
  if (rows.size() < n)
    for (std::size_t i : rows) s.insert(s.end(), c.spectrum.begin() + i * P, c.spectrum.begin() + (i + 1) * P);
  if (embedding_->rest_frame())
    for (std::size_t i : rows) z.push_back(static_cast<float>(c.z.at(i)));
  embedding_->embed(rows.size() < n ? s.data() : c.spectrum.data(), z.empty() ? nullptr : z.data(),
                    static_cast<std::int64_t>(rows.size()), e.data());
  for (std::size_t j = 0; j < rows.size(); ++j) std::copy_n(e.data() + j * E, E, x + rows[j] * nx + (nx - E));
}

ChunkResult PosteriorEngine::run(const CatalogChunk& c) const {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const std::size_t n = c.n, nb = support_.bands.size(), nx = static_cast<std::size_t>(flow_.n_x()), D = layout_.dim();
  const std::size_t nxp = conditioning_.dim();  // the photometry's part of x (then the spectrum embedding)
  const auto K = static_cast<std::size_t>(num_quantities());
  const std::size_t S = static_cast<std::size_t>(settings_.n_samples);
  const std::size_t n_store = static_cast<std::size_t>(settings_.n_store);
  ChunkResult r;
  r.n = n;
  r.summary.assign(n * K * kS, std::numeric_limits<float>::quiet_NaN());
  r.samples.assign(n * n_store * K, std::numeric_limits<float>::quiet_NaN());
  r.draws_flow.assign(n * n_store * D, std::numeric_limits<float>::quiet_NaN());
  r.chi2.assign(n, kNaN);
  r.chi2_draw.assign(n, kNaN);
  r.best_flux.assign(n * nb, kNaN);
  r.log_q_best.assign(n, kNaN);
  r.ess.assign(n, kNaN);
  r.efficiency.assign(n, kNaN);
  r.n_draws.assign(n, 0);
  r.rounds.assign(n, 0);
  r.acceptance.assign(n, kNaN);
  r.flags.assign(n, 0);
  r.bands_used.assign(n, 0);
  r.reason.assign(n, "");

  // Conditioning vectors; rows without a posterior get the training mean (their samples are
  // drawn, to keep every row's random stream at its catalog index, and discarded).
  std::vector<float> x(n * nx);
  std::vector<std::uint8_t> typical_noise(n * nb, 0);  // [n, B] RowBands::typical_noise
  RowBands bands;
  for (std::size_t i = 0; i < n; ++i) {
    r.flags[i] = check_row(c, i, &r.reason[i], bands);
    std::copy(bands.typical_noise.begin(), bands.typical_noise.end(), typical_noise.begin() + static_cast<std::ptrdiff_t>(i * nb));
    float* xi = x.data() + i * nx;
    if (r.flags[i] & kFlagsNoPosterior) {
      for (std::size_t j = 0; j < nx; ++j) xi[j] = static_cast<float>(flow_.x_mean()[j]);
    } else {
      r.bands_used[i] = noise::band_bits(bands.used.data(), nb);
      const std::vector<double> xd =
          conditioning_.make(c.flux.data() + i * nb, bands.sigma_flow.data(), c.z[i], bands.in_flow.data());
      for (std::size_t j = 0; j < nxp; ++j) xi[j] = static_cast<float>(xd[j]);
    }
  }
  if (embedding_) append_spectrum_embedding(c, r.flags, x.data());
  std::vector<float> theta(n * S * D), log_q(n * S);
  const auto t1 = Clock::now();
  // Galaxies per Flow::sample call: about kRowsPerCall draws in flight bounds the activations
  // (rows x hidden floats per layer) whatever the chunk size and sample count.
  const std::size_t per_call = std::max<std::size_t>(1, kRowsPerCall / S);
  for (std::size_t g = 0; g < n; g += per_call) {
    const std::size_t m = std::min(per_call, n - g);
    flow_.sample(x.data() + g * nx, static_cast<std::int64_t>(m), static_cast<std::int64_t>(S), settings_.seed,
                 theta.data() + g * S * D, log_q.data() + g * S, static_cast<std::int64_t>(c.first + g));
  }
  const auto t2 = Clock::now();

  // Galaxies are independent, so the weighting runs them on the flow's threads; not with the
  // defensive mixture, whose flow densities already use those threads.
  std::vector<double> best_x(n * D, kNaN);
  const bool parallel = settings_.weighting && !settings_.defensive;
  const int threads = parallel ? std::max(1, flow::get_threads()) : 1;
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (std::size_t i = 0; i < n; ++i) {
    if (r.flags[i] & kFlagsNoPosterior) continue;
    try {
      posterior_of_row(c, i, x.data() + i * nx, theta.data() + i * S * D, log_q.data() + i * S,
                       typical_noise.data() + i * nb, r, best_x.data() + i * D);
    } catch (...) {
#pragma omp critical(sedpost_posterior_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  if (settings_.weighting) flow_log_q_best(x.data(), best_x, r);
  const auto t3 = Clock::now();
  if (!c.truth.empty()) {
    r.truth.assign(n * K, kNaN);
    for (std::size_t i = 0; i < n; ++i) {
      const double* th = c.truth.data() + i * catalog::kNumPhysical;
      double* row = r.truth.data() + i * K;
      std::copy(th, th + catalog::kNumPhysical, row);
      if (std::isfinite(c.z[i]) && c.z[i] > 0 && c.z[i] <= model_.settings().z_max)
        catalog::derived_values(model_.derived(th, c.z[i]), row + catalog::kNumPhysical);
      if (z_inferred()) row[catalog::kNumQuantities] = c.z[i];  // the simulated (true) z
    }
  }
  const auto t4 = Clock::now();
  r.seconds_sampling = std::chrono::duration<double>(t2 - t1).count();
  r.seconds_posterior = std::chrono::duration<double>(t3 - t2).count();
  r.seconds_rest = std::chrono::duration<double>((t1 - t0) + (t4 - t3)).count();
  return r;
}

}  // namespace sedpost::posterior
