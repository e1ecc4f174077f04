#!/usr/bin/env bash
# Usage: expect_abort.sh MPIEXEC PROBE [PROBE ARGS...]
# Passes when a 2-rank run of PROBE (rank 1 throws) exits non-zero within 30 s and its
# output names rank 1 and the cause.
set -u
mpiexec=$1 probe=$2
shift 2
start=$(date +%s)
out=$(timeout 30 "$mpiexec" -n 2 "$probe" "$@" 2>&1)
rc=$?
elapsed=$(( $(date +%s) - start ))
echo "$out"
echo "exit code $rc after ${elapsed}s"
[ "$rc" -ne 0 ] || { echo "FAIL: job exited 0"; exit 1; }
[ "$rc" -ne 124 ] || { echo "FAIL: job hung (killed by timeout)"; exit 1; }
grep -q "rank 1 of 2: data error: probe: bad row 17" <<<"$out" || { echo "FAIL: no message naming rank 1 and the cause"; exit 1; }
echo PASS
