#!/usr/bin/env bash
# Usage: sbibm_pipeline_test.sh PYTHON SBIBM_CHECK SEDPOST MPIEXEC
# End-to-end smoke test of validation/sbibm_check.py on gaussian_linear: simulate 10^3 rows,
# `sedpost train` for 3 epochs (--flow auto: an affine and a spline flow, the lower validation
# loss kept), `sedpost sample` for 2 observations, moments vs the analytic posterior; checks
# the result JSON and the training log. No quality threshold (3 epochs), no C2ST (scikit-learn
# is optional here). ~20 s on 2 idle cores, mostly the two mpirun start-ups.
set -u
python=$1 check=$2 sedpost=$3 mpiexec=$4
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$python" "$check" --task gaussian_linear --budget 1000 --max-epochs 3 --ranks 2 \
  --observations 1-2 --n-samples 500 --no-c2st \
  --sedpost "$sedpost" --mpiexec "$mpiexec" --workdir "$tmp/work" --json "$tmp/result.json" \
  >"$tmp/run.log" 2>&1 || fail "sbibm_check.py exited $?: $(tail -20 "$tmp/run.log")"

"$python" - "$tmp/result.json" "$tmp/work" <<'PY' || fail "bad result JSON"
import json, math, os, sys
import h5py
r = json.load(open(sys.argv[1]))
work = sys.argv[2]
assert r["task"] == "gaussian_linear" and r["budget"] == 1000, r
assert [o["observation"] for o in r["observations"]] == [1, 2], r["observations"]
for o in r["observations"]:
    for k in ("mean_bias_in_sd", "std_rel_error"):
        assert math.isfinite(o[k]), (k, o)
for k in ("mean_bias_in_sd", "std_rel_error"):
    assert math.isfinite(r["summary"][k]), r["summary"]
assert r["epochs"]["trained"] == 3, r["epochs"]
assert set(r["times"]) >= {"simulate_s", "train_s", "sample_s", "metrics_s"}, r["times"]
with h5py.File(os.path.join(work, "train.h5"), "r") as f:
    assert f["theta"].shape == (1000, 10) and f["x"].shape == (1000, 10)
with h5py.File(os.path.join(work, "samples.h5"), "r") as f:
    assert f["samples"].shape == (2, 500, 10), f["samples"].shape
print("ok")
PY
# Both candidate flows trained, one kept, its checkpoints removed.
grep -q "best validation losses maf .*, nsf .*; keeping \(maf\|nsf\)" "$tmp/work/train.log" \
  || fail "train.log does not report the --flow auto choice: $(grep -i 'validation loss' "$tmp/work/train.log")"
ls "$tmp/work"/model.pt.*ckpt >/dev/null 2>&1 && fail "candidate checkpoints left behind"
echo "PASS"
