#!/usr/bin/python3
"""How much a spectrum adds: posterior-median errors of two posterior catalogs of the SAME
simulated test set, one from a model that conditions on spectra and one photometry-only
(docs/spectra.md).

For every quantity of /summary: the median over galaxies of |posterior median - truth|, for
each catalog, and their ratio (spectral / photometric; below 1: the spectrum helps). Galaxies
with a posterior in both catalogs (finite summaries and truth) are compared.

    /usr/bin/python3 validation/spectra_gain.py --spectral SPEC/test_posteriors.h5 \\
        --photometric PHOT/test_posteriors.h5 [--quantities log_mstar t50 ...] [--markdown]
"""
import argparse
import sys

import h5py
import numpy as np


def read(path):
    with h5py.File(path, "r") as f:
        if int(f.attrs.get("complete", 0)) != 1:
            sys.exit(f"{path}: not a complete posterior catalog")
        if "truth" not in f:
            sys.exit(f"{path}: no /truth (not a simulated test set)")
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["summary"].attrs["names"]]
        columns = [c.decode() if isinstance(c, bytes) else str(c) for c in f["summary"].attrs["columns"]]
        median = f["summary"][:, :, columns.index("p50")]
        return names, median, f["truth"][...], f["row"][...]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spectral", required=True, help="posterior catalog of the model with spectra")
    ap.add_argument("--photometric", required=True, help="posterior catalog of the photometry-only model")
    ap.add_argument("--quantities", nargs="*", default=None, help="quantities to list (default: all)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    a = ap.parse_args()
    ns, ms, ts, rs = read(a.spectral)
    npn, mp, tp, rp = read(a.photometric)
    if ns != npn or not np.array_equal(rs, rp):
        sys.exit("the two catalogs must hold the same rows of the same test set, with the same quantities")
    if not np.allclose(ts, tp, equal_nan=True):
        sys.exit("the two catalogs' truths differ: not the same test set")
    ok = np.isfinite(ms).all(1) & np.isfinite(mp).all(1) & np.isfinite(ts).all(1)
    names = a.quantities or ns
    rows = []
    for q in names:
        if q not in ns:
            sys.exit(f"no quantity {q}; have {', '.join(ns)}")
        k = ns.index(q)
        es = np.median(np.abs(ms[ok, k] - ts[ok, k]))
        ep = np.median(np.abs(mp[ok, k] - tp[ok, k]))
        rows.append((q, es, ep, es / ep if ep > 0 else np.nan))
    if a.markdown:
        print(f"| quantity | median abs. error, spectrum + photometry | photometry only | ratio |")
        print("|---|---|---|---|")
        for q, es, ep, r in rows:
            print(f"| {q} | {es:.4g} | {ep:.4g} | {r:.3f} |")
    else:
        for q, es, ep, r in rows:
            print(f"{q:18s} spectral {es:10.4g}  photometric {ep:10.4g}  ratio {r:6.3f}")
    print(f"{ok.sum()} galaxies with a posterior in both catalogs (of {len(ok)})")


if __name__ == "__main__":
    main()
