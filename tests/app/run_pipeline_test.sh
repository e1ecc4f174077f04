#!/usr/bin/env bash
# Usage: run_pipeline_test.sh MPIEXEC SEDPOST SOURCE_DIR
# `sedpost run` end to end on a tiny version of configs/demo.toml under mpirun -n 2: every
# implemented stage writes a complete output, the truth-vs-posterior table is printed, and a
# second run skips every stage (resume).
set -u
mpiexec=$1 sedpost=$2 src=$3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
# The demo config with a small training set, flow and chain.
sed -e 's/^n = 20000/n = 3000/' -e 's/^blocks = 5/blocks = 2/' -e 's/^hidden = 128/hidden = 32/' \
    -e 's/^max_epochs = 60/max_epochs = 3/' -e 's/^steps = 4000/steps = 300/' "$src/configs/demo.toml" >tiny.toml
grep -q "^n = 3000" tiny.toml && grep -q "^max_epochs = 3" tiny.toml || fail "could not shrink the demo config"

"$mpiexec" -n 2 "$sedpost" run tiny.toml --out-dir out --n-test 20 --n-samples 200 >log 2>&1 || fail "run: $(tail -30 log)"
for f in train.h5 test.h5 samples.h5 chains.h5; do
  /usr/bin/python3 -c "import h5py,sys; sys.exit(0 if h5py.File('out/$f').attrs['complete'] == 1 else 1)" \
    || fail "out/$f is not complete"
done
[ -f out/model.pt ] || fail "no model file"
[ -f out/model.pt.curve.csv ] || fail "no training curve"
grep -q "held-out galaxy 0" log || fail "no truth-vs-posterior table: $(tail -20 log)"
grep -q "log_mstar_formed" log || fail "table lacks parameters"
grep -q "seed 20222" log || fail "the test set should use seed + 1"

"$mpiexec" -n 2 "$sedpost" run tiny.toml --out-dir out --n-test 20 --n-samples 200 >log2 2>&1 || fail "rerun: $(tail -20 log2)"
[ "$(grep -c 'is complete, skipped' log2)" -eq 5 ] || fail "rerun should skip the 5 finished stages: $(cat log2)"
echo PASS
