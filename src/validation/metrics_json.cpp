#include "validation/metrics_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <utility>

#include "core/error.hpp"

namespace sedpost::validation {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Minimal JSON value: enough to build metrics.json as a tree and print it.
struct J {
  enum class T { kNull, kBool, kNum, kInt, kStr, kArr, kObj } t = T::kNull;
  bool b = false;
  double d = 0.0;
  long long i = 0;
  std::string s;
  std::vector<J> arr;
  std::vector<std::pair<std::string, J>> obj;

  J() = default;
  J(bool v) : t(T::kBool), b(v) {}                                                // NOLINT
  J(double v) : t(T::kNum), d(v) {}                                               // NOLINT
  J(int v) : t(T::kInt), i(v) {}                                                  // NOLINT
  J(long long v) : t(T::kInt), i(v) {}                                            // NOLINT
  J(long v) : t(T::kInt), i(v) {}                                                 // NOLINT
  J(const char* v) : t(T::kStr), s(v) {}                                          // NOLINT
  J(std::string v) : t(T::kStr), s(std::move(v)) {}                               // NOLINT
  J(std::optional<bool> v) : t(v ? T::kBool : T::kNull), b(v.value_or(false)) {}  // NOLINT
  template <class X>
  J(const std::vector<X>& v) : t(T::kArr) {  // NOLINT
    for (const auto& x : v) arr.emplace_back(x);
  }
  static J object() {
    J j;
    j.t = T::kObj;
    return j;
  }
  J& add(const std::string& key, J v) {
    obj.emplace_back(key, std::move(v));
    return *this;
  }
  bool scalar() const { return t != T::kArr && t != T::kObj; }
};

void escape(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void print(const J& j, std::string& out, int indent) {
  switch (j.t) {
    case J::T::kNull:
      out += "null";
      return;
    case J::T::kBool:
      out += j.b ? "true" : "false";
      return;
    case J::T::kInt:
      out += std::to_string(j.i);
      return;
    case J::T::kNum: {
      if (!std::isfinite(j.d)) {  // JSON has no NaN / Infinity
        out += "null";
        return;
      }
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, j.d);  // shortest round-trip form
      out.append(buf, r.ptr);
      return;
    }
    case J::T::kStr:
      escape(j.s, out);
      return;
    case J::T::kArr: {
      bool all_scalar = true;
      for (const auto& x : j.arr) all_scalar = all_scalar && x.scalar();
      out += '[';
      for (std::size_t k = 0; k < j.arr.size(); ++k) {
        if (all_scalar) {
          if (k) out += ", ";
        } else {
          out += k ? ",\n" : "\n";
          out.append(static_cast<std::size_t>(indent + 2), ' ');
        }
        print(j.arr[k], out, indent + 2);
      }
      if (!all_scalar && !j.arr.empty()) {
        out += '\n';
        out.append(static_cast<std::size_t>(indent), ' ');
      }
      out += ']';
      return;
    }
    case J::T::kObj: {
      out += '{';
      for (std::size_t k = 0; k < j.obj.size(); ++k) {
        out += k ? ",\n" : "\n";
        out.append(static_cast<std::size_t>(indent + 2), ' ');
        escape(j.obj[k].first, out);
        out += ": ";
        print(j.obj[k].second, out, indent + 2);
      }
      if (!j.obj.empty()) {
        out += '\n';
        out.append(static_cast<std::size_t>(indent), ' ');
      }
      out += '}';
      return;
    }
  }
}

J sbc_json(const SbcResult& s) {
  return J::object()
      .add("n_ranks", s.n_ranks)
      .add("n_bins", s.n_bins)
      .add("histogram", s.histogram)
      .add("chi2", s.chi2)
      .add("chi2_dof", s.chi2_dof)
      .add("chi2_p_value", s.chi2_p_value)
      .add("ks_statistic", s.ks_statistic)
      .add("ks_p_value", s.ks_p_value)
      .add("outer_fraction", s.outer_fraction)
      .add("outer_expected", s.outer_expected)
      .add("outer_z", s.outer_z)
      .add("mean_rank_offset", s.mean_rank_offset);
}

J calibration_json(const CalibrationReport& c) {
  J settings = J::object()
                   .add("n_levels", c.settings.n_levels)
                   .add("sbc_bins", c.settings.sbc_bins)
                   .add("sbc_max_rank", c.settings.sbc_max_rank)
                   .add("seed", static_cast<long long>(c.settings.seed))
                   .add("tarp_quantities", c.tarp.quantities);
  J per;
  per.t = J::T::kArr;
  for (const auto& q : c.quantities)
    per.arr.push_back(J::object()
                          .add("name", q.name)
                          .add("n_used", static_cast<long long>(q.n_used))
                          .add("pp_ecdf", q.pp_ecdf)
                          .add("central_coverage", q.central_coverage)
                          .add("pp_max_deviation", q.pp_max_deviation)
                          .add("coverage_68", q.coverage_68)
                          .add("coverage_95", q.coverage_95)
                          .add("median_bias", q.median_bias)
                          .add("median_rmse", q.median_rmse)
                          .add("mean_posterior_std", q.mean_posterior_std)
                          .add("sbc", sbc_json(q.sbc)));
  std::vector<std::string> tarp_names;
  for (int k : c.tarp.quantities)
    if (k >= 0 && static_cast<std::size_t>(k) < c.quantities.size())
      tarp_names.push_back(c.quantities[k].name);
  J tarp = J::object()
               .add("quantities", tarp_names)
               .add("n_used", static_cast<long long>(c.tarp.n_used))
               .add("ecp", c.tarp.ecp)
               .add("max_deviation", c.tarp.max_deviation)
               .add("ks_p_value", c.tarp.ks_p_value);
  return J::object()
      .add("n_galaxies", static_cast<long long>(c.n_galaxies))
      .add("n_samples", static_cast<long long>(c.n_samples))
      .add("settings", settings)
      .add("levels", c.levels)
      .add("quantities", per)
      .add("tarp", tarp);
}

J flags_json(const FlagSummary& f) {
  J per;
  per.t = J::T::kArr;
  for (std::size_t b = 0; b < f.names.size(); ++b)
    per.arr.push_back(J::object()
                          .add("bit", static_cast<int>(b))
                          .add("name", f.names[b])
                          .add("count", static_cast<long long>(f.counts[b]))
                          .add("fraction", f.fractions[b])
                          .add("expected", b < f.expected.size() ? J(f.expected[b]) : J())
                          .add("allowed", b < f.allowed.size() ? J(f.allowed[b]) : J()));
  return J::object()
      .add("n_galaxies", static_cast<long long>(f.n_galaxies))
      .add("n_flagged", static_cast<long long>(f.n_flagged))
      .add("fraction_flagged", f.fraction_flagged)
      .add("per_flag", per);
}

J goodness_json(const GoodnessOfFit& g) {
  return J::object()
      .add("n_galaxies", static_cast<long long>(g.n))
      .add("dof", g.dof)
      .add("chi2_draw_ks", g.ks_draw)
      .add("chi2_draw_ks_p_value", g.p_draw)
      .add("chi2_draw_median", g.median_draw)
      .add("chi2_best_ks", g.ks_best)
      .add("chi2_best_ks_p_value", g.p_best)
      .add("chi2_best_median", g.median_best)
      .add("chi2_best_p90", g.p90_best)
      .add("chi2_best_fraction_above_100", g.fraction_best_above_100);
}

J weighting_json(const WeightingSummary& w) {
  return J::object()
      .add("n_galaxies", static_cast<long long>(w.n))
      .add("median_ess", w.median_ess)
      .add("median_ess_per_1000_draws", w.median_ess_per_1000)
      .add("median_efficiency", w.median_efficiency)
      .add("fraction_refined", w.fraction_refined)
      .add("mean_draws", w.mean_draws);
}

/// [G, K] row-major -> array of G arrays.
J matrix(const std::vector<double>& m, std::size_t rows, std::size_t cols) {
  J out;
  out.t = J::T::kArr;
  for (std::size_t r = 0; r < rows; ++r)
    out.arr.emplace_back(std::vector<double>(m.begin() + static_cast<std::ptrdiff_t>(r * cols),
                                             m.begin() + static_cast<std::ptrdiff_t>((r + 1) * cols)));
  return out;
}

J flow_mcmc_json(const FlowMcmcComparison& c) {
  const std::size_t g = static_cast<std::size_t>(c.n_galaxies), k = c.names.size();
  J per;
  per.t = J::T::kArr;
  for (const auto& q : c.per_quantity)
    per.arr.push_back(J::object()
                          .add("name", q.name)
                          .add("n_galaxies", static_cast<long long>(q.n_galaxies))
                          .add("median_abs_median_shift", q.median_abs_median_shift)
                          .add("max_abs_median_shift", q.max_abs_median_shift)
                          .add("median_std_ratio", q.median_std_ratio)
                          .add("median_marginal_c2st", q.median_marginal_c2st));
  std::vector<long long> ids(c.ids.begin(), c.ids.end()), used(c.n_mcmc_used.begin(), c.n_mcmc_used.end());
  return J::object()
      .add("n_galaxies", static_cast<long long>(c.n_galaxies))
      .add("quantities", c.names)
      .add("ids", ids)
      .add("n_mcmc_used", used)
      .add("median_flow", matrix(c.median_flow, g, k))
      .add("median_mcmc", matrix(c.median_mcmc, g, k))
      .add("std_mcmc", matrix(c.std_mcmc, g, k))
      .add("median_shift", matrix(c.median_shift, g, k))
      .add("std_ratio", matrix(c.std_ratio, g, k))
      .add("joint_c2st", c.joint_c2st)
      .add("marginal_c2st", matrix(c.marginal_c2st, g, k))
      .add("median_joint_c2st", c.median_joint_c2st)
      .add("per_quantity", per);
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::vector<Check> evaluate_checks(const MetricsReport& r) {
  std::vector<Check> out;
  const Thresholds& t = r.thresholds;
  if (r.calibration) {
    for (const auto& q : r.calibration->quantities) {
      Check c{"sbc_uniformity", q.name, q.sbc.chi2_p_value, ">", t.sbc_min_p_value, std::nullopt, ""};
      if (std::isfinite(c.value))
        c.passed = c.value > c.threshold;
      else
        c.note = "no usable galaxies";
      out.push_back(c);
    }
    const auto& tp = r.calibration->tarp;
    Check c{"tarp",
            "",
            tp.max_deviation,
            "<",
            tp.n_used > 0 ? t.tarp_coefficient / std::sqrt(static_cast<double>(tp.n_used)) : kNaN,
            std::nullopt,
            "threshold = " + format_number(t.tarp_coefficient) +
                " / sqrt(n_used = " + std::to_string(tp.n_used) + ")"};
    if (std::isfinite(c.value) && std::isfinite(c.threshold)) c.passed = c.value < c.threshold;
    out.push_back(c);
  }
  if (r.flags) {
    const FlagSummary& f = *r.flags;
    for (std::size_t b = 0; b < f.names.size() && b < f.allowed.size(); ++b) {
      if (std::isnan(f.expected[b])) continue;
      Check c{"flag_rate", f.names[b], f.fractions[b], "<=", f.allowed[b], std::nullopt,
              "expected rate " + format_number(f.expected[b]) + " over " + std::to_string(f.n_galaxies) +
                  " galaxies; limit: binomial upper tail >= " + format_number(t.flag_binomial_level)};
      if (std::isfinite(c.value) && std::isfinite(c.threshold)) c.passed = c.value <= c.threshold;
      out.push_back(c);
    }
  }
  if (r.goodness_of_fit) {
    const GoodnessOfFit& g = *r.goodness_of_fit;
    Check c{"chi2_draw_ks", "", g.p_draw, ">", t.chi2_draw_min_p_value, std::nullopt,
            "KS p-value of the chi^2 at a posterior draw against chi^2 with " + format_number(g.dof) + " dof, " +
                std::to_string(g.n) + " galaxies"};
    if (std::isfinite(c.value)) c.passed = c.value > c.threshold;
    else c.note = "no chi2_draw values (weighting off)";
    out.push_back(c);
  }
  if (r.flow_vs_mcmc) {
    for (const auto& q : r.flow_vs_mcmc->per_quantity) {
      Check c{"flow_mcmc_median_shift",
              q.name,
              q.median_abs_median_shift,
              "<",
              t.flow_mcmc_max_median_shift,
              std::nullopt,
              std::to_string(q.n_galaxies) + " galaxies"};
      if (q.n_galaxies < t.flow_mcmc_min_galaxies)
        c.note = "needs >= " + std::to_string(t.flow_mcmc_min_galaxies) + " galaxies, have " +
                 std::to_string(q.n_galaxies);
      else if (std::isfinite(c.value))
        c.passed = c.value < c.threshold;
      out.push_back(c);
    }
  }
  return out;
}

std::string to_json(const MetricsReport& r) {
  J root = J::object();
  root.add("schema_version", kMetricsSchemaVersion);
  J run = J::object();
  for (const auto& [k, v] : r.run_info) run.add(k, v);
  root.add("run", run);
  const Thresholds& t = r.thresholds;
  root.add("thresholds", J::object()
                             .add("sbc_min_p_value", t.sbc_min_p_value)
                             .add("tarp_coefficient", t.tarp_coefficient)
                             .add("flow_mcmc_max_median_shift", t.flow_mcmc_max_median_shift)
                             .add("flow_mcmc_min_galaxies", t.flow_mcmc_min_galaxies)
                             .add("chi2_draw_min_p_value", t.chi2_draw_min_p_value)
                             .add("flag_binomial_level", t.flag_binomial_level));
  root.add("calibration", r.calibration ? calibration_json(*r.calibration) : J());
  root.add("flags", r.flags ? flags_json(*r.flags) : J());
  root.add("flow_vs_mcmc", r.flow_vs_mcmc ? flow_mcmc_json(*r.flow_vs_mcmc) : J());
  root.add("goodness_of_fit", r.goodness_of_fit ? goodness_json(*r.goodness_of_fit) : J());
  root.add("weighting", r.weighting ? weighting_json(*r.weighting) : J());
  const auto checks = evaluate_checks(r);
  J cj;
  cj.t = J::T::kArr;
  std::optional<bool> all;
  for (const auto& c : checks) {
    cj.arr.push_back(J::object()
                         .add("name", c.name)
                         .add("quantity", c.quantity.empty() ? J() : J(c.quantity))
                         .add("value", c.value)
                         .add("comparison", c.comparison)
                         .add("threshold", c.threshold)
                         .add("passed", c.passed)
                         .add("note", c.note));
    if (c.passed) all = all.value_or(true) && *c.passed;
  }
  root.add("checks", cj);
  root.add("pass", all);
  std::string out;
  print(root, out, 0);
  out += '\n';
  return out;
}

void write_metrics_json(const std::string& path, const MetricsReport& report) {
  const std::string text = to_json(report);
  const std::string tmp = path + ".partial";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw IoError("cannot open " + tmp + " for writing");
    f << text;
    f.flush();
    if (!f) throw IoError("write to " + tmp + " failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw IoError("cannot rename " + tmp + " to " + path);
}

}  // namespace sedpost::validation
