"""A runnable walkthrough of the lecture: two loops, one loop, no loop; then the course's
cat classifier trained with every implementation fastlr has here.

::

    python -m fastlr.tutorial                     # synthetic cat-size data
    python -m fastlr.tutorial path/to/data        # the course's train/test_catvnoncat.h5
    python -m fastlr.tutorial --size 500x200      # a quick look
    python -m fastlr.tutorial --plot-costs costs.png   # also the course's learning curves
    python -m fastlr.tutorial --help

Part 1 — the beginner's path, NumPy only, in the lecture's order and notation (``w`` of
shape (n_x, 1), ``X`` (n_x, m), ``Y`` (1, m)): one ``propagate`` (forward and backward
pass) three ways,

1. **two loops** — for each example ``i``, a loop over the features
   (``z += w[j] X[j, i]``, ``dw[j] += X[j, i] dz``): the lecture's for-loop;
2. **one loop** — the loop over features replaced by a dot product (``z = wᵀx(i) + b``,
   ``dw += x(i) dz``), the loop over examples kept;
3. **no loop** — whole arrays (``Z = wᵀX + b``, ``A = σ(Z)``, ``dZ = A − Y``,
   ``dw = X dZᵀ / m``, ``db = ΣdZ / m``).

Each is timed as the best of repeated calls (as many as fit in ``--slow-seconds``, at least
two; at most 50), with one ratio: × faster than the lecture's loop. BLAS runs on one thread
meanwhile (threadpoolctl): the point is the interpreter, and on a shared machine a BLAS
thread that loses its core to other work can slow a step down many times (on a 2-core AMD
EPYC, Zen 3, with other work running, the one-loop step took 1.6 s instead of a few ms in 2
runs of 3 with BLAS on two threads, never with one). When other processes used the cores
while it measured, the tutorial says so. ``--plot-costs PNG`` draws the course's learning
curves: 1500 iterations from zeros at learning rates 0.01, 0.001 and 0.0001, the cost every
100 iterations. Part 2 ("going further") trains the course's model (zeros, gradient
descent, learning rate 0.005) with every implementation — pure Python, NumPy, Numba, Cython,
their loop, vectorized and fused variants — and prints each row as soon as it is measured.
The interpreted implementations cost seconds per iteration at this size: they train only
the iterations that fit in ``--slow-seconds``, and say so.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time

import numpy as np

import fastlr
from fastlr import bench, lesson, registry
from fastlr._install import pip_install
from fastlr.backends import numpy_
from fastlr.backends.python_ import loss, sigmoid  # the stable scalar forms

#: columns of every line the tutorial prints
WIDTH = 88


def two_loops(w, b, X, Y):
    """The lecture's for-loop on NumPy arrays: ``(dw, db, cost)`` in the course's shapes."""
    n_x, m = X.shape
    J, dw, db = 0.0, np.zeros((n_x, 1)), 0.0
    for i in range(m):
        z = b
        for j in range(n_x):
            z += w[j, 0] * X[j, i]
        a = sigmoid(z)
        J += loss(z, Y[0, i])
        dz = a - Y[0, i]
        for j in range(n_x):
            dw[j, 0] += X[j, i] * dz
        db += dz
    return dw / m, db / m, J / m


def one_loop(w, b, X, Y):
    """The loop over features as a dot product; the loop over examples kept."""
    n_x, m = X.shape
    J, dw, db = 0.0, np.zeros((n_x, 1)), 0.0
    for i in range(m):
        x = X[:, i:i + 1]                   # x(i), shape (n_x, 1)
        z = float(np.dot(w.T, x)[0, 0]) + b  # was: for j: z += w[j] x[j]
        a = sigmoid(z)
        J += loss(z, Y[0, i])
        dz = a - Y[0, i]
        dw += x * dz                        # was: for j: dw[j] += x[j] dz
        db += dz
    return dw / m, db / m, J / m


def no_loop(w, b, X, Y):
    """Whole arrays: the lecture's vectorized code (stable cost)."""
    m = X.shape[1]
    Z = np.dot(w.T, X) + b
    A = numpy_.sigmoid(Z)
    # the stable -[y log a + (1 - y) log(1 - a)]: the terms that cancel grouped first
    cost = float(np.sum((np.maximum(Z, 0.0) - Y * Z) + np.log1p(np.exp(-np.abs(Z))))) / m
    dZ = A - Y
    return np.dot(X, dZ.T) / m, float(np.sum(dZ)) / m, cost


