#pragma once
/// Simple-stellar-population (SSP) libraries: L_lambda per M_sun formed on a (Z, age, wavelength)
/// grid, plus the surviving stellar mass fraction. Library floats are promoted to double on read.
#include <Eigen/Core>
#include <string>
#include <vector>

namespace sedpost::sps {

/// Row-major dense matrix (rows = ages, columns = wavelengths).
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// One metallicity of an SSP library.
struct SspSlice {
  double metallicity = 0.0;            ///< absolute Z (mass fraction)
  std::vector<double> ages;            ///< [n_age] yr, ascending (BC03: first = 0)
  RowMatrix luminosity;                ///< [n_age, n_wave] L_lambda [L_sun/A per M_sun formed]
  std::vector<double> surviving;       ///< [n_age] living + remnant mass per M_sun formed (NaN if unknown)
  std::string source;                  ///< file the slice was read from
};

/// An SSP library: common rest-frame wavelength grid, slices in ascending Z.
struct SspLibrary {
  std::string name;                    ///< "bc03" or "maraston2005" plus the directory
  std::vector<double> wavelength;      ///< [n_wave] rest-frame wavelength [A], ascending
  std::vector<SspSlice> slices;        ///< [n_z], ascending metallicity
  double lsun_erg_s = 3.826e33;        ///< the L_sun [erg/s] the library's L_lambda is quoted in

  /// Grid metallicities [n_z] (absolute Z).
  std::vector<double> metallicities() const;
  /// Throws DataError if shapes are inconsistent or Z/age/wavelength grids are not ascending.
  void validate() const;
};

/// Reads one BC03 `.ised` file (Fortran unformatted, little-endian; layout in data/README.md):
/// ages [yr], wavelengths [A], L_lambda [L_sun/A per M_sun formed] and surviving = record [1]+[9].
/// `metallicity` is stored as the slice Z. Throws DataError naming the file on any problem.
SspSlice read_bc03_ised(const std::string& path, double metallicity, std::vector<double>* wavelength);

/// Reads the seven BC03 BaSeL Chabrier files bc2003_lr_BaSeL_m{22..82}_chab_ssp.ised in `dir`
/// (Z = 1e-4, 4e-4, 4e-3, 8e-3, 0.02, 0.05, 0.1); L_sun = 3.826e33 erg/s. Throws DataError.
SspLibrary read_bc03_library(const std::string& dir);

/// Reads the Maraston (2005) ASCII SSPs sed.krz{10m4,0001,001,002,004,007}.rhb in `dir`
/// (Z = 1e-4, 1e-3, 0.01, 0.02, 0.04, 0.07). L_lambda is converted from erg/s/A to L_sun/A with
/// L_sun = 3.826e33. Surviving mass (M*_T) from `stellarmass.kroupa` when present, interpolated
/// linearly in age (clamped), else NaN. Throws DataError.
SspLibrary read_maraston_library(const std::string& dir);

/// Reads a library by kind: "bc03" or "maraston2005" (throws ConfigError for other kinds).
SspLibrary read_ssp_library(const std::string& kind, const std::string& dir);

}  // namespace sedpost::sps
