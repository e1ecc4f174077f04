#!/usr/bin/env bash
# Catalog-inference throughput of `sedpost infer` (issue #9) with the SEDflow-size flow
# (15 MADE blocks x 500 hidden units, 2 hidden blocks): galaxies per second at 1,000 and
# 10,000 posterior draws per galaxy, at P = 1 and P = 2 ranks (1 thread each), on a simulated
# catalog, with the likelihood weighting on and off (docs/metrics.md). The flow's sampling speed
# does not depend on how well it is trained, but the weighting's refinement does (a poorer flow
# needs more rounds): by default the flow is trained for one epoch on a small training set (the
# worst case for the weighting); MODEL=path uses a trained model instead (its training config
# must be configs/demo.toml's simulator). Every run is repeated REPEATS times; the CSV has every
# run and the summary prints medians.
#
# Usage: benchmarks/infer_throughput.sh [BUILD_DIR] [OUT_DIR]
#   env: N_GAL_1K (default 2000) galaxies at 1,000 draws, N_GAL_10K (default 200) at 10,000,
#        REPEATS (default 3), RANKS (default "1 2"), DRAWS (default "1000 10000"),
#        WEIGHTING (default "true false"), MODEL (default: train one as above),
#        MODELS ("label=path ..." to compare several trained models, run alternately within each
#        repeat so that they see the same machine load; e.g. a band-mask model against the
#        fixed-band one of the same size, docs/missing-bands.md),
#        INFER_ARGS (more infer options, e.g. "--defensive true").
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
out=${2:-$(mktemp -d)}
source "$src/scripts/env.sh"
sedpost=$build/sedpost
cfg=$src/configs/demo.toml
n1k=${N_GAL_1K:-2000} n10k=${N_GAL_10K:-200} repeats=${REPEATS:-3} ranks=${RANKS:-"1 2"}
draws=${DRAWS:-"1000 10000"} weightings=${WEIGHTING:-"true false"}
model=${MODEL:+$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")}
mkdir -p "$out" && cd "$out"
model=${model:-$PWD/model.pt}
models=()
for m in ${MODELS:-}; do models+=("${m%%=*}=$(cd "$(dirname "${m#*=}")" && pwd)/$(basename "${m#*=}")"); done
[ ${#models[@]} -gt 0 ] || models=("model=$model")

if [ ! -f "$model" ] || [ ! -f catalog.h5 ]; then
  mpirun -n 2 "$sedpost" --config "$cfg" simulate --n 5000 --out train.h5 >setup.log 2>&1
  [ -f "$model" ] || mpirun -n 2 "$sedpost" --config "$cfg" train --data train.h5 --out "$model" --blocks 15 \
    --hidden 500 --batch-size 256 --max-epochs 1 >>setup.log 2>&1
  mpirun -n 2 "$sedpost" --config "$cfg" simulate --n "$n1k" --seed 777 --out catalog.h5 >>setup.log 2>&1
fi

echo "model,ranks,n_samples,weighting,galaxies,run,wall_s,galaxies_per_s,galaxies_per_s_per_core,overhead_pct" >results.csv
for p in $ranks; do
  for s in $draws; do
    n=$n1k; [ "$s" = 10000 ] && n=$n10k
    for wt in $weightings; do
    for r in $(seq 1 "$repeats"); do
    for lm in "${models[@]}"; do
      rm -f post.h5
      # --model-error 0: the catalog is simulated from the model (as validate runs it).
      mpirun -n "$p" "$sedpost" --config "$cfg" infer --model "${lm#*=}" --catalog catalog.h5 --rows "0:$n" \
        --n-samples "$s" --weighting "$wt" --model-error 0 --threads 1 ${INFER_ARGS:-} --out post.h5 >run.log 2>&1
      line=$(grep "galaxies/s job-wide" run.log)
      rate=$(sed -E 's/.*, ([0-9.]+) galaxies\/s job-wide.*/\1/' <<<"$line")
      over=$(sed -E 's/.*overhead ([0-9.]+) % of sampling.*/\1/' <<<"$line")
      wall=$(/usr/bin/python3 -c "print($n / $rate)")
      per_core=$(/usr/bin/python3 -c "print($rate / $p)")
      echo "${lm%%=*},$p,$s,$wt,$n,$r,$wall,$rate,$per_core,$over" >>results.csv
    done
    done
    done
  done
done
/usr/bin/python3 - <<'PY'
import csv, statistics as st
rows = list(csv.DictReader(open("results.csv")))
labels = list(dict.fromkeys(r["model"] for r in rows))
keys = sorted({(r["model"], int(r["ranks"]), int(r["n_samples"]), r["weighting"]) for r in rows},
              key=lambda k: (labels.index(k[0]),) + k[1:])
print("model          ranks  draws  weighting  galaxies  median gal/s  gal/s/core  overhead % of sampling")
med = {}
for m, p, s, wt in keys:
    sel = [r for r in rows if r["model"] == m and int(r["ranks"]) == p and int(r["n_samples"]) == s and r["weighting"] == wt]
    g = st.median(float(r["galaxies_per_s"]) for r in sel)
    med[(m, p, s, wt)] = g
    print(f"{m:14s} {p:5d} {s:6d} {wt:>10s} {sel[0]['galaxies']:>9s} {g:13.2f} {g / p:11.2f} "
          f"{st.median(float(r['overhead_pct']) for r in sel):10.1f}")
for m, p, s, wt in keys:
    if m != labels[0]:
        print(f"{m} / {labels[0]} at {p} rank(s), {s} draws, weighting {wt}: "
              f"{med[(m, p, s, wt)] / med[(labels[0], p, s, wt)]:.3f}")
one_k = [k for k in keys if k[0] == labels[0] and k[2] == 1000 and k[3] == "true"]
if one_k:
    p = max(k[1] for k in one_k)
    g = med[(labels[0], p, 1000, "true")] / p
    print(f"NSA sample (33,884 galaxies, 1,000 draws) on 1 core: {33884 / g / 3600:.2f} h; "
          f"1e7 galaxies on 1,000 cores: {1e7 / (g * 1000) / 3600:.2f} h")
PY
echo "results: $out/results.csv"
