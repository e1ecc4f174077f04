#pragma once
/// The table `sedpost run` prints at the end: for a few held-out simulated galaxies, the true
/// parameters beside the flow's posterior median and 68 % interval, and the MCMC median where
/// chains exist; then the validation checks and the real-catalog flags.
#include <string>

namespace sedpost::app {

/// Reads `posteriors_path` (posterior catalog of the simulated test set: /truth, /summary)
/// and, when it is complete, `chains_path` (/chains, /row); prints the table for the first
/// `n_galaxies` rows to stdout. Rank 0 only; throws DataError.
void print_run_summary(const std::string& posteriors_path, const std::string& chains_path, int n_galaxies);

}  // namespace sedpost::app
