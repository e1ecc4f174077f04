#!/usr/bin/env bash
# Usage: run_pipeline_test.sh MPIEXEC SEDPOST SOURCE_DIR
# `sedpost run` end to end on a tiny version of configs/demo.toml under mpirun -n 2: every
# stage writes a complete output (training set, model, NSA posterior catalog, validation report
# with test set, posteriors (the [validate] n_store draws ranked), MCMC chains, metrics.json and
# the HTML report), the truth-vs-posterior table is printed, and a second run skips every stage
# (resume).
set -u
mpiexec=$1 sedpost=$2 src=$3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# The demo config with a small training set, flow and chain.
sed -e 's/^n = 50000/n = 3000/' -e 's/^blocks = 5/blocks = 2/' -e 's/^hidden = 128/hidden = 32/' \
    -e 's/^max_epochs = 80/max_epochs = 3/' -e 's/^steps = 30000 /steps = 300 /' -e 's/^burn = 2000$/burn = 200/' -e 's/^n_test = 1000/n_test = 40/' \
    -e 's/^n_samples = 1000/n_samples = 200/' -e 's/^mcmc = 20/mcmc = 2/' -e '/^n_test = 40/a n_store = 150' \
    "$src/configs/demo.toml" >tiny.toml
grep -q "^n = 3000" tiny.toml && grep -q "^max_epochs = 3" tiny.toml && grep -q "^n_store = 150" tiny.toml &&
  grep -q "^mcmc = 2" tiny.toml || fail "could not shrink the demo config"

"$mpiexec" -n 2 "$sedpost" run tiny.toml --out-dir out >log 2>&1 || fail "run: $(tail -30 log)"
for f in train.h5 posteriors.h5 report/test_set.h5 report/test_posteriors.h5 report/chains.h5; do
  /usr/bin/python3 -c "import h5py,sys; sys.exit(0 if h5py.File('out/$f').attrs['complete'] == 1 else 1)" \
    || fail "out/$f is not complete"
done
[ -f out/model.pt ] || fail "no model file"
[ -f out/model.pt.curve.csv ] || fail "no training curve"
grep -q "held-out galaxy 0" log || fail "no truth-vs-posterior table: $(tail -20 log)"
grep -q "log_mstar_formed" log || fail "table lacks parameters"
grep -q "MCMC p50" log || fail "table lacks the MCMC medians"
grep -q "seed 20222" log || fail "the test set should use seed + 1"
/usr/bin/python3 - <<'PY' || fail "report incomplete"
import json, h5py
m = json.load(open("out/report/metrics.json"))
assert m["schema_version"] == 1, m.keys()
# validate draws n_samples = 200 per test galaxy and ranks n_store = 150 of them ([validate] table)
assert m["run"]["n_samples"] == "200" and m["run"]["n_store"] == "150", m["run"]
assert m["calibration"]["n_samples"] == 150, m["calibration"]["n_samples"]
with h5py.File("out/posteriors.h5") as f:
    assert f["summary"].shape[0] == 934, f["summary"].shape  # every A2052 galaxy has a row
with h5py.File("out/report/test_posteriors.h5") as f:
    assert f["samples"].shape == (40, 150, 22) and f["truth"].shape == (40, 22), f["samples"].shape
PY
[ -f out/report/index.html ] || fail "no out/report/index.html"
[ -f out/report/nsa_posteriors.h5 ] || fail "the report lacks the real-catalog posteriors"

"$mpiexec" -n 2 "$sedpost" run tiny.toml --out-dir out >log2 2>&1 || fail "rerun: $(tail -20 log2)"
[ "$(grep -c 'is complete, skipped' log2)" -eq 4 ] || fail "rerun should skip the 4 finished stages: $(cat log2)"
echo PASS
