#!/usr/bin/python3
"""The galaxies a posterior catalog fits worst, for inspecting why they are flagged.

Usage: /usr/bin/python3 validation/worst_fits.py POSTERIORS.h5 [--n 10]

Reads a posterior catalog of `sedpost infer` (docs/file-formats.md) and prints the fraction of
galaxies per flag, then the N galaxies of highest /chi2 (the best-fitting draw's chi^2): ID, z,
chi^2, effective sample size, S/N per band, the residuals (f_obs - f_model) / sigma_eff per band
(sigma_eff with the file's model_error floor), AB magnitudes, posterior medians of log M*
(surviving) and tau_ism, and /flag_reason. Needs numpy and h5py (Debian: python3-numpy
python3-h5py).
"""
import argparse

import h5py
import numpy as np


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def row(values, digits):
    return " ".join(f"{v:8.{digits}f}" for v in values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("posteriors", help="posterior catalog (HDF5) written by sedpost infer")
    ap.add_argument("--n", type=int, default=10, help="galaxies to list (default 10)")
    args = ap.parse_args()
    with h5py.File(args.posteriors, "r") as f:
        flags = f["flags"][...]
        names = [text(n) for n in f["flags"].attrs["flag_names"]]
        chi2 = f["chi2"][...]
        flux, sigma, best = f["flux_obs"][...], f["sigma"][...], f["best_flux"][...]
        ess = f["ess"][...] if "ess" in f else np.full(len(flags), np.nan)
        ids, z, reason = f["id"][...], f["z"][...], f["flag_reason"][...]
        qnames = [text(n) for n in f["summary"].attrs["names"]]
        median = f["summary"][:, :, 4]
        model_error = float(f.attrs.get("model_error", 0.0))
        bands = [text(b) for b in f.attrs["bands"]]
    n = len(flags)
    print(f"{args.posteriors}: {n} galaxies, {np.mean(flags != 0) * 100:.1f} % flagged")
    for b, name in enumerate(names):
        count = int(np.sum((flags >> b) & 1))
        print(f"  {name:24s} {count:6d}  {count / max(n, 1) * 100:5.1f} %")
    sigma_eff = np.sqrt(sigma ** 2 + (model_error * flux) ** 2)
    order = np.argsort(np.where(np.isfinite(chi2), -chi2, np.inf))[: args.n]
    k_mass, k_tau = qnames.index("log_mstar"), qnames.index("tau_ism")
    print(f"\nworst {len(order)} by chi2 (bands {', '.join(bands)}; residuals in sigma_eff, "
          f"model_error {model_error})")
    with np.errstate(divide="ignore", invalid="ignore"):
        mags = 22.5 - 2.5 * np.log10(np.clip(flux, 1e-3, None))
        for i in order:
            print(f"id {text(ids[i])}  z {z[i]:.4f}  chi2 {chi2[i]:.1f}  ess {ess[i]:.0f}  "
                  f"log_mstar {median[i, k_mass]:.2f}  tau_ism {median[i, k_tau]:.2f}")
            print(f"    S/N    {row(flux[i] / sigma[i], 1)}")
            print(f"    resid  {row((flux[i] - best[i]) / sigma_eff[i], 1)}")
            print(f"    mag    {row(mags[i], 2)}")
            print(f"    flags  {text(reason[i]) or '-'}")


if __name__ == "__main__":
    main()
