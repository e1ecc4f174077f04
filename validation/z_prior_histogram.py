#!/usr/bin/python3
"""A histogram redshift prior for a config (docs/photo-z.md, "Redshift prior"): the n(z) of a
catalog's spectroscopic redshifts, by default of the training half that photoz_metrics.py's
kNN baseline uses (so the other half stays a fair test set), in equal-width bins on
[z_min, z_max], mixed with a uniform floor so that no redshift in the range is excluded:

    w_k = (1 - floor) n_k / N + floor / n_bins

Prints the [model] lines to paste into the config:

    z_prior_histogram.py --catalog CAT.csv --z-min 0.01 --z-max 1.0 [--bins 20] [--floor 0.05]
                         [--rows train|all] [--z-col z_spec] [--mag-cols ...] [--seed 0]

With --by-magnitude COL (a magnitude column of the catalog, AB) it builds the magnitude-dependent
prior p(z | m) instead (docs/photo-z.md, "Magnitude-dependent redshift prior"): the rows are cut
into --magnitude-bins bins at the quantiles of their magnitudes in COL (equal counts), and each
bin gets the histogram above of its own redshifts. It prints the [infer] lines; --band names the
model band that COL measures (`infer` reads that band's flux from the catalog):

    z_prior_histogram.py --catalog CAT.csv --z-min 0.01 --z-max 1.0 --by-magnitude mag_r \
                         --band r [--magnitude-bins 8] [--bins 20] [--floor 0.05]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import photoz_metrics  # noqa: E402


def histogram_weights(z, z_min, z_max, bins, floor):
    """Bin weights [bins] summing to 1 (redshifts outside [z_min, z_max] are not counted)."""
    if not (0 <= floor <= 1):
        raise ValueError(f"--floor {floor} must be in [0, 1]")
    inside = z[(z >= z_min) & (z <= z_max)]
    if inside.size == 0:
        raise ValueError(f"no redshift inside [{z_min}, {z_max}]")
    counts, _ = np.histogram(inside, np.linspace(z_min, z_max, bins + 1))
    return (1 - floor) * counts / counts.sum() + floor / bins


def magnitude_histograms(mag, z, z_min, z_max, bins, floor, n_mag):
    """Inner magnitude edges [n_mag - 1] (quantiles of the finite magnitudes: equal counts per bin)
    and weights [n_mag, bins], row k the histogram_weights of the redshifts with magnitudes in
    [edge_{k-1}, edge_k) (the first bin from -inf, the last to +inf)."""
    if n_mag < 1:
        raise ValueError(f"--magnitude-bins {n_mag} must be >= 1")
    ok = np.isfinite(mag) & np.isfinite(z)
    mag, z = mag[ok], z[ok]
    edges = np.quantile(mag, np.arange(1, n_mag) / n_mag) if n_mag > 1 else np.array([])
    if np.any(np.diff(edges) <= 0):
        raise ValueError(f"{n_mag} magnitude bins need {n_mag - 1} distinct quantiles; use fewer")
    k = np.searchsorted(edges, mag, side="right")
    rows = []
    for b in range(n_mag):
        try:
            rows.append(histogram_weights(z[k == b], z_min, z_max, bins, floor))
        except ValueError as e:
            raise ValueError(f"magnitude bin {b}: {e}")
    return edges, np.array(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--z-min", type=float, required=True)
    ap.add_argument("--z-max", type=float, required=True)
    ap.add_argument("--bins", type=int, default=20)
    ap.add_argument("--floor", type=float, default=0.05, help="weight of the uniform part (default 0.05)")
    ap.add_argument("--rows", choices=["train", "all"], default="train",
                    help="train: the kNN baseline's training half (default); all: every row")
    ap.add_argument("--z-col", default="z_spec")
    ap.add_argument("--mag-cols", default="mag_u,mag_g,mag_r,mag_i,mag_z")
    ap.add_argument("--seed", type=int, default=0, help="the split's seed (photoz_metrics.py --seed)")
    ap.add_argument("--by-magnitude", metavar="COL",
                    help="a magnitude column: build the magnitude-dependent prior p(z | m) for [infer]")
    ap.add_argument("--band", help="with --by-magnitude: the model band COL measures, named as the posterior "
                    "file's `bands` attribute lists it (e.g. r)")
    ap.add_argument("--magnitude-bins", type=int, default=8, help="with --by-magnitude: equal-count bins (default 8)")
    a = ap.parse_args(argv)
    if not (0 <= a.z_min < a.z_max) or a.bins < 1:
        sys.exit("z_prior_histogram.py: need 0 <= --z-min < --z-max and --bins >= 1")
    mag_cols = a.mag_cols.split(",")
    extra = [a.by_magnitude] if a.by_magnitude and a.by_magnitude not in mag_cols else []
    columns, z_spec = photoz_metrics.read_catalog(a.catalog, mag_cols + extra, a.z_col)  # one read
    mags = columns[:, :len(mag_cols)]
    rows = (photoz_metrics.split_halves(mags, z_spec, a.seed)[0] if a.rows == "train"
            else np.flatnonzero(np.isfinite(z_spec)))
    if a.by_magnitude:
        return print_by_magnitude(a, columns[:, (mag_cols + extra).index(a.by_magnitude)], rows, z_spec)
    try:
        w = histogram_weights(z_spec[rows], a.z_min, a.z_max, a.bins, a.floor)
    except ValueError as e:
        sys.exit(f"z_prior_histogram.py: {a.catalog}: {e}")
    print(f"# n(z) of {rows.size} rows ({a.rows}) of {os.path.basename(a.catalog)}, {a.bins} bins on "
          f"[{a.z_min}, {a.z_max}], uniform floor {a.floor}: validation/z_prior_histogram.py")
    print('z_prior = "histogram"')
    print("z_prior_weights = [" + ", ".join(f"{x:.5f}" for x in w) + "]")
    return 0


def print_by_magnitude(a, mag, rows, z_spec):
    """The [infer] lines of the magnitude-dependent prior from the rows `rows` of the catalog, whose
    magnitudes in column --by-magnitude are `mag` [n_rows]."""
    if not a.band:
        sys.exit("z_prior_histogram.py: --by-magnitude needs --band (the model band of that column)")
    try:
        edges, w = magnitude_histograms(mag[rows], z_spec[rows], a.z_min, a.z_max, a.bins, a.floor,
                                        a.magnitude_bins)
    except ValueError as e:
        sys.exit(f"z_prior_histogram.py: {a.catalog}: {e}")
    print(f"# p(z | {a.by_magnitude}) of {rows.size} rows ({a.rows}) of {os.path.basename(a.catalog)}: "
          f"{a.magnitude_bins} equal-count magnitude bins x {a.bins} z bins on [{a.z_min}, {a.z_max}], "
          f"uniform floor {a.floor}: validation/z_prior_histogram.py --by-magnitude {a.by_magnitude}")
    print(f'z_prior_mag_band = "{a.band}"')
    print("z_prior_mag_edges = [" + ", ".join(f"{x:.3f}" for x in edges) + "]")
    print("z_prior_mag_weights = [" + ",\n    ".join(", ".join(f"{x:.5f}" for x in row) for row in w) + "]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
