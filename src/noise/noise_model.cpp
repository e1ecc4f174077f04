#include "noise/noise_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "noise/nsa_photometry.hpp"

namespace sedpost::noise {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kFormatVersion = 1;

std::string fmt(double v, int precision = 6) {
  std::ostringstream os;
  os.precision(precision);
  os << v;
  return os.str();
}

double median_of(std::vector<double> v) {
  const std::size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n / 2), v.end());
  const double hi = v[n / 2];
  if (n % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n / 2));
  return 0.5 * (lo + hi);
}

// Linear interpolation on increasing nodes, constant beyond the ends; with `in_log`, ln y is
// interpolated (y > 0).
double interp_clamped(const std::vector<double>& x, const std::vector<double>& y, double at, bool in_log = false) {
  if (x.empty()) return kNaN;
  if (std::isnan(at)) return kNaN;
  if (at <= x.front()) return y.front();
  if (at >= x.back()) return y.back();
  const auto it = std::upper_bound(x.begin(), x.end(), at);
  const std::size_t j = static_cast<std::size_t>(it - x.begin());
  const double t = (at - x[j - 1]) / (x[j] - x[j - 1]);
  if (in_log) return y[j - 1] * std::pow(y[j] / y[j - 1], t);
  return y[j - 1] + t * (y[j] - y[j - 1]);
}

}  // namespace

double nmgy_to_mag(double flux_nmgy) {
  return flux_nmgy > 0 ? 22.5 - 2.5 * std::log10(flux_nmgy) : kNaN;
}

// ---- settings ----

NoiseSettings NoiseSettings::from_config(const Config& config, const std::string& table) {
  NoiseSettings s;
  const std::string p = table.empty() ? "" : table + ".";
  s.n_bins = static_cast<int>(config.get_int(p + "n_bins", s.n_bins));
  s.min_count = static_cast<int>(config.get_int(p + "min_count", s.min_count));
  s.robust_scale = config.get_bool(p + "robust_scale", s.robust_scale);
  const std::string dist = config.get_string(p + "sigma_distribution", "normal");
  if (dist != "normal" && dist != "lognormal") {
    throw ConfigError(config.source() + ": [" + table + "] sigma_distribution must be \"normal\" or \"lognormal\", got \"" +
                      dist + "\"");
  }
  s.lognormal = dist == "lognormal";
  s.range_quantile = config.get_double(p + "range_quantile", s.range_quantile);
  s.max_redraws = static_cast<int>(config.get_int(p + "max_redraws", s.max_redraws));
  s.flag_nsigma = config.get_double(p + "flag_nsigma", s.flag_nsigma);
  try {
    s.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(config.source() + ": [" + table + "]: " + e.what());
  }
  return s;
}

void NoiseSettings::validate() const {
  if (n_bins < 1) throw ConfigError("noise n_bins must be >= 1, got " + std::to_string(n_bins));
  if (min_count < 2) throw ConfigError("noise min_count must be >= 2, got " + std::to_string(min_count));
  if (max_redraws < 0) throw ConfigError("noise max_redraws must be >= 0, got " + std::to_string(max_redraws));
  if (!(range_quantile >= 0 && range_quantile < 0.5)) {
    throw ConfigError("noise range_quantile must be in [0, 0.5), got " + fmt(range_quantile));
  }
  if (!(flag_nsigma > 0) || !std::isfinite(flag_nsigma)) {
    throw ConfigError("noise flag_nsigma must be > 0, got " + fmt(flag_nsigma));
  }
}

// ---- BandNoise ----

double BandNoise::mu_at(double mag) const { return interp_clamped(mag_centre, mu, mag, lognormal); }

double BandNoise::s_at(double mag) const { return interp_clamped(mag_centre, s, mag); }

double BandNoise::sigma_mag_at(double mag, double z) const {
  return lognormal ? mu_at(mag) * std::exp(z * s_at(mag)) : mu_at(mag) + z * s_at(mag);
}

