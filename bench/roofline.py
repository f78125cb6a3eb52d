"""How close is fastlr to the memory floor? One table, every contender side by side.

::

    python bench/roofline.py                 # ~2-3 min; allocates 800 MB for 100×1 000 000
    python bench/roofline.py --skip-big      # cat size only
    python bench/roofline.py --threads 1
    python bench/roofline.py --condition steady   # without the interleaved columns

One ``propagate`` is memory-bound at every size but the tiny one, so its floor is **one read
of X** with the same thread count: a compiled parallel sum over X (the Cython backend's
``read_floor``, SIMD with several partial sums, so that it runs at the speed of the read).
Each contender is shown as a time and as a ratio to that floor:

* NumPy's vectorized course code (``fastlr.backends.numpy_.propagate_vectorized``: two
  BLAS ``gemv``, X read twice);
* scikit-learn's ``LinearModelLoss(HalfBinomialLoss(), fit_intercept=True).loss_gradient``
  on the same data (it takes X as (m, n_x): ``X.T`` of our F-ordered X, C-contiguous, no
  copy), where scikit-learn is installed;
* ``fastlr.fastest()`` for that X and every available ``fused`` variant.

Beside the floor stands one BLAS ``Xᵀv`` (NumPy, the same threads): the fastest single read
of X NumPy offers, and on some CPUs faster than the compiled sum. Below each table, every
``fused`` variant and ``fastest()`` as a multiple of the faster of the two.

Problems: the cat size (12288×209, F-ordered) in float64 and float32, and 100×1 000 000
(F-ordered, float64). Two conditions, a table each: *steady* (calls back to back) and
*interleaved* (each call right after a NumPy 2000×2000 matrix-vector product, whose time
is not counted: :class:`fastlr.bench.Interleave`); the floor is measured steady only, and
the interleaved times are × that floor. Kernels are timed directly (the argument checks of
the public call are measured once and stated below the table). Then training: 2000
iterations at the cat size (``fastlr.optimize`` with the fastest implementation vs the NumPy
course code: a Python loop over NumPy's propagate), and 2000 iterations of the course's tiny
2×3 problem.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import fastlr
from fastlr import bench, registry, threads
from fastlr.backends import numpy_
from fastlr.datasets import make_problem

# --------------------------------------------------------------------------- the floor


def floor_kernel():
    """``read_floor(X, n_threads)``: one read of X (the Cython backend's parallel sum), or
    the reason it is unavailable."""
    try:
        return registry.load("cython").read_floor, None
    except registry.BackendUnavailable as error:
        return None, str(error)


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
    run = functools.partial(loss.loss_gradient, coef, XT, y, n_threads=n_threads)
    try:
        run()
    except Exception as error:  # a private API: say why rather than stop the table
        return None, f"scikit-learn failed: {error!r}"
    return run, None


def kernel_call(implementation, w, b, X, Y):
    """The kernel with the arguments the public layer would give it (checks done once)."""
    w_vector = np.array(w[:, 0], dtype=np.float64)
    y_vector = np.array(Y[0], dtype=np.float64)
    return functools.partial(implementation.kernel, w_vector, b, X, y_vector)


def timed(function, repeats, min_sample=1e-3, interleave=None):
    """``(median, min)`` seconds per call, after a warm-up call (see fastlr.bench.time_fast);
    ``interleave``: each call right after it, not timed (fastlr.bench.time_interleaved)."""
    threads.settle()  # the previous contender's idle threads must not spin on our cores
    if interleave is None:
        times, _, _ = bench.time_fast(function, (), repeats=repeats, min_sample=min_sample,
                                      max_seconds=10.0)
    else:
        times, _, _ = bench.time_interleaved(function, (), interleave, repeats=repeats,
                                             min_sample=min_sample, max_seconds=10.0)
    return statistics.median(times), min(times)


# --------------------------------------------------------------------------- one problem


@dataclass
class Row:
    """One contender on one problem: its ``(median, min)`` seconds, or why it has none."""

    key: str  # matches the rows of different problems: "floor", "numpy", "numba fused", ...
    label: str  # how the table names it
    timing: tuple[float, float] | None = None
    reason: str | None = None
    pick: str | None = None  # what the row chose: fastest()'s pair


#: the reading order of the table: the floors, NumPy, scikit-learn, fastest(), then the rest
ROW_ORDER = ("floor", "blas", "numpy", "sklearn", "fastest")

#: problems of the table: (column name, (n_x, m), dtype)
PROBLEMS = [
    ("cat float64", (12288, 209), "float64"),
    ("cat float32", (12288, 209), "float32"),
    ("100×1e6 float64", (100, 1_000_000), "float64"),
]


def measure_problem(n_x, m, dtype, n_threads, repeats, read_floor, say,
                    conditions=("steady",), interleave=None):
    """``({condition: {row key: Row}}, public-call overhead or None)`` for one problem, in
    each of ``conditions`` ("interleaved": each call after ``interleave()``). The floor is
    measured steady, in the steady rows, even when "steady" is not among ``conditions``."""
    w, b, X, Y = bench.make_inputs(n_x, m, dtype, "F", seed=0)
    say(f"{n_x}×{m} {dtype}: one read of X ({X.nbytes / 1e6:.0f} MB)")
    floor = Row("floor", "floor: one read of X",
                timed(functools.partial(read_floor, X, n_threads), repeats))
    # the fastest single read of X NumPy offers: one BLAS matrix-vector product
    v = np.ones(n_x, dtype=X.dtype)
    blas = Row("blas", "one BLAS Xᵀv (NumPy)", timed(functools.partial(np.dot, X.T, v), repeats))
    results, overhead = {"steady": {"floor": floor, "blas": blas}}, None
    for condition in conditions:
        rows, public = _measure_contenders(w, b, X, Y, n_threads, repeats, say,
                                           interleave if condition == "interleaved" else None)
        results.setdefault(condition, {}).update(rows)
        overhead = public if public is not None else overhead
    return results, overhead


def _measure_contenders(w, b, X, Y, n_threads, repeats, say, interleave):
    """``({row key: Row}, public-call overhead or None)`` of every contender but the floor,
    in one condition (the overhead steady only)."""
    (n_x, m), dtype = X.shape, X.dtype.name
    rows = {}
    where = f"{n_x}×{m} {dtype}" + (", interleaved" if interleave is not None else "")
    timed_here = functools.partial(timed, repeats=repeats, interleave=interleave)

    def add(row):
        rows[row.key] = row

    say(f"{where}: NumPy course code")
    w_vector, y_vector = np.array(w[:, 0]), np.array(Y[0], dtype=np.float64)
    add(Row("numpy", "NumPy vectorized (course code)", timed_here(
        functools.partial(numpy_.propagate_vectorized, w_vector, b, X, y_vector))))
    say(f"{where}: fastlr.fastest()")
    fastest = fastlr.fastest(X)
    add(Row("fastest", "fastlr.fastest()", timed_here(kernel_call(fastest, w, b, X, Y)),
            pick=f"{fastest.backend} {fastest.variant}"))
    for backend, variant in registry.PAIRS:
        if variant != "fused":
            continue
        key = f"{backend} {variant}"
        try:
            implementation = fastlr.get(backend, variant)
        except fastlr.BackendUnavailable as error:
            add(Row(key, key, reason=f"unavailable: {str(error).split(';')[0]}"))
            continue
        say(f"{where}: {key}")
        add(Row(key, key, timed_here(kernel_call(implementation, w, b, X, Y))))
    overhead = None
    if (n_x, m, dtype) == (12288, 209, "float64") and interleave is None:
        public = timed(functools.partial(fastest.propagate, w, b, X, Y), repeats)[1]
        overhead = public - rows["fastest"].timing[1]
    # last: scikit-learn's OpenMP threads may spin after its calls and slow the next contender
    say(f"{where}: scikit-learn")
    run, reason = sklearn_loss_gradient(X, Y, n_threads)
    add(Row("sklearn", "scikit-learn LinearModelLoss", timed_here(run) if run else None,
            reason=reason))
    threads.settle()  # scikit-learn's OpenMP pool (its own libgomp) goes idle
    return rows, overhead


# --------------------------------------------------------------------------- training


NUMPY_TRAINING = "NumPy course code (Python loop over NumPy propagate)"


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
    contenders = {f"fastlr.optimize, fastest = {fastest.backend} {fastest.variant}": fastest,
                  NUMPY_TRAINING: fastlr.get("numpy", "vectorized")}
    results = {}
    for label, implementation in contenders.items():
        say(f"training {iterations} iterations: {label}")
        implementation.optimize(w0, b0, X, Y, 1, 0.005)  # warm-up (compiles)
        start = time.perf_counter()
        _, _, costs = implementation.optimize(w0, b0, X, Y, iterations, 0.005)
        results[label] = (time.perf_counter() - start, costs[-1], 100 * (len(costs) - 1))
    lines.append(f"training, {iterations} iterations, learning rate 0.005, on {source} "
                 "(one run each):")
    base = results[NUMPY_TRAINING][0]
    for label, (seconds, cost, last) in results.items():
        lines.append(f"  {label:<58} {bench.format_time(seconds):>9}  "
                     f"{bench.format_ratio(base / seconds):>6} vs NumPy   cost at iteration "
                     f"{last}: {cost:.6f}")
    w, b, Xt, Yt = bench.make_inputs(2, 3)
    tiny = {}
    for label, implementation in contenders.items():
        say(f"tiny 2×3, {iterations} iterations: {label}")
        run = functools.partial(implementation.optimize, w, b, Xt, Yt, iterations, 0.009)
        tiny[label] = timed(run, 5, min_sample=0.05)[0]
    lines.append(f"the course's tiny 2×3 problem, {iterations} iterations (median of 5):")
    base = tiny[NUMPY_TRAINING]
    for label, seconds in tiny.items():
        lines.append(f"  {label:<58} {bench.format_time(seconds):>9}  "
                     f"{bench.format_ratio(base / seconds):>6} vs NumPy")
    return lines


# --------------------------------------------------------------------------- the table


def _cell(row: Row | None, floor: Row) -> str:
    """``"time (ratio×)"`` of the floor; ``—`` not measured there, ``n/a`` unavailable."""
    if row is None:
        return "—"
    if row.timing is None:
        return "n/a"
    text = bench.format_time(row.timing[0])
    if row is floor:
        return text + " (1.0×)"
    ratio = row.timing[0] / floor.timing[0]
    return f"{text} ({ratio:.1f}×)" if ratio < 10 else f"{text} ({ratio:.0f}×)"


def format_table(results: dict[str, dict[str, Row]]) -> list[str]:
    """Rows: contenders; columns: problems (``results``: column name -> rows by key)."""
    keys = list(dict.fromkeys(key for rows in results.values() for key in rows))
    keys.sort(key=lambda key: ROW_ORDER.index(key) if key in ROW_ORDER else len(ROW_ORDER))
    table = [[""] + list(results)]
    for key in keys:
        rows = [column[key] for column in results.values() if key in column]
        label = rows[0].label
        picks = list(dict.fromkeys(row.pick for row in rows if row.pick))
        if key == "fastest" and picks:  # the row names its pick per problem
            label += f" ({' / '.join(picks)})"
        table.append([label] + [_cell(column.get(key), column["floor"])
                                for column in results.values()])
    lines = bench.format_columns(table)
    for key in keys:  # the one-pass kernels against the fastest single read of X
        if key == "fastest" or key.endswith(" fused"):
            ratios = []
            for name, column in results.items():
                reads = [column[k].timing[0] for k in ("floor", "blas")
                         if k in column and column[k].timing]
                if key in column and column[key].timing and reads:
                    ratios.append(f"{name} {column[key].timing[0] / min(reads):.2f}×")
            if ratios:
                lines.append(f"  {key} ÷ the faster single read of X: {', '.join(ratios)}")
    reasons = {row.label: row.reason for rows in results.values() for row in rows.values()
               if row.reason}
    lines += [f"  n/a {label}: {reason}" for label, reason in reasons.items()]
    return lines


# --------------------------------------------------------------------------- main


def _conditions(text):
    conditions = [part.strip() for part in text.split(",") if part.strip()]
    if not conditions or any(c not in bench.CONDITIONS for c in conditions):
        raise argparse.ArgumentTypeError(
            f"condition must be steady, interleaved or both (comma-separated); got {text!r}")
    return [c for c in bench.CONDITIONS if c in conditions]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every contender (default: every core)")
    parser.add_argument("--repeats", type=int, default=15, help="samples per contender")
    parser.add_argument("--condition", type=_conditions, default=list(bench.CONDITIONS),
                        help="steady, interleaved (each call right after a NumPy "
                             "matrix-vector product, not timed) or steady,interleaved "
                             "(default)")
    parser.add_argument("--interleave-size", type=int, default=bench.INTERLEAVE_SIZE,
                        metavar="N", help="the interleaved condition's N×N matrix "
                                          "(default 2000)")
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
    read_floor, reason = floor_kernel()
    if read_floor is None:
        print(f"bench/roofline.py: no kernel to read X once with: {reason}", file=sys.stderr)
        return 1
    limits = threads.limit_blas(n_threads)
    if limits is None:
        print("threadpoolctl not installed: BLAS threads not set to match "
              f'({bench.BENCH_EXTRA_HINT})', file=sys.stderr)
    problems = [p for p in PROBLEMS if not (args.skip_big and p[1][1] >= 1_000_000)]
    n_fused = sum(variant == "fused" for _, variant in registry.PAIRS)
    interleave = bench.Interleave(args.interleave_size) \
        if "interleaved" in args.condition else None
    progress = bench.Progress(len(problems) * (4 + n_fused) * len(args.condition) + 4)
    start = time.perf_counter()

    def say(text):
        progress.update(progress.done + (1 if progress.label else 0), text)

    tables = {condition: {} for condition in args.condition}  # condition -> column -> rows
    overheads = {}
    for name, (n_x, m), dtype in problems:
        by_condition, overheads[name] = measure_problem(n_x, m, dtype, n_threads,
                                                        args.repeats, read_floor, say,
                                                        args.condition, interleave)
        steady = by_condition["steady"]
        for condition in args.condition:
            rows = by_condition[condition]
            if condition != "steady":  # the steady floors, the reference of every ratio
                rows = {key: dataclasses.replace(steady[key], label=steady[key].label
                                                 + " (steady)")
                        for key in ("floor", "blas")} | rows
            tables[condition][name] = rows
    training_lines = training(args.data, args.iterations, say)
    progress.close()
    if limits is not None:
        limits.restore_original_limits()

    out = bench.format_machine(bench.machine_info())
    out += [f"  threads  {n_threads} for every contender: the floor's kernel, fastlr's "
            "kernels, BLAS (threadpoolctl limit), scikit-learn's n_threads"]
    if "steady" in tables:
        out += ["", "propagate (one forward + backward pass), X F-ordered — median time, "
                    "and × the floor (one read of X, same threads):", ""]
        out += format_table(tables["steady"])
    if "interleaved" in tables:
        out += ["", bench.wrap(
            f"interleaved: propagate, each call right after {interleave.describe()} (its "
            "time not counted: what a program that calls NumPy between fastlr's calls "
            "sees) — median time, and × the steady floor:", hyphens=False), ""]
        out += format_table(tables["interleaved"])
    overhead = overheads.get("cat float64")
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
