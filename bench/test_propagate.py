"""One ``propagate`` (forward and backward pass) per implementation × problem size."""

import math

from benchutil import extra_info, group_name, skip_if_too_slow, slow_rounds
from fastlr import threads


def test_propagate(benchmark, implementation, pair, propagate_size, dtype, order, problem):
    n_x, m = propagate_size
    skip_if_too_slow(pair, n_x, m)
    w, b, X, Y = problem(n_x, m, dtype, order)
    benchmark.group = group_name("propagate", n_x, m, dtype, order)
    extra_info(benchmark, pair, X)
    rounds = slow_rounds(pair, n_x, m)
    if rounds is None:
        implementation.propagate(w, b, X, Y)  # warm-up: compiles (Numba) before timing
        if not benchmark.disabled:
            threads.settle()  # the previous benchmark's idle threads stop spinning
        grads, cost = benchmark(implementation.propagate, w, b, X, Y)
    else:  # interpreted, up to seconds per call: a few rounds, no warm-up (nothing to compile)
        grads, cost = benchmark.pedantic(implementation.propagate, args=(w, b, X, Y),
                                         rounds=rounds, iterations=1, warmup_rounds=0)
    assert math.isfinite(cost) and grads["dw"].shape == (n_x, 1)