def load_data(directory):
    """``(X_train, Y_train, X_test, Y_test, description)``: the course's data, or synthetic."""
    from fastlr import datasets

    if directory:
        X_train, Y_train, X_test, Y_test, _ = datasets.load_catvnoncat(directory)
        return X_train, Y_train, X_test, Y_test, f"the course's cat / non-cat images ({directory})"
    X, Y = datasets.make_problem(12288, 259, seed=1)
    X = X * 0.25  # pixel-like scale: keeps the course's learning rate stable on this data
    return (X[:, :209], Y[:, :209], X[:, 209:], Y[:, 209:],
            "synthetic data of the cat size (fastlr.datasets.make_problem; give the course's "
            "data folder as argument to use the real images)")


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def fmt(seconds):
    return bench.format_time(seconds)


def busy_note(load) -> None:
    """Print :meth:`fastlr.lesson.LoadWatch.warning`, if any, as the tutorial's note."""
    warning = load.warning()
    if warning:
        print(textwrap.fill(warning, width=WIDTH, initial_indent="  ",
                            subsequent_indent="    "))


def part1(X, Y, slow_seconds):
    print(f"Part 1 — one propagate (forward + backward pass), NumPy only, X {X.shape}")
    w, b = np.full((X.shape[0], 1), 0.001), 0.0
    steps = [("two loops: examples × features (the lecture's loop)", two_loops),
             ("one loop: examples; features as np.dot", one_loop),
             ("no loop: whole arrays (vectorized)", no_loop)]
    results = []
    with lesson.LoadWatch() as load, lesson.one_blas_thread() as pinned:
        print("(the best of repeated calls; " + (
            "BLAS on one thread: the point is the interpreter)\n" if pinned else
            "BLAS threads not limited: install threadpoolctl to pin them)\n"))
        for label, function in steps:
            (dw, db, cost), seconds, _ = lesson.best_time(function, w, b, X, Y,
                                                          budget=slow_seconds)
            results.append((label, seconds, dw, cost))
            ratio = results[0][1] / seconds
            print(f"  {label:<54} {fmt(seconds):>10}  {ratio:>7.0f}× faster", flush=True)
    busy_note(load)
    agree = max(np.max(np.abs(dw - results[0][2])) for _, _, dw, _ in results)
    print(f"\n  All three give the same cost ({results[-1][3]:.6f}) and gradient (largest")
    print(f"  difference in dw: {agree:.1e}). The loop over features costs an interpreter")
    print("  step per element; np.dot does those in compiled code. Removing the loop over")
    print("  examples too leaves two BLAS calls over X.\n")
    return [(label, seconds) for label, seconds, _, _ in results]


def train(implementation, X_train, Y_train, X_test, Y_test, iterations, learning_rate):
    (params, _, costs), seconds = timed(implementation.optimize,
                                        np.zeros((X_train.shape[0], 1)), 0.0, X_train, Y_train,
                                        iterations, learning_rate)
    w, b = params["w"], params["b"]
    _, cost = fastlr.propagate(w, b, X_train, Y_train, backend="numpy", variant="vectorized")
    train_accuracy = fastlr.accuracy(fastlr.predict(w, b, X_train), Y_train)
    test_accuracy = fastlr.accuracy(fastlr.predict(w, b, X_test), Y_test)
    return seconds, cost, train_accuracy, test_accuracy


def part2(X_train, Y_train, X_test, Y_test, iterations, learning_rate, slow_seconds):
    print(f"Part 2 — going further: the course's model, {iterations} iterations of gradient")
    print(f"descent (learning rate {learning_rate}) with every implementation fastlr has\n")
    header = (f"  {'implementation':<19}{'iterations':>11}{'time':>10}{'per iter.':>11}"
              f"{'cost':>9}{'train':>8}{'test':>8}")
    print(header)
    print("  " + "-" * (len(header) - 2), flush=True)
    rows, notes = [], []
    w0 = np.zeros((X_train.shape[0], 1))
    with lesson.LoadWatch() as load:
        rows = _train_each(X_train, Y_train, X_test, Y_test, iterations, learning_rate,
                           slow_seconds, w0, notes)
    if any(name == "python vectorized" for name, _, _ in rows):
        notes.append("python vectorized is the lecture's whole-array steps written with lists "
                     "and comprehensions: vectorized in form, but every element still goes "
                     "through the interpreter — not vectorization")
    for note in notes:
        print(textwrap.fill(f"Note — {note}.", width=WIDTH, initial_indent="  ",
                            subsequent_indent="    "))
    busy_note(load)
    full = [row for row in rows if row[1] == iterations]
    if full:
        fastest = min(full, key=lambda row: row[2])
        print(f"\n  Fastest full training: {fastest[0]}, {fmt(fastest[2])}. Every")
        print("  implementation runs the same gradient descent: after the same number of")
        print("  iterations the same cost (up to rounding). Only the time differs.")
    return rows