double BandNoise::log_density(double mag, double sigma_mag) const {
  constexpr double kMinSpread = 1e-4;
  const double kLogSqrt2Pi = 0.5 * std::log(2.0 * M_PI);
  if (!(sigma_mag > 0)) return -std::numeric_limits<double>::infinity();
  const double m = mu_at(mag), sc = std::max(s_at(mag), kMinSpread);
  if (lognormal) {
    const double t = (std::log(sigma_mag) - std::log(m)) / sc;
    return -0.5 * t * t - std::log(sc) - kLogSqrt2Pi - std::log(sigma_mag);
  }
  const double t = (sigma_mag - m) / sc;
  const double log_kept = std::log(0.5 * std::erfc(-m / (sc * std::sqrt(2.0))));  // P(sigma_mag > 0)
  return -0.5 * t * t - std::log(sc) - kLogSqrt2Pi - log_kept;
}

// ---- counters ----

void NoiseCounters::add(const NoiseDraw& d) {
  const std::size_t nb = d.band_flags.size();
  if (n_out_of_range.size() < nb) {
    n_out_of_range.resize(nb, 0);
    n_draw_failed.resize(nb, 0);
    n_invalid_flux.resize(nb, 0);
  }
  ++n_draws;
  if (d.ok()) ++n_ok;
  n_redraws += d.n_redraws;
  for (std::size_t b = 0; b < nb; ++b) {
    if (d.band_flags[b] & kNoiseOutOfRange) ++n_out_of_range[b];
    if (d.band_flags[b] & kNoiseSigmaDrawFailed) ++n_draw_failed[b];
    if (d.band_flags[b] & kNoiseInvalidTrueFlux) ++n_invalid_flux[b];
  }
}

void NoiseCounters::merge(const NoiseCounters& o) {
  n_draws += o.n_draws;
  n_ok += o.n_ok;
  n_redraws += o.n_redraws;
  auto add_vec = [](std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
    if (a.size() < b.size()) a.resize(b.size(), 0);
    for (std::size_t i = 0; i < b.size(); ++i) a[i] += b[i];
  };
  add_vec(n_out_of_range, o.n_out_of_range);
  add_vec(n_draw_failed, o.n_draw_failed);
  add_vec(n_invalid_flux, o.n_invalid_flux);
}

std::string NoiseCounters::summary(const std::vector<std::string>& bands) const {
  std::ostringstream os;
  os << n_draws << " draws, " << n_ok << " kept, " << (n_draws - n_ok) << " dropped";
  auto list = [&](const char* what, const std::vector<std::int64_t>& v) {
    std::int64_t total = 0;
    for (auto x : v) total += x;
    if (total == 0) return;
    os << "; " << what << ":";
    for (std::size_t b = 0; b < v.size(); ++b) {
      if (v[b]) os << ' ' << (b < bands.size() ? bands[b] : std::to_string(b)) << ' ' << v[b];
    }
  };
  list("flux outside catalog range", n_out_of_range);
  list("sigma draw failed", n_draw_failed);
  list("invalid true flux", n_invalid_flux);
  os << "; " << n_redraws << " sigma' <= 0 redrawn";
  return os.str();
}

// ---- tables ----

const NoiseTables::Array& NoiseTables::array(const std::string& name) const {
  for (const Array& a : arrays) {
    if (a.name == name) return a;
  }
  throw DataError("noise model tables: array '" + name + "' missing");
}

double NoiseTables::attribute(const std::string& name) const {
  for (const auto& a : attributes) {
    if (a.first == name) return a.second;
  }
  throw DataError("noise model tables: attribute '" + name + "' missing");
}

// ---- fit ----

