#!/usr/bin/env bash
# Usage: slurm_resume_test.sh SEDPOST SOURCE_DIR
#
# Checkpoint/restart across Slurm jobs, on a local Slurm (tests/jobs/local_slurm.sh), with
# the launcher mpirun inside the allocation (the pipeline test covers srun):
#  1. Time limit: jobs/slurm/simulate.sbatch with --time=1 on a training set sized to take
#     about 150 s here (measured first), so Slurm kills it (state TIMEOUT) part-way. The same
#     sbatch command again must resume: its log says "K of N rows done" with K the rows the
#     partial file marks done, it writes the rest, and the file is complete. Rows depend only
#     on (seed, row), so the resumed file must equal an uninterrupted run: checked bitwise on
#     the first K0 + 8192 rows (past the point where job 1 stopped on rank 0) against a fresh
#     run of that many rows.
#  2. Cancel mid-training: jobs/slurm/train.sbatch is cancelled (scancel: SIGTERM, then
#     SIGKILL, as at a time limit) once it has logged epoch 1; resubmitted, it must log
#     "resumed ... after epoch k" (k >= 1), not run epochs 1..k again, and give the same
#     per-epoch losses as an uninterrupted training.
# Exit 77 (skip) only when Slurm cannot be installed. Takes about 5-6 minutes on 2 cores.
set -u
sedpost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
source "$src/tests/jobs/common.sh"
need_slurm
start_cluster
export SEDPOST_LAUNCHER=mpirun
h5check() { /usr/bin/python3 "$src/tests/jobs/h5check.py" "$@"; }
cfg=$src/tests/jobs/tiny.toml
out=$tmp/resume
mkdir -p "$out/logs" "$tmp/ref"
mpirun_ref() { timeout 600 mpirun -n 2 "$sedpost" --config "$cfg" --data-dir "$SEDPOST_DATA_DIR" "$@"; }

say "0. measuring the simulation rate (2 ranks)"
mpirun_ref simulate --n 16384 --out "$tmp/ref/rate.h5" >"$tmp/ref/rate.log" 2>&1 || fail "simulate: $(tail "$tmp/ref/rate.log")"
rate=$(sed -n 's/.*simulate: 16384\/16384 (100.0%), \([0-9.e+]*\) galaxies\/s.*/\1/p' "$tmp/ref/rate.log" | tail -1)
[ -n "$rate" ] || fail "no rate in $(cat "$tmp/ref/rate.log")"
target_s=${SEDPOST_TEST_SIMULATE_SECONDS:-150}
n=$(/usr/bin/python3 -c "import math; print(max(100000, int(math.ceil(float('$rate') * $target_s / 8192)) * 8192))")
say "rate $rate galaxies/s -> N = $n rows (~${target_s}s of simulation; Slurm kills the job after 60-95 s)"

say "1a. simulate with --time=1"
j1=$(sbatch --parsable --ntasks=2 --time=1 --output="$out/logs/%x-%j.out" "$src/jobs/slurm/simulate.sbatch" "$cfg" "$out" --n "$n") ||
  fail "sbatch"
wait_jobs 400 "$j1"
st=$(job_field "$j1" JobState)
[ "$st" = TIMEOUT ] || fail "job $j1 should hit its time limit (TIMEOUT), ended $st"
[ -e "$out/train.h5" ] && fail "train.h5 exists after a killed job"
[ -f "$out/train.h5.partial" ] || fail "no train.h5.partial after the time-out"
read -r k k0 k1 <<<"$(h5check rows-done "$out/train.h5.partial")" || fail "cannot read the partial file"
say "job $j1: TIMEOUT after $(job_field "$j1" RunTime); partial file has $k of $n rows done (rank 0 prefix $k0, rank 1 prefix $k1)"
[ "$k" -gt 0 ] && [ "$k" -lt "$n" ] || fail "the killed job should leave some but not all rows done (done $k of $n)"
grep -q "DUE TO TIME LIMIT" "$(job_log "$out" "$j1")" || say "note: no 'DUE TO TIME LIMIT' line in the job log"

say "1b. the same sbatch command again"
j2=$(sbatch --parsable --ntasks=2 --time=10 --output="$out/logs/%x-%j.out" "$src/jobs/slurm/simulate.sbatch" "$cfg" "$out" --n "$n") ||
  fail "sbatch"
wait_jobs 600 "$j2"
log2=$(job_log "$out" "$j2")
[ "$(job_field "$j2" JobState)" = COMPLETED ] || fail "resubmitted job $j2 ended $(job_field "$j2" JobState): $(tail -n 20 "$log2")"
grep -q "resuming $out/train.h5.partial: $k of $n rows done" "$log2" ||
  fail "job $j2 should resume with $k of $n rows done: $(grep -i resum "$log2")"
