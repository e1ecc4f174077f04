#!/usr/bin/python3
"""Turns the runs of run_scaling.sh into scaling.csv and scaling.png.

Usage: analyze.py OUT_DIR        (reads OUT_DIR/runs.tsv, OUT_DIR/logs/*)

Per run (stage, mode strong|weak, ranks P):
  wall_s       the whole command under mpirun (start-up, data loading, noise fit, writes)
  compute_s    the stage's own loop, from its final progress line ("..., took T")
  throughput   n_items / compute_s (simulate: galaxies; train: training samples over all
               epochs; sample/infer: posterior draws = galaxies x draws)
  speedup      strong: compute_s(P=1) / compute_s(P); weak: P x compute_s(1) / compute_s(P)
  efficiency   speedup / P (strong and weak alike: 1 = ideal)
  wall_efficiency  the same from wall_s (shows the fixed start-up cost)
  cpu_s        CPU seconds of all ranks together (user + system, start-up included)
  cpu_efficiency   CPU seconds per item at P=1 / CPU seconds per item at P: the parallel
               overhead (communication, busy-polling MPI waits, duplicated start-up) without
               the effect of other load on a shared machine; 1 = no overhead
  load1        the machine's 1-minute load average when the run started (a busy machine
               makes the wall-clock numbers pessimistic; compare with cores)
  out_MBps     output bytes / compute_s (what the stage writes per second of its loop)
  io_MBps      io_bench: parallel-HDF5 collective write of a [2^20, 32] float32 dataset at P
  oversubscribed  P > cores of the machine
"""
import csv
import math
import re
import sys
from pathlib import Path

PROGRESS = re.compile(r"info: ([\w ()]+): (\d+)(?:/(\d+))?(?: \([\d.]+%\))?, ([\d.e+-]+) (\S+)/s, took (\S+)")


def seconds(text):
    m = re.fullmatch(r"([\d.]+)s", text)
    if m:
        return float(m.group(1))
    m = re.fullmatch(r"(\d+)m(\d+)s", text)
    if m:
        return 60 * int(m.group(1)) + int(m.group(2))
    m = re.fullmatch(r"(\d+)h(\d+)m", text)
    if m:
        return 3600 * int(m.group(1)) + 60 * int(m.group(2))
    return math.nan


def compute_seconds(log, stage):
    label = {"simulate": "simulate", "train": "train", "sample": "sampling", "infer": "infer"}[stage]
    found = math.nan
    for line in Path(log).read_text(errors="replace").splitlines():
        m = PROGRESS.search(line)
        if m and m.group(1) == label:
            found = seconds(m.group(6))
    return found


def io_bandwidth(out):
    """MB_per_s of io_bench per rank count (Google Benchmark CSV after its context lines)."""
    bw = {}
    for f in sorted((out / "logs").glob("io-p*.csv")):
        p = int(f.stem.split("-p")[1])
        text = f.read_text().splitlines()
        header_i = next((i for i, r in enumerate(text) if r.startswith("name,")), None)
        if header_i is None:
            continue
        for r in csv.DictReader(text[header_i:]):
            if r.get("MB_per_s"):
                bw[p] = float(r["MB_per_s"])
    return bw


