#!/usr/bin/env bash
# Usage: photoz_cli_test.sh MPIEXEC SEDPOST SOURCE_DIR
# The photo-z mode ([model] redshift = "inferred", docs/photo-z.md) end to end on a tiny model:
#  - simulate writes /theta [N, 12] with z last (box attributes include the z range) and /x
#    without z; a z range the universe is too young for is a config error (exit 2);
#  - infer writes z as the last /summary quantity (K = 23), /truth's z is the simulated one, the
#    z_multimodal flag is named, and the catalog is the same for 1 and 2 ranks;
#  - a CSV catalog without a redshift column works; a row with a missing flux is flagged with a
#    reason, a negative flux is ordinary data; a model that takes z as input refuses such a
#    catalog (exit 2);
#  - mcmc samples z too (chains [G, steps, walkers, 13], z last); validate includes z in its
#    calibration and in flow vs MCMC;
#  - a histogram z prior reaches simulate, infer (from the model file) and mcmc;
#  - infer's magnitude-dependent z prior (--z-prior-mag-*) sets each galaxy's z prior by its r
#    magnitude, is recorded in the file, and its bad settings are config errors (exit 2);
#  - `noise fit` reads a CSV catalog through the config's [catalog] columns.
set -u
mpiexec=$1 sedpost=$2 src=$3
py=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || fail "no temp dir"
sed -e 's/^n = 50000/n = 3000/' -e 's/^blocks = 5/blocks = 2/' -e 's/^hidden = 128/hidden = 32/' \
    -e 's/^max_epochs = 80/max_epochs = 3/' "$src/configs/demo.toml" >given.toml
sed -e 's/^z_min = 0.0/z_min = 0.01\nredshift = "inferred"/' -e 's/^steps = 30000/steps = 1000/' \
    -e 's/^burn = 2000/burn = 200/' -e 's/^early_stop = true/early_stop = false/' given.toml >pz.toml
grep -q 'redshift = "inferred"' pz.toml || fail "could not write pz.toml"
sed -e 's/^redshift = "inferred"/redshift = "inferred"\nz_prior = "histogram"\nz_prior_weights = [0, 0, 1, 1]/' \
  pz.toml >pzh.toml  # a histogram z prior (below)

sed -e 's/^z_max = 0.2/z_max = 1000.0\nmodel_z_max = 1000.0/' pz.toml >old.toml
"$mpiexec" -n 1 "$sedpost" --config old.toml simulate --n 10 --out old.h5 >old.log 2>&1
[ $? -eq 2 ] && grep -q "z_max = 1000" old.log && [ ! -e old.h5 ] ||
  fail "z_max beyond the age of the universe must exit 2 naming model.z_max: $(tail -3 old.log)"

"$mpiexec" -n 2 "$sedpost" --config pz.toml simulate --out train.h5 >log 2>&1 || fail "simulate: $(tail -5 log)"
"$mpiexec" -n 2 "$sedpost" --config pz.toml train --data train.h5 --out model.pt >log 2>&1 || fail "train: $(tail -5 log)"
"$mpiexec" -n 1 "$sedpost" --config pz.toml simulate --n 40 --seed 99 --out cat.h5 >log 2>&1 || fail "simulate cat: $(tail -5 log)"
$py - <<'PY' || fail "training set layout wrong"
import h5py, numpy as np
with h5py.File("train.h5") as f:
    assert f["theta"].shape[1] == 12 and f["x"].shape[1] == 10, (f["theta"].shape, f["x"].shape)
    names = [s.decode() if isinstance(s, bytes) else s for s in f.attrs["theta_names"]]
    assert names[-1] == "z", names
    xn = [s.decode() if isinstance(s, bytes) else s for s in f.attrs["x_names"]]
    assert "z" not in xn, xn
    assert f.attrs["theta_lower"][-1] == 0.01 and f.attrs["theta_upper"][-1] == 0.2
    r = f.attrs["redshift"]
    assert (r.decode() if isinstance(r, bytes) else r) == "inferred"
    ok = np.isfinite(f["z"][...])
    assert np.array_equal(f["theta"][:, 11][ok], f["z"][...][ok].astype(np.float32))
