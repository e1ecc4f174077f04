#!/usr/bin/python3
"""Writes a tiny synthetic REPORT_DIR for the make_report.py test: test_posteriors.h5,
chains.h5 and nsa_posteriors.h5 with the schemas of ARCHITECTURE.md (posterior catalog with
/truth, /flux_obs, /sigma, /best_flux; chains), strings stored as HDF5 variable-length and
fixed-length strings like the C++ writers do. metrics.json comes from the C++ example program.

Usage: /usr/bin/python3 make_report_fixture.py REPORT_DIR [--no-chains] [--no-real]
"""
import argparse
import os

import h5py
import numpy as np

NAMES = ["log_mstar_formed", "beta_1", "beta_2", "beta_3", "beta_4", "f_burst", "t_burst", "gamma_1",
         "gamma_2", "tau_bc", "tau_ism", "n_dust", "log_mstar", "log_sfr_100myr", "log_sfr_1gyr",
         "log_age_mw", "log_z_mw", "t50"]
UNITS = ["log10 M_sun", "", "", "", "", "", "Gyr", "", "", "", "", "", "log10 M_sun", "log10 M_sun/yr",
         "log10 M_sun/yr", "log10 yr", "log10", "Gyr"]
COLUMNS = ["mean", "std", "p2.5", "p16", "p50", "p84", "p97.5"]
BANDS = ["u", "g", "r", "i", "z"]
FLAG_NAMES = ["noisy", "colour", "chi2"]


def catalog(path, n, s, rng, with_truth):
    k = len(NAMES)
    truth = rng.normal(size=(n, k)) + np.arange(k)
    sd = 0.1 + 0.05 * np.arange(k)
    mean = truth + sd * rng.normal(size=(n, k))
    samples = (mean[:, None, :] + sd * rng.normal(size=(n, s, k))).astype(np.float32)
    q = np.percentile(samples, [2.5, 16, 50, 84, 97.5], axis=1)  # [5, n, k]
    summary = np.concatenate([samples.mean(axis=1)[..., None], samples.std(axis=1)[..., None],
                              np.moveaxis(q, 0, -1)], axis=-1).astype(np.float32)
    flux = 10 ** rng.uniform(1, 3, size=(n, len(BANDS)))
    sigma = 0.05 * flux + 0.5
    flux_obs = flux + sigma * rng.normal(size=flux.shape)
    best = flux * (1 + 0.02 * rng.normal(size=flux.shape))
    flags = np.zeros(n, np.uint32)
    flags[::5] = 1
    flags[::7] |= 4
    reasons = np.array([b"noisy" if f & 1 else b"chi2" if f & 4 else b"" for f in flags], dtype="S32")
    str_t = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        f.create_dataset("id", data=np.arange(n, dtype=np.int64) + 1000)
        d = f.create_dataset("summary", data=summary)
        d.attrs.create("names", NAMES, dtype=str_t)
        d.attrs.create("columns", COLUMNS, dtype=str_t)
        d.attrs.create("units", UNITS, dtype=str_t)
        d = f.create_dataset("flags", data=flags)
        d.attrs.create("flag_names", FLAG_NAMES, dtype=str_t)
        f.create_dataset("flag_reason", data=reasons)
        f.create_dataset("chi2", data=rng.chisquare(5, size=n))
        f.create_dataset("samples", data=samples)
        if with_truth:
            f.create_dataset("truth", data=truth)
        f.create_dataset("flux_obs", data=flux_obs)
        f.create_dataset("sigma", data=sigma)
        f.create_dataset("best_flux", data=best)
        f.attrs.create("bands", BANDS, dtype=str_t)
        f.attrs["complete"] = np.int64(1)
    return truth, mean, sd


def chains(path, rows, mean, sd, rng, steps=60, walkers=8):
    g, p = len(rows), 12
    ch = (mean[rows, None, None, :p] + sd[:p] * rng.normal(size=(g, steps, walkers, p))).astype(np.float32)
    ch[-1, steps // 2:] = np.nan  # the last galaxy stopped early
    with h5py.File(path, "w") as f:
        f.create_dataset("chains", data=ch)
        f.create_dataset("log_prob", data=rng.normal(size=(g, steps, walkers)).astype(np.float32))
        f.create_dataset("id", data=np.asarray(rows, np.int64))
        f.create_dataset("row", data=np.asarray(rows, np.int64))
        f.create_dataset("n_steps", data=np.array([steps] * (g - 1) + [steps // 2], np.int64))
        d = f.create_dataset("flags", data=np.zeros(g, np.uint32))
        d.attrs.create("flag_names", ["no_finite_log_prob", "numerics", "not_converged"], dtype=h5py.string_dtype())
        f.attrs.create("theta_names", NAMES[:p], dtype=h5py.string_dtype())
        f.attrs["complete"] = np.int64(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report_dir")
    ap.add_argument("--no-chains", action="store_true")
    ap.add_argument("--no-real", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.report_dir, exist_ok=True)
    rng = np.random.default_rng(1)
    _, mean, sd = catalog(os.path.join(a.report_dir, "test_posteriors.h5"), 40, 300, rng, True)
    if not a.no_chains:
        chains(os.path.join(a.report_dir, "chains.h5"), [3, 10, 17], mean, sd, rng)
    if not a.no_real:
        catalog(os.path.join(a.report_dir, "nsa_posteriors.h5"), 60, 50, rng, False)


if __name__ == "__main__":
    main()
