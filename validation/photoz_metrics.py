#!/usr/bin/python3
"""Photometric-redshift metrics against spectroscopic redshifts, and the colour-space
nearest-neighbour baseline that gives them context (docs/photo-z.md).

Metrics, with dz = (z_phot - z_spec) / (1 + z_spec) and z_phot the posterior median:
  sigma_nmad   1.4826 x median |dz - median(dz)|
  outliers     fraction with |dz| > 0.15
  bias         median(dz) (and the mean, in the JSON)
  PIT          P(z < z_spec) under each galaxy's posterior; a calibrated posterior has uniform
               PITs; coverage_68 / coverage_95 are the fractions of z_spec inside the central
               68 % / 95 % intervals (PIT in [0.16, 0.84] / [0.025, 0.975]).

Usage:
  photoz_metrics.py --catalog CAT.csv --knn [--k 20] [--seed 0] [--out DIR]
      The baseline: every galaxy's k nearest neighbours in (u-g, g-r, r-i, i-z, r) among a
      random half of the catalog (the training half), evaluated on the other half. The
      neighbours' spectroscopic redshifts are its posterior (median = z_phot, their empirical
      CDF = PIT, ties split at random).
  photoz_metrics.py --catalog CAT.csv --samples Z.npy [--out DIR]
      Any photo-z method's posterior draws: Z.npy [n_rows, n_draws] in catalog row order (NaN
      rows are skipped).
  photoz_metrics.py --catalog CAT.csv --posteriors POST.h5 [--test-half | --train-half] [--out DIR]
      A sedpost posterior catalog of a model that infers z (`infer` with [infer] n_store > 0):
      the z column of /samples, rows matched to the catalog by /row; rows without a posterior
      (NaN) are skipped. --test-half scores only the kNN baseline's test half (same seed), so
      the two are compared on the same galaxies; --train-half only its training half (where a
      setting may be calibrated without touching the test half).
Catalog: CSV with magnitude columns mag_u..mag_z and z_spec (the BOSS DR10 file's layout);
--mag-cols and --z-col name others. Output: DIR/photoz_metrics.json and DIR/pit.png.
"""
import argparse
import json
import os
import sys

import numpy as np

OUTLIER_DZ = 0.15


def sigma_nmad(dz):
    """1.4826 x the median absolute deviation of dz from its median."""
    return float(1.4826 * np.median(np.abs(dz - np.median(dz))))


def pit_from_draws(draws, z_true, rng):
    """P(z < z_true) per row from draws [n, m]: the empirical CDF, ties split uniformly."""
    below = np.sum(draws < z_true[:, None], axis=1)
    equal = np.sum(draws == z_true[:, None], axis=1)
    return (below + rng.uniform(size=len(z_true)) * equal) / draws.shape[1]


def metrics(z_phot, z_spec, pit):
    """The figures of docs/photo-z.md for matched arrays (NaN rows excluded by the caller)."""
    dz = (z_phot - z_spec) / (1 + z_spec)
    hist, _ = np.histogram(pit, bins=10, range=(0, 1))
    return {
        "n": int(len(dz)),
        "sigma_nmad": sigma_nmad(dz),
        "outlier_fraction": float(np.mean(np.abs(dz) > OUTLIER_DZ)),
        "bias_median": float(np.median(dz)),
        "bias_mean": float(np.mean(dz)),
        "coverage_68": float(np.mean((pit >= 0.16) & (pit <= 0.84))),
        "coverage_95": float(np.mean((pit >= 0.025) & (pit <= 0.975))),
        "pit_histogram_10": [int(h) for h in hist],
    }


def read_catalog(path, mag_cols, z_col):
    data = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding=None)
    missing = [c for c in mag_cols + [z_col] if c not in data.dtype.names]
    if missing:
        sys.exit(f"photoz_metrics.py: {path}: no column(s) {', '.join(missing)} (have {', '.join(data.dtype.names)})")
    mags = np.column_stack([np.asarray(data[c], dtype=float) for c in mag_cols])
    return mags, np.asarray(data[z_col], dtype=float)


def colours_and_r(mags):
    """(u-g, g-r, r-i, i-z, r) [n, 5]: the kNN baseline's space."""
    return np.column_stack([mags[:, i] - mags[:, i + 1] for i in range(mags.shape[1] - 1)] +
                           [mags[:, min(2, mags.shape[1] - 1)]])


def split_halves(mags, z_spec, seed):
    """Row indices (training half, test half) of the rows with finite colours and z_spec: each
    such row joins the training half with probability 1/2 (numpy default_rng(seed))."""
    good = np.all(np.isfinite(colours_and_r(mags)), axis=1) & np.isfinite(z_spec)
    rng = np.random.default_rng(seed)
    train = good & (rng.uniform(size=len(z_spec)) < 0.5)
    return np.flatnonzero(train), np.flatnonzero(good & ~train)


def knn_draws(mags, z_spec, k, seed):
    """Rows of the test half and their k neighbours' redshifts [n_test, k] (training half only)."""
    from scipy.spatial import cKDTree

    colours = colours_and_r(mags)
    train, test = split_halves(mags, z_spec, seed)
    tree = cKDTree(colours[train])
    _, idx = tree.query(colours[test], k=k)
    return test, z_spec[train][idx]


