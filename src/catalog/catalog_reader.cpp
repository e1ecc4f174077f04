#include "catalog/catalog_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

#include <fitsio.h>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "io/h5_file.hpp"
#include "noise/fits_table.hpp"

namespace sedpost::catalog {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kNumPhysical = 12;

void check_range(const std::string& path, std::uint64_t first, std::uint64_t n, std::uint64_t total) {
  if (first + n > total || first + n < first)
    throw DataError(cat(path, ": rows [", first, ", ", first + n, ") requested but the catalog has ", total, " rows"));
}

/// Picks `elements` (or all, when empty) of each row of a [n, width] array into [n, bands].
std::vector<double> pick(const std::vector<double>& all, std::uint64_t n, std::int64_t width,
                         const std::vector<int>& elements, int bands) {
  std::vector<double> out(n * static_cast<std::uint64_t>(bands));
  for (std::uint64_t r = 0; r < n; ++r)
    for (int b = 0; b < bands; ++b) {
      const std::int64_t e = elements.empty() ? b : elements[static_cast<std::size_t>(b)];
      out[r * static_cast<std::uint64_t>(bands) + static_cast<std::uint64_t>(b)] =
          all[r * static_cast<std::uint64_t>(width) + static_cast<std::uint64_t>(e)];
    }
  return out;
}

// ---------------------------------------------------------------------------- FITS

class FitsReader final : public CatalogReader {
 public:
  FitsReader(const std::string& path, const ColumnMap& map, int n_bands)
      : CatalogReader(path, map, n_bands), table_(path, map.hdu) {
    check_columns(map_.flux, map_.flux_elements, "flux");
    check_columns(map_.error, map_.error_elements, "error");
    if (!map_.redshift.empty()) table_.column_width(map_.redshift);  // throws naming the column when absent
    if (!map_.id.empty()) {
      if (!table_.has_column(map_.id)) {
        table_.column_width(map_.id);  // throws with the list of columns
      }
      id_string_ = table_.column_type(map_.id) == TSTRING;
      if (id_string_) id_width_ = static_cast<std::uint64_t>(table_.column_width(map_.id));
    }
  }
  std::uint64_t num_rows() const override { return static_cast<std::uint64_t>(table_.num_rows()); }
  bool id_is_string() const override { return id_string_; }
  std::uint64_t id_width() const override { return id_width_; }

  CatalogChunk read(std::uint64_t first, std::uint64_t n) const override {
    check_range(path_, first, n, num_rows());
    CatalogChunk c;
    c.first = first;
    c.n = n;
    const noise::RowRange rows{static_cast<std::int64_t>(first), static_cast<std::int64_t>(n)};
    convert(read_bands(map_.flux, map_.flux_elements, rows), read_bands(map_.error, map_.error_elements, rows), c);
    c.z = map_.redshift.empty() ? std::vector<double>(n, kNaN) : table_.read_double(map_.redshift, rows);
    if (map_.id.empty()) {
      c.id.resize(n);
      for (std::uint64_t i = 0; i < n; ++i) c.id[i] = static_cast<std::int64_t>(first + i);
    } else if (id_string_) {
      c.id_text = table_.read_string(map_.id, rows);
    } else {
      c.id = table_.read_int64(map_.id, rows);
    }
    return c;
  }

