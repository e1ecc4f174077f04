#pragma once
/// Empirical noise model (docs/MODEL.md section 5) and the out-of-support test of section 9,
/// criterion 1.
///
/// Per band, in magnitude space (mag = 22.5 - 2.5 log10(flux_nmgy), sigma_mag =
/// 2.5/ln10 * sigma_nmgy / flux_nmgy): the catalog's valid rows are binned in mag (n_bins
/// equal-width bins between the range_quantile and 1 - range_quantile quantiles of the band's
/// magnitudes, so that a single absurd row (NSA has an i-band flux of 4e-5 nmgy) cannot stretch
/// the bins; rows outside are not binned; bins with fewer than min_count rows are dropped); in each kept bin mu = median(sigma_mag) and s = std(sigma_mag)
/// (sample std, n-1; or 1.4826 MAD with robust_scale). mu(mag), s(mag) are linear between the
/// geometric bin centres and constant beyond the first/last kept centre.
/// p(sigma_mag | mag) = N(mu(mag), s(mag)), truncated to sigma_mag > 0 by redrawing.
///
/// With `noise.sigma_distribution = "lognormal"` (a documented departure from MODEL.md 5, see
/// docs/missing-bands.md) s is the spread of ln sigma_mag instead: p(ln sigma_mag | mag) =
/// N(ln mu(mag), s(mag)), with ln mu linear between the bin centres. Sky-limited errors (GALEX)
/// have sigma_mag ~ 1/flux and a long tail of shallow exposures; in magnitudes their bin std
/// jumps between 0.04 and 8 mag from bin to bin, in ln sigma_mag it is a smooth 0.5-1.5.
///
/// Units: fluxes and sigmas in nanomaggies, arrays row-major [n, bands]. Nothing is collective.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.hpp"

namespace sedpost {
class Config;
}

namespace sedpost::noise {

/// Fit and sampling settings (config table `[noise]`).
struct NoiseSettings {
  int n_bins = 20;            ///< `noise.n_bins`: magnitude bins per band
  int min_count = 10;         ///< `noise.min_count`: rows a bin needs to be kept (>= 2)
  /// `noise.range_quantile`: quantile q in [0, 0.5) of the magnitudes trimmed at each end before
  /// binning; the model's flux range (BandNoise::flux_min/max, the out-of-range flag) is the
  /// range of the kept rows. 0 = the catalog's full range (SEDflow).
  double range_quantile = 0.005;
  bool robust_scale = false;  ///< `noise.robust_scale`: s = 1.4826 MAD instead of the std
  bool lognormal = false;     ///< `noise.sigma_distribution = "lognormal"` ("normal": false)
  int max_redraws = 100;      ///< `noise.max_redraws`: redraws of sigma' <= 0 before giving up
  double flag_nsigma = 3.0;   ///< `noise.flag_nsigma`: out-of-support when sigma > mu + k s

  /// Reads the keys above from `<table>.*` (absent keys keep defaults); throws ConfigError.
  static NoiseSettings from_config(const Config& config, const std::string& table = "noise");
  /// Throws ConfigError for n_bins < 1, min_count < 2, max_redraws < 0, flag_nsigma <= 0,
  /// range_quantile outside [0, 0.5).
  void validate() const;
};

/// The fitted model of one band.
struct BandNoise {
  std::string band;
  std::vector<double> mag_centre;  ///< [kept bins] increasing, AB mag
  std::vector<double> mu;          ///< median sigma_mag per bin [mag]
  std::vector<double> s;           ///< std of sigma_mag per bin [mag] (lognormal: of ln sigma_mag)
  bool lognormal = false;          ///< the band's p(sigma_mag | mag) is lognormal (see above)
  std::vector<double> count;       ///< rows per bin
  double flux_min = 0, flux_max = 0;  ///< range of the binned catalog fluxes [nmgy]
  std::int64_t n_used = 0;                ///< rows used
  std::int64_t n_nonpositive_flux = 0;    ///< skipped: flux <= 0 (with ivar > 0)
  std::int64_t n_nonpositive_ivar = 0;    ///< skipped: ivar <= 0 (sigma <= 0 or +inf)
  std::int64_t n_nan = 0;                 ///< skipped: flux or sigma NaN (or flux infinite)
  std::int64_t n_unbinned = 0;  ///< used rows outside the quantile range or in sparse bins

