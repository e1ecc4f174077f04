#!/usr/bin/env bash
# Usage: simulate_cli_test.sh MPIEXEC SEDPOST SOURCE_DIR
# `sedpost simulate`, `sed` and `noise fit` as a user runs them, under mpirun:
#  - P = 1 and P = 2 give the same training set (every dataset and attribute bitwise);
#  - a run killed part-way leaves only <out>.partial, and --resume then gives the same file
#    as an uninterrupted run;
#  - spectra ([spectrum] enabled) are written next to the photometry, the same for P = 1, 2;
#  - bad input fails with the documented exit code and a message naming the value.
set -u
mpiexec=$1 sedpost=$2 src=$3
py=/usr/bin/python3
cfg=$src/configs/demo.toml
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# --- sed: one evaluation, JSON, errors
theta=10.5,0.25,0.25,0.25,0.25,0.1,3.0,0.001,0.001,0.5,0.5,-0.3
"$sedpost" --config "$cfg" sed --theta $theta --z 0.05 --json >sed.json || fail "sed exited $?"
$py - <<'PY' || fail "sed --json output"
import json, math
d = json.load(open("sed.json"))
assert len(d["bands"]) == 5 and len(d["flux_nmgy"]) == 5 and len(d["mag"]) == 5, d
for f, m in zip(d["flux_nmgy"], d["mag"]):
    assert f > 0 and abs(22.5 - 2.5 * math.log10(f) - m) < 1e-6, (f, m)
assert "log_mstar" in d["derived"] and d["derived"]["log_mstar"] < 10.5
PY
"$sedpost" --config "$cfg" sed --theta $theta --z -0.1 >out 2>&1; rc=$?
[ $rc -eq 3 ] || fail "z <= 0 should exit 3 (data error), got $rc: $(cat out)"
grep -q "z must be > 0" out || fail "z error message: $(cat out)"
"$sedpost" --config "$cfg" sed --theta 13,0.25,0.25,0.25,0.25,0.1,3.0,0.001,0.001,0.5,0.5,-0.3 --z 0.05 >out 2>&1; rc=$?
[ $rc -eq 3 ] || fail "theta outside the prior should exit 3, got $rc: $(cat out)"
grep -q "log_mstar_formed" out || fail "prior error should name the parameter: $(cat out)"

# --- noise fit
"$mpiexec" -n 2 "$sedpost" noise fit --catalog "$SEDPOST_DATA_DIR/catalogs/nsa/A1367_NSAmastertable.fits" \
  --out noise.h5 >out 2>&1 || fail "noise fit: $(cat out)"
$py -c "import h5py; f = h5py.File('noise.h5'); assert f.attrs['complete'] == 1; assert list(f.attrs['bands']) == ['u','g','r','i','z']" \
  || fail "noise.h5 content"

# --- simulate: rank count does not change the file
n=3000
"$mpiexec" -n 1 "$sedpost" --config "$cfg" simulate --n $n --seed 11 --noise "$tmp/noise.h5" --chunk 500 --out p1.h5 >log1 2>&1 \
  || fail "simulate -n 1: $(cat log1)"
mkdir two && (cd two && "$mpiexec" -n 2 "$sedpost" --config "$cfg" simulate --n $n --seed 11 --noise "$tmp/noise.h5" \
  --chunk 500 --out p1.h5 >log2 2>&1) || fail "simulate -n 2: $(cat two/log2)"
$py "$src/tests/app/h5_equal.py" p1.h5 two/p1.h5 || fail "P=1 and P=2 training sets differ"
$py - <<'PY' || fail "training-set schema"
import h5py, numpy as np
f = h5py.File("p1.h5")
n = 3000
assert f.attrs["complete"] == 1
for name, shape in [("theta", (n, 11)), ("x", (n, 11)), ("theta_physical", (n, 12)), ("z", (n,)),
                    ("flux_true", (n, 5)), ("flux_obs", (n, 5)), ("sigma", (n, 5))]:
    assert f[name].shape == shape, (name, f[name].shape)
    assert "units" in f[name].attrs, name
lo, hi, th = f.attrs["theta_lower"], f.attrs["theta_upper"], f["theta"][()]
ok = np.all(np.isfinite(th), axis=1)
assert ok.mean() > 0.99, ok.mean()
assert np.all(th[ok] >= lo) and np.all(th[ok] <= hi)
z = f["z"][()][ok]
assert z.min() > 0 and z.max() < 0.2
assert len(f.attrs["theta_names"]) == 11 and len(f.attrs["x_names"]) == 11
assert "noise_model" in f and f.attrs["seed"] == 11
PY

