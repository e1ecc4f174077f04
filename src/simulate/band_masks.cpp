#include "simulate/band_masks.hpp"

#include <algorithm>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::simulate {

BandMaskSettings BandMaskSettings::from_config(const Config& config) {
  BandMaskSettings s;
  s.enabled = config.get_bool("model.band_masks", s.enabled);
  s.floor = config.get_double("simulate.mask_floor", s.floor);
  s.max_rate = config.get_double("simulate.mask_max_rate", s.max_rate);
  s.rates = config.get_doubles("simulate.mask_rates", s.rates);
  auto rate_ok = [](double r) { return r >= 0 && r < 1; };
  if (!rate_ok(s.floor)) throw ConfigError(config.source() + ": simulate.mask_floor must be in [0, 1)");
  if (!rate_ok(s.max_rate)) throw ConfigError(config.source() + ": simulate.mask_max_rate must be in [0, 1)");
  for (double r : s.rates)
    if (!rate_ok(r)) throw ConfigError(cat(config.source(), ": simulate.mask_rates has ", r, ", not in [0, 1)"));
  if (!s.rates.empty() && !s.enabled)
    throw ConfigError(config.source() + ": simulate.mask_rates is set but model.band_masks is false");
  return s;
}

double missing_fraction(const noise::BandNoise& b) {
  const double missing = static_cast<double>(b.n_nan + b.n_nonpositive_ivar);
  const double total = missing + static_cast<double>(b.n_used + b.n_nonpositive_flux);
  return total > 0 ? missing / total : 0.0;
}

BandMasks::BandMasks(const BandMaskSettings& settings, const noise::NoiseModel& noise,
                     const std::vector<std::string>& drop)
    : enabled_(settings.enabled), rates_(noise.num_bands(), 0.0) {
  const std::size_t nb = noise.num_bands();
  if (nb > 32) throw ConfigError(cat("band masks: ", nb, " bands, at most 32 supported"));
  if (!drop.empty()) {
    if (!enabled_)
      throw ConfigError("dropping bands needs a model trained with band masks (model.band_masks = true)");
    fixed_ = true;
    for (const std::string& name : drop) {
      const auto it = std::find(noise.bands().begin(), noise.bands().end(), name);
      if (it == noise.bands().end())
        throw ConfigError(cat("band '", name, "' to drop is not one of the model's bands"));
      rates_[static_cast<std::size_t>(it - noise.bands().begin())] = 1.0;
    }
    if (std::all_of(rates_.begin(), rates_.end(), [](double r) { return r == 1.0; }))
      throw ConfigError("dropping every band leaves nothing to fit");
    return;
  }
  if (!enabled_) return;
  if (!settings.rates.empty()) {
    if (settings.rates.size() != nb)
      throw ConfigError(cat("simulate.mask_rates has ", settings.rates.size(), " rates for ", nb, " bands"));
    rates_ = settings.rates;
    return;
  }
  for (std::size_t b = 0; b < nb; ++b)
    rates_[b] = std::min(settings.max_rate, missing_fraction(noise.band(b)) + settings.floor);
}

void BandMasks::draw(std::uint64_t seed, std::uint64_t row, std::uint8_t* present) const {
  const std::size_t nb = rates_.size();
  if (fixed_) {
    for (std::size_t b = 0; b < nb; ++b) present[b] = rates_[b] < 1.0 ? 1 : 0;
    return;
  }
  Rng rng(seed, RngStream::kBandMask, row);
  // Rates are < 1, so a mask with a band left comes within a few tries; after 1000 keep all.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    bool any = false;
    for (std::size_t b = 0; b < nb; ++b) {
      present[b] = rng.uniform() < rates_[b] ? 0 : 1;
      any = any || present[b];
    }
    if (any) return;
  }
  std::fill(present, present + nb, std::uint8_t{1});
}

std::string BandMasks::describe(const std::vector<std::string>& bands) const {
  if (!enabled_) return "no band masks";
  std::string s = fixed_ ? "bands dropped from every row:" : "band masks (drop rate per band):";
  for (std::size_t b = 0; b < rates_.size(); ++b) {
    if (fixed_) {
      if (rates_[b] == 1.0) s += " " + bands[b];
    } else {
      s += cat(" ", bands[b], " ", rates_[b]);
    }
  }
  return s;
}

}  // namespace sedpost::simulate