  /// mu and s at `mag` (linear between centres, clamped beyond; lognormal: ln mu linear) [mag]
  /// (s of a lognormal band is dimensionless).
  double mu_at(double mag) const;
  double s_at(double mag) const;
  /// The error z standard deviations from the median at `mag`: mu + z s, or mu exp(z s) for a
  /// lognormal band [mag].
  double sigma_mag_at(double mag, double z) const;
  /// log p(sigma_mag | mag) [1/mag]: the normal truncated to sigma_mag > 0 (as drawn), or the
  /// lognormal; -inf for sigma_mag <= 0. s is floored at 1e-4 (a bin whose errors all agree
  /// would make it a delta function).
  double log_density(double mag, double sigma_mag) const;
};

/// Bits of NoiseDraw::flags / NoiseDraw::band_flags.
enum NoiseFlag : std::uint32_t {
  kNoiseOutOfRange = 1u,       ///< true flux outside the catalog's range: drop the galaxy
  kNoiseSigmaDrawFailed = 2u,  ///< max_redraws draws of sigma' all <= 0: drop the galaxy
  kNoiseInvalidTrueFlux = 4u,  ///< true flux <= 0 or not finite: sigma, flux set to NaN
};

/// One simulated galaxy's noise.
struct NoiseDraw {
  std::vector<double> sigma_nmgy;  ///< [bands] drawn flux error
  std::vector<double> flux_nmgy;   ///< [bands] noisy flux f + N(0, sigma)
  std::vector<double> sigma_mag;   ///< [bands] the drawn sigma' in magnitudes
  std::vector<std::uint32_t> band_flags;  ///< [bands] NoiseFlag bits
  std::uint32_t flags = 0;         ///< OR of band_flags; 0 = keep
  int n_redraws = 0;               ///< sigma' <= 0 draws that were redrawn (all bands)
  bool ok() const { return flags == 0; }
  /// "" when ok, else e.g. "u: flux 0.01 nmgy outside catalog range [0.5, 2e4]".
  std::string reason;
};

/// Counts over many draws, for the simulate stage's report. Merge across ranks by summing
/// the fields (all integers).
struct NoiseCounters {
  std::int64_t n_draws = 0;
  std::int64_t n_ok = 0;
  std::int64_t n_redraws = 0;                 ///< sigma' <= 0 redrawn
  std::vector<std::int64_t> n_out_of_range;   ///< [bands] galaxies flagged per band
  std::vector<std::int64_t> n_draw_failed;    ///< [bands]
  std::vector<std::int64_t> n_invalid_flux;   ///< [bands]

  void add(const NoiseDraw& draw);
  void merge(const NoiseCounters& other);
  /// One line, e.g. "1000 draws, 987 kept, 13 dropped (out of range: u 10, ...), 5 redraws".
  std::string summary(const std::vector<std::string>& bands) const;
};

/// Batch of draws: [n, bands] arrays and per-row flags.
struct NoiseBatch {
  std::vector<double> sigma_nmgy;
  std::vector<double> flux_nmgy;
  std::vector<std::uint32_t> flags;  ///< [n]; 0 = keep
};

/// The fitted model as named arrays and attributes, for the io layer to write to / read from
/// an HDF5 group. 2-D arrays are row-major [bands, max_bins], padded with NaN past n_bins[b].
/// Arrays: mag_centre, mu_sigma_mag, s_sigma_mag [mag], bin_count (2-D); n_bins, flux_min,
/// flux_max [nmgy], n_used, n_skipped_nonpositive_flux, n_skipped_nonpositive_ivar,
/// n_skipped_nan, n_unbinned (1-D, [bands]). Numeric attributes: format_version (1),
/// n_bins_requested, min_count, range_quantile, robust_scale (0/1), max_redraws, flag_nsigma.
/// String attributes: model, mag_system, source, sigma_distribution ("normal" | "lognormal";
/// absent in files written before it existed, which are normal). Plus `bands` (string list).
struct NoiseTables {
  struct Array {
    std::string name;
    std::vector<std::size_t> shape;  ///< 1 or 2 dims
    std::vector<double> data;
    std::string units;  ///< "" for dimensionless / counts
  };
  std::vector<std::string> bands;  ///< attribute `bands`
  std::vector<Array> arrays;
  std::vector<std::pair<std::string, double>> attributes;
  std::vector<std::pair<std::string, std::string>> string_attributes;

