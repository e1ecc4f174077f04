#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, and runs the demo
# pipeline (configs/demo.toml) on 2 MPI ranks. Outputs go to demo-run/; rerunning resumes.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
bash "$here/setup.sh"
bash "$here/build.sh"
source "$here/env.sh"
cd "$repo_root"
ranks=${SEDPOST_RANKS:-2}
mpirun -n "$ranks" "$SEDPOST_BUILD_DIR/sedpost" run configs/demo.toml --out-dir "${SEDPOST_DEMO_DIR:-demo-run}" "$@"
