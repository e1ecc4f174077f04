#!/usr/bin/env bash
# Usage: band_masks_cli_test.sh MPIEXEC SEDPOST SOURCE_DIR
# Any subset of bands (docs/missing-bands.md) end to end on a tiny seven-band NSA model
# (configs/demo_nsa7.toml shrunk):
#  - the training set has present flags in /x, /bands_used, and masked bands written as not
#    measured, at the configured drop rates;
#  - `infer` gives a posterior to a row missing a band (its bit cleared in /bands_used), flags a
#    row with every band missing (bad_photometry, a reason, no posterior) and leaves the other
#    rows exactly as in a run without the crafted rows;
#  - a row with errors far beyond the training range is flagged noisier_than_training with the
#    remedy in its reason, and keeps a posterior;
#  - real NSA rows lacking GALEX photometry all get posteriors from the other bands;
#  - `simulate --drop-bands`, `--inflate-errors`, and `mcmc` on a row with a missing band.
set -u
mpiexec=$1 sedpost=$2 src=$3
py=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || fail "no temp dir"
sed -e 's/^n = 50000/n = 3000/' -e 's/^blocks = 5/blocks = 2/' -e 's/^hidden = 128/hidden = 32/' \
    -e 's/^max_epochs = 80/max_epochs = 3/' -e 's/^mask_floor = 0.1 .*/mask_rates = [0.3, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1]/' \
    "$src/configs/demo_nsa7.toml" >tiny.toml
grep -q "^band_masks = true" tiny.toml || fail "configs/demo_nsa7.toml does not enable band masks"
"$mpiexec" -n 2 "$sedpost" --config tiny.toml simulate --out train.h5 >log 2>&1 || fail "simulate: $(tail -5 log)"
"$mpiexec" -n 2 "$sedpost" --config tiny.toml train --data train.h5 --out model.pt >log 2>&1 || fail "train: $(tail -5 log)"
"$mpiexec" -n 1 "$sedpost" --config tiny.toml simulate --n 40 --seed 99 --out cat.h5 >log 2>&1 || fail "simulate cat: $(tail -5 log)"
"$mpiexec" -n 1 "$sedpost" --config tiny.toml simulate --n 10 --seed 98 --drop-bands r --out drop_r.h5 >log 2>&1 ||
  fail "simulate --drop-bands: $(tail -5 log)"
"$mpiexec" -n 1 "$sedpost" --config tiny.toml simulate --n 10 --seed 98 --drop-bands r --inflate-errors g=5 \
  --out inflated.h5 >log 2>&1 || fail "simulate --inflate-errors: $(tail -5 log)"
"$mpiexec" -n 1 "$sedpost" --config tiny.toml simulate --n 10 --seed 98 --drop-bands w1 --out bad.h5 >log 2>&1 &&
  fail "simulate --drop-bands w1 (not a band) should fail"
grep -q "w1" log || fail "the error does not name the unknown band: $(tail -3 log)"

$py - <<'PY' || fail "training set with band masks is wrong"
import h5py, numpy as np
with h5py.File("train.h5") as f:
    x, used, fo, s = f["x"][...], f["bands_used"][...], f["flux_obs"][...], f["sigma"][...]
    bands = [b.decode() if isinstance(b, bytes) else b for b in f.attrs["bands"]]
    assert bands == ["FUV", "NUV", "u", "g", "r", "i", "z"], bands
    names = [b.decode() if isinstance(b, bytes) else b for b in f.attrs["x_names"]]
    assert x.shape[1] == 22 and names[14] == "present_FUV" and names[-1] == "z", names
    rates = f.attrs["band_mask_rates"]
    assert np.allclose(rates, [0.3, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1]), rates
    present = ((used[:, None] >> np.arange(7)) & 1).astype(bool)
    assert (used != 0).all(), "a row lost every band"
    assert np.array_equal(present, x[:, 14:21] > 0.5), "present flags in x disagree with /bands_used"
    assert np.isnan(fo[~present]).all() and np.isinf(s[~present]).all(), "a masked band must read as not measured"
    assert np.isfinite(fo[present]).all()
    n = len(used)
    for b, p in enumerate(rates):   # binomial(n, p): within 5 standard deviations
        got = 1 - present[:, b].mean()
        assert abs(got - p) < 5 * np.sqrt(p * (1 - p) / n), (b, got, p)
with h5py.File("drop_r.h5") as f, h5py.File("inflated.h5") as g:
    assert (f["bands_used"][...] == 0b1101111).all(), f["bands_used"][...]
    # --inflate-errors g=5: g's error and noise five times wider, every other band as drawn
    s, t = f["sigma"][...], g["sigma"][...]
    assert np.allclose(t[:, 3], 5 * s[:, 3], rtol=1e-12) and np.array_equal(np.delete(t, 3, 1), np.delete(s, 3, 1))
    tr, fo, go = f["flux_true"][:, 3], f["flux_obs"][:, 3], g["flux_obs"][:, 3]
    assert np.allclose(go - tr, 5 * (fo - tr), rtol=1e-9, atol=1e-9)
PY