def _train_each(X_train, Y_train, X_test, Y_test, iterations, learning_rate, slow_seconds, w0,
                notes):
    """Part 2's rows ``(name, iterations, seconds)``, each printed as it is measured."""
    rows = []
    for info in fastlr.implementations():
        name = f"{info.backend} {info.variant}"
        if not info.available:
            note = f"{info.backend}: not available here ({info.reason.split(';')[0]})"
            if note not in notes:
                notes.append(note)
            continue
        implementation = fastlr.get(info.backend, info.variant)
        n = iterations
        if (info.backend, info.variant) in registry.INTERPRETED:
            # the faster of two single iterations (the first pays one-time costs) tells how
            # many fit in the time budget
            one = min(timed(implementation.optimize, w0, 0.0, X_train, Y_train, 1,
                            learning_rate)[1] for _ in range(2))
            n = max(1, min(iterations, int(slow_seconds / one)))
            if n < iterations:
                notes.append(f"{name}: {n} of {iterations} iterations only (~{fmt(one)} "
                             f"each: all would take ~{fmt(iterations * one)}); its accuracy "
                             "is an unfinished model's")
        else:
            implementation.optimize(w0, 0.0, X_train, Y_train, 1, learning_rate)  # compiles
        seconds, cost, train_accuracy, test_accuracy = train(
            implementation, X_train, Y_train, X_test, Y_test, n, learning_rate)
        rows.append((name, n, seconds))
        print(f"  {name:<19}{n:>11}{fmt(seconds):>10}{fmt(seconds / n):>11}{cost:>9.4f}"
              f"{train_accuracy:>7.1f}%{test_accuracy:>7.1f}%", flush=True)
    return rows


def plot_steps(steps, path):
    """The beginner's figure: Part 1's three steps, time per propagate on a log axis, each
    bar labelled with × faster than the lecture's loop (matplotlib imported here)."""
    from fastlr.bench import plotting

    try:
        figure = plotting.new_figure(figsize=(6.4, 3.6))
    except ImportError:
        print(f"--plot needs matplotlib: {pip_install('bench')}", file=sys.stderr)
        return 1
    labels = ["two loops\n(the lecture's loop)", "one loop\n(np.dot per example)",
              "no loop\n(whole arrays)"]
    seconds = [s for _, s in steps]
    axes = figure.subplots()
    bars = axes.barh(labels[::-1], seconds[::-1], color=["#4c72b0", "#dd8452", "#c44e52"])
    axes.set_xscale("log")
    axes.set_xlabel("seconds per propagate (log scale)")
    for bar, value in zip(bars, seconds[::-1]):
        axes.text(value, bar.get_y() + bar.get_height() / 2,
                  f"  {fmt(value)}, {seconds[0] / value:.0f}× faster", va="center")
    axes.set_xlim(min(seconds) / 3, max(seconds) * 60)
    axes.set_title("NumPy, one forward + backward pass")
    figure.tight_layout()
    print(f"wrote {plotting.save(figure, path, dpi=120)}")
    return 0


#: the course's learning-rate comparison: 1500 iterations from zeros at each rate
LEARNING_RATES = (0.01, 0.001, 0.0001)
CURVE_ITERATIONS = 1500


def learning_curves(X_train, Y_train, X_test, Y_test, rates=LEARNING_RATES,
                    iterations=CURVE_ITERATIONS):
    """``{rate: costs}``: the course's model trained from zeros at each learning rate (the
    fastest implementation here), the cost every 100 iterations; each printed with its
    accuracies."""
    print(f"The course's learning curves: {iterations} iterations from zeros, the cost every "
          "100")
    curves = {}
    for rate in rates:
        params, _, costs = fastlr.optimize(np.zeros((X_train.shape[0], 1)), 0.0, X_train,
                                           Y_train, iterations, rate)
        w, b = params["w"], params["b"]
        train_accuracy = fastlr.accuracy(fastlr.predict(w, b, X_train), Y_train)
        test_accuracy = fastlr.accuracy(fastlr.predict(w, b, X_test), Y_test)
        print(f"  learning rate {rate:<7}  cost {costs[0]:.4f} → {costs[-1]:.4f}  train "
              f"{train_accuracy:.1f} %  test {test_accuracy:.1f} %", flush=True)
        curves[rate] = costs
    return curves


