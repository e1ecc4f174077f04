#!/usr/bin/env bash
# Usage: infer_cli_test.sh MPIEXEC SEDPOST SOURCE_DIR
# `sedpost infer` end to end on a tiny model and a simulated catalog with known truth:
#  - the posterior catalog is identical (bitwise) for mpirun -n 1 and -n 2, and for 1 and 2 threads;
#  - the schema: /summary [N, 22, 7] with names/columns/units, /samples, /truth, /flags, ...;
#  - crafted bad rows (NaN sigma, missing flux, z beyond the training range, zero inverse
#    variance) are flagged with a reason and NaN summaries while the run goes on;
#  - --resume recomputes exactly the chunks not marked done (same file as an uninterrupted run),
#    and a run killed part-way never leaves a file that looks complete;
#  - a malformed catalog (missing column) fails at start naming the column;
#  - the likelihood weighting's datasets (/ess, /efficiency, /n_draws, /refine_rounds, /chi2_draw)
#    are consistent with its settings, and --weighting false gives the flow's own draws;
#  - --moves (resample-move): the same file for 1 and 2 ranks, the evaluations counted, the
#    settings recorded, and --n-store above --move-draws refused as a config error.
set -u
mpiexec=$1 sedpost=$2 src=$3
py=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || fail "no temp dir"
sed -e 's/^n = 50000/n = 3000/' -e 's/^blocks = 5/blocks = 2/' -e 's/^hidden = 128/hidden = 32/' \
    -e 's/^max_epochs = 80/max_epochs = 3/' "$src/configs/demo.toml" >tiny.toml
"$mpiexec" -n 2 "$sedpost" --config tiny.toml simulate --out train.h5 >log 2>&1 || fail "simulate: $(tail -5 log)"
"$mpiexec" -n 2 "$sedpost" --config tiny.toml train --data train.h5 --out model.pt >log 2>&1 || fail "train: $(tail -5 log)"
"$mpiexec" -n 1 "$sedpost" --config tiny.toml simulate --n 60 --seed 99 --out cat.h5 >log 2>&1 || fail "simulate cat: $(tail -5 log)"

"$mpiexec" -n 1 "$sedpost" infer --help >help.txt 2>&1 || fail "infer --help exited $?"
for o in --model --catalog --out --rows --n-samples --n-store --seed --chunk --resume --threads --device --weighting \
  --min-ess --max-rounds --moves --move-draws --defensive --model-error --chi2-pvalue; do
  grep -q -- "$o" help.txt || fail "infer --help does not explain $o"
done

args=(--config tiny.toml infer --model model.pt --n-samples 300 --n-store 20 --chunk 8 --seed 7)
"$mpiexec" -n 1 "$sedpost" "${args[@]}" --catalog cat.h5 --out p1.h5 >p1.log 2>&1 || fail "infer -n 1: $(tail -5 p1.log)"
mkdir two && (cd two && "$mpiexec" -n 2 "$sedpost" --config ../tiny.toml infer --model ../model.pt --n-samples 300 \
  --n-store 20 --chunk 8 --seed 7 --catalog ../cat.h5 --out p1.h5 >../p2.log 2>&1) || fail "infer -n 2: $(tail -5 p2.log)"
grep -q "galaxies/s" p2.log || fail "no throughput line: $(tail -5 p2.log)"
$py "$src/tests/app/h5_equal.py" p1.h5 two/p1.h5 --ignore-attr model --ignore-attr catalog --ignore-attr config ||
  fail "posterior catalogs differ between 1 and 2 ranks"
"$mpiexec" -n 1 "$sedpost" "${args[@]}" --catalog cat.h5 --threads 2 --out p1t.h5 >p1t.log 2>&1 ||
  fail "infer --threads 2: $(tail -5 p1t.log)"
$py "$src/tests/app/h5_equal.py" p1.h5 p1t.h5 --ignore-attr config ||
  fail "posterior catalogs differ between 1 and 2 threads (the weighting runs galaxies in parallel)"

