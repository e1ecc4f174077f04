#pragma once
/// The K = 22 quantities of a posterior catalog (docs/file-formats.md, "Posterior catalog"): the
/// 12 physical parameters, then 10 derived ones (MODEL.md section 11, and the SFH percentiles
/// t10, t25, t75, t90 appended after t50 so that the first 18 columns keep their places), and
/// their summaries.
#include <cstddef>
#include <string>
#include <vector>

#include "sps/sed_model.hpp"

namespace sedpost::catalog {

inline constexpr int kNumPhysical = 12;
inline constexpr int kNumDerived = 10;
inline constexpr int kNumQuantities = kNumPhysical + kNumDerived;

/// "log_mstar_formed", ..., "n_dust", "log_mstar", "log_sfr_100myr", "log_sfr_1gyr",
/// "log_age_mw", "log_z_mw", "t50", "t10", "t25", "t75", "t90" (t_X [Gyr]: lookback time by
/// which X % of the formed mass had formed).
const std::vector<std::string>& quantity_names();
/// One unit string per quantity.
const std::vector<std::string>& quantity_units();
/// With the redshift inferred (docs/photo-z.md) the catalog has one more quantity, "z", last
/// (K = 23); these return the K = 22 lists above without z, and append "z" (unit "") with it.
const std::vector<std::string>& quantity_names(bool z_inferred);
const std::vector<std::string>& quantity_units(bool z_inferred);

/// Writes the 10 derived quantities, in quantity order, to `out`.
void derived_values(const sps::DerivedQuantities& d, double* out);

/// Summary columns: mean, std, p2.5, p16, p50, p84, p97.5.
inline constexpr int kNumSummaryColumns = 7;
const std::vector<std::string>& summary_columns();

/// Summaries of `n` draws of one quantity (`values`, reordered in place). Mean and std (n - 1)
/// over the finite values; percentiles over all values (linear interpolation between order
/// statistics, numpy's default), so a -inf log SFR draw counts as the lowest. All NaN when
/// n == 0. Writes kNumSummaryColumns floats to `out`.
void summarize(std::vector<double>& values, float* out);

/// q-quantile (0 <= q <= 1) of sorted values [n >= 1], no NaN: linear interpolation between
/// order statistics (numpy's default); next to an infinite value, the nearer order statistic.
double quantile_sorted(const std::vector<double>& sorted, double q);

}  // namespace sedpost::catalog
