#pragma once
/// Random band masks of simulated galaxies (docs/missing-bands.md): with `[model] band_masks =
/// true` every training row loses each band b independently with probability rate_b, its
/// photometry is written as "not measured" (flux NaN, sigma +inf) and the conditioning vector
/// carries present flags, so one flow serves every subset of the configured bands.
///
/// Default rates: the fraction of the noise catalog's rows missing band b (NaN flux or sigma,
/// inverse variance <= 0) plus a floor, capped at max_rate, so that every band's absence is
/// seen in training. A row never loses every band (its mask is redrawn).
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "noise/noise_model.hpp"

namespace sedpost {
class Config;
}

namespace sedpost::simulate {

struct BandMaskSettings {
  bool enabled = false;      ///< `model.band_masks`: conditioning with present flags, random masks
  double floor = 0.1;        ///< `simulate.mask_floor`: added to each band's catalog missing fraction
  double max_rate = 0.5;     ///< `simulate.mask_max_rate`: cap of a learned rate
  std::vector<double> rates; ///< `simulate.mask_rates` [bands]: explicit rates (empty = learned)

  /// Reads the keys above; throws ConfigError naming the key for a rate outside [0, 1), a floor
  /// outside [0, 1) or explicit rates given without band masks.
  static BandMaskSettings from_config(const Config& config);
};

/// Who loses which bands in a simulation.
class BandMasks {
 public:
  /// No masks: every row keeps every band.
  BandMasks() = default;
  /// Random masks with `settings` (rates learned from `noise` unless explicit), or, when
  /// `drop` is non-empty, exactly the bands named in `drop` removed from every row (no random
  /// masks; for tests on a fixed reduced band set). Throws ConfigError for an unknown band, a
  /// drop list that leaves no band, explicit rates of the wrong length, or any mask without
  /// settings.enabled.
  BandMasks(const BandMaskSettings& settings, const noise::NoiseModel& noise, const std::vector<std::string>& drop = {});

  bool enabled() const { return enabled_; }
  /// [bands] drop probability per row (0 for every band with a fixed drop list, 1 for the dropped ones).
  const std::vector<double>& rates() const { return rates_; }
  /// Present flags [bands] of row `row` of a simulation with `seed` (1 = kept), from
  /// Rng(seed, kBandMask, row). Needs enabled() (a default-constructed BandMasks knows no bands).
  void draw(std::uint64_t seed, std::uint64_t row, std::uint8_t* present) const;
  /// One line for logs: "band masks: u 0.10, g 0.10, ..." or "no band masks".
  std::string describe(const std::vector<std::string>& bands) const;

 private:
  bool enabled_ = false;
  bool fixed_ = false;
  std::vector<double> rates_;
};

/// Fraction of the noise catalog's rows with band b missing (NaN, or inverse variance <= 0).
double missing_fraction(const noise::BandNoise& band);

}  // namespace sedpost::simulate
