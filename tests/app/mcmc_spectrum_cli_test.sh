#!/usr/bin/env bash
# Usage: mcmc_spectrum_cli_test.sh MPIEXEC SEDPOST SOURCE_DIR
# `sedpost mcmc` with spectra (docs/spectra.md, "Spectral likelihood"), on a few simulated
# galaxies with small spectra (4,000-7,000 A at R = 500, 280 pixels) and a short chain:
#  - [spectrum] enabled and a catalog with /spectrum: the likelihood includes it (logged), the
#    output is complete with finite chains;
#  - [spectrum] enabled, catalog without /spectrum: photometry only, said once;
#  - a NaN pixel: exit 3 (data error) naming the galaxy's ID and row, no output file;
#  - a config whose [spectrum] grid differs from the catalog's: exit 3 naming the file.
set -u
mpiexec=$1 sedpost=$2 src=$3
python=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || fail "no temp dir"
# The demo model without its [mcmc] table (the demo config's last), with small spectra.
config="$tmp/spec.toml"
sed '/^\[mcmc\]/,$d' "$src/configs/demo.toml" >"$config"
printf '\n[spectrum]\nenabled = true\nlambda_min = 4000.0\nlambda_max = 7000.0\nresolution = 500.0\npixels_per_fwhm = 1.0\n' >>"$config"

"$mpiexec" -n 1 "$sedpost" --config "$config" simulate --n 4 --out t.h5 >sim.log 2>&1 ||
  fail "simulate exited $?: $(tail -5 sim.log)"
grep -q "spectra of 280 pixels" sim.log || fail "expected 280-pixel spectra: $(grep spectra sim.log)"
"$mpiexec" -n 1 "$sedpost" mcmc --help >help.txt 2>&1 || fail "mcmc --help exited $?"
grep -q "spectrum" help.txt || fail "mcmc --help must say that --catalog spectra enter the likelihood"

args=(mcmc --rows 1:2 --walkers 24 --steps 40 --burn 20 --map-starts 2 --map-evals 400)
"$mpiexec" -n 1 "$sedpost" --config "$config" "${args[@]}" --catalog t.h5 --out spec_out.h5 >run.log 2>&1 ||
  fail "mcmc with spectra exited $?: $(tail -5 run.log)"
grep -q "likelihood: photometry (5 bands) + spectrum (280 pixels" run.log ||
  fail "mcmc must log the spectral likelihood: $(grep likelihood run.log)"

"$python" - <<'PY' || fail "could not craft the variants of t.h5"
import shutil, h5py, numpy as np
shutil.copy("t.h5", "nan.h5")
with h5py.File("nan.h5", "r+") as f:
    s = f["spectrum"][...]
    s[1, 7] = np.nan
    f["spectrum"][...] = s
shutil.copy("t.h5", "nospec.h5")
with h5py.File("nospec.h5", "r+") as f:
    del f["spectrum"], f["spectrum_wavelength"]
PY
"$mpiexec" -n 1 "$sedpost" --config "$config" "${args[@]}" --catalog nospec.h5 --out phot_out.h5 >phot.log 2>&1 ||
  fail "mcmc on a catalog without spectra exited $?: $(tail -5 phot.log)"
[ "$(grep -c 'has no /spectrum: photometry only' phot.log)" -eq 1 ] ||
  fail "one line must say the catalog has no spectra: $(grep -i spectr phot.log)"

"$python" - <<'PY' || fail "output checks failed"
import h5py, numpy as np
with h5py.File("spec_out.h5", "r") as a, h5py.File("phot_out.h5", "r") as b:
    for f in (a, b):
        assert int(f.attrs["complete"]) == 1, f.filename
        assert f["chains"].shape == (1, 40, 24, 12), f["chains"].shape
        assert np.isfinite(f["chains"][...]).all() and (f["flags"][...] == 0).all(), f.filename
    # The same seed and row: the spectrum changes the posterior, hence the chain.
    assert not np.array_equal(a["chains"][...], b["chains"][...]), "spectrum had no effect"
PY

"$mpiexec" -n 1 "$sedpost" --config "$config" "${args[@]}" --catalog nan.h5 --out nan_out.h5 >nan.log 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "galaxy 1 (row 1): spectrum pixel 7 is NaN" nan.log && [ ! -e nan_out.h5 ] ||
  fail "a NaN pixel must exit 3 naming the galaxy, got $rc: $(tail -3 nan.log)"

sed 's/^lambda_min = 4000.0/lambda_min = 4100.0/' "$config" >other.toml
"$mpiexec" -n 1 "$sedpost" --config other.toml "${args[@]}" --catalog t.h5 --out grid_out.h5 >grid.log 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q "spectrum wavelength grid of .*t.h5 (280 pixels" grid.log && [ ! -e grid_out.h5 ] ||
  fail "a grid mismatch must exit 3 naming the file, got $rc: $(tail -3 grid.log)"
echo PASS
