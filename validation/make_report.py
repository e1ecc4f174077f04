#!/usr/bin/python3
"""Validation report of a sedpost run: figures (PNG) and an index.html.

Usage: /usr/bin/python3 validation/make_report.py REPORT_DIR [--out DIR] [--galaxy ROW] [--n-sed N]

Reads only these files in REPORT_DIR (each one optional; a missing one is noted in the page):
  metrics.json        the metrics of `sedpost validate` (schema: docs/metrics.md)
  test_posteriors.h5  posterior catalog of the simulated test set (ARCHITECTURE.md "Posterior
                      catalog") plus /truth [N, K], /flux_obs, /sigma, /best_flux [N, bands]
  chains.h5           MCMC chains of some test galaxies (ARCHITECTURE.md "Chains")
  nsa_posteriors.h5   posterior catalog of a real catalog (no /truth)
and writes into --out (default REPORT_DIR): pp.png, sbc.png, tarp.png, flow_vs_mcmc.png,
corner.png, pred_vs_true.png, sed.png, real_params.png, real_flags.png, real_mags.png, and
index.html with the key numbers of metrics.json and their pass/fail against the thresholds
stored there. Needs numpy, h5py and matplotlib (Debian: python3-numpy python3-h5py
python3-matplotlib); runs headless (Agg).
"""
import argparse
import html
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 80


# ---------------------------------------------------------------- helpers
def strs(values):
    """HDF5 string attribute/dataset (bytes, str, numpy arrays of either) -> list of str."""
    if values is None:
        return []
    if isinstance(values, (bytes, np.bytes_)):
        return [values.decode("utf-8", "replace")]
    if isinstance(values, str):
        return [values]
    return [v.decode("utf-8", "replace").rstrip("\x00") if isinstance(v, (bytes, np.bytes_)) else str(v)
            for v in np.asarray(values).ravel()]


def attr(obj, name, default=None):
    return obj.attrs[name] if name in obj.attrs else default


def finite(x):
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def fmt(x, digits=3):
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return "n/a"
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
            return f"{x:.{digits}g}"
        return f"{x:.{digits}f}".rstrip("0").rstrip(".") if abs(x) < 1e5 else f"{x:.{digits}g}"
    return html.escape(str(x))


def grid(n, width=4):
    cols = min(width, max(n, 1))
    rows = (n + cols - 1) // cols
    return rows, cols


