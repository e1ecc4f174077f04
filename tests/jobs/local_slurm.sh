#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on this machine, for tests of jobs/.
#
#   source tests/jobs/local_slurm.sh
#   local_slurm_start DIR [CPUS]   # slurm.conf, state, logs under DIR; exports SLURM_CONF
#   ...sbatch/squeue/scontrol...
#   local_slurm_stop               # cancels the jobs, stops the two daemons it started
#
# Or from a shell: bash tests/jobs/local_slurm.sh start DIR  /  bash tests/jobs/local_slurm.sh stop DIR
#
# Runs as root (slurmd must), with nothing that needs cgroups or munge: auth/none,
# cred/none, proctrack/linuxproc, task/none, no accounting. Ports are picked free at start,
# so it does not collide with a site Slurm or another test. Never use it on a shared system
# (auth/none trusts every local user).

# Prints a free TCP port.
_local_slurm_port() {
  if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    echo $((20000 + RANDOM % 20000))
  fi
}

# local_slurm_start DIR [CPUS]: returns non-zero (with the daemon logs printed) when the node
# does not come up within 60 s.
local_slurm_start() {
  local dir=$1 cpus=${2:-}
  mkdir -p "$dir"/state "$dir"/spool "$dir"/log || return 1
  dir=$(cd "$dir" && pwd)
  local node ctl_port d_port
  node=$(hostname -s 2>/dev/null || hostname)
  [ -n "$cpus" ] || cpus=$(nproc)
  [ "$cpus" -ge 2 ] || cpus=2  # declared CPUs may exceed the real ones (config_overrides)
  ctl_port=$(_local_slurm_port)
  d_port=$(_local_slurm_port)
  while [ "$d_port" = "$ctl_port" ]; do d_port=$(_local_slurm_port); done
  : >"$dir/plugstack.conf"
  cat >"$dir/slurm.conf" <<EOF
# Test-only single-node cluster written by tests/jobs/local_slurm.sh
ClusterName=sedposttest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=0
KillWait=5
OverTimeLimit=0
MinJobAge=3600
InactiveLimit=0
Waittime=0
MessageTimeout=20
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  LOCAL_SLURM_DIR=$dir
  slurmctld -D -c -f "$SLURM_CONF" >"$dir/log/slurmctld.stdout" 2>&1 &
  echo $! >"$dir/slurmctld.bgpid"
  slurmd -D -f "$SLURM_CONF" -N "$node" >"$dir/log/slurmd.stdout" 2>&1 &
  echo $! >"$dir/slurmd.bgpid"
  local t=0 state=""
  while [ $t -lt 60 ]; do
    state=$(timeout 10 sinfo -h -N -o '%T' 2>/dev/null | head -1)
    case "$state" in idle | mixed | allocated) break ;; esac
    sleep 1
    t=$((t + 1))
  done
  if [ "$state" != idle ] && [ "$state" != mixed ] && [ "$state" != allocated ]; then
    echo "local_slurm: node did not come up (state '$state') after ${t}s" >&2
    tail -n 30 "$dir"/log/*.log "$dir"/log/*.stdout >&2 2>/dev/null
    return 1
  fi
  echo "local_slurm: node $node up with $cpus CPUs (slurmctld port $ctl_port, slurmd port $d_port, conf $SLURM_CONF)"
}

# local_slurm_stop [DIR]: cancels every job of this test cluster, waits (at most 30 s) for
# them to end, then stops slurmd and slurmctld (TERM, KILL after 10 s). Safe to call twice.
local_slurm_stop() {
  local dir=${1:-${LOCAL_SLURM_DIR:-}}
  [ -n "$dir" ] && [ -f "$dir/slurm.conf" ] || return 0
  export SLURM_CONF=$dir/slurm.conf
  local pid f t
  if [ -f "$dir/slurmctld.bgpid" ] && kill -0 "$(cat "$dir/slurmctld.bgpid")" 2>/dev/null; then
    timeout 10 scancel --full $(timeout 10 squeue -h -o %A 2>/dev/null) 2>/dev/null
    t=0
    while [ $t -lt 30 ] && [ -n "$(timeout 10 squeue -h -t R,CG -o %A 2>/dev/null)" ]; do
      sleep 1
      t=$((t + 1))
    done
  fi
  for f in slurmd slurmctld; do
    [ -f "$dir/$f.bgpid" ] || continue
    pid=$(cat "$dir/$f.bgpid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      t=0
      while [ $t -lt 10 ] && kill -0 "$pid" 2>/dev/null; do
        sleep 1
        t=$((t + 1))
      done
      kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$dir/$f.bgpid"
  done
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    start) local_slurm_start "${2:?usage: local_slurm.sh start DIR [CPUS]}" "${3:-}" && echo "export SLURM_CONF=$SLURM_CONF" ;;
    stop) local_slurm_stop "${2:?usage: local_slurm.sh stop DIR}" ;;
    *) echo "usage: local_slurm.sh start DIR [CPUS] | stop DIR" >&2; exit 64 ;;
  esac
fi
