"""The numba backend specifically: its compiled paths, helpers, training loops and caching.

The contract every implementation meets is tested in test_contract.py; here are the things
only this backend has: the serial and parallel paths of ``fused`` and its memory-order
kernels, the vectorizable exp/log1p, the compiled training loops, the kernels called from a
user's ``@njit`` function, thread safety, and the on-disk-cache fallback.
"""

import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

if os.environ.get("FASTLR_REQUIRE_ALL") == "1":
    import numba  # FASTLR_REQUIRE_ALL=1: a missing numba is a failure, not a skip
else:
    numba = pytest.importorskip("numba")

from conftest import python_loop
from fastlr import threads
from fastlr.backends import numba_, python_

PROJECT = Path(__file__).resolve().parents[1]
TIGHT = {"rtol": 1e-9, "atol": 1e-12}


def problem(n_x, m, seed=0, order="F", dtype=np.float64, scale=1.0):
    """Kernel-shaped (w, b, X, Y): w (n_x,), Y (m,)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(n_x) * scale
    b = float(rng.standard_normal())
    X = np.asarray(rng.standard_normal((n_x, m)), order=order).astype(dtype, order=order)
    Y = (rng.random(m) < 0.5).astype(np.float64)
    return w, b, X, Y


def reference(w, b, X, Y):
    dw, db, cost = python_.propagate_loop(w, b, np.asarray(X, dtype=np.float64), Y)
    return np.asarray(dw), db, cost


def assert_close(result, expected, **tolerance):
    tolerance = tolerance or TIGHT
    dw, db, cost = result
    assert isinstance(dw, np.ndarray) and dw.dtype == np.float64 and dw.shape == expected[0].shape
    np.testing.assert_allclose(dw, expected[0], **tolerance)
    np.testing.assert_allclose(db, expected[1], **tolerance)
    np.testing.assert_allclose(cost, expected[2], **tolerance)


@pytest.fixture
def serial(monkeypatch):
    """The fused variant takes its serial path (one thread)."""
    monkeypatch.setattr(threads, "_num_threads", 1)


@pytest.fixture
def parallel(monkeypatch):
    """The fused variant takes its parallel path (two chunks), whatever the size."""
    monkeypatch.setattr(numba_, "PARALLEL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(threads, "_num_threads", 2)


#: every way a kernel of this backend is reached: name -> (fixture, kernel)
PATHS = {
    "loop": (None, numba_.propagate_loop_kernel),
    "vectorized": (None, numba_.propagate_vectorized_kernel),
    "fused-serial": ("serial", numba_.KERNELS["fused"]),
    "fused-parallel": ("parallel", numba_.KERNELS["fused"]),
    "fused-kernel": (None, numba_.propagate_fused_kernel),  # prange over Numba's pool
}


@pytest.fixture(params=list(PATHS))
def path(request):
    fixture, kernel = PATHS[request.param]
    if fixture:
        request.getfixturevalue(fixture)
    return request.param, kernel


# ------------------------------------------------------------------------ against the reference

SHAPES = [(1, 1), (1, 9), (9, 1), (7, 13), (300, 17), (17, 300), (1100, 11), (2, 700)]


@pytest.mark.parametrize("n_x, m", SHAPES)
@pytest.mark.parametrize("order", "FC")
def test_matches_reference(path, n_x, m, order):
    _, kernel = path
    w, b, X, Y = problem(n_x, m, seed=n_x * 1000 + m, order=order)
    assert_close(kernel(w, b, X, Y), reference(w, b, X, Y))


@pytest.mark.parametrize("n_x, m", [(300, 17), (17, 300), (1, 9)])
def test_loop_adds_in_the_reference_order_in_either_layout(n_x, m):
    """Features outer (C order) or examples outer (F order): the same sums, same order."""
    w, b, X, Y = problem(n_x, m, seed=5, order="F")
    by_example = numba_.propagate_loop_kernel(w, b, X, Y)
    by_feature = numba_.propagate_loop_kernel(w, b, np.ascontiguousarray(X), Y)
    python_loop = reference(w, b, X, Y)
    for got in (by_example, by_feature):
        np.testing.assert_array_equal(got[0], by_example[0])
        assert got[1:] == by_example[1:]
        np.testing.assert_allclose(got[0], python_loop[0], rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("view", ["every other example", "every third feature", "reversed",
                                  "transposed copy", "both"])
def test_strided_views(path, view):
    _, kernel = path
    w, b, X, Y = problem(30, 80, seed=3, order="C")
    if view == "every other example":
        X, Y = X[:, ::2], Y[::2].copy()
    elif view == "every third feature":
        X, w = X[::3, :], w[::3].copy()
    elif view == "reversed":
        X = X[:, ::-1]
    elif view == "transposed copy":
        X = np.ascontiguousarray(X.T).T
    else:
        X, w, Y = np.asfortranarray(X)[::2, 1::3], w[::2].copy(), Y[1::3].copy()
    X.setflags(write=False)
    assert_close(kernel(w, b, X, Y), reference(w, b, X, Y))


@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("n_x, m", [(40, 60), (1500, 7)])
def test_float32_X(path, order, n_x, m):
    name, kernel = path
    w, b, X, Y = problem(n_x, m, seed=11, order=order, dtype=np.float32)
    result = kernel(w, b, X, Y)
    if name == "vectorized":  # float32 BLAS products: float32 tolerance
        assert_close(result, reference(w, b, X, Y), rtol=2e-5, atol=2e-6)
    else:  # float32 read, float64 accumulated: as exact as float64
        assert_close(result, reference(w, b, X, Y))


@settings(max_examples=30, deadline=None)
@given(n_x=st.integers(1, 40), m=st.integers(1, 70), seed=st.integers(0, 2**32 - 1),
       order=st.sampled_from("FCA"), dtype=st.sampled_from([np.float64, np.float32]),
       n_chunks=st.integers(1, 5))
def test_fused_parallel_kernel_any_chunking(n_x, m, seed, order, dtype, n_chunks):
    w, b, X, Y = problem(n_x, m, seed=seed, order="C" if order == "A" else order, dtype=dtype)
    if order == "A":
        X = np.repeat(X, 2, axis=1)[:, ::2]
    result = numba_._propagate_fused_parallel(w, b, X, Y, n_chunks)
    assert_close(result, reference(w, b, X, Y))


@pytest.mark.parametrize("n_x", [numba_.WIDE_FEATURES - 1, numba_.WIDE_FEATURES])
@pytest.mark.parametrize("m", [1, 4, 9, 61])
def test_fused_both_sides_of_the_wide_threshold(serial, n_x, m):
    # below: L1 tiles of examples; at and above: four examples per sweep (with a remainder)
    w, b, X, Y = problem(n_x, m, seed=m, scale=0.05)
    assert_close(numba_.KERNELS["fused"](w, b, X, Y), reference(w, b, X, Y))


def test_fused_C_order_many_blocks(serial):
    # more examples than one block of the C-ordered kernel, and a partial last block
    n_x = 64
    block = max(numba_.ROWS_MIN_BLOCK, min(8192, numba_.BLOCK_BYTES // (n_x * 8)))
    w, b, X, Y = problem(n_x, 2 * block + 5, seed=4, order="C", scale=0.1)
    assert_close(numba_.KERNELS["fused"](w, b, X, Y), reference(w, b, X, Y))


# ------------------------------------------------------------------------------ which path runs


def test_fused_path_follows_threads_and_size(monkeypatch):
    small = problem(5, 7)
    large = problem(8, numba_.PARALLEL_MIN_ELEMENTS // 8 + 1)
    monkeypatch.setattr(threads, "_num_threads", 2)
    numba_.OPTIMIZERS["fused"](*large, 1, 0.1)  # compiled before the spy replaces the global
    calls = []
    parallel_kernel = numba_._propagate_fused_parallel

    def spy(*args):
        calls.append(args[-1])
        return parallel_kernel(*args)

    monkeypatch.setattr(numba_, "_propagate_fused_parallel", spy)
    numba_.KERNELS["fused"](*small)
    assert calls == []  # below the threshold: serial
    numba_.KERNELS["fused"](*large)
    assert calls == [2]  # one chunk per thread
    monkeypatch.setattr(threads, "_num_threads", 3)
    numba_.OPTIMIZERS["fused"](*large, 1, 0.1)
    numba_.KERNELS["fused"](*large)
    # the optimizer runs its own compiled loop; the kernel reads the thread count anew
    assert calls == [2, 3]
    monkeypatch.setattr(threads, "_num_threads", 1)
    numba_.KERNELS["fused"](*large)
    assert calls == [2, 3]


# ------------------------------------------------------------------------------------- numerics


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_saturated_z_gives_finite_exact_cost(path, sign):
    X = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5]])
    w = sign * np.array([20.0, 40.0])
    Y = np.array([0.0, 1.0, 0.0, 1.0])
    _, kernel = path
    dw, db, cost = kernel(w, 0.0, X, Y)
    z = sign * np.array([40.0, 60.0, 80.0, 100.0])
    exact = np.mean(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - Y * z)
    assert np.isfinite(cost) and np.isfinite(db) and np.isfinite(dw).all()
    np.testing.assert_allclose(cost, exact, rtol=1e-14)
    assert_close((dw, db, cost), reference(w, 0.0, X, Y))


def test_extreme_z_down_to_exp_underflow(path):
    # |z| from 700 to 1e4: e^-|z| is subnormal or zero; everything stays finite and exact
    z = np.array([700.0, 709.5, 720.0, 745.0, 746.0, 800.0, 1e4])
    X = np.concatenate([z, -z])[None, :]
    Y = (np.arange(X.shape[1]) % 2).astype(np.float64)
    _, kernel = path
    dw, db, cost = kernel(np.array([1.0]), 0.0, X, Y)
    assert np.isfinite(cost) and np.isfinite(db) and np.isfinite(dw).all()
    assert_close((dw, db, cost), reference(np.array([1.0]), 0.0, X, Y), rtol=1e-13, atol=0)


def test_vectorizable_activations_match_libm():
    rng = np.random.default_rng(0)
    z = np.concatenate([
        rng.standard_normal(2000) * 5, rng.uniform(-800, 800, 2000),
        [0.0, -0.0, 1e-300, -1e-300, 1e-17, -1e-17, 1e-9, -1e-9, 0.3465, -0.3466, 36.0, -37.5,
         708.0, -708.5, 709.8, -744.0, 745.1, -746.0, 760.0, 1e300, -1e300],
    ])
    Y = (rng.random(z.size) < 0.5).astype(np.float64)
    dz, loss = np.empty_like(z), np.empty_like(z)
    numba_._activations(z, Y, 0, z.size, 0.0, dz, loss)
    a = np.array([python_.sigmoid(v) for v in z])
    expected_loss = np.array([python_.loss(v, y) for v, y in zip(z, Y)])
    # a in [0, 1]: a couple of ulps of 1; the loss: a couple of ulps of its largest term
    assert np.all(np.abs(dz - (a - Y)) <= 1e-15)
    assert np.all(np.abs(loss - expected_loss) <= 1e-15 * (1 + np.abs(z)))


def test_sigmoid_of_very_negative_z_keeps_relative_precision():
    # y = 0, z < 0: dz = a = e^z / (1 + e^z), tiny: its exp must be right relatively
    z = -np.concatenate([np.linspace(0.5, 708, 3001), [708.4, 709.0, 720.0, 740.0, 745.0]])
    dz, loss = np.empty_like(z), np.empty_like(z)
    numba_._activations(z, np.zeros_like(z), 0, z.size, 0.0, dz, loss)
    e = np.exp(z)
    normal = e > 2.3e-308
    np.testing.assert_allclose(dz[normal], (e / (1 + e))[normal], rtol=1e-14)
    np.testing.assert_allclose(dz[~normal], e[~normal], rtol=0, atol=1e-322)  # subnormals


def test_log1p_small_arguments_keep_full_precision():
    # y = 0 and z <= 0: loss = log1p(e^z) exactly, the term a naive log(1 + e) gets wrong
    z = -np.array([0.0, 1e-12, 0.5, 0.8, 3.0, 10.0, 20.0, 30.0, 36.0, 40.0, 50.0, 100.0, 700.0])
    dz, loss = np.empty_like(z), np.empty_like(z)
    numba_._activations(z, np.zeros_like(z), 0, z.size, 0.0, dz, loss)
    np.testing.assert_allclose(loss, np.log1p(np.exp(z)), rtol=1e-15, atol=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("order", "FC")
def test_non_finite_X_propagates_without_crashing(path, bad, order):
    w, b, X, Y = problem(9, 30, seed=1, order=order)
    X = X.copy(order="A")
    X[4, 17] = bad
    _, kernel = path
    dw, db, cost = kernel(w, b, X, Y)
    assert not (np.isfinite(cost) and np.isfinite(db) and np.isfinite(dw).all())


def test_inputs_are_not_modified(path):
    w, b, X, Y = problem(6, 50, seed=2, order="F")
    copies = [w.copy(), X.copy(order="F"), Y.copy()]
    _, kernel = path
    kernel(w, b, X, Y)
    for original, copy in zip((w, X, Y), copies):
        np.testing.assert_array_equal(original, copy)


# ------------------------------------------------------------------------------- training loops


@pytest.mark.parametrize("variant, fixture", [("loop", None), ("vectorized", None),
                                              ("fused", "serial"), ("fused", "parallel")])
@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("num_iterations", [1, 100, 101, 250])
def test_optimizer_matches_a_python_loop_over_the_kernel(request, variant, fixture, order,
                                                         num_iterations):
    if fixture:
        request.getfixturevalue(fixture)
    w, b, X, Y = problem(7, 40, seed=8, order=order)
    w_before = w.copy()
    result = numba_.OPTIMIZERS[variant](w, b, X, Y, num_iterations, 0.05)
    expected = python_loop(numba_.KERNELS[variant], w, b, X, Y, num_iterations, 0.05)
    w_new, b_new, dw, db, costs = result
    np.testing.assert_array_equal(w, w_before)
    assert isinstance(w_new, np.ndarray) and w_new.dtype == np.float64 and w_new.shape == (7,)
    assert not np.shares_memory(w_new, w)
    assert len(costs) == len(expected[4]) == (num_iterations + 99) // 100
    for got, want in zip((w_new, b_new, dw, db, costs), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_optimizer_on_the_course_problem_shape():
    # the lecture's 2x3 example: cost goes down, and the compiled loop agrees with python's
    w, b = np.array([1.0, 2.0]), 2.0
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    Y = np.array([1.0, 0.0, 1.0])
    for variant in ("loop", "vectorized", "fused"):
        _, _, _, _, costs = numba_.OPTIMIZERS[variant](w, b, X, Y, 2000, 0.009)
        assert len(costs) == 20 and costs[-1] < costs[0]
        np.testing.assert_allclose(costs, python_loop(reference, w, b, X, Y, 2000, 0.009)[4],
                                   rtol=1e-10)


# ------------------------------------------------------------------------------- from user code


@numba.njit
def user_function(w, b, X, Y):
    """A user's compiled function calling every exported kernel."""
    r1 = numba_.propagate_loop_kernel(w, b, X, Y)
    r2 = numba_.propagate_vectorized_kernel(w, b, X, Y)
    r3 = numba_.propagate_fused_serial_kernel(w, b, X, Y)
    r4 = numba_.propagate_fused_kernel(w, b, X, Y)
    costs = numba_.optimize_loop(w, b, X, Y, 3, 0.1)[4]
    return r1, r2, r3, r4, costs[0]


