"""Sizes and helpers shared by the benchmark suites (see conftest.py for how to run them)."""

from __future__ import annotations

import os

import pytest

from fastlr import bench, registry, threads

REQUIRE_ALL = os.environ.get("FASTLR_REQUIRE_ALL") == "1"

#: (name, full size, quick size) of the propagate problems
PROPAGATE_SIZES = [
    ("tiny", (2, 3), (2, 3)),  # the course's example
    ("cat", (12288, 209), (12288, 16)),
    ("tall", (100, 100_000), (100, 2000)),
    ("wide", (1000, 10_000), (1000, 200)),
]

#: (name, full size, quick size, iterations, quick iterations) of the optimize problems
OPTIMIZE_PROBLEMS = [
    ("tiny", (2, 3), (2, 3), 2000, 2000),
    ("cat", (12288, 209), (12288, 16), 100, 10),
]

#: interpreted implementations are skipped above this many elements of X (× iterations)
SLOW_MAX_ELEMENTS = 3_000_000

#: the interleaved condition: a NumPy matrix-vector product of this order before each round
INTERLEAVE_SIZE = bench.INTERLEAVE_SIZE

#: rounds of a compiled or vectorized implementation in the interleaved condition (each
#: after its own interleave, so pytest-benchmark cannot calibrate them)
INTERLEAVED_ROUNDS = 30


def skip_if_too_slow(pair, n_x, m, iterations=1):
    """Skip an interpreted implementation on a problem too big for it, with the reason."""
    elements = n_x * m * iterations
    if pair in registry.INTERPRETED and elements > SLOW_MAX_ELEMENTS:
        seconds = 0.2e-6 * elements, 1e-6 * elements  # ~0.2-1 µs per element
        pytest.skip(
            f"{' '.join(pair)} is interpreted: ~{seconds[0]:.0f}-{seconds[1]:.0f} s per round "
            f"at {n_x}×{m}" + (f" × {iterations} iterations" if iterations > 1 else "")
            + f"; interpreted runs are limited to {SLOW_MAX_ELEMENTS:,} elements "
              "(`fastlr bench --sizes ...` estimates them from a subset)")


def slow_rounds(pair, n_x, m, iterations=1):
    """Rounds for an interpreted implementation (None: let pytest-benchmark calibrate)."""
    if pair not in registry.INTERPRETED:
        return None
    elements = n_x * m * iterations
    if elements <= 100_000:  # ~0.1 s or less per round
        return None
    return 3 if elements <= 1_000_000 else 2


def extra_info(benchmark, pair, X, task="propagate", iterations=None, condition="steady",
               interleave_size=None):
    """What bench/report.py (and a reader of the JSON) needs to know about a benchmark."""
    benchmark.extra_info.update({
        "task": task,
        "backend": pair[0],
        "variant": pair[1],
        "n_x": X.shape[0],
        "m": X.shape[1],
        "dtype": X.dtype.name,
        "order": bench.memory_order(X),
        "threads": threads.get_num_threads(),
        "blas_threads": bench.blas_threads(),
        "iterations": iterations,
        "condition": condition,
        "interleave_size": interleave_size,
    })


def group_name(task, n_x, m, dtype, order, iterations=None, condition="steady"):
    name = f"{task} {n_x}x{m}"
    if iterations:
        name += f" ({iterations} iterations)"
    if dtype != "float64":
        name += f" {dtype}"
    if order != "F":
        name += f" {order}-order"
    if condition != "steady":
        name += f" {condition}"
    return name