NoiseModel NoiseModel::fit(const std::vector<double>& flux, const std::vector<double>& sigma,
                           const std::vector<std::string>& bands, const NoiseSettings& settings) {
  settings.validate();
  const std::size_t nb = bands.size();
  if (nb == 0) throw DataError("NoiseModel::fit: no bands");
  if (flux.size() != sigma.size() || flux.size() % nb != 0) {
    throw DataError("NoiseModel::fit: flux (" + std::to_string(flux.size()) + " values) and sigma (" +
                    std::to_string(sigma.size()) + ") must both be [n, " + std::to_string(nb) + "]");
  }
  const std::size_t n = flux.size() / nb;
  NoiseModel model;
  model.bands_ = bands;
  model.settings_ = settings;
  model.band_.resize(nb);
  for (std::size_t b = 0; b < nb; ++b) {
    BandNoise& bn = model.band_[b];
    bn.band = bands[b];
    std::vector<double> mags, smags, fluxes;
    mags.reserve(n);
    smags.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const double f = flux[i * nb + b];
      const double s = sigma[i * nb + b];
      // Not measured (ivar <= 0) before flux <= 0: catalogs write a missing band as flux 0,
      // ivar 0, and the band-mask rates count those rows as missing.
      if (std::isnan(f) || std::isnan(s) || std::isinf(f)) {
        ++bn.n_nan;
      } else if (!(s > 0) || std::isinf(s)) {
        ++bn.n_nonpositive_ivar;
      } else if (f <= 0) {
        ++bn.n_nonpositive_flux;
      } else {
        mags.push_back(nmgy_to_mag(f));
        smags.push_back(kMagPerLnFlux * s / f);
        fluxes.push_back(f);
      }
    }
    bn.n_used = static_cast<std::int64_t>(mags.size());
    if (mags.empty()) {
      throw DataError("NoiseModel::fit: band " + bands[b] + " has no valid rows (" + std::to_string(bn.n_nan) +
                      " NaN, " + std::to_string(bn.n_nonpositive_flux) + " flux <= 0, " +
                      std::to_string(bn.n_nonpositive_ivar) + " ivar <= 0)");
    }
    std::vector<double> sorted = mags;
    std::sort(sorted.begin(), sorted.end());
    const double last = static_cast<double>(sorted.size() - 1);
    double lo = sorted[static_cast<std::size_t>(std::floor(settings.range_quantile * last))];
    double hi = sorted[static_cast<std::size_t>(std::ceil((1.0 - settings.range_quantile) * last))];
    bn.flux_min = std::numeric_limits<double>::infinity();
    bn.flux_max = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < mags.size(); ++i) {
      if (mags[i] >= lo && mags[i] <= hi) {
        bn.flux_min = std::min(bn.flux_min, fluxes[i]);
        bn.flux_max = std::max(bn.flux_max, fluxes[i]);
      }
    }
    if (!(hi > lo)) {  // a single magnitude: one bin around it
      lo -= 0.5;
      hi += 0.5;
    }
    const int nbins = settings.n_bins;
    const double width = (hi - lo) / nbins;
    std::vector<std::vector<double>> members(static_cast<std::size_t>(nbins));
    for (std::size_t i = 0; i < mags.size(); ++i) {
      if (mags[i] < lo || mags[i] > hi) {
        ++bn.n_unbinned;
        continue;
      }
      int k = static_cast<int>((mags[i] - lo) / width);
      k = std::clamp(k, 0, nbins - 1);
      members[static_cast<std::size_t>(k)].push_back(smags[i]);
    }
    bn.lognormal = settings.lognormal;
    for (int k = 0; k < nbins; ++k) {
      std::vector<double>& m = members[static_cast<std::size_t>(k)];
      if (static_cast<int>(m.size()) < settings.min_count) {
        bn.n_unbinned += static_cast<std::int64_t>(m.size());
        continue;
      }
      const double med = median_of(m);
      // The spread of sigma_mag, or of ln sigma_mag for a lognormal model (whose median is ln med).
      std::vector<double> v = m;
      if (settings.lognormal)
        for (double& x : v) x = std::log(x);
      const double centre = settings.lognormal ? std::log(med) : med;
      double scale;
      if (settings.robust_scale) {
        std::vector<double> dev(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) dev[i] = std::abs(v[i] - centre);
        scale = 1.482602218505602 * median_of(dev);
      } else {
        double mean = 0;
        for (double x : v) mean += x;
        mean /= static_cast<double>(v.size());
        double ss = 0;
        for (double x : v) ss += (x - mean) * (x - mean);
        scale = std::sqrt(ss / static_cast<double>(v.size() - 1));
      }
      bn.mag_centre.push_back(lo + (k + 0.5) * width);
      bn.mu.push_back(med);
      bn.s.push_back(scale);
      bn.count.push_back(static_cast<double>(m.size()));
    }
    if (bn.mag_centre.empty()) {
      throw DataError("NoiseModel::fit: band " + bands[b] + ": no magnitude bin has >= " +
                      std::to_string(settings.min_count) + " rows (" + std::to_string(bn.n_used) +
                      " valid rows in " + std::to_string(nbins) + " bins); lower noise.n_bins or noise.min_count");
    }
  }
  return model;
}