 private:
  void check_columns(const std::vector<std::string>& cols, const std::vector<int>& elements, const char* key) const {
    if (ColumnMap::is_vector(cols, elements, n_bands_)) {
      const std::int64_t width = table_.column_width(cols[0]);
      const int need = elements.empty() ? n_bands_ : *std::max_element(elements.begin(), elements.end()) + 1;
      if (elements.empty() && width != n_bands_)
        throw DataError(cat(path_, ": column ", cols[0], " ([catalog] ", key, ") has ", width,
                            " elements per row but the model has ", n_bands_, " bands; set ", key, "_elements"));
      if (width < need)
        throw DataError(cat(path_, ": column ", cols[0], " ([catalog] ", key, ") has ", width,
                            " elements per row; element ", need - 1, " requested"));
    } else {
      for (const auto& col : cols) {
        if (table_.column_width(col) != 1)
          throw DataError(cat(path_, ": column ", col, " ([catalog] ", key, ") is not a scalar column"));
      }
    }
  }
  std::vector<double> read_bands(const std::vector<std::string>& cols, const std::vector<int>& elements,
                                 noise::RowRange rows) const {
    const auto n = static_cast<std::uint64_t>(rows.count);
    if (ColumnMap::is_vector(cols, elements, n_bands_)) {
      std::int64_t width = 0;
      const std::vector<double> all = table_.read_double_vector(cols[0], &width, rows);
      return pick(all, n, width, elements, n_bands_);
    }
    std::vector<double> out(n * static_cast<std::uint64_t>(n_bands_));
    for (int b = 0; b < n_bands_; ++b) {
      const std::vector<double> v = table_.read_double(cols[static_cast<std::size_t>(b)], rows);
      for (std::uint64_t r = 0; r < n; ++r) out[r * static_cast<std::uint64_t>(n_bands_) + static_cast<std::uint64_t>(b)] = v[r];
    }
    return out;
  }

  noise::FitsTable table_;
  bool id_string_ = false;
  std::uint64_t id_width_ = 0;
};

// ---------------------------------------------------------------------------- HDF5

class Hdf5Reader final : public CatalogReader {
 public:
  Hdf5Reader(const std::string& path, const ColumnMap& map, int n_bands)
      : CatalogReader(path, map, n_bands), file_(io::H5File::open_read(path)) {
    // Rows: the redshift's length, or without one (z inferred) the first flux dataset's.
    const std::string rows_from = map_.redshift.empty() ? map_.flux.at(0) : map_.redshift;
    if (!file_.has(rows_from) || file_.shape(rows_from).empty() ||
        (!map_.redshift.empty() && file_.shape(rows_from).size() != 1))
      throw DataError(cat(path_, ": dataset /", rows_from, map_.redshift.empty() ? " ([catalog] flux) missing"
                                                                                : " ([catalog] redshift) missing or not 1-D [N]"));
    n_rows_ = file_.shape(rows_from)[0];
    widths_flux_ = check_columns(map_.flux, map_.flux_elements, "flux");
    widths_error_ = check_columns(map_.error, map_.error_elements, "error");
    if (!map_.id.empty() && file_.has(map_.id)) {
      if (file_.shape(map_.id) != std::vector<std::uint64_t>{n_rows_})
        throw DataError(cat(path_, ": dataset /", map_.id, " ([catalog] id) must be [", n_rows_, "]"));
      has_id_ = true;
    } else if (!map_.id.empty() && map_.id != ColumnMap::preset(CatalogFormat::kHdf5).id) {
      throw DataError(cat(path_, ": dataset /", map_.id, " ([catalog] id) is missing"));
    }
    has_truth_ = file_.has("theta_physical") &&
                 file_.shape("theta_physical") == std::vector<std::uint64_t>{n_rows_, kNumPhysical};
    if (file_.has("spectrum")) read_wavelength();
  }
  std::uint64_t num_rows() const override { return n_rows_; }
  bool has_truth() const override { return has_truth_; }
  const std::vector<double>& spectrum_wavelength() const override { return wavelength_; }

  CatalogChunk read(std::uint64_t first, std::uint64_t n) const override {
    check_range(path_, first, n, n_rows_);
    CatalogChunk c;
    c.first = first;
    c.n = n;
    convert(read_bands(map_.flux, map_.flux_elements, widths_flux_, first, n),
            read_bands(map_.error, map_.error_elements, widths_error_, first, n), c);
    c.z.assign(n, kNaN);
    if (n && !map_.redshift.empty()) file_.read_rows(map_.redshift, first, n, c.z.data());
    c.id.resize(n);
    if (has_id_ && n) {
      file_.read_rows(map_.id, first, n, c.id.data());
    } else {
      for (std::uint64_t i = 0; i < n; ++i) c.id[i] = static_cast<std::int64_t>(first + i);
    }
    if (has_truth_) {
      c.truth.resize(n * kNumPhysical);
      if (n) file_.read_rows("theta_physical", first, n, c.truth.data());
    }
    if (!wavelength_.empty()) {
      c.spectrum.resize(n * wavelength_.size());
      if (n) file_.read_rows("spectrum", first, n, c.spectrum.data());
    }
    return c;
  }

