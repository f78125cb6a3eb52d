"""The Cython backend's own tests: its kernels called directly (no validation layer).

The generic contract tests (tests/test_contract.py) cover the public interface of every
implementation; these cover what is particular to ``fastlr.backends._cython``: every
memory layout each kernel walks differently, the tile and chunk boundaries of the fused
pass, its serial and parallel paths, the SIMD activations, the compiled training loops,
the released GIL. The reference is the pure-Python loop.
"""

import math
import os
import threading
import time
import tracemalloc

import numpy as np
import pytest

from conftest import python_loop
from fastlr import threads
from fastlr.backends import python_

try:
    from fastlr.backends import _cython as cython_backend
except ImportError as error:
    if os.environ.get("FASTLR_REQUIRE_ALL") == "1":
        raise ImportError(
            f"FASTLR_REQUIRE_ALL=1 but the Cython extension is not built: {error}"
        ) from error
    pytest.skip(f"the Cython extension is not built ({error})", allow_module_level=True)

KERNELS = cython_backend.KERNELS
OPTIMIZERS = cython_backend.OPTIMIZERS
VARIANTS = ("loop", "vectorized", "fused")
reference = python_.propagate_loop

F64 = dict(rtol=1e-9, atol=1e-12)
#: float32 X: the loop and fused variants accumulate in float64 (as tight as float64);
#: vectorized multiplies in float32 inside sgemv
F32 = {"loop": F64, "fused": F64, "vectorized": dict(rtol=2e-5, atol=2e-6)}