@pytest.mark.parametrize("order", "FC")
def test_kernels_callable_from_a_user_njit_function(order):
    w, b, X, Y = problem(11, 23, seed=5, order=order)
    expected = reference(w, b, X, Y)
    *results, first_cost = user_function(w, b, X, Y)
    for result in results:
        assert_close(result, expected)
    np.testing.assert_allclose(first_cost, expected[2], **TIGHT)


# -------------------------------------------------------------------------------------- threads


@pytest.mark.parametrize("fixture", ["serial", "parallel"])
def test_two_python_threads_at_once(request, fixture):
    request.getfixturevalue(fixture)
    problems = [problem(50, 400, seed=s, order="FC"[s]) for s in range(2)]
    expected = [reference(*p) for p in problems]
    expected_training = [python_loop(numba_.KERNELS["fused"], *p, 120, 0.1) for p in problems]
    results = [[], []]
    errors = []
    barrier = threading.Barrier(2)

    def work(k):
        try:
            barrier.wait()
            for _ in range(10):
                for variant in ("loop", "vectorized", "fused"):
                    results[k].append(numba_.KERNELS[variant](*problems[k]))
                results[k].append(numba_.propagate_fused_serial_kernel(*problems[k]))
            results[k].append(numba_.OPTIMIZERS["fused"](*problems[k], 120, 0.1))
        except Exception as error:  # noqa: BLE001 - any error in a thread is reported below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    for k in range(2):
        *propagations, training = results[k]
        assert len(propagations) == 40
        for result in propagations:
            assert_close(result, expected[k])
        for got, want in zip(training, expected_training[k]):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_serial_kernels_release_the_gil():
    for kernel in (numba_.propagate_loop_kernel, numba_.propagate_vectorized_kernel,
                   numba_.propagate_fused_serial_kernel, numba_.optimize_loop,
                   numba_.optimize_vectorized):
        assert kernel.targetoptions.get("nogil") is True, kernel


