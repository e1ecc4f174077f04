#!/usr/bin/python3
"""Compare the posteriors of one galaxy in two `sedpost mcmc` outputs (e.g. a long reference run
with --coordinates box against the default amplitude coordinates): per physical parameter the
difference of the means in units of its Monte Carlo standard error (sqrt(se_a^2 + se_b^2), each
se = std * sqrt(tau / (steps * walkers)) with the file's own tau), the ratio of the standard
deviations, and the 16/50/84 percentiles. |z| below ~3 for every parameter means the two agree
within Monte Carlo error.

Usage: mcmc_compare_posteriors.py A.h5 B.h5 [galaxy index in A] [galaxy index in B]
"""
import sys

import h5py
import numpy as np


def load(path, g):
    with h5py.File(path, "r") as f:
        n = int(f["n_steps"][g])
        x = f["chains"][g, :n].astype(np.float64)  # [steps, walkers, 12]
        tau = f["tau"][g]
        names = [s.decode() if isinstance(s, bytes) else s for s in f.attrs["theta_names"]]
        coords = f.attrs.get("sampled_coordinates", "box")
    return x, tau, names, coords


def main():
    a_path, b_path = sys.argv[1], sys.argv[2]
    ga = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    gb = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    xa, ta, names, ca = load(a_path, ga)
    xb, tb, _, cb = load(b_path, gb)
    print(f"A: {a_path} ({ca}), {xa.shape[0]} steps x {xa.shape[1]} walkers, max tau {np.nanmax(ta):.0f}")
    print(f"B: {b_path} ({cb}), {xb.shape[0]} steps x {xb.shape[1]} walkers, max tau {np.nanmax(tb):.0f}")
    print(f"{'parameter':>18} {'mean A':>10} {'mean B':>10} {'z':>6} {'std B/A':>7}  {'p16/50/84 A':>26}  {'p16/50/84 B':>26}")
    worst = 0.0
    for k, name in enumerate(names):
        fa, fb = xa[..., k].ravel(), xb[..., k].ravel()
        # beta_4 has no tau of its own (not a flow coordinate): use the largest.
        tau_a = ta[k] if np.isfinite(ta[k]) else np.nanmax(ta)
        tau_b = tb[k] if np.isfinite(tb[k]) else np.nanmax(tb)
        se = np.sqrt(fa.var() * tau_a / fa.size + fb.var() * tau_b / fb.size)
        z = (fb.mean() - fa.mean()) / se
        worst = max(worst, abs(z))
        qa = np.percentile(fa, [16, 50, 84])
        qb = np.percentile(fb, [16, 50, 84])
        print(f"{name:>18} {fa.mean():10.4g} {fb.mean():10.4g} {z:6.2f} {fb.std() / fa.std():7.3f}  "
              f"{qa[0]:8.4g} {qa[1]:8.4g} {qa[2]:8.4g}  {qb[0]:8.4g} {qb[1]:8.4g} {qb[2]:8.4g}")
    print(f"max |z| = {worst:.2f}")


if __name__ == "__main__":
    main()
