#pragma once
/// Filter transmission curves and photon-counting AB band integrals.
///
/// Band naming scheme (used in configs and outputs):
///   "sedpy:NAME"     -> <data>/filters/sedpy/NAME.par      (e.g. "sedpy:sdss_u0")
///   "speclite:NAME"  -> <data>/filters/speclite/NAME.ecsv  (e.g. "speclite:sdss2010-u")
///   "NAME"           -> speclite/NAME.ecsv if it exists, else sedpy/NAME.par
///   a path ending in ".par" or ".ecsv" (absolute or relative to the working directory)
#include <string>
#include <vector>

namespace sedpost::sps {

/// Speed of light [A/s].
inline constexpr double kSpeedOfLightAngstrom = 2.99792458e18;
/// AB zero point [erg/s/cm^2/Hz] (3631 Jy).
inline constexpr double kAbZeroPoint = 3631e-23;

/// A photon-counting response curve.
struct Filter {
  std::string name;                ///< the name it was requested by
  std::string path;                ///< the file it was read from
  std::vector<double> wavelength;  ///< [n] observed-frame wavelength [A], ascending
  std::vector<double> response;    ///< [n] photon-counting response (dimensionless)
  /// Wavelength range [A] of the support (first/last node bounding non-zero response).
  double min_wavelength() const { return wavelength.front(); }
  double max_wavelength() const { return wavelength.back(); }
};

/// Reads a sedpy `.par` file (2 columns: wavelength [A], response; '#' comments). Throws DataError.
Filter read_sedpy_par(const std::string& path);
/// Reads a speclite `.ecsv` file; the wavelength unit (Angstrom, nm, micron/um) is read from the
/// file's header and converted to A. Throws DataError naming the file when the unit is missing.
Filter read_speclite_ecsv(const std::string& path);
/// Resolves a band name (scheme above) under `data_dir` and reads it. Zero-response nodes at
/// both ends are trimmed to the one bounding node. Throws DataError if not found or malformed.
Filter load_filter(const std::string& data_dir, const std::string& band_name);
/// Loads a list of bands in order.
std::vector<Filter> load_filters(const std::string& data_dir, const std::vector<std::string>& band_names);

/// Linear map from a sampled f_lambda to a photon-counting AB flux density:
///   f_nu = sum_j weights[j] * f_lambda[first + j] / denominator   [erg/s/cm^2/Hz]
/// i.e. int f_lambda R lam dlam / int (c / lam) R dlam, both by the trapezoid on the union of
/// the filter's nodes and the spectrum nodes inside the filter (both interpolated linearly).
struct BandWeights {
  int first = 0;                 ///< first spectrum node used
  std::vector<double> weights;   ///< [n_used] numerator weights [A^2] (lam * R * dlam)
  double denominator = 0.0;      ///< int (c / lam) R dlam [A/s]
};

/// Builds BandWeights for a spectrum sampled at `wave_obs` [n] (observed frame [A], ascending).
/// Throws DataError if the filter is not inside [wave_obs[0], wave_obs[n-1]].
BandWeights band_weights(const Filter& filter, const double* wave_obs, int n);

/// Same, allocation-free for repeated use: `inv_filter_spacing` [n_filter - 1] = 1 / (lam_{i+1} - lam_i)
/// of the filter, `inv_spacing` [n - 1] of the spectrum nodes, multiplied by `inv_spacing_scale`
/// (pass rest-frame inverses and 1 / (1 + z) for an observed grid lam_rest (1 + z)).
void band_weights_into(const Filter& filter, const double* inv_filter_spacing, const double* wave_obs,
                       const double* inv_spacing, double inv_spacing_scale, int n, BandWeights& out);

/// band_weights_into() for one filter on a fixed rest-frame grid observed at any redshift
/// (observed nodes rest_wave * (1 + z)): the same merge of the two grids, point by point, with
/// the z-independent parts (R x and R c / x at the filter nodes, c / lam at the spectrum nodes)
/// precomputed and no observed-grid array to fill. The weights equal band_weights_into()'s
/// (bitwise in tests/sps/flux_bounds_test.cpp's sweep, 1e-15 at most). The simulator's path.
class RedshiftedBand {
 public:
  RedshiftedBand() = default;
  /// `rest_wave` [n] ascending [A]. Throws DataError for fewer than 2 nodes.
  RedshiftedBand(const Filter& filter, const std::vector<double>& rest_wave);
  /// Weights for observed nodes rest_wave * (1 + z). Throws DataError (as band_weights_into)
  /// when the filter is not inside the observed grid. Allocation-free once `out` has grown.
  void weights(double z, BandWeights& out) const;

 private:
  std::string name_;
  std::vector<double> fw_, fr_, inv_fs_;      // filter nodes [A], response, 1 / spacing
  std::vector<double> fg_, fd_;               // R x and R c / x at the filter nodes
  std::vector<double> rest_, inv_rs_, c_over_rest_;  // spectrum nodes [A], 1 / spacing, c / lam
  double r_lo_ = 0, r_inv_bucket_ = 0;        // rest-grid bucket table
  std::vector<int> r_bucket_;                 // last rest node <= bucket start
};

}  // namespace sedpost::sps
