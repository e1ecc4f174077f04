#pragma once
/// The table `sedpost run` prints at the end: for a few held-out simulated galaxies, the
/// true parameters beside the flow's posterior median and 68 % interval, and the MCMC
/// median where chains exist.
#include <string>

namespace sedpost::app {

/// Reads `test_path` (/theta_physical truth), `samples_path` (/samples in flow coordinates
/// from `sedpost sample`) and, when it exists, `chains_path` (/chains, physical); prints
/// the table for the first `n_galaxies` rows to stdout. Rank 0 only; throws DataError.
void print_run_summary(const std::string& test_path, const std::string& samples_path,
                       const std::string& chains_path, int n_galaxies);

}  // namespace sedpost::app