 private:
  /// Checks /spectrum [N, P] against /spectrum_wavelength [P] and keeps the wavelengths.
  void read_wavelength() {
    const auto s = file_.shape("spectrum");
    if (s.size() != 2 || s[0] != n_rows_ || s[1] == 0)
      throw DataError(cat(path_, ": dataset /spectrum must be [", n_rows_, ", P] (rows x pixels)"));
    if (!file_.has("spectrum_wavelength"))
      throw DataError(cat(path_, ": dataset /spectrum_wavelength is missing (the catalog has /spectrum)"));
    if (file_.shape("spectrum_wavelength") != std::vector<std::uint64_t>{s[1]})
      throw DataError(cat(path_, ": dataset /spectrum_wavelength must be [", s[1], "], one per /spectrum pixel"));
    wavelength_ = file_.read_all_double("spectrum_wavelength");
  }

  /// Checks shapes; returns the width of a vector dataset (0 for per-band datasets).
  std::uint64_t check_columns(const std::vector<std::string>& cols, const std::vector<int>& elements,
                              const char* key) const {
    for (const auto& col : cols)
      if (!file_.has(col)) throw DataError(cat(path_, ": dataset /", col, " ([catalog] ", key, ") is missing"));
    if (ColumnMap::is_vector(cols, elements, n_bands_)) {
      const auto s = file_.shape(cols[0]);
      const std::uint64_t need =
          elements.empty() ? static_cast<std::uint64_t>(n_bands_)
                           : static_cast<std::uint64_t>(*std::max_element(elements.begin(), elements.end()) + 1);
      if (s.size() != 2 || s[0] != n_rows_ || s[1] < need || (elements.empty() && s[1] != need))
        throw DataError(cat(path_, ": dataset /", cols[0], " ([catalog] ", key, ") must be [", n_rows_, ", ",
                            need, "] (rows x bands)"));
      return s[1];
    }
    for (const auto& col : cols)
      if (file_.shape(col) != std::vector<std::uint64_t>{n_rows_})
        throw DataError(cat(path_, ": dataset /", col, " ([catalog] ", key, ") must be [", n_rows_, "]"));
    return 0;
  }
  std::vector<double> read_bands(const std::vector<std::string>& cols, const std::vector<int>& elements,
                                 std::uint64_t width, std::uint64_t first, std::uint64_t n) const {
    if (width > 0) {
      std::vector<double> all(n * width);
      if (n) file_.read_rows(cols[0], first, n, all.data());
      return pick(all, n, static_cast<std::int64_t>(width), elements, n_bands_);
    }
    std::vector<double> out(n * static_cast<std::uint64_t>(n_bands_)), v(n);
    for (int b = 0; b < n_bands_; ++b) {
      if (n) file_.read_rows(cols[static_cast<std::size_t>(b)], first, n, v.data());
      for (std::uint64_t r = 0; r < n; ++r) out[r * static_cast<std::uint64_t>(n_bands_) + static_cast<std::uint64_t>(b)] = v[r];
    }
    return out;
  }

  io::H5File file_;
  std::uint64_t n_rows_ = 0;
  std::uint64_t widths_flux_ = 0, widths_error_ = 0;
  bool has_id_ = false;
  bool has_truth_ = false;
  std::vector<double> wavelength_;  ///< [P] Angstrom; empty without /spectrum
};

// ---------------------------------------------------------------------------- CSV

/// Splits one CSV line on commas (no quoted fields with commas: catalogs of numbers).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : line) {
    if (ch == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  out.push_back(cur);
  for (auto& f : out) {
    const auto b = f.find_first_not_of(" \t\"");
    const auto e = f.find_last_not_of(" \t\"");
    f = b == std::string::npos ? std::string() : f.substr(b, e - b + 1);
  }
  return out;
}

/// Parses a number; empty, "nan", "null" -> NaN with ok = true; garbage -> ok = false.
double parse_number(const std::string& s, bool* ok) {
  *ok = true;
  if (s.empty() || s == "nan" || s == "NaN" || s == "NAN" || s == "null" || s == "NULL") return kNaN;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') {
    *ok = false;
    return kNaN;
  }
  return v;
}

