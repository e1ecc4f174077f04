#include "core/logger.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace sedpost {

Logger& logger() {
  static Logger instance;
  return instance;
}

void Logger::write(LogLevel level, const std::string& msg) const {
  if (level < level_) return;
  // Rank 0 speaks for the job; other ranks only report their own errors and debug lines.
  if (rank_ != 0 && level != LogLevel::kError && level != LogLevel::kDebug) return;
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&now));
  const char* tag = level == LogLevel::kDebug  ? "debug"
                    : level == LogLevel::kInfo ? "info"
                    : level == LogLevel::kWarn ? "warning"
                                               : "error";
  if (size_ > 1 && (level == LogLevel::kDebug || level == LogLevel::kError)) {
    std::fprintf(stderr, "[%s] [r%d] %s: %s\n", stamp, rank_, tag, msg.c_str());
  } else {
    std::fprintf(stderr, "[%s] %s: %s\n", stamp, tag, msg.c_str());
  }
  std::fflush(stderr);
}

}  // namespace sedpost
