#!/usr/bin/env bash
# Time to a converged SED posterior with `sedpost mcmc` (issue #6), one galaxy at a time on one
# core: simulate N galaxies with configs/demo.toml (NSA-like ugriz noise), run the sampler with
# early stopping (kept chain > 50 integrated autocorrelation times for every flow coordinate and
# max split-R-hat < 1.01, checked every CHECK_EVERY kept steps), and report per galaxy and the median:
# wall time (MAP search + burn-in + sampling + checks), log-probability evaluations, kept steps,
# max tau and whether it converged. The galaxies are the first N rows of the simulated file
# (fixed seed), not chosen.
#
# Usage: benchmarks/mcmc_sed_convergence.sh [N] [extra `sedpost mcmc` options...]
#   N defaults to 3; e.g. `benchmarks/mcmc_sed_convergence.sh 5 --coordinates box` for the
#   old parameterisation. Environment: SEDPOST (binary, default $SEDPOST_BUILD_DIR/sedpost),
#   SEDPOST_DATA_DIR (via scripts/env.sh), SIM_SEED (simulation seed, default 6), WALKERS
#   (default 24; WALKERS= (empty) leaves configs/demo.toml's [mcmc] walkers),
#   CHECK_EVERY (kept steps between convergence checks, default 100: each check costs the same at
#   any chain length: a few % of the run at 100),
#   KEEP_DIR (keep the files there instead of a temporary directory).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../scripts/env.sh"
n=${1:-3}
shift || true
sedpost=${SEDPOST:-$SEDPOST_BUILD_DIR/sedpost}
config="$here/../configs/demo.toml"
python=/usr/bin/python3
if [ -n "${KEEP_DIR:-}" ]; then
  tmp=$KEEP_DIR
  mkdir -p "$tmp"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
fi

"$sedpost" -q --config "$config" simulate --n "$n" --seed "${SIM_SEED:-6}" --out "$tmp/galaxies.h5"
start=$(date +%s.%N)
# /usr/bin/time: CPU seconds of the whole mcmc process (model setup included), which a machine
# shared with other jobs inflates less than the wall times.
walkers=${WALKERS-24}
/usr/bin/time -f "mcmc process: %U s user CPU, %e s wall" -o "$tmp/time.txt" \
  "$sedpost" -q --config "$config" mcmc --catalog "$tmp/galaxies.h5" --rows "0:$n" --early-stop \
  ${walkers:+--walkers "$walkers"} --steps 300000 --check-every "${CHECK_EVERY:-100}" --out "$tmp/chains.h5" "$@"
end=$(date +%s.%N)

"$python" - "$tmp/chains.h5" "$start" "$end" "$*" <<'EOF'
import sys, h5py, numpy as np
path, t0, t1, extra = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
with h5py.File(path, "r") as f:
    wall, evals, steps = f["wall_s"][...], f["n_evals"][...], f["n_steps"][...]
    conv, tau, rhat, z = f["converged"][...], f["tau"][...], f["rhat"][...], f["z"][...]
    lm = f["theta_true"][:, 0] if "theta_true" in f else np.full(len(z), np.nan)
    coords = f.attrs.get("sampled_coordinates", "box")
    walkers = int(f.attrs["walkers"])
coords = coords.decode() if isinstance(coords, bytes) else coords
print(f"sedpost mcmc, {walkers} walkers, coordinates {coords}, extra options '{extra}'")
print(f"{'row':>4} {'z':>6} {'logM':>6} {'conv':>4} {'wall_s':>8} {'evals':>10} {'steps':>7} {'max_tau':>8} {'max_rhat':>8} {'us/eval':>8}")
for i in range(len(z)):
    print(f"{i:4d} {z[i]:6.3f} {lm[i]:6.2f} {int(conv[i]):4d} {wall[i]:8.1f} {evals[i]:10d} {steps[i]:7d} "
          f"{np.nanmax(tau[i]):8.1f} {np.nanmax(rhat[i]):8.4f} {1e6 * wall[i] / evals[i]:8.2f}")
print(f"median wall to convergence: {np.median(wall):.1f} s over {len(z)} galaxies "
      f"({int(conv.sum())} converged; median evals {np.median(evals):.3g}, median kept steps {np.median(steps):.0f}); "
      f"job wall {t1 - t0:.1f} s")
EOF
cat "$tmp/time.txt"
