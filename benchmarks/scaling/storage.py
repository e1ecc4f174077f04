#!/usr/bin/python3
"""Bytes per galaxy of a posterior catalog under HDF5 chunking and compression choices.

Usage: storage.py POSTERIORS.h5 [--out DIR] [--chunks 16,64,256]

Reads /summary [N, K, 7] and, when present, /samples [N, S, K] of a posterior catalog
written by `sedpost infer` (with --n-store S for samples), or /samples [N, S, D] of
`sedpost sample` output (then /summary is computed from them), rewrites each dataset into scratch
files with different layouts and filters, and prints the bytes per galaxy (file size
difference to an empty file, so HDF5 overhead, chunk index included, is counted):
  contiguous             no chunking, no filter (what the schema costs raw)
  chunked G              chunks of G galaxies, no filter
  gzip-4 / shuffle+gzip-4 / shuffle+lzf     lossless, chunks of G galaxies
  scaleoffset D + shuffle+gzip-4            lossy: D decimal digits kept (HDF5 scale-offset)
  float16 + shuffle+gzip-4                  lossy: half precision (~3 significant digits)
Parallel HDF5 (1.10.2+) writes filtered chunks only collectively, one writer per chunk:
align chunks with the galaxies a rank writes (`infer --chunk` galaxies per work item).
"""
import argparse
import os
import tempfile

import h5py
import numpy as np


def size_of(write):
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, "empty.h5")
        with h5py.File(empty, "w"):
            pass
        path = os.path.join(d, "t.h5")
        with h5py.File(path, "w") as f:
            write(f)
        return os.path.getsize(path) - os.path.getsize(empty)


def variants(data, chunk_g):
    n = data.shape[0]
    g = min(chunk_g, n)
    chunks = (g,) + data.shape[1:]
    out = [("contiguous", lambda f: f.create_dataset("d", data=data))]
    out.append((f"chunked {g}", lambda f: f.create_dataset("d", data=data, chunks=chunks)))
    out.append((f"gzip-4, chunks {g}", lambda f: f.create_dataset("d", data=data, chunks=chunks, compression="gzip",
                                                                   compression_opts=4)))
    out.append((f"shuffle+gzip-4, chunks {g}", lambda f: f.create_dataset(
        "d", data=data, chunks=chunks, shuffle=True, compression="gzip", compression_opts=4)))
    out.append((f"shuffle+lzf, chunks {g}", lambda f: f.create_dataset("d", data=data, chunks=chunks, shuffle=True,
                                                                        compression="lzf")))
    for digits in (3, 2):
        out.append((f"scaleoffset {digits} digits + shuffle+gzip-4, chunks {g}", lambda f, dd=digits: f.create_dataset(
            "d", data=np.nan_to_num(data, nan=-9999.0), chunks=chunks, scaleoffset=dd, shuffle=True,
            compression="gzip", compression_opts=4)))
    out.append((f"float16 + shuffle+gzip-4, chunks {g}", lambda f: f.create_dataset(
        "d", data=data.astype(np.float16), chunks=chunks, shuffle=True, compression="gzip", compression_opts=4)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("posteriors")
    ap.add_argument("--chunks", default="64")
    a = ap.parse_args()
    with h5py.File(a.posteriors, "r") as f:
        if "summary" in f:
            sets = {"summary": f["summary"][...]}
        else:  # `sedpost sample` output: /samples [n_obs, n, D]; summaries computed here
            x = f["samples"][...].astype(np.float64)
            q = np.percentile(x, [2.5, 16, 50, 84, 97.5], axis=1)  # [5, N, D]
            sets = {"summary": np.concatenate([x.mean(1)[None], x.std(1)[None], q]).transpose(1, 2, 0)
                    .astype(np.float32)}
        if "samples" in f:
            sets["samples"] = f["samples"][...]
        others = {k: f[k] for k in f if isinstance(f[k], h5py.Dataset) and k not in sets}
        n = sets["summary"].shape[0]
        print(f"{a.posteriors}: {n} galaxies; file {os.path.getsize(a.posteriors) / n:.1f} bytes/galaxy as written")
        for k, ds in others.items():
            print(f"  /{k} {ds.shape} {ds.dtype}: {ds.id.get_storage_size() / n:.1f} bytes/galaxy stored")
    for name, data in sets.items():
        raw = data.nbytes / data.shape[0]
        print(f"/{name} {data.shape} {data.dtype}: {raw:.0f} bytes/galaxy raw")
        for g in [int(c) for c in a.chunks.split(",")]:
            for label, write in variants(data, g):
                if label == "contiguous" and g != int(a.chunks.split(",")[0]):
                    continue
                b = size_of(write) / data.shape[0]
                print(f"  {label:48s} {b:10.1f} bytes/galaxy  ({b / raw:5.3f} of raw)")


if __name__ == "__main__":
    main()
