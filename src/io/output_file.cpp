#include "io/output_file.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::io {

bool is_complete(const std::string& path) {
  if (!std::filesystem::exists(path)) return false;
  if (H5Fis_hdf5(path.c_str()) <= 0) return false;
  try {
    H5File f = H5File::open_read(path);
    return f.has_attr("", "complete") && f.attr_int("", "complete") == 1;
  } catch (const Error&) {
    return false;
  }
}

H5File OutputFile::open_or_create(const std::string& path, Comm& comm, const FileAccess& access,
                                  bool resume, bool* resumed) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::is_directory(dir)) {
    throw IoError("output directory '" + dir.string() + "' does not exist (for '" + path + "')");
  }
  const std::string partial = partial_path(path);
  // Rank 0 decides, so every rank takes the same branch of the collective open/create. A
  // partial file that HDF5 cannot read (the run died before its first flush) is started over.
  std::int64_t exists = 0;
  if (comm.is_root() && resume && fs::exists(partial)) {
    exists = H5Fis_hdf5(partial.c_str()) > 0 ? 1 : 0;
    if (!exists) {
      logger().warn("'" + partial + "' is not a readable HDF5 file (the run stopped before its first flush): "
                    "starting over");
    }
  }
  comm.broadcast_value(exists, 0);
  *resumed = exists == 1;
  if (*resumed) return H5File::open(partial, H5File::Mode::kReadWrite, access);
  return H5File::create(partial, access);
}

OutputFile::OutputFile(const std::string& path, Comm& comm, const FileAccess& access, bool resume)
    : final_path_(path),
      comm_(&comm),
      file_(open_or_create(path, comm, access, resume, &resumed_)),
      uncaught_at_open_(std::uncaught_exceptions()) {}

OutputFile::~OutputFile() {
  if (!committed_ && comm_->size() > 1 && std::uncaught_exceptions() > uncaught_at_open_) file_.abandon();
}

void OutputFile::commit() {
  if (committed_) return;
  file_.set_attr("", "complete", std::int64_t{1});
  file_.close();
  comm_->barrier();
  std::int64_t failed = 0;
  std::string error;
  if (comm_->is_root()) {
    std::error_code ec;
    std::filesystem::rename(partial_path(final_path_), final_path_, ec);
    if (ec) {
      failed = 1;
      error = ec.message();
    }
  }
  comm_->broadcast_value(failed, 0);
  if (failed) {
    throw IoError("cannot rename '" + partial_path(final_path_) + "' to '" + final_path_ + "': " + error);
  }
  committed_ = true;
}

}  // namespace sedpost::io
