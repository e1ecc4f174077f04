#pragma once
/// Cheap guaranteed bounds on the band fluxes SedModel::evaluate(theta, z) returns, for the
/// simulator's rejection step (MODEL.md 5: draws whose true fluxes fall outside the noise
/// catalog's range are dropped). A draw whose bounds already lie outside the range is dropped
/// without evaluating the model; every other draw is evaluated exactly, so the simulated
/// distribution is exactly the one of evaluating every draw.
///
/// How: the flux is linear in the SFH-weighted bin spectra, and the dust factors lie between
/// their extremes over the wavelengths a band sees. So per band "channel" (a band, or a part of
/// one, e.g. the core and the red leak of the speclite u band) the undusted young and old fluxes
/// are sums of precomputed band-projected bin spectra (tabulated on a z grid, linear in z between
/// grid points), and the transmission is bounded by tables of the dust curve's extremes over the
/// channel's nodes for n_dust cells. A relative margin (default 5%) covers the z interpolation
/// and the float rounding of the model: the largest interpolation error measured over 20,000
/// prior draws is 2.4e-4 (u band; the union-grid trapezoid makes flux(z) piecewise smooth, so
/// the error falls only linearly with the z step), 200x below it; tests/sps/flux_bounds_test.cpp
/// checks < margin / 100. The margin costs ~2% more SED evaluations. Units: nanomaggies.
/// Thread-safe const methods.
#include <memory>
#include <vector>

#include "sps/sed_model.hpp"

namespace sedpost::sps {

struct FluxBoundsSettings {
  double z_step = 0.002;      ///< z grid spacing of the projected tables
  double margin = 0.05;       ///< relative margin applied to both bounds (see above)
  double n_dust_min = -2.0;   ///< n_dust range of the dust tables (outside: no bound)
  double n_dust_max = 1.0;
  int n_dust_cells = 96;      ///< cells of the dust-extreme tables
  /// A band is split into core (response >= core_fraction * peak) and tails; a tail wider than
  /// tail_fraction of the core becomes a channel of its own.
  double core_fraction = 0.01;
  double tail_fraction = 0.25;
};

struct FluxBoundsTables;  // internal

class FluxBounds {
 public:
  /// Tables for redshifts [z_min, z_max] (clipped to [0, model z_max]). Throws ConfigError for
  /// an empty range or invalid settings.
  FluxBounds(const SedModel& model, double z_min, double z_max, const FluxBoundsSettings& settings = {});
  ~FluxBounds();
  FluxBounds(FluxBounds&&) noexcept;
  FluxBounds& operator=(FluxBounds&&) noexcept;

  /// lo[b] <= SedModel::evaluate(theta, z)[b] <= hi[b] for physical theta [12]; lo, hi [n_bands]
  /// nanomaggies. Returns false (lo, hi unspecified) where no bound is available: z outside the
  /// tables, n_dust outside the dust tables, negative optical depths, or a z cell in which the
  /// time bins change structure.
  bool bounds(const double* theta, double z, double* lo, double* hi) const;
  /// The interpolated undusted fluxes [n_bands] (tau_bc = tau_ism = 0) the bounds are built from,
  /// without margin (for tests: compare with evaluate() at zero dust). False as bounds().
  bool undusted(const double* theta, double z, double* flux) const;

  int num_bands() const;
  int num_channels() const;
  const FluxBoundsSettings& settings() const;

 private:
  bool channel_sums(const double* theta, double z, double* old_sum, double* young_sum, double* scale) const;
  std::shared_ptr<const ModelData> data_;
  std::unique_ptr<FluxBoundsTables> t_;
};

}  // namespace sedpost::sps
