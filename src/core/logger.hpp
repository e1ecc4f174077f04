#pragma once
/// Process-wide logger. Info and warnings print on rank 0 only; errors print on every rank
/// (prefixed `[rN]`), debug lines on every rank when --verbose is set. Lines go to stderr so
/// stdout stays free for machine-readable output (`sedpost sed --json`).
#include <sstream>
#include <string>

namespace sedpost {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kQuiet = 4 };

class Logger {
 public:
  /// Set once after the communicator exists.
  void set_rank(int rank, int size) {
    rank_ = rank;
    size_ = size;
  }
  void set_level(LogLevel level) { level_ = level; }
  LogLevel level() const { return level_; }
  int rank() const { return rank_; }

  void debug(const std::string& msg) const { write(LogLevel::kDebug, msg); }
  void info(const std::string& msg) const { write(LogLevel::kInfo, msg); }
  void warn(const std::string& msg) const { write(LogLevel::kWarn, msg); }
  /// Printed on whichever rank calls it.
  void error(const std::string& msg) const { write(LogLevel::kError, msg); }

 private:
  void write(LogLevel level, const std::string& msg) const;
  int rank_ = 0;
  int size_ = 1;
  LogLevel level_ = LogLevel::kInfo;
};

/// The process-wide logger.
Logger& logger();

/// Concatenate any streamable values into a string: cat("n = ", 3, ", x = ", 1.5).
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace sedpost
