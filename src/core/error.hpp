#pragma once
/// Error hierarchy of sedpost. Every exception thrown by project code derives from
/// sedpost::Error; main() maps each type to a process exit code (see exit_code()).
#include <stdexcept>
#include <string>

namespace sedpost {

/// Exit codes of the `sedpost` binary. 0 = success; CLI usage errors use CLI11's codes (>100).
enum class ExitCode : int {
  kOk = 0,
  kGeneric = 1,
  kConfig = 2,          ///< bad config file, option value or combination
  kData = 3,            ///< missing/malformed input data (catalog, SSP, filter, training set)
  kIo = 4,              ///< HDF5 / filesystem failure
  kNumerics = 5,        ///< NaN, non-convergence, impossible numerics
  kNotImplemented = 6,  ///< subcommand or feature not implemented yet
};

/// Base class; `what()` is the full human-readable message.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
  /// Process exit code for this error type.
  virtual ExitCode exit_code() const { return ExitCode::kGeneric; }
  /// Short type name used in log lines ("config error", ...).
  virtual const char* kind() const { return "error"; }
};

class ConfigError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kConfig; }
  const char* kind() const override { return "config error"; }
};

class DataError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kData; }
  const char* kind() const override { return "data error"; }
};

class IoError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kIo; }
  const char* kind() const override { return "I/O error"; }
};

class NumericsError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kNumerics; }
  const char* kind() const override { return "numerics error"; }
};

class NotImplementedError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kNotImplemented; }
  const char* kind() const override { return "not implemented"; }
};

}  // namespace sedpost
