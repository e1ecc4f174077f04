#include "noise/synthetic_noise.hpp"

#include <cmath>
#include <cstdio>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace sedpost::noise {

bool SyntheticNoiseSettings::in_config(const Config& config) { return config.has("noise.synthetic_depth"); }

SyntheticNoiseSettings SyntheticNoiseSettings::from_config(const Config& config, std::size_t n_bands) {
  SyntheticNoiseSettings s;
  const std::string src = config.source() + ": ";
  s.depth_5sigma = config.get_doubles("noise.synthetic_depth", {});
  if (s.depth_5sigma.size() != n_bands)
    throw ConfigError(src + "noise.synthetic_depth has " + std::to_string(s.depth_5sigma.size()) +
                      " depths, the model has " + std::to_string(n_bands) + " bands");
  s.bright = config.get_double("noise.synthetic_bright", s.bright);
  s.faint_margin = config.get_double("noise.synthetic_faint_margin", s.faint_margin);
  s.depth_scatter = config.get_double("noise.synthetic_depth_scatter", s.depth_scatter);
  s.floor = config.get_double("noise.synthetic_floor", s.floor);
  s.n = config.get_int("noise.synthetic_n", s.n);
  s.seed = static_cast<std::uint64_t>(config.get_int("noise.synthetic_seed", 0));
  for (double m5 : s.depth_5sigma)
    if (!(m5 > s.bright + 1 && m5 < 35)) throw ConfigError(src + "noise.synthetic_depth: each depth must be an AB "
                                                           "magnitude above synthetic_bright + 1 and below 35");
  if (!(s.faint_margin >= 0 && s.faint_margin <= 5)) throw ConfigError(src + "noise.synthetic_faint_margin must be in [0, 5]");
  if (!(s.depth_scatter >= 0 && s.depth_scatter <= 2)) throw ConfigError(src + "noise.synthetic_depth_scatter must be in [0, 2]");
  if (!(s.floor >= 0 && s.floor < 1)) throw ConfigError(src + "noise.synthetic_floor must be in [0, 1)");
  if (s.n < 1000) throw ConfigError(src + "noise.synthetic_n must be >= 1000");
  return s;
}

void synthetic_photometry(const SyntheticNoiseSettings& s, std::vector<double>& flux, std::vector<double>& sigma) {
  const std::size_t nb = s.depth_5sigma.size(), n = static_cast<std::size_t>(s.n);
  flux.assign(n * nb, 0.0);
  sigma.assign(n * nb, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(s.seed, RngStream::kNoise, i);
    for (std::size_t b = 0; b < nb; ++b) {
      const double mag = rng.uniform(s.bright, s.depth_5sigma[b] + s.faint_margin);
      const double m5 = s.depth_5sigma[b] + s.depth_scatter * rng.normal();
      const double f = std::pow(10.0, -0.4 * (mag - 22.5));
      const double sky = std::pow(10.0, -0.4 * (m5 - 22.5)) / 5.0;
      flux[i * nb + b] = f;
      sigma[i * nb + b] = std::sqrt(sky * sky + s.floor * s.floor * f * f);
    }
  }
}

std::string describe(const SyntheticNoiseSettings& s, const std::vector<std::string>& bands) {
  std::string out = "synthetic: 5-sigma depths ";
  char buf[64];
  for (std::size_t b = 0; b < s.depth_5sigma.size(); ++b) {
    std::snprintf(buf, sizeof buf, "%s%s %.2f", b ? ", " : "", b < bands.size() ? bands[b].c_str() : "?",
                  s.depth_5sigma[b]);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, " AB, depth scatter %.2f mag, floor %.3f", s.depth_scatter, s.floor);
  return out + buf;
}

}  // namespace sedpost::noise
