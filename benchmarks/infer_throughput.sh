#!/usr/bin/env bash
# Catalog-inference throughput of `sedpost infer` (issue #9) with the SEDflow-size flow
# (15 MADE blocks x 500 hidden units, 2 hidden blocks): galaxies per second at 1,000 and
# 10,000 posterior draws per galaxy, at P = 1 and P = 2 ranks (1 thread each), on a simulated
# catalog. Speed does not depend on how well the flow is trained, so the flow is trained for
# one epoch on a small training set. Every run is repeated REPEATS times; the CSV has every run
# and the summary prints medians.
#
# Usage: benchmarks/infer_throughput.sh [BUILD_DIR] [OUT_DIR]
#   env: N_GAL_1K (default 2000) galaxies at 1,000 draws, N_GAL_10K (default 200) at 10,000,
#        REPEATS (default 3), RANKS (default "1 2").
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
out=${2:-$(mktemp -d)}
source "$src/scripts/env.sh"
sedpost=$build/sedpost
cfg=$src/configs/demo.toml
n1k=${N_GAL_1K:-2000} n10k=${N_GAL_10K:-200} repeats=${REPEATS:-3} ranks=${RANKS:-"1 2"}
mkdir -p "$out" && cd "$out"

if [ ! -f model.pt ]; then
  mpirun -n 2 "$sedpost" --config "$cfg" simulate --n 5000 --out train.h5 >setup.log 2>&1
  mpirun -n 2 "$sedpost" --config "$cfg" train --data train.h5 --out model.pt --blocks 15 --hidden 500 \
    --batch-size 256 --max-epochs 1 >>setup.log 2>&1
  mpirun -n 2 "$sedpost" --config "$cfg" simulate --n "$n1k" --seed 777 --out catalog.h5 >>setup.log 2>&1
fi

echo "ranks,n_samples,galaxies,run,wall_s,galaxies_per_s,galaxies_per_s_per_core,overhead_pct" >results.csv
for p in $ranks; do
  for s in 1000 10000; do
    n=$n1k; [ "$s" = 10000 ] && n=$n10k
    for r in $(seq 1 "$repeats"); do
      rm -f post.h5
      mpirun -n "$p" "$sedpost" --config "$cfg" infer --model model.pt --catalog catalog.h5 --rows "0:$n" \
        --n-samples "$s" --threads 1 --out post.h5 >run.log 2>&1
      line=$(grep "galaxies/s job-wide" run.log)
      rate=$(sed -E 's/.*, ([0-9.]+) galaxies\/s job-wide.*/\1/' <<<"$line")
      over=$(sed -E 's/.*overhead ([0-9.]+) % of sampling.*/\1/' <<<"$line")
      wall=$(/usr/bin/python3 -c "print($n / $rate)")
      per_core=$(/usr/bin/python3 -c "print($rate / $p)")
      echo "$p,$s,$n,$r,$wall,$rate,$per_core,$over" >>results.csv
    done
  done
done
/usr/bin/python3 - <<'PY'
import csv, statistics as st
rows = list(csv.DictReader(open("results.csv")))
keys = sorted({(int(r["ranks"]), int(r["n_samples"])) for r in rows})
print("ranks  draws  galaxies  median gal/s  gal/s/core  overhead % of sampling")
med = {}
for p, s in keys:
    sel = [r for r in rows if int(r["ranks"]) == p and int(r["n_samples"]) == s]
    g = st.median(float(r["galaxies_per_s"]) for r in sel)
    med[(p, s)] = g
    print(f"{p:5d} {s:6d} {sel[0]['galaxies']:>9s} {g:13.2f} {g / p:11.2f} {st.median(float(r['overhead_pct']) for r in sel):10.1f}")
if (1, 1000) in med:
    g = med[max(p for p, s in keys if s == 1000), 1000] / max(p for p, s in keys if s == 1000)
    print(f"NSA sample (33,884 galaxies, 1,000 draws) on 1 core: {33884 / g / 3600:.2f} h; "
          f"1e7 galaxies on 1,000 cores: {1e7 / (g * 1000) / 3600:.2f} h")
PY
echo "results: $out/results.csv"
