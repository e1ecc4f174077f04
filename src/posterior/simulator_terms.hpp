#pragma once
/// The parts of the training simulator's generative model beyond the flux likelihood, as a
/// function of a galaxy's noiseless model fluxes f [B] in nanomaggies (MODEL.md 5,
/// docs/metrics.md "Likelihood-checked posteriors"):
///   - the prior's truncation: the simulator keeps a galaxy only when f_b lies inside the noise
///     catalog's flux range [flux_min_b, flux_max_b] in every band (masked ones included);
///   - the noise model's density of each observed error: the simulator draws sigma_b at the true
///     flux, sigma_mag ~ N(mu(mag_b), s(mag_b)) truncated to > 0 with mag_b = 22.5 - 2.5 log10 f_b
///     and sigma_b = sigma_mag f_b / 1.0857, so the error itself says something about f_b:
///       log p(sigma_b | f_b) = log N(sigma_mag; mu, s) - log Phi(mu / s) + log(1.0857 / f_b)
///     (or the lognormal density of a `noise.sigma_distribution = "lognormal"` model).
///     Off by default (`--noise-likelihood`): the seven-band model's weighted posteriors are
///     overconfident with or without it, and also when the errors carry no information about
///     the fluxes at all (docs/missing-bands.md), so this term is not what they lack.
#include <cstdint>
#include <vector>

#include "noise/noise_model.hpp"

namespace sedpost::posterior {

class SimulatorTerms {
 public:
  /// `noise` (must outlive this) gives the flux range and p(sigma | f); `sigma` [B] the observed
  /// errors [nmgy]; `sigma_bands` [B] 1 where the band's error density enters (bands that were
  /// measured and lie inside the noise model's support; null = none); `truncate`: apply the flux
  /// range.
  SimulatorTerms(const noise::NoiseModel& noise, const double* sigma, const std::uint8_t* sigma_bands, bool truncate);

  /// The sum of the terms at model fluxes f [B] (nmgy): -inf outside the flux range (with
  /// truncate), else the sum of log p(sigma_b | f_b) over the sigma bands (0 without).
  double log_density(const double* f) const;

 private:
  const noise::NoiseModel& noise_;
  std::vector<double> sigma_;
  std::vector<std::size_t> sigma_bands_;
  bool truncate_;
};

/// log p(sigma_nmgy | true flux f_nmgy > 0) of band b of `noise` [1/nmgy] (see above and
/// noise::BandNoise::log_density).
double log_sigma_density(const noise::NoiseModel& noise, std::size_t band, double f_nmgy, double sigma_nmgy);

}  // namespace sedpost::posterior
