#!/usr/bin/env bash
# Usage: metrics_json_test.sh PYTHON METRICS_EXAMPLE
# metrics.json written by the C++ writer (validation_metrics_example) parses with Python's json
# module (strict: NaN/Infinity literals rejected) and has the keys and types docs/metrics.md
# documents for schema_version 1.
set -u
python=$1 example=$2
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$example" "$tmp" || fail "validation_metrics_example exited $?"
"$python" - "$tmp/metrics.json" <<'PY' || fail "metrics.json does not follow the schema"
import json, sys

def no_constants(name):
    raise ValueError("non-JSON constant " + name)

m = json.load(open(sys.argv[1]), parse_constant=no_constants)
assert m["schema_version"] == 1
assert set(m) >= {"schema_version", "run", "thresholds", "calibration", "flags", "flow_vs_mcmc", "checks", "pass"}, set(m)
t = m["thresholds"]
assert t == {"sbc_min_p_value": 0.001, "tarp_coefficient": 1.63, "flow_mcmc_max_median_shift": 0.2,
             "flow_mcmc_min_galaxies": 20, "chi2_draw_min_p_value": 0.001, "flag_binomial_level": 0.001}, t
c = m["calibration"]
assert set(c) >= {"n_galaxies", "n_samples", "settings", "levels", "quantities", "tarp"}
L = len(c["levels"])
assert c["levels"][0] == 0 and c["levels"][-1] == 1 and L == c["settings"]["n_levels"]
for q in c["quantities"]:
    assert set(q) >= {"name", "n_used", "pp_ecdf", "central_coverage", "pp_max_deviation", "coverage_68",
                      "coverage_95", "median_bias", "median_rmse", "mean_posterior_std", "sbc"}, set(q)
    assert len(q["pp_ecdf"]) == L and len(q["central_coverage"]) == L
    s = q["sbc"]
    assert set(s) >= {"n_ranks", "n_bins", "histogram", "chi2", "chi2_dof", "chi2_p_value", "ks_statistic",
                      "ks_p_value", "outer_fraction", "outer_expected", "outer_z", "mean_rank_offset"}, set(s)
    assert len(s["histogram"]) == s["n_bins"] and sum(s["histogram"]) == q["n_used"]
    assert (s["n_ranks"] + 1) % s["n_bins"] == 0
tp = c["tarp"]
assert set(tp) >= {"quantities", "n_used", "ecp", "max_deviation", "ks_p_value"} and len(tp["ecp"]) == L
f = m["flags"]
assert set(f) >= {"n_galaxies", "n_flagged", "fraction_flagged", "per_flag"}
assert all(set(p) >= {"bit", "name", "count", "fraction", "expected", "allowed"} for p in f["per_flag"])
g = m["goodness_of_fit"]
assert set(g) >= {"n_galaxies", "dof", "chi2_draw_ks", "chi2_draw_ks_p_value", "chi2_draw_median", "chi2_best_ks",
                  "chi2_best_ks_p_value", "chi2_best_median", "chi2_best_p90", "chi2_best_fraction_above_100"}, set(g)
w = m["weighting"]
assert set(w) >= {"n_galaxies", "median_ess", "median_ess_per_1000_draws", "median_efficiency", "fraction_refined",
                  "mean_draws"}, set(w)
fm = m["flow_vs_mcmc"]
G, K = fm["n_galaxies"], len(fm["quantities"])
for key in ("median_flow", "median_mcmc", "std_mcmc", "median_shift", "std_ratio", "marginal_c2st"):
    assert len(fm[key]) == G and all(len(r) == K for r in fm[key]), key
assert len(fm["ids"]) == G and len(fm["joint_c2st"]) == G and len(fm["n_mcmc_used"]) == G
assert all(set(p) >= {"name", "n_galaxies", "median_abs_median_shift", "max_abs_median_shift",
                      "median_std_ratio", "median_marginal_c2st"} for p in fm["per_quantity"])
for ch in m["checks"]:
    assert set(ch) >= {"name", "quantity", "value", "comparison", "threshold", "passed", "note"}, ch
    assert ch["comparison"] in ("<", ">", "<=") and ch["passed"] in (True, False, None)
names = [ch["name"] for ch in m["checks"]]
assert names.count("sbc_uniformity") == len(c["quantities"]) and names.count("tarp") == 1
# The example makes its third quantity overconfident: that SBC check fails, so the document fails.
assert m["checks"][2]["passed"] is False and m["pass"] is False
print("ok")
PY
echo "PASS"
