#!/usr/bin/python3
"""A histogram redshift prior for a config (docs/photo-z.md, "Redshift prior"): the n(z) of a
catalog's spectroscopic redshifts, by default of the training half that photoz_metrics.py's
kNN baseline uses (so the other half stays a fair test set), in equal-width bins on
[z_min, z_max], mixed with a uniform floor so that no redshift in the range is excluded:

    w_k = (1 - floor) n_k / N + floor / n_bins

Prints the [model] lines to paste into the config:

    z_prior_histogram.py --catalog CAT.csv --z-min 0.01 --z-max 1.0 [--bins 20] [--floor 0.05]
                         [--rows train|all] [--z-col z_spec] [--mag-cols ...] [--seed 0]
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
    a = ap.parse_args(argv)
    if not (0 <= a.z_min < a.z_max) or a.bins < 1:
        sys.exit("z_prior_histogram.py: need 0 <= --z-min < --z-max and --bins >= 1")
    mags, z_spec = photoz_metrics.read_catalog(a.catalog, a.mag_cols.split(","), a.z_col)
    rows = (photoz_metrics.split_halves(mags, z_spec, a.seed)[0] if a.rows == "train"
            else np.flatnonzero(np.isfinite(z_spec)))
    try:
        w = histogram_weights(z_spec[rows], a.z_min, a.z_max, a.bins, a.floor)
    except ValueError as e:
        sys.exit(f"z_prior_histogram.py: {a.catalog}: {e}")
    print(f"# n(z) of {rows.size} rows ({a.rows}) of {os.path.basename(a.catalog)}, {a.bins} bins on "
          f"[{a.z_min}, {a.z_max}], uniform floor {a.floor}: validation/z_prior_histogram.py")
    print('z_prior = "histogram"')
    print("z_prior_weights = [" + ", ".join(f"{x:.5f}" for x in w) + "]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
