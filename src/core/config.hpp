#pragma once
/// Run configuration: one TOML document (configs/*.toml) plus command-line overrides.
///
/// Rank 0 reads the file; the text is broadcast and every rank parses the same text
/// (see app/cli). Keys are addressed with dotted paths, e.g. "train.batch_size",
/// "model.bands". Lookups that fail throw ConfigError naming the source file and the key.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sedpost {

class Config {
 public:
  Config();  ///< empty configuration
  ~Config();
  Config(const Config&);
  Config& operator=(const Config&);
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;

  /// Parse TOML text; `source` (a file name) is used in error messages. Throws ConfigError.
  static Config from_text(const std::string& text, const std::string& source);
  /// Read and parse a file (single process; MPI code broadcasts the text instead).
  static Config from_file(const std::string& path);
  /// Read a file's text, throwing ConfigError if it cannot be read.
  static std::string read_text(const std::string& path);

  const std::string& source() const { return source_; }
  bool has(const std::string& path) const;
  /// True when `path` names a table (section) rather than a value.
  bool is_table(const std::string& path) const;

  /// Typed lookups. `get` returns `fallback` when the key is absent and throws ConfigError
  /// when present with the wrong type; `require` throws when absent.
  std::int64_t get_int(const std::string& path, std::int64_t fallback) const;
  double get_double(const std::string& path, double fallback) const;  ///< ints accepted
  bool get_bool(const std::string& path, bool fallback) const;
  std::string get_string(const std::string& path, const std::string& fallback) const;
  std::vector<std::string> get_strings(const std::string& path,
                                       const std::vector<std::string>& fallback) const;
  std::vector<double> get_doubles(const std::string& path, const std::vector<double>& fallback) const;
  std::int64_t require_int(const std::string& path) const;
  double require_double(const std::string& path) const;
  std::string require_string(const std::string& path) const;
  std::vector<std::string> require_strings(const std::string& path) const;

  /// The value at `path` as text suitable for a CLI option ("50", "0.0005", "true", "a,b");
  /// nullopt when absent. Throws ConfigError for tables.
  std::optional<std::string> get_as_text(const std::string& path) const;

  /// Set `path` from command-line text, inferring the type (bool, integer, float, string,
  /// comma-separated list when `is_list`). Creates intermediate tables.
  void set_from_text(const std::string& path, const std::string& value, bool is_list = false);

  /// Removes the top-level key or table `key` (no-op when absent).
  void erase_top_level(const std::string& key);

  /// Canonical TOML text of the whole configuration (for --print-config and file attributes).
  std::string to_toml() const;

 private:
  static std::string cat_error(const std::string& source, std::size_t line, std::size_t column,
                               std::string_view what);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string source_;
};

}  // namespace sedpost