def mag(flux_nmgy):
    """AB magnitude of a flux in nanomaggies (NaN for non-positive flux)."""
    f = np.asarray(flux_nmgy, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(f > 0, 22.5 - 2.5 * np.log10(f), np.nan)


class Catalog:
    """A posterior catalog file (test or real)."""

    def __init__(self, path):
        self.path = path
        self.f = h5py.File(path, "r")
        s = self.f["summary"]
        self.names = strs(attr(s, "names"))
        self.units = strs(attr(s, "units")) or [""] * len(self.names)
        cols = strs(attr(s, "columns")) or ["mean", "std", "p2.5", "p16", "p50", "p84", "p97.5"]
        self.col = {c: i for i, c in enumerate(cols)}
        self.summary = s[...]
        self.n = self.summary.shape[0]
        self.bands = strs(attr(self.f, "bands"))
        self.flags = self.f["flags"][...] if "flags" in self.f else None
        self.flag_names = strs(attr(self.f["flags"], "flag_names")) if "flags" in self.f else []
        self.truth = self.f["truth"][...] if "truth" in self.f else None

    def column(self, name):
        return self.summary[:, :, self.col[name]]

    def index(self, *names):
        for n in names:
            if n in self.names:
                return self.names.index(n)
        return None

    def label(self, k):
        u = self.units[k] if k < len(self.units) else ""
        return f"{self.names[k]} [{u}]" if u else self.names[k]


# ---------------------------------------------------------------- figures from metrics.json
def save(fig, out):
    """Lays out, writes and closes a figure; returns its path."""
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out


def nan_array(values):
    """JSON list (null = not evaluable) -> float array with NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def fig_pp(m, out):
    cal = m.get("calibration")
    if not cal:
        return None
    levels = np.array(cal["levels"], dtype=float)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    n = cal["n_galaxies"] or 1
    band = 1.63 / math.sqrt(max(n, 1))
    for ax, key, title in ((axes[0], "pp_ecdf", "p-p: ECDF of the truth's posterior percentile"),
                           (axes[1], "central_coverage", "coverage of central credible intervals")):
        ax.fill_between(levels, levels - band, levels + band, color="0.85", label="KS 1% band")
        ax.plot([0, 1], [0, 1], "k--", lw=1)
        for q in cal["quantities"]:
            y = nan_array(q[key])
            ax.plot(levels, y, lw=1.2, label=q["name"])
        ax.set_xlabel("credibility level")
        ax.set_ylabel("empirical fraction")
        ax.set_title(title, fontsize=10)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    axes[1].legend(fontsize=7, ncol=2, loc="upper left")
    return save(fig, out)


def fig_sbc(m, out):
    cal = m.get("calibration")
    if not cal or not cal["quantities"]:
        return None
    qs = cal["quantities"]
    rows, cols = grid(len(qs), 6)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.2 * rows), squeeze=False)
    for ax in axes.ravel()[len(qs):]:
        ax.axis("off")
    for ax, q in zip(axes.ravel(), qs):
        s = q["sbc"]
        h = np.array(s["histogram"], dtype=float)
        b = len(h)
        n = h.sum()
        if b == 0 or n == 0:
            ax.set_title(q["name"], fontsize=8)
            continue
        p = 1.0 / b
        sd = math.sqrt(n * p * (1 - p))
        # 99% band of a bin count under uniformity (normal approximation of the binomial)
        ax.axhspan(n * p - 2.576 * sd, n * p + 2.576 * sd, color="0.85")
        ax.axhline(n * p, color="k", lw=0.8)
        ax.bar(np.arange(b), h, width=1.0, align="edge", color="C0", edgecolor="w", lw=0.3)
        ax.set_xlim(0, b)
        ax.set_xticks([])
        pv = s.get("chi2_p_value")
        ax.set_title(f"{q['name']}\np={fmt(pv, 2)} outer z={fmt(s.get('outer_z'), 2)}", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle("SBC rank histograms (grey: 99% band for uniform ranks)", fontsize=9)
    return save(fig, out)


def fig_tarp(m, out):
    cal = m.get("calibration")
    if not cal or not cal.get("tarp"):
        return None
    t = cal["tarp"]
    levels = np.array(cal["levels"], dtype=float)
    ecp = nan_array(t["ecp"])
    n = t.get("n_used") or 0
    fig, ax = plt.subplots(figsize=(5, 5))
    if n > 0:
        band = m.get("thresholds", {}).get("tarp_coefficient", 1.63) / math.sqrt(n)
        ax.fill_between(levels, levels - band, levels + band, color="0.85", label="threshold band")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.plot(levels, ecp, "C3", lw=1.5, label="TARP ECP")
    ax.set_xlabel("credibility level alpha")
    ax.set_ylabel("expected coverage probability")
    ax.set_title(f"TARP over {n} galaxies, {len(t.get('quantities', []))} quantities\n"
                 f"max |ECP - alpha| = {fmt(t.get('max_deviation'))}", fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    return save(fig, out)


def fig_flow_mcmc(m, out):
    fm = m.get("flow_vs_mcmc")
    if not fm or not fm.get("n_galaxies"):
        return None
    names = fm["quantities"]
    shift = np.array([nan_array(row) for row in fm["median_shift"]])
    ratio = np.array([nan_array(row) for row in fm["std_ratio"]])
    thr = m.get("thresholds", {}).get("flow_mcmc_max_median_shift", 0.2)
    x = np.arange(len(names))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, data, title, ref in ((axes[0], shift, "(median_flow - median_MCMC) / std_MCMC", 0.0),
                                 (axes[1], ratio, "std_flow / std_MCMC", 1.0)):
        for k in range(len(names)):
            col = data[:, k]
            col = col[np.isfinite(col)]
            ax.plot(np.full(col.size, k) + np.random.default_rng(k).uniform(-0.15, 0.15, col.size), col, ".",
                    color="C0", ms=4, alpha=0.6)
            if col.size:
                ax.plot([k - 0.3, k + 0.3], [np.median(col)] * 2, "C3", lw=2)
        ax.axhline(ref, color="k", lw=0.8)
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
        ax.set_title(title + f" ({fm['n_galaxies']} galaxies; red: median)", fontsize=9)
    axes[0].axhspan(-thr, thr, color="0.88", zorder=0)
    return save(fig, out)


# ---------------------------------------------------------------- figures from the HDF5 files
def fig_pred_vs_true(cat, out):
    if cat.truth is None:
        return None
    k_n = min(cat.truth.shape[1], len(cat.names))
    rows, cols = grid(k_n, 6)
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.ravel()[k_n:]:
        ax.axis("off")
    med, lo, hi = cat.column("p50"), cat.column("p16"), cat.column("p84")
    ok_flag = np.ones(cat.n, bool) if cat.flags is None else cat.flags == 0
    for k, ax in zip(range(k_n), axes.ravel()):
        t = cat.truth[:, k]
        ok = np.isfinite(t) & np.isfinite(med[:, k])
        for sel, color, label in ((ok & ok_flag, "C0", "unflagged"), (ok & ~ok_flag, "C1", "flagged")):
            if sel.any():
                ax.errorbar(t[sel], med[sel, k], yerr=[med[sel, k] - lo[sel, k], hi[sel, k] - med[sel, k]],
                            fmt=".", ms=2, lw=0.4, color=color, alpha=0.6, label=label)
        if ok.any():
            a, b = np.nanmin(t[ok]), np.nanmax(t[ok])
            ax.plot([a, b], [a, b], "k--", lw=0.8)
        ax.set_title(cat.label(k), fontsize=8)
        ax.tick_params(labelsize=6)
    axes[0, 0].set_xlabel("true", fontsize=7)
    axes[0, 0].set_ylabel("posterior median (16-84%)", fontsize=7)
    return save(fig, out)


def fig_sed(cat, out, n_sed):
    f = cat.f
    if not all(d in f for d in ("flux_obs", "sigma", "best_flux")):
        return None
    n_sed = min(n_sed, cat.n)
    rows = np.linspace(0, cat.n - 1, n_sed).astype(int) if n_sed > 0 else []
    if len(rows) == 0:
        return None
    fig, axes = plt.subplots(1, len(rows), figsize=(3.6 * len(rows), 3.4), squeeze=False)
    chi2 = f["chi2"][...] if "chi2" in f else None
    for ax, i in zip(axes[0], rows):
        obs, sig, best = f["flux_obs"][i], f["sigma"][i], f["best_flux"][i]
        x = np.arange(len(obs))
        ax.errorbar(x, obs, yerr=sig, fmt="o", color="k", ms=4, label="observed")
        ax.plot(x, best, "s", color="C3", mfc="none", ms=7, label="best-fit model")
        ax.set_xticks(x)
        ax.set_xticklabels(cat.bands if len(cat.bands) == len(obs) else [str(b) for b in x])
        pos = np.concatenate([obs[obs > 0], best[best > 0]])
        if pos.size and np.all(obs - sig > 0):
            ax.set_yscale("log")
        title = f"row {i}"
        if chi2 is not None:
            title += f", chi2 = {fmt(float(chi2[i]), 3)}"
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("flux [nanomaggies]", fontsize=7)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7)
    return save(fig, out)


def chains_for(chains_path, cat, galaxy):
    """(row, chain samples [n, P] with names) for the chosen or first usable galaxy."""
    with h5py.File(chains_path, "r") as c:
        rows = c["row"][...] if "row" in c else c["id"][...]
        rows = np.asarray(rows).astype(np.int64)
        theta_names = strs(attr(c, "theta_names")) or cat.names[: c["chains"].shape[-1]]
        order = range(len(rows))
        if galaxy is not None:
            order = [g for g in order if rows[g] == galaxy]
        for g in order:
            ch = c["chains"][g]
            ch = ch.reshape(-1, ch.shape[-1])
            ch = ch[np.all(np.isfinite(ch), axis=1)]
            if len(ch) > 1 and 0 <= rows[g] < cat.n:
                return int(rows[g]), ch, theta_names
    return None, None, None


def fig_corner(cat, chains_path, out, galaxy, notes):
    f = cat.f
    row, mc, mc_names = (None, None, None)
    if chains_path:
        row, mc, mc_names = chains_for(chains_path, cat, galaxy)
        if row is None:
            notes.append("chains.h5: no galaxy with finite chains (or --galaxy not in it); corner plot "
                         "shows the flow only")
    if row is None:
        row = galaxy if galaxy is not None else 0
    if row >= cat.n or "samples" not in f:
        notes.append("corner plot skipped: no /samples in test_posteriors.h5")
        return None
    flow = f["samples"][row]
    if mc is not None:
        idx = [cat.names.index(n) for n in mc_names if n in cat.names]
        keep = [j for j, n in enumerate(mc_names) if n in cat.names]
        mc = mc[:, keep]
    else:
        idx = list(range(min(12, flow.shape[1])))
    names = [cat.names[k] for k in idx]
    flow = flow[:, idx]
    flow = flow[np.all(np.isfinite(flow), axis=1)]
    truth = cat.truth[row, idx] if cat.truth is not None else None
    d = len(idx)
    fig, axes = plt.subplots(d, d, figsize=(1.5 * d + 1, 1.5 * d + 1))
    axes = np.atleast_2d(axes)
    for a in range(d):
        for b in range(d):
            ax = axes[a, b]
            if b > a:
                ax.axis("off")
                continue
            data = [flow] + ([mc] if mc is not None else [])
            lo = min(np.percentile(x[:, b], 0.5) for x in data)
            hi = max(np.percentile(x[:, b], 99.5) for x in data)
            if truth is not None and np.isfinite(truth[b]):
                lo, hi = min(lo, truth[b]), max(hi, truth[b])
            if hi <= lo:
                hi = lo + 1e-6
            if a == b:
                for x, color in zip(data, ("C0", "C3")):
                    ax.hist(x[:, b], bins=30, range=(lo, hi), density=True, histtype="step", color=color)
                if truth is not None:
                    ax.axvline(truth[b], color="k", lw=1)
                ax.set_yticks([])
            else:
                ylo = min(np.percentile(x[:, a], 0.5) for x in data)
                yhi = max(np.percentile(x[:, a], 99.5) for x in data)
                if truth is not None and np.isfinite(truth[a]):
                    ylo, yhi = min(ylo, truth[a]), max(yhi, truth[a])
                if yhi <= ylo:
                    yhi = ylo + 1e-6
                for x, color in zip(data, ("C0", "C3")):
                    h, xe, ye = np.histogram2d(x[:, b], x[:, a], bins=25, range=[[lo, hi], [ylo, yhi]])
                    if h.max() > 0:
                        # contours enclosing ~39% and ~86% of the mass (1 and 2 sigma in 2-D)
                        hs = np.sort(h.ravel())[::-1]
                        cum = np.cumsum(hs) / hs.sum()
                        levels = sorted({hs[min(np.searchsorted(cum, q), hs.size - 1)] for q in (0.86, 0.39)})
                        if len(levels) >= 1 and levels[-1] < h.max():
                            ax.contour(0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), h.T,
                                       levels=levels + [h.max()], colors=color, linewidths=0.8)
                if truth is not None:
                    ax.plot(truth[b], truth[a], "k+", ms=8)
                ax.set_ylim(ylo, yhi)
                if b == 0:
                    ax.set_ylabel(names[a], fontsize=6)
            ax.set_xlim(lo, hi)
            ax.tick_params(labelsize=5)
            if a == d - 1:
                ax.set_xlabel(names[b], fontsize=6)
            if b > 0 or a == b:
                ax.set_yticklabels([])
            if a < d - 1:
                ax.set_xticklabels([])
    fig.suptitle(f"test galaxy row {row}: flow (blue)" + (" vs MCMC (red)" if mc is not None else "")
                 + (", truth (black)" if truth is not None else ""), fontsize=10)
    fig.subplots_adjust(left=0.06, bottom=0.06, right=0.98, top=0.95, wspace=0.05, hspace=0.05)
    fig.savefig(out, dpi=60)
    plt.close(fig)
    return out


def fig_real_params(cat, out):
    k_m = cat.index("log_mstar", "log_mstar_formed")
    k_s = cat.index("log_sfr_100myr", "log_sfr_1gyr")
    ks = [k for k in (k_m, k_s) if k is not None]
    if not ks:
        return None
    med = cat.column("p50")
    ok_flag = np.ones(cat.n, bool) if cat.flags is None else cat.flags == 0
    fig, axes = plt.subplots(1, len(ks), figsize=(5 * len(ks), 4), squeeze=False)
    for ax, k in zip(axes[0], ks):
        x = med[:, k]
        fin = np.isfinite(x)
        if fin.any():
            bins = np.linspace(np.min(x[fin]), np.max(x[fin]) + 1e-9, 40)
            ax.hist(x[fin & ok_flag], bins=bins, histtype="stepfilled", alpha=0.6, label="unflagged")
            ax.hist(x[fin & ~ok_flag], bins=bins, histtype="step", color="C1", label="flagged")
        ax.set_xlabel(f"posterior median {cat.label(k)}")
        ax.set_ylabel("galaxies")
        ax.legend(fontsize=8)
    return save(fig, out)


def fig_real_flags(cat, out):
    if cat.flags is None:
        return None
    fl = cat.flags.astype(np.uint64)
    names = cat.flag_names or [f"bit {b}" for b in range(32) if np.any((fl >> np.uint64(b)) & np.uint64(1))]
    frac = [float(np.mean((fl >> np.uint64(b)) & np.uint64(1))) for b in range(len(names))]
    labels = ["any"] + names
    values = [float(np.mean(fl != 0))] + frac
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(labels) + 2), 4))
    ax.bar(np.arange(len(labels)), values, color=["C3"] + ["C0"] * len(names))
    for i, v in enumerate(values):
        ax.text(i, v, f"{100 * v:.1f}%", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(np.arange(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("fraction of galaxies")
    ax.set_title(f"flagged fractions by reason ({cat.n} galaxies)", fontsize=9)
    return save(fig, out)


def fig_real_mags(cat, out):
    f = cat.f
    if "flux_obs" not in f or "best_flux" not in f:
        return None
    mo, mb = mag(f["flux_obs"][...]), mag(f["best_flux"][...])
    nb = mo.shape[1]
    rows, cols = grid(nb, 5)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    for ax in axes.ravel()[nb:]:
        ax.axis("off")
    for b, ax in zip(range(nb), axes.ravel()):
        ok = np.isfinite(mo[:, b]) & np.isfinite(mb[:, b])
        if ok.any():
            ax.plot(mo[ok, b], mb[ok, b], ".", ms=1.5, alpha=0.5)
            lo, hi = np.percentile(mo[ok, b], [0.5, 99.5])
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
            ax.set_xlim(lo - 0.3, hi + 0.3)
            ax.set_ylim(lo - 0.3, hi + 0.3)
            dm = mb[ok, b] - mo[ok, b]
            ax.set_title(f"{cat.bands[b] if b < len(cat.bands) else b}: median dm = {np.median(dm):+.3f}",
                         fontsize=8)
        ax.set_xlabel("observed [AB mag]", fontsize=7)
        ax.set_ylabel("best-fit [AB mag]", fontsize=7)
        ax.tick_params(labelsize=6)
    return save(fig, out)


# ---------------------------------------------------------------- the page
def checks_table(m):
    checks = m.get("checks") or []
    if not checks:
        return "<p>No checks in metrics.json.</p>"
    rows = []
    for c in checks:
        p = c.get("passed")
        status = ("<b style='color:green'>pass</b>" if p is True else
                  "<b style='color:red'>FAIL</b>" if p is False else "<i>not evaluated</i>")
        rows.append(f"<tr><td>{html.escape(c.get('name', ''))}</td><td>{html.escape(c.get('quantity') or '(joint)')}"
                    f"</td><td>{fmt(c.get('value'))}</td><td>{html.escape(c.get('comparison', ''))} "
                    f"{fmt(c.get('threshold'))}</td><td>{status}</td><td>{html.escape(c.get('note') or '')}</td></tr>")
    return ("<table><tr><th>check</th><th>quantity</th><th>value</th><th>threshold</th><th>result</th>"
            "<th>note</th></tr>" + "".join(rows) + "</table>")


def calibration_table(m):
    cal = m.get("calibration")
    if not cal:
        return ""
    rows = []
    for q in cal["quantities"]:
        s = q["sbc"]
        rows.append("<tr>" + "".join(f"<td>{v}</td>" for v in (
            html.escape(q["name"]), fmt(q["n_used"]), fmt(s.get("chi2_p_value")), fmt(s.get("ks_p_value")),
            fmt(s.get("outer_z"), 2), fmt(q.get("pp_max_deviation")), fmt(q.get("coverage_68")),
            fmt(q.get("coverage_95")), fmt(q.get("median_bias")), fmt(q.get("median_rmse")))) + "</tr>")
    t = cal.get("tarp", {})
    return ("<h3>Calibration on the test set</h3><p>N = %s galaxies, S = %s samples each. TARP over %s: "
            "max |ECP - alpha| = %s (KS p = %s).</p>" % (fmt(cal.get("n_galaxies")), fmt(cal.get("n_samples")),
                                                        html.escape(", ".join(t.get("quantities", []))),
                                                        fmt(t.get("max_deviation")), fmt(t.get("ks_p_value")))
            + "<table><tr><th>quantity</th><th>n</th><th>SBC chi2 p</th><th>SBC KS p</th><th>outer z "
              "(&gt;0 overconfident)</th><th>p-p max dev.</th><th>68% cov.</th><th>95% cov.</th>"
              "<th>median bias</th><th>median RMSE</th></tr>" + "".join(rows) + "</table>")


def flow_mcmc_table(m):
    fm = m.get("flow_vs_mcmc")
    if not fm:
        return ""
    rows = []
    for q in fm.get("per_quantity", []):
        rows.append("<tr>" + "".join(f"<td>{v}</td>" for v in (
            html.escape(q["name"]), fmt(q["n_galaxies"]), fmt(q.get("median_abs_median_shift")),
            fmt(q.get("max_abs_median_shift")), fmt(q.get("median_std_ratio")),
            fmt(q.get("median_marginal_c2st")))) + "</tr>")
    return (f"<h3>Flow vs MCMC ({fmt(fm.get('n_galaxies'))} galaxies; median joint C2ST = "
            f"{fmt(fm.get('median_joint_c2st'))})</h3><table><tr><th>quantity</th><th>galaxies</th>"
            "<th>median |shift| (MCMC std)</th><th>max |shift|</th><th>median std ratio</th>"
            "<th>median marginal C2ST</th></tr>" + "".join(rows) + "</table>")


def flags_table(m):
    fl = m.get("flags")
    if not fl:
        return ""
    items = ", ".join(f"{html.escape(p['name'])}: {fmt(p['count'])} ({fmt(100 * p['fraction'], 1) if finite(p['fraction']) else 'n/a'}%)"
                      for p in fl.get("per_flag", []))
    frac = fl.get("fraction_flagged")
    return (f"<p>Flagged (test set): {fmt(fl.get('n_flagged'))} of {fmt(fl.get('n_galaxies'))} "
            f"({fmt(100 * frac, 1) if finite(frac) else 'n/a'}%). {items}</p>")


def write_index(out_dir, m, figures, notes, report_dir):
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>sedpost validation report</title>",
             "<style>body{font-family:sans-serif;max-width:1300px;margin:auto}table{border-collapse:collapse;"
             "font-size:90%}td,th{border:1px solid #bbb;padding:2px 6px}img{max-width:100%;border:1px solid #ddd}"
             "</style></head><body>", "<h1>sedpost validation report</h1>",
             f"<p>Directory: {html.escape(os.path.abspath(report_dir))}</p>"]
    if m is not None:
        overall = m.get("pass")
        word = ("<b style='color:green'>PASS</b>" if overall is True else
                "<b style='color:red'>FAIL</b>" if overall is False else "<i>no evaluable check</i>")
        parts.append(f"<h2>Overall: {word}</h2>")
        run = m.get("run") or {}
        if run:
            parts.append("<p>" + "; ".join(f"{html.escape(k)}: {html.escape(str(v))}" for k, v in run.items())
                         + "</p>")
        th = m.get("thresholds") or {}
        parts.append("<p>Thresholds (issue #10): SBC chi2 p-value &gt; %s per quantity; TARP max deviation "
                     "&lt; %s / sqrt(N); flow vs MCMC median |shift| &lt; %s MCMC std per parameter over "
                     "&ge; %s galaxies.</p>" % (fmt(th.get("sbc_min_p_value")), fmt(th.get("tarp_coefficient")),
                                                fmt(th.get("flow_mcmc_max_median_shift")),
                                                fmt(th.get("flow_mcmc_min_galaxies"))))
        parts.append("<h2>Checks</h2>" + checks_table(m))
        parts.append(calibration_table(m))
        parts.append(flow_mcmc_table(m))
        parts.append(flags_table(m))
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    parts.append("<h2>Figures</h2>")
    for title, name in figures:
        parts.append(f"<h3>{html.escape(title)}</h3><img src='{html.escape(name)}' alt='{html.escape(title)}'>")
    parts.append("</body></html>")
    tmp = os.path.join(out_dir, "index.html.partial")
    with open(tmp, "w") as f:
        f.write("\n".join(parts))
    os.replace(tmp, os.path.join(out_dir, "index.html"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report_dir")
    ap.add_argument("--out", help="output directory (default: REPORT_DIR)")
    ap.add_argument("--galaxy", type=int, help="test-set row of the corner plot (default: first in chains.h5)")
    ap.add_argument("--n-sed", type=int, default=4, help="galaxies in the best-fit SED figure")
    args = ap.parse_args(argv)
    rd = args.report_dir
    out_dir = args.out or rd
    os.makedirs(out_dir, exist_ok=True)
    notes, figures = [], []

    def path(name):
        p = os.path.join(rd, name)
        return p if os.path.exists(p) else None

    def add(title, name, fn, *a):
        try:
            r = fn(*a, os.path.join(out_dir, name))
        except Exception as e:  # one broken figure must not lose the others
            notes.append(f"{name}: not drawn ({type(e).__name__}: {e})")
            return
        if r:
            figures.append((title, name))

    m = None
    p = path("metrics.json")
    if p:
        with open(p) as f:
            m = json.load(f)
        if m.get("schema_version") != 1:
            notes.append(f"metrics.json has schema_version {m.get('schema_version')}; this script reads 1")
        add("p-p and coverage curves", "pp.png", fig_pp, m)
        add("SBC rank histograms", "sbc.png", fig_sbc, m)
        add("TARP expected coverage", "tarp.png", fig_tarp, m)
        add("Flow vs MCMC per galaxy", "flow_vs_mcmc.png", fig_flow_mcmc, m)
        if not m.get("calibration"):
            notes.append("metrics.json has no calibration section")
    else:
        notes.append("metrics.json missing: no metric figures or checks")

    p = path("test_posteriors.h5")
    if p:
        cat = Catalog(p)
        add("Predicted (posterior median, 16-84%) vs true", "pred_vs_true.png", fig_pred_vs_true, cat)
        try:
            r = fig_corner(cat, path("chains.h5"), os.path.join(out_dir, "corner.png"), args.galaxy, notes)
            if r:
                figures.append(("Corner plot: flow vs MCMC with the truth", "corner.png"))
        except Exception as e:
            notes.append(f"corner.png: not drawn ({type(e).__name__}: {e})")
        try:
            r = fig_sed(cat, os.path.join(out_dir, "sed.png"), args.n_sed)
            if r:
                figures.append(("Best-fit SED vs observed fluxes (test set)", "sed.png"))
            else:
                notes.append("test_posteriors.h5: no /flux_obs, /sigma or /best_flux: SED figure skipped")
        except Exception as e:
            notes.append(f"sed.png: not drawn ({type(e).__name__}: {e})")
        if cat.truth is None:
            notes.append("test_posteriors.h5 has no /truth: predicted-vs-true skipped")
        if not path("chains.h5"):
            notes.append("chains.h5 missing: corner plot shows the flow only")
    else:
        notes.append("test_posteriors.h5 missing: no test-set figures")

    p = path("nsa_posteriors.h5")
    if p:
        real = Catalog(p)
        add("Real catalog: inferred log M* and SFR", "real_params.png", fig_real_params, real)
        add("Real catalog: flagged fractions by reason", "real_flags.png", fig_real_flags, real)
        add("Real catalog: observed vs best-fit magnitudes", "real_mags.png", fig_real_mags, real)
    else:
        notes.append("nsa_posteriors.h5 missing: no real-catalog figures")

    write_index(out_dir, m, figures, notes, rd)
    print(f"make_report: {len(figures)} figures, index.html in {out_dir}")
    for n in notes:
        print(f"  note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
