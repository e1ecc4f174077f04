#!/usr/bin/env bash
# Usage: stage_script_test.sh SEDPOST SOURCE_DIR
#
# jobs/lib/stage.sh and jobs/submit.sh without a scheduler (no Slurm needed; launcher mpirun,
# 2 ranks): a stage writes its outputs, a second call skips them, an interrupted output is
# resumed, missing inputs and usage errors give clear exit codes, a subcommand that is not
# implemented yet exits 6 (0 with SEDPOST_ALLOW_PENDING=1), and submit.sh --dry-run prints
# the dependency chain. About 30 s.
set -u
sedpost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SEDPOST_BIN=$sedpost SEDPOST_LAUNCHER=mpirun SEDPOST_RANKS=2
stage() { bash "$src/jobs/lib/stage.sh" "$@"; }
cfg=$src/tests/jobs/tiny.toml
out=$tmp/out

stage bogus "$cfg" "$out" >"$tmp/log" 2>&1; rc=$?
[ $rc -eq 64 ] || fail "unknown stage should exit 64, got $rc"
stage simulate "$tmp/nope.toml" "$out" >"$tmp/log" 2>&1; rc=$?
[ $rc -eq 64 ] && grep -q "not found" "$tmp/log" || fail "missing config should exit 64 naming it, got $rc"
stage train "$cfg" "$out" >"$tmp/log" 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "run the 'simulate' stage first" "$tmp/log" || fail "train without a training set should exit 3, got $rc: $(cat "$tmp/log")"
SEDPOST_BIN=$tmp/none stage simulate "$cfg" "$out" >"$tmp/log" 2>&1; rc=$?
[ $rc -eq 64 ] && grep -q "SEDPOST_BIN" "$tmp/log" || fail "a missing binary should exit 64 naming SEDPOST_BIN, got $rc"

stage simulate "$cfg" "$out" >"$tmp/log" 2>&1 || fail "simulate stage: $(tail -20 "$tmp/log")"
[ -f "$out/train.h5" ] || fail "simulate stage wrote no train.h5"
grep -q "2 rank(s)" "$tmp/log" || fail "simulate did not run on 2 ranks"
stage simulate "$cfg" "$out" >"$tmp/log" 2>&1 || fail "simulate stage again"
grep -q "is complete, skipped" "$tmp/log" || fail "second simulate should skip train.h5: $(cat "$tmp/log")"
grep -q "sedpost-job: run: " "$tmp/log" && fail "second simulate ran sedpost again"

# An interrupted training set: the partial file of a run killed half-way.
cp "$out/train.h5" "$tmp/keep.h5"
mv "$out/train.h5" "$out/train.h5.partial"
/usr/bin/python3 - "$out/train.h5.partial" <<'EOF' || fail "could not fake an interrupted file"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["row_done"][1000:1500] = 0
    f["row_done"][2500:] = 0
    del f.attrs["complete"]
EOF
stage simulate "$cfg" "$out" >"$tmp/log" 2>&1 || fail "resumed simulate stage: $(tail -20 "$tmp/log")"
grep -q "found $out/train.h5.partial" "$tmp/log" || fail "stage did not report the partial file"
grep -q "resuming $out/train.h5.partial: 2000 of 3000 rows done" "$tmp/log" || fail "simulate did not resume: $(cat "$tmp/log")"
/usr/bin/python3 "$src/tests/app/h5_equal.py" "$out/train.h5" "$tmp/keep.h5" >"$tmp/eq" 2>&1 ||
  fail "resumed training set differs from the uninterrupted one: $(cat "$tmp/eq")"

stage train "$cfg" "$out" --max-epochs 2 >"$tmp/log" 2>&1 || fail "train stage: $(tail -20 "$tmp/log")"
[ -f "$out/model.pt" ] || fail "no model.pt"
grep -q -- "--resume" "$tmp/log" || fail "train should be called with --resume"

for s in infer validate; do
  if "$sedpost" "$s" --help 2>/dev/null | grep -q "not implemented yet"; then
    stage "$s" "$cfg" "$out" >"$tmp/log" 2>&1; rc=$?
    [ $rc -eq 6 ] && grep -q "not implemented yet" "$tmp/log" || fail "$s (not implemented) should exit 6, got $rc"
    SEDPOST_ALLOW_PENDING=1 stage "$s" "$cfg" "$out" >"$tmp/log" 2>&1 || fail "$s with SEDPOST_ALLOW_PENDING=1 should exit 0"
    echo "note: sedpost $s not implemented yet (stage exits 6)"
  fi
done
if ! "$sedpost" infer --help 2>/dev/null | grep -q "not implemented yet"; then
  stage infer "$cfg" "$out" --n-samples 50 >"$tmp/log" 2>&1 || fail "infer stage: $(tail -20 "$tmp/log")"
  [ -f "$out/posteriors.h5" ] || fail "infer stage wrote no posteriors.h5"
  stage infer "$cfg" "$out" >"$tmp/log" 2>&1 && grep -q "is complete, skipped" "$tmp/log" || fail "second infer should skip"
fi

bash "$src/jobs/submit.sh" --dry-run -N 2 -n 4 --time train=01:00:00 --args simulate="--n 5000" "$cfg" "$tmp/dry" >"$tmp/log" 2>&1 ||
  fail "submit.sh --dry-run: $(cat "$tmp/log")"
grep -q -- "--nodes=2 --ntasks-per-node=4" "$tmp/log" || fail "dry run lacks the node/rank options: $(cat "$tmp/log")"
grep "train.sbatch" "$tmp/log" | grep -q -- "--dependency=afterok:<simulate>" || fail "train should depend on simulate: $(cat "$tmp/log")"
grep "train.sbatch" "$tmp/log" | grep -q -- "--time=01:00:00" || fail "train time limit missing"
grep "infer.sbatch" "$tmp/log" | grep -q -- "--dependency=afterok:<train>" || fail "infer should depend on train"
grep "validate.sbatch" "$tmp/log" | grep -q -- "--dependency=afterok:<train>:<infer>" || fail "validate should depend on train and infer"
grep "simulate.sbatch" "$tmp/log" | grep -q -- "--n 5000" || fail "simulate args missing"
bash "$src/jobs/submit.sh" --dry-run "$cfg" "$out" >"$tmp/log" 2>&1 || fail "submit.sh --dry-run on a finished dir"
grep -q "^simulate complete" "$tmp/log" && grep -q "^train complete" "$tmp/log" || fail "complete stages should not be submitted: $(cat "$tmp/log")"
grep "infer.sbatch" "$tmp/log" | grep -q -- "--dependency" && fail "infer should not wait for a stage that is not submitted"
grep -q "mcmc" "$tmp/log" && fail "mcmc is not a default stage"
echo PASS
