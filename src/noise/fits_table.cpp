#include "noise/fits_table.hpp"

#include <fitsio.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <memory>

#include "core/error.hpp"

namespace sedpost::noise {

namespace {

std::string trim_right(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string cfitsio_message(int status) {
  char text[FLEN_STATUS] = {};
  fits_get_errstatus(status, text);
  std::string msg = text;
  // Drain CFITSIO's error stack: the first entry is usually the most specific.
  char extra[FLEN_ERRMSG] = {};
  std::string detail;
  while (fits_read_errmsg(extra)) {
    if (detail.empty()) detail = trim_right(extra);
  }
  if (!detail.empty()) msg += " (" + detail + ")";
  return msg;
}

bool is_numeric(int type) {
  switch (type) {
    case TBIT: case TBYTE: case TSBYTE: case TLOGICAL: case TSHORT: case TUSHORT: case TINT:
    case TUINT: case TLONG: case TULONG: case TLONGLONG: case TFLOAT: case TDOUBLE:
      return true;
    default:
      return false;
  }
}

}  // namespace

FitsTable::FitsTable(const std::string& path, int hdu) : path_(path) {
  fitsfile* f = nullptr;
  int status = 0;
  if (hdu <= 0) {
    fits_open_table(&f, path.c_str(), READONLY, &status);
  } else {
    fits_open_file(&f, path.c_str(), READONLY, &status);
    if (!status) fits_movabs_hdu(f, hdu, nullptr, &status);
  }
  if (status) {
    const std::string msg = cfitsio_message(status);
    int s2 = 0;
    if (f) fits_close_file(f, &s2);
    throw DataError("FITS file '" + path + "': cannot open table" +
                    (hdu > 0 ? " HDU " + std::to_string(hdu) : std::string()) + ": " + msg);
  }
  fptr_ = f;
  try {
    read_header();
  } catch (...) {
    int s2 = 0;
    fits_close_file(f, &s2);
    fptr_ = nullptr;
    throw;
  }
}

void FitsTable::read_header() {
  fitsfile* f = static_cast<fitsfile*>(fptr_);
  int status = 0;
  int num = 0, type = 0;
  fits_get_hdu_num(f, &num);
  hdu_ = num;
  fits_get_hdu_type(f, &type, &status);
  if (status) fail(status, "cannot read HDU type");
  if (type != BINARY_TBL) {
    throw DataError("FITS file '" + path_ + "': HDU " + std::to_string(num) + " is not a binary table");
  }
  LONGLONG nrows = 0;
  fits_get_num_rowsll(f, &nrows, &status);
  int ncols = 0;
  fits_get_num_cols(f, &ncols, &status);
  if (status) fail(status, "cannot read table size");
  nrows_ = static_cast<std::int64_t>(nrows);
  names_.reserve(static_cast<std::size_t>(ncols));
  for (int c = 1; c <= ncols; ++c) {
    char value[FLEN_VALUE] = {};
    const std::string key = "TTYPE" + std::to_string(c);
    fits_read_key(f, TSTRING, key.c_str(), value, nullptr, &status);
    if (status == KEY_NO_EXIST) {  // unnamed column
      status = 0;
      fits_clear_errmsg();
      value[0] = '\0';
    }
    if (status) fail(status, "cannot read keyword " + key);
    names_.push_back(trim_right(value));
  }
}

FitsTable::~FitsTable() {
  if (fptr_) {
    int status = 0;
    fits_close_file(static_cast<fitsfile*>(fptr_), &status);
  }
}

FitsTable::FitsTable(FitsTable&& o) noexcept
    : fptr_(o.fptr_), path_(std::move(o.path_)), hdu_(o.hdu_), nrows_(o.nrows_), names_(std::move(o.names_)) {
  o.fptr_ = nullptr;
}

FitsTable& FitsTable::operator=(FitsTable&& o) noexcept {
  if (this != &o) {
    if (fptr_) {
      int status = 0;
      fits_close_file(static_cast<fitsfile*>(fptr_), &status);
    }
    fptr_ = o.fptr_;
    o.fptr_ = nullptr;
    path_ = std::move(o.path_);
    hdu_ = o.hdu_;
    nrows_ = o.nrows_;
    names_ = std::move(o.names_);
  }
  return *this;
}

std::string FitsTable::where(const std::string& column) const {
  std::string s = "FITS file '" + path_ + "' HDU " + std::to_string(hdu_);
  if (!column.empty()) s += ", column '" + column + "'";
  return s;
}

void FitsTable::fail(int status, const std::string& what) const {
  throw DataError(where("") + ": " + what + ": " + cfitsio_message(status));
}

bool FitsTable::has_column(const std::string& name) const {
  const std::string u = upper(name);
  return std::any_of(names_.begin(), names_.end(), [&](const std::string& n) { return upper(n) == u; });
}

int FitsTable::column_number(const std::string& name) const {
  const std::string u = upper(name);
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (upper(names_[i]) == u) return static_cast<int>(i) + 1;
  }
  std::string avail;
  for (std::size_t i = 0; i < names_.size() && i < 12; ++i) avail += (i ? ", " : "") + names_[i];
  if (names_.size() > 12) avail += ", ... (" + std::to_string(names_.size()) + " columns)";
  throw DataError(where(name) + ": no such column (available: " + avail + ")");
}

FitsTable::ColumnInfo FitsTable::column_info(const std::string& name) const {
  ColumnInfo info;
  info.number = column_number(name);
  int status = 0;
  LONGLONG repeat = 0, width = 0;
  fits_get_coltypell(static_cast<fitsfile*>(fptr_), info.number, &info.type, &repeat, &width, &status);
  if (status) throw DataError(where(name) + ": cannot read column type: " + cfitsio_message(status));
  info.repeat = static_cast<std::int64_t>(repeat);
  return info;
}

std::int64_t FitsTable::column_width(const std::string& name) const { return column_info(name).repeat; }

int FitsTable::column_type(const std::string& name) const { return column_info(name).type; }

RowRange FitsTable::resolve(RowRange rows, const std::string& column) const {
  if (rows.count < 0) rows.count = nrows_ - rows.first;
  if (rows.first < 0 || rows.count < 0 || rows.first + rows.count > nrows_) {
    throw DataError(where(column) + ": rows [" + std::to_string(rows.first) + ", " +
                    std::to_string(rows.first + rows.count) + ") requested but the table has " +
                    std::to_string(nrows_) + " rows");
  }
  return rows;
}

std::vector<double> FitsTable::read_double_vector(const std::string& name, std::int64_t* width_out,
                                                  RowRange rows) const {
  rows = resolve(rows, name);
  const ColumnInfo info = column_info(name);
  const int col = info.number, type = info.type;
  const LONGLONG repeat = info.repeat;
  fitsfile* f = static_cast<fitsfile*>(fptr_);
  int status = 0;
  if (!is_numeric(type) || type == TBIT) {
    throw DataError(where(name) + ": not a numeric column (FITS type code " + std::to_string(type) + ")");
  }
  if (width_out) *width_out = static_cast<std::int64_t>(repeat);
  const std::size_t total = static_cast<std::size_t>(rows.count) * static_cast<std::size_t>(repeat);
  std::vector<double> out(total);
  if (total == 0) return out;
  double nulval = std::numeric_limits<double>::quiet_NaN();
  int anynul = 0;
  fits_read_col(f, TDOUBLE, col, rows.first + 1, 1, static_cast<LONGLONG>(total), &nulval, out.data(), &anynul,
                &status);
  if (status) throw DataError(where(name) + ": cannot read values: " + cfitsio_message(status));
  return out;
}

std::vector<double> FitsTable::read_double(const std::string& name, RowRange rows) const {
  std::int64_t width = 0;
  std::vector<double> v = read_double_vector(name, &width, rows);
  if (width != 1) {
    throw DataError(where(name) + ": expected a scalar column, found " + std::to_string(width) +
                    " elements per row");
  }
  return v;
}

std::vector<double> FitsTable::read_double_elements(const std::string& name, std::int64_t first,
                                                    std::int64_t count, RowRange rows) const {
  rows = resolve(rows, name);
  std::int64_t width = 0;
  const std::vector<double> all = read_double_vector(name, &width, rows);
  if (first < 0 || count < 0 || first + count > width) {
    throw DataError(where(name) + ": elements [" + std::to_string(first) + ", " +
                    std::to_string(first + count) + ") requested but the column has " +
                    std::to_string(width) + " per row");
  }
  const std::size_t n = static_cast<std::size_t>(rows.count);
  const std::size_t c = static_cast<std::size_t>(count), w = static_cast<std::size_t>(width);
  std::vector<double> out(n * c);
  for (std::size_t r = 0; r < n; ++r) {
    std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(r * w + static_cast<std::size_t>(first)), c,
                out.begin() + static_cast<std::ptrdiff_t>(r * c));
  }
  return out;
}