PY

args=(--config pz.toml infer --model model.pt --n-samples 300 --n-store 20 --chunk 8 --seed 7)
"$mpiexec" -n 1 "$sedpost" "${args[@]}" --catalog cat.h5 --out p1.h5 >p1.log 2>&1 || fail "infer -n 1: $(tail -5 p1.log)"
"$mpiexec" -n 2 "$sedpost" "${args[@]}" --catalog cat.h5 --out p2.h5 >p2.log 2>&1 || fail "infer -n 2: $(tail -5 p2.log)"
$py "$src/tests/app/h5_equal.py" p1.h5 p2.h5 --ignore-attr config || fail "photo-z posteriors differ between 1 and 2 ranks"
$py - <<'PY' || fail "photo-z posterior catalog wrong"
import h5py, numpy as np
dec = lambda v: [s.decode() if isinstance(s, bytes) else s for s in v]
with h5py.File("p1.h5") as f, h5py.File("cat.h5") as c:
    n = 40
    assert f["summary"].shape == (n, 23, 7), f["summary"].shape
    names = dec(f["summary"].attrs["names"])
    assert names[-1] == "z" and names[12] == "log_mstar" and len(dec(f["summary"].attrs["units"])) == 23, names
    assert "z_multimodal" in dec(f["flags"].attrs["flag_names"])
    assert f["samples"].shape == (n, 20, 23) and f["truth"].shape == (n, 23)
    assert np.array_equal(f["truth"][:, 22], c["z"][...]), "truth z must be the simulated z"
    assert np.array_equal(f["truth"][:, :12], c["theta_physical"][...])
    s, sm = f["summary"][...], f["samples"][...]
    assert ((f["flags"][...] & 3) == 0).all(), "simulated rows must all have posteriors"
    assert np.all(np.diff(s[:, :, 2:], axis=2)[:, :12] >= 0) and np.all(np.diff(s[:, 22, 2:], axis=1) >= 0)
    z = sm[:, :, 22]
    assert z.min() >= 0.01 and z.max() <= 0.2, (z.min(), z.max())
    assert np.unique(z).size > 100, "z draws must vary"
    assert np.isfinite(s[:, 12, 4]).all(), "log M* (surviving) marginalised over z must be finite"
    r = f.attrs["redshift"]
    assert (r.decode() if isinstance(r, bytes) else r) == "inferred"
PY

# --- a CSV catalog without redshift: missing and negative fluxes
$py - <<'PY' || fail "could not write cat.csv"
import h5py, numpy as np
with h5py.File("cat.h5") as c:
    fl, sg = c["flux_obs"][:8], c["sigma"][:8]
lines = ["id," + ",".join(f"f_{b}" for b in "ugriz") + "," + ",".join(f"e_{b}" for b in "ugriz")]
for i in range(8):
    f = [repr(float(v)) for v in fl[i]]
    if i == 2: f[1] = ""                    # g missing
    if i == 3: f[0] = repr(-abs(float(sg[i, 0])))  # a negative u flux, one sigma below zero
    lines.append(f"{100 + i}," + ",".join(f) + "," + ",".join(repr(float(v)) for v in sg[i]))
open("cat.csv", "w").write("\n".join(lines) + "\n")
PY
cat >>pz.toml <<'TOML'

[catalog]
id = "id"
flux = ["f_u", "f_g", "f_r", "f_i", "f_z"]
error = ["e_u", "e_g", "e_r", "e_i", "e_z"]
error_kind = "sigma"
flux_unit = "nmgy"
redshift = ""
TOML
"$mpiexec" -n 1 "$sedpost" --config pz.toml infer --model model.pt --n-samples 200 --catalog cat.csv --out csv.h5 \
  >csv.log 2>&1 || fail "infer on a CSV without redshift must run: $(tail -5 csv.log)"
