#pragma once
/// Photometry of NSA-style FITS catalogs (data/README.md, catalogs/nsa): the vector columns
/// NMGY [nanomaggies, Galactic-extinction corrected] and NMGY_IVAR [nmgy^-2], elements 2..6 =
/// SDSS ugriz (0, 1 are GALEX FUV, NUV), and the redshift column Z. This is what the noise
/// model is fitted on; the catalog readers may reuse it.
#include <cstddef>
#include <string>
#include <vector>

namespace sedpost::noise {

/// Which columns and elements to read. Defaults are the NSA's (what SEDflow read).
struct NsaColumns {
  std::string flux = "NMGY";
  std::string ivar = "NMGY_IVAR";
  std::string redshift = "Z";
  long first_element = 2;  ///< 0-based element of the first band in the vector columns
  std::vector<std::string> bands = {"u", "g", "r", "i", "z"};
};

/// Fluxes of one or more catalogs, row-major [n_rows, bands].
struct CatalogPhotometry {
  std::vector<std::string> sources;  ///< file paths read, in order
  std::vector<std::string> bands;
  std::size_t n_rows = 0;
  std::vector<double> flux_nmgy;  ///< [n_rows, bands], nanomaggies
  std::vector<double> ivar;       ///< [n_rows, bands], nmgy^-2
  std::vector<double> z;          ///< [n_rows]

  /// 1/sqrt(ivar) [n_rows, bands] in nmgy: +inf where ivar <= 0 (no measurement), NaN where
  /// ivar is NaN.
  std::vector<double> sigma_nmgy() const;
};

/// 1/sqrt(ivar) per element, +inf for ivar <= 0, NaN for NaN.
std::vector<double> sigma_from_ivar(const std::vector<double>& ivar);

/// Reads one NSA-style FITS table. Throws DataError naming the file and column when the file,
/// a column or the requested elements are missing.
CatalogPhotometry read_nsa_photometry(const std::string& path, const NsaColumns& columns = NsaColumns{});
/// Reads several files with the same columns and concatenates their rows in order.
CatalogPhotometry read_nsa_photometry(const std::vector<std::string>& paths,
                                      const NsaColumns& columns = NsaColumns{});

}  // namespace sedpost::noise
