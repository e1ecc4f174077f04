#!/usr/bin/python3
"""validation/z_prior_histogram.py: the n(z) weights and the magnitude-dependent p(z | m) weights
on a synthetic catalog with known answers, and main()'s printed lines parse as the TOML the
config needs. Usage: z_prior_histogram_test.py SOURCE_DIR"""
import contextlib
import io
import os
import sys
import tempfile
import tomllib

import numpy as np

sys.path.insert(0, os.path.join(sys.argv[1], "validation"))
import z_prior_histogram as zh  # noqa: E402

# n(z): counts in 4 bins on [0, 1] plus the floor; a redshift outside the range is not counted.
w = zh.histogram_weights(np.array([0.1, 0.1, 0.3, 0.9, 1.5]), 0.0, 1.0, 4, 0.2)
assert np.allclose(w, 0.8 * np.array([2, 1, 0, 1]) / 4 + 0.05), w
assert abs(w.sum() - 1) < 1e-12

# p(z | m): bright galaxies (m < 20) at low z, faint ones at high z; 2 equal-count bins must
# split at m = 20 and give each bin its own z histogram.
rng = np.random.default_rng(3)
m = np.concatenate([rng.uniform(18, 20, 500), rng.uniform(20, 22, 500)])
z = np.concatenate([rng.uniform(0.0, 0.5, 500), rng.uniform(0.5, 1.0, 500)])
edges, rows = zh.magnitude_histograms(m, z, 0.0, 1.0, 2, 0.0, 2)
assert edges.shape == (1,) and abs(edges[0] - 20) < 0.01, edges
assert np.allclose(rows, [[1, 0], [0, 1]]), rows
edges, rows = zh.magnitude_histograms(m, z, 0.0, 1.0, 4, 0.1, 4)
assert edges.shape == (3,) and np.all(np.diff(edges) > 0) and rows.shape == (4, 4)
assert np.allclose(rows.sum(axis=1), 1) and rows.min() >= 0.1 / 4 - 1e-12
assert rows[0, :2].sum() > 0.9 and rows[3, 2:].sum() > 0.9, rows  # brightest low z, faintest high z
for bad in (lambda: zh.magnitude_histograms(m, z, 0.0, 1.0, 2, 0.0, 0),
            lambda: zh.magnitude_histograms(np.full(10, 20.0), np.full(10, 0.5), 0.0, 1.0, 2, 0.0, 3)):
    try:
        bad()
        raise AssertionError("a bad magnitude binning must raise ValueError")
    except ValueError:
        pass

# main() end to end on a CSV: the printed [infer] lines parse, with n_m = 2 rows of 4 weights.
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "cat.csv")
    with open(path, "w") as f:
        f.write("mag_u,mag_g,mag_r,mag_i,mag_z,z_spec\n")
        for mi, zi in zip(m, z):
            f.write(f"{mi + 1},{mi + 0.5},{mi},{mi - 0.3},{mi - 0.5},{zi}\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert zh.main(["--catalog", path, "--z-min", "0", "--z-max", "1", "--bins", "4", "--rows", "all",
                        "--by-magnitude", "mag_r", "--band", "r", "--magnitude-bins", "2"]) == 0
    conf = tomllib.loads(out.getvalue())
    assert conf["z_prior_mag_band"] == "r"
    assert len(conf["z_prior_mag_edges"]) == 1 and abs(conf["z_prior_mag_edges"][0] - 20) < 0.01
    wm = np.array(conf["z_prior_mag_weights"]).reshape(2, 4)
    assert np.allclose(wm.sum(axis=1), 1, atol=1e-4) and wm[0, :2].sum() > 0.9 and wm[1, 2:].sum() > 0.9, wm
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert zh.main(["--catalog", path, "--z-min", "0", "--z-max", "1", "--bins", "4", "--rows", "all"]) == 0
    conf = tomllib.loads(out.getvalue())
    assert conf["z_prior"] == "histogram" and len(conf["z_prior_weights"]) == 4
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            zh.main(["--catalog", path, "--z-min", "0", "--z-max", "1", "--by-magnitude", "mag_r"])
        raise AssertionError("--by-magnitude without --band must exit")
    except SystemExit as e:
        assert "needs --band" in str(e.code), e.code
print("z_prior_histogram_test: all checks passed")
