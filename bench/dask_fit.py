"""fastlr.LogisticRegression on a dask cluster against the same fit on NumPy and dask-ml.

::

    pip install ".[dask]" dask-ml
    python bench/dask_fit.py                  # ~1-2 min: 1 000 000 × 100 (800 MB)
    python bench/dask_fit.py --rows 4000000   # larger, generated on the workers

A ``distributed.LocalCluster`` of 2 worker processes × 1 thread (``--workers``,
``--threads-per-worker``); X (rows × 100, float64, 10 row chunks) and its labels (a
logistic model) are generated on the workers and persisted there. Side by side, one run:
fastlr on the dask array (the cluster), fastlr on the same data as one NumPy array in this
process (its default threads), dask-ml's ``LogisticRegression(solver="lbfgs")`` on the dask
array. ``C=1``, tol 1e-6; each fit's objective ``C Σ L + ½‖w‖²`` is computed here by NumPy.
Per evaluation of the dask fit: the wall time the client waits, the kernels' time on the
workers (summed over their tasks, divided by the workers), and the rest — scheduling,
transfers, the reduction.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def make_data(rows, features, chunks, seed=0):
    """X and 0/1 labels from a logistic model, built chunk by chunk on the workers."""
    import dask.array as da

    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, features), chunks=(rows // chunks, features))
    w_true = np.random.default_rng(seed + 1).standard_normal(features) / np.sqrt(features)
    z = X @ w_true
    y = (rng.random(rows, chunks=(rows // chunks,)) < 1.0 / (1.0 + da.exp(-z))).astype(int)
    return X, y


def timed(fit, repeats):
    times, model = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        model = fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times), model


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dask-ml", action="store_true")
    args = parser.parse_args(argv)

    import dask
    from distributed import Client, LocalCluster, wait

    import fastlr
    from fastlr.bench.fit import objective
    from fastlr.bench.formatting import format_ratio, format_time
    from fastlr.bench.machine import machine_info

    info = machine_info()
    print(f"CPU {info['cpu']}, {info['cores']} cores; LocalCluster of {args.workers} worker "
          f"processes × {args.threads_per_worker} thread(s); X {args.rows} × "
          f"{args.features} float64 in {args.chunks} row chunks, persisted on the workers")
    rows = []
    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads_per_worker,
                      processes=True, dashboard_address=":0") as cluster, Client(cluster):
        X, y = dask.persist(*make_data(args.rows, args.features, args.chunks))
        wait([X, y])
        model = fastlr.LogisticRegression(tol=1e-6)
        model.fit(X[:1000], y[:1000])  # the workers import fastlr and load the kernels
        seconds, fitted = timed(lambda: model.fit(X, y), args.repeats)
        stats = fitted.fit_stats_
        passes = stats["evaluations"] + stats["products"]
        kernel = stats["kernel_seconds"] / stats["workers"]
        rows.append(("fastlr, dask cluster", seconds, fitted, passes, stats))
        print(f"fastlr on dask: {format_time(seconds)}, {passes} passes; per pass "
              f"{format_time(stats['wall_seconds'] / passes)} waited, "
              f"{format_time(kernel / passes)} in the kernels per worker, "
              f"{format_time((stats['wall_seconds'] - kernel) / passes)} the rest "
              f"(scheduling, transfers, reduction); outside the evaluations "
              f"{format_time(stats['seconds'] - stats['wall_seconds'])}", flush=True)
        X_local, y_local = dask.compute(X, y)  # for the comparisons only
        if not args.skip_dask_ml:
            try:
                from dask_ml.linear_model import LogisticRegression as DaskML
            except ImportError:
                print("dask-ml: not installed (pip install dask-ml)")
            else:
                start = time.perf_counter()
                theirs = DaskML(solver="lbfgs", C=1.0, tol=1e-6, max_iter=1000).fit(X, y)
                rows.append(("dask-ml lbfgs, dask cluster", time.perf_counter() - start,
                             theirs, None, None))
                print(f"dask-ml lbfgs: {format_time(rows[-1][1])}", flush=True)
    local = fastlr.LogisticRegression(tol=1e-6)
    seconds, fitted = timed(lambda: local.fit(X_local, y_local), args.repeats)
    rows.insert(1, ("fastlr, NumPy in one process", seconds, fitted, None, None))
    objectives = [objective(m.coef_, m.intercept_, X_local, y_local) for _, _, m, _, _ in rows]
    best = min(objectives)
    base = rows[0][1]
    print("\n| fit | time | × fastlr on dask | objective | gap to the best |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for (name, seconds, _, _, _), value in zip(rows, objectives):
        print(f"| {name} | {format_time(seconds)} | {format_ratio(seconds / base)} | "
              f"{value:.10f} | {(value - best) / abs(best):+.2e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
