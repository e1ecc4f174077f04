#!/usr/bin/python3
"""Small HDF5 checks for the jobs/ tests (needs h5py: run with /usr/bin/python3).

  h5check.py complete FILE...        exit 0 when every FILE has the root attribute complete = 1
  h5check.py rows-done FILE          print how many rows /row_done marks done, and the rows
                                     done at the start of each half ("K K0 K1": a prefix
                                     [0, K0) and [N/2, N/2 + K1) for a 2-rank simulate)
  h5check.py prefix-equal A B N      exit 0 when every row dataset of B (first dimension =
                                     its n_rows) equals the first N rows of the same dataset of A
                                     bitwise (NaN equal to NaN)
"""
import sys

import h5py
import numpy as np


def complete(paths):
    bad = []
    for p in paths:
        try:
            with h5py.File(p, "r") as f:
                if int(np.asarray(f.attrs.get("complete", 0)).ravel()[0]) != 1:
                    bad.append(f"{p}: complete != 1")
        except OSError as e:
            bad.append(f"{p}: {e}")
    for b in bad:
        print(b)
    return 1 if bad else 0


def rows_done(path):
    with h5py.File(path, "r") as f:
        done = f["row_done"][...].astype(bool)
    n = done.size
    half = (n + 1) // 2

    def prefix(a):
        idx = np.flatnonzero(~a)
        return int(idx[0]) if idx.size else int(a.size)

    print(int(done.sum()), prefix(done[:half]), prefix(done[half:]))
    return 0


def prefix_equal(path_a, path_b, n):
    problems = []
    with h5py.File(path_a, "r") as fa, h5py.File(path_b, "r") as fb:
        nb = None
        for name, ds in fb.items():
            if isinstance(ds, h5py.Dataset) and ds.ndim >= 1:
                nb = ds.shape[0] if nb is None else max(nb, ds.shape[0])
        checked = 0
        for name, db in fb.items():
            if not isinstance(db, h5py.Dataset) or db.ndim < 1 or db.shape[0] != nb or name == "row_done":
                continue
            if name not in fa:
                problems.append(f"{name} missing in {path_a}")
                continue
            a = fa[name][:n]
            b = db[:n]
            if a.shape != b.shape or a.dtype != b.dtype:
                problems.append(f"{name}: shape/type {a.shape} {a.dtype} vs {b.shape} {b.dtype}")
            elif a.tobytes() != b.tobytes():
                rows = np.flatnonzero(np.any((a != b).reshape(a.shape[0], -1), axis=1))
                problems.append(f"{name}: {rows.size} of {n} rows differ, first {rows[:5].tolist()}")
            checked += 1
        if checked == 0:
            problems.append("no row datasets compared")
    for p in problems:
        print(p)
    if not problems:
        print(f"first {n} rows identical in {checked} datasets")
    return 1 if problems else 0


def main():
    cmd, *args = sys.argv[1:]
    if cmd == "complete":
        return complete(args)
    if cmd == "rows-done":
        return rows_done(args[0])
    if cmd == "prefix-equal":
        return prefix_equal(args[0], args[1], int(args[2]))
    print(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main())