def plot_costs(curves, path, title="the course's learning curves"):
    """The learning curves ``{rate: costs}`` (costs every 100 iterations), as the course
    plots them: one line per learning rate (matplotlib imported here)."""
    from fastlr.bench import plotting

    try:
        figure = plotting.new_figure(figsize=(6.4, 3.6))
    except ImportError:
        print(f"--plot-costs needs matplotlib: {pip_install('bench')}", file=sys.stderr)
        return 1
    axes = figure.subplots()
    for rate, costs in curves.items():
        axes.plot([100 * k for k in range(len(costs))], costs, marker=".",
                  label=f"learning rate {rate}")
    axes.set_xlabel("iterations")
    axes.set_ylabel("cost J")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    print(f"wrote {plotting.save(figure, path, dpi=120)}")
    return 0


def summary(steps, rows):
    print("\nSummary")
    base = steps[0][1]
    print(f"  Vectorizing the lecture's loop (NumPy): {fmt(base)} → {fmt(steps[-1][1])} per "
          f"propagate,")
    print(f"  {base / steps[-1][1]:.0f}× faster; the one-loop step alone: "
          f"{base / steps[1][1]:.0f}×.")
    full = [row for row in rows if row[2] > 0]
    if full:
        fastest = min(full, key=lambda row: row[2] / row[1])
        print(f"  Fastest training per iteration here: {fastest[0]} "
              f"({fmt(fastest[2] / fastest[1])}).")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fastlr.tutorial",
        description="The lecture's step from two loops to one loop to no loop, then the "
                    "course's cat model trained with every implementation.")
    parser.add_argument("data", nargs="?", default=None,
                        help="folder with train_catvnoncat.h5 and test_catvnoncat.h5 "
                             "(default: synthetic data of the same size)")
    parser.add_argument("--iterations", type=int, default=2000,
                        help="gradient-descent iterations (default 2000, the course's)")
    parser.add_argument("--learning-rate", type=float, default=0.005,
                        help="default 0.005, the course's")
    parser.add_argument("--slow-seconds", type=float, default=5.0,
                        help="seconds each interpreted implementation may train for "
                             "(default 5: a few iterations), and each step of Part 1 may be "
                             "timed for (at least two calls)")
    parser.add_argument("--plot", default=None, metavar="PNG",
                        help="also draw Part 1 as a bar chart into this file (matplotlib)")
    parser.add_argument("--plot-costs", default=None, metavar="PNG",
                        help="also train the course's model at learning rates 0.01, 0.001 and "
                             "0.0001 (1500 iterations each) and draw its learning curves, the "
                             "cost every 100 iterations, into this file (matplotlib)")
    parser.add_argument("--part1-only", action="store_true",
                        help="stop after Part 1 (the beginner's three steps)")
    parser.add_argument("--size", default=None, metavar="N_XxM",
                        help="synthetic problem size instead of the cat size (e.g. 50x80; "
                             "for a quick look)")
    args = parser.parse_args(argv)

    if args.size:
        from fastlr import datasets

        n_x, m = bench.parse_size(args.size)
        X, Y = datasets.make_problem(n_x, m + max(1, m // 4), seed=1)
        data = (X[:, :m], Y[:, :m], X[:, m:], Y[:, m:], f"synthetic {n_x}×{m}")
    else:
        try:
            data = load_data(args.data)
        except (ImportError, FileNotFoundError) as error:
            print(f"python -m fastlr.tutorial: {error}", file=sys.stderr)
            return 1
    X_train, Y_train, X_test, Y_test, description = data
    order = "F" if X_train.flags.f_contiguous else "C"
    print(textwrap.fill(f"Data: {description}.", width=WIDTH, subsequent_indent="  "))
    print(f"  X_train {X_train.shape}, {X_train.dtype}, {order}-ordered (one example per "
          f"column); X_test {X_test.shape}\n")
    steps = part1(X_train, Y_train, args.slow_seconds)
    if args.plot and plot_steps(steps, args.plot):
        return 1
    if args.plot_costs:
        curves = learning_curves(X_train, Y_train, X_test, Y_test)
        what = "the course's cat data" if args.data and not args.size else "synthetic data"
        if plot_costs(curves, args.plot_costs, f"learning curves, {what}"):
            return 1
        print()
    if args.part1_only:
        return 0
    rows = part2(X_train, Y_train, X_test, Y_test, args.iterations, args.learning_rate,
                 args.slow_seconds)
    summary(steps, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