$py - <<'PY' || fail "schema or values wrong"
import h5py, numpy as np
with h5py.File("p1.h5") as f:
    assert f.attrs["complete"] == 1
    n = 60
    assert f["summary"].shape == (n, 22, 7) and f["summary"].dtype == np.float32
    names = [s.decode() if isinstance(s, bytes) else s for s in f["summary"].attrs["names"]]
    assert names[0] == "log_mstar_formed" and names[12] == "log_mstar" and names[17] == "t50" and names[-1] == "t90", names
    cols = [s.decode() if isinstance(s, bytes) else s for s in f["summary"].attrs["columns"]]
    assert cols == ["mean", "std", "p2.5", "p16", "p50", "p84", "p97.5"], cols
    assert len(f["summary"].attrs["units"]) == 22
    assert f["samples"].shape == (n, 20, 22) and f["truth"].shape == (n, 22)
    t = f["samples"][...][:, :, [18, 19, 17, 20, 21]]  # t10, t25, t50, t75, t90 [Gyr]
    assert (t > 0).all() and (np.diff(t, axis=2) <= 0).all(), "SFH percentiles must fall from t10 to t90"
    assert f["id"].shape == (n,) and f["flags"].shape == (n,) and f["chi2"].shape == (n,)
    assert list(f["row"][...]) == list(range(n))
    s = f["summary"][...]
    ok = (f["flags"][...] & 3) == 0
    assert ok.all(), "simulated rows must all have posteriors"
    p = s[:, :, 2:]
    assert np.all(np.diff(p, axis=2)[:, :12] >= 0), "percentiles must be ordered"
    # samples lie inside the prior box: log M* in [7, 12.5], f_burst in [0, 1]
    sm = f["samples"][...]
    assert sm[:, :, 0].min() >= 7 and sm[:, :, 0].max() <= 12.5
    assert sm[:, :, 5].min() >= 0 and sm[:, :, 5].max() <= 1
    assert np.isfinite(f["chi2"][...]).all()
    # the stored truth of a simulated catalog is its theta_physical
    with h5py.File("cat.h5") as c:
        assert np.array_equal(f["truth"][:, :12], c["theta_physical"][...])
PY

# --- bad rows
$py - <<'PY' || fail "could not craft bad.h5"
import shutil, h5py, numpy as np
shutil.copy("cat.h5", "bad.h5")
with h5py.File("bad.h5", "r+") as f:
    s, fl, z = f["sigma"][...], f["flux_obs"][...], f["z"][...]
    s[1, 2] = np.nan
    fl[2, 3] = np.nan
    z[3] = 0.5
    s[4, 0] = np.inf   # what inverse variance 0 becomes
    f["sigma"][...], f["flux_obs"][...], f["z"][...] = s, fl, z
PY
# --- likelihood weighting: datasets, budget and the switch
"$mpiexec" -n 1 "$sedpost" "${args[@]}" --catalog cat.h5 --weighting false --out off.h5 >off.log 2>&1 ||
  fail "infer --weighting false: $(tail -5 off.log)"
$py - <<'PY' || fail "weighting datasets wrong"
import h5py, numpy as np
with h5py.File("p1.h5") as on, h5py.File("off.h5") as off:
    n = 60
    ess, eff, nd, rr = on["ess"][...], on["efficiency"][...], on["n_draws"][...], on["refine_rounds"][...]
    assert ess.shape == (n,) and nd.dtype == np.uint32 and rr.dtype == np.uint32
    assert on.attrs["weighting"] == 1 and on.attrs["min_ess"] == 100 and on.attrs["max_rounds"] == 12
    assert (nd == 300 * (1 + rr)).all(), (nd, rr)
    assert np.allclose(eff, ess / nd)
    names = [x.decode() if isinstance(x, bytes) else x for x in on["flags"].attrs["flag_names"]]
    degenerate = (on["flags"][...] & (1 << names.index("weights_degenerate"))) != 0
    # below min_ess only when the budget ran out, and then flagged
    assert ((ess >= 100) | ((rr == 12) & degenerate)).all()
    assert (rr[ess < 100] == 12).all()
    assert np.isfinite(on["chi2_draw"][...]).all() and (on["chi2"][...] <= on["chi2_draw"][...] * (1 + 1e-5) + 1e-6).all()
    # off: the flow's own draws, no weights
    assert off.attrs["weighting"] == 0 and np.isnan(off["ess"][...]).all() and (off["n_draws"][...] == 300).all()
    assert np.isnan(off["chi2_draw"][...]).all()
    assert not np.array_equal(on["summary"][...], off["summary"][...])
PY

# --- resample-move: 50 draws moved 3 Metropolis steps each after the weights
"$mpiexec" -n 1 "$sedpost" "${args[@]}" --catalog cat.h5 --moves 3 --move-draws 50 --out mv1.h5 >mv1.log 2>&1 ||
  fail "infer --moves: $(tail -5 mv1.log)"
grep -q "50 draws resampled and moved 3 Metropolis steps each" mv1.log || fail "the log does not state the moves: $(grep weighting mv1.log)"
grep -Eq "resample-move: mean acceptance rate 0\.[0-9]+ .* over 3 steps of 50 draws" mv1.log ||
  fail "the log does not give the moves' acceptance rate: $(grep resample-move mv1.log)"
