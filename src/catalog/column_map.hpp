#pragma once
/// Which columns of an input catalog hold the IDs, fluxes, errors and redshifts, and their
/// units (config table `[catalog]`; docs/catalogs.md).
///
/// Fluxes and errors are either one vector column (`flux = "NMGY"`, with `flux_elements` the
/// 0-based elements of the bands, in the model's band order) or one column per band
/// (`flux = ["mag_u", "mag_g", ...]`). Keys absent from the config take the preset of the
/// catalog's format:
///   fits: NSA  (id NSAID, flux NMGY[2..6], error NMGY_IVAR[2..6] ivar, nmgy, redshift Z)
///   hdf5: `sedpost simulate` output (id `id` if present, flux_obs, sigma, nmgy, z)
///   csv : no flux preset (the map must name the columns); id "" (row number).
#include <string>
#include <vector>

#include "catalog/units.hpp"

namespace sedpost {
class Config;
}

namespace sedpost::catalog {

enum class CatalogFormat { kFits, kHdf5, kCsv };

/// Format from the file name (.fits/.fit/.fits.gz, .h5/.hdf5/.he5, .csv). Throws ConfigError.
CatalogFormat format_from_path(const std::string& path);
std::string to_string(CatalogFormat f);

struct ColumnMap {
  CatalogFormat format = CatalogFormat::kFits;
  std::string id;                      ///< ID column; "" = use the 0-based row number
  std::vector<std::string> flux;       ///< one vector column, or one column per band
  std::vector<int> flux_elements;      ///< elements of a vector flux column (empty: all)
  std::vector<std::string> error;      ///< same layout as flux
  std::vector<int> error_elements;
  ErrorKind error_kind = ErrorKind::kInverseVariance;
  FluxUnit flux_unit = FluxUnit::kNanomaggies;
  std::string redshift = "Z";  ///< "" = none (only for models that infer z)
  int hdu = 0;                         ///< FITS: 1-based HDU of the table, 0 = first table

  /// The preset for `format` (see above).
  static ColumnMap preset(CatalogFormat format);
  /// Preset for the format of `path` (or `[table] format` when set), overridden by the keys of
  /// `[table]`: format, id, flux, flux_elements, error, error_elements, error_kind,
  /// flux_unit, redshift, hdu. Throws ConfigError naming the key.
  static ColumnMap from_config(const Config& config, const std::string& path,
                               const std::string& table = "catalog");
  /// Checks the map against `n_bands`: flux/error give n_bands values per row. Throws
  /// ConfigError naming the key.
  void validate(int n_bands) const;
  /// True when `columns` is one vector column holding all `n_bands` bands.
  static bool is_vector(const std::vector<std::string>& columns, const std::vector<int>& elements, int n_bands) {
    return columns.size() == 1 && (n_bands > 1 || !elements.empty());
  }
  /// One-line description for logs ("flux NMGY[2,3,4,5,6] nmgy, error NMGY_IVAR[...] ivar, z Z").
  std::string describe() const;
};

}  // namespace sedpost::catalog
