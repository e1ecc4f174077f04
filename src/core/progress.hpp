#pragma once
/// Progress of a long loop: count, rate and ETA. On a terminal (stderr is a tty) rank 0
/// redraws one line at most 4 times a second; otherwise (batch jobs, CI) it logs a line
/// every `log_interval_s` seconds. Call advance() from rank 0's loop with the job-wide
/// count, or from every rank with local counts and `scale` = number of ranks.
#include <chrono>
#include <cstdint>
#include <string>

namespace sedpost {

class ProgressMeter {
 public:
  /// `total`: units of work expected (0 = unknown, no ETA); `unit`: e.g. "galaxies".
  ProgressMeter(std::string label, std::uint64_t total, std::string unit, bool enabled = true,
                double log_interval_s = 30.0);
  ~ProgressMeter();

  /// Record `n` more units done; `extra` is appended to the line (e.g. "loss 1.23").
  void advance(std::uint64_t n, const std::string& extra = "");
  /// Set the absolute count (e.g. when resuming).
  void set_done(std::uint64_t done);
  /// Print the final summary line (idempotent).
  void finish(const std::string& extra = "");

  std::uint64_t done() const { return done_; }
  double elapsed_s() const;
  /// Units per second since start (0 before any work).
  double rate() const;
  /// Formats seconds as "1h02m", "3m05s", "12.3s".
  static std::string format_duration(double seconds);

 private:
  void report(bool final_line, const std::string& extra);
  std::string label_;
  std::uint64_t total_;
  std::string unit_;
  bool enabled_;
  bool tty_;
  double log_interval_s_;
  std::uint64_t done_ = 0;
  std::uint64_t done_at_start_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_report_;
};

}  // namespace sedpost