std::vector<std::int64_t> FitsTable::read_int64(const std::string& name, RowRange rows) const {
  rows = resolve(rows, name);
  const ColumnInfo info = column_info(name);
  const int col = info.number, type = info.type;
  const LONGLONG repeat = info.repeat;
  fitsfile* f = static_cast<fitsfile*>(fptr_);
  int status = 0;
  if (type == TFLOAT || type == TDOUBLE || !is_numeric(type) || type == TBIT) {
    throw DataError(where(name) + ": not an integer column (FITS type code " + std::to_string(type) + ")");
  }
  if (repeat != 1) {
    throw DataError(where(name) + ": expected a scalar column, found " + std::to_string(repeat) +
                    " elements per row");
  }
  std::vector<LONGLONG> buf(static_cast<std::size_t>(rows.count));
  if (!buf.empty()) {
    LONGLONG nulval = 0;
    int anynul = 0;
    fits_read_col(f, TLONGLONG, col, rows.first + 1, 1, rows.count, &nulval, buf.data(), &anynul, &status);
    if (status) throw DataError(where(name) + ": cannot read values: " + cfitsio_message(status));
  }
  return std::vector<std::int64_t>(buf.begin(), buf.end());
}

std::vector<std::string> FitsTable::read_string(const std::string& name, RowRange rows) const {
  rows = resolve(rows, name);
  const ColumnInfo info = column_info(name);
  const int col = info.number, type = info.type;
  const LONGLONG repeat = info.repeat;
  fitsfile* f = static_cast<fitsfile*>(fptr_);
  int status = 0;
  if (type != TSTRING) {
    throw DataError(where(name) + ": not a string column (FITS type code " + std::to_string(type) + ")");
  }
  const std::size_t n = static_cast<std::size_t>(rows.count);
  const std::size_t w = static_cast<std::size_t>(std::max<LONGLONG>(repeat, 1));
  std::vector<char> storage(n * (w + 1), '\0');
  std::vector<char*> ptrs(n);
  for (std::size_t r = 0; r < n; ++r) ptrs[r] = storage.data() + r * (w + 1);
  std::vector<std::string> out;
  out.reserve(n);
  if (n > 0) {
    char nulstr[] = "";
    int anynul = 0;
    fits_read_col(f, TSTRING, col, rows.first + 1, 1, static_cast<LONGLONG>(n), nulstr, ptrs.data(), &anynul,
                  &status);
    if (status) throw DataError(where(name) + ": cannot read values: " + cfitsio_message(status));
  }
  for (std::size_t r = 0; r < n; ++r) out.push_back(trim_right(ptrs[r]));
  return out;
}

}  // namespace sedpost::noise
