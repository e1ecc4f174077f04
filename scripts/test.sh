#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the unit and MPI tests
# (CTest labels `unit` and `mpi`; the long statistical ones, label `slow`, run with
# `scripts/test.sh --all`).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
bash "$here/setup.sh"
bash "$here/build.sh"
source "$here/env.sh"
cd "$SEDPOST_BUILD_DIR"
if [ "${1:-}" = "--all" ]; then
  ctest --output-on-failure --timeout 3600
else
  ctest --output-on-failure -L 'unit|mpi' -LE slow
fi
