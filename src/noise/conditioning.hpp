#pragma once
/// The conditioning vector x of the flow (docs/MODEL.md section 6):
/// x = (asinh magnitudes of the B bands, their errors, z), length 2B + 1; without z (length 2B,
/// or 3B with band masks) when the redshift is inferred (docs/photo-z.md).
/// With band masks (a model trained on random subsets of its bands, docs/missing-bands.md):
/// x = (asinh magnitudes, errors, present flags, z), length 3B + 1, where present_b is 1 for a
/// measured band and 0 for a missing one; a missing band's magnitude is the fixed value
/// kMissingMag and its error 0, so the flow learns from the flags alone which bands it has.
///
/// Asinh magnitudes ("luptitudes", Lupton, Gunn & Szalay 1999, AJ 118, 1406), as SDSS defines
/// them: with f the flux in maggies (f = flux_nmgy * 1e-9) and b the per-band softening
/// [maggies],
///   m = -(2.5 / ln 10) [asinh(f / (2b)) + ln b],
///   sigma_m = (2.5 / ln 10) sigma_f / sqrt(f^2 + 4 b^2).
/// For f >> b, m -> 22.5 - 2.5 log10(flux_nmgy) (AB), and m stays finite for f <= 0, which the
/// noisy simulated fluxes can be. SEDflow used plain magnitudes; this is the "documented
/// improvement" MODEL.md 6 allows.
///
/// Default softening = SDSS's (DR7 photometric flux calibration page, "asinh magnitudes"):
///   u 1.4e-10, g 0.9e-10, r 1.2e-10, i 1.8e-10, z 7.4e-10 maggies
/// (= 0.14, 0.09, 0.12, 0.18, 0.74 nmgy; mag 24.63, 25.11, 24.80, 24.36, 22.83 at f = 0).
/// GALEX FUV 2.0e-9 and NUV 1.0e-9 maggies: about Lupton et al.'s optimal b = 1.042 sigma for
/// the NSA's median GALEX flux errors (FUV 1.4-3.6, NUV 0.8-1.8 nmgy in A1367 and A2052).
/// The standardisation (training-set mean and std) is done by the flow, not here.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sedpost::noise {

/// Default softening b [maggies] for SDSS band names "u".."z" (also "sdss_u0", "sdss2010-u",
/// ... matched on the letter after the last '_' or '-'), "y" (as z), GALEX "FUV", "NUV" (also
/// "galex_FUV", ...) and WISE "W1", "W2" (3e-9, 4e-9: about 1.042 sigma at the AllWISE 5-sigma
/// depths). Throws ConfigError for other bands.
double default_softening(const std::string& band);

/// Magnitude written for a missing band in a masked conditioning vector (its present flag is 0
/// and its error 0). A constant inside the range of real magnitudes, so that the flow's
/// standardisation of x is not dominated by it.
inline constexpr double kMissingMag = 25.0;

/// Asinh magnitude of `flux_nmgy` with softening `b_maggies`.
double asinh_mag(double flux_nmgy, double b_maggies);
/// Its error for a flux error `sigma_nmgy` (first-order propagation).
double asinh_mag_error(double flux_nmgy, double sigma_nmgy, double b_maggies);

/// Builds conditioning vectors for a fixed band list.
class Conditioning {
 public:
  /// `softening_maggies` [bands]; empty = default_softening(band) for each band (ConfigError if
  /// unknown). `band_masks`: the 3B + 1 layout with present flags. Throws ConfigError when
  /// sizes differ or some b <= 0. `with_z` false: no z entry (z inferred).
  explicit Conditioning(std::vector<std::string> bands = {"u", "g", "r", "i", "z"},
                        std::vector<double> softening_maggies = {}, bool band_masks = false, bool with_z = true);

  const std::vector<std::string>& bands() const { return bands_; }
  const std::vector<double>& softening() const { return b_; }
  bool band_masks() const { return masks_; }
  bool with_z() const { return with_z_; }
  /// 2B + 1, or 3B + 1 with band masks (one less without z).
  std::size_t dim() const { return (masks_ ? 3 : 2) * bands_.size() + (with_z_ ? 1 : 0); }
  /// Column of the first present flag (2B); only meaningful with band masks.
  std::size_t present_offset() const { return 2 * bands_.size(); }
  /// "asinh_mag_u", ..., "asinh_mag_err_u", ..., ["present_u", ...,] ["z"].
  std::vector<std::string> names() const;
  /// "mag" for the first 2B entries, "" for the flags and z.
  std::vector<std::string> units() const;

  /// x [dim()] from `flux_nmgy`, `sigma_nmgy` [B] and redshift `z` (not read without z). `present` [B] (1 = use the
  /// band; null = all) needs band masks when it leaves a band out (ConfigError otherwise);
  /// a left-out band's flux and sigma are not read. Non-finite inputs of a used band give
  /// non-finite outputs (callers flag those galaxies).
  std::vector<double> make(const double* flux_nmgy, const double* sigma_nmgy, double z,
                           const std::uint8_t* present = nullptr) const;
  std::vector<double> make(const std::vector<double>& flux_nmgy, const std::vector<double>& sigma_nmgy,
                           double z) const;  ///< throws DataError on size mismatch
  /// Batch: flux, sigma [n, B], z [n], present [n, B] (null = all) -> x [n, dim()].
  void make_batch(const double* flux_nmgy, const double* sigma_nmgy, const double* z, std::size_t n,
                  double* x, const std::uint8_t* present = nullptr) const;
  /// Inverse of the magnitude part: flux [nmgy] of an asinh magnitude in band `b`.
  double flux_of(std::size_t band, double asinh_mag) const;
  /// Inverse of make(): fluxes and errors [B] in nanomaggies and the redshift of x [dim()]
  /// (sigma from the first-order magnitude error, exact for vectors make() wrote; z NaN without
  /// a z entry). A band whose
  /// present flag is 0 gets flux NaN and sigma +inf (the catalogs' "not measured").
  void photometry_of(const double* x, double* flux_nmgy, double* sigma_nmgy, double* z) const;

 private:
  std::vector<std::string> bands_;
  std::vector<double> b_;
  bool masks_ = false;
  bool with_z_ = true;
};

/// Bit b set for each present[b] != 0 ([n_bands] <= 32): the `bands_used` bitmask of training
/// sets and posterior catalogs.
std::uint32_t band_bits(const std::uint8_t* present, std::size_t n_bands);

/// Convenience with SDSS ugriz defaults: x [11] = (asinh mags, errors, z).
std::vector<double> make_conditioning(const std::vector<double>& flux_nmgy,
                                      const std::vector<double>& sigma_nmgy, double z);
/// Names of make_conditioning's entries for `bands`.
std::vector<std::string> conditioning_names(const std::vector<std::string>& bands = {"u", "g", "r", "i", "z"});

}  // namespace sedpost::noise
