#!/usr/bin/env bash
# One sedpost pipeline stage inside a batch job (Slurm, PBS) or on the command line.
#
# Usage: stage.sh STAGE CONFIG OUT_DIR [extra sedpost options for that stage...]
#   STAGE: simulate | train | infer | validate | mcmc | run
#
# Every stage is resubmit-safe: an output that is already complete is skipped, and stages
# whose subcommand supports it continue an interrupted run (--resume: simulate's row_done
# flags, train's MODEL.ckpt, infer's finished chunks). Outputs follow `sedpost run`:
#   OUT_DIR/train.h5 model.pt posteriors.h5 report/ (+ chains.h5 from the optional mcmc stage)
#
# Environment (all optional; see jobs/README.md):
#   SEDPOST_BIN           sedpost binary (default: `sedpost` on PATH, else <repo>/build/sedpost)
#   SEDPOST_DATA_DIR      reference data (default: <repo>/../shared/data when it exists)
#   SEDPOST_LAUNCHER      srun | mpirun | mpiexec | none (default: srun in Slurm, mpiexec in PBS)
#   SEDPOST_LAUNCHER_ARGS extra launcher options (word-split), e.g. "--cpu-bind=cores"
#   SEDPOST_SRUN_MPI      srun --mpi plugin (default pmix; pmi2 for MPICH/Intel MPI)
#   SEDPOST_RANKS         ranks for mpirun/mpiexec (default: SLURM_NTASKS, PBS node file lines)
#   SEDPOST_THREADS       threads per rank for train/infer (default: SLURM_CPUS_PER_TASK or 1)
#   SEDPOST_CATALOG       catalog for infer (default: [infer] catalog of the config)
#   SEDPOST_MCMC_CATALOG  catalog for mcmc (default: the [infer] catalog of the config)
#   SEDPOST_MCMC_ROWS     rows for mcmc (default 0:2)
#   SEDPOST_REQUEUE=1     on SIGUSR1 (sbatch --signal=B:USR1@SECONDS) requeue the job so it
#                         resumes by itself; at most SEDPOST_MAX_REQUEUE (default 5) times
#   SEDPOST_ALLOW_PENDING=1  a subcommand that is not implemented (exit 6) ends the job with 0
#
# Exit status: that of sedpost (0 ok, 2 config, 3 data, 4 I/O, 5 numerics, 6 not implemented),
# 64 for a usage error here.
set -uo pipefail

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
log() { printf '[%s] sedpost-job: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*"; exit "${2:-64}"; }

[ $# -ge 3 ] || { usage >&2; exit 64; }
stage=$1 config=$2 out_dir=$3
shift 3
extra=("$@")

lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$lib_dir/../.." && pwd)

# ---- binary, data, config ----
if [ -z "${SEDPOST_BIN:-}" ]; then
  if command -v sedpost >/dev/null 2>&1; then
    SEDPOST_BIN=$(command -v sedpost)
  else
    SEDPOST_BIN=$repo_root/build/sedpost
  fi
fi
[ -x "$SEDPOST_BIN" ] || die "sedpost binary '$SEDPOST_BIN' not found or not executable: set SEDPOST_BIN" 64
if [ -z "${SEDPOST_DATA_DIR:-}" ] && [ -d "$repo_root/../shared/data" ]; then
  SEDPOST_DATA_DIR=$(cd "$repo_root/../shared/data" && pwd)
fi
[ -f "$config" ] || die "config '$config' not found" 64
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
mkdir -p "$out_dir" || die "cannot create output directory '$out_dir'" 4
out_dir=$(cd "$out_dir" && pwd)

global=(--config "$config")
[ -n "${SEDPOST_DATA_DIR:-}" ] && global+=(--data-dir "$SEDPOST_DATA_DIR")

# ---- launcher ----
if [ -z "${SEDPOST_LAUNCHER:-}" ]; then
  if [ -n "${SLURM_JOB_ID:-}" ] && command -v srun >/dev/null 2>&1; then
    SEDPOST_LAUNCHER=srun
  elif [ -n "${PBS_JOBID:-}" ]; then
    SEDPOST_LAUNCHER=mpiexec
  elif [ -n "${SEDPOST_RANKS:-}" ]; then
    SEDPOST_LAUNCHER=mpirun
  else
    SEDPOST_LAUNCHER=none
  fi
fi
ranks=${SEDPOST_RANKS:-${SLURM_NTASKS:-}}
if [ -z "$ranks" ] && [ -n "${PBS_NODEFILE:-}" ] && [ -f "$PBS_NODEFILE" ]; then
  ranks=$(wc -l <"$PBS_NODEFILE")
fi
read -r -a launcher_args <<<"${SEDPOST_LAUNCHER_ARGS:-}"
case "$SEDPOST_LAUNCHER" in
  srun) launch=(srun --mpi="${SEDPOST_SRUN_MPI:-pmix}" --kill-on-bad-exit=1 "${launcher_args[@]}") ;;
  mpirun | mpiexec) launch=("$SEDPOST_LAUNCHER" ${ranks:+-n "$ranks"} "${launcher_args[@]}") ;;
  none) launch=() ; ranks=1 ;;
  *) die "SEDPOST_LAUNCHER must be srun, mpirun, mpiexec or none (got '$SEDPOST_LAUNCHER')" 64 ;;
