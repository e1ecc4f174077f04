#pragma once
/// Minimal read-only reader of one FITS binary table (CFITSIO), shared by the noise model and
/// the catalog readers. Columns are addressed by name, case-insensitively; every failure throws
/// sedpost::DataError naming the file, the HDU and the column, with CFITSIO's own message.
///
/// Every reader takes an optional RowRange (default: all rows), so a catalog can be streamed
/// in chunks with memory independent of its size.
///
/// Numeric columns of any FITS type (B, I, J, K, E, D, L) are converted by CFITSIO; undefined
/// values (TNULL) read as NaN in double columns. Not thread-safe per instance (one fitsfile*).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sedpost::noise {

/// Rows [first, first + count) of a table; count < 0 means "to the last row".
struct RowRange {
  std::int64_t first = 0;
  std::int64_t count = -1;
};

class FitsTable {
 public:
  /// Opens `path` and moves to binary-table HDU `hdu` (1-based CFITSIO HDU number; the primary
  /// array is 1), or to the first table HDU when `hdu` <= 0. Throws DataError when the file
  /// cannot be opened or the HDU is not a binary table.
  explicit FitsTable(const std::string& path, int hdu = 0);
  ~FitsTable();
  FitsTable(const FitsTable&) = delete;
  FitsTable& operator=(const FitsTable&) = delete;
  FitsTable(FitsTable&& other) noexcept;
  FitsTable& operator=(FitsTable&& other) noexcept;

  const std::string& path() const { return path_; }
  /// 1-based HDU number of the table.
  int hdu() const { return hdu_; }
  std::int64_t num_rows() const { return nrows_; }
  /// Column names as written in TTYPEn (trailing blanks removed), in file order.
  const std::vector<std::string>& column_names() const { return names_; }
  bool has_column(const std::string& name) const;
  /// Elements per row of the column (1 for a scalar column, 7 for NSA's NMGY; for string
  /// columns the character width). Throws DataError if the column is absent.
  std::int64_t column_width(const std::string& name) const;
  /// FITS type code of the column (CFITSIO TDOUBLE, TFLOAT, TSTRING, ...).
  int column_type(const std::string& name) const;

  /// A scalar numeric column as double [num_rows]. Throws DataError if absent, not numeric, or
  /// a vector column (use read_double_vector).
  std::vector<double> read_double(const std::string& name, RowRange rows = {}) const;
  /// A vector numeric column as double, row-major [num_rows, width]; `width` (if given)
  /// receives the element count per row. Scalar columns give width 1.
  std::vector<double> read_double_vector(const std::string& name, std::int64_t* width = nullptr,
                                         RowRange rows = {}) const;
  /// Elements [first, first + count) of every row of a vector column: [num_rows, count].
  /// Throws DataError when the range exceeds the column's width.
  std::vector<double> read_double_elements(const std::string& name, std::int64_t first,
                                           std::int64_t count, RowRange rows = {}) const;
  /// A scalar integer column (B, I, J, K; also L as 0/1) [num_rows]. Undefined values read as 0.
  std::vector<std::int64_t> read_int64(const std::string& name, RowRange rows = {}) const;
  /// A string column (nA) [num_rows], trailing blanks removed.
  std::vector<std::string> read_string(const std::string& name, RowRange rows = {}) const;

 private:
  void read_header();  ///< HDU number, row count, column names
  int column_number(const std::string& name) const;  ///< 1-based; throws DataError if absent
  /// Column number, FITS type code and elements per row; throws DataError naming the column.
  struct ColumnInfo {
    int number = 0;
    int type = 0;
    std::int64_t repeat = 0;
  };
  ColumnInfo column_info(const std::string& name) const;
  /// Resolves count < 0 and checks the range against num_rows(); throws DataError.
  RowRange resolve(RowRange rows, const std::string& column) const;
  [[noreturn]] void fail(int status, const std::string& what) const;
  std::string where(const std::string& column) const;

  void* fptr_ = nullptr;  // fitsfile*, kept opaque so users need not include fitsio.h
  std::string path_;
  int hdu_ = 0;
  std::int64_t nrows_ = 0;
  std::vector<std::string> names_;
};

}  // namespace sedpost::noise
