#!/usr/bin/python3
"""sbibm check of sedpost's generic flow mode (neural posterior estimation on any simulator).

For one sbibm task and one simulation budget this script
  1. simulates the training set with numpy from the task's prior and simulator (fixed seed),
     and writes train.h5 (/theta [N, D], /x [N, C] as float32; for a bounded prior the root
     attributes theta_lower / theta_upper as float64 arrays),
  2. runs `mpirun -n RANKS sedpost train --data train.h5 --out model.pt ...`,
  3. writes the task's 10 observations into obs.h5 (/x [10, C]),
  4. runs `mpirun -n RANKS sedpost sample --model model.pt --x obs.h5 --n N --out samples.h5`,
  5. scores every observation with C2ST against the reference posterior samples exactly as
     sbibm defines it (sbibm/metrics/c2st.py): both sets z-scored with the reference samples'
     mean and unbiased standard deviation, MLPClassifier(activation="relu",
     hidden_layer_sizes=(10 D, 10 D), solver="adam", max_iter=10000, random_state=1),
     KFold(5, shuffle=True, random_state=1), mean accuracy over the folds;
     for gaussian_linear it also compares the sample mean and variance with the analytic
     posterior N(x/2, 0.05 I).
It prints a table and writes the numbers to <workdir>/result.json (or --json).

Requirements: /usr/bin/python3 with numpy, h5py and scikit-learn (Debian: python3-numpy,
python3-h5py, python3-sklearn; `apt-get install -y python3-sklearn`). The data come from
$SEDPOST_DATA_DIR/sbibm/<task>/num_observation_<k>/ (default ../shared/data beside the repo).

Example (the published sbi NPE mean C2ST at 10^4 simulations is 0.552 / 0.606):
  source scripts/env.sh
  /usr/bin/python3 validation/sbibm_check.py --task gaussian_linear --budget 10000 --ranks 2 \
      --workdir /tmp/sbibm_gl

Exit status: 0 when the pipeline ran (and, with --max-c2st / --max-mean-bias /
--max-std-error, every given bound held), 1 when a bound was missed, 2 when a step failed.
"""
import argparse
import bz2
import json
import math
import os
import re
import subprocess
import sys
import time

import h5py
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Published NPE (sbi, one round, neural spline flow) mean C2ST over the 10 observations,
# Lueckmann et al. 2021, at budgets 10^3 / 10^4 / 10^5.
PUBLISHED_NPE = {
    "gaussian_linear": {1000: 0.694, 10000: 0.552, 100000: 0.506},
    "two_moons": {1000: 0.725, 10000: 0.606, 100000: 0.542},
}


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(2)


# ----------------------------------------------------------------------------- tasks
def simulate_gaussian_linear(n, rng):
    """theta ~ N(0, 0.1 I_10), x ~ N(theta, 0.1 I_10) (0.1 = covariance)."""
    theta = rng.normal(0.0, math.sqrt(0.1), size=(n, 10))
    x = theta + rng.normal(0.0, math.sqrt(0.1), size=(n, 10))
    return theta, x


def simulate_two_moons(n, rng):
    """theta ~ U([-1,1]^2); a ~ U(-pi/2, pi/2), r ~ N(0.1, 0.01^2),
    p = (r cos a + 0.25, r sin a), x = p + (-|t1 + t2| / sqrt2, (-t1 + t2) / sqrt2)."""
    theta = rng.uniform(-1.0, 1.0, size=(n, 2))
    a = rng.uniform(-math.pi / 2, math.pi / 2, size=n)
    r = rng.normal(0.1, 0.01, size=n)
    p = np.stack([r * np.cos(a) + 0.25, r * np.sin(a)], axis=1)
    s = math.sqrt(2.0)
    x = p + np.stack([-np.abs(theta[:, 0] + theta[:, 1]) / s,
                      (-theta[:, 0] + theta[:, 1]) / s], axis=1)
    return theta, x


TASKS = {
    "gaussian_linear": dict(simulate=simulate_gaussian_linear, dim_theta=10, dim_x=10, box=None),
    "two_moons": dict(simulate=simulate_two_moons, dim_theta=2, dim_x=2,
                      box=(np.array([-1.0, -1.0]), np.array([1.0, 1.0]))),
}


# ----------------------------------------------------------------------------- data
def data_dir():
    d = os.environ.get("SEDPOST_DATA_DIR")
    if not d:
        d = os.path.join(REPO, "..", "shared", "data")
    return os.path.abspath(d)


