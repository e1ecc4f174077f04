#!/usr/bin/env bash
# Usage: cli_test.sh MPIEXEC SEDPOST SOURCE_DIR
# The sedpost binary under mpirun -n 2: help, config printing, error exit codes.
set -u
mpiexec=$1 sedpost=$2 src=$3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

out=$("$mpiexec" -n 2 "$sedpost" --help 2>&1) || fail "--help exited $?"
[ "$(grep -c '^  simulate' <<<"$out")" = 1 ] || fail "--help should print once (rank 0), got: $out"
for sub in simulate train sample infer mcmc validate run sed noise; do
  grep -q "^  $sub" <<<"$out" || fail "--help does not list $sub"
  "$mpiexec" -n 2 "$sedpost" "$sub" --help >/dev/null 2>&1 || fail "$sub --help exited non-zero"
done

printf 'seed = 5\n[nonexistent_section]\nkey = 1\n' >"$tmp/c.toml"
"$mpiexec" -n 2 "$sedpost" --config "$tmp/c.toml" noise fit --print-config >"$tmp/out" 2>&1
grep -q "seed = 5" "$tmp/out" || fail "--print-config does not show the config: $(cat "$tmp/out")"

printf 'seed = \n' >"$tmp/bad.toml"
"$mpiexec" -n 2 "$sedpost" --config "$tmp/bad.toml" noise fit >"$tmp/out" 2>&1
rc=$?
[ "$rc" -ne 0 ] || fail "a malformed config must fail"
grep -q "bad.toml:1" "$tmp/out" || fail "config error should name file and line: $(cat "$tmp/out")"

"$mpiexec" -n 2 "$sedpost" --no-such-flag >"$tmp/out" 2>&1 && fail "unknown flag must fail"
echo PASS
