"""A whole ``optimize`` (a fixed number of gradient-descent iterations) per implementation.

Where a backend compiles the training loop (``OPTIMIZERS``) the iterations run inside
compiled code; elsewhere :meth:`fastlr.Implementation.optimize` loops over ``propagate`` in
Python, paying the argument checks and the call once per iteration.
"""

import math

from benchutil import extra_info, group_name, skip_if_too_slow, slow_rounds
from fastlr import registry, threads

LEARNING_RATE = 0.005  # the course's cat model


def test_optimize(benchmark, implementation, pair, optimize_problem, dtype, order, problem):
    (n_x, m), iterations = optimize_problem
    skip_if_too_slow(pair, n_x, m, iterations)
    w, b, X, Y = problem(n_x, m, dtype, order)
    benchmark.group = group_name("optimize", n_x, m, dtype, order, iterations)
    extra_info(benchmark, pair, X, task="optimize", iterations=iterations)
    args = (w, b, X, Y, iterations, LEARNING_RATE)
    rounds = slow_rounds(pair, n_x, m, iterations)
    if rounds is None and n_x * m * iterations > 1_000_000:
        rounds = 3  # compiled, but long rounds: a few are enough
    if rounds is None:
        implementation.optimize(*args)  # warm-up: compiles (Numba) before timing
        if not benchmark.disabled:
            threads.settle()  # the previous benchmark's idle threads stop spinning
        params, grads, costs = benchmark(implementation.optimize, *args)
    else:
        warmup = 0 if pair in registry.INTERPRETED or benchmark.disabled else 1
        params, grads, costs = benchmark.pedantic(implementation.optimize, args=args,
                                                  rounds=rounds, iterations=1,
                                                  warmup_rounds=warmup)
    assert len(costs) == (iterations + 99) // 100 and math.isfinite(costs[-1])

