#include "simulate/training_simulator.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/rng.hpp"

namespace sedpost::simulate {

TrainingSimulator::TrainingSimulator(const sps::SedModel& model, const prior::Prior& prior,
                                     const noise::NoiseModel& noise, RedshiftRange z_range, std::uint64_t seed,
                                     int max_attempts, BandMasks masks)
    : model_(model),
      prior_(prior),
      noise_(noise),
      conditioning_(noise.bands(), {}, masks.enabled(), !z_range.inferred),
      masks_(std::move(masks)),
      noise_scale_(static_cast<std::size_t>(model.num_bands()), 1.0),
      z_range_(z_range),
      z_prior_(z_range.z_prior()),
      seed_(seed),
      max_attempts_(max_attempts),
      n_bands_(static_cast<std::size_t>(model.num_bands())) {
  if (noise.num_bands() != n_bands_) {
    throw ConfigError(cat("the noise model has ", noise.num_bands(), " bands but the model has ", n_bands_,
                          " filters; fit the noise model for the configured bands"));
  }
  for (std::size_t b = 0; b < n_bands_; ++b) {
    flux_min_.push_back(noise.band(b).flux_min);
    flux_max_.push_back(noise.band(b).flux_max);
  }
  // Bound tables over the simulated z range and the prior's n_dust range (about 1 s, ~7 MB).
  sps::FluxBoundsSettings bs;
  bs.n_dust_min = prior.settings().n_dust_min;
  bs.n_dust_max = prior.settings().n_dust_max;
  try {
    bounds_ = std::make_unique<sps::FluxBounds>(model, z_range.z_min, z_range.z_max, bs);
  } catch (const ConfigError& e) {
    logger().debug(cat("simulate: no flux bounds (", e.what(), "); every draw is evaluated"));
  }
}

void TrainingSimulator::set_noise_scale(std::vector<double> scale) {
  if (scale.size() != n_bands_) throw ConfigError(cat("noise scale: ", scale.size(), " factors for ", n_bands_, " bands"));
  for (double s : scale)
    if (!(s >= 1.0) || !std::isfinite(s)) throw ConfigError(cat("noise scale factor ", s, " must be >= 1"));
  noise_scale_ = std::move(scale);
}

bool TrainingSimulator::reject_by_bounds(const double* theta, double z, SimulationCounters& counters) const {
  if (!bounds_) return false;
  double lo[16], hi[16];
  if (n_bands_ > 16 || !bounds_->bounds(theta, z, lo, hi)) return false;
  bool out = false;
  for (std::size_t b = 0; b < n_bands_; ++b) out = out || hi[b] < flux_min_[b] || lo[b] > flux_max_[b];
  if (!out) return false;
  auto& nc = counters.noise;
  if (nc.n_out_of_range.size() < n_bands_) nc.n_out_of_range.resize(n_bands_, 0);
  ++nc.n_draws;
  for (std::size_t b = 0; b < n_bands_; ++b)
    if (hi[b] < flux_min_[b] || lo[b] > flux_max_[b]) ++nc.n_out_of_range[b];
  return true;
}

void TrainingSimulator::simulate(std::uint64_t first, std::uint64_t count, SimulatedRows& out,
                                 SimulationCounters& counters) const {
  const std::size_t nb = n_bands_, nx = conditioning_.dim(), nt = z_range_.layout().dim();
  out.first = first;
  out.count = count;
  out.theta_physical.assign(count * 12, 0.0);
  out.theta_flow.assign(count * nt, 0.0);
  out.z.assign(count, 0.0);
  out.flux_true.assign(count * nb, 0.0);
  out.flux_obs.assign(count * nb, 0.0);
  out.sigma.assign(count * nb, 0.0);
  out.x.assign(count * nx, 0.0);
  out.attempts.assign(count, 0);
  out.bands_used.assign(count, 0);
  const std::size_t np = spectrograph_ ? static_cast<std::size_t>(spectrograph_->num_pixels()) : 0;
  out.spectrum.assign(count * np, std::numeric_limits<double>::quiet_NaN());
  std::vector<double> flux(nb);
  std::vector<std::uint8_t> present(nb, 1);
  for (std::uint64_t r = 0; r < count; ++r) {
    const std::uint64_t i = first + r;
    Rng prior_rng(seed_, RngStream::kPrior, i);
    Rng z_rng(seed_, RngStream::kRedshift, i);
    Rng noise_rng(seed_, RngStream::kNoise, i);
    bool accepted = false;
    for (int attempt = 1; attempt <= max_attempts_ && !accepted; ++attempt) {
      const prior::FlowCoords u = prior_.sample_flow(prior_rng);
      const prior::Physical theta = prior_.to_physical(u);
      const double z = z_prior_.sample(z_rng);
      if (reject_by_bounds(theta.data(), z, counters)) {
        ++counters.rejected_draws;
        ++counters.prechecked_draws;
        continue;
      }
      model_.evaluate(theta.data(), z, flux.data());
      ++counters.sed_evaluations;
      // MODEL.md 5: drop fluxes outside the catalog's range (NoiseModel::sample's test).
      bool in_range = true;
      for (std::size_t b = 0; b < nb; ++b) in_range = in_range && flux[b] >= flux_min_[b] && flux[b] <= flux_max_[b];
      if (!in_range) {
        ++counters.rejected_draws;
        auto& nc = counters.noise;
        if (nc.n_out_of_range.size() < nb) nc.n_out_of_range.resize(nb, 0);
        ++nc.n_draws;
        for (std::size_t b = 0; b < nb; ++b)
          if (!(flux[b] >= flux_min_[b] && flux[b] <= flux_max_[b])) ++nc.n_out_of_range[b];
        continue;
      }
      const noise::NoiseDraw draw = noise_.sample(flux.data(), noise_rng);
      if (!draw.ok()) {  // a sigma' > 0 draw failed: drop the candidate too
        ++counters.rejected_draws;
        counters.noise.add(draw);
        continue;
      }
      accepted = true;
      out.attempts[r] = static_cast<std::uint32_t>(attempt);
      std::copy(theta.begin(), theta.end(), out.theta_physical.begin() + static_cast<std::ptrdiff_t>(r * 12));
      std::copy(u.begin(), u.end(), out.theta_flow.begin() + static_cast<std::ptrdiff_t>(r * nt));
      if (z_range_.inferred) out.theta_flow[r * nt + prior::ThetaLayout::kZ] = z;
      out.z[r] = z;
      if (masks_.enabled()) masks_.draw(seed_, i, present.data());  // else every band stays
      out.bands_used[r] = noise::band_bits(present.data(), nb);
      std::vector<double> flux_obs = draw.flux_nmgy, sigma = draw.sigma_nmgy;
      for (std::size_t b = 0; b < nb; ++b) {
        if (noise_scale_[b] != 1.0) {  // (untouched otherwise: f + (f_obs - f) need not round to f_obs)
          flux_obs[b] = flux[b] + noise_scale_[b] * (flux_obs[b] - flux[b]);
          sigma[b] *= noise_scale_[b];
        }
        out.flux_true[r * nb + b] = flux[b];
        out.flux_obs[r * nb + b] = present[b] ? flux_obs[b] : std::numeric_limits<double>::quiet_NaN();
        out.sigma[r * nb + b] = present[b] ? sigma[b] : std::numeric_limits<double>::infinity();
      }
      const std::vector<double> x = conditioning_.make(flux_obs.data(), sigma.data(), z, present.data());
      std::copy(x.begin(), x.end(), out.x.begin() + static_cast<std::ptrdiff_t>(r * nx));
      if (spectrograph_) {
        std::vector<double> spec = spectrograph_->observe(model_.spectrum(theta.data(), z));
        Rng spectrum_rng(seed_, RngStream::kSpectrumNoise, i);
        spectrograph_->normalise_and_add_noise(spec, spectrum_rng);
        std::copy(spec.begin(), spec.end(), out.spectrum.begin() + static_cast<std::ptrdiff_t>(r * np));
      }
    }
    if (!accepted) {
      // No draw within the catalog's flux range: leave a NaN row (training skips it).
      ++counters.failed_rows;
      const double nan = std::numeric_limits<double>::quiet_NaN();
      std::fill_n(out.theta_physical.begin() + static_cast<std::ptrdiff_t>(r * 12), 12, nan);
      std::fill_n(out.theta_flow.begin() + static_cast<std::ptrdiff_t>(r * nt), nt, nan);
      std::fill_n(out.x.begin() + static_cast<std::ptrdiff_t>(r * nx), nx, nan);
      out.z[r] = nan;
    }
    ++counters.rows;
  }
}

}  // namespace sedpost::simulate
