"""One ``propagate`` (forward and backward pass) per implementation × problem size × condition.

Steady: pytest-benchmark's calibrated rounds, back to back. Interleaved: a NumPy
2000×2000 matrix-vector product before each round, in ``pedantic``'s ``setup`` (not timed),
one call per round.
"""

import math

from benchutil import (
    INTERLEAVED_ROUNDS,
    extra_info,
    group_name,
    skip_if_too_slow,
    slow_rounds,
)
from fastlr import threads


def test_propagate(benchmark, implementation, pair, propagate_size, dtype, order, condition,
                   problem, interleave):
    n_x, m = propagate_size
    skip_if_too_slow(pair, n_x, m)
    w, b, X, Y = problem(n_x, m, dtype, order)
    interleaved = condition == "interleaved"
    benchmark.group = group_name("propagate", n_x, m, dtype, order, condition=condition)
    extra_info(benchmark, pair, X, condition=condition,
               interleave_size=interleave.size if interleaved else None)
    rounds = slow_rounds(pair, n_x, m)
    if rounds is None:
        implementation.propagate(w, b, X, Y)  # warm-up: compiles (Numba) before timing
        if not benchmark.disabled:
            threads.settle()  # the previous benchmark's idle threads stop spinning
    if interleaved:  # the interleave runs before each round (and warm-up round), untimed
        grads, cost = benchmark.pedantic(implementation.propagate, args=(w, b, X, Y),
                                         setup=interleave, iterations=1,
                                         rounds=rounds or INTERLEAVED_ROUNDS,
                                         warmup_rounds=0 if rounds else 1)
    elif rounds is None:
        grads, cost = benchmark(implementation.propagate, w, b, X, Y)
    else:  # interpreted, up to seconds per call: a few rounds, no warm-up (nothing to compile)
        grads, cost = benchmark.pedantic(implementation.propagate, args=(w, b, X, Y),
                                         rounds=rounds, iterations=1, warmup_rounds=0)
    assert math.isfinite(cost) and grads["dw"].shape == (n_x, 1)