$py - <<'PY' || fail "CSV rows wrong"
import h5py, numpy as np
with h5py.File("csv.h5") as f:
    fl = f["flags"][...]
    why = [s.decode() if isinstance(s, bytes) else s for s in f["flag_reason"][...]]
    assert fl[2] & 1 and "g: flux missing" in why[2], (fl[2], why[2])
    assert (fl[3] & 3) == 0 and np.isfinite(f["summary"][3, 22, 4]), "a negative flux is data, not an error"
    assert np.isnan(f["z"][...]).all(), "no redshift column: /z is NaN"
    assert list(f["id"][...]) == list(range(100, 108))
PY
# A model that takes z as input (its own training set) cannot read a catalog without redshift.
"$mpiexec" -n 2 "$sedpost" --config given.toml simulate --n 2000 --out gtrain.h5 >log 2>&1 || fail "simulate given: $(tail -3 log)"
"$mpiexec" -n 2 "$sedpost" --config given.toml train --data gtrain.h5 --out given.pt >log 2>&1 || fail "train given: $(tail -3 log)"
sed -n '/^\[catalog\]/,$p' pz.toml >>given.toml
"$mpiexec" -n 1 "$sedpost" --config given.toml infer --model given.pt --catalog cat.csv --out g.h5 >g.log 2>&1
[ $? -eq 2 ] && grep -q "redshift is empty" g.log && [ ! -e g.h5 ] ||
  fail "a given-z model on a catalog without redshift must exit 2: $(tail -3 g.log)"

# --- photo-z combined with band masks: a catalog row with a missing band keeps a posterior
sed -e 's/^redshift = "inferred"/redshift = "inferred"\nband_masks = true/' pz.toml >pzm.toml
"$mpiexec" -n 2 "$sedpost" --config pzm.toml simulate --out trainm.h5 >log 2>&1 || fail "simulate masks: $(tail -3 log)"
"$mpiexec" -n 2 "$sedpost" --config pzm.toml train --data trainm.h5 --out masked.pt >log 2>&1 || fail "train masks: $(tail -3 log)"
"$mpiexec" -n 1 "$sedpost" --config pzm.toml infer --model masked.pt --n-samples 200 --catalog cat.csv --out m.h5 \
  >m.log 2>&1 || fail "infer masks: $(tail -5 m.log)"
$py - <<'PY' || fail "photo-z with band masks wrong"
import h5py, numpy as np
with h5py.File("trainm.h5") as f:
    assert f["x"].shape[1] == 15 and f["theta"].shape[1] == 12, (f["x"].shape, f["theta"].shape)
with h5py.File("m.h5") as f:
    fl, used = f["flags"][...], f["bands_used"][...]
    assert (fl[2] & 1) == 0 and used[2] == 0b11101, (fl[2], bin(used[2]))  # g left out, the rest used
    assert np.isfinite(f["summary"][2, 22, 4]), "z of the row without g"
PY

# --- validate: z in the calibration and in flow vs MCMC (short chains: a schema check). The
# band-mask model's training config has the CSV's [catalog] table, which must not reach the
# test set's readers.
"$mpiexec" -n 2 "$sedpost" --config pz.toml validate --model masked.pt --n-test 60 --n-samples 200 --mcmc 2 \
  --out rep --no-plots >v.log 2>&1 || fail "validate: $(tail -5 v.log)"
$py - <<'PY' || fail "validate with z inferred wrong"
import json, h5py, numpy as np
m = json.load(open("rep/metrics.json"))
assert '"z"' in json.dumps(m["calibration"]), "z must be among the calibrated quantities"
assert '"z"' in json.dumps(m["flow_vs_mcmc"]), "z must be compared with the MCMC"
with h5py.File("rep/chains.h5") as c:
    assert c["chains"].shape[0] == 2 and c["chains"].shape[3] == 13, c["chains"].shape
    assert [s.decode() if isinstance(s, bytes) else s for s in c.attrs["theta_names"]][-1] == "z"
    z = c["chains"][0, :c["n_steps"][0], :, 12]
    assert z.min() >= 0.01 and z.max() <= 0.2 and z.std() > 0, (z.min(), z.max())
    with h5py.File("rep/test_set.h5") as t:
        assert np.array_equal(c["z"][...], t["z"][:2]), "/z is the catalog's (true) redshift"