esac
threads=${SEDPOST_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
export OMP_NUM_THREADS=$threads

# ---- requeue on a warning signal before the time limit ----
child=""
on_usr1() {
  local count=${SLURM_RESTART_COUNT:-0}
  if [ "${SEDPOST_REQUEUE:-0}" = 1 ] && [ -n "${SLURM_JOB_ID:-}" ] && [ "$count" -lt "${SEDPOST_MAX_REQUEUE:-5}" ]; then
    log "time limit near (SIGUSR1): requeueing job $SLURM_JOB_ID (restart $((count + 1))); it resumes from the partial output"
    scontrol requeue "$SLURM_JOB_ID"
  else
    log "SIGUSR1 received; not requeueing (SEDPOST_REQUEUE=${SEDPOST_REQUEUE:-0}, restarts $count)"
  fi
}
trap on_usr1 USR1

# Runs one sedpost subcommand under the launcher; the launcher runs in the background so
# that the USR1 trap fires while it is running.
run_sedpost() {
  local cmd=("${launch[@]}" "$SEDPOST_BIN" "${global[@]}" "$@")
  log "run: ${cmd[*]}"
  local t0=$SECONDS rc
  "${cmd[@]}" &
  child=$!
  while :; do
    wait "$child"
    rc=$?
    # wait returns >128 when a trapped signal interrupted it; the child may still run.
    if [ $rc -gt 128 ] && kill -0 "$child" 2>/dev/null; then continue; fi
    break
  done
  child=""
  log "sedpost $1 exited with $rc after $((SECONDS - t0)) s"
  return $rc
}

complete() { [ -e "$1" ]; }  # outputs appear under their final name only when complete

# Runs STAGE-LABEL OUTPUT SUBCOMMAND ARGS...: skipped when OUTPUT is complete.
step() {
  local label=$1 output=$2
  shift 2
  if complete "$output"; then
    log "stage '$label': $output is complete, skipped"
    return 0
  fi
  [ -e "$output.partial" ] && log "stage '$label': found $output.partial, resuming where supported"
  local rc
  if "$SEDPOST_BIN" "$1" --help 2>/dev/null | grep -q "not implemented yet"; then
    rc=6  # its options are not registered yet either, so do not call it
  else
    run_sedpost "$@"
    rc=$?
  fi
  if [ $rc -eq 6 ]; then
    log "stage '$label': sedpost $1 is not implemented yet (exit 6)"
    [ "${SEDPOST_ALLOW_PENDING:-0}" = 1 ] && return 0
  fi
  [ $rc -eq 0 ] && log "stage '$label': wrote $output"
  return $rc
}

need() { complete "$1" || die "input $1 is missing or incomplete: run the '$2' stage first" 3; }

# config_value TABLE KEY: a string or number from the config file ("" when absent).
config_value() {
  awk -v table="$1" -v key="$2" '
    /^[[:space:]]*\[/ { t = $0; gsub(/[][[:space:]]/, "", t); next }
    t == table {
      line = $0; sub(/#.*/, "", line)
      if (match(line, "^[[:space:]]*" key "[[:space:]]*=")) {
        v = substr(line, RLENGTH + 1); gsub(/^[[:space:]]+|[[:space:]]+$/, "", v); gsub(/^["\047]|["\047]$/, "", v)
        print v; exit
      }
    }' "$config"
}

log "stage $stage: config $config, output $out_dir, binary $SEDPOST_BIN, data ${SEDPOST_DATA_DIR:-<config/default>}"
log "job ${SLURM_JOB_ID:-${PBS_JOBID:-none}} on ${SLURM_JOB_NODELIST:-$(hostname)}: launcher $SEDPOST_LAUNCHER, ranks ${ranks:-<launcher default>}, threads/rank $threads, restart ${SLURM_RESTART_COUNT:-0}"
start=$SECONDS
o=$out_dir
case "$stage" in
  simulate)
    step "simulate training set" "$o/train.h5" simulate --out "$o/train.h5" --resume "${extra[@]}" || exit $?
    ;;
  train)
    need "$o/train.h5" simulate
    thr=(); [ -n "${SEDPOST_THREADS:-${SLURM_CPUS_PER_TASK:-}}" ] && thr=(--threads "$threads")
    step "train flow" "$o/model.pt" train --data "$o/train.h5" --out "$o/model.pt" --resume "${thr[@]}" "${extra[@]}" || exit $?
    ;;
  infer)
    need "$o/model.pt" train
    args=(--model "$o/model.pt" --out "$o/posteriors.h5" --resume)
    [ -n "${SEDPOST_CATALOG:-}" ] && args+=(--catalog "$SEDPOST_CATALOG")
    [ -n "${SEDPOST_THREADS:-${SLURM_CPUS_PER_TASK:-}}" ] && args+=(--threads "$threads")
    step "catalog inference" "$o/posteriors.h5" infer "${args[@]}" "${extra[@]}" || exit $?
    ;;
  validate)
    # A fresh simulated test set, its flow posteriors, MCMC on some of them, metrics and the
    # report ([validate] table of the config); with the catalog's posteriors when they exist.
    need "$o/model.pt" train
    args=(--model "$o/model.pt" --out "$o/report")
    if [ -e "$o/posteriors.h5" ] && "$SEDPOST_BIN" validate --help 2>/dev/null | grep -q -- "--real"; then
      args+=(--real "$o/posteriors.h5")
    fi
    step "validation report" "$o/${SEDPOST_VALIDATE_MARKER:-report/metrics.json}" validate "${args[@]}" "${extra[@]}" || exit $?
    ;;
  mcmc)
    # Reference chains for a few catalog rows (default: rows 0:2 of the [infer] catalog).
    catalog=${SEDPOST_MCMC_CATALOG:-$(config_value infer catalog)}
    [ -n "$catalog" ] || die "mcmc: set SEDPOST_MCMC_CATALOG or [infer] catalog in the config" 2
    if [ ! -e "$catalog" ] && [ "${catalog#/}" = "$catalog" ] && [ -e "${SEDPOST_DATA_DIR:-}/$catalog" ]; then
      catalog=$SEDPOST_DATA_DIR/$catalog  # config paths are relative to the data directory
    fi
    [ -e "$catalog" ] || die "mcmc: catalog '$catalog' not found" 3
    step "MCMC reference posteriors" "$o/chains.h5" mcmc --catalog "$catalog" \
      --rows "${SEDPOST_MCMC_ROWS:-0:2}" --out "$o/chains.h5" "${extra[@]}" || exit $?
    ;;
  run)
    # The whole pipeline in one job; `sedpost run` skips stages whose output is complete.
    run_sedpost run "$config" --out-dir "$o" "${extra[@]}" || exit $?
    ;;
  *)
    die "unknown stage '$stage' (simulate, train, infer, mcmc, validate, run)" 64
    ;;
esac
log "stage $stage: done in $((SECONDS - start)) s"
