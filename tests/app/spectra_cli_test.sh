#!/usr/bin/env bash
# Usage: spectra_cli_test.sh MPIEXEC SEDPOST SOURCE_DIR
# Spectra as input end to end (docs/spectra.md), on small spectra (4,000-7,000 A at R = 500,
# 280 pixels) and a few hundred galaxies:
#  - `train` on a training set with /spectrum trains the embedding with the flow (P = 2 ranks),
#    and the model file carries it; rest frame by default with z given, observed frame with z
#    inferred or on request, attention pooling or flattened;
#  - `infer` on a simulated catalog with spectra writes complete posteriors (weighting on: the
#    target includes the spectral likelihood); the spectrum changes them;
#  - `validate` runs unchanged on the spectral model (test set with spectra, flow vs MCMC on 1);
#  - bad input: a NaN pixel (exit 3 naming the galaxy's ID and row, no complete output), another
#    wavelength grid, or a catalog without /spectrum (exit 3 naming the file).
set -u
mpiexec=$1 sedpost=$2 src=$3
python=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || fail "no temp dir"
# The demo model with small spectra and a short MCMC (the demo config's last table is [mcmc]).
config="$tmp/spec.toml"
sed '/^\[mcmc\]/,$d' "$src/configs/demo.toml" >"$config"
printf '\n[spectrum]\nenabled = true\nlambda_min = 4000.0\nlambda_max = 7000.0\nresolution = 500.0\npixels_per_fwhm = 1.0\n' >>"$config"
printf '\n[mcmc]\nwalkers = 24\nburn = 20\nsteps = 60\nthin = 1\nmap_starts = 2\nmap_evals = 400\n' >>"$config"
run() { "$mpiexec" -n 2 "$sedpost" --config "$config" "$@"; }

run simulate --n 600 --seed 3 --out train.h5 >sim.log 2>&1 || fail "simulate exited $?: $(tail -5 sim.log)"
run simulate --n 12 --seed 4 --out test.h5 >sim2.log 2>&1 || fail "simulate test exited $?: $(tail -5 sim2.log)"
run train --data train.h5 --out model.pt --blocks 2 --hidden 32 --batch-size 100 --max-epochs 3 \
  --embedding-dim 4 --embedding-channels 4 >train.log 2>&1 || fail "train exited $?: $(tail -5 train.log)"
# z is given: by default the embedding sees each spectrum in the rest frame (280 pixels + the
# shift for z up to the demo's z_max).
grep -q "spectra: 280 pixels per galaxy, moved to the rest frame (3[0-9][0-9] pixels), into a 4-D embedding" train.log ||
  fail "train must use the spectra, in the rest frame: $(grep -i spectr train.log)"
run train --data train.h5 --out flat.pt --blocks 2 --hidden 32 --batch-size 100 --max-epochs 1 \
  --embedding-dim 4 --embedding-channels 4 --embedding-frame observed --embedding-pooling flatten >train_flat.log 2>&1 ||
  fail "train (observed frame, flattened) exited $?: $(tail -5 train_flat.log)"
grep -q "spectra: 280 pixels per galaxy into a 4-D embedding (1-D CNN, 4 convolutions x 4 channels, flattened" train_flat.log ||
  fail "train must use an observed-frame flattened embedding: $(grep -i spectr train_flat.log)"
run train --data train.h5 --out phot.pt --blocks 2 --hidden 32 --batch-size 100 --max-epochs 3 --spectra off \
  >train_phot.log 2>&1 || fail "train --spectra off exited $?: $(tail -5 train_phot.log)"
grep -qi "spectra:" train_phot.log && fail "--spectra off must not use the spectra"

run infer --model model.pt --catalog test.h5 --out post.h5 --n-samples 200 >infer.log 2>&1 ||
  fail "infer exited $?: $(tail -5 infer.log)"
run infer --model phot.pt --catalog test.h5 --out post_phot.h5 --n-samples 200 >infer2.log 2>&1 ||
  fail "infer (photometry-only model) exited $?: $(tail -5 infer2.log)"
run infer --model flat.pt --catalog test.h5 --out post_flat.h5 --n-samples 100 >infer3.log 2>&1 ||
  fail "infer (observed-frame flattened embedding) exited $?: $(tail -5 infer3.log)"
"$python" - <<'PY' || fail "posterior output checks"
import h5py, numpy as np
with h5py.File("post.h5") as a, h5py.File("post_phot.h5") as b:
    assert int(a.attrs["complete"]) == 1
    s, t = a["summary"][...], b["summary"][...]
    assert s.shape == (12, 22, 7), s.shape
    ok = np.isfinite(a["truth"][:, 0])
    assert np.isfinite(s[ok]).all() and ok.sum() >= 10
    assert np.isfinite(a["ess"][...][ok]).all(), "the weighting must run"
    assert not np.allclose(s[ok], t[ok]), "the spectrum changed nothing"
PY

