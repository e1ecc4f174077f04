#!/usr/bin/env bash
# Strong- and weak-scaling study of sedpost's parallel stages: simulate (rank-parallel rows,
# collective parallel-HDF5 writes), train (data-parallel, gradient allreduce), sample (flow
# posteriors; the kernel of infer) and infer (once implemented), plus the parallel-HDF5
# write benchmark (build/benchmarks/io_bench) for the raw I/O bandwidth.
#
# Usage: benchmarks/scaling/run_scaling.sh [options]
#   --out DIR          results (default scaling-results/): scaling.csv, scaling.png, logs/
#   --ranks "1 2 4"    rank counts P (default "1 2 4"; P above the core count is marked
#                      oversubscribed in the CSV and the plot)
#   --scale K          multiply every problem size by K (default 1: a few minutes on 2 cores)
#   --stages LIST      subset of simulate,train,sample,infer,io (default all; infer only
#                      when `sedpost infer` is implemented)
#   --config FILE      sedpost config (default configs/demo.toml: the demo flow, 5 x 128)
#   --epochs E         training epochs per run (default 3)
#   --launcher L       mpirun (default) or srun (inside an allocation: srun -n P)
#   --modes LIST       strong, weak or both (default "strong weak")
#   --model FILE       trained model for sample/infer (default: train one on the P=1 strong set)
#
# Sizes at --scale 1 (strong: fixed total; weak: per rank x P):
#   simulate  strong 16384 rows            weak 8192 rows/rank
#   train     strong 16384 rows, batch 256 weak 8192 rows/rank, batch 128/rank
#   sample    strong 512 galaxies x 500    weak 256 galaxies/rank x 500 samples
# Environment: SEDPOST_BIN (default <repo>/build/sedpost), SEDPOST_DATA_DIR, SEDPOST_IO_BENCH
# (default: benchmarks/io_bench next to the binary), SEDPOST_LAUNCHER_ARGS (extra launcher
# options). Results: see docs/scaling.md. Needs /usr/bin/python3 with numpy + matplotlib.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=scaling-results ranks="1 2 4" scale=1 stages="simulate,train,sample,infer,io" epochs=3 launcher=mpirun
modes="strong weak" given_model=
config=$repo/configs/demo.toml
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --launcher) launcher=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --model) given_model=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    -h | --help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_scaling.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
if [ -z "${SEDPOST_DATA_DIR:-}" ] && [ -d "$repo/../shared/data" ]; then
  export SEDPOST_DATA_DIR=$(cd "$repo/../shared/data" && pwd)
fi
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
bin=${SEDPOST_BIN:-$repo/build/sedpost}
[ -x "$bin" ] || { echo "run_scaling.sh: no sedpost binary at $bin (set SEDPOST_BIN)" >&2; exit 64; }
io_bench=${SEDPOST_IO_BENCH:-$(dirname "$bin")/benchmarks/io_bench}
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
mkdir -p "$out/logs" "$out/data"
out=$(cd "$out" && pwd)
cores=$(nproc)
read -r -a largs <<<"${SEDPOST_LAUNCHER_ARGS:-}"
has() { [[ ",$stages," == *",$1,"* ]]; }
S() { echo $(($1 * scale)); }

runs=$out/runs.tsv
printf 'stage\tmode\tranks\tn_items\twall_s\tcpu_s\tload1\tbytes_out\tlog\tcores\n' >"$runs"
launch() {  # launch P CMD... (with the launcher)
  local p=$1
  shift
  case "$launcher" in
    srun) srun -n "$p" "${largs[@]}" "$@" ;;
    *) mpirun -n "$p" "${largs[@]}" "$@" ;;
  esac
}
# measure STAGE MODE P N_ITEMS OUTPUT sedpost-args...: runs, records wall time and output size.
measure() {
  local stage=$1 mode=$2 p=$3 n=$4 output=$5
  shift 5
  local log=$out/logs/$stage-$mode-p$p.log t0 t1 bytes=0 load cpu
  [[ " $modes " == *" $mode "* ]] || return 0
  rm -rf "$output" "$output.partial"
  load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo nan)
  echo "[$(date -u +%H:%M:%S)] $stage $mode P=$p n=$n (load average $load)"
  t0=$EPOCHREALTIME
  # CPU seconds of all ranks: `times` in the subshell reports its children's user and system
  # time (mpirun waits for its local ranks, so theirs is included; under srun only the srun
  # process is seen and cpu_s is not meaningful).
  if ! (launch "$p" "$bin" --config "$config" ${SEDPOST_DATA_DIR:+--data-dir "$SEDPOST_DATA_DIR"} "$@" >"$log" 2>&1 &&
        times >"$log.cpu"); then
    echo "  failed: $(tail -n 3 "$log")"
    return 1
  fi
  t1=$EPOCHREALTIME
  # second line of `times`: children's "XmY.YYYs XmY.YYYs"
  cpu=$(sed -n 2p "$log.cpu" | awk '{t = 0; for (i = 1; i <= 2; i++) {split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]} print t}')
  [ -e "$output" ] && bytes=$(du -sb "$output" | cut -f1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stage" "$mode" "$p" "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" \
    "${cpu:-nan}" "$load" "$bytes" "$log" "$cores" >>"$runs"
}