h5check complete "$out/train.h5" || fail "train.h5 not complete after the resumed job"
read -r kk _ _ <<<"$(h5check rows-done "$out/train.h5")"
[ "$kk" -eq "$n" ] || fail "resumed file has $kk of $n rows done"
t1=$(grep -o "sedpost simulate exited with [0-9]* after [0-9]* s" "$log2" | head -1)
say "job $j2: COMPLETED; resumed at $k/$n rows; $t1"

m=$((k0 + 8192))
[ "$m" -le "$n" ] || m=$n
say "1c. uninterrupted reference run of the first $m rows"
mpirun_ref simulate --n "$m" --out "$tmp/ref/prefix.h5" >"$tmp/ref/prefix.log" 2>&1 || fail "reference simulate: $(tail "$tmp/ref/prefix.log")"
h5check prefix-equal "$out/train.h5" "$tmp/ref/prefix.h5" "$m" || fail "the resumed training set differs from an uninterrupted run"
rm -f "$tmp/ref/prefix.h5" "$tmp/ref/rate.h5"

# Part 2 trains on its own training set: part 1's is sized by the simulation rate (millions of
# rows), far more than a few epochs need. 300k rows and a 5 x 384 flow make an epoch last
# about 10 s on 2 cores, so the job is cancelled between epochs 1 and 3.
out2=$tmp/run2
mkdir -p "$out2/logs"
mpirun_ref simulate --n 300000 --out "$out2/train.h5" >"$tmp/ref/sim2.log" 2>&1 || fail "simulate part 2: $(tail "$tmp/ref/sim2.log")"

say "2a. train, cancelled after epoch 1"
targs=(--max-epochs 3 --blocks 5 --hidden 384)
j3=$(sbatch --parsable --ntasks=2 --time=10 --output="$out2/logs/%x-%j.out" "$src/jobs/slurm/train.sbatch" "$cfg" "$out2" "${targs[@]}") ||
  fail "sbatch"
log3=$out2/logs/sedpost-train-$j3.out
t0=$SECONDS
until grep -q "train: epoch 1:" "$log3" 2>/dev/null && [ -f "$out2/model.pt.ckpt" ]; do
  st=$(job_field "$j3" JobState)
  case "$st" in PENDING | RUNNING | CONFIGURING) ;; *) fail "train job $j3 ended ($st) before epoch 1: $(tail "$log3")" ;; esac
  [ $((SECONDS - t0)) -lt 400 ] || fail "train job $j3: no epoch 1 and checkpoint after 400 s"
  sleep 1
done
sleep 1  # let the checkpoint write finish
scancel "$j3"
wait_jobs 120 "$j3"
[ -e "$out2/model.pt" ] && fail "model.pt exists after the cancelled job"
[ -f "$out2/model.pt.ckpt" ] || fail "no checkpoint model.pt.ckpt after the cancelled job"
last=$(grep -o "train: epoch [0-9]*:" "$log3" | tail -1 | grep -o "[0-9]*")
say "job $j3: $(job_field "$j3" JobState) after epoch $last"

say "2b. the same sbatch command again"
j4=$(sbatch --parsable --ntasks=2 --time=10 --output="$out2/logs/%x-%j.out" "$src/jobs/slurm/train.sbatch" "$cfg" "$out2" "${targs[@]}") ||
  fail "sbatch"
wait_jobs 600 "$j4"
log4=$(job_log "$out2" "$j4")
[ "$(job_field "$j4" JobState)" = COMPLETED ] || fail "resubmitted train job $j4 ended $(job_field "$j4" JobState): $(tail -n 20 "$log4")"
resumed_at=$(sed -n "s/.*train: resumed from '.*' after epoch \([0-9]*\).*/\1/p" "$log4")
[ -n "$resumed_at" ] && [ "$resumed_at" -ge 1 ] || fail "job $j4 did not resume from the checkpoint: $(grep -i -E 'resum|epoch' "$log4")"
for e in $(seq 1 "$resumed_at"); do
  grep -q "train: epoch $e:" "$log4" && fail "job $j4 trained epoch $e again"
done
[ -s "$out2/model.pt" ] || fail "no model.pt after the resumed job"
say "job $j4: COMPLETED, resumed after epoch $resumed_at (job $j3 logged epoch $last)"

say "2c. uninterrupted reference training"
mpirun_ref train --data "$out2/train.h5" --out "$tmp/ref/model.pt" "${targs[@]}" --threads 1 >"$tmp/ref/train.log" 2>&1 ||
  fail "reference train: $(tail "$tmp/ref/train.log")"
cut -d, -f1-3 "$out2/model.pt.curve.csv" >"$tmp/resumed.curve"
cut -d, -f1-3 "$tmp/ref/model.pt.curve.csv" >"$tmp/ref.curve"
diff "$tmp/ref.curve" "$tmp/resumed.curve" || fail "losses per epoch differ between the resumed and an uninterrupted training"
say "per-epoch train/validation losses identical to the uninterrupted run ($(($(wc -l <"$tmp/ref.curve") - 1)) epochs)"
say "PASS"