NoiseModel NoiseModel::fit_ivar(const std::vector<double>& flux, const std::vector<double>& ivar,
                                const std::vector<std::string>& bands, const NoiseSettings& settings) {
  return fit(flux, sigma_from_ivar(ivar), bands, settings);
}

// ---- sampling ----

NoiseDraw NoiseModel::sample(const double* true_flux, Rng& rng) const {
  const std::size_t nb = bands_.size();
  NoiseDraw d;
  d.sigma_nmgy.assign(nb, kNaN);
  d.flux_nmgy.assign(nb, kNaN);
  d.sigma_mag.assign(nb, kNaN);
  d.band_flags.assign(nb, 0u);
  for (std::size_t b = 0; b < nb; ++b) {
    const BandNoise& bn = band_[b];
    const double f = true_flux[b];
    if (!(f > 0) || !std::isfinite(f)) {
      d.band_flags[b] |= kNoiseInvalidTrueFlux;
      d.reason += (d.reason.empty() ? "" : "; ") + bn.band + ": true flux " + fmt(f) + " nmgy not positive";
      continue;
    }
    if (f < bn.flux_min || f > bn.flux_max) {
      // MODEL.md 5: drop fluxes outside the catalog's range; we still draw so the caller may
      // choose to keep them, but the flag says drop.
      d.band_flags[b] |= kNoiseOutOfRange;
      d.reason += (d.reason.empty() ? "" : "; ") + bn.band + ": flux " + fmt(f) + " nmgy outside catalog range [" +
                  fmt(bn.flux_min) + ", " + fmt(bn.flux_max) + "]";
    }
    const double mag = nmgy_to_mag(f);
    double smag = -1.0;
    for (int attempt = 0; attempt <= settings_.max_redraws; ++attempt) {
      smag = bn.sigma_mag_at(mag, rng.normal());  // a lognormal draw is always > 0
      if (smag > 0) break;
      ++d.n_redraws;
    }
    if (!(smag > 0)) {
      d.band_flags[b] |= kNoiseSigmaDrawFailed;
      d.reason += (d.reason.empty() ? "" : "; ") + bn.band + ": no sigma' > 0 in " +
                  std::to_string(settings_.max_redraws + 1) + " draws (mu " + fmt(bn.mu_at(mag)) + ", s " + fmt(bn.s_at(mag)) + " mag)";
      continue;
    }
    const double sf = f * smag / kMagPerLnFlux;  // sigma_f = f ln10/2.5 sigma_mag
    d.sigma_mag[b] = smag;
    d.sigma_nmgy[b] = sf;
    d.flux_nmgy[b] = f + sf * rng.normal();
  }
  for (auto fl : d.band_flags) d.flags |= fl;
  return d;
}

NoiseDraw NoiseModel::sample(const std::vector<double>& true_flux, Rng& rng) const {
  if (true_flux.size() != bands_.size()) {
    throw DataError("NoiseModel::sample: " + std::to_string(true_flux.size()) + " fluxes for " +
                    std::to_string(bands_.size()) + " bands");
  }
  return sample(true_flux.data(), rng);
}

NoiseBatch NoiseModel::sample_batch(const std::vector<double>& true_flux, std::uint64_t seed,
                                    std::uint64_t first_index, NoiseCounters* counters) const {
  const std::size_t nb = bands_.size();
  if (nb == 0) throw DataError("NoiseModel::sample_batch: model not fitted");
  if (true_flux.size() % nb != 0) {
    throw DataError("NoiseModel::sample_batch: " + std::to_string(true_flux.size()) + " values is not [n, " +
                    std::to_string(nb) + "]");
  }
  const std::size_t n = true_flux.size() / nb;
  NoiseBatch out;
  out.sigma_nmgy.resize(n * nb);
  out.flux_nmgy.resize(n * nb);
  out.flags.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(seed, RngStream::kNoise, first_index + i);
    const NoiseDraw d = sample(true_flux.data() + i * nb, rng);
    std::copy(d.sigma_nmgy.begin(), d.sigma_nmgy.end(), out.sigma_nmgy.begin() + static_cast<std::ptrdiff_t>(i * nb));
    std::copy(d.flux_nmgy.begin(), d.flux_nmgy.end(), out.flux_nmgy.begin() + static_cast<std::ptrdiff_t>(i * nb));
    out.flags[i] = d.flags;
    if (counters) counters->add(d);
  }
  return out;
}