run validate --model model.pt --out report --n-test 40 --n-samples 100 --n-store 100 --mcmc 1 --no-plots \
  >val.log 2>&1 || fail "validate exited $?: $(tail -5 val.log)"
grep -q "likelihood: photometry (5 bands) + spectrum (280 pixels" val.log || fail "validate's MCMC must use the spectra"
"$python" - <<'PY' || fail "validate report"
import h5py, json
with h5py.File("report/test_set.h5") as f:
    assert f["spectrum"].shape == (40, 280)
m = json.load(open("report/metrics.json"))
assert m["run"]["n_mcmc"] == "1" and m["flow_vs_mcmc"]["n_galaxies"] == 1, list(m)
PY

"$python" - <<'PY' || fail "could not craft bad inputs"
import shutil, h5py, numpy as np
shutil.copy("test.h5", "nan.h5")
with h5py.File("nan.h5", "r+") as f:
    ok = np.flatnonzero(np.isfinite(f["flux_obs"][:, 0]))
    s = f["spectrum"][...]
    s[ok[2], 11] = np.nan
    f["spectrum"][...] = s
    open("nan_row", "w").write(str(ok[2]))
shutil.copy("test.h5", "nospec.h5")
with h5py.File("nospec.h5", "r+") as f:
    del f["spectrum"], f["spectrum_wavelength"]
PY
row=$(cat nan_row)
run infer --model model.pt --catalog nan.h5 --out nan_out.h5 --n-samples 50 >nan.log 2>&1; rc=$?
[ $rc -eq 3 ] || fail "a NaN pixel must exit 3, got $rc: $(tail -3 nan.log)"
grep -q "galaxy $row (row $row): spectrum pixel 11 is NaN" nan.log || fail "message must name the galaxy: $(grep -i error nan.log | head -2)"
[ -e nan_out.h5 ] && fail "no complete output may be written for a NaN pixel"
run infer --model model.pt --catalog nospec.h5 --out nospec_out.h5 --n-samples 50 >nospec.log 2>&1; rc=$?
[ $rc -eq 3 ] || fail "a catalog without spectra must exit 3, got $rc"
grep -q "nospec.h5: no /spectrum" nospec.log || fail "message must name the catalog: $(grep -i error nospec.log | head -2)"
sed 's/^lambda_min = 4000.0/lambda_min = 4100.0/' "$config" >other.toml
"$mpiexec" -n 1 "$sedpost" --config other.toml simulate --n 3 --seed 4 --out other.h5 >sim3.log 2>&1 || fail "simulate other grid"
run infer --model model.pt --catalog other.h5 --out other_out.h5 --n-samples 50 >grid.log 2>&1; rc=$?
[ $rc -eq 3 ] || fail "another wavelength grid must exit 3, got $rc"
grep -q "spectrum wavelength grid of .*other.h5" grid.log || fail "grid message: $(grep -i error grid.log | head -2)"

# With z inferred the spectrum's redshift is unknown: the embedding stays in the observed frame
# (auto), asking for the rest frame is a config error (exit 2), and infer's posteriors include z
# (23 quantities).
sed 's/^\[model\]/[model]\nredshift = "inferred"/' "$config" >pz.toml
"$mpiexec" -n 2 "$sedpost" --config pz.toml simulate --n 300 --seed 5 --out pz_train.h5 >pz_sim.log 2>&1 ||
  fail "simulate (z inferred) exited $?: $(tail -5 pz_sim.log)"
"$mpiexec" -n 2 "$sedpost" --config pz.toml train --data pz_train.h5 --out pz.pt --blocks 2 --hidden 32 \
  --batch-size 100 --max-epochs 1 --embedding-dim 4 --embedding-channels 4 >pz_train.log 2>&1 ||
  fail "train (z inferred) exited $?: $(tail -5 pz_train.log)"
grep -q "spectra: 280 pixels per galaxy into a 4-D embedding" pz_train.log ||
  fail "with z inferred the embedding must stay in the observed frame: $(grep -i spectr pz_train.log)"
"$mpiexec" -n 2 "$sedpost" --config pz.toml train --data pz_train.h5 --out pz_rest.pt --max-epochs 1 \
  --embedding-frame rest >pz_rest.log 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--embedding-frame rest with z inferred must exit 2, got $rc: $(tail -3 pz_rest.log)"
grep -q "embedding-frame rest needs a training set with the redshift given" pz_rest.log || fail "rest-frame message: $(tail -2 pz_rest.log)"
"$mpiexec" -n 2 "$sedpost" --config pz.toml infer --model pz.pt --catalog pz_train.h5 --rows 0:8 --out pz_post.h5 \
  --n-samples 100 >pz_infer.log 2>&1 || fail "infer (z inferred, spectra) exited $?: $(tail -5 pz_infer.log)"
"$python" -c "import h5py; f = h5py.File('pz_post.h5'); assert int(f.attrs['complete']) == 1 and f['summary'].shape == (8, 23, 7), f['summary'].shape" ||
  fail "z-inferred spectral posteriors"
echo "spectra CLI test passed"