def read_posterior_samples(path, n_rows, quantities):
    """Draws [n_rows, n_store] of each named quantity of a posterior catalog's /samples, in
    catalog row order (rows matched by /row; NaN: no row). Exits with a message naming the file
    when /samples or a quantity is missing."""
    import h5py

    me = os.path.basename(sys.argv[0])  # the script that was run, as each message's prefix
    with h5py.File(path, "r") as f:
        if "samples" not in f:
            sys.exit(f"{me}: {path}: no /samples (run infer with [infer] n_store > 0)")
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["summary"].attrs["names"]]
        for q in quantities:
            if q not in names:
                hint = " (the model does not infer the redshift)" if q == "z" else ""
                sys.exit(f"{me}: {path}: no quantity {q}{hint}")
        cols = [names.index(q) for q in quantities]
        rows = f["row"][:]
        if rows.max(initial=-1) >= n_rows:
            sys.exit(f"{me}: {path}: /row reaches {rows.max()}, the catalog has {n_rows} rows")
        s = f["samples"]
        draws = [np.full((n_rows, s.shape[1]), np.nan) for _ in cols]
        for i in range(0, s.shape[0], 4096):
            block = s[i:i + 4096]
            for d, k in zip(draws, cols):
                d[rows[i:i + 4096]] = block[:, :, k]
    return draws


def read_posterior_z(path, n_rows):
    """z draws [n_rows, n_store] in catalog row order from a posterior catalog (NaN: no row)."""
    return read_posterior_samples(path, n_rows, ["z"])[0]


def plot_pit(pit, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.hist(pit, bins=20, range=(0, 1), density=True, histtype="stepfilled", alpha=0.6)
    ax.axhline(1.0, color="k", lw=1, ls="--")
    ax.set_xlabel("PIT = P(z < z_spec)")
    ax.set_ylabel("density")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--mag-cols", default="mag_u,mag_g,mag_r,mag_i,mag_z")
    ap.add_argument("--z-col", default="z_spec")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--knn", action="store_true", help="colour-space nearest-neighbour baseline")
    src.add_argument("--samples", help="posterior draws of z [n_rows, n_draws] (.npy)")
    src.add_argument("--posteriors", help="sedpost posterior catalog (HDF5) with /samples including z")
    half = ap.add_mutually_exclusive_group()
    half.add_argument("--test-half", action="store_true", help="score only the kNN baseline's test half")
    half.add_argument("--train-half", action="store_true", help="score only the kNN baseline's training half")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=".")
    a = ap.parse_args(argv)

    mags, z_spec = read_catalog(a.catalog, a.mag_cols.split(","), a.z_col)
    rng = np.random.default_rng(a.seed + 1)
    if a.knn:
        rows, draws = knn_draws(mags, z_spec, a.k, a.seed)
        method = f"{a.k} nearest neighbours in colour space (u-g, g-r, r-i, i-z, r), half the catalog as training set"
    elif a.posteriors:
        draws_all = read_posterior_z(a.posteriors, len(z_spec))
        rows = np.flatnonzero(np.all(np.isfinite(draws_all), axis=1) & np.isfinite(z_spec))
        if a.test_half or a.train_half:
            train, test = split_halves(mags, z_spec, a.seed)
            rows = np.intersect1d(rows, test if a.test_half else train)
        draws = draws_all[rows]
        method = (f"sedpost posterior draws from {os.path.basename(a.posteriors)}" +
                  (" (the kNN baseline's test half)" if a.test_half else "") +
                  (" (the kNN baseline's training half)" if a.train_half else ""))
    else:
        draws_all = np.load(a.samples)
        if draws_all.ndim != 2 or draws_all.shape[0] != len(z_spec):
            sys.exit(f"photoz_metrics.py: {a.samples}: expected [{len(z_spec)}, n_draws], got {list(draws_all.shape)}")
        rows = np.flatnonzero(np.all(np.isfinite(draws_all), axis=1) & np.isfinite(z_spec))
        draws = draws_all[rows]
        method = f"posterior draws from {os.path.basename(a.samples)}"
    z_true = z_spec[rows]
    pit = pit_from_draws(draws, z_true, rng)
    m = metrics(np.median(draws, axis=1), z_true, pit)
    m["method"] = method
    m["catalog"] = os.path.basename(a.catalog)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "photoz_metrics.json"), "w") as f:
        json.dump(m, f, indent=1)
    plot_pit(pit, os.path.join(a.out, "pit.png"),
             f"{m['catalog']}: sigma_NMAD {m['sigma_nmad']:.3f}, outliers {100 * m['outlier_fraction']:.1f} %")
    print(f"{m['n']} galaxies ({method}): sigma_NMAD {m['sigma_nmad']:.4f}, outliers "
          f"{100 * m['outlier_fraction']:.2f} %, bias {m['bias_median']:+.4f} (median) {m['bias_mean']:+.4f} (mean), "
          f"coverage 68 % {m['coverage_68']:.3f}, 95 % {m['coverage_95']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
