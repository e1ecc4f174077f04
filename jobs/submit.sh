#!/usr/bin/env bash
# Submits the sedpost pipeline to Slurm as a chain of batch jobs (sbatch --dependency=afterok):
#
#   simulate ──► train ──► infer ──► validate      (the stages of `sedpost run`)
#   mcmc (optional, --stages ...,mcmc): reference chains for a few catalog rows, no dependency
#
# Usage: jobs/submit.sh [options] CONFIG OUT_DIR [-- extra sbatch options for every job]
#   -N, --nodes N            nodes per job (default 1)
#   -n, --ranks-per-node R   MPI ranks per node (default 2)
#   -c, --cpus-per-task C    threads per rank (default 1)
#   -p, --partition P        partition (default: the cluster's default)
#   -A, --account A          account to charge
#   --stages LIST            comma-separated subset of simulate,train,infer,validate,mcmc
#                            (default simulate,train,infer,validate), or `run` for one job
#                            running `sedpost run`
#   --time STAGE=T           time limit of one stage (sbatch --time format), repeatable;
#                            `--time T` sets every stage
#   --args STAGE="OPTS"      extra sedpost options for one stage, repeatable
#                            (e.g. --args simulate="--n 1000000" --args infer="--n-samples 500")
#   --requeue SECONDS        SECONDS before its time limit a job requeues itself and resumes
#                            (sbatch --requeue --signal=B:USR1@SECONDS; at most
#                            SEDPOST_MAX_REQUEUE=5 times per job)
#   --after JOBID            the first jobs also wait for JOBID (afterok)
#   --force                  submit stages whose output is already complete (they then
#                            only log "complete, skipped")
#   --dry-run                print the sbatch commands, submit nothing
#
# Resubmit-safe: stages whose output is complete are not submitted again, and each job
# resumes its stage's partial output. Run the same command again after a failure or a
# time-out. Prints one line `STAGE JOBID` per job and writes them to OUT_DIR/logs/jobs.txt;
# job logs go to OUT_DIR/logs/sedpost-STAGE-JOBID.out.
#
# The jobs inherit the environment of this command (SEDPOST_BIN, SEDPOST_DATA_DIR,
# SEDPOST_LAUNCHER, ...; see jobs/README.md).
set -euo pipefail
jobs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { sed -n '2,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "submit.sh: $*" >&2; exit 64; }

nodes=1 rpn=2 cpt=1 partition="" account="" stages="simulate,train,infer,validate"
requeue="" after="" force=0 dry=0
declare -A time_of=() args_of=()
all_time=""
positional=()
sbatch_extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -N | --nodes) nodes=$2; shift 2 ;;
    -n | --ranks-per-node) rpn=$2; shift 2 ;;
    -c | --cpus-per-task) cpt=$2; shift 2 ;;
    -p | --partition) partition=$2; shift 2 ;;
    -A | --account) account=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --time)
      case "$2" in *=*) time_of[${2%%=*}]=${2#*=} ;; *) all_time=$2 ;; esac
      shift 2 ;;
    --args)
      case "$2" in *=*) args_of[${2%%=*}]=${2#*=} ;; *) die "--args needs STAGE=\"OPTIONS\"" ;; esac
      shift 2 ;;
    --requeue) requeue=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    --force) force=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; sbatch_extra=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -eq 2 ] || { usage >&2; exit 64; }
config=${positional[0]} out_dir=${positional[1]}
[ -f "$config" ] || die "config '$config' not found"
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
mkdir -p "$out_dir/logs"
out_dir=$(cd "$out_dir" && pwd)
[ $dry = 1 ] || command -v sbatch >/dev/null || die "sbatch not found (is Slurm installed and SLURM_CONF set?)"
export SEDPOST_JOBS_DIR=$jobs_dir

# Output that marks a stage complete (same names as `sedpost run`).
output_of() {
  case "$1" in
    simulate) echo "$out_dir/train.h5" ;;
    train) echo "$out_dir/model.pt" ;;
    infer) echo "$out_dir/posteriors.h5" ;;
    mcmc) echo "$out_dir/chains.h5" ;;
    validate) echo "$out_dir/${SEDPOST_VALIDATE_MARKER:-report/metrics.json}" ;;
    run) echo "" ;;
  esac
}
# Upstream stages each stage waits for.
deps_of() {
  case "$1" in
    train) echo simulate ;;
    infer) echo train ;;
    validate) echo train infer ;;  # validate reads the catalog posteriors when infer ran
  esac
}

declare -A job_of=()
: >"$out_dir/logs/jobs.txt.new"
for stage in simulate train infer validate mcmc run; do
  [[ ",$stages," == *",$stage,"* ]] || continue
  [ -f "$jobs_dir/slurm/$stage.sbatch" ] || die "no $jobs_dir/slurm/$stage.sbatch"
  marker=$(output_of "$stage")
  if [ $force = 0 ] && [ -n "$marker" ] && [ -e "$marker" ]; then
    echo "$stage complete ($marker): not submitted"
    continue
  fi
  dep_ids=()
  [ -n "$after" ] && dep_ids+=("$after")
  for d in $(deps_of "$stage"); do
    [ -n "${job_of[$d]:-}" ] && dep_ids+=("${job_of[$d]}")
  done
  cmd=(sbatch --parsable --job-name="sedpost-$stage" --nodes="$nodes" --ntasks-per-node="$rpn"
       --cpus-per-task="$cpt" --output="$out_dir/logs/%x-%j.out" --export=ALL)
  [ -n "$partition" ] && cmd+=(--partition="$partition")
  [ -n "$account" ] && cmd+=(--account="$account")
  t=${time_of[$stage]:-$all_time}
  [ -n "$t" ] && cmd+=(--time="$t")
  if [ ${#dep_ids[@]} -gt 0 ]; then
    cmd+=(--dependency="afterok:$(IFS=:; echo "${dep_ids[*]}")" --kill-on-invalid-dep=yes)
  fi
  [ -n "$requeue" ] && cmd+=(--requeue --signal="B:USR1@$requeue" --open-mode=append)
  cmd+=("${sbatch_extra[@]}" "$jobs_dir/slurm/$stage.sbatch" "$config" "$out_dir")
  read -r -a stage_args <<<"${args_of[$stage]:-}"
  cmd+=("${stage_args[@]}")
  if [ $dry = 1 ]; then
    echo "${cmd[*]}"
    job_of[$stage]="<$stage>"
    continue
  fi
  if [ -n "$requeue" ]; then
    id=$(SEDPOST_REQUEUE=1 "${cmd[@]}")
  else
    id=$("${cmd[@]}")
  fi
  id=${id%%;*}
  job_of[$stage]=$id
  echo "$stage $id"
  echo "$stage $id" >>"$out_dir/logs/jobs.txt.new"
done
[ $dry = 1 ] && rm -f "$out_dir/logs/jobs.txt.new" || mv "$out_dir/logs/jobs.txt.new" "$out_dir/logs/jobs.txt"
