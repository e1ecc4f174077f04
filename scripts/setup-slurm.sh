#!/usr/bin/env bash
# Installs Slurm (Debian 12: slurm-wlm 22.05, client and daemons) for the tests of jobs/
# (CTest label `slurm`), skipping what is already installed. The tests start their own
# throw-away single-node cluster (tests/jobs/local_slurm.sh: auth/none, no munge daemon,
# no cgroups); nothing is configured or started here, and the packaged services stay off
# (in containers policy-rc.d already prevents them from starting).
# Usage: scripts/setup-slurm.sh   (as root, or with sudo available)
# Exit status: 0 when slurmctld, slurmd, sbatch and srun are installed afterwards.
set -euo pipefail
packages=(slurm-wlm slurm-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-slurm: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packaged services (munge, slurmctld, slurmd) from starting during the install:
  # in a container without an init system their start would fail (no /etc/slurm/slurm.conf)
  # and could fail the install. Debian's policy-rc.d mechanism; removed again afterwards.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup-slurm: ${packages[*]} present"
fi
for tool in slurmctld slurmd sbatch srun squeue scontrol; do
  command -v "$tool" >/dev/null || { echo "setup-slurm: $tool missing after the install" >&2; exit 1; }
done
# The test cluster uses auth/none and cred/none; they ship in slurm-wlm-basic-plugins.
plugdir=$(dirname "$(dpkg -L slurm-wlm-basic-plugins 2>/dev/null | grep '/auth_none.so$' | head -1)" 2>/dev/null || true)
if [ -z "$plugdir" ] || [ ! -f "$plugdir/auth_none.so" ]; then
  echo "setup-slurm: warning: auth_none.so not found; the local test cluster needs it" >&2
fi
echo "setup-slurm: Slurm $(dpkg-query -W -f='${Version}' slurm-wlm 2>/dev/null || echo "(version unknown)") installed"