PY

# --- a histogram z prior (docs/photo-z.md, "Redshift prior") reaches every stage: weights
# [0, 0, 1, 1] on [0.01, 0.2] allow only z >= 0.1075, in the training set, in infer's weighted
# draws (the prior comes from the model file) and in the MCMC's chains.
"$mpiexec" -n 2 "$sedpost" --config pzh.toml simulate --out htrain.h5 >log 2>&1 || fail "simulate histogram: $(tail -3 log)"
grep -q "histogram of 4 bins on \[0.01, 0.2\]" log || fail "simulate must name the z prior: $(grep simulate: log | head -1)"
"$mpiexec" -n 2 "$sedpost" --config pzh.toml train --data htrain.h5 --out hmodel.pt >log 2>&1 || fail "train histogram: $(tail -3 log)"
"$mpiexec" -n 1 "$sedpost" --config pzh.toml simulate --n 6 --seed 98 --out hcat.h5 >log 2>&1 || fail "simulate hcat: $(tail -3 log)"
"$mpiexec" -n 1 "$sedpost" infer --model hmodel.pt --catalog hcat.h5 --n-samples 300 --n-store 50 --out hp.h5 >log 2>&1 ||
  fail "infer histogram: $(tail -3 log)"
"$mpiexec" -n 1 "$sedpost" --config pzh.toml mcmc --catalog hcat.h5 --rows 0:1 --burn 100 --steps 200 --out hch.h5 >log 2>&1 ||
  fail "mcmc histogram: $(tail -3 log)"
grep -q "z sampled, prior histogram of 4 bins" log || fail "mcmc must name the z prior: $(grep 'mcmc:' log | head -1)"
$py - <<'PY' || fail "histogram z prior not applied"
import h5py, numpy as np
z_cut = 0.01 + 0.5 * (0.2 - 0.01)
with h5py.File("htrain.h5") as t:
    z = t["z"][...]
    z = z[np.isfinite(z)]
    assert z.min() >= z_cut and z.size > 2000, (z.min(), z.size)
with h5py.File("hp.h5") as f:
    s = f["samples"][:, :, 22]
    assert np.isfinite(s).all() and s.min() >= z_cut, s.min()
with h5py.File("hch.h5") as c:
    z = c["chains"][0, :c["n_steps"][0], :, 12]
    assert z.min() >= z_cut and z.std() > 0, (z.min(), z.std())
PY

