# shellcheck shell=bash disable=SC2154
# Sourced by the Slurm tests of jobs/: prerequisites, a local cluster, job helpers.
# Expects: sedpost (binary) and src (source dir) set by the caller.
#
# Exit codes: 0 pass, 1 fail, 77 skip (CTest SKIP_RETURN_CODE): only when Slurm is not
# installed and cannot be installed (not root, no apt-get, or the install fails).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/local_slurm.sh"
t_start=$SECONDS
say() { printf '[%s +%3ds] %s\n' "$(date -u +%H:%M:%S)" "$((SECONDS - t_start))" "$*"; }
fail() {
  say "FAIL: $*"
  exit 1
}
skip() {
  say "SKIP: $*"
  exit 77
}

# Slurm present, or installable with scripts/setup-slurm.sh; skip otherwise.
need_slurm() {
  [ "$(id -u)" -eq 0 ] || { command -v slurmctld >/dev/null && skip "the local test cluster needs root (slurmd runs as root)" || skip "Slurm not installed and not root"; }
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null; then
    say "Slurm not installed: installing it with scripts/setup-slurm.sh"
    timeout 900 bash "$src/scripts/setup-slurm.sh" || skip "Slurm (Debian slurm-wlm) could not be installed"
    command -v slurmctld >/dev/null || skip "Slurm could not be installed"
  fi
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import h5py' 2>/dev/null || fail "needs /usr/bin/python3 with h5py (scripts/setup.sh installs python3-h5py)"
}

# A temporary directory and the cluster; everything is removed and stopped on any exit.
tmp=""
keep_tmp=${SEDPOST_TEST_KEEP:-0}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$tmp" ]; then
    if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
      say "exit $rc: logs follow"
      for f in "$tmp"/slurm/log/slurmctld.log "$tmp"/slurm/log/slurmd.log; do
        [ -f "$f" ] && { echo "---- tail $f"; tail -n 25 "$f"; }
      done
      for f in "$tmp"/*/logs/*.out; do
        [ -f "$f" ] || continue
        echo "---- $f"
        tail -n 40 "$f"
      done
    fi
    local_slurm_stop "$tmp/slurm"
    if [ "$keep_tmp" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  exit $rc
}
start_cluster() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/sedpost-slurm-test.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local_slurm_start "$tmp/slurm" || fail "the local Slurm cluster did not start"
  # The environment every job inherits (sbatch --export=ALL).
  export SEDPOST_BIN=$sedpost
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
  [ -n "${SEDPOST_DATA_DIR:-}" ] || { [ -d "$src/../shared/data" ] && export SEDPOST_DATA_DIR=$(cd "$src/../shared/data" && pwd); }
  [ -n "${SEDPOST_DATA_DIR:-}" ] || fail "SEDPOST_DATA_DIR is not set and ../shared/data does not exist"
}

job_field() {  # job_field JOBID FIELD -> value from scontrol show job
  timeout 10 scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
# wait_jobs SECONDS JOBID...: waits until no job is PENDING/RUNNING/... or fails on timeout.
wait_jobs() {
  local limit=$1 t0=$SECONDS id st busy
  shift
  while :; do
    busy=""
    for id in "$@"; do
      st=$(job_field "$id" JobState)
      case "$st" in PENDING | RUNNING | CONFIGURING | COMPLETING | REQUEUED | RESIZING | SUSPENDED | "") busy="$busy $id:$st" ;; esac
    done
    [ -z "$busy" ] && return 0
    [ $((SECONDS - t0)) -lt "$limit" ] || fail "jobs still busy after ${limit}s:$busy"
    sleep 2
  done
}
job_log() { ls "$1"/logs/*-"$2".out 2>/dev/null | head -1; }