def read_csv_float32(path):
    opener = bz2.open if path.endswith(".bz2") else open
    with opener(path, "rt") as f:
        return np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)


def task_files(task, k):
    d = os.path.join(data_dir(), "sbibm", task, "num_observation_%d" % k)
    obs = os.path.join(d, "observation.csv")
    ref = os.path.join(d, "reference_posterior_samples.csv.bz2")
    for p in (obs, ref):
        if not os.path.isfile(p):
            die("sbibm_check: missing %s (set SEDPOST_DATA_DIR; see docs/data.md, "
                     "sbibm/<task>/num_observation_<k>/ from GitHub sbi-benchmark/sbibm)" % p)
    return obs, ref


# ----------------------------------------------------------------------------- metrics
def c2st(reference, approx, seed=1, n_folds=5):
    """sbibm metrics/c2st.py: X = reference samples (label 0), Y = approximate samples (label 1)."""
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neural_network import MLPClassifier

    X = np.asarray(reference, dtype=np.float32)
    Y = np.asarray(approx, dtype=np.float32)
    mean = X.mean(axis=0)
    std = X.std(axis=0, ddof=1)
    X = (X - mean) / std
    Y = (Y - mean) / std
    ndim = X.shape[1]
    clf = MLPClassifier(activation="relu", hidden_layer_sizes=(10 * ndim, 10 * ndim),
                        max_iter=10000, solver="adam", random_state=seed)
    data = np.concatenate((X, Y))
    target = np.concatenate((np.zeros((X.shape[0],)), np.ones((Y.shape[0],))))
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    scores = cross_val_score(clf, data, target, cv=folds, scoring="accuracy")
    return float(np.mean(scores))


def _c2st_pair(pair):
    return c2st(*pair)


def _one_blas_thread():
    """Pool initializer: one BLAS/OpenMP thread per worker process."""
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass


def gaussian_linear_moments(x_obs, samples, log_q=None):
    """Sample mean and std against the analytic posterior N(x/2, 0.05 I), per dimension; with the
    flow's log q of the samples also KL(q || p) = E_q[log q - log p] (Monte Carlo, nats)."""
    post_sd = math.sqrt(0.05)
    s = np.asarray(samples, dtype=np.float64)
    extra = {}
    if log_q is not None:
        z = (s - np.asarray(x_obs, np.float64) / 2.0) / post_sd
        log_p = -0.5 * np.sum(z * z, axis=1) - s.shape[1] * (math.log(post_sd) + 0.5 * math.log(2 * math.pi))
        extra["kl_q_p"] = float(np.mean(np.asarray(log_q, np.float64) - log_p))
    mean_bias = (s.mean(axis=0) - np.asarray(x_obs, np.float64) / 2.0) / post_sd
    std_ratio = s.std(axis=0, ddof=1) / post_sd
    return dict(mean_bias_in_sd=float(np.mean(np.abs(mean_bias))),
                mean_bias_in_sd_max=float(np.max(np.abs(mean_bias))),
                std_rel_error=float(np.mean(np.abs(std_ratio - 1.0))),
                std_rel_error_max=float(np.max(np.abs(std_ratio - 1.0))),
                std_ratio_mean=float(np.mean(std_ratio)), **extra)


# ----------------------------------------------------------------------------- steps
def run(cmd, log_path):
    print("+ " + " ".join(cmd), flush=True)
    t0 = time.time()
    with open(log_path, "w") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT)
    wall = time.time() - t0
    if rc != 0:
        with open(log_path) as log:
            tail = log.read()[-3000:]
        print(tail, file=sys.stderr)
        print("sbibm_check: command exited %d (log %s)" % (rc, log_path), file=sys.stderr)
        sys.exit(2)
    return wall


def default_sedpost():
    build = os.environ.get("SEDPOST_BUILD_DIR", os.path.join(REPO, "build"))
    return os.path.join(build, "sedpost")