  /// Throws DataError naming the array / attribute when absent.
  const Array& array(const std::string& name) const;
  double attribute(const std::string& name) const;
};

class NoiseModel {
 public:
  NoiseModel() = default;

  /// Fits the model. `flux`, `sigma` [n, bands] in nmgy, `bands` names the columns. Rows with
  /// NaN, flux <= 0 or sigma <= 0 / +inf (ivar <= 0) are skipped per band and counted in
  /// BandNoise. Throws DataError when sizes mismatch or a band has no bin with min_count rows;
  /// ConfigError for invalid settings.
  static NoiseModel fit(const std::vector<double>& flux, const std::vector<double>& sigma,
                        const std::vector<std::string>& bands, const NoiseSettings& settings = {});
  /// Same, from inverse variances [nmgy^-2] (sigma = 1/sqrt(ivar)).
  static NoiseModel fit_ivar(const std::vector<double>& flux, const std::vector<double>& ivar,
                             const std::vector<std::string>& bands, const NoiseSettings& settings = {});

  const std::vector<std::string>& bands() const { return bands_; }
  std::size_t num_bands() const { return bands_.size(); }
  const BandNoise& band(std::size_t b) const { return band_.at(b); }
  const NoiseSettings& settings() const { return settings_; }
  /// Free-text description of the catalog(s) fitted (stored in the tables).
  const std::string& source() const { return source_; }
  void set_source(const std::string& source) { source_ = source; }

  /// Draws sigma' and the noisy flux for one galaxy; `true_flux` [bands] nmgy. Draw order is
  /// fixed (per band: sigma' with redraws, then the flux noise), so a given Rng gives the same
  /// result everywhere. Never throws for bad fluxes: they are flagged.
  NoiseDraw sample(const double* true_flux, Rng& rng) const;
  NoiseDraw sample(const std::vector<double>& true_flux, Rng& rng) const;
  /// `true_flux` [n, bands]; row i uses Rng(seed, RngStream::kNoise, first_index + i).
  /// `counters` (optional) accumulates the draws.
  NoiseBatch sample_batch(const std::vector<double>& true_flux, std::uint64_t seed,
                          std::uint64_t first_index, NoiseCounters* counters = nullptr) const;

  /// MODEL.md 9 criterion 1: true when sigma_X > mu(f_X) + k s(f_X) in any band (k =
  /// flag_nsigma), for every true flux f_X the observation allows. Training sigmas were drawn
  /// at the true flux; an observed flux f differs from it by its noise, and at low S/N that
  /// alone moves sigma_mag = 1.0857 sigma / f by more than 3 s. So the bound, in nanomaggies
  /// f_X (mu + k s)(mag(f_X)) / 1.0857, is taken at its largest over f_X in f +- 2 sigma
  /// clipped to the catalog's flux range [flux_min, flux_max] (also when f <= 0). Non-finite
  /// flux or sigma, or sigma <= 0, also flag. `reason` (if given) receives "" or a description
  /// of every failing band.
  bool is_noisier_than_training(const double* flux, const double* sigma, std::string* reason = nullptr) const;
  /// The bound of is_noisier_than_training for band `b`: the largest sigma [nmgy] the training
  /// drew for a true flux within 2 sigma of `flux` (sigma > 0, both finite); `at_flux` (if
  /// given) receives the true flux where it is reached.
  double training_sigma_limit(std::size_t b, double flux, double sigma, double* at_flux = nullptr) const;
  bool is_noisier_than_training(const std::vector<double>& flux, const std::vector<double>& sigma,
                                std::string* reason = nullptr) const;

  /// Serialise (see NoiseTables) and back. from_tables throws DataError on missing or
  /// inconsistent arrays.
  NoiseTables to_tables() const;
  static NoiseModel from_tables(const NoiseTables& tables);

  /// Multi-line human-readable summary (per band: rows used / skipped by reason, flux range,
  /// mu at the bin ends).
  std::string summary() const;

 private:
  std::vector<std::string> bands_;
  std::vector<BandNoise> band_;
  NoiseSettings settings_;
  std::string source_;
};

/// Magnitude of a flux: 22.5 - 2.5 log10(flux_nmgy) (NaN for flux <= 0).
double nmgy_to_mag(double flux_nmgy);
/// 2.5/ln10 = 1.0857...: sigma_mag = kMagPerLnFlux * sigma_f / f.
inline constexpr double kMagPerLnFlux = 1.0857362047581294;

}  // namespace sedpost::noise