# --- interrupted run + --resume == uninterrupted run
big=400000
# The reference run writes the same file name in another directory: the stored config
# records --out, so the names must match for the files to be equal.
mkdir ref && (cd ref && "$mpiexec" -n 2 "$sedpost" --config "$cfg" simulate --n $big --seed 5 --noise "$tmp/noise.h5" \
  --chunk 2000 --out cut.h5 >logf 2>&1) || fail "simulate: $(cat ref/logf)"
"$mpiexec" -n 2 "$sedpost" --config "$cfg" simulate --n $big --seed 5 --noise "$tmp/noise.h5" --chunk 2000 --out cut.h5 >logc 2>&1 &
pid=$!
sleep 3
kill -9 $pid 2>/dev/null; pkill -9 -f "simulate --n $big --seed 5" 2>/dev/null; wait $pid 2>/dev/null
[ ! -e cut.h5 ] || fail "an interrupted run left cut.h5 looking complete"
"$mpiexec" -n 2 "$sedpost" --config "$cfg" simulate --n $big --seed 5 --noise "$tmp/noise.h5" --chunk 2000 --out cut.h5 --resume \
  >logr 2>&1 || fail "resume: $(cat logr)"
grep -q "resuming cut.h5.partial" logr || echo "note: the run was killed before its file existed; resume started afresh"
$py "$src/tests/app/h5_equal.py" ref/cut.h5 cut.h5 || fail "resumed file differs from the uninterrupted one"

# --- spectra next to the photometry (docs/spectra.md): the same file for P = 1 and 2, the
# photometry unchanged (the config attribute names the output file), a spectrograph range the model does not cover a data error (exit 3)
cp "$cfg" spec.toml
printf '\n[spectrum]\nenabled = true\nresolution = 500\n' >>spec.toml
for p in 1 2; do
  "$mpiexec" -n $p "$sedpost" --config spec.toml simulate --n 30 --seed 5 --noise "$tmp/noise.h5" --chunk 8 \
    --out spec$p.h5 >out 2>&1 || fail "simulate with spectra -n $p: $(tail -3 out)"
done
grep -q "spectra of 1002 pixels" out || fail "simulate must describe the spectra: $(grep spectra out)"
$py "$src/tests/app/h5_equal.py" spec1.h5 spec2.h5 --ignore-attr config || fail "spectra differ between 1 and 2 ranks"
"$sedpost" --config "$cfg" simulate --n 30 --seed 5 --noise "$tmp/noise.h5" --out nospec.h5 >out 2>&1 || fail "$(tail -3 out)"
$py - <<'PY' || fail "spectrum datasets wrong"
import h5py, numpy as np
with h5py.File("spec1.h5") as f, h5py.File("nospec.h5") as g:
    s, w = f["spectrum"][...], f["spectrum_wavelength"][...]
    assert s.shape == (30, 1002) and w.shape == (1002,), (s.shape, w.shape)
    assert 3600 < w[0] < w[-1] < 9800 * 1.001 and np.allclose(np.diff(np.log(w)), 1 / 1000)
    ok = np.isfinite(g["z"][...])
    assert np.allclose(s[ok].mean(axis=1), 1, atol=0.02), s[ok].mean(axis=1)
    assert np.array_equal(f["x"][...], g["x"][...]) and "spectrum" not in g
    assert f["spectrum"].attrs["snr"] == 20
PY
printf 'lambda_min = 2000.0\n' >>spec.toml
"$sedpost" --config spec.toml simulate --n 3 --noise noise.h5 --out bad.h5 >out 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "spectrograph needs" out && [ ! -e bad.h5 ] ||
  fail "a spectrograph range beyond the model must exit 3 naming the ranges, got $rc: $(tail -2 out)"

# --- bad input
"$sedpost" --config "$cfg" simulate --n 10 --noise missing.h5 --out bad.h5 >out 2>&1; rc=$?
[ $rc -eq 4 ] || fail "missing noise file should exit 4 (I/O), got $rc: $(cat out)"
grep -q "missing.h5" out || fail "error should name the file: $(cat out)"
printf '[model]\nbands = ["speclite:sdss2010-u", "nosuchfilter"]\n' >bad.toml
"$sedpost" --config bad.toml simulate --n 10 --noise noise.h5 --out bad.h5 >out 2>&1; rc=$?
[ $rc -ne 0 ] || fail "unknown filter must fail"
grep -q "nosuchfilter" out || fail "error should name the filter: $(cat out)"
echo PASS