# --- crafted rows: one band missing, every band missing, errors beyond the training range.
$py - <<'PY' || fail "could not craft the catalog"
import shutil, h5py, numpy as np
shutil.copy("cat.h5", "crafted.h5")
with h5py.File("crafted.h5", "r+") as f:
    fl, s = f["flux_obs"][...], f["sigma"][...]
    fl[:3] = f["flux_true"][:3]; s[:3] = 0.05 * fl[:3]    # rows 0-2: every band measured
    fl[0, 4] = np.nan; s[0, 4] = np.inf                   # row 0: r missing
    fl[1, :] = np.nan; s[1, :] = np.inf                   # row 1: every band missing
    s[2, 3] = 1e4 * s[2, 3]                                # row 2: g far noisier than training
    f["flux_obs"][...] = fl; f["sigma"][...] = s
PY
args=(--config tiny.toml infer --model model.pt --n-samples 300 --chunk 8 --seed 7)
"$mpiexec" -n 1 "$sedpost" "${args[@]}" --catalog crafted.h5 --out crafted_post.h5 >c.log 2>&1 || fail "infer crafted: $(tail -5 c.log)"
"$mpiexec" -n 1 "$sedpost" "${args[@]}" --catalog cat.h5 --out clean_post.h5 >c2.log 2>&1 || fail "infer clean: $(tail -5 c2.log)"
$py - <<'PY' || fail "posteriors with missing bands are wrong"
import h5py, numpy as np
def text(v): return v.decode() if isinstance(v, bytes) else v
with h5py.File("crafted_post.h5") as f, h5py.File("clean_post.h5") as g, h5py.File("cat.h5") as c:
    names = [text(n) for n in f["flags"].attrs["flag_names"]]
    bad, noisy = 1 << names.index("bad_photometry"), 1 << names.index("noisier_than_training")
    flags, used, reason, s = f["flags"][...], f["bands_used"][...], f["flag_reason"][...], f["summary"][...]
    assert f.attrs["band_masks"] == 1
    # row 0: r missing -> a posterior without r
    assert not flags[0] & bad and used[0] == 0b1101111 and np.isfinite(s[0, :, 4]).all(), (flags[0], used[0], text(reason[0]))
    # row 1: nothing usable -> flagged, reason, no posterior
    assert flags[1] & bad and used[1] == 0 and np.isnan(s[1]).all(), (flags[1], used[1])
    assert "no usable band" in text(reason[1]), text(reason[1])
    # row 2: g far noisier than training -> flagged with the remedy, posterior with g in the likelihood
    r2 = text(reason[2])
    assert flags[2] & noisy and "remedy" in r2 and "g" in r2, (flags[2], r2)
    assert np.isfinite(s[2, :, 4]).all() and used[2] == 0b1111111, used[2]
    # the simulated catalog's own masks: bands_used equals the catalog's, every row has a posterior
    cu = c["bands_used"][...]
    assert np.array_equal(used[3:], cu[3:]) and not (flags[3:] & bad).any()
    # rows 3.. are untouched by the crafted rows
    for k in ["summary", "flags", "chi2", "ess", "bands_used"]:
        a, b = f[k][3:], g[k][3:]
        assert np.array_equal(a, b, equal_nan=True), k
PY

# --- real NSA rows lacking GALEX (A1367: about 15 % of its galaxies)
"$mpiexec" -n 2 "$sedpost" --config tiny.toml infer --model model.pt --n-samples 200 --rows 0:120 \
  --catalog "$SEDPOST_DATA_DIR/catalogs/nsa/A1367_NSAmastertable.fits" --out nsa.h5 >n.log 2>&1 || fail "infer NSA: $(tail -5 n.log)"
$py - <<'PY' || fail "NSA rows without GALEX did not all get posteriors"
import h5py, numpy as np
with h5py.File("nsa.h5") as f:
    flags, used, s, sig = f["flags"][...], f["bands_used"][...], f["summary"][...], f["sigma"][...]
    no_galex = np.isinf(sig[:, 0]) & np.isinf(sig[:, 1])
    assert no_galex.sum() >= 5, no_galex.sum()
    assert not (flags & 1).any(), "a row was dropped for bad photometry"
    assert np.isfinite(s[:, 12, 4]).all(), "every galaxy needs a log M* posterior"
    assert ((used[no_galex] & 3) == 0).all() and ((used[no_galex] >> 2) == 0b11111).all()
PY

# --- mcmc with a missing band: runs and leaves the band out
"$mpiexec" -n 1 "$sedpost" --config tiny.toml mcmc --catalog crafted.h5 --rows 0:2 --walkers 24 --steps 200 --burn 100 \
  --out chains.h5 >m.log 2>&1 || fail "mcmc: $(tail -5 m.log)"
$py - <<'PY' || fail "mcmc flags for missing bands are wrong"
import h5py, numpy as np
with h5py.File("chains.h5") as f:
    fl = f["flags"][...]
    names = [n.decode() if isinstance(n, bytes) else n for n in f["flags"].attrs["flag_names"]]
    bad_input = sum(1 << names.index(n) for n in ("bad_sigma", "bad_flux", "bad_redshift"))
    assert not fl[0] & bad_input and np.isfinite(f["chains"][0, :10]).all(), ("row 0 (r missing) must run", fl[0])
    assert fl[1] & bad_input, "row 1 (every band missing) must be flagged"
PY
echo PASS
