#include "core/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "core/logger.hpp"

namespace sedpost {

ProgressMeter::ProgressMeter(std::string label, std::uint64_t total, std::string unit,
                             bool enabled, double log_interval_s)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      enabled_(enabled),
      tty_(isatty(fileno(stderr)) != 0),
      log_interval_s_(log_interval_s),
      start_(std::chrono::steady_clock::now()),
      last_report_(start_) {}

ProgressMeter::~ProgressMeter() {
  if (tty_ && enabled_ && !finished_ && done_ > 0) std::fputc('\n', stderr);
}

double ProgressMeter::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double ProgressMeter::rate() const {
  const double t = elapsed_s();
  return t > 0 ? static_cast<double>(done_ - done_at_start_) / t : 0.0;
}

void ProgressMeter::set_done(std::uint64_t done) {
  done_ = done;
  done_at_start_ = done;
}

void ProgressMeter::advance(std::uint64_t n, const std::string& extra) {
  done_ += n;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_report_).count();
  if (since >= (tty_ ? 0.25 : log_interval_s_)) {
    last_report_ = now;
    report(false, extra);
  }
}

void ProgressMeter::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  if (enabled_) report(true, extra);
}

std::string ProgressMeter::format_duration(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
                  (static_cast<int>(s) % 3600) / 60);
  }
  return buf;
}

void ProgressMeter::report(bool final_line, const std::string& extra) {
  const double r = rate();
  std::string line = cat(label_, ": ", done_);
  if (total_ > 0) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " (%.1f%%)", 100.0 * static_cast<double>(done_) / total_);
    line += cat("/", total_, pct);
  }
  char rate_buf[48];
  std::snprintf(rate_buf, sizeof rate_buf, ", %.4g %s/s", r, unit_.c_str());
  line += rate_buf;
  if (final_line) {
    line += ", took " + format_duration(elapsed_s());
  } else if (total_ > 0 && r > 0 && done_ < total_) {
    line += ", ETA " + format_duration(static_cast<double>(total_ - done_) / r);
  }
  if (!extra.empty()) line += ", " + extra;
  if (tty_ && logger().rank() == 0 && logger().level() <= LogLevel::kInfo) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
    std::fflush(stderr);
  } else {
    logger().info(line);
  }
}

}  // namespace sedpost
