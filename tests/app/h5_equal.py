#!/usr/bin/python3
"""Exit 0 when two HDF5 files hold bitwise-identical datasets and attributes (all groups).

Usage: h5_equal.py A.h5 B.h5 [--ignore-attr NAME ...]
HDF5's own bookkeeping (free-space and metadata placement) may differ; the content may not.
"""
import sys

import h5py
import numpy as np


def attrs(obj, ignore):
    return {k: obj.attrs[k] for k in obj.attrs if k not in ignore}


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:  # variable-length strings: compare values
        return a.shape == b.shape and a.tolist() == b.tolist()
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def main():
    path_a, path_b, *rest = sys.argv[1:]
    ignore = set(rest[1::2]) if rest else set()
    problems = []
    with h5py.File(path_a, "r") as fa, h5py.File(path_b, "r") as fb:
        names_a, names_b = [], []
        fa.visit(names_a.append)
        fb.visit(names_b.append)
        if sorted(names_a) != sorted(names_b):
            problems.append(f"objects differ: {sorted(set(names_a) ^ set(names_b))}")
        for name in ["/"] + names_a:
            if name != "/" and name not in fb:
                continue
            oa, ob = fa[name], fb[name]
            aa, ab = attrs(oa, ignore), attrs(ob, ignore)
            if aa.keys() != ab.keys():
                problems.append(f"{name}: attributes differ: {sorted(set(aa) ^ set(ab))}")
            for k in aa.keys() & ab.keys():
                if not same(aa[k], ab[k]):
                    problems.append(f"{name}: attribute {k} differs")
            if isinstance(oa, h5py.Dataset) and not same(oa[()], ob[()]):
                problems.append(f"{name}: data differ")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