# --- the magnitude-dependent z prior (docs/photo-z.md): two r-magnitude bins split at the
# catalog's median r; the bright bin allows only z < 0.105, the faint one only z >= 0.105 (4 z
# bins on [0.01, 0.2]). Every stored z draw must respect its galaxy's bin.
edge=$($py -c "
import h5py, numpy as np
print(np.median(22.5 - 2.5 * np.log10(h5py.File('cat.h5')['flux_obs'][:, 2])))")
mag=(--z-prior-mag-band r --z-prior-mag-edges "$edge" --z-prior-mag-weights 1,1,0,0,0,0,1,1)
sed '/^\[catalog\]/,$d' pz.toml >pzc.toml  # without the CSV's [catalog] table: cat.h5 again, as p1.h5
margs=(--config pzc.toml "${args[@]:2}")
"$mpiexec" -n 1 "$sedpost" "${margs[@]}" --catalog cat.h5 --out pm.h5 "${mag[@]}" >pm.log 2>&1 ||
  fail "infer with a magnitude-dependent z prior: $(tail -5 pm.log)"
grep -q "its prior by the r magnitude (2 magnitude bins)" pm.log || fail "infer must log the z prior: $(grep 'infer:' pm.log | head -1)"
EDGE=$edge $py - <<'PY' || fail "magnitude-dependent z prior not applied"
import os, h5py, numpy as np
edge, z_cut = float(os.environ["EDGE"]), 0.01 + 0.5 * (0.2 - 0.01)
with h5py.File("pm.h5") as f, h5py.File("p1.h5") as g:
    r = 22.5 - 2.5 * np.log10(f["flux_obs"][:, 2])
    z, ok = f["samples"][:, :, 22], (f["flags"][...] & 3) == 0
    assert ok.sum() >= 30, f"{ok.sum()} of 40 rows with a posterior"
    bright, faint = ok & (r < edge), ok & (r >= edge)
    assert bright.sum() >= 10 and faint.sum() >= 10, (bright.sum(), faint.sum())
    assert z[bright].max() < z_cut and z[faint].min() >= z_cut, (z[bright].max(), z[faint].min())
    zg = g["samples"][:, :, 22]
    assert zg[bright].max() >= z_cut and zg[faint].min() < z_cut, "the model's own prior allows both"
    band = f.attrs["z_prior_mag_band"]
    assert (band.decode() if isinstance(band, bytes) else band) == "r"
    assert np.allclose(f.attrs["z_prior_mag_edges"], [edge])
    assert list(f.attrs["z_prior_mag_weights"]) == [1, 1, 0, 0, 0, 0, 1, 1]
    assert "z_prior_mag_band" not in g.attrs, "absent without the option"
PY
bad() {  # bad() EXPECTED_TEXT ARGS...: a config error (exit 2) naming it, and no output file
  local want=$1; shift
  "$mpiexec" -n 1 "$sedpost" "${margs[@]}" --catalog cat.h5 --out bad.h5 "$@" >bad.log 2>&1
  [ $? -eq 2 ] && grep -q "$want" bad.log && [ ! -e bad.h5 ] || fail "'$*' must exit 2 naming '$want': $(tail -2 bad.log)"
}
bad "is not one of the model's bands (u, g, r, i, z)" --z-prior-mag-band H --z-prior-mag-weights 1,1
bad "expected 2 magnitude bins" "${mag[@]:0:4}" --z-prior-mag-weights 1,1,0
bad "must ascend strictly" --z-prior-mag-band r --z-prior-mag-edges 21,20 --z-prior-mag-weights 1,1,1
bad "magnitude bin 1 are all 0" "${mag[@]:0:4}" --z-prior-mag-weights 1,1,0,0,0,0,0,0
bad "needs the likelihood weighting" "${mag[@]}" --weighting false
bad "z_prior_mag_band is not" --z-prior-mag-weights 1,1
"$mpiexec" -n 1 "$sedpost" --config given.toml infer --model given.pt --catalog cat.h5 --out bad.h5 "${mag[@]}" >bad.log 2>&1
[ $? -eq 2 ] && grep -q "takes the redshift as given" bad.log || fail "a given-z model must refuse the z prior: $(tail -2 bad.log)"

# --- noise fit through the [catalog] columns (the BOSS CSV)
boss="${SEDPOST_DATA_DIR:-$src/../shared/data}/catalogs/boss_dr10/boss_dr10_ugriz_specz.csv"
if [ -e "$boss" ]; then
  "$mpiexec" -n 1 "$sedpost" --config "$src/configs/boss_dr10.toml" noise fit --catalog "$boss" --out bn.h5 >n.log 2>&1 ||
    fail "noise fit on the BOSS CSV: $(tail -3 n.log)"
  $py -c "
import h5py
f = h5py.File('bn.h5')
b = [s.decode() if isinstance(s, bytes) else s for s in f.attrs['bands']]
assert b == ['u', 'g', 'r', 'i', 'z'], b
" || fail "noise model of the BOSS CSV wrong"
fi
echo "photoz_cli_test: all checks passed"
