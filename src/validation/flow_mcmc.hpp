#pragma once
/// Flow vs MCMC posteriors of the same galaxies (MODEL.md section 10, last item): per galaxy and
/// quantity the shift of the posterior medians in units of the MCMC std and the ratio of stds,
/// per galaxy the joint C2ST (and optionally per quantity the marginal C2ST), and per quantity
/// the median of |shift| over galaxies (issue #10 asks median |shift| < 0.2 over >= 20 galaxies).
#include <cstdint>
#include <string>
#include <vector>

#include "validation/c2st.hpp"
#include "validation/calibration.hpp"

namespace sedpost::validation {

/// Settings of compare_flow_mcmc().
struct FlowMcmcSettings {
  bool joint_c2st = true;     ///< C2ST on the joint K-dim space, per galaxy
  bool marginal_c2st = true;  ///< C2ST of each quantity alone (1-D), per galaxy
  C2stSettings c2st;          ///< classifier settings (seed is combined with the galaxy index)
  /// Thinning of the MCMC rows for the C2ST only (medians and stds use every row). MCMC draws
  /// close in time are near each other, which a nearest-neighbour classifier sees as a
  /// difference; for /chains [G, steps, walkers, P] viewed as [G, steps * walkers, P] set
  /// mcmc_walkers = walkers and mcmc_thin_steps ~ the autocorrelation time to keep roughly
  /// independent draws: row r is kept when (r / mcmc_walkers) % mcmc_thin_steps == 0.
  std::size_t mcmc_walkers = 1;
  std::size_t mcmc_thin_steps = 1;
};

/// Per-quantity aggregate over galaxies (over the galaxies where the value is finite).
struct FlowMcmcQuantitySummary {
  std::string name;
  std::int64_t n_galaxies = 0;           ///< galaxies with a finite shift
  double median_abs_median_shift = 0.0;  ///< median over galaxies of |shift|
  double max_abs_median_shift = 0.0;     ///< max over galaxies of |shift|
  double median_std_ratio = 0.0;         ///< median over galaxies of std_flow / std_mcmc
  double median_marginal_c2st = 0.0;     ///< median of the marginal C2ST (NaN if not run)
};

/// Everything compare_flow_mcmc() measures. Matrices are [G, K] row-major in std::vector.
struct FlowMcmcComparison {
  std::vector<std::string> names;                     ///< [K]
  std::vector<std::int64_t> ids;                      ///< [G] caller's ids (e.g. test-set row index)
  std::int64_t n_galaxies = 0;                        ///< G
  std::vector<std::int64_t> n_mcmc_used;              ///< [G] MCMC rows with all K values finite
  std::vector<double> median_flow;                    ///< [G, K]
  std::vector<double> median_mcmc;                    ///< [G, K]
  std::vector<double> std_mcmc;                       ///< [G, K]
  std::vector<double> median_shift;                   ///< [G, K] (median_flow - median_mcmc) / std_mcmc
  std::vector<double> std_ratio;                      ///< [G, K] std_flow / std_mcmc
  std::vector<double> joint_c2st;                     ///< [G] (NaN when not run or too few samples)
  std::vector<double> marginal_c2st;                  ///< [G, K] (NaN when not run)
  std::vector<FlowMcmcQuantitySummary> per_quantity;  ///< [K]
  double median_joint_c2st = 0.0;                     ///< median over galaxies (NaN when none)
};

/// Compares flow samples with MCMC samples of the same G galaxies and K quantities.
/// flow: view [G, S_f, K] (e.g. the first 12 columns of a catalog's [G, S_f, 18] samples);
/// mcmc: view [G, S_m, K] (e.g. /chains [G, steps, walkers, 12] seen as S_m = steps * walkers).
/// MCMC or flow rows with any non-finite value among the K are dropped (chains are NaN past a
/// galaxy's /n_steps). ids: [G] or empty (then 0..G-1). names: [K].
/// Throws sedpost::ConfigError when G or K differ between the views or names/ids sizes mismatch.
FlowMcmcComparison compare_flow_mcmc(const SamplesView& flow, const SamplesView& mcmc,
                                     const std::vector<std::string>& names,
                                     const std::vector<std::int64_t>& ids = {},
                                     const FlowMcmcSettings& settings = {});

}  // namespace sedpost::validation
