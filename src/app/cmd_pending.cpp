// Subcommands whose implementation has not landed yet. Each one says so, names the issue
// that tracks it, and exits with ExitCode::kNotImplemented (6). Move a subcommand to its own
// cmd_<name>.cpp when it is implemented.
#include "app/commands.hpp"

namespace sedpost::app {

void register_simulate(Cli& cli) {
  cli.add_unimplemented("simulate", "Simulate a training set (rank-parallel, one HDF5 file)", "issue #8");
}
void register_train(Cli& cli) {
  cli.add_unimplemented("train", "Train the conditional normalizing flow (data-parallel)", "issue #5");
}
void register_sample(Cli& cli) {
  cli.add_unimplemented("sample", "Draw posterior samples from a trained flow (generic mode)", "issue #5");
}
void register_infer(Cli& cli) {
  cli.add_unimplemented("infer", "Posteriors for every galaxy of a catalog", "issue #9");
}
void register_mcmc(Cli& cli) {
  cli.add_unimplemented("mcmc", "Reference posteriors with the ensemble slice sampler", "issue #6");
}
void register_validate(Cli& cli) {
  cli.add_unimplemented("validate", "Calibration metrics and plots on a held-out test set", "issue #10");
}
void register_sed(Cli& cli) {
  cli.add_unimplemented("sed", "Evaluate the SED model once: band fluxes and magnitudes", "issue #8");
}
void register_noise(Cli& cli) {
  cli.add_unimplemented("noise", "Fit the empirical noise model from a real catalog", "issue #8");
}

}  // namespace sedpost::app