// ---- out-of-support ----

/// Criterion 1 tolerance on the unknown true flux: +-kFluxTolerance sigma, in kFluxSteps steps
/// per side.
constexpr double kFluxTolerance = 2.0;
constexpr int kFluxSteps = 4;

double NoiseModel::training_sigma_limit(std::size_t b, double f, double s, double* at_flux) const {
  // The training sigma was drawn at the true flux, which an observation knows only to within
  // its error: allow every true flux within kFluxTolerance sigma of the observed one, clipped
  // to the catalog's range (training galaxies have true fluxes only there).
  const BandNoise& bn = band_.at(b);
  const double k = settings_.flag_nsigma;
  double limit = 0.0, limit_flux = 0.0;
  for (int i = 0; i <= 2 * kFluxSteps; ++i) {
    const double c = kFluxTolerance * (static_cast<double>(i) / kFluxSteps - 1.0);
    const double ft = std::clamp(f + c * s, bn.flux_min, bn.flux_max);
    const double mag = nmgy_to_mag(ft);
    const double allowed = ft * bn.sigma_mag_at(mag, k) / kMagPerLnFlux;  // [nmgy]
    if (allowed > limit) {
      limit = allowed;
      limit_flux = ft;
    }
  }
  if (at_flux) *at_flux = limit_flux;
  return limit;
}

bool NoiseModel::is_noisier_than_training(const double* flux, const double* sigma, std::string* reason) const {
  bool noisier = false;
  std::string why;
  auto note = [&](const std::string& s) {
    noisier = true;
    why += (why.empty() ? "" : "; ") + s;
  };
  for (std::size_t b = 0; b < bands_.size(); ++b) {
    const BandNoise& bn = band_[b];
    const double f = flux[b], s = sigma[b];
    if (!std::isfinite(f) || !std::isfinite(s) || !(s > 0)) {
      note(bn.band + ": flux " + fmt(f) + " / sigma " + fmt(s) + " nmgy not usable (missing measurement?)");
      continue;
    }
    double limit_flux = 0.0;
    const double limit = training_sigma_limit(b, f, s, &limit_flux);
    if (s > limit) {
      note(bn.band + ": sigma " + fmt(s, 4) + " nmgy > mu + " + fmt(settings_.flag_nsigma, 3) + " s = " +
           fmt(limit, 4) + " nmgy (largest allowed for a true flux within " + fmt(kFluxTolerance, 2) +
           " sigma of " + fmt(f, 5) + " nmgy, at " + fmt(limit_flux, 5) + ")");
    }
  }
  if (reason) *reason = why;
  return noisier;
}

bool NoiseModel::is_noisier_than_training(const std::vector<double>& flux, const std::vector<double>& sigma,
                                          std::string* reason) const {
  if (flux.size() != bands_.size() || sigma.size() != bands_.size()) {
    throw DataError("is_noisier_than_training: expected " + std::to_string(bands_.size()) +
                    " fluxes and sigmas, got " + std::to_string(flux.size()) + " and " +
                    std::to_string(sigma.size()));
  }
  return is_noisier_than_training(flux.data(), sigma.data(), reason);
}

// ---- serialisation ----

