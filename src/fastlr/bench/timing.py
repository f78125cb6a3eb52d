"""How one implementation is timed: fast calls in batches, interpreted ones within a budget.

:func:`time_fast` for everything that takes less than a fraction of a second per call; the
interpreted implementations are first probed on a few examples (:func:`probe_seconds_per_example`),
then timed as :func:`plan_slow` decides, on a prefix of the examples when even one call on
all of them would not fit the budget (:func:`time_slow`).

Two conditions: *steady* (the calls back to back, every other thread pool idle) and
*interleaved* (:func:`time_interleaved`, and ``time_slow(..., interleave=)``): each call
right after an :class:`Interleave`, a NumPy BLAS call standing for the user's own code
between two of fastlr's calls.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass

import numpy as np

from fastlr.bench.formatting import format_time

#: the clock every timing here reads (a test may replace it: ``bench.timing.clock``)
clock = time.perf_counter

#: elements of X the probe of an interpreted implementation runs on (a fraction of a second)
PROBE_ELEMENTS = 50_000

#: an interpreted call shorter than this (seconds) is timed like the fast ones
CHEAP_CALL = 0.05


def timed_calls(function, args, number: int) -> float:
    """Seconds per call of ``function(*args)``, averaged over ``number`` back-to-back calls.

    The garbage collector is off while they run, as :mod:`timeit` does.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(number):
            function(*args)
        elapsed = clock() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return elapsed / number


#: the interleaved condition's default: a NumPy matrix-vector product of this order
INTERLEAVE_SIZE = 2000

#: an interleaved sample is the median of at most this many calls (each after its own
#: interleave: they cannot be batched back to back)
INTERLEAVED_CALLS = 5


class Interleave:
    """The user's NumPy code between two fastlr calls: ``M @ v``, ``M`` ``size × size`` float64.

    Built once (``M`` and ``v`` standard normal, fixed ``seed``); each call runs the product
    in NumPy's BLAS. Afterwards the BLAS's idle worker threads keep spinning for a while
    (OpenBLAS: ~0.1 s) on the cores the next multi-threaded call needs, and ``M``
    (``8·size²`` bytes: 32 MB for 2000) has pushed the next call's data out of the caches,
    as the user's own data would.
    """

    def __init__(self, size: int = INTERLEAVE_SIZE, seed: int = 0):
        if int(size) != size or size < 1:
            raise ValueError(f"size must be a positive integer; got {size!r}")
        rng = np.random.default_rng(seed)
        self.size = int(size)
        self.matrix = rng.standard_normal((self.size, self.size))
        self.vector = rng.standard_normal(self.size)
        self.result = None

    def __call__(self) -> None:
        self.result = self.matrix @ self.vector

    def describe(self) -> str:
        """``"a NumPy 2000×2000 matrix-vector product"``."""
        return describe_interleave(self.size)

    def __repr__(self) -> str:
        return f"Interleave(size={self.size})"


def describe_interleave(size: int | None) -> str:
    """What an :class:`Interleave` of ``size`` runs, in words (a report may not know it)."""
    if size is None:
        return "a NumPy BLAS call"
    return f"a NumPy {size}×{size} matrix-vector product"