class CsvReader final : public CatalogReader {
 public:
  static constexpr std::uint64_t kIndexStride = 1024;  ///< rows between stored byte offsets

  CsvReader(const std::string& path, const ColumnMap& map, int n_bands) : CatalogReader(path, map, n_bands) {
    if (ColumnMap::is_vector(map_.flux, map_.flux_elements, n_bands_) ||
        ColumnMap::is_vector(map_.error, map_.error_elements, n_bands_))
      throw ConfigError(cat(path_, ": a CSV catalog needs one [catalog] flux and one error column per band"));
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw DataError(cat(path_, ": cannot open the CSV catalog"));
    std::string line;
    if (!std::getline(in, line)) throw DataError(cat(path_, ": empty CSV file (no header line)"));
    header_ = split_csv(line);
    auto column = [&](const std::string& name, const char* key) {
      for (std::size_t i = 0; i < header_.size(); ++i)
        if (header_[i] == name) return static_cast<int>(i);
      std::string avail;
      for (std::size_t i = 0; i < header_.size() && i < 20; ++i) avail += (i ? ", " : "") + header_[i];
      throw DataError(cat(path_, ": no column '", name, "' ([catalog] ", key, ") in the header (columns: ", avail, ")"));
    };
    for (const auto& c : map_.flux) flux_col_.push_back(column(c, "flux"));
    for (const auto& c : map_.error) error_col_.push_back(column(c, "error"));
    z_col_ = map_.redshift.empty() ? -1 : column(map_.redshift, "redshift");
    id_col_ = map_.id.empty() ? -1 : column(map_.id, "id");
    // One pass: row count, a byte offset every kIndexStride rows, and the ID type.
    std::streamoff offset = in.tellg();
    while (std::getline(in, line)) {
      if (line.empty() || line == "\r") {
        offset = in.tellg();
        continue;
      }
      if (n_rows_ % kIndexStride == 0) index_.push_back(offset);
      if (id_col_ >= 0) {
        const auto fields = split_csv(line);
        if (static_cast<std::size_t>(id_col_) < fields.size()) {
          const std::string& f = fields[static_cast<std::size_t>(id_col_)];
          id_width_ = std::max<std::uint64_t>(id_width_, f.size());
          char* end = nullptr;
          std::strtoll(f.c_str(), &end, 10);
          if (f.empty() || *end != '\0') id_string_ = true;
        }
      }
      ++n_rows_;
      offset = in.tellg();
    }
  }
  std::uint64_t num_rows() const override { return n_rows_; }
  bool id_is_string() const override { return id_string_; }
  std::uint64_t id_width() const override { return std::max<std::uint64_t>(id_width_, 1); }

  CatalogChunk read(std::uint64_t first, std::uint64_t n) const override {
    check_range(path_, first, n, n_rows_);
    CatalogChunk c;
    c.first = first;
    c.n = n;
    c.z.assign(n, kNaN);
    c.note.assign(n, "");
    if (id_string_) c.id_text.assign(n, "");
    else c.id.assign(n, 0);
    const auto nb = static_cast<std::uint64_t>(n_bands_);
    std::vector<double> value(n * nb, kNaN), error(n * nb, kNaN);
    if (n == 0) {
      convert(value, error, c);
      return c;
    }
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw DataError(cat(path_, ": cannot reopen the CSV catalog"));
    in.seekg(index_[first / kIndexStride]);
    std::uint64_t row = first / kIndexStride * kIndexStride;
    std::string line;
    while (row < first + n && std::getline(in, line)) {
      if (line.empty() || line == "\r") continue;
      if (row >= first) parse_row(line, row, row - first, value, error, c);
      ++row;
    }
    if (row < first + n) throw DataError(cat(path_, ": file changed while reading (row ", row, " missing)"));
    convert(value, error, c);  // keeps the row notes (c.note already has n entries)
    return c;
  }

