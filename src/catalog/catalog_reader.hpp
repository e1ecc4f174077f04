#pragma once
/// Streaming readers of input catalogs (FITS via CFITSIO, HDF5, CSV) that return photometry in
/// nanomaggies, by row range, so memory does not grow with the catalog.
///
/// Every reader is opened by every rank on its own (serial reads of the rows it claims). The
/// constructor checks that the mapped columns exist and have the right shape, and throws
/// DataError naming the file and the column otherwise; per-row problems (NaN, negative inverse
/// variance, an unparsable CSV cell) are not errors: they reach the caller as NaN values and a
/// row note, and the galaxy gets a flag.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "catalog/column_map.hpp"

namespace sedpost::catalog {

/// Rows [first, first + n) of a catalog.
struct CatalogChunk {
  std::uint64_t first = 0;
  std::uint64_t n = 0;
  std::vector<std::int64_t> id;       ///< [n] integer IDs (when id_is_string() is false)
  std::vector<std::string> id_text;   ///< [n] string IDs (when id_is_string() is true)
  std::vector<double> flux;           ///< [n, bands] nanomaggies (NaN: missing/invalid)
  std::vector<double> sigma;          ///< [n, bands] nanomaggies (+inf: not measured; NaN: invalid)
  std::vector<double> z;              ///< [n]
  std::vector<std::string> note;      ///< [n] "" or why a row could not be read as given
  std::vector<double> truth;          ///< [n, 12] physical theta (simulated catalogs only), else empty
  std::vector<float> spectrum;        ///< [n, P] normalised spectra when the catalog has /spectrum, else empty
};

/// Rows [begin, end) of a catalog selected by a "--rows" spec.
struct RowSelection {
  std::uint64_t begin = 0, end = 0;
  std::uint64_t count() const { return end - begin; }
};
/// Parses "a:b", "a:", ":b" or "a" (one row) against `n_total` rows; "" = all rows. Throws
/// ConfigError naming the spec for a malformed or empty range or one past the last row.
RowSelection select_rows(const std::string& spec, std::uint64_t n_total);

class CatalogReader {
 public:
  virtual ~CatalogReader() = default;
  /// Opens `path` with `map` for `n_bands` bands. Throws ConfigError (bad map), DataError
  /// (missing file, missing column, wrong shape), naming the file and column.
  static std::unique_ptr<CatalogReader> open(const std::string& path, const ColumnMap& map, int n_bands);

  virtual std::uint64_t num_rows() const = 0;
  /// Reads rows [first, first + n); throws DataError when out of range.
  virtual CatalogChunk read(std::uint64_t first, std::uint64_t n) const = 0;
  /// True when the catalog has string IDs (then id_width() is their maximum length).
  virtual bool id_is_string() const { return false; }
  virtual std::uint64_t id_width() const { return 0; }
  /// True when read() fills CatalogChunk::truth.
  virtual bool has_truth() const { return false; }
  /// Observed-frame wavelengths [P] in Angstrom of the spectra read() returns in
  /// CatalogChunk::spectrum (HDF5 catalogs with /spectrum and /spectrum_wavelength); empty when
  /// the catalog has no spectra (always for FITS and CSV).
  virtual const std::vector<double>& spectrum_wavelength() const { return no_wavelength_; }
  /// P, the pixels per spectrum (0 without spectra).
  int num_pixels() const { return static_cast<int>(spectrum_wavelength().size()); }

  const std::string& path() const { return path_; }
  const ColumnMap& map() const { return map_; }
  int num_bands() const { return n_bands_; }

 protected:
  CatalogReader(std::string path, ColumnMap map, int n_bands)
      : path_(std::move(path)), map_(std::move(map)), n_bands_(n_bands) {}
  /// Converts raw values/errors [n, bands] in the map's units to nanomaggies in `c`.
  void convert(const std::vector<double>& value, const std::vector<double>& error, CatalogChunk& c) const;

  std::string path_;
  ColumnMap map_;
  int n_bands_;

 private:
  static inline const std::vector<double> no_wavelength_{};
};

}  // namespace sedpost::catalog