def problem(n_x, m, seed=0, order="F", dtype=np.float64, scale=1.0):
    """Kernel-shaped (w, b, X, Y): w (n_x,), X (n_x, m), Y (m,)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(n_x) * scale
    b = float(rng.standard_normal())
    X = np.asarray(rng.standard_normal((n_x, m)), order=order).astype(dtype, order=order)
    Y = (rng.random(m) < 0.5).astype(np.float64)
    return w, b, X, Y


def assert_matches_reference(result, w, b, X, Y, **tolerance):
    dw, db, cost = result
    dw_ref, db_ref, cost_ref = reference(w, b, np.asarray(X, dtype=np.float64), Y)
    tolerance = tolerance or F64
    assert isinstance(dw, np.ndarray) and dw.dtype == np.float64 and dw.shape == w.shape
    assert isinstance(db, float) and isinstance(cost, float)
    np.testing.assert_allclose(dw, dw_ref, **tolerance)
    np.testing.assert_allclose(db, db_ref, **tolerance)
    np.testing.assert_allclose(cost, cost_ref, **tolerance)


def fused_with(n_chunks):
    """The fused kernel with exactly ``n_chunks`` chunks: 1 is the serial path."""
    return lambda w, b, X, Y: cython_backend._propagate_fused_chunks(w, b, X, Y, n_chunks)


#: every path through the kernels: the three variants, the fused pass serial and split
PATHS = {**KERNELS, "fused-serial": fused_with(1), "fused-2": fused_with(2),
         "fused-3": fused_with(3)}


def tolerance_for(path, dtype):
    return F64 if dtype == np.float64 else F32[path.split("-")[0]]


# --------------------------------------------------------------------------- layouts


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("n_x, m", [(37, 53), (300, 17), (3, 700)])
def test_matches_reference(path, order, dtype, n_x, m):
    w, b, X, Y = problem(n_x, m, seed=n_x + m, order=order, dtype=dtype)
    assert_matches_reference(PATHS[path](w, b, X, Y), w, b, X, Y, **tolerance_for(path, dtype))


VIEWS = {
    "columns": lambda X, w, Y: (X[:, ::2], w, Y[::2]),
    "rows": lambda X, w, Y: (X[::2, :], w[::2], Y),
    "both": lambda X, w, Y: (X[::2, ::3], w[::2], Y[::3]),
    "reversed": lambda X, w, Y: (X[::-1, ::-1], w[::-1].copy(), Y[::-1].copy()),
    "transposed": lambda X, w, Y: (X.T.copy().T if X.flags.c_contiguous else X, w, Y),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("path", PATHS)
def test_strided_read_only_views(path, view, order, dtype):
    w, b, X, Y = problem(20, 45, seed=3, order=order, dtype=dtype)
    X, w, Y = VIEWS[view](X, w, Y)
    X.setflags(write=False)
    Y = np.ascontiguousarray(Y)
    assert_matches_reference(PATHS[path](w, b, X, Y), w, b, X, Y, **tolerance_for(path, dtype))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("order", "FC")
def test_x_is_read_in_place(variant, order):
    # 8 MB of X; a copy (or a float64 copy of float32 X) would show in the peak
    w, b, X, Y = problem(1000, 1000, seed=4, order=order)
    for data in (X, X[:, ::2], X.astype(np.float32, order=order)):
        view_w, view_Y = w, Y[: data.shape[1]].copy()
        KERNELS[variant](view_w, b, data, view_Y)  # warm up
        tracemalloc.start()
        try:
            KERNELS[variant](view_w, b, data, view_Y)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < data.nbytes / 20, (variant, order, data.strides, peak)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("n_x, m", [(1, 1), (1, 40), (40, 1), (2, 3)])
def test_single_feature_or_example(path, order, n_x, m):
    w, b, X, Y = problem(n_x, m, seed=n_x * 100 + m, order=order)
    assert_matches_reference(PATHS[path](w, b, X, Y), w, b, X, Y)


# --------------------------------------------------------------------------- fused pass


@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("n_x, m", [
    (1023, 19), (1024, 19), (1025, 9),  # F order: around the wide/tall switch (8 KiB)
    (2048, 8), (2048, 15), (2048, 17),  # whole sweeps of 8 examples, and remainders
    (5, 4095), (5, 4097), (700, 259),   # C order: around the block sizes
])
@pytest.mark.parametrize("n_chunks", [1, 2, 3])
def test_fused_tile_and_chunk_boundaries(order, n_x, m, n_chunks):
    w, b, X, Y = problem(n_x, m, seed=m, order=order, scale=0.05)
    assert_matches_reference(fused_with(n_chunks)(w, b, X, Y), w, b, X, Y)


def test_fused_takes_the_parallel_path_for_large_problems_only():
    w, b, X, Y = problem(300, 400, seed=6)  # above PARALLEL_MIN_ELEMENTS
    assert X.size >= cython_backend.PARALLEL_MIN_ELEMENTS
    serial = fused_with(1)(w, b, X, Y)
    split = fused_with(2)(w, b, X, Y)
    try:
        threads.set_num_threads(2)
        parallel = KERNELS["fused"](w, b, X, Y)
        small = problem(10, 40, seed=7)
        small_result = KERNELS["fused"](*small)
        threads.set_num_threads(1)
        one_thread = KERNELS["fused"](w, b, X, Y)
    finally:
        threads.set_num_threads(None)
    # the chunks are summed in a fixed order: same chunks, same bits
    np.testing.assert_array_equal(parallel[0], split[0])
    assert parallel[1:] == split[1:]
    np.testing.assert_array_equal(one_thread[0], serial[0])
    assert one_thread[1:] == serial[1:]
    if not np.array_equal(serial[0], split[0]):  # sums in another order: last bits differ
        assert not np.array_equal(parallel[0], serial[0])
    np.testing.assert_array_equal(small_result[0], fused_with(1)(*small)[0])
    assert_matches_reference(parallel, w, b, X, Y)


def test_simd_activations_are_accurate():
    x = np.concatenate([np.linspace(0.0, 50.0, 20001), np.geomspace(1e-300, 1.0, 2000),
                        [300.0, 708.0, 709.5, 744.0, 745.0, 746.0, 800.0, 1e300]])
    e, log1p_e = cython_backend._exp_log1p(x)
    e_ref = np.array([math.exp(-v) for v in x])
    log1p_ref = np.log1p(e_ref)
    np.testing.assert_array_less(np.abs(e - e_ref), 2.5 * np.spacing(e_ref) + 1e-323)
    np.testing.assert_array_less(np.abs(log1p_e - log1p_ref),
                                 4.5 * np.spacing(log1p_ref) + 1e-323)
    e_nan, log1p_nan = cython_backend._exp_log1p(np.array([np.nan, np.inf]))
    assert np.isnan(e_nan[0]) and np.isnan(log1p_nan[0])
    assert e_nan[1] == 0.0 and log1p_nan[1] == 0.0


def test_simd_activations_match_the_stable_formulas():
    z = np.array([-800.0, -40.0, -1.5, -1e-9, 0.0, 1e-9, 2.0, 40.0, 800.0])
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    dz, loss = cython_backend._activations(z, y)
    np.testing.assert_allclose(dz, [python_.sigmoid(v) - t for v, t in zip(z, y)],
                               rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(loss, [python_.loss(v, t) for v, t in zip(z, y)],
                               rtol=1e-15, atol=1e-300)


# --------------------------------------------------------------------------- edges


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_saturated_z_gives_the_exact_finite_cost(path, sign):
    X = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5]])
    w = sign * np.array([20.0, 40.0])
    Y = np.array([0.0, 1.0, 0.0, 1.0])
    dw, db, cost = PATHS[path](w, 0.0, X, Y)
    z = sign * np.array([40.0, 60.0, 80.0, 100.0])
    exact = np.mean(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - Y * z)
    dz = np.where(z >= 0, 1.0, 0.0) - Y  # σ(z) rounds to 0 or 1 here
    assert np.isfinite(cost) and np.isfinite(dw).all()
    np.testing.assert_allclose(cost, exact, rtol=1e-14)
    np.testing.assert_allclose(dw, X @ dz / 4, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(db, dz.mean(), atol=1e-16)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_x_gives_a_non_finite_result(path, order, bad):
    w, b, X, Y = problem(20, 64, seed=8, order=order)
    X = X.copy(order=order)
    X[3, 17] = bad
    dw, db, cost = PATHS[path](w, b, X, Y)
    assert not (np.isfinite(dw).all() and np.isfinite(cost))


@pytest.mark.parametrize("variant", VARIANTS)
def test_inputs_are_not_modified(variant):
    w, b, X, Y = problem(9, 30, seed=9)
    copies = [w.copy(), X.copy(), Y.copy()]
    KERNELS[variant](w, b, X, Y)
    w_new, _, dw, _, _ = OPTIMIZERS[variant](w, b, X, Y, 5, 0.1)
    for original, copy in zip((w, X, Y), copies):
        np.testing.assert_array_equal(original, copy)
    assert not np.shares_memory(w_new, w) and not np.shares_memory(dw, w)


def test_wrappers_check_dtype_and_shapes():
    w, b, X, Y = problem(4, 6)
    for kernel in KERNELS.values():
        with pytest.raises(TypeError, match="float64 or float32"):
            kernel(w, b, X.astype(np.int64), Y)
        with pytest.raises(ValueError, match="shapes"):
            kernel(w[:3], b, X, Y)
    with pytest.raises(ValueError, match="num_iterations"):
        OPTIMIZERS["loop"](w, b, X, Y, 0, 0.1)


# --------------------------------------------------------------------------- training loops


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("order, dtype, n_x, m, n_threads", [
    ("F", np.float64, 7, 25, 1),
    ("C", np.float64, 7, 25, 1),
    ("F", np.float32, 30, 40, 1),
    ("F", np.float64, 300, 300, 2),  # large enough for the parallel fused path
    ("C", np.float64, 300, 300, 2),
])
def test_optimizer_equals_a_python_loop_over_the_same_kernel(variant, order, dtype, n_x, m,
                                                             n_threads):
    w, b, X, Y = problem(n_x, m, seed=10, order=order, dtype=dtype, scale=0.1)
    num_iterations, learning_rate = 230, 0.05
    try:
        threads.set_num_threads(n_threads)
        compiled = OPTIMIZERS[variant](w, b, X, Y, num_iterations, learning_rate)
        looped = python_loop(KERNELS[variant], w, b, X, Y, num_iterations, learning_rate)
    finally:
        threads.set_num_threads(None)
    w_c, b_c, dw_c, db_c, costs_c = compiled
    w_p, b_p, dw_p, db_p, costs_p = looped
    assert isinstance(b_c, float) and isinstance(db_c, float)
    assert len(costs_c) == 3 and all(isinstance(c, float) for c in costs_c)
    for got, want in ((w_c, w_p), (b_c, b_p), (dw_c, dw_p), (db_c, db_p), (costs_c, costs_p)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("variant", VARIANTS)
def test_optimizer_reproduces_the_course_example(variant):
    # the course's test case: optimize(w, b, X, Y, 100, 0.009)
    w, b = np.array([1.0, 2.0]), 2.0
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    Y = np.array([1.0, 0.0, 1.0])
    w_new, b_new, dw, db, costs = OPTIMIZERS[variant](w, b, X, Y, 100, 0.009)
    np.testing.assert_allclose(w_new, [0.19033591, 0.12259159], rtol=1e-7)
    np.testing.assert_allclose(b_new, 1.92535983008, rtol=1e-11)
    np.testing.assert_allclose(dw, [0.67752042, 1.41625495], rtol=1e-7)
    np.testing.assert_allclose(db, 0.219194504541, rtol=1e-11)
    np.testing.assert_allclose(costs, [5.80154532], rtol=1e-8)


def test_tiny_training_loop_is_fast():
    w, b = np.array([1.0, 2.0]), 2.0
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    Y = np.array([1.0, 0.0, 1.0])
    for optimize in OPTIMIZERS.values():
        best = min(_timed(optimize, w, b, X, Y, 2000, 0.009) for _ in range(5))
        assert best < 5e-3, best  # ~0.3 ms measured: per-iteration overhead is C only


def _timed(function, *args):
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- threads


@pytest.mark.parametrize("variant", VARIANTS)
def test_two_python_threads_at_once(variant):
    problems = [problem(300, 300, seed=11, order="F"), problem(200, 500, seed=12, order="C"),
                problem(40, 60, seed=13, order="F", dtype=np.float32)]
    expected = [KERNELS[variant](*p) for p in problems]
    errors = []

    def work(k):
        try:
            for _ in range(20):
                for p, want in zip(problems[k:] + problems[:k], expected[k:] + expected[:k]):
                    got = KERNELS[variant](*p)
                    # the same chunking unless the other thread holds the parallel team
                    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-15)
                    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-12, atol=1e-15)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_gil_is_released(variant):
    w, b, X, Y = problem(200, 200, seed=14)
    iterations = 100
    start = time.perf_counter()
    OPTIMIZERS[variant](w, b, X, Y, iterations, 0.01)
    iterations = max(100, int(iterations * 0.2 / max(time.perf_counter() - start, 1e-6)))
    started = threading.Event()

    def train():
        started.set()
        OPTIMIZERS[variant](w, b, X, Y, iterations, 0.01)  # ~0.2 s

    worker = threading.Thread(target=train)
    worker.start()
    started.wait()
    counted = 0
    while worker.is_alive():  # runs only if the kernel let go of the GIL
        counted += 1
    worker.join()
    assert counted > 100_000  # a kernel holding the GIL: ~10 000 (the tail of the thread)


def test_floor_helper_sums_x():
    _, _, X, _ = problem(50, 70, seed=15)
    for data, n_threads in ((X, 1), (X, 2), (np.ascontiguousarray(X), 3),
                            (X.astype(np.float32), 2)):
        np.testing.assert_allclose(cython_backend._read_floor(data, n_threads),
                                   float(np.sum(data, dtype=np.float64)), rtol=1e-10)


def test_module_reports_how_it_was_built():
    assert isinstance(cython_backend.OPENMP, bool)
    assert cython_backend.CYTHON_VERSION.count(".") == 2
    assert set(KERNELS) == set(OPTIMIZERS) == set(VARIANTS)
