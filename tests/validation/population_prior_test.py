#!/usr/bin/python3
"""validation/population_prior.py on a synthetic population with a known answer: galaxies drawn
from a narrow (z, log M*) population, Gaussian likelihoods wider than it, posteriors drawn under a
uniform prior. The EM must recover the population's spread (not the pooled draws' wider one), and
the re-weighted posteriors must stay calibrated and become sharper. Then main() end to end on a
small posterior file and catalog. Usage: population_prior_test.py SOURCE_DIR"""
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(sys.argv[1], "validation"))
import population_prior as pp  # noqa: E402
from photoz_metrics import metrics  # noqa: E402

rng = np.random.default_rng(11)
n, s = 8000, 100
z_min, z_max, m_bounds = 0.01, 1.0, (7.0, 12.5)
mu_z, sd_z, sd_obs_z = 0.45, 0.06, 0.10          # population and likelihood widths in z
mu_m, sd_m, sd_obs_m = 11.2, 0.20, 0.30
z_true = rng.normal(mu_z, sd_z, n)
m_true = rng.normal(mu_m, sd_m, n)
z_obs = z_true + sd_obs_z * rng.normal(size=n)
m_obs = m_true + sd_obs_m * rng.normal(size=n)
# Posterior under the uniform prior: the likelihood itself (the bounds are > 3 sigma away).
z = z_obs[:, None] + sd_obs_z * rng.normal(size=(n, s))
m = m_obs[:, None] + sd_obs_m * rng.normal(size=(n, s))

z_edges = np.linspace(z_min, z_max, 41)
m_edges = np.linspace(*m_bounds, 45)
area = np.outer(np.diff(z_edges), np.diff(m_edges)).ravel()
bins = pp.bin_index(z, m, z_edges, m_edges)
log_p0 = pp.log_prior0(z, m, z_min, z_max, None, m_bounds)
assert np.allclose(log_p0, -np.log(z_max - z_min) - np.log(5.5))
h = pp.fit_population(bins, log_p0, area, 1.0 / area.size, 3000).reshape(40, 44)
assert abs(h.sum() - 1) < 1e-9

# The fitted population's z spread: near sd_z (0.06), far below the pooled draws' 0.15
# (sqrt(0.06^2 + 2 x 0.1^2)). A finite number of draws per galaxy biases the maximum-likelihood h
# wider (a narrow h is estimated more noisily from a galaxy's draws, which the likelihood
# penalises): with this set-up, 40 z bins, 30 / 100 / 1,000 draws per galaxy gave 0.084 / 0.075 /
# 0.065 (3,000 galaxies). The bounds below allow that bias at 100 draws, and no more.
zc = 0.5 * (z_edges[1:] + z_edges[:-1])
pz = h.sum(axis=1)
mean_z = np.sum(pz * zc)
sd_fit = np.sqrt(np.sum(pz * (zc - mean_z) ** 2) - np.diff(z_edges)[0] ** 2 / 12)
assert abs(mean_z - mu_z) < 0.01, mean_z
assert sd_z < sd_fit < 1.3 * sd_z, (sd_fit, np.std(z))

# Re-weighted posteriors: calibrated and sharper than the uniform-prior ones, whose width is sd_obs.
f = (h.ravel() / area)[bins] * np.exp(-(log_p0 - log_p0.max(axis=1, keepdims=True)))
z_phot, pit = pp.weighted_scores(z, f, z_true, rng)
after = metrics(z_phot, z_true, pit)
before = metrics(np.median(z, axis=1), z_true, pp.weighted_scores(z, np.ones_like(z), z_true, rng)[1])
# Binomial standard error of the coverage at n = 8,000: 0.005; the EM's and the 100 draws' noise add to it.
assert abs(before["coverage_68"] - 0.68) < 0.025, before
assert abs(after["coverage_68"] - 0.68) < 0.03, after
# Expected sigma_NMAD ratio: posterior sd under the population / sd_obs = 1/sqrt(1 + (0.1/0.06)^2) = 0.51.
assert after["sigma_nmad"] < 0.7 * before["sigma_nmad"], (before, after)

# A weighted median and PIT with known answers.
zz = np.array([[0.1, 0.2, 0.3, 0.4]])
med, p = pp.weighted_scores(zz, np.array([[1.0, 1.0, 1.0, 5.0]]), np.array([0.35]), rng)
assert med[0] == 0.4 and abs(p[0] - 3 / 8) < 1e-12, (med, p)

# The histogram prior's density: bin weights normalised, n / (z_max - z_min) per unit weight.
w = np.array([1.0, 3.0])
lp = pp.log_prior0(np.array([0.2, 0.8]), np.array([10.0, 10.0]), 0.0, 1.0, w, m_bounds)
assert np.allclose(np.exp(lp) * 5.5, [0.5, 1.5]), lp

with tempfile.TemporaryDirectory() as d:
    import h5py

    k = 2000
    cat = os.path.join(d, "cat.csv")
    with open(cat, "w") as fh:
        fh.write("mag_u,mag_g,mag_r,mag_i,mag_z,z_spec\n")
        for i in range(k):
            fh.write(",".join(f"{20 + 0.1 * b:.2f}" for b in range(5)) + f",{z_true[i]:.5f}\n")
    post = os.path.join(d, "post.h5")
    names = ["log_mstar_formed", "z"]
    with h5py.File(post, "w") as f5:
        f5.create_dataset("row", data=np.arange(k)[::-1])  # rows out of order: matched by /row
        smp = np.stack([m[:k], z[:k]], axis=2)[::-1].astype(np.float32)
        f5.create_dataset("samples", data=smp)
        f5.create_dataset("summary", data=np.zeros((k, 2, 1)))
        f5["summary"].attrs["names"] = names
        f5.attrs["training_config"] = ("[model]\nredshift = 'inferred'\nz_min = 0.01\nz_max = 1.0\n")
    out = os.path.join(d, "out")
    assert pp.main(["--posteriors", post, "--catalog", cat, "--out", out, "--z-bins", "20", "--m-bins", "22"]) == 0
    with open(os.path.join(out, "population_prior.json")) as fh:
        r = json.load(fh)
    assert r["fit_galaxies"] + r["test_galaxies"] == k, r
    assert r["test_half_reweighted"]["sigma_nmad"] < r["test_half_training_prior"]["sigma_nmad"], r
    assert 1 < r["reweighting_ess"]["median"] < s, r["reweighting_ess"]
print("population_prior_test: ok")
