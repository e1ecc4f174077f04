#!/usr/bin/env bash
# Usage: mcmc_cli_test.sh MPIEXEC SEDPOST SOURCE_DIR
# `sedpost mcmc` end to end on a tiny simulated catalog: chains identical for 1 and 2 ranks,
# the documented shapes, `complete` = 1, and a crafted bad row (sigma = -1) flagged with a
# reason while the other rows still get finite chains.
set -u
mpiexec=$1 sedpost=$2 src=$3
python=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || fail "no temp dir"
# The demo model without the demo's [mcmc] settings (early stop, thinning): the options below
# are the whole run's settings. [mcmc] is the demo config's last table.
config="$tmp/model.toml"
sed '/^\[mcmc\]/,$d' "$src/configs/demo.toml" >"$config"
grep -q '^\[model\]' "$config" && ! grep -q '^early_stop' "$config" || fail "could not strip [mcmc] from the demo config"

"$mpiexec" -n 1 "$sedpost" --config "$config" simulate --n 6 --out t.h5 >sim.log 2>&1 ||
  fail "simulate exited $?: $(tail -5 sim.log)"

"$mpiexec" -n 1 "$sedpost" mcmc --help >help.txt 2>&1 || fail "mcmc --help exited $?"
for o in --catalog --out --rows --walkers --steps --burn --move --seed --early-stop --max-steps-out --thin; do
  grep -q -- "$o" help.txt || fail "mcmc --help does not explain $o"
done

args=(mcmc --rows 0:3 --walkers 24 --steps 300 --burn 200)
"$mpiexec" -n 1 "$sedpost" --config "$config" "${args[@]}" --catalog t.h5 --out p1.h5 >p1.log 2>&1 ||
  fail "mcmc -n 1 exited $?: $(tail -5 p1.log)"
"$mpiexec" -n 2 "$sedpost" --config "$config" "${args[@]}" --catalog t.h5 --out p2.h5 >p2.log 2>&1 ||
  fail "mcmc -n 2 exited $?: $(tail -5 p2.log)"
grep -q "galaxies done" p2.log || fail "no end-of-run summary: $(tail -5 p2.log)"

# Row 1 gets sigma = -1 in one band; row 2 gets a NaN sigma.
"$python" - <<'EOF' || fail "could not craft bad.h5"
import shutil, h5py, numpy as np
shutil.copy("t.h5", "bad.h5")
with h5py.File("bad.h5", "r+") as f:
    s = f["sigma"][...]
    s[1, 2] = -1.0
    s[2, 0] = np.nan
    f["sigma"][...] = s
EOF
"$mpiexec" -n 2 "$sedpost" --config "$config" "${args[@]}" --catalog bad.h5 --out bad_out.h5 >bad.log 2>&1 ||
  fail "mcmc on a catalog with bad rows must go on, exited $?: $(tail -5 bad.log)"

