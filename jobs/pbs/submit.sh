#!/usr/bin/env bash
# Submits the sedpost pipeline to PBS Pro / OpenPBS / Torque as a chain of jobs
# (qsub -W depend=afterok:...), the PBS twin of jobs/submit.sh (same stages, same layout,
# same resubmit rule: complete stages are not submitted again).
#
# Usage: jobs/pbs/submit.sh [options] CONFIG OUT_DIR [-- extra qsub options for every job]
#   -N, --nodes N            nodes per job (default 1)
#   -n, --ranks-per-node R   MPI ranks per node (default 2)
#   -q, --queue Q            queue
#   -A, --account A          account
#   --stages LIST            subset of simulate,train,infer,validate,mcmc (default
#                            simulate,train,infer,validate), or run
#   --walltime STAGE=T       walltime of one stage (HH:MM:SS), repeatable; --walltime T for all
#   --args STAGE="OPTS"      extra sedpost options for one stage, repeatable
#   --torque                 resources as -l nodes=N:ppn=R (default: -l select=N:ncpus=R:mpiprocs=R)
#   --dry-run                print the qsub commands
# Untested here: no PBS server was available (the Slurm chain is tested in tests/jobs/).
set -euo pipefail
pbs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jobs_dir=$(cd "$pbs_dir/.." && pwd)
usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "pbs/submit.sh: $*" >&2; exit 64; }
nodes=1 rpn=2 queue="" account="" stages="simulate,train,infer,validate" torque=0 dry=0 all_time=""
declare -A time_of=() args_of=()
positional=() extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -N | --nodes) nodes=$2; shift 2 ;;
    -n | --ranks-per-node) rpn=$2; shift 2 ;;
    -q | --queue) queue=$2; shift 2 ;;
    -A | --account) account=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --walltime) case "$2" in *=*) time_of[${2%%=*}]=${2#*=} ;; *) all_time=$2 ;; esac; shift 2 ;;
    --args) case "$2" in *=*) args_of[${2%%=*}]=${2#*=} ;; *) die "--args needs STAGE=\"OPTIONS\"" ;; esac; shift 2 ;;
    --torque) torque=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    -*) die "unknown option $1" ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -eq 2 ] || { usage >&2; exit 64; }
config=$(cd "$(dirname "${positional[0]}")" && pwd)/$(basename "${positional[0]}")
[ -f "$config" ] || die "config ${positional[0]} not found"
mkdir -p "${positional[1]}/logs"
out_dir=$(cd "${positional[1]}" && pwd)
output_of() {
  case "$1" in
    simulate) echo "$out_dir/train.h5" ;; train) echo "$out_dir/model.pt" ;;
    infer) echo "$out_dir/posteriors.h5" ;; mcmc) echo "$out_dir/chains.h5" ;;
    validate) echo "$out_dir/${SEDPOST_VALIDATE_MARKER:-report/metrics.json}" ;; *) echo "" ;;
  esac
}
deps_of() {
  case "$1" in
    train) echo simulate ;; infer) echo train ;; validate) echo train infer ;;
  esac
}
if [ $torque = 1 ]; then res="nodes=$nodes:ppn=$rpn"; else res="select=$nodes:ncpus=$rpn:mpiprocs=$rpn"; fi
declare -A job_of=()
for stage in simulate train infer validate mcmc run; do
  [[ ",$stages," == *",$stage,"* ]] || continue
  marker=$(output_of "$stage")
  if [ -n "$marker" ] && [ -e "$marker" ]; then echo "$stage complete ($marker): not submitted"; continue; fi
  deps=()
  for d in $(deps_of "$stage"); do [ -n "${job_of[$d]:-}" ] && deps+=("${job_of[$d]}"); done
  vars="SEDPOST_STAGE=$stage,SEDPOST_CONFIG=$config,SEDPOST_OUT_DIR=$out_dir,SEDPOST_JOBS_DIR=$jobs_dir"
  cmd=(qsub -N "sedpost-$stage" -l "$res" -j oe -o "$out_dir/logs/sedpost-$stage.out" -V -v "$vars")
  [ -n "${args_of[$stage]:-}" ] && cmd=(qsub -N "sedpost-$stage" -l "$res" -j oe -o "$out_dir/logs/sedpost-$stage.out" -V
                                         -v "$vars,SEDPOST_ARGS=${args_of[$stage]}")
  t=${time_of[$stage]:-$all_time}
  [ -n "$t" ] && cmd+=(-l "walltime=$t")
  [ -n "$queue" ] && cmd+=(-q "$queue")
  [ -n "$account" ] && cmd+=(-A "$account")
  [ ${#deps[@]} -gt 0 ] && cmd+=(-W "depend=afterok:$(IFS=:; echo "${deps[*]}")")
  cmd+=("${extra[@]}" "$pbs_dir/stage.pbs")
  if [ $dry = 1 ]; then echo "${cmd[*]}"; job_of[$stage]="<$stage>"; continue; fi
  id=$("${cmd[@]}")
  job_of[$stage]=$id
  echo "$stage $id"
done