def main():
    out = Path(sys.argv[1])
    runs = list(csv.DictReader((out / "runs.tsv").open(), delimiter="\t"))
    io = io_bandwidth(out)
    for r in runs:
        r["ranks"] = int(r["ranks"])
        r["cores"] = int(r["cores"])
        r["n_items"] = int(r["n_items"])
        r["wall_s"] = float(r["wall_s"])
        r["cpu_s"] = float(r.get("cpu_s", "nan") or "nan")
        r["load1"] = float(r.get("load1", "nan") or "nan")
        r["bytes_out"] = int(r["bytes_out"])
        r["compute_s"] = compute_seconds(r["log"], r["stage"])
    base = {}
    for r in runs:
        if r["ranks"] == 1:
            base[(r["stage"], r["mode"])] = r
    rows = []
    for r in runs:
        b = base.get((r["stage"], r["mode"]))
        p = r["ranks"]

        def eff(t1, tp):
            if b is None or not (tp > 0) or not (t1 > 0):
                return math.nan, math.nan
            s = t1 / tp if r["mode"] == "strong" else p * t1 / tp
            return s, s / p

        speedup, efficiency = eff(b["compute_s"] if b else math.nan, r["compute_s"])
        _, wall_eff = eff(b["wall_s"] if b else math.nan, r["wall_s"])
        cpu_eff = math.nan
        if b is not None and r["cpu_s"] > 0 and b["cpu_s"] > 0:
            cpu_eff = (b["cpu_s"] / b["n_items"]) / (r["cpu_s"] / r["n_items"])
        rows.append({
            "stage": r["stage"], "mode": r["mode"], "ranks": p, "n_items": r["n_items"],
            "wall_s": round(r["wall_s"], 3), "compute_s": r["compute_s"],
            "throughput_per_s": round(r["n_items"] / r["compute_s"], 1) if r["compute_s"] > 0 else math.nan,
            "speedup": round(speedup, 3), "efficiency": round(efficiency, 3), "wall_efficiency": round(wall_eff, 3),
            "cpu_s": round(r["cpu_s"], 2), "cpu_efficiency": round(cpu_eff, 3), "load1": r["load1"],
            "bytes_out": r["bytes_out"],
            "out_MBps": round(r["bytes_out"] / r["compute_s"] / 1e6, 2) if r["compute_s"] > 0 else math.nan,
            "io_MBps": round(io[p], 1) if p in io else math.nan,
            "oversubscribed": int(p > r["cores"]), "cores": r["cores"],
        })
    fields = list(rows[0].keys()) if rows else []
    with (out / "scaling.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    # A readable table on stdout (the same numbers as the CSV).
    print(f"{'stage':9} {'mode':6} {'P':>2} {'items':>9} {'wall s':>7} {'loop s':>7} {'items/s':>10} "
          f"{'speedup':>7} {'eff':>5} {'wall eff':>8} {'cpu eff':>7} {'out MB/s':>8} {'io MB/s':>8} {'load':>5}")
    for r in rows:
        print(f"{r['stage']:9} {r['mode']:6} {r['ranks']:>2} {r['n_items']:>9} {r['wall_s']:>7.1f} {r['compute_s']:>7.1f} "
              f"{r['throughput_per_s']:>10.0f} {r['speedup']:>7.2f} {r['efficiency']:>5.2f} {r['wall_efficiency']:>8.2f} "
              f"{r['cpu_efficiency']:>7.2f} {r['out_MBps']:>8.1f} {r['io_MBps']:>8.1f} {r['load1']:>5.1f}"
              f"{'  (oversubscribed)' if r['oversubscribed'] else ''}")
    plot(out, rows, io)


def plot(out, rows, io):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return
    cores = rows[0]["cores"]
    ranks = sorted({r["ranks"] for r in rows})
    stages = [s for s in ["simulate", "train", "sample", "infer"] if any(r["stage"] == s for r in rows)]
    colors = dict(zip(["simulate", "train", "sample", "infer"], ["C0", "C1", "C2", "C3"]))
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.6))
    for s in stages:
        for mode, ls, mk in [("strong", "-", "o"), ("weak", "--", "s")]:
            rr = sorted((r for r in rows if r["stage"] == s and r["mode"] == mode), key=lambda r: r["ranks"])
            if not rr:
                continue
            ps = [r["ranks"] for r in rr]
            ax[0].plot(ps, [r["throughput_per_s"] for r in rr], ls, marker=mk, color=colors[s], label=f"{s} {mode}")
            ax[1].plot(ps, [r["efficiency"] for r in rr], ls, marker=mk, color=colors[s], label=f"{s} {mode}")
            ax[1].plot(ps, [r["cpu_efficiency"] for r in rr], ls, marker=mk, color=colors[s], alpha=0.35, mfc="none")
            if s in ("simulate", "sample", "infer"):
                ax[2].plot(ps, [r["out_MBps"] for r in rr], ls, marker=mk, color=colors[s], label=f"{s} {mode} output")
    if io:
        ps = sorted(io)
        ax[2].plot(ps, [io[p] for p in ps], "-", marker="D", color="k", label="io_bench parallel-HDF5 write")
    ax[0].set(xscale="log", yscale="log", xlabel="MPI ranks P", ylabel="throughput [items/s]",
              title="Throughput (stage loop)")
    ax[1].axhline(1.0, color="grey", lw=0.8)
    ax[1].set(xscale="log", xlabel="MPI ranks P", ylabel="parallel efficiency", ylim=(0, 1.3),
              title="Parallel efficiency (faint: CPU-time efficiency)")
    ax[2].set(xscale="log", yscale="log", xlabel="MPI ranks P", ylabel="MB/s", title="I/O bandwidth")
    from matplotlib.ticker import NullFormatter
    for a in ax:
        a.set_xticks(ranks)
        a.xaxis.set_minor_formatter(NullFormatter())
        a.set_xticklabels([str(p) for p in ranks])
        if max(ranks) > cores:
            a.axvspan(cores + 0.5, max(ranks) * 1.2, color="red", alpha=0.08, lw=0)
            a.text(0.98, 0.02, f"shaded: P > {cores} cores (oversubscribed)", transform=a.transAxes, ha="right",
                   fontsize=7, color="darkred")
        a.grid(alpha=0.3, which="both")
    ax[0].legend(fontsize=7)
    ax[1].legend(fontsize=7)
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "scaling.png", dpi=110)


if __name__ == "__main__":
    main()
