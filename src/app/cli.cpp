#include "app/cli.hpp"

#include <algorithm>
#include <iostream>

#include "app/guard.hpp"
#include "core/data_dir.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::app {

std::string Context::data_dir() const {
  return resolve_data_dir(global.data_dir, config.get_string("data_dir", ""));
}

std::string option_key(const std::string& long_name) {
  std::string key = long_name;
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

namespace {

/// Options that describe the invocation rather than the run; never part of the config.
bool is_meta_option(const CLI::Option* opt) {
  const auto& names = opt->get_lnames();
  if (names.empty()) return true;
  const std::string& n = names.front();
  return n == "help" || n == "config" || n == "print-config" || n == "verbose" || n == "quiet" ||
         n == "resume" || n == "data-dir";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

}  // namespace

void apply_config(CLI::App& sub, const std::string& section, Config& config) {
  for (CLI::Option* opt : sub.get_options()) {
    if (is_meta_option(opt)) continue;
    const std::string key = option_key(opt->get_lnames().front());
    const std::string path = section.empty() ? key : section + "." + key;
    const bool is_list = opt->get_expected_max() > 1;
    if (opt->count() == 0) {
      std::optional<std::string> text = config.get_as_text(path);
      // Top-level fallback for values only: a table of the same name (e.g. [noise] for
      // --noise) belongs to another stage.
      if (!text && !section.empty() && !config.is_table(key)) text = config.get_as_text(key);
      if (text) {
        try {
          opt->clear();
          if (is_list) {
            std::stringstream ss(*text);
            for (std::string item; std::getline(ss, item, ',');) opt->add_result(item);
          } else {
            opt->add_result(*text);
          }
          opt->run_callback();
        } catch (const CLI::Error& e) {
          throw ConfigError(config.source() + ": key '" + path + "' = '" + *text +
                            "' is not valid for --" + opt->get_lnames().front() + ": " + e.what());
        }
      }
    }
    // Record the effective value so --print-config and output files show every setting.
    std::vector<std::string> results = opt->results();
    std::string value = results.empty() ? opt->get_default_str() : join(results, ",");
    if (opt->get_type_size() == 0 && opt->count() == 0 && value.empty()) value = "false";
    if (!value.empty() || opt->count() > 0) config.set_from_text(path, value, is_list);
  }
}

Config read_config_everywhere(Comm& comm, const std::string& path) {
  const std::string text =
      read_on_root<ConfigError>(comm, [&] { return path.empty() ? std::string() : Config::read_text(path); });
  return Config::from_text(text, path.empty() ? "(no config)" : path);
}

Cli::Cli() : app_("sedpost: amortized Bayesian SED posteriors for galaxy catalogs", "sedpost") {
  app_.require_subcommand(1);
  app_.fallthrough();
  app_.set_help_all_flag("--help-all", "Show help for every subcommand");
  app_.footer(
      "Run under MPI with: mpirun -n P sedpost <subcommand> ...\n"
      "Every option can also be set in the --config TOML file: key = option name with '_' for '-',\n"
      "in the table named after the subcommand ([train] batch_size = 50) or at top level.\n"
      "Exit codes: 0 ok, 1 error, 2 config, 3 data, 4 I/O, 5 numerics, 6 not implemented.");
  app_.add_option("--config", global_.config_path, "TOML file with settings for any option")
      ->check(CLI::ExistingFile);
  app_.add_flag("--print-config", global_.print_config, "Print the effective settings (TOML) and exit");
  app_.add_flag("-v,--verbose", global_.verbose, "Debug logging, on every rank");
  app_.add_flag("-q,--quiet", global_.quiet, "Only warnings and errors");
  app_.add_option("--data-dir", global_.data_dir,
                  "Reference data directory (default: config data_dir, then $SEDPOST_DATA_DIR)");
}

CLI::App* Cli::add(const std::string& name, const std::string& description,
                   std::function<int(Context&)> run, const std::string& section) {
  CLI::App* sub = app_.add_subcommand(name, description);
  subcommands_.push_back({sub, section.empty() ? name : section, std::move(run)});
  return sub;
}

void Cli::add_unimplemented(const std::string& name, const std::string& description,
                            const std::string& tracking) {
  add(name, description + " [not implemented yet]", [name, tracking](Context&) -> int {
    throw NotImplementedError("'sedpost " + name + "' is not implemented yet (" + tracking + ")");
  });
  subcommands_.back().implemented = false;
}

bool Cli::implemented(const std::string& name) const {
  for (const auto& s : subcommands_) {
    if (s.app->get_name() == name) return s.implemented;
  }
  return false;
}

int Cli::main(const std::vector<std::string>& args, Comm& comm) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return main(static_cast<int>(args.size()), argv.data(), comm);
}

int Cli::main(int argc, char** argv, Comm& comm) {
  logger().set_rank(comm.rank(), comm.size());
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parsed the same argv, so every rank exits the same way: no hang. --help is
    // success; a usage error (unknown option, bad or missing value) is a config error, exit 2,
    // not CLI11's own codes (105, 106, ...).
    const int code = comm.is_root() ? app_.exit(e) : e.get_exit_code();
    return code == 0 ? 0 : static_cast<int>(ExitCode::kConfig);
  }
  if (global_.verbose) logger().set_level(LogLevel::kDebug);
  if (global_.quiet) logger().set_level(LogLevel::kWarn);

  auto chosen = std::find_if(subcommands_.begin(), subcommands_.end(),
                             [](const Subcommand& s) { return s.app->parsed(); });
  if (chosen == subcommands_.end()) return static_cast<int>(ExitCode::kConfig);

  return run_guarded(comm, [&]() -> int {
    Context ctx{comm, read_config_everywhere(comm, global_.config_path), global_};
    apply_config(*chosen->app, chosen->section, ctx.config);
    if (global_.print_config) {
      if (comm.is_root()) std::cout << ctx.config.to_toml() << std::endl;
      return 0;
    }
    return chosen->run(ctx);
  });
}

}  // namespace sedpost::app