mkdir mv2 && (cd mv2 && "$mpiexec" -n 2 "$sedpost" --config ../tiny.toml infer --model ../model.pt --n-samples 300 \
  --n-store 20 --chunk 8 --seed 7 --catalog ../cat.h5 --moves 3 --move-draws 50 --out mv.h5 >../mv2.log 2>&1) ||
  fail "infer --moves -n 2: $(tail -5 mv2.log)"
$py "$src/tests/app/h5_equal.py" mv1.h5 mv2/mv.h5 --ignore-attr model --ignore-attr catalog --ignore-attr config ||
  fail "moved posteriors differ between 1 and 2 ranks"
$py - <<'PY' || fail "resample-move datasets wrong"
import h5py, numpy as np
with h5py.File("p1.h5") as on, h5py.File("mv1.h5") as mv:
    assert mv.attrs["moves"] == 3 and mv.attrs["move_draws"] == 50 and on.attrs["moves"] == 0
    # the same importance weights, then 50 x 3 evaluations more
    assert np.array_equal(on["ess"][...], mv["ess"][...])
    assert (mv["n_draws"][...] == on["n_draws"][...] + 150).all()
    s = mv["samples"][...]
    assert s.shape == (60, 20, 22) and np.isfinite(s[:, :, :12]).all()
    assert not np.array_equal(on["summary"][...], mv["summary"][...])
    # every stored draw is one of the 50 moved ones, so at most 20 distinct, and more than a few
    distinct = [len(np.unique(s[i, :, 0])) for i in range(60)]
    assert min(distinct) >= 5, distinct
PY
"$mpiexec" -n 1 "$sedpost" "${args[@]}" --catalog cat.h5 --moves 3 --move-draws 10 --out mvbad.h5 >mvbad.log 2>&1
[ $? -eq 2 ] && grep -q "move_draws" mvbad.log || fail "--n-store above --move-draws must exit 2 naming move_draws: $(tail -3 mvbad.log)"
[ ! -e mvbad.h5 ] && [ ! -e mvbad.h5.partial ] || fail "a refused --moves run left an output"

# --- validation/worst_fits.py reads the catalog and lists its worst fits
$py "$src/validation/worst_fits.py" p1.h5 --n 3 >worst.txt 2>&1 || fail "worst_fits.py: $(tail -3 worst.txt)"
[ "$(grep -c '^id ' worst.txt)" = 3 ] && grep -q "weights_degenerate" worst.txt || fail "worst_fits.py output: $(head -5 worst.txt)"

# --- sample on the SED model: likelihood-checked draws from the photometry in x
"$mpiexec" -n 2 "$sedpost" sample --model model.pt --x cat.h5 --n 200 --seed 3 --model-error 0 --out s.h5 >s.log 2>&1 ||
  fail "sample on an SED model: $(tail -5 s.log)"
$py - <<'PY' || fail "sample's weighted draws wrong"
import h5py, numpy as np
with h5py.File("s.h5") as f, h5py.File("cat.h5") as c:
    assert f.attrs["weighting"] == 1 and f["samples"].shape == (60, 200, 11)
    lo, hi = c.attrs["theta_lower"], c.attrs["theta_upper"]
    s = f["samples"][...]
    assert (s > lo).all() and (s < hi).all()
    assert np.isfinite(f["log_q"][...]).all() and (f["ess"][...] > 0).all() and (f["n_draws"][...] >= 200).all()
PY

"$mpiexec" -n 2 "$sedpost" "${args[@]}" --catalog bad.h5 --out bad_out.h5 >bad.log 2>&1 ||
  fail "infer must go on past bad rows, exited $?: $(tail -5 bad.log)"
$py - <<'PY' || fail "bad rows not flagged as expected: $(tail -3 bad.log)"
import h5py, numpy as np
with h5py.File("bad_out.h5") as f:
    flags, reason, s = f["flags"][...], f["flag_reason"][...], f["summary"][...]
    names = [n.decode() if isinstance(n, bytes) else n for n in f["flags"].attrs["flag_names"]]
    bit = {n: 1 << i for i, n in enumerate(names)}
    for row, name in [(1, "bad_photometry"), (2, "bad_photometry"), (3, "bad_redshift"), (4, "bad_photometry")]:
        assert flags[row] & bit[name], (row, flags[row])
        assert len(reason[row]) > 0
        assert np.isnan(s[row]).all()
    assert np.isfinite(s[0, :12]).all() and np.isfinite(s[5:, :12]).all()
PY
grep -q "bad_photometry 3" bad.log || fail "the log does not count bad rows per reason: $(grep flagged bad.log)"

