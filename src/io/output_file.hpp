#pragma once
/// Output files that never look complete unless they are.
///
/// A run writes to `<path>.partial`; commit() sets the root attribute `complete` = 1 as the
/// last write, closes the file, and rank 0 renames it to `<path>` (atomic on one
/// filesystem). An interrupted run leaves only `<path>.partial`, which `--resume` reopens.
/// A previous complete `<path>` stays untouched until the new one is committed.
#include <string>

#include "core/comm.hpp"
#include "io/h5_file.hpp"

namespace sedpost::io {

/// True when `path` exists, is HDF5, and carries `complete` = 1 (serial, any rank).
bool is_complete(const std::string& path);

/// Path of the in-progress file for a final output path.
inline std::string partial_path(const std::string& path) { return path + ".partial"; }

class OutputFile {
 public:
  /// Collective. Creates `<path>.partial` (truncating), or with `resume` reopens an existing
  /// `<path>.partial` read-write (`resumed()` then returns true; when none exists a new
  /// one is created, as when it is not readable HDF5). Throws IoError when the output directory
  /// does not exist. Callers flush after creating their datasets so that a later
  /// interruption leaves a readable file.
  OutputFile(const std::string& path, Comm& comm, const FileAccess& access, bool resume = false);
  /// Closes the file (collective) unless an exception is unwinding through it in a job of
  /// several ranks: the exception may be this rank's alone, and the other ranks, elsewhere (in an
  /// allreduce, say), would never join the close. Then the file is abandoned: `<path>.partial`
  /// keeps what its last flush wrote, and the handler of the exception ends the job
  /// (app::run_guarded aborts it).
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  H5File& file() { return file_; }
  bool resumed() const { return resumed_; }
  const std::string& final_path() const { return final_path_; }

  /// Collective: mark complete, close, rename to the final path. Idempotent.
  void commit();

 private:
  static H5File open_or_create(const std::string& path, Comm& comm, const FileAccess& access,
                               bool resume, bool* resumed);
  std::string final_path_;
  Comm* comm_;
  bool resumed_ = false;
  H5File file_;
  bool committed_ = false;
  int uncaught_at_open_ = 0;  ///< std::uncaught_exceptions() when constructed
};

}  // namespace sedpost::io