def interleaved_calls(function, args, interleave, number: int) -> list[float]:
    """Seconds of each of ``number`` calls of ``function(*args)``, each right after
    ``interleave()``.

    The clock starts when the interleave has returned and stops when the call returns, so
    the interleave's own time is not in the result (it is subtracted, in effect) — only
    what it leaves behind (spinning BLAS threads, colder caches) is. The garbage collector
    is off while they run.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    times = []
    try:
        for _ in range(number):
            interleave()
            start = clock()
            function(*args)
            times.append(clock() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return times


def time_interleaved(function, args, interleave, *, repeats=10, min_sample=1e-3,
                     max_calls=INTERLEAVED_CALLS, max_seconds=5.0, on_sample=None,
                     warmup_seconds=0.05):
    """:func:`time_fast` in the interleaved condition: ``interleave()`` before **each** call.

    Each call is timed on its own (:func:`interleaved_calls`: the interleave's time is not
    counted). Returns ``(times, calls_per_sample, first_call_seconds)``; a sample is the
    **median** of ``calls_per_sample`` individual call times, enough calls for their sum to
    last ``min_sample`` seconds but at most ``max_calls``. Warm-up as in :func:`time_fast`,
    each warm-up call after an interleave too; ``max_seconds`` counts the interleaves.
    """
    first = interleaved_calls(function, args, interleave, 1)[0]
    warmup = interleaved_calls(function, args, interleave, 1)
    start = clock()
    while clock() - start < warmup_seconds and len(warmup) < 1000:
        warmup += interleaved_calls(function, args, interleave, 1)
    one = min(warmup)
    number = max(1, min(max_calls, math.ceil(min_sample / max(one, 1e-9))))
    times = []
    start = clock()
    for k in range(repeats):
        times.append(statistics.median(interleaved_calls(function, args, interleave, number)))
        if on_sample:
            on_sample(k + 1, repeats)
        if len(times) >= 3 and clock() - start > max_seconds:
            break
    return times, number, first


def time_fast(function, args, *, repeats=10, min_sample=1e-3, max_seconds=5.0,
              on_sample=None, warmup_seconds=0.05):
    """Warm-up, then ``repeats`` samples (fewer if they exceed ``max_seconds``, never < 3).

    Returns ``(times, calls_per_sample, first_call_seconds)``; a sample is the mean of
    ``calls_per_sample`` calls, chosen so that it lasts at least ``min_sample`` seconds.
    The warm-up is the first call (Numba compiles or loads its cache) and then calls for
    ``warmup_seconds``: right after its first call a parallel kernel runs slower for a
    while (its threads are starting), which a single warm-up call does not cover.
    """
    first = timed_calls(function, args, 1)  # compiles (Numba) or loads the compiled code
    warmup = [timed_calls(function, args, 1)]
    start = clock()
    while clock() - start < warmup_seconds and len(warmup) < 1000:
        warmup.append(timed_calls(function, args, 1))
    one = min(warmup)
    number = max(1, min(100_000, math.ceil(min_sample / max(one, 1e-9))))
    times = []
    start = clock()
    for k in range(repeats):
        times.append(timed_calls(function, args, number))
        if on_sample:
            on_sample(k + 1, repeats)
        if len(times) >= 3 and clock() - start > max_seconds:
            break
    return times, number, first


@dataclass
class SlowPlan:
    """How an interpreted implementation is timed: how many calls, on how many examples."""

    calls: int
    examples: int
    seconds_per_call: float  # estimated, for the full problem

    def describe(self, name: str, m: int) -> str:
        per_call = format_time(self.seconds_per_call)
        if self.examples < m:
            return (f"{name}: ~{per_call} per call on all {m} examples; timing {self.calls} "
                    f"call(s) on the first {self.examples} examples and scaling by "
                    f"{m}/{self.examples} (marked est.)")
        return (f"{name}: ~{per_call} per call (interpreted); timing {self.calls} call(s), "
                f"~{format_time(self.calls * self.seconds_per_call)}")


def plan_slow(seconds_per_example: float, m: int, *, budget: float, repeats: int) -> SlowPlan:
    """Calls and examples for an interpreted implementation to stay within ``budget`` seconds.

    At most ``min(repeats, 3)`` calls on the full problem if at least one fits in the
    budget; otherwise that many calls on the largest prefix of examples that fits.
    """
    calls = max(1, min(repeats, 3))
    full = seconds_per_example * m
    if full <= budget:
        return SlowPlan(max(1, min(calls, int(budget // max(full, 1e-12)))), m, full)
    examples = max(1, min(m, int(budget / calls / max(seconds_per_example, 1e-12) * (1 + 1e-9))))
    return SlowPlan(calls, examples, full)


def probe_seconds_per_example(function, w, b, X, Y) -> tuple[float, int]:
    """``(seconds per example, examples probed)`` from one call on ~PROBE_ELEMENTS elements."""
    n_x, m = X.shape
    probe = max(1, min(m, math.ceil(PROBE_ELEMENTS / n_x)))
    elapsed = timed_calls(function, (w, b, X[:, :probe], Y[:, :probe]), 1)
    return elapsed / probe, probe


def time_slow(function, w, b, X, Y, plan: SlowPlan, *, on_sample=None, interleave=None):
    """Time an interpreted implementation as ``plan`` says (see :func:`plan_slow`).

    Returns the times per call on the full problem: when ``plan.examples < m`` each call
    runs on the first ``plan.examples`` examples and is scaled by ``m / plan.examples``.
    ``interleave``: called before each call, outside its timing (the interleaved condition).
    """
    m = X.shape[1]
    X_part, Y_part = X[:, :plan.examples], Y[:, :plan.examples]
    times = []
    while len(times) < plan.calls:
        if interleave is not None:
            interleave()
        elapsed = timed_calls(function, (w, b, X_part, Y_part), 1)
        times.append(elapsed * m / plan.examples)
        if on_sample:
            on_sample(len(times), plan.calls)
    return times
