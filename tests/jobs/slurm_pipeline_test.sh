#!/usr/bin/env bash
# Usage: slurm_pipeline_test.sh SEDPOST SOURCE_DIR
#
# The Slurm scripts of jobs/ against a real Slurm (Debian 12 slurm-wlm) started on this
# machine by tests/jobs/local_slurm.sh:
#  1. jobs/submit.sh submits simulate -> train -> infer -> validate (--dependency=afterok) and
#     the optional mcmc stage for tests/jobs/tiny.toml (launcher: srun --mpi=pmix, 2 ranks);
#     every implemented stage must end COMPLETED with a complete output. A stage whose
#     subcommand is not implemented yet must end with exit code 6 and is reported as PENDING
#     (it is picked up automatically once implemented).
#  2. The same submit.sh command again submits nothing that is complete.
#  3. jobs/slurm/run.sbatch (`sedpost run`) on the same directory skips the stages the chain
#     completed (same layout) and completes.
# Exit 77 (skip) only when Slurm cannot be installed. About 2-4 minutes on 2 cores.
set -u
sedpost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
source "$src/tests/jobs/common.sh"
need_slurm
start_cluster

implemented() { ! "$sedpost" "$1" --help 2>/dev/null | grep -q "not implemented yet"; }
cfg=$src/tests/jobs/tiny.toml
out=$tmp/chain
stages=(simulate train infer validate mcmc)
export SEDPOST_MCMC_ROWS=0:2

say "1. submitting the chain"
bash "$src/jobs/submit.sh" -N 1 -n 2 --time 15 --stages simulate,train,infer,validate,mcmc \
  "$cfg" "$out" >"$tmp/submit1.txt" 2>&1 || fail "submit.sh: $(cat "$tmp/submit1.txt")"
cat "$tmp/submit1.txt"
declare -A id=()
while read -r stage jid; do id[$stage]=$jid; done <"$out/logs/jobs.txt"
for stage in "${stages[@]}"; do
  [ -n "${id[$stage]:-}" ] || fail "no job submitted for $stage"
done
dep=$(job_field "${id[train]}" Dependency)
case "$dep" in *afterok:${id[simulate]}*) ;; *) fail "train should depend on afterok:${id[simulate]}, has '$dep'" ;; esac
dep=$(job_field "${id[validate]}" Dependency)
case "$dep" in *${id[train]}*${id[infer]}*) ;; *) fail "validate should depend on train and infer, has '$dep'" ;; esac
wait_jobs 900 "${id[@]}"

declare -A output=([simulate]="train.h5" [train]="model.pt" [infer]="posteriors.h5" [validate]="report/metrics.json"
                   [mcmc]="chains.h5")
pending=()
for stage in "${stages[@]}"; do
  jid=${id[$stage]}
  st=$(job_field "$jid" JobState) ec=$(job_field "$jid" ExitCode)
  log=$(job_log "$out" "$jid")
  upstream_pending=""
  [ "$stage" = validate ] && case " ${pending[*]} " in *" infer "*) upstream_pending=infer ;; esac
  if [ -n "$upstream_pending" ]; then
    [ "$st" = CANCELLED ] || fail "$stage should be cancelled by Slurm (its dependency $upstream_pending failed), is $st"
    pending+=("$stage")
    say "$stage: PENDING (cancelled by Slurm because $upstream_pending is not implemented yet: dependency never satisfied)"
  elif implemented "$stage"; then
    [ "$st" = COMPLETED ] || fail "$stage job $jid ended $st (exit $ec): $(tail -n 20 "$log" 2>/dev/null)"
    for f in ${output[$stage]}; do
      case "$f" in
        *.h5) /usr/bin/python3 "$src/tests/jobs/h5check.py" complete "$out/$f" || fail "$stage: $out/$f not complete" ;;
        *) [ -s "$out/$f" ] || fail "$stage: no $out/$f" ;;
      esac
    done
    grep -q "launcher srun, ranks 2" "$log" || fail "$stage did not run 2 ranks under srun"
    grep -q "2 rank(s)" "$log" || fail "$stage: sedpost did not see 2 MPI ranks under srun: $(grep -i rank "$log")"
    say "$stage: job $jid COMPLETED, $(grep -o 'done in [0-9]* s' "$log" | tail -1)"
  else
    [ "$ec" = "6:0" ] || fail "$stage is not implemented: its job should exit 6, got $st $ec"
    grep -q "not implemented yet" "$log" || fail "$stage: log does not say 'not implemented'"
    pending+=("$stage")
    say "$stage: PENDING (sedpost $stage not implemented yet; job $jid exited 6 as expected)"
  fi
