"""Long compiled training loops stay interruptible: Ctrl-C raises KeyboardInterrupt promptly.

The compiled loops run without the GIL and see no signal; ``fastlr.course`` runs them in
slices of about ``SLICE_SECONDS`` and returns to the interpreter between slices, where
Python's signal handlers run. The slicing must not change the result: it is compared with
the pure-Python reference's descent.
"""

import textwrap
import time

import numpy as np
import pytest

from fastlr import course, registry
from helpers import (
    FAST_PAIRS,
    get_or_skip,
    interrupt,
    pair_id,
    python_loop,
    random_problem,
    reference,
)

#: pairs whose training loop is compiled (the others loop in Python over the kernel)
COMPILED_OPTIMIZERS = [pair for pair in FAST_PAIRS if registry.BACKENDS[pair[0]].compiled]


@pytest.mark.parametrize("pair", COMPILED_OPTIMIZERS, ids=pair_id)
@pytest.mark.parametrize("slice_seconds", [0.0, 1e-4, 1e9], ids=["1-iteration", "few", "one"])
@pytest.mark.parametrize("num_iterations", [1, 99, 100, 101, 250, 1001])
def test_sliced_training_equals_the_reference_descent(pair, slice_seconds, num_iterations,
                                                      monkeypatch):
    monkeypatch.setattr(course, "SLICE_SECONDS", slice_seconds)
    implementation = get_or_skip(*pair)
    w, b, X, Y = random_problem(6, 9, seed=num_iterations, scale=0.3)
    params, grads, costs = implementation.optimize(w, b, X, Y, num_iterations, 0.05)
    w_ref, b_ref, dw_ref, db_ref, costs_ref = python_loop(
        reference, w[:, 0], b, X, Y[0], num_iterations, 0.05)
    tight = {"rtol": 1e-9, "atol": 1e-12}
    np.testing.assert_allclose(params["w"][:, 0], w_ref, **tight)
    np.testing.assert_allclose(params["b"], b_ref, **tight)
    np.testing.assert_allclose(grads["dw"][:, 0], dw_ref, **tight)
    np.testing.assert_allclose(grads["db"], db_ref, **tight)
    assert len(costs) == len(costs_ref) == (num_iterations + 99) // 100
    np.testing.assert_allclose(costs, costs_ref, **tight)


def test_slices_start_at_recorded_iterations_or_end_at_the_next(monkeypatch):
    calls = []

    def descend(w, b, X, Y, n, learning_rate):
        calls.append(n)
        time.sleep(n * 1e-4)  # 0.1 ms per iteration
        return w, b, w, 0.0, [float(len(calls))] * ((n + 99) // 100)

    X = np.ones((2, 3))
    monkeypatch.setattr(course, "SLICE_SECONDS", 0.005)  # ~50 iterations per slice
    monkeypatch.setattr(course, "GUESS_PER_ITERATION", 1e-4)
    _, _, _, _, costs = course.descend_in_slices(descend, X[0], 0.0, X, X[0], 1234, 0.1)
    assert sum(calls) == 1234 and len(calls) > 5
    done = 0
    for n in calls:  # a slice crosses no multiple of 100 unless it starts on one
        assert done % 100 == 0 or done // 100 == (done + n - 1) // 100
        assert done % 100 != 0 or n <= 100 or n % 100 == 0 or done + n == 1234
        done += n
    assert len(costs) == (1234 + 99) // 100


INTERRUPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import fastlr
    from fastlr.datasets import make_problem

    backend, variant = sys.argv[1], sys.argv[2]
    X, Y = make_problem(2000, 5000, seed=0)
    w = np.zeros((2000, 1))
    implementation = fastlr.get(backend, variant)
    implementation.optimize(w, 0.0, X, Y, 2, 0.1)  # compiles (or loads Numba's cache)
    print("training", flush=True)
    try:
        implementation.optimize(w, 0.0, X, Y, 10**6, 0.1)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(0)
    print("finished: not interrupted", flush=True)
""")

#: seconds between SIGINT and KeyboardInterrupt that still pass on a busy 2-core machine
PROMPT = 3.0


@pytest.mark.parametrize("pair", [*COMPILED_OPTIMIZERS, ("numpy", "vectorized")], ids=pair_id)
def test_ctrl_c_interrupts_a_long_training_promptly(pair, tmp_path):
    get_or_skip(*pair)
    script = tmp_path / "train.py"
    script.write_text(INTERRUPT)
    line, latency, errors, returncode = interrupt([str(script), *pair], "training")
    assert line == "interrupted", errors
    assert returncode == 0, errors
    assert latency < PROMPT, f"KeyboardInterrupt {latency:.2f} s after SIGINT"