# ------------------------------------------------------------------------- compilation, caching


def test_cache_fallback_when_numba_cannot_cache():
    calls = []

    def fake_njit(**options):
        calls.append(options)
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return lambda function: ("compiled without cache", function, options)

    jit = numba_.cached_jit_factory(fake_njit)

    def f(x):
        return x

    assert jit(f) == ("compiled without cache", f, {})
    assert jit(fastmath=True)(f) == ("compiled without cache", f, {"fastmath": True})
    assert calls == [{"cache": True}, {}, {"cache": True, "fastmath": True}, {"fastmath": True}]


def test_every_kernel_states_its_fastmath_flags():
    # unset, a callee inherits the fastmath flags of its first compiling caller (numba#7168):
    # the exact exp/log1p helpers would lose their compensation terms to reassociation
    dispatchers = [value for value in vars(numba_).values()
                   if isinstance(value, numba.core.registry.CPUDispatcher)]
    assert len(dispatchers) > 10
    for dispatcher in dispatchers:
        assert "fastmath" in dispatcher.targetoptions, dispatcher.py_func.__name__
    assert not numba_._activations.targetoptions["fastmath"]
    assert not numba_.propagate_loop_kernel.targetoptions["fastmath"]


def test_cache_is_used_when_a_directory_is_writable():
    assert type(numba_.propagate_loop_kernel._cache).__name__ == "FunctionCache"


