#!/usr/bin/env bash
# Installs the Debian 12 packages sedpost needs (skips those already installed).
# Usage: scripts/setup.sh   (as root, or with sudo available)
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
  libeigen3-dev libtorch-dev libopenblas0-openmp
  libcli11-dev libtomlplusplus-dev librandom123-dev libcfitsio-dev
  libgtest-dev libbenchmark-dev
  python3 python3-numpy python3-h5py python3-matplotlib python3-astropy python3-sklearn
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
