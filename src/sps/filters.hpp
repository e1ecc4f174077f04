#pragma once
/// Filter transmission curves and photon-counting AB band integrals.
///
/// Band naming scheme (used in configs and outputs):
///   "sedpy:NAME"     -> <data>/filters/sedpy/NAME.par      (e.g. "sedpy:sdss_u0")
///   "speclite:NAME"  -> <data>/filters/speclite/NAME.ecsv  (e.g. "speclite:sdss2010-u")
///   "NAME"           -> speclite/NAME.ecsv if it exists, else sedpy/NAME.par
///   a path ending in ".par" or ".ecsv" (absolute or relative to the working directory)
#include <algorithm>
#include <cmath>
#include <cstddef>
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
/// Throws DataError if the filter is not inside [wave_obs[0], wave_obs[n-1]]. The one
/// implementation is RedshiftedBand's (this is RedshiftedBand(filter, wave_obs).weights(0)).
BandWeights band_weights(const Filter& filter, const double* wave_obs, int n);

/// Band weights of one filter for a fixed rest-frame grid observed at any redshift (observed
/// nodes x_j = rest_wave[j] * (1 + z)): the trapezoid on the union of the filter's nodes and the
/// observed nodes inside the filter, as BandWeights describes. Everything that does not depend
/// on z (the filter's R x, R c / x, segment slopes; c / lam and 1 / spacing of the rest nodes; a
/// bucket table locating a wavelength on the rest grid) is precomputed; per z the work is one
/// pass over the filter nodes and one branch-free pass over the observed nodes inside the band
/// (each union point's trapezoid weight is (next - previous union point) / 2, both neighbours
/// found from the two sorted lists without merging them). Ties between a filter node and an
/// observed node count as two union points at the same place (zero-width interval), which is
/// the same sum. The simulator's path: allocation-free once `out` and the per-thread scratch
/// have grown; const methods are thread-safe.
class RedshiftedBand {
 public:
  RedshiftedBand() = default;
  /// `rest_wave` [n] strictly ascending [A]. Throws DataError for fewer than 2 nodes.
  RedshiftedBand(const Filter& filter, const std::vector<double>& rest_wave);
  /// Weights for observed nodes rest_wave * (1 + z) (z > -1). Throws DataError when the filter
  /// is not inside the observed grid. Allocation-free once `out` has grown.
  void weights(double z, BandWeights& out) const;

 private:
  std::string name_;
  int nf_ = 0, n_ = 0;                 // filter nodes, rest nodes
  std::vector<double> fpad_;           // [nf + 2] filter nodes [A]: F_0, F_0..F_{nf-1}, F_{nf-1}
  std::vector<double> fr_, slope_;     // [nf] response; [nf - 1] dR/dlam per segment [1/A]
  std::vector<double> fg_, fd_;        // [nf] R x [A] and R c / x [1/s] at the filter nodes
  std::vector<double> rpad_;           // [n + 1] rest nodes [A], node 0 repeated in front
  std::vector<double> inv_rs_;         // [n - 1] 1 / rest spacing [1/A]
  std::vector<double> c_over_rest_;    // [n] c / lam_rest [1/s]
  double r_lo_ = 0, r_inv_bucket_ = 0; // rest-grid bucket table: start [A], 1 / width [1/A]
  std::vector<int> r_bucket_;          // [n_buckets] last rest node <= bucket start, <= n - 2
  bool table_exact_ = false;           // buckets <= half the smallest rest spacing
};

/// RedshiftedBand::weights tabulated at nodes uniform in u = ln(1 + z) over [0, ln(1 + z_max)]
/// and interpolated linearly in u between the two nodes around z: every rest node's weight (zero
/// where a table node's range does not reach it) and the denominator. Per z the work is one pass
/// over the band's rest nodes (tens) instead of one over the filter's nodes (thousands for the
/// speclite LSST curves). Not exact: the free-redshift likelihood's path (sps::FreeZModel); the
/// flux error at the default spacing is measured by tests/sps/free_z_model_test.cpp and stated
/// in docs/photo-z.md. Const methods are thread-safe.
class TabulatedBand {
 public:
  TabulatedBand() = default;
  /// Tabulates `band` at z = 0 .. z_max with node spacing at most `spacing` in ln(1 + z)
  /// (z_max > 0, spacing > 0). Throws DataError as RedshiftedBand::weights does when the band
  /// leaves the rest grid somewhere in [0, z_max].
  TabulatedBand(const RedshiftedBand& band, double z_max, double spacing);
  /// Interpolated weights at z (clamped to [0, z_max]). Allocation-free once `out` has grown.
  void weights(double z, BandWeights& out) const { weights_at(coordinate(z), out); }
  /// The same at u = coordinate(z), for callers that evaluate several bands at one z.
  void weights_at(double u, BandWeights& out) const;
  /// The table coordinate u = ln(1 + z) (z < 0 read as 0).
  static double coordinate(double z) { return std::log1p(std::max(z, 0.0)); }
  /// Table nodes (z = 0 and z_max included).
  int num_nodes() const { return n_; }
  /// Bytes the table holds.
  std::size_t memory_bytes() const {
    return w_.size() * sizeof(float) + den_.size() * sizeof(double) + offset_.size() * sizeof(std::size_t) +
           (first_.size() + size_.size()) * sizeof(int);
  }

 private:
  int n_ = 0;                          // nodes u_i = i * du, i = 0 .. n - 1
  double inv_du_ = 0;                  // 1 / du
  std::vector<int> first_, size_;      // [n] first rest node and number of weights of node i
  std::vector<std::size_t> offset_;    // [n] node i's weights start in w_
  std::vector<float> w_;               // concatenated weights [A^2], float as the model's band
                                       // matrix (half the memory, the cache a random z touches)
  std::vector<double> den_;            // [n] denominators [A/s]
};

}  // namespace sedpost::sps
