#pragma once
/// A documented synthetic noise catalog for surveys without a public catalog to fit the
/// empirical noise model to (configs/rubin.toml, configs/legacy.toml; docs/photo-z.md):
/// per band, a 5-sigma point-source depth m5 [AB mag]. Each synthetic object gets, independently
/// per band, an AB magnitude uniform in [bright, m5 + faint_margin] and a local depth
/// m5 + N(0, depth_scatter) (exposure-time and seeing variation over the footprint); its error is
///   sigma_f = sqrt(sigma_sky^2 + (floor f)^2),   sigma_sky = f5 / 5,   f5 = 10^(-0.4 (m5_local - 22.5)) nmgy,
/// sky-limited at the faint end with a fractional calibration floor at the bright end. The noise
/// model is then fitted to these (flux, sigma) pairs like a real catalog (NoiseModel::fit).
#include <cstdint>
#include <string>
#include <vector>

namespace sedpost {
class Config;
}

namespace sedpost::noise {

struct SyntheticNoiseSettings {
  std::vector<double> depth_5sigma;  ///< [bands] m5, AB mag (`noise.synthetic_depth`)
  double bright = 16.0;              ///< brightest magnitude [AB] (`noise.synthetic_bright`)
  double faint_margin = 1.0;         ///< faintest = m5 + this [mag] (`noise.synthetic_faint_margin`)
  double depth_scatter = 0.2;        ///< sd of the local depth [mag] (`noise.synthetic_depth_scatter`)
  double floor = 0.01;               ///< fractional error floor (`noise.synthetic_floor`)
  std::int64_t n = 200000;           ///< synthetic objects (`noise.synthetic_n`)
  std::uint64_t seed = 0;            ///< their random stream (`noise.synthetic_seed`)

  /// True when `noise.synthetic_depth` is set. Reads the keys above; throws ConfigError naming
  /// the key for a wrong count (`n_bands`) or a value out of range.
  static bool in_config(const Config& config);
  static SyntheticNoiseSettings from_config(const Config& config, std::size_t n_bands);
};

/// The synthetic catalog: flux and sigma [n, bands] in nanomaggies.
void synthetic_photometry(const SyntheticNoiseSettings& s, std::vector<double>& flux, std::vector<double>& sigma);

/// "synthetic: 5-sigma depths u 25.6, g 26.9, ... AB, depth scatter 0.2 mag, floor 0.01" (the
/// noise model's source string).
std::string describe(const SyntheticNoiseSettings& s, const std::vector<std::string>& bands);

}  // namespace sedpost::noise
