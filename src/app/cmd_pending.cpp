// Subcommands whose implementation has not landed yet. Each one says so, names the issue
// that tracks it, and exits with ExitCode::kNotImplemented (6). Move a subcommand to its own
// cmd_<name>.cpp when it is implemented.
#include "app/commands.hpp"

namespace sedpost::app {

void register_infer(Cli& cli) {
  cli.add_unimplemented("infer", "Posteriors for every galaxy of a catalog", "issue #9");
}
void register_validate(Cli& cli) {
  cli.add_unimplemented("validate", "Calibration metrics and plots on a held-out test set", "issue #10");
}

}  // namespace sedpost::app
