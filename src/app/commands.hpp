#pragma once
/// Registration functions of the subcommands, one per cmd_<name>.cpp.
#include "app/cli.hpp"

namespace sedpost::app {

void register_simulate(Cli& cli);
void register_train(Cli& cli);
void register_sample(Cli& cli);
void register_infer(Cli& cli);
void register_mcmc(Cli& cli);
void register_validate(Cli& cli);
void register_run(Cli& cli);
void register_sed(Cli& cli);
void register_noise(Cli& cli);

/// Collective. Runs `sedpost --config CONFIG --data-dir DATA_DIR SUBCOMMAND ARGS...` in this
/// process, as `sedpost run` does for its stages. Throws Error naming `label` when the
/// subcommand exits non-zero (its own error has been logged by then).
void call_subcommand(Comm& comm, const std::string& config_path, const std::string& data_dir,
                     const std::string& subcommand, const std::vector<std::string>& args, const std::string& label);

/// All of the above, in the order `sedpost --help` lists them.
inline void register_all(Cli& cli) {
  register_run(cli);
  register_simulate(cli);
  register_train(cli);
  register_sample(cli);
  register_infer(cli);
  register_mcmc(cli);
  register_validate(cli);
  register_sed(cli);
  register_noise(cli);
}

}  // namespace sedpost::app
