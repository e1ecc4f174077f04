#include "simulate/training_simulator.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/rng.hpp"

namespace sedpost::simulate {

TrainingSimulator::TrainingSimulator(const sps::SedModel& model, const prior::Prior& prior,
                                     const noise::NoiseModel& noise, RedshiftRange z_range, std::uint64_t seed,
                                     int max_attempts)
    : model_(model),
      prior_(prior),
      noise_(noise),
      conditioning_(noise.bands()),
      z_range_(z_range),
      seed_(seed),
      max_attempts_(max_attempts),
      n_bands_(static_cast<std::size_t>(model.num_bands())) {
  if (noise.num_bands() != n_bands_) {
    throw ConfigError(cat("the noise model has ", noise.num_bands(), " bands but the model has ", n_bands_,
                          " filters; fit the noise model for the configured bands"));
  }
}

void TrainingSimulator::simulate(std::uint64_t first, std::uint64_t count, SimulatedRows& out,
                                 SimulationCounters& counters) const {
  const std::size_t nb = n_bands_, nx = conditioning_.dim();
  out.first = first;
  out.count = count;
  out.theta_physical.assign(count * 12, 0.0);
  out.theta_flow.assign(count * 11, 0.0);
  out.z.assign(count, 0.0);
  out.flux_true.assign(count * nb, 0.0);
  out.flux_obs.assign(count * nb, 0.0);
  out.sigma.assign(count * nb, 0.0);
  out.x.assign(count * nx, 0.0);
  out.attempts.assign(count, 0);
  std::vector<double> flux(nb);
  for (std::uint64_t r = 0; r < count; ++r) {
    const std::uint64_t i = first + r;
    Rng prior_rng(seed_, RngStream::kPrior, i);
    Rng z_rng(seed_, RngStream::kRedshift, i);
    Rng noise_rng(seed_, RngStream::kNoise, i);
    bool accepted = false;
    for (int attempt = 1; attempt <= max_attempts_ && !accepted; ++attempt) {
      const prior::FlowCoords u = prior_.sample_flow(prior_rng);
      const prior::Physical theta = prior_.to_physical(u);
      const double z = z_rng.uniform(z_range_.z_min, z_range_.z_max);
      model_.evaluate(theta.data(), z, flux.data());
      const noise::NoiseDraw draw = noise_.sample(flux.data(), noise_rng);
      if (!draw.ok()) {
        ++counters.rejected_draws;
        counters.noise.add(draw);
        continue;
      }
      accepted = true;
      out.attempts[r] = static_cast<std::uint32_t>(attempt);
      std::copy(theta.begin(), theta.end(), out.theta_physical.begin() + static_cast<std::ptrdiff_t>(r * 12));
      std::copy(u.begin(), u.end(), out.theta_flow.begin() + static_cast<std::ptrdiff_t>(r * 11));
      out.z[r] = z;
      for (std::size_t b = 0; b < nb; ++b) {
        out.flux_true[r * nb + b] = flux[b];
        out.flux_obs[r * nb + b] = draw.flux_nmgy[b];
        out.sigma[r * nb + b] = draw.sigma_nmgy[b];
      }
      const std::vector<double> x = conditioning_.make(draw.flux_nmgy.data(), draw.sigma_nmgy.data(), z);
      std::copy(x.begin(), x.end(), out.x.begin() + static_cast<std::ptrdiff_t>(r * nx));
    }
    if (!accepted) {
      // No draw within the catalog's flux range: leave a NaN row (training skips it).
      ++counters.failed_rows;
      const double nan = std::numeric_limits<double>::quiet_NaN();
      std::fill_n(out.theta_physical.begin() + static_cast<std::ptrdiff_t>(r * 12), 12, nan);
      std::fill_n(out.theta_flow.begin() + static_cast<std::ptrdiff_t>(r * 11), 11, nan);
      std::fill_n(out.x.begin() + static_cast<std::ptrdiff_t>(r * nx), nx, nan);
      out.z[r] = nan;
    }
    ++counters.rows;
  }
}

}  // namespace sedpost::simulate
