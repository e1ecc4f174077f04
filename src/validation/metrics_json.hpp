#pragma once
/// metrics.json: one document with every validation metric, the pass/fail thresholds (issue
/// #10) and the checks against them. Schema in docs/metrics.md (schema_version 1). NaN and
/// infinities are written as null.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "validation/calibration.hpp"
#include "validation/flow_mcmc.hpp"
#include "validation/posterior_checks.hpp"

namespace sedpost::validation {

inline constexpr int kMetricsSchemaVersion = 1;

/// Pass/fail thresholds (issue #10), stored in metrics.json so the report can show them.
struct Thresholds {
  double sbc_min_p_value = 1e-3;            ///< SBC chi^2 p-value > this, per quantity
  double tarp_coefficient = 1.63;           ///< TARP max |ECP - alpha| < this / sqrt(N) (KS, 1%)
  double flow_mcmc_max_median_shift = 0.2;  ///< median |shift| < this (MCMC std), per quantity
  int flow_mcmc_min_galaxies = 20;          ///< the flow-MCMC check needs at least this many
  double chi2_draw_min_p_value = 1e-3;      ///< KS p-value of chi2_draw against chi^2_B > this
  double flag_binomial_level = 1e-3;        ///< a flag fails when P(Binomial(n, expected) >= count) < this
};

/// One check of a metric against its threshold. passed is empty when it cannot be evaluated
/// (e.g. fewer galaxies than needed, or a NaN metric); then note says why.
struct Check {
  std::string name;      ///< e.g. "sbc_uniformity", "tarp", "flow_mcmc_median_shift"
  std::string quantity;  ///< quantity name, empty for joint checks
  double value = 0.0;
  std::string comparison;  ///< ">" or "<": passes when value <comparison> threshold
  double threshold = 0.0;
  std::optional<bool> passed;
  std::string note;
};

/// Input of to_json(): any part may be missing.
struct MetricsReport {
  /// free-form run information written under "run" (e.g. {"model", "model.pt"}, {"test_set", ...})
  std::vector<std::pair<std::string, std::string>> run_info;
  std::optional<CalibrationReport> calibration;
  std::optional<FlagSummary> flags;
  std::optional<FlowMcmcComparison> flow_vs_mcmc;
  std::optional<GoodnessOfFit> goodness_of_fit;
  std::optional<WeightingSummary> weighting;
  Thresholds thresholds;
};

/// The checks of issue #10 for the parts present: per quantity SBC chi^2 p-value >
/// sbc_min_p_value; TARP max deviation < tarp_coefficient / sqrt(n_used); per quantity median
/// |flow - MCMC median shift| < flow_mcmc_max_median_shift when >= flow_mcmc_min_galaxies; per
/// flag with an expected rate, fraction <= allowed (binomial); chi2_draw KS p-value >
/// chi2_draw_min_p_value.
std::vector<Check> evaluate_checks(const MetricsReport& report);

/// The metrics.json document (pretty-printed, ends with a newline). Includes evaluate_checks()
/// and "pass" = all evaluable checks passed (null when none is evaluable).
std::string to_json(const MetricsReport& report);

/// Writes to_json(report) to path (via path + ".partial", then rename). Throws sedpost::IoError.
void write_metrics_json(const std::string& path, const MetricsReport& report);

}  // namespace sedpost::validation