 private:
  void parse_row(const std::string& line, std::uint64_t row, std::uint64_t i, std::vector<double>& value,
                 std::vector<double>& error, CatalogChunk& c) const {
    const auto fields = split_csv(line);
    const auto nb = static_cast<std::uint64_t>(n_bands_);
    auto get = [&](int col, const std::string& name) {
      if (static_cast<std::size_t>(col) >= fields.size()) {
        if (c.note[i].empty()) c.note[i] = cat("row ", row, ": only ", fields.size(), " fields");
        return kNaN;
      }
      bool ok = true;
      const double v = parse_number(fields[static_cast<std::size_t>(col)], &ok);
      if (!ok && c.note[i].empty())
        c.note[i] = cat("row ", row, " column ", name, ": '", fields[static_cast<std::size_t>(col)], "' is not a number");
      return v;
    };
    for (std::uint64_t b = 0; b < nb; ++b) {
      value[i * nb + b] = get(flux_col_[b], map_.flux[b]);
      error[i * nb + b] = get(error_col_[b], map_.error[b]);
    }
    c.z[i] = z_col_ < 0 ? kNaN : get(z_col_, map_.redshift);
    if (id_col_ < 0) {
      c.id[i] = static_cast<std::int64_t>(row);
    } else if (static_cast<std::size_t>(id_col_) < fields.size()) {
      if (id_string_) c.id_text[i] = fields[static_cast<std::size_t>(id_col_)];
      else c.id[i] = std::strtoll(fields[static_cast<std::size_t>(id_col_)].c_str(), nullptr, 10);
    }
  }

  std::vector<std::string> header_;
  std::vector<int> flux_col_, error_col_;
  int z_col_ = -1, id_col_ = -1;
  std::uint64_t n_rows_ = 0;
  std::vector<std::streamoff> index_;
  bool id_string_ = false;
  std::uint64_t id_width_ = 0;
};

}  // namespace

void CatalogReader::convert(const std::vector<double>& value, const std::vector<double>& error,
                            CatalogChunk& c) const {
  const std::size_t n = value.size();
  c.flux.resize(n);
  c.sigma.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const Photometry p = to_nanomaggies(value[k], error[k], map_.flux_unit, map_.error_kind);
    c.flux[k] = p.flux_nmgy;
    c.sigma[k] = p.sigma_nmgy;
  }
  c.note.resize(c.n);
}

RowSelection select_rows(const std::string& spec, std::uint64_t n_total) {
  if (spec.empty()) return {0, n_total};
  auto fail = [&](const std::string& why) {
    throw ConfigError(cat("--rows '", spec, "': ", why, " (the catalog has ", n_total, " rows)"));
  };
  auto number = [&](const std::string& s, std::uint64_t fallback) -> std::uint64_t {
    if (s.empty()) return fallback;
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (const std::exception&) {
      fail("expected 'begin:end' with integers");
    }
    if (used != s.size() || v < 0) fail("expected 'begin:end' with non-negative integers");
    return static_cast<std::uint64_t>(v);
  };
  const auto colon = spec.find(':');
  RowSelection r;
  if (colon == std::string::npos) {
    r.begin = number(spec, 0);
    r.end = r.begin + 1;
  } else {
    r.begin = number(spec.substr(0, colon), 0);
    r.end = number(spec.substr(colon + 1), n_total);
  }
  if (r.end > n_total) fail("end is past the last row");
  if (r.begin >= r.end) fail("empty range");
  return r;
}

std::unique_ptr<CatalogReader> CatalogReader::open(const std::string& path, const ColumnMap& map, int n_bands) {
  map.validate(n_bands);
  switch (map.format) {
    case CatalogFormat::kFits: return std::make_unique<FitsReader>(path, map, n_bands);
    case CatalogFormat::kHdf5: return std::make_unique<Hdf5Reader>(path, map, n_bands);
    case CatalogFormat::kCsv: return std::make_unique<CsvReader>(path, map, n_bands);
  }
  throw ConfigError("unknown catalog format");
}

}  // namespace sedpost::catalog