NoiseTables NoiseModel::to_tables() const {
  NoiseTables t;
  const std::size_t nb = bands_.size();
  std::size_t max_bins = 0;
  for (const BandNoise& bn : band_) max_bins = std::max(max_bins, bn.mag_centre.size());
  t.bands = bands_;
  auto grid = [&](const char* name, const char* units, auto member) {
    NoiseTables::Array a{name, {nb, max_bins}, std::vector<double>(nb * max_bins, kNaN), units};
    for (std::size_t b = 0; b < nb; ++b) {
      const std::vector<double>& v = band_[b].*member;
      std::copy(v.begin(), v.end(), a.data.begin() + static_cast<std::ptrdiff_t>(b * max_bins));
    }
    t.arrays.push_back(std::move(a));
  };
  grid("mag_centre", "mag", &BandNoise::mag_centre);
  grid("mu_sigma_mag", "mag", &BandNoise::mu);
  grid("s_sigma_mag", settings_.lognormal ? "" : "mag", &BandNoise::s);
  grid("bin_count", "", &BandNoise::count);
  auto per_band = [&](const char* name, const char* units, auto get) {
    NoiseTables::Array a{name, {nb}, std::vector<double>(nb), units};
    for (std::size_t b = 0; b < nb; ++b) a.data[b] = get(band_[b]);
    t.arrays.push_back(std::move(a));
  };
  per_band("n_bins", "", [](const BandNoise& b) { return static_cast<double>(b.mag_centre.size()); });
  per_band("flux_min", "nmgy", [](const BandNoise& b) { return b.flux_min; });
  per_band("flux_max", "nmgy", [](const BandNoise& b) { return b.flux_max; });
  per_band("n_used", "", [](const BandNoise& b) { return static_cast<double>(b.n_used); });
  per_band("n_skipped_nonpositive_flux", "", [](const BandNoise& b) { return static_cast<double>(b.n_nonpositive_flux); });
  per_band("n_skipped_nonpositive_ivar", "", [](const BandNoise& b) { return static_cast<double>(b.n_nonpositive_ivar); });
  per_band("n_skipped_nan", "", [](const BandNoise& b) { return static_cast<double>(b.n_nan); });
  per_band("n_unbinned", "", [](const BandNoise& b) { return static_cast<double>(b.n_unbinned); });
  t.attributes = {{"format_version", kFormatVersion},
                  {"n_bins_requested", settings_.n_bins},
                  {"min_count", settings_.min_count},
                  {"range_quantile", settings_.range_quantile},
                  {"robust_scale", settings_.robust_scale ? 1.0 : 0.0},
                  {"max_redraws", settings_.max_redraws},
                  {"flag_nsigma", settings_.flag_nsigma}};
  t.string_attributes = {
      {"model", settings_.lognormal
                    ? "sedpost empirical noise model: p(ln sigma_mag | mag) = N(ln mu(mag), s(mag)), docs/missing-bands.md"
                    : "sedpost empirical noise model: p(sigma_mag | mag) = N(mu(mag), s(mag)), docs/MODEL.md 5"},
      {"sigma_distribution", settings_.lognormal ? "lognormal" : "normal"},
      {"mag_system", "AB; mag = 22.5 - 2.5 log10(flux_nmgy); sigma_mag = 2.5/ln10 sigma_nmgy / flux_nmgy"},
      {"source", source_}};
  return t;
}

