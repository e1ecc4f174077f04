#!/usr/bin/env bash
# Usage: make_report_test.sh PYTHON METRICS_EXAMPLE MAKE_REPORT FIXTURE
# Builds a tiny synthetic REPORT_DIR (HDF5 fixtures from make_report_fixture.py, metrics.json
# from the C++ writer), runs validation/make_report.py on it and checks that every figure and
# index.html exist; then again without the optional files, which must be noted, not fatal.
set -u
python=$1 example=$2 report=$3 fixture=$4
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$python" "$fixture" "$tmp/full" || fail "fixture generator exited $?"
"$example" "$tmp/full" || fail "validation_metrics_example exited $?"
"$python" "$report" "$tmp/full" >"$tmp/full.log" 2>&1 || fail "make_report.py exited $?: $(tail -20 "$tmp/full.log")"
for f in index.html pp.png sbc.png tarp.png flow_vs_mcmc.png corner.png pred_vs_true.png sed.png \
         real_params.png real_flags.png real_mags.png; do
  [ -s "$tmp/full/$f" ] || fail "missing $f; log: $(cat "$tmp/full.log")"
  grep -q "$f" "$tmp/full/index.html" || [ "$f" = index.html ] || fail "index.html does not show $f"
done
grep -q "not drawn" "$tmp/full.log" && fail "a figure failed: $(cat "$tmp/full.log")"
grep -q "FAIL" "$tmp/full/index.html" || fail "index.html does not show the failing check"
grep -q "sbc_uniformity" "$tmp/full/index.html" || fail "index.html has no checks table"

# Only the test catalog: no metrics.json, chains.h5 or nsa_posteriors.h5.
"$python" "$fixture" "$tmp/min" --no-chains --no-real || fail "fixture generator (minimal) exited $?"
"$python" "$report" "$tmp/min" --out "$tmp/min_out" >"$tmp/min.log" 2>&1 \
  || fail "make_report.py (minimal) exited $?: $(tail -20 "$tmp/min.log")"
for f in index.html pred_vs_true.png corner.png sed.png; do
  [ -s "$tmp/min_out/$f" ] || fail "minimal: missing $f; log: $(cat "$tmp/min.log")"
done
for f in pp.png real_params.png; do
  [ -e "$tmp/min_out/$f" ] && fail "minimal: $f drawn without its input"
done
for word in "metrics.json missing" "chains.h5 missing" "nsa_posteriors.h5 missing"; do
  grep -q "$word" "$tmp/min_out/index.html" || fail "minimal: index.html lacks the note '$word'"
done
echo "PASS"
