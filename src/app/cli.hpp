#pragma once
/// Command-line framework of the `sedpost` binary: subcommand registry, config-file
/// overrides, --print-config. Each subcommand lives in its own cmd_<name>.cpp with an
/// options struct, a setup_<name>() and a run_<name>().
#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/comm.hpp"
#include "core/config.hpp"

namespace sedpost::app {

/// Options every subcommand understands (may be given before or after the subcommand).
struct GlobalOptions {
  std::string config_path;   ///< --config FILE.toml
  bool print_config = false; ///< --print-config: print the effective settings and exit
  bool verbose = false;      ///< --verbose: debug logging on every rank
  bool quiet = false;        ///< --quiet: warnings and errors only
  std::string data_dir;      ///< --data-dir DIR (else config data_dir, else SEDPOST_DATA_DIR)
};

/// What a running subcommand gets: the communicator, the effective configuration (file +
/// command line), and the global options.
struct Context {
  Comm& comm;
  Config config;
  GlobalOptions global;
  /// The data directory, resolved per core/data_dir.hpp (throws when unset or missing).
  std::string data_dir() const;
};

/// A registered subcommand: its CLI11 app, its config section, and what runs it.
struct Subcommand {
  CLI::App* app = nullptr;
  std::string section;  ///< TOML table whose keys set this subcommand's options
  std::function<int(Context&)> run;
  bool implemented = true;
};

class Cli {
 public:
  Cli();
  CLI::App& app() { return app_; }
  GlobalOptions& global() { return global_; }

  /// Register a subcommand. `run` is called after options and config are applied.
  CLI::App* add(const std::string& name, const std::string& description,
                std::function<int(Context&)> run, const std::string& section = "");
  /// Register a subcommand that is not implemented yet: it says so and exits with
  /// ExitCode::kNotImplemented.
  void add_unimplemented(const std::string& name, const std::string& description,
                         const std::string& tracking);

  /// Parse argv, read and broadcast the config (rank 0 reads), apply it, run the chosen
  /// subcommand. Returns the process exit code. Collective.
  int main(int argc, char** argv, Comm& comm);
  /// Same, for an argument list (argv[0] = program name).
  int main(const std::vector<std::string>& args, Comm& comm);

  /// True when `name` is registered and implemented.
  bool implemented(const std::string& name) const;

 private:
  CLI::App app_;
  GlobalOptions global_;
  std::vector<Subcommand> subcommands_;
};

/// Collective: rank 0 calls `read` (e.g. reads a file) and every rank receives its bytes.
/// When `read` throws on rank 0, every rank throws E with the same message (so no rank
/// waits for bytes that never come).
template <class E>
std::string read_on_root(Comm& comm, const std::function<std::string()>& read) {
  std::string bytes;
  std::int64_t failed = 0;
  if (comm.is_root()) {
    try {
      bytes = read();
    } catch (const std::exception& e) {
      failed = 1;
      bytes = e.what();
    }
  }
  comm.broadcast_value(failed, 0);
  comm.broadcast(bytes, 0);
  if (failed) throw E(bytes);
  return bytes;
}

/// Collective: rank 0 reads the TOML file `path` ("" = empty config), every rank parses the
/// broadcast text. Throws ConfigError on every rank when the file cannot be read or parsed.
Config read_config_everywhere(Comm& comm, const std::string& path);

/// Config key for a long option name: "batch-size" -> "batch_size".
std::string option_key(const std::string& long_name);

/// Apply config values to the options of `sub` not given on the command line: key
/// `<section>.<key>` first, then top-level `<key>`. Then record every option's effective
/// value into `config` under `<section>.<key>`. Throws ConfigError for values CLI11 rejects.
void apply_config(CLI::App& sub, const std::string& section, Config& config);

}  // namespace sedpost::app
