"""How close is fastlr to the memory floor? One table, every contender side by side.

::

    python bench/roofline.py                 # ~1-2 min; allocates 800 MB for 100×1 000 000
    python bench/roofline.py --skip-big      # cat size only
    python bench/roofline.py --threads 1

One ``propagate`` is memory-bound at every size but the tiny one, so its floor is **one read
of X** with the same thread count: a trivial compiled parallel sum over X (a Numba
``prange`` kernel kept here, not in the package). Each contender is shown as a time and as a
ratio to that floor:

* NumPy's vectorized course code (``fastlr.backends.numpy_.propagate_vectorized``: two
  BLAS ``gemv``, X read twice);
* scikit-learn's ``LinearModelLoss(HalfBinomialLoss(), fit_intercept=True).loss_gradient``
  on the same data (it takes X as (m, n_x): ``X.T`` of our F-ordered X, C-contiguous, no
  copy), where scikit-learn is installed;
* ``fastlr.fastest()`` for that X and every available ``fused`` variant.

Problems: the cat size (12288×209, F-ordered) in float64 and float32, and 100×1 000 000
(F-ordered, float64). Kernels are timed directly (the argument checks of the public call are
measured once and stated below the table). Then training: 2000 iterations at the cat size
(``fastlr.optimize`` with the fastest implementation vs the NumPy course code: a Python loop
over NumPy's propagate), and 2000 iterations of the course's tiny 2×3 problem.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import prange

import fastlr
from fastlr import bench, threads
from fastlr.backends import numpy_
from fastlr.datasets import make_problem

# --------------------------------------------------------------------------- the floor


def _jit(**options):
    def decorate(function):
        try:
            return numba.njit(cache=True, **options)(function)
        except (RuntimeError, OSError):  # no writable cache directory
            return numba.njit(**options)(function)
    return decorate


@_jit(fastmath=True)
def _sum_serial(flat):
    total = flat[0] * 0  # the accumulator has X's dtype: the loop is just loads and adds
    for i in range(flat.size):
        total += flat[i]
    return total


@_jit(parallel=True, fastmath=True)
def _sum_parallel(flat, n_chunks):
    partial = np.zeros(n_chunks)
    n = flat.size
    for c in prange(n_chunks):
        chunk = flat[c * n // n_chunks:(c + 1) * n // n_chunks]  # slice first: it vectorizes
        total = chunk[0] * 0
        for i in range(chunk.size):
            total += chunk[i]
        partial[c] = total
    return partial.sum()


def read_once(X: np.ndarray, n_threads: int) -> float:
    """Sum of every element of X, read once in memory order by ``n_threads`` threads."""
    flat = X.ravel(order="K")  # contiguous X: a view in its own memory order, no copy
    if n_threads == 1:
        return float(_sum_serial(flat))
    return float(_sum_parallel(flat, n_threads))


# --------------------------------------------------------------------------- contenders


def sklearn_loss_gradient(X, Y, n_threads):
    """A callable timing scikit-learn's loss and gradient on our data, or the reason it can't."""
    try:
        from sklearn._loss.loss import HalfBinomialLoss
        from sklearn.linear_model._linear_loss import LinearModelLoss
    except ImportError as error:
        return None, f"scikit-learn not installed ({error})"
    loss = LinearModelLoss(HalfBinomialLoss(), fit_intercept=True)
    XT = X.T  # (m, n_x); C-contiguous when X is F-ordered: no copy
    y = np.ascontiguousarray(Y[0], dtype=X.dtype)
    coef = np.full(X.shape[0] + 1, 0.01 / math.sqrt(X.shape[0]), dtype=X.dtype)

    def run():
        return loss.loss_gradient(coef, XT, y, n_threads=n_threads)

    try:
        run()
    except Exception as error:  # a private API: say why rather than stop the table
        return None, f"scikit-learn failed: {error!r}"
    return run, None


def kernel_call(implementation, w, b, X, Y):
    """The kernel with the arguments the public layer would give it (checks done once)."""
    w_vector = np.array(w[:, 0], dtype=np.float64)
    y_vector = np.array(Y[0], dtype=np.float64)
    kernel = implementation.kernel
    return lambda: kernel(w_vector, b, X, y_vector)


def timed(function, repeats, min_sample=1e-3):
    """``(median, min)`` seconds per call, after a warm-up call (see fastlr.bench.time_fast)."""
    threads.settle()  # the previous contender's idle threads must not spin on our cores
    times, _, _ = bench.time_fast(lambda: function(), (), repeats=repeats, min_sample=min_sample,
                                  max_seconds=10.0)
    return statistics.median(times), min(times)


# --------------------------------------------------------------------------- main


PROBLEMS = [
    ("cat float64", (12288, 209), "float64"),
    ("cat float32", (12288, 209), "float32"),
    ("100×1e6 float64", (100, 1_000_000), "float64"),
]


def measure_problem(n_x, m, dtype, n_threads, repeats, say):
    """{row name: (median, min) or reason} for one problem."""
    w, b, X, Y = bench.make_inputs(n_x, m, dtype, "F", seed=0)
    rows = {}
    say(f"{n_x}×{m} {dtype}: one read of X ({X.nbytes / 1e6:.0f} MB)")
    rows["floor: one read of X"] = timed(lambda: read_once(X, n_threads), repeats)
    say(f"{n_x}×{m} {dtype}: NumPy course code")
    w_vector, y_vector = np.array(w[:, 0]), np.array(Y[0], dtype=np.float64)
    rows["NumPy vectorized (course code)"] = timed(
        lambda: numpy_.propagate_vectorized(w_vector, b, X, y_vector), repeats)
    say(f"{n_x}×{m} {dtype}: fastlr.fastest() (measures once per problem class)")
    fastest = fastlr.fastest(X)
    rows[f"fastlr.fastest() = {fastest.backend} {fastest.variant}"] = timed(
        kernel_call(fastest, w, b, X, Y), repeats)
    for backend, variant in fastlr.registry.PAIRS:
        if variant != "fused":
            continue
        try:
            implementation = fastlr.get(backend, variant)
        except fastlr.BackendUnavailable as error:
            rows[f"{backend} fused"] = f"unavailable: {str(error).split(';')[0]}"
            continue
        say(f"{n_x}×{m} {dtype}: {backend} fused")
        rows[f"{backend} fused"] = timed(kernel_call(implementation, w, b, X, Y), repeats)
    overhead = None
    if (n_x, m, dtype) == (12288, 209, "float64"):
        public = timed(lambda: fastest.propagate(w, b, X, Y), repeats)[1]
        overhead = public - rows[f"fastlr.fastest() = {fastest.backend} {fastest.variant}"][1]
    # last: scikit-learn's OpenMP threads may spin after its calls and slow the next contender
    say(f"{n_x}×{m} {dtype}: scikit-learn")
    run, reason = sklearn_loss_gradient(X, Y, n_threads)
    rows["scikit-learn LinearModelLoss"] = timed(run, repeats) if run else reason
    threads.settle()  # scikit-learn's OpenMP pool (its own libgomp) goes idle
    return rows, overhead


def training(data_dir, iterations, say):
    """2000-iteration training at the cat size and on the tiny problem: fastest vs NumPy."""
    lines = []
    source = "synthetic 12288×209 (fastlr.datasets.make_problem)"
    X = Y = None
    if data_dir:
        try:
            from fastlr.datasets import load_catvnoncat

            X, Y, _, _, _ = load_catvnoncat(data_dir)
            source = f"the course's cat data ({data_dir})"
        except (ImportError, OSError) as error:
            say(f"course data not used ({error}); synthetic data instead")
    if X is None:
        X, Y = make_problem(12288, 209, seed=0)
    w0, b0 = fastlr.initialize_with_zeros(X.shape[0])
    fastest = fastlr.fastest(X)
    results = {}
    for label, implementation in ((f"fastlr.optimize, fastest = {fastest.backend} "
                                   f"{fastest.variant}", fastest),
                                  ("NumPy course code (Python loop over NumPy propagate)",
                                   fastlr.get("numpy", "vectorized"))):
        say(f"training {iterations} iterations: {label}")
        implementation.optimize(w0, b0, X, Y, 1, 0.005)  # warm-up (compiles)
        start = time.perf_counter()
        _, _, costs = implementation.optimize(w0, b0, X, Y, iterations, 0.005)
        results[label] = (time.perf_counter() - start, costs[-1])
    last = 100 * (len(costs) - 1)
    lines.append(f"training, {iterations} iterations, learning rate 0.005, on {source} "
                 "(one run each):")
    base = results["NumPy course code (Python loop over NumPy propagate)"][0]
    for label, (seconds, cost) in results.items():
        lines.append(f"  {label:<58} {bench.format_time(seconds):>9}  "
                     f"{bench.format_ratio(base / seconds):>6} vs NumPy   cost at iteration "
                     f"{last}: {cost:.6f}")
    w, b, Xt, Yt = bench.make_inputs(2, 3)
    tiny = {}
    for label, implementation in ((f"fastlr.optimize, fastest = {fastest.backend} "
                                   f"{fastest.variant}", fastest),
                                  ("NumPy course code (Python loop over NumPy propagate)",
                                   fastlr.get("numpy", "vectorized"))):
        say(f"tiny 2×3, {iterations} iterations: {label}")
        tiny[label] = timed(lambda: implementation.optimize(w, b, Xt, Yt, iterations, 0.009), 5,
                            min_sample=0.05)[0]
    lines.append(f"the course's tiny 2×3 problem, {iterations} iterations (median of 5):")
    base = tiny["NumPy course code (Python loop over NumPy propagate)"]
    for label, seconds in tiny.items():
        lines.append(f"  {label:<58} {bench.format_time(seconds):>9}  "
                     f"{bench.format_ratio(base / seconds):>6} vs NumPy")
    return lines


def format_table(columns, results):
    """Rows: contenders; columns: problems; cells "time (ratio × floor)"."""
    row_names = []
    for name in columns:
        for row in results[name][0]:
            key = row.split(" = ")[0] if row.startswith("fastlr.fastest()") else row
            if key not in [r.split(" = ")[0] for r in row_names]:
                row_names.append(row)
    # the reading order: floor, NumPy, scikit-learn, then fastlr
    rank = ("floor", "NumPy", "scikit-learn", "fastlr.fastest()")
    row_names.sort(key=lambda row: next((k for k, p in enumerate(rank) if row.startswith(p)),
                                        len(rank)))

    def cell(rows, row):
        key = row.split(" = ")[0]
        match = next((r for r in rows if r.split(" = ")[0] == key), None)
        if match is None:
            return "—"
        value = rows[match]
        if isinstance(value, str):
            return "n/a"
        floor = rows["floor: one read of X"][0]
        text = bench.format_time(value[0])
        if row.startswith("floor"):
            return text + " (1.0×)"
        ratio = value[0] / floor
        return f"{text} ({ratio:.1f}×)" if ratio < 10 else f"{text} ({ratio:.0f}×)"

    # the fastest() row names its pick per problem
    names = []
    for row in row_names:
        if row.startswith("fastlr.fastest()"):
            picks = []
            for name in columns:
                pick = next((r.split(" = ")[1] for r in results[name][0]
                             if r.startswith("fastlr.fastest()")), "?")
                if pick not in picks:
                    picks.append(pick)
            names.append(f"fastlr.fastest() ({' / '.join(picks)})")
        else:
            names.append(row)
    table = [[""] + list(columns)]
    for name, row in zip(names, row_names):
        table.append([name] + [cell(results[c][0], row) for c in columns])
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for k, r in enumerate(table):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    reasons = {}
    for name in columns:
        for row, value in results[name][0].items():
            if isinstance(value, str):
                reasons[row] = value
    lines += [f"  n/a {row}: {reason}" for row, reason in reasons.items()]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every contender (default: every core)")
    parser.add_argument("--repeats", type=int, default=15, help="samples per contender")
    parser.add_argument("--skip-big", action="store_true",
                        help="skip 100×1 000 000 (800 MB of memory)")
    parser.add_argument("--iterations", type=int, default=2000,
                        help="training iterations (default 2000, the course's)")
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--data", default=os.environ.get("FASTLR_COURSE_DATA") or
                        (str(default_data) if default_data.is_dir() else None),
                        help="folder of the course's .h5 files for the training run "
                             "(default: synthetic data when not found)")
    args = parser.parse_args(argv)

    if args.threads:
        threads.set_num_threads(args.threads)
    n_threads = threads.get_num_threads()
    # load the backends before any contender runs: fastlr configures OpenMP as it loads
    # them (libgomp reads that once), and their BLAS must be loaded to be limited
    fastlr.implementations()
    limits = threads.limit_blas(n_threads)
    if limits is None:
        print("threadpoolctl not installed: BLAS threads not set to match "
              f'({bench.BENCH_EXTRA_HINT})', file=sys.stderr)
    problems = [p for p in PROBLEMS if not (args.skip_big and p[1][1] >= 1_000_000)]
    n_fused = sum(variant == "fused" for _, variant in fastlr.registry.PAIRS)
    progress = bench.Progress(len(problems) * (4 + n_fused) + 4)
    start = time.perf_counter()

    def say(text):
        progress.update(progress.done + (1 if progress.label else 0), text)

    results = {}
    for name, (n_x, m), dtype in problems:
        results[name] = measure_problem(n_x, m, dtype, n_threads, args.repeats, say)
    training_lines = training(args.data, args.iterations, say)
    progress.close()
    if limits is not None:
        limits.restore_original_limits()

    out = bench.format_machine(bench.machine_info())
    out += [f"  threads  {n_threads} for every contender: the floor's prange kernel, fastlr's "
            "kernels, BLAS (threadpoolctl limit), scikit-learn's n_threads"]
    out += ["", "propagate (one forward + backward pass), X F-ordered — median time, "
                "and × the floor (one read of X, same threads):", ""]
    out += format_table([name for name, _, _ in problems], results)
    overhead = results.get("cat float64", (None, None))[1]
    if overhead is not None:
        out += ["", "Kernels are timed directly; the public call (argument checks, shaping) "
                    + (f"adds {bench.format_time(overhead)} at the cat size (min vs min)."
                       if overhead > 0 else "adds less than the timing noise at the cat size.")]
    out += [""] + training_lines
    out += ["", f"(total {time.perf_counter() - start:.0f} s)"]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
