"""What the tests share besides fixtures: problem builders, the reference, comparisons, and
which implementations are here (fixtures are in conftest.py, which imports from here).

Everything that sorts implementations is derived from the backend descriptors through
:mod:`fastlr.registry`: a new backend joins the tests by registration alone.
"""

import os
from pathlib import Path

import numpy as np
import pytest

import fastlr
from fastlr import registry
from fastlr.backends import python_

#: FASTLR_REQUIRE_ALL=1 (set by .ci/run): a backend that cannot be used fails, not skips
REQUIRE_ALL = os.environ.get("FASTLR_REQUIRE_ALL") == "1"

#: the course's data folder, beside the project as ../shared/data (or FASTLR_COURSE_DATA)
COURSE_DATA = Path(
    os.environ.get("FASTLR_COURSE_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)

#: backends whose code is compiled: they join the kernel-level suite (test_kernels.py)
COMPILED = tuple(name for name, backend in registry.BACKENDS.items() if backend.compiled)

#: pairs quick enough for the course's cat data (12288 × 209, 2000 iterations)
FAST_PAIRS = tuple(pair for pair in registry.PAIRS if pair not in registry.INTERPRETED)

#: the course's published costs of its cat model, every 100 iterations (../shared/data)
PUBLISHED_COSTS = [
    0.693147, 0.584508, 0.466949, 0.376007, 0.331463, 0.303273, 0.279880, 0.260042,
    0.242941, 0.228004, 0.214820, 0.203078, 0.192544, 0.183033, 0.174399, 0.166521,
    0.159305, 0.152667, 0.146542, 0.140872,
]

#: backends with kernels for fastlr.LogisticRegression
MODEL_BACKENDS = tuple(name for name, backend in registry.BACKENDS.items()
                       if backend.model_module)

#: float64 results against the reference
TIGHT = {"rtol": 1e-9, "atol": 1e-12}
#: products accumulated in float32 (float32 X through BLAS)
FLOAT32 = {"rtol": 2e-5, "atol": 2e-6}


def pair_id(pair):
    return "-".join(pair)


def unavailable(error):
    """Skip with the reason, or fail under FASTLR_REQUIRE_ALL=1."""
    if REQUIRE_ALL:
        pytest.fail(f"FASTLR_REQUIRE_ALL=1 but {error}")
    pytest.skip(str(error))


def sklearn_objective(model, X, y, sample_weight=None, C=1.0):
    """scikit-learn's objective ``C Σ s L + ½‖w‖²`` of a fitted two-class model, computed
    here in float64 (without the penalty for ``C = inf``)."""
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    w = model.coef_.ravel().astype(np.float64)
    z = np.asarray(X, dtype=np.float64) @ w + float(model.intercept_[0])
    labels = (np.asarray(y) == model.classes_[1]).astype(np.float64)
    data = np.sum(s * (np.logaddexp(0.0, z) - labels * z))
    return C * data + 0.5 * w @ w if np.isfinite(C) else data


def load_model_or_skip(backend):
    """The backend's estimator kernels, or skip (fail under FASTLR_REQUIRE_ALL=1)."""
    try:
        return registry.load_model(backend)[1]
    except fastlr.BackendUnavailable as error:
        unavailable(error)


def get_or_skip(backend, variant):
    """The implementation, or skip (fail under FASTLR_REQUIRE_ALL=1) with the reason."""
    try:
        return fastlr.get(backend, variant)
    except fastlr.BackendUnavailable as error:
        unavailable(error)


def load_or_skip(backend):
    """The backend's module, or skip (fail under FASTLR_REQUIRE_ALL=1) with the reason."""
    try:
        return registry.load(backend)
    except fastlr.BackendUnavailable as error:
        unavailable(error)


def random_problem(n_x, m, seed, order="F", dtype=np.float64, scale=1.0):
    """Course-shaped (w, b, X, Y) from a seeded generator: w (n_x, 1), Y (1, m)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_x, 1)) * scale
    b = float(rng.standard_normal())
    X = np.asarray(rng.standard_normal((n_x, m)), order=order).astype(dtype, order=order)
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return w, b, X, Y


def problem(n_x, m, seed=0, order="F", dtype=np.float64, scale=1.0):
    """Kernel-shaped (w, b, X, Y): w (n_x,), Y (m,); the same numbers in either order."""
    w, b, X, Y = random_problem(n_x, m, seed, order, dtype, scale)
    return w[:, 0].copy(), b, X, Y[0].copy()


def reference(w, b, X, Y):
    """The pure-Python loop on kernel arguments (X read as float64): ``(dw, db, cost)``."""
    dw, db, cost = python_.propagate_loop(np.asarray(w, dtype=np.float64), b,
                                          np.asarray(X, dtype=np.float64), Y)
    return np.asarray(dw), db, cost


def assert_close(result, expected, **tolerance):
    """A kernel's ``(dw, db, cost)`` against the expected one; dw a float64 array."""
    tolerance = tolerance or TIGHT
    dw, db, cost = result
    assert isinstance(dw, np.ndarray) and dw.dtype == np.float64 and dw.shape == expected[0].shape
    np.testing.assert_allclose(dw, expected[0], **tolerance)
    np.testing.assert_allclose(db, expected[1], **tolerance)
    np.testing.assert_allclose(cost, expected[2], **tolerance)


def python_loop(kernel, w, b, X, Y, num_iterations, learning_rate):
    """The course's gradient descent in Python over a kernel ``(w, b, X, Y) -> (dw, db, cost)``:
    what a backend's compiled training loop must return."""
    costs = []
    for i in range(num_iterations):
        dw, db, cost = kernel(w, b, X, Y)
        w = w - learning_rate * np.asarray(dw)
        b = b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
    return w, b, dw, db, costs


def interrupt(args, ready, timeout=120):
    """Run ``python *args``, wait for the line ``ready``, send SIGINT a second later:
    ``(the next line, seconds from SIGINT to it, stderr)``; the child never outlives it."""
    import signal
    import subprocess
    import sys
    import time

    with subprocess.Popen([sys.executable, *args], text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        lines = LineReader(process.stdout)
        try:
            assert lines.next(timeout=timeout) == ready
            time.sleep(1.0)  # well inside the loop
            sent = time.perf_counter()
            process.send_signal(signal.SIGINT)
            line = lines.next(timeout=60)
            latency = time.perf_counter() - sent
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
            errors = process.stderr.read()
    return line, latency, errors, process.returncode


class LineReader:
    """The lines a subprocess prints, each waited for with a timeout (never a hang).

    ``process.stdout.readline()`` blocks for ever when the child hangs; a daemon thread
    reads instead, and :meth:`next` gives up after ``timeout`` seconds.
    """

    def __init__(self, stream):
        import queue
        import threading

        self._lines = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # end of output

    def next(self, timeout):
        """The next line, ``None`` at the end of output; fails the test after ``timeout``."""
        import queue

        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output from the subprocess within {timeout} s")
