#!/usr/bin/env bash
# Configures and builds sedpost (Release) into build/ (or $SEDPOST_BUILD_DIR).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$repo_root"
cmake -S . -B "$SEDPOST_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$SEDPOST_BUILD_DIR" -j "$(nproc)"