def mpi_env():
    """The settings scripts/env.sh makes, for callers that did not source it."""
    env = dict(os.environ)
    if os.getuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    env.setdefault("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=sorted(TASKS), default="gaussian_linear")
    ap.add_argument("--budget", type=int, default=10000, help="training simulations (default 10^4)")
    ap.add_argument("--ranks", type=int, default=2, help="MPI ranks for train and sample")
    ap.add_argument("--workdir", default=None, help="working folder (default /tmp/sbibm_<task>_<budget>)")
    ap.add_argument("--sedpost", default=None, help="sedpost binary (default $SEDPOST_BUILD_DIR/sedpost)")
    ap.add_argument("--mpiexec", default="mpirun")
    ap.add_argument("--flow", choices=["auto", "maf", "nsf"], default="auto",
                    help="sedpost train --flow (auto = nsf here; the published NPE figures are sbi's nsf)")
    ap.add_argument("--spline-bins", type=int, default=10, help="spline bins with nsf (sbi default 10)")
    ap.add_argument("--blocks", type=int, default=5, help="MADE blocks (sbi default 5)")
    ap.add_argument("--hidden", type=int, default=50, help="hidden units (sbi default 50)")
    ap.add_argument("--batch-size", type=int, default=200, help="sbi default 200")
    ap.add_argument("--lr", type=float, default=5e-4, help="sbi default 5e-4")
    ap.add_argument("--max-epochs", type=int, default=1000)
    ap.add_argument("--patience", type=int, default=20, help="sbi default 20")
    ap.add_argument("--lr-decays", type=int, default=-1,
                    help="restarts from the best weights at a lower lr at a plateau (-1: train's default; "
                         "0: stop at the first plateau, as sbi)")
    ap.add_argument("--lr-decay-factor", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--sim-seed", type=int, default=2021, help="seed of the training simulations")
    ap.add_argument("--seed", type=int, default=0, help="seed of `sedpost train`")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of `sedpost sample`")
    ap.add_argument("--n-samples", type=int, default=10000,
                    help="posterior samples per observation; C2ST uses as many reference samples "
                         "(the first ones); the benchmark uses 10000")
    ap.add_argument("--observations", default="1-10", help="observation numbers, e.g. 1-10 or 1,3")
    ap.add_argument("--no-c2st", action="store_true", help="skip the C2ST (needs no scikit-learn)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="observations scored in parallel processes (1 BLAS thread each when > 1)")
    ap.add_argument("--reuse", action="store_true",
                    help="skip simulate/train/sample and score the samples.h5 already in --workdir")
    ap.add_argument("--json", default=None, help="result file (default <workdir>/result.json)")
    ap.add_argument("--max-c2st", type=float, default=None, help="fail (exit 1) if the mean C2ST exceeds this")
    ap.add_argument("--max-mean-bias", type=float, default=None,
                    help="gaussian_linear: fail if the mean |posterior-mean error| / posterior sd exceeds this")
    ap.add_argument("--max-std-error", type=float, default=None,
                    help="gaussian_linear: fail if the mean |sample sd / posterior sd - 1| exceeds this")
    args = ap.parse_args()

    if "-" in args.observations:
        a, b = args.observations.split("-")
        obs_ids = list(range(int(a), int(b) + 1))
    else:
        obs_ids = [int(v) for v in args.observations.split(",")]
    task = TASKS[args.task]
    sedpost = os.path.abspath(args.sedpost or default_sedpost())
    if not os.access(sedpost, os.X_OK):
        die("sbibm_check: no sedpost binary at %s (use --sedpost)" % sedpost)
    if not args.no_c2st:
        try:
            import sklearn  # noqa: F401
        except ImportError:
            die("sbibm_check: C2ST needs scikit-learn (Debian: apt-get install -y python3-sklearn), "
                     "or pass --no-c2st")
    workdir = os.path.abspath(args.workdir or "/tmp/sbibm_%s_%d" % (args.task, args.budget))
    os.makedirs(workdir, exist_ok=True)
    json_path = os.path.abspath(args.json or os.path.join(workdir, "result.json"))
    env_cmd = mpi_env()
    os.environ.update(env_cmd)
    times = {}

    train_h5 = os.path.join(workdir, "train.h5")
    model = os.path.join(workdir, "model.pt")
    obs_h5 = os.path.join(workdir, "obs.h5")
    samples_h5 = os.path.join(workdir, "samples.h5")
    mpi = [args.mpiexec, "-n", str(args.ranks), sedpost]
    train_cmd = mpi + ["train", "--data", train_h5, "--out", model, "--flow", args.flow,
                       "--spline-bins", str(args.spline_bins),
                       "--blocks", str(args.blocks), "--hidden", str(args.hidden),
                       "--batch-size", str(args.batch_size), "--lr", repr(args.lr),
                       "--max-epochs", str(args.max_epochs), "--patience", str(args.patience),
                       "--lr-decays", str(args.lr_decays),
                       "--lr-decay-factor", repr(args.lr_decay_factor),
                       "--seed", str(args.seed), "--threads", str(args.threads)]
    sample_cmd = mpi + ["sample", "--model", model, "--x", obs_h5, "--n", str(args.n_samples),
                        "--out", samples_h5, "--seed", str(args.sample_seed),
                        "--threads", str(args.threads)]

    # 3. observations (read first: a missing data file stops before any work)
    xs, refs = [], []
    for k in obs_ids:
        obs_csv, ref_csv = task_files(args.task, k)
        xs.append(read_csv_float32(obs_csv)[0])
        refs.append(read_csv_float32(ref_csv))

    if args.reuse:
        if not os.path.isfile(samples_h5):
            die("sbibm_check: --reuse needs %s" % samples_h5)
        if os.path.isfile(json_path):
            old = json.load(open(json_path))
            times.update({k: v for k, v in old.get("times", {}).items() if k != "metrics_s"})
    else:
        # 1. training set
        t0 = time.time()
        rng = np.random.default_rng(args.sim_seed)
        theta, x = task["simulate"](args.budget, rng)
        theta32 = theta.astype(np.float32)
        if task["box"] is not None:
            # sedpost needs theta strictly inside the open box; float32 rounding can put a draw
            # within 3e-8 of a bound onto it (probability ~1e-8 per value): move it one ulp inside.
            lo32 = task["box"][0].astype(np.float32)
            hi32 = task["box"][1].astype(np.float32)
            theta32 = np.clip(theta32, np.nextafter(lo32, np.float32(np.inf)),
                              np.nextafter(hi32, np.float32(-np.inf)))
        with h5py.File(train_h5, "w") as f:
            f.create_dataset("theta", data=theta32)
            f.create_dataset("x", data=x.astype(np.float32))
            if task["box"] is not None:
                f.attrs["theta_lower"] = task["box"][0].astype(np.float64)
                f.attrs["theta_upper"] = task["box"][1].astype(np.float64)
        times["simulate_s"] = time.time() - t0

        # 2. train
        for stale in (model, model + ".ckpt"):
            if os.path.exists(stale):
                os.remove(stale)
        times["train_s"] = run(train_cmd, os.path.join(workdir, "train.log"))

        # 4. sample
        with h5py.File(obs_h5, "w") as f:
            f.create_dataset("x", data=np.stack(xs).astype(np.float32))
        times["sample_s"] = run(sample_cmd, os.path.join(workdir, "sample.log"))

    with h5py.File(samples_h5, "r") as f:
        samples = f["samples"][...]
        log_q = f["log_q"][...] if "log_q" in f else None
    expected = (len(obs_ids), args.n_samples, task["dim_theta"])
    if samples.shape != expected:
        die("sbibm_check: /samples has shape %s, expected %s" % (samples.shape, expected))
    if not np.all(np.isfinite(samples)):
        die("sbibm_check: non-finite posterior samples")
    if task["box"] is not None:
        lo, hi = task["box"]
        inside = np.all((samples >= lo) & (samples <= hi))
        if not inside:
            die("sbibm_check: samples outside the prior box")

    # 5. metrics
    t0 = time.time()
    c2sts = {}
    if not args.no_c2st:
        pairs = [(refs[i][:args.n_samples], samples[i]) for i in range(len(obs_ids))]
        if args.jobs > 1:
            import multiprocessing
            with multiprocessing.get_context("fork").Pool(args.jobs, initializer=_one_blas_thread) as pool:
                for i, v in enumerate(pool.imap(_c2st_pair, pairs)):
                    c2sts[i] = v
                    print("  observation %2d: c2st=%.4f (%.0f s)" % (obs_ids[i], v, time.time() - t0), flush=True)
        else:
            for i in range(len(obs_ids)):
                c2sts[i] = c2st(*pairs[i])
                print("  observation %2d: c2st=%.4f (%.0f s)" % (obs_ids[i], c2sts[i], time.time() - t0),
                      flush=True)
    rows = []
    for i, k in enumerate(obs_ids):
        row = {"observation": k}
        if i in c2sts:
            row["c2st"] = c2sts[i]
        if args.task == "gaussian_linear":
            row.update(gaussian_linear_moments(xs[i], samples[i],
                                               None if log_q is None else log_q[i]))
        rows.append(row)
    times["metrics_s"] = time.time() - t0

    def mean_of(key):
        vals = [r[key] for r in rows if key in r]
        return float(np.mean(vals)) if vals else None

    summary = {
        "c2st_mean": mean_of("c2st"),
        "c2st_max": max((r["c2st"] for r in rows), default=None) if not args.no_c2st else None,
    }
    if args.task == "gaussian_linear":
        summary["mean_bias_in_sd"] = mean_of("mean_bias_in_sd")
        summary["std_rel_error"] = mean_of("std_rel_error")
        summary["kl_q_p"] = mean_of("kl_q_p")
    with open(os.path.join(workdir, "train.log")) as f:
        train_log = f.read()
    epochs = None
    m = re.search(r"trained (\d+) epochs in [^;]*; best validation loss (\S+) at epoch (\d+)", train_log)
    if m:
        epochs = {"trained": int(m.group(1)), "best_val_loss": float(m.group(2)),
                  "best_epoch": int(m.group(3))}
    # --flow auto: "best validation losses maf -0.5, nsf -0.4; keeping maf"
    m = re.search(r"best validation losses (.*); keeping (\w+)", train_log)
    kept = m.group(2) if m else args.flow
    candidates = {k: float(v) for k, v in (c.split() for c in m.group(1).split(", "))} if m else None
    result = {
        "task": args.task, "budget": args.budget, "ranks": args.ranks,
        "flow": {"kind": args.flow, "kept": kept, "candidate_val_loss": candidates, "blocks": args.blocks, "hidden": args.hidden, "batch_size": args.batch_size,
                 "lr": args.lr, "max_epochs": args.max_epochs, "patience": args.patience,
                 "lr_decays": args.lr_decays, "lr_decay_factor": args.lr_decay_factor,
                 "seed": args.seed},
        "sim_seed": args.sim_seed, "sample_seed": args.sample_seed, "n_samples": args.n_samples,
        "commands": {"train": " ".join(train_cmd), "sample": " ".join(sample_cmd)},
        "published_npe_c2st": PUBLISHED_NPE[args.task].get(args.budget),
        "summary": summary, "observations": rows, "times": times,
        "train_log_tail": train_log[-1500:], "epochs": epochs,
    }
    with open(json_path, "w") as f:
        json.dump(result, f, indent=2)

    # table
    print()
    print("task %s, budget %d, %d ranks, flow %s (%s) %d blocks x %d hidden, batch %d" %
          (args.task, args.budget, args.ranks, args.flow, kept, args.blocks, args.hidden, args.batch_size))
    head = ["obs", "C2ST"] if not args.no_c2st else ["obs"]
    has_kl = args.task == "gaussian_linear" and summary.get("kl_q_p") is not None
    if args.task == "gaussian_linear":
        head += ["|mean err|/sd", "|sd ratio-1|"] + (["KL(q||p)"] if has_kl else [])
    print("  ".join("%14s" % h for h in head))
    for r in rows:
        cells = ["%14d" % r["observation"]]
        if "c2st" in r:
            cells.append("%14.4f" % r["c2st"])
        if args.task == "gaussian_linear":
            cells += ["%14.4f" % r["mean_bias_in_sd"], "%14.4f" % r["std_rel_error"]]
            if has_kl:
                cells.append("%14.4f" % r["kl_q_p"])
        print("  ".join(cells))
    cells = ["%14s" % "mean"]
    if summary["c2st_mean"] is not None:
        cells.append("%14.4f" % summary["c2st_mean"])
    if args.task == "gaussian_linear":
        cells += ["%14.4f" % summary["mean_bias_in_sd"], "%14.4f" % summary["std_rel_error"]]
        if has_kl:
            cells.append("%14.4f" % summary["kl_q_p"])
    print("  ".join(cells))
    pub = PUBLISHED_NPE[args.task].get(args.budget)
    if pub is not None:
        print("published sbi NPE mean C2ST at this budget: %.3f" % pub)
    print("wall times: " + ", ".join("%s %.1f" % (k, v) for k, v in times.items()))
    print("wrote " + json_path)

    # bounds
    failures = []
    if args.max_c2st is not None and summary["c2st_mean"] is not None and summary["c2st_mean"] > args.max_c2st:
        failures.append("mean C2ST %.4f > %.4f" % (summary["c2st_mean"], args.max_c2st))
    if args.max_c2st is not None and summary["c2st_mean"] is None:
        failures.append("--max-c2st given but the C2ST was skipped")
    if args.task == "gaussian_linear":
        if args.max_mean_bias is not None and summary["mean_bias_in_sd"] > args.max_mean_bias:
            failures.append("mean |mean error|/sd %.4f > %.4f" % (summary["mean_bias_in_sd"], args.max_mean_bias))
        if args.max_std_error is not None and summary["std_rel_error"] > args.max_std_error:
            failures.append("mean |sd ratio - 1| %.4f > %.4f" % (summary["std_rel_error"], args.max_std_error))
    for msg in failures:
        print("FAIL: " + msg)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