d=$out/data
n_sim=$(S 16384) n_sim_rank=$(S 8192) n_obs=$(S 512) n_obs_rank=$(S 256) n_draw=500
p_max=1
for p in $ranks; do [ "$p" -gt "$p_max" ] && p_max=$p; done

# A given model: no training runs unless asked for.
needs_model_training() { has train || { [ -z "$given_model" ] && { has sample || has infer; }; }; }
# ---- simulate: also makes the training sets of the train runs ----
for p in $ranks; do
  if has simulate || needs_model_training; then
    measure simulate strong "$p" "$n_sim" "$d/sim-strong-p$p.h5" simulate --n "$n_sim" --out "$d/sim-strong-p$p.h5"
    measure simulate weak "$p" "$((n_sim_rank * p))" "$d/sim-weak-p$p.h5" simulate --n "$((n_sim_rank * p))" --out "$d/sim-weak-p$p.h5"
  fi
done
# ---- train: strong = fixed rows and global batch; weak = rows and batch per rank fixed ----
if needs_model_training; then
  for p in $ranks; do
    has train || [ "$p" = 1 ] || continue
    measure train strong "$p" "$((n_sim * epochs))" "$d/model-strong-p$p.pt" train --data "$d/sim-strong-p$p.h5" \
      --out "$d/model-strong-p$p.pt" --max-epochs "$epochs" --batch-size 256 --threads 1
    has train || continue
    measure train weak "$p" "$((n_sim_rank * p * epochs))" "$d/model-weak-p$p.pt" train --data "$d/sim-weak-p$p.h5" \
      --out "$d/model-weak-p$p.pt" --max-epochs "$epochs" --batch-size "$((128 * p))" --threads 1
  done
fi
model=${given_model:-$d/model-strong-p1.pt}
# ---- sample / infer: galaxies from held-out simulated sets ----
if has sample || has infer; then
  [ -f "$model" ] || { echo "run_scaling.sh: no model for sample/infer (give --model, or keep the strong mode)" >&2; exit 1; }
  launch "$p_max" "$bin" --config "$config" ${SEDPOST_DATA_DIR:+--data-dir "$SEDPOST_DATA_DIR"} simulate --n "$n_obs" \
    --seed 7 --out "$d/obs-strong.h5" >"$out/logs/obs-strong.log" 2>&1 || { echo "simulate obs failed"; exit 1; }
  for p in $ranks; do
    [[ " $modes " == *" weak "* ]] || break
    [ -f "$d/obs-weak-p$p.h5" ] || launch "$p_max" "$bin" --config "$config" ${SEDPOST_DATA_DIR:+--data-dir "$SEDPOST_DATA_DIR"} \
      simulate --n "$((n_obs_rank * p))" --seed 7 --out "$d/obs-weak-p$p.h5" >"$out/logs/obs-weak-p$p.log" 2>&1
  done
fi
for p in $ranks; do
  if has sample; then
    measure sample strong "$p" "$((n_obs * n_draw))" "$d/samples-strong-p$p.h5" sample --model "$model" \
      --x "$d/obs-strong.h5" --n "$n_draw" --threads 1 --out "$d/samples-strong-p$p.h5"
    measure sample weak "$p" "$((n_obs_rank * p * n_draw))" "$d/samples-weak-p$p.h5" sample --model "$model" \
      --x "$d/obs-weak-p$p.h5" --n "$n_draw" --threads 1 --out "$d/samples-weak-p$p.h5"
  fi
  if has infer && ! "$bin" infer --help 2>/dev/null | grep -q "not implemented yet"; then
    measure infer strong "$p" "$((n_obs * n_draw))" "$d/post-strong-p$p.h5" infer --model "$model" \
      --catalog "$d/obs-strong.h5" --n-samples "$n_draw" --threads 1 --out "$d/post-strong-p$p.h5"
    measure infer weak "$p" "$((n_obs_rank * p * n_draw))" "$d/post-weak-p$p.h5" infer --model "$model" \
      --catalog "$d/obs-weak-p$p.h5" --n-samples "$n_draw" --threads 1 --out "$d/post-weak-p$p.h5"
  fi
done
# ---- raw parallel-HDF5 write bandwidth (io_bench: [2^20, 32] float32, MPI-IO driver) ----
if has io && [ -x "$io_bench" ]; then
  for p in $ranks; do
    echo "[$(date -u +%H:%M:%S)] io_bench P=$p"
    launch "$p" "$io_bench" --benchmark_filter='rows:1048576/mpio:1' --benchmark_format=csv \
      >"$out/logs/io-p$p.csv" 2>"$out/logs/io-p$p.log" || echo "  io_bench failed"
  done
elif has io; then
  echo "run_scaling.sh: no io_bench at $io_bench (build it: cmake --build build --target io_bench); I/O column from the stages only"
fi
rm -rf "$d"
/usr/bin/python3 "$here/analyze.py" "$out" || exit 1
echo "results: $out/scaling.csv $out/scaling.png"
