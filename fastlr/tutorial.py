"""A runnable walkthrough of the lecture: from two loops to one loop to no loop, then the
course's cat classifier trained with every implementation fastlr has here.

::

    python -m fastlr.tutorial                     # synthetic cat-size data
    python -m fastlr.tutorial path/to/data        # the course's train/test_catvnoncat.h5
    python -m fastlr.tutorial --help

Part 1 times one ``propagate`` (forward and backward pass) at the cat size three ways, as the
lecture develops it:

1. **two loops** — for each example, a loop over the features (``z += w_j x_ji``,
   ``dw_j += x_ji dz``): fastlr's ``python`` / ``loop``;
2. **one loop** — the loop over features replaced by a dot product (``z = wᵀx + b``,
   ``dw += x dz``), the loop over examples kept: written below in NumPy, for this
   tutorial only (:func:`one_loop_propagate`);
3. **no loop** — the loop over examples replaced by whole arrays too (``Z = wᵀX + b``,
   ``dw = X dZᵀ / m``): fastlr's ``numpy`` / ``vectorized``.

Part 2 trains the course's model (zeros, gradient descent, learning rate 0.005) with each
implementation and prints its time and accuracy. The interpreted implementations (pure
Python, NumPy indexed element by element) cost seconds per iteration at this size, so they
train only as many iterations as fit in ``--slow-seconds`` (a few), and say so: their
accuracy is that of an unfinished model.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

import fastlr
from fastlr import bench, registry
from fastlr.backends import numpy_


def one_loop_propagate(w, b, X, Y):
    """The lecture's middle step: one loop over the examples, the features vectorized.

    ``w`` array of shape (n_x,), ``X`` of shape (n_x, m), ``Y`` of shape (m,); returns
    ``(dw, db, cost)`` like every fastlr kernel. Not part of fastlr's implementations: it
    is here to show the step from two loops to none.
    """
    n_x, m = X.shape
    J = 0.0
    dw = np.zeros(n_x)
    db = 0.0
    for i in range(m):
        x = X[:, i]
        z = np.dot(w, x) + b  # was: for j in range(n_x): z += w[j] * x[j]
        a = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        J += max(z, 0.0) + math.log1p(math.exp(-abs(z))) - Y[i] * z  # stable log(1+e^z) - y z
        dz = a - Y[i]
        dw += x * dz  # was: for j in range(n_x): dw[j] += x[j] * dz
        db += dz
    return dw / m, db / m, J / m


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


def part1(X, Y, slow_seconds):
    print(f"Part 1 — one propagate (forward + backward pass), X of shape {X.shape}\n")
    w = np.full(X.shape[0], 0.001)
    b = 0.0
    y = np.array(Y[0], dtype=np.float64)
    from fastlr.backends import python_

    steps = [
        ("two loops (examples × features), pure Python: fastlr python/loop",
         python_.propagate_loop),
        ("one loop (examples), features as a dot product — NumPy, this tutorial only",
         one_loop_propagate),
        ("no loop: whole arrays, NumPy: fastlr numpy/vectorized", numpy_.propagate_vectorized),
    ]
    results = []
    for label, kernel in steps:
        (dw, db, cost), seconds = timed(kernel, w, b, X, y)
        results.append((label, seconds, dw, cost))
    first = results[0][1]
    for label, seconds, _, _ in results:
        ratio = bench.format_ratio(first / seconds)
        print(f"  {label:<78} {fmt(seconds):>9}  {ratio:>6} vs two loops")
    reference_dw = np.asarray(results[0][2])
    agree = max(np.max(np.abs(np.asarray(dw) - reference_dw)) for _, _, dw, _ in results)
    print(f"\n  All three give the same cost ({results[-1][3]:.6f}) and gradient "
          f"(largest difference in dw: {agree:.1e}).")
    print("  The loop over features costs an interpreter step per element; a dot product "
          "does those in\n  compiled code. Removing the loop over examples too leaves two "
          "BLAS calls over X.\n")


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
    print(f"Part 2 — the course's model: {iterations} iterations of gradient descent, "
          f"learning rate {learning_rate}\n")
    rows = []
    notes = []
    w0 = np.zeros((X_train.shape[0], 1))
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
            # an iteration (the faster of two: the first pays one-time costs) tells how many
            # fit in the time budget
            one = min(timed(implementation.optimize, w0, 0.0, X_train, Y_train, 1,
                            learning_rate)[1] for _ in range(2))
            n = max(1, min(iterations, int(slow_seconds / one)))
            print(f"  {name}: ~{fmt(one)} per iteration; training {n} of {iterations} "
                  f"iterations (~{fmt(n * one)}) ...", flush=True)
            if n < iterations:
                notes.append(f"{name}: trained {n} of {iterations} iterations only "
                             f"(~{fmt(one)} each: all {iterations} would take "
                             f"~{fmt(iterations * one)}); its accuracy is an unfinished model's")
        else:
            print(f"  {name}: compiling / warming up, then {iterations} iterations ...",
                  flush=True)
            implementation.optimize(w0, 0.0, X_train, Y_train, 1, learning_rate)  # compiles
        seconds, cost, train_accuracy, test_accuracy = train(
            implementation, X_train, Y_train, X_test, Y_test, n, learning_rate)
        rows.append((name, n, seconds, cost, train_accuracy, test_accuracy))
    print()
    header = f"  {'implementation':<20} {'iterations':>10} {'time':>10} {'per iteration':>14} " \
             f"{'final cost':>10} {'train acc.':>10} {'test acc.':>10}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for name, n, seconds, cost, train_accuracy, test_accuracy in rows:
        print(f"  {name:<20} {n:>10} {fmt(seconds):>10} {fmt(seconds / n):>14} {cost:>10.4f} "
              f"{train_accuracy:>9.1f}% {test_accuracy:>9.1f}%")
    full = [row for row in rows if row[1] == iterations]
    if full:
        fastest = min(full, key=lambda row: row[2])
        print(f"\n  Fastest full training: {fastest[0]}, {fmt(fastest[2])}.")
    for note in notes:
        print(bench.wrap(f"Note — {note}.", "  "))
    print("\n  Every implementation computes the same gradient descent: after the same number "
          "of iterations\n  they reach the same cost (up to rounding). Only the time differs.")


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
                             "(default 5: a few iterations)")
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
    print(f"Data: {description}\n  X_train {X_train.shape}, {X_train.dtype}, "
          f"{'F' if X_train.flags.f_contiguous else 'C'}-ordered (one example per column); "
          f"X_test {X_test.shape}\n")
    part1(X_train, Y_train, args.slow_seconds)
    part2(X_train, Y_train, X_test, Y_test, args.iterations, args.learning_rate,
          args.slow_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
