#pragma once
/// Internal: little binary container used for model files and checkpoints.
///   magic[16] "SEDPOST-FLOW\0\0\0\0", u32 format version, u32 kind, u64 payload size,
///   payload, u64 FNV-1a checksum of the payload.
/// Everything little-endian (x86/ARM hosts); the reader bounds-checks every field and throws
/// DataError with the file name on any inconsistency.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace sedpost::flow {

std::uint64_t fnv1a64(const char* data, std::size_t n);

inline constexpr char kMagic[16] = {'S', 'E', 'D', 'P', 'O', 'S', 'T', '-', 'F', 'L', 'O', 'W', 0, 0, 0, 0};
enum class FileKind : std::uint32_t { kModel = 1, kCheckpoint = 2, kEmbedding = 3 };

class Writer {
 public:
  template <class T>
  void pod(const T& v) {
    buf_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    buf_.append(s);
  }
  void strs(const std::vector<std::string>& v) {
    pod<std::uint64_t>(v.size());
    for (const auto& s : v) str(s);
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    pod<std::uint64_t>(v.size());
    buf_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  template <class T>
  void raw(const T* p, std::size_t n) {
    pod<std::uint64_t>(n);
    buf_.append(reinterpret_cast<const char*>(p), n * sizeof(T));
  }
  /// Wraps the payload in the container.
  std::string finish(FileKind kind, std::uint32_t version) const {
    std::string out(kMagic, sizeof kMagic);
    auto put = [&out](const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put(version);
    put(static_cast<std::uint32_t>(kind));
    put(static_cast<std::uint64_t>(buf_.size()));
    out.append(buf_);
    put(fnv1a64(buf_.data(), buf_.size()));
    return out;
  }

 private:
  std::string buf_;
};

class Reader {
 public:
  static std::string kind_name(std::uint32_t k) {
    switch (k) {
      case static_cast<std::uint32_t>(FileKind::kModel): return "model file";
      case static_cast<std::uint32_t>(FileKind::kCheckpoint): return "training checkpoint";
      case static_cast<std::uint32_t>(FileKind::kEmbedding): return "spectrum embedding";
      default: return "file of unknown kind " + std::to_string(k);
    }
  }
  /// Validates the container (format version in [oldest, version]; oldest = 0 means
  /// exactly `version`); throws DataError naming `what` (a file name).
  Reader(const std::string& bytes, FileKind kind, std::uint32_t version, std::string what,
         std::uint32_t oldest = 0)
      : what_(std::move(what)) {
    const std::size_t head = sizeof kMagic + 4 + 4 + 8;
    if (bytes.size() < head || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
      throw DataError(what_ + ": not a sedpost flow file (bad magic)");
    std::uint32_t ver = 0, k = 0;
    std::uint64_t size = 0;
    std::memcpy(&ver, bytes.data() + 16, 4);
    std::memcpy(&k, bytes.data() + 20, 4);
    std::memcpy(&size, bytes.data() + 24, 8);
    if (ver > version || ver < (oldest == 0 ? version : oldest))
      throw DataError(what_ + ": flow file format version " + std::to_string(ver) +
                      ", this build reads version " + std::to_string(version) +
                      (oldest != 0 && oldest < version ? " down to " + std::to_string(oldest) : ""));
    version_ = ver;
    if (k != static_cast<std::uint32_t>(kind))
      throw DataError(what_ + ": is a " + kind_name(k) + ", not a " + kind_name(static_cast<std::uint32_t>(kind)));
    if (bytes.size() != head + size + 8)
      throw DataError(what_ + ": truncated or corrupted flow file (size " +
                      std::to_string(bytes.size()) + " bytes, header says " +
                      std::to_string(head + size + 8) + ")");
    std::uint64_t sum = 0;
    std::memcpy(&sum, bytes.data() + head + size, 8);
    if (sum != fnv1a64(bytes.data() + head, size))
      throw DataError(what_ + ": corrupted flow file (checksum mismatch)");
    p_ = bytes.data() + head;
    end_ = p_ + size;
  }
  template <class T>
  T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = pod<std::uint64_t>();
    need(n);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  std::vector<std::string> strs() {
    const auto n = pod<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(end_ - p_)) fail();
    std::vector<std::string> v(n);
    for (auto& s : v) s = str();
    return v;
  }
  template <class T>
  std::vector<T> vec() {
    const auto n = pod<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(end_ - p_) / sizeof(T)) fail();
    std::vector<T> v(n);
    std::memcpy(v.data(), p_, n * sizeof(T));
    p_ += n * sizeof(T);
    return v;
  }
  bool at_end() const { return p_ == end_; }
  [[noreturn]] void fail() const { throw DataError(what_ + ": malformed flow file (field out of range)"); }
  const std::string& what() const { return what_; }
  std::uint32_t version() const { return version_; }  ///< the file's format version

 private:
  void need(std::uint64_t n) const {
    if (n > static_cast<std::uint64_t>(end_ - p_)) fail();
  }
  std::string what_;
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  std::uint32_t version_ = 0;
};

/// Whole file as bytes; IoError when it cannot be read.
std::string read_file_bytes(const std::string& path);
/// Writes path.tmp then renames over path; IoError on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace sedpost::flow
