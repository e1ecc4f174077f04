#!/usr/bin/env bash
# Inference speed with the redshift inferred against the same flow size with z given (issue 16's
# target: within 20 % in galaxies/s/core): two SEDflow-size flows (15 blocks x 500 hidden), one
# trained on configs/demo.toml and one on the same config with [model] redshift = "inferred"
# (z_min 0.01), each for one epoch on 5,000 rows (the sampling cost does not depend on the
# training; the weighting's refinement does, and both flows are equally untrained), then
# benchmarks/infer_throughput.sh on one catalog simulated from demo.toml, alternating the two
# models within each repeat so that they see the same machine load.
#
# Usage: benchmarks/photoz_throughput.sh [BUILD_DIR] [OUT_DIR]
#   env: as infer_throughput.sh (defaults here: RANKS=1, DRAWS=1000, N_GAL_1K=200, REPEATS=3).
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
out=${2:-$(mktemp -d)}
source "$src/scripts/env.sh"
mkdir -p "$out" && cd "$out"
sed -e 's/^z_min = 0.0/z_min = 0.01\nredshift = "inferred"/' "$src/configs/demo.toml" >photoz.toml
for m in given photoz; do
  cfg=$src/configs/demo.toml; [ $m = photoz ] && cfg=$PWD/photoz.toml
  if [ ! -f $m.pt ]; then
    mpirun -n 2 "$build/sedpost" --config "$cfg" simulate --n 5000 --out train_$m.h5 >>setup.log 2>&1
    mpirun -n 2 "$build/sedpost" --config "$cfg" train --data train_$m.h5 --out $m.pt --blocks 15 --hidden 500 \
      --batch-size 256 --max-epochs 1 >>setup.log 2>&1
  fi
done
[ -f catalog.h5 ] || mpirun -n 2 "$build/sedpost" --config "$src/configs/demo.toml" simulate --n "${N_GAL_1K:-200}" \
  --seed 777 --out catalog.h5 >>setup.log 2>&1
MODELS="given=$PWD/given.pt photoz=$PWD/photoz.pt" RANKS=${RANKS:-1} DRAWS=${DRAWS:-1000} N_GAL_1K=${N_GAL_1K:-200} \
  REPEATS=${REPEATS:-3} MODEL=$PWD/given.pt bash "$src/benchmarks/infer_throughput.sh" "$build" "$out"