done
[ -s "$out/model.pt.curve.csv" ] || fail "no training curve"
/usr/bin/python3 -c '
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    sys.exit(0 if f["chains"].shape[0] == 2 else 1)' "$out/chains.h5" || fail "chains.h5 should hold 2 galaxies"
if implemented infer; then
  /usr/bin/python3 -c '
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    n, k, c = f["summary"].shape
    sys.exit(0 if n == 934 and k == 22 and c == 7 else 1)' "$out/posteriors.h5" ||
    fail "posteriors.h5 should have /summary [934, 22, 7] (one row per A2052 galaxy)"
fi
if implemented validate; then
  [ -s "$out/report/index.html" ] || fail "validate wrote no report/index.html"
  grep -q -- "--real $out/posteriors.h5" "$(job_log "$out" "${id[validate]}")" || say "note: validate ran without --real"
fi

say "2. resubmitting the same chain: complete stages must not be submitted again"
bash "$src/jobs/submit.sh" -N 1 -n 2 --time 15 --stages simulate,train,infer,validate,mcmc "$cfg" "$out" \
  >"$tmp/submit2.txt" 2>&1 || fail "submit.sh again: $(cat "$tmp/submit2.txt")"
cat "$tmp/submit2.txt"
for stage in "${stages[@]}"; do
  case " ${pending[*]} " in *" $stage "*) continue ;; esac
  grep -q "^$stage complete" "$tmp/submit2.txt" || fail "$stage was submitted again"
done
again=()
while read -r stage jid; do again+=("$jid"); done <"$out/logs/jobs.txt"
[ ${#again[@]} -eq ${#pending[@]} ] || fail "expected ${#pending[@]} resubmitted (pending) stages, got ${#again[@]}"
[ ${#again[@]} -eq 0 ] || wait_jobs 300 "${again[@]}"

say "3. jobs/slurm/run.sbatch (sedpost run) on the same directory"
run_args=()
"$sedpost" run --help 2>/dev/null | grep -q -- "--n-test" && run_args=(--n-test 20 --n-samples 100)
rid=$(sbatch --parsable --ntasks=2 --time=15 --output="$out/logs/%x-%j.out" "$src/jobs/slurm/run.sbatch" "$cfg" "$out" \
  "${run_args[@]}") || fail "sbatch run.sbatch"
wait_jobs 600 "$rid"
rlog=$(job_log "$out" "$rid")
[ "$(job_field "$rid" JobState)" = COMPLETED ] || fail "run job $rid ended $(job_field "$rid" JobState): $(tail -n 30 "$rlog")"
for f in train.h5 model.pt posteriors.h5 report/metrics.json; do
  [ -e "$out/$f" ] || continue
  grep -q "$out/$f is complete, skipped" "$rlog" || fail "sedpost run did not skip $f, which the chain completed: $(grep stage "$rlog")"
done
say "run job $rid COMPLETED, skipped $(grep -c "is complete, skipped" "$rlog") complete stages"

if [ ${#pending[@]} -gt 0 ]; then
  say "PASS (stages not implemented yet, to rerun once they are: ${pending[*]})"
else
  say "PASS (all stages)"
fi