def run_python(code, **env):
    environment = {**os.environ, "PYTHONPATH": str(PROJECT), **env}
    completed = subprocess.run([sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
                               env=environment, capture_output=True, text=True, timeout=300,
                               check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_import_without_a_writable_cache_directory(tmp_path):
    # a directory below a regular file can never be created, not even by root
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = run_python(
        """
        import numpy as np
        from fastlr.backends import numba_, python_
        kernel = numba_.propagate_loop_kernel
        print(type(kernel._cache).__name__)
        w, Y = np.array([1.0, 2.0]), np.array([1.0, 0.0, 1.0])
        X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
        dw, db, cost = kernel(w, 2.0, X, Y)
        assert np.allclose(dw, python_.propagate_loop(w, 2.0, X, Y)[0], rtol=1e-12)
        print(round(cost, 6))
        """,
        NUMBA_CACHE_DIR=str(blocker / "numba"),
        NUMBA_CACHE_LOCATOR_CLASSES="UserProvidedCacheLocator",
    )
    assert out.split() == ["NullCache", "5.801545"]


def test_importing_fastlr_imports_no_numba_and_the_backend_compiles_nothing():
    out = run_python(
        """
        import sys
        import fastlr
        print("numba" in sys.modules, "fastlr.backends.numba_" in sys.modules)
        from numba.core.registry import CPUDispatcher
        from fastlr.backends import numba_
        dispatchers = [v for v in vars(numba_).values() if isinstance(v, CPUDispatcher)]
        print(len(dispatchers) > 10, sum(len(d.overloads) for d in dispatchers))
        """
    )
    assert out.split() == ["False", "False", "True", "0"]


def test_vectorized_on_strided_X_compiles_without_warnings():
    # NumbaPerformanceWarning would be printed for np.dot on a non-contiguous array
    fresh = numba.njit(numba_.propagate_vectorized_kernel.py_func)  # compiles anew, no cache
    w, b, X, Y = problem(6, 20, seed=3)
    X = X[:, ::2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fresh(w, b, X, Y[::2].copy())
    assert_close(result, reference(w, b, X, Y[::2].copy()))
