#pragma once
/// HDF5 files for sedpost's schemas (ARCHITECTURE.md, "File schemas").
///
/// One class serves serial and parallel use: the FileAccess passed at open time decides.
/// With a parallel FileAccess (made by mpi/parallel_h5.hpp) every rank opens the file, and
/// every call marked "collective" must be made by all ranks with the same arguments, except
/// the row range of write_rows(), which is per rank (a rank with no rows passes count 0).
#include <cstdint>
#include <string>
#include <vector>

#include "io/h5_handle.hpp"

namespace sedpost::io {

/// Element types the schemas use.
enum class DType { kFloat32, kFloat64, kInt64, kUInt32, kUInt8 };

/// File-access and data-transfer property lists (serial by default).
struct FileAccess {
  Handle fapl;              ///< file access plist (H5P_DEFAULT when invalid)
  Handle dxpl;              ///< transfer plist for dataset I/O (H5P_DEFAULT when invalid)
  bool parallel = false;    ///< true: MPI-IO driver, collective metadata
  static FileAccess serial() { return {}; }
  hid_t fapl_id() const { return fapl.valid() ? fapl.id() : H5P_DEFAULT; }
  hid_t dxpl_id() const { return dxpl.valid() ? dxpl.id() : H5P_DEFAULT; }
};

class H5File {
 public:
  enum class Mode { kRead, kReadWrite };

  /// Create (truncate) `path`. Collective in parallel mode.
  static H5File create(const std::string& path, const FileAccess& access);
  /// Open an existing file. Collective in parallel mode. Throws IoError naming the path.
  static H5File open(const std::string& path, Mode mode, const FileAccess& access);
  /// Serial read-only open.
  static H5File open_read(const std::string& path) {
    return open(path, Mode::kRead, FileAccess::serial());
  }

  H5File(H5File&&) noexcept = default;
  H5File& operator=(H5File&&) noexcept = default;

  const std::string& path() const { return path_; }
  bool parallel() const { return parallel_; }

  /// True when a link (dataset or group) named `name` exists ("a/b" paths allowed).
  bool has(const std::string& name) const;
  /// Dimensions of dataset `name`; throws DataError naming file and dataset if absent.
  std::vector<std::uint64_t> shape(const std::string& name) const;

  /// Create group `name` (and missing parents). Collective.
  void create_group(const std::string& name);

  /// Create dataset `name` with `dims`, chunked along the first dimension with `chunk_rows`
  /// rows per chunk (0 = automatic, about 1 MiB chunks). Collective.
  void create_dataset(const std::string& name, DType type, const std::vector<std::uint64_t>& dims,
                      std::uint64_t chunk_rows = 0);
  /// Create a 1-D fixed-length string dataset [n] of width `width` bytes. Collective.
  void create_string_dataset(const std::string& name, std::uint64_t n, std::uint64_t width);

  /// Write rows [row0, row0 + count) of dataset `name`; `data` holds count * (product of the
  /// trailing dims) elements, row-major. Collective in parallel mode (count may be 0).
  void write_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, const float* data);
  void write_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, const double* data);
  void write_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, const std::int64_t* data);
  void write_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, const std::uint32_t* data);
  void write_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, const std::uint8_t* data);
  /// Rows of a fixed-length string dataset; each string is truncated to the width.
  void write_string_rows(const std::string& name, std::uint64_t row0,
                         const std::vector<std::string>& values);

  /// Read rows [row0, row0 + count) (any rank, independent I/O). HDF5 converts the stored
  /// type to the requested one (e.g. float32 on disk read as double).
  void read_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, float* out) const;
  void read_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, double* out) const;
  void read_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, std::int64_t* out) const;
  void read_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, std::uint32_t* out) const;
  void read_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, std::uint8_t* out) const;
  /// Whole dataset as double / float, with its dims.
  std::vector<double> read_all_double(const std::string& name, std::vector<std::uint64_t>* dims = nullptr) const;
  std::vector<float> read_all_float(const std::string& name, std::vector<std::uint64_t>* dims = nullptr) const;
  /// All strings of a 1-D fixed- or variable-length string dataset.
  std::vector<std::string> read_strings(const std::string& name) const;

  // ---- attributes on the root group (object "") or on a dataset. Collective writes. ----
  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name, const std::vector<std::string>& values);
  void set_attr(const std::string& object, const std::string& name, const std::vector<double>& values);
  void set_attr(const std::string& object, const std::string& name, double value);
  void set_attr(const std::string& object, const std::string& name, std::int64_t value);
  bool has_attr(const std::string& object, const std::string& name) const;
  std::string attr_string(const std::string& object, const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& object, const std::string& name) const;
  std::vector<double> attr_doubles(const std::string& object, const std::string& name) const;
  double attr_double(const std::string& object, const std::string& name) const;
  std::int64_t attr_int(const std::string& object, const std::string& name) const;

  /// Flush buffers to disk. Collective.
  void flush();
  /// Close now, checking for errors. Collective.
  void close();
  /// Leave the file open and forget it (nothing is flushed or closed): for a rank that must not
  /// enter the collective close, because the others will not (an exception on this rank alone).
  void abandon() noexcept { file_.release(); }

 private:
  H5File(std::string path, Handle file, const FileAccess& access);
  hid_t dxpl() const { return dxpl_.valid() ? dxpl_.id() : H5P_DEFAULT; }
  Handle open_dataset(const std::string& name) const;
  Handle open_object(const std::string& object) const;
  void write_rows_impl(const std::string& name, std::uint64_t row0, std::uint64_t count,
                       hid_t mem_type, const void* data);
  void read_rows_impl(const std::string& name, std::uint64_t row0, std::uint64_t count,
                      hid_t mem_type, void* out) const;
  std::string cat_rows(const std::string& name, std::uint64_t row0, std::uint64_t count,
                       std::uint64_t n_rows) const;
  void write_attr(const std::string& object, const std::string& name, hid_t type, hid_t space,
                  const void* data);

  std::string path_;
  Handle file_;
  Handle dxpl_;  ///< copy of the access' transfer plist (collective in parallel mode)
  bool parallel_ = false;
};

/// The memory type id for a DType.
hid_t native_type(DType t);

}  // namespace sedpost::io