# --- resume: chunks 1 and 5 marked not done (their rows garbled) are recomputed, nothing else
$py - <<'PY' || fail "could not craft a partial file"
import shutil, h5py, numpy as np
shutil.copy("p1.h5", "r.h5.partial")
with h5py.File("r.h5.partial", "r+") as f:
    done = f["chunk_done"][...]
    done[[1, 5]] = 0
    f["chunk_done"][...] = done
    s = f["summary"][...]
    s[8:16] = -1.0
    f["summary"][...] = s
    f.attrs["complete"] = 0
PY
"$mpiexec" -n 2 "$sedpost" "${args[@]}" --catalog cat.h5 --out r.h5 --resume >r.log 2>&1 || fail "resume: $(tail -5 r.log)"
grep -q "6 of 8 chunks" r.log || fail "resume did not keep the 6 finished chunks: $(grep -i resum r.log)"
[ ! -e r.h5.partial ] || fail "the partial file is still there after the resumed run"
$py "$src/tests/app/h5_equal.py" p1.h5 r.h5 --ignore-attr model --ignore-attr catalog || fail "resumed file differs"

# --- a killed run leaves no complete-looking file
"$mpiexec" -n 2 "$sedpost" --config tiny.toml infer --model model.pt --n-samples 20000 --chunk 2 --catalog cat.h5 \
  --out killed.h5 >k.log 2>&1 &
pid=$!
sleep 4
kill -9 $pid 2>/dev/null; pkill -9 -f "out killed.h5" 2>/dev/null; wait $pid 2>/dev/null
[ ! -e killed.h5 ] || grep -q "wrote killed.h5" k.log || fail "a killed run left killed.h5 looking complete"

# --- malformed catalog: a column that does not exist
cp tiny.toml badmap.toml
printf '\n[catalog]\nredshift = "no_such_z"\n' >>badmap.toml
"$mpiexec" -n 1 "$sedpost" --config badmap.toml infer --model model.pt --catalog cat.h5 --out x.h5 >m.log 2>&1 &&
  fail "a missing column must fail"
grep -q "no_such_z" m.log || fail "the error does not name the column: $(tail -3 m.log)"
[ ! -e x.h5 ] && [ ! -e x.h5.partial ] || fail "a failed start must not leave an output"

# --- --device cuda (train, sample, infer; docs/gpu.md). Without a CUDA build and a visible GPU
# (every CI machine): a configuration error, exit 2, naming the remedy, before any output.
# With one: the GPU run completes and agrees with the CPU run to float tolerance.
"$mpiexec" -n 2 "$sedpost" "${args[@]}" --catalog cat.h5 --device cuda --out gpu.h5 >g.log 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  [ $rc -eq 2 ] || fail "infer --device cuda without a GPU must exit 2, got $rc: $(tail -3 g.log)"
  grep -q -- "--device cuda:" g.log && grep -q -- "--device cpu" g.log ||
    fail "the --device cuda error does not say what is missing and what to do: $(tail -3 g.log)"
  [ ! -e gpu.h5 ] && [ ! -e gpu.h5.partial ] || fail "a refused --device cuda left an output"
  "$mpiexec" -n 1 "$sedpost" --config tiny.toml train --data train.h5 --out gpu.pt --device cuda >gt.log 2>&1
  [ $? -eq 2 ] && [ ! -e gpu.pt ] || fail "train --device cuda without a GPU must exit 2 with no model: $(tail -3 gt.log)"
  printf '\n[sample]\ndevice = "cuda"\n' >>gpu.toml
  "$mpiexec" -n 1 "$sedpost" --config gpu.toml sample --model model.pt --x train.h5 --n 5 --out gs.h5 >gs.log 2>&1
  [ $? -eq 2 ] && grep -q -- "--device cuda:" gs.log || fail "[sample] device = \"cuda\" without a GPU must exit 2: $(tail -3 gs.log)"
else
  $py - <<'PY' || fail "the GPU posterior catalog differs from the CPU one beyond float tolerance"
import h5py, numpy as np
with h5py.File("p1.h5") as a, h5py.File("gpu.h5") as b:
    assert (a["flags"][...] == b["flags"][...]).all()
    sa, sb = a["summary"][...], b["summary"][...]
    # Medians of 300 draws: a float-level change of one draw moves a percentile by at most a
    # neighbouring draw's spacing; compare in units of the posterior std.
    assert np.nanmax(np.abs(sa[:, :, 4] - sb[:, :, 4]) / np.maximum(sa[:, :, 1], 1e-6)) < 0.2
PY
fi
echo PASS
