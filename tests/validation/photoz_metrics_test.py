#!/usr/bin/python3
"""validation/photoz_metrics.py on synthetic photo-z with known answers, and on a small CSV
through both of its inputs (--samples, --knn). Usage: photoz_metrics_test.py SOURCE_DIR"""
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(sys.argv[1], "validation"))
import photoz_metrics as pm  # noqa: E402

rng = np.random.default_rng(5)
n, m, s = 20000, 400, 0.04
z = rng.uniform(0.05, 1.0, n)
# A calibrated Gaussian photo-z with dz = (z_phot - z) / (1 + z) ~ N(0, s): each galaxy's
# posterior is N(z_obs, s (1 + z)) around a noisy point estimate z_obs.
z_obs = z + s * (1 + z) * rng.normal(size=n)
draws = z_obs[:, None] + s * (1 + z)[:, None] * rng.normal(size=(n, m))
pit = pm.pit_from_draws(draws, z, rng)
r = pm.metrics(np.median(draws, axis=1), z, pit)
# The median of 400 draws adds 1.25 s / sqrt(400) = 0.06 s in quadrature: sigma_NMAD ~ 1.002 s.
assert abs(r["sigma_nmad"] - s) < 0.03 * s, r
assert r["outlier_fraction"] < 0.001, r  # |dz| > 0.15 = 3.75 sigma
assert abs(r["bias_median"]) < 0.002, r
# Binomial standard errors of the coverages at n = 20,000: 0.0033 and 0.0015; allow 4 of them.
assert abs(r["coverage_68"] - 0.68) < 0.014, r
assert abs(r["coverage_95"] - 0.95) < 0.006, r
assert sum(r["pit_histogram_10"]) == n

# An overconfident posterior (half the width) fails the coverage, a biased one shows its bias.
narrow = z_obs[:, None] + 0.5 * s * (1 + z)[:, None] * rng.normal(size=(n, m))
r2 = pm.metrics(np.median(narrow, axis=1), z, pm.pit_from_draws(narrow, z, rng))
assert r2["coverage_68"] < 0.45, r2
shifted = draws + 0.02 * (1 + z)[:, None]
r3 = pm.metrics(np.median(shifted, axis=1), z, pm.pit_from_draws(shifted, z, rng))
assert abs(r3["bias_median"] - 0.02) < 0.002, r3

# Outliers: 5 % of the galaxies put at z + 0.5.
z_bad = np.median(draws, axis=1).copy()
z_bad[:1000] = z[:1000] + 0.5
assert abs(pm.metrics(z_bad, z, pit)["outlier_fraction"] - 0.05) < 0.002

with tempfile.TemporaryDirectory() as d:
    # A catalog whose colours determine z: the nearest-neighbour baseline must do well on it.
    k = 3000
    zc = rng.uniform(0.05, 0.8, k)
    mags = np.column_stack([20 + 3 * zc * (1 + 0.2 * b) + 0.02 * rng.normal(size=k) for b in range(5)])
    cat = os.path.join(d, "cat.csv")
    with open(cat, "w") as f:
        f.write("mag_u,mag_g,mag_r,mag_i,mag_z,z_spec\n")
        for row, zz in zip(mags, zc):
            f.write(",".join(f"{v:.5f}" for v in row) + f",{zz:.5f}\n")
    assert pm.main(["--catalog", cat, "--knn", "--out", os.path.join(d, "knn")]) == 0
    with open(os.path.join(d, "knn", "photoz_metrics.json")) as f:
        knn = json.load(f)
    assert 1200 < knn["n"] < 1800 and knn["sigma_nmad"] < 0.02 and knn["outlier_fraction"] < 0.01, knn
    assert os.path.getsize(os.path.join(d, "knn", "pit.png")) > 0
    # --samples: draws per catalog row, NaN rows skipped.
    zs = zc[:, None] + 0.01 * rng.normal(size=(k, 100))
    zs[:10] = np.nan
    np.save(os.path.join(d, "z.npy"), zs)
    assert pm.main(["--catalog", cat, "--samples", os.path.join(d, "z.npy"), "--out", os.path.join(d, "s")]) == 0
    with open(os.path.join(d, "s", "photoz_metrics.json")) as f:
        assert json.load(f)["n"] == k - 10
    # Wrong shape or a missing column: an error naming the input.
    np.save(os.path.join(d, "bad.npy"), zs[:5])
    for args in (["--samples", os.path.join(d, "bad.npy")], ["--knn", "--z-col", "zz"]):
        try:
            pm.main(["--catalog", cat, "--out", d] + args)
            raise AssertionError(f"no error for {args}")
        except SystemExit as e:
            assert "bad.npy" in str(e.code) or "zz" in str(e.code), e.code
print("PASS")