NoiseModel NoiseModel::from_tables(const NoiseTables& t) {
  const double version = t.attribute("format_version");
  if (version != kFormatVersion) {
    throw DataError("noise model tables: format_version " + fmt(version) + " not supported (expected " +
                    std::to_string(kFormatVersion) + ")");
  }
  NoiseModel m;
  m.bands_ = t.bands;
  const std::size_t nb = t.bands.size();
  if (nb == 0) throw DataError("noise model tables: no bands");
  m.settings_.n_bins = static_cast<int>(t.attribute("n_bins_requested"));
  m.settings_.min_count = static_cast<int>(t.attribute("min_count"));
  m.settings_.range_quantile = t.attribute("range_quantile");
  m.settings_.robust_scale = t.attribute("robust_scale") != 0.0;
  m.settings_.max_redraws = static_cast<int>(t.attribute("max_redraws"));
  m.settings_.flag_nsigma = t.attribute("flag_nsigma");
  try {
    m.settings_.validate();
  } catch (const ConfigError& e) {
    throw DataError(std::string("noise model tables: ") + e.what());
  }
  for (const auto& a : t.string_attributes) {
    if (a.first == "source") m.source_ = a.second;
    if (a.first == "sigma_distribution") {
      if (a.second != "normal" && a.second != "lognormal")
        throw DataError("noise model tables: sigma_distribution '" + a.second + "' is not normal or lognormal");
      m.settings_.lognormal = a.second == "lognormal";
    }
  }
  auto vec1 = [&](const char* name) -> const std::vector<double>& {
    const NoiseTables::Array& a = t.array(name);
    if (a.shape.size() != 1 || a.shape[0] != nb || a.data.size() != nb) {
      throw DataError(std::string("noise model tables: array '") + name + "' must have shape [" +
                      std::to_string(nb) + "]");
    }
    return a.data;
  };
  const NoiseTables::Array& centre = t.array("mag_centre");
  if (centre.shape.size() != 2 || centre.shape[0] != nb || centre.data.size() != nb * centre.shape[1]) {
    throw DataError("noise model tables: array 'mag_centre' must have shape [" + std::to_string(nb) + ", bins]");
  }
  const std::size_t mb = centre.shape[1];
  auto vec2 = [&](const char* name) -> const std::vector<double>& {
    const NoiseTables::Array& a = t.array(name);
    if (a.shape != centre.shape || a.data.size() != nb * mb) {
      throw DataError(std::string("noise model tables: array '") + name + "' must have the shape of 'mag_centre'");
    }
    return a.data;
  };
  const auto& mu = vec2("mu_sigma_mag");
  const auto& s = vec2("s_sigma_mag");
  const auto& count = vec2("bin_count");
  const auto& n_bins = vec1("n_bins");
  const auto& fmin = vec1("flux_min");
  const auto& fmax = vec1("flux_max");
  const auto& n_used = vec1("n_used");
  const auto& n_flux = vec1("n_skipped_nonpositive_flux");
  const auto& n_ivar = vec1("n_skipped_nonpositive_ivar");
  const auto& n_nan = vec1("n_skipped_nan");
  const auto& n_sparse = vec1("n_unbinned");
  m.band_.resize(nb);
  for (std::size_t b = 0; b < nb; ++b) {
    BandNoise& bn = m.band_[b];
    bn.band = t.bands[b];
    bn.lognormal = m.settings_.lognormal;
    const double kd = n_bins[b];
    if (!(kd >= 1) || kd > static_cast<double>(mb) || kd != std::floor(kd)) {
      throw DataError("noise model tables: band " + bn.band + ": n_bins " + fmt(kd) + " invalid");
    }
    const std::size_t k = static_cast<std::size_t>(kd);
    const auto off = static_cast<std::ptrdiff_t>(b * mb);
    bn.mag_centre.assign(centre.data.begin() + off, centre.data.begin() + off + static_cast<std::ptrdiff_t>(k));
    bn.mu.assign(mu.begin() + off, mu.begin() + off + static_cast<std::ptrdiff_t>(k));
    bn.s.assign(s.begin() + off, s.begin() + off + static_cast<std::ptrdiff_t>(k));
    bn.count.assign(count.begin() + off, count.begin() + off + static_cast<std::ptrdiff_t>(k));
    for (std::size_t i = 0; i < k; ++i) {
      if (!std::isfinite(bn.mag_centre[i]) || !std::isfinite(bn.mu[i]) || !std::isfinite(bn.s[i]) ||
          (bn.lognormal && !(bn.mu[i] > 0)) ||
          (i > 0 && !(bn.mag_centre[i] > bn.mag_centre[i - 1]))) {
        throw DataError("noise model tables: band " + bn.band + ": bin " + std::to_string(i) +
                        " not finite or centres not increasing");
      }
    }
    bn.flux_min = fmin[b];
    bn.flux_max = fmax[b];
    bn.n_used = static_cast<std::int64_t>(n_used[b]);
    bn.n_nonpositive_flux = static_cast<std::int64_t>(n_flux[b]);
    bn.n_nonpositive_ivar = static_cast<std::int64_t>(n_ivar[b]);
    bn.n_nan = static_cast<std::int64_t>(n_nan[b]);
    bn.n_unbinned = static_cast<std::int64_t>(n_sparse[b]);
  }
  return m;
}

std::string NoiseModel::summary() const {
  std::ostringstream os;
  os << "noise model, " << bands_.size() << " bands" << (settings_.lognormal ? ", lognormal errors" : "")
     << (source_.empty() ? "" : ", from " + source_) << '\n';
  for (const BandNoise& bn : band_) {
    os << "  " << bn.band << ": " << bn.n_used << " rows used (skipped: " << bn.n_nonpositive_flux
       << " flux <= 0, " << bn.n_nonpositive_ivar << " ivar <= 0, " << bn.n_nan << " NaN; "
       << bn.n_unbinned << " unbinned), flux " << fmt(bn.flux_min) << " .. " << fmt(bn.flux_max)
       << " nmgy, " << bn.mag_centre.size() << " bins, mu " << fmt(bn.mu.front(), 3) << " mag at "
       << fmt(bn.mag_centre.front(), 4) << " .. " << fmt(bn.mu.back(), 3) << " mag at "
       << fmt(bn.mag_centre.back(), 4) << '\n';
  }
  return os.str();
}

}  // namespace sedpost::noise