"$python" - <<'EOF' || fail "output checks failed"
import h5py, numpy as np, sys
def check(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
a, b, bad = (h5py.File(p, "r") for p in ("p1.h5", "p2.h5", "bad_out.h5"))
for f in (a, b, bad):
    check(int(f.attrs["complete"]) == 1, f"{f.filename}: complete != 1")
G, S, W = 3, 300, 24
shapes = {"chains": (G, S, W, 12), "log_prob": (G, S, W), "id": (G,), "n_steps": (G,),
          "tau": (G, 12), "rhat": (G, 12), "ess": (G, 12), "map_theta": (G, 12),
          "flags": (G,), "flag_reason": (G,)}
for name, shape in shapes.items():
    check(a[name].shape == shape, f"/{name} has shape {a[name].shape}, expected {shape}")
check(a["chains"].dtype == np.float32 and a["log_prob"].dtype == np.float32, "chains/log_prob must be float32")
check(a["id"].dtype == np.int64 and a["flags"].dtype == np.uint32, "id int64, flags uint32")
check(len(a.attrs["theta_names"]) == 12 and "flag_names" in a["flags"].attrs, "theta_names / flag_names")
for name in ("chains", "log_prob", "map_theta", "tau"):
    check("units" in a[name].attrs, f"/{name} has no units attribute")
check("config" in a.attrs and int(a.attrs["seed"]) == int(b.attrs["seed"]), "config / seed attributes")
check(list(a["id"][...]) == [0, 1, 2], f"ids {a['id'][...]}")
ca, cb = a["chains"][...], b["chains"][...]
check(np.isfinite(ca).all(), "P=1 chains have non-finite values")
check(np.array_equal(ca, cb), "chains differ between 1 and 2 ranks")
check(np.array_equal(a["log_prob"][...], b["log_prob"][...]), "log_prob differs between 1 and 2 ranks")
check((a["flags"][...] == 0).all() and (a["n_steps"][...] == S).all(), "good rows must be unflagged, full length")
beta = ca[..., 1:5].sum(axis=-1)
check(np.allclose(beta, 1, atol=1e-5), "betas must sum to 1")
t = np.isfinite(a["tau"][...])
check(t[:, [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11]].all() and not t[:, 4].any(), "tau: 11 flow coords + NaN slot")
names = [n.decode() if isinstance(n, bytes) else n for n in bad["flags"].attrs["flag_names"]]
fl = bad["flags"][...]
reason = [r.decode().strip("\x00") if isinstance(r, bytes) else r for r in bad["flag_reason"][...]]
bit = 1 << names.index("bad_sigma")
check(fl[0] == 0 and np.isfinite(bad["chains"][0]).all(), "row 0 of bad.h5 must still be sampled")
for r in (1, 2):
    check(fl[r] & bit, f"bad row {r} not flagged bad_sigma (flags {fl})")
    check("sigma" in reason[r], f"bad row {r} has no reason: {reason[r]!r}")
    check(np.isnan(bad["chains"][r]).all(), f"bad row {r} must have NaN chains")
check(np.array_equal(bad["chains"][0], ca[0]), "a galaxy's chain must not depend on the other rows")
print("checks ok")
EOF

# Every sampled parameterisation is the same posterior with its log-Jacobian: with sigma
# inflated 1e6-fold the likelihood is flat, so the chains must reproduce the prior (uniform on
# the flow-coordinate box: log M* ~ U(7, 12.5), f_burst ~ U(0, 1), tau_ism ~ U(0, 3)). This
# checks the amplitude coordinates' Jacobian (log M* = log10(M_hat + sigma_M u)).
"$python" - <<'EOF' || fail "could not craft flat.h5"
import shutil, h5py
shutil.copy("t.h5", "flat.h5")
with h5py.File("flat.h5", "r+") as f:
    f["sigma"][...] = f["sigma"][...] * 1e6
EOF
for c in amplitude unbounded box; do
  "$mpiexec" -n 1 "$sedpost" --config "$config" mcmc --rows 0:1 --walkers 24 --steps 6000 --burn 1500 \
    --coordinates "$c" --catalog flat.h5 --out "flat_$c.h5" >"flat_$c.log" 2>&1 ||
    fail "mcmc --coordinates $c exited $?: $(tail -5 "flat_$c.log")"
done
"$python" - <<'EOF' || fail "prior recovery failed"
import h5py, numpy as np, sys
for c in ("amplitude", "unbounded", "box"):
    with h5py.File(f"flat_{c}.h5", "r") as f:
        x = f["chains"][0].reshape(-1, 12)
        tau = np.nanmax(f["tau"][0])
        attr = f.attrs["sampled_coordinates"]
    n_eff = x.shape[0] / tau
    # (name, column, lower, upper) of a uniform prior
    for name, k, lo, hi in (("log_mstar", 0, 7.0, 12.5), ("f_burst", 5, 0.0, 1.0), ("tau_ism", 10, 0.0, 3.0)):
        m, s = x[:, k].mean(), x[:, k].std()
        m0, s0 = 0.5 * (lo + hi), (hi - lo) / np.sqrt(12)
        tol = 5 * s0 / np.sqrt(n_eff)
        if not (x[:, k].min() >= lo and x[:, k].max() <= hi):
            print(f"FAIL: {c}: {name} leaves the prior box"); sys.exit(1)
        if abs(m - m0) > tol or abs(s / s0 - 1) > 0.1:
            print(f"FAIL: {c}: {name} mean {m:.3f} std {s:.3f}, prior {m0:.3f} {s0:.3f} "
                  f"(tol {tol:.3f}, n_eff {n_eff:.0f})")
            sys.exit(1)
    print(f"{c}: prior recovered (max tau {tau:.1f}, n_eff {n_eff:.0f}); sampled_coordinates {attr}")
EOF
echo PASS
