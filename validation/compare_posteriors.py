#!/usr/bin/env python3
"""Compares two posterior catalogs of the same catalog rows (`sedpost infer` outputs), e.g. the
seven-band NSA model against the optical-only one (docs/missing-bands.md).

For a quantity (default log_mstar) and every row with a posterior in both files:
    shift = (median_A - median_B) / sqrt(w_A^2 + w_B^2),   w = (p84 - p16) / 2,
and |shift| <= 1 is "agreeing within their widths". Prints the fraction of rows within 1, the
median |shift|, the median width ratio w_A / w_B, and the same for the rows where A lacked some
bands (/bands_used of A not all ones), e.g. the galaxies without GALEX photometry.

Usage: /usr/bin/python3 validation/compare_posteriors.py A.h5 B.h5 [--quantity log_mstar] [--json OUT]
"""
import argparse
import json

import h5py
import numpy as np


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def load(path, quantity):
    with h5py.File(path, "r") as f:
        names = [text(n) for n in f["summary"].attrs["names"]]
        cols = [text(c) for c in f["summary"].attrs["columns"]]
        k = names.index(quantity)
        s = f["summary"][:, k, :]
        used = f["bands_used"][...] if "bands_used" in f else None
        n_bands = len(f.attrs["bands"])
        return {"row": f["row"][...], "p50": s[:, cols.index("p50")],
                "w": 0.5 * (s[:, cols.index("p84")] - s[:, cols.index("p16")]), "used": used, "n_bands": n_bands}


def stats(shift, ratio):
    if len(shift) == 0:
        return {"n": 0}
    return {"n": int(len(shift)), "fraction_within_1": float(np.mean(np.abs(shift) <= 1)),
            "median_abs_shift": float(np.median(np.abs(shift))), "max_abs_shift": float(np.max(np.abs(shift))),
            "median_width_ratio": float(np.median(ratio))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--quantity", default="log_mstar")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()
    a, b = load(args.a, args.quantity), load(args.b, args.quantity)
    if not np.array_equal(a["row"], b["row"]):
        raise SystemExit("the two files do not hold the same catalog rows (/row differs)")
    ok = np.isfinite(a["p50"]) & np.isfinite(b["p50"]) & (a["w"] > 0) & (b["w"] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = (a["p50"] - b["p50"]) / np.sqrt(a["w"] ** 2 + b["w"] ** 2)
        ratio = a["w"] / b["w"]
    out = {"quantity": args.quantity, "a": args.a, "b": args.b, "rows": int(len(ok)),
           "rows_without_posterior_a": int(np.sum(~np.isfinite(a["p50"]))),
           "rows_without_posterior_b": int(np.sum(~np.isfinite(b["p50"]))), "all": stats(shift[ok], ratio[ok])}
    if a["used"] is not None:
        reduced = a["used"] != (1 << a["n_bands"]) - 1
        out["a_missing_bands"] = stats(shift[ok & reduced], ratio[ok & reduced])
    for key in ("all", "a_missing_bands"):
        if key in out and out[key]["n"]:
            s = out[key]
            print(f"{key:16s} n={s['n']:5d}  within 1 sigma: {s['fraction_within_1']:.3f}  median |shift| "
                  f"{s['median_abs_shift']:.3f}  max {s['max_abs_shift']:.2f}  median width ratio A/B "
                  f"{s['median_width_ratio']:.3f}")
    print(f"rows without a posterior: A {out['rows_without_posterior_a']}, B {out['rows_without_posterior_b']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
