"""Every compiled backend's kernels, called directly (no validation layer): one suite.

A backend joins by registration: its descriptor (``fastlr.backends.DESCRIPTORS``) says
``compiled=True``. One that cannot be imported here is skipped with its reason, or fails
under ``FASTLR_REQUIRE_ALL=1``. Each backend is reached by every path through its
kernels: each variant of ``module.KERNELS``, and the fused pass forced to exactly 1
(serial), 2 and 3 chunks through ``module.propagate_fused_chunks``. The reference is the
pure-Python loop (``fastlr.backends.python_.propagate_loop``); closed forms and the
course's published values check the rest. What only one backend has is tested in
test_numba_backend.py and test_cython_backend.py.
"""

import functools
import threading
import time
from typing import Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastlr import registry, threads
from helpers import (
    COMPILED,
    FLOAT32,
    TIGHT,
    assert_close,
    load_or_skip,
    pair_id,
    problem,
    python_loop,
    reference,
)

CHUNKINGS = (1, 2, 3)
#: seconds a test waits for the threads it starts
TIMEOUT = 120


class Path(NamedTuple):
    backend: str
    name: str
    variant: str  # whose numerics: a forced chunking is the fused variant's
    kernel: Callable


PATHS = [(backend, path) for backend in COMPILED
         for path in (*registry.BACKENDS[backend].variants, *(f"chunks-{n}" for n in CHUNKINGS))]
VARIANTS = [(backend, variant) for backend in COMPILED
            for variant in registry.BACKENDS[backend].variants]


def chunked(module, n_chunks):
    """The fused pass of ``module`` with exactly ``n_chunks`` chunks (1: the serial path)."""
    return lambda w, b, X, Y: module.propagate_fused_chunks(w, b, X, Y, n_chunks)


@pytest.fixture(params=COMPILED, scope="module")
def module(request):
    return load_or_skip(request.param)


@pytest.fixture(params=PATHS, ids=pair_id, scope="module")
def path(request):
    backend, name = request.param
    module = load_or_skip(backend)
    if name.startswith("chunks-"):
        return Path(backend, name, "fused", chunked(module, int(name.split("-")[1])))
    return Path(backend, name, name, module.KERNELS[name])


@pytest.fixture(params=VARIANTS, ids=pair_id, scope="module")
def variant(request):
    """(module, variant) for the compiled training loops."""
    backend, name = request.param
    return load_or_skip(backend), name


@pytest.fixture
def set_threads(monkeypatch):
    """Sets fastlr's thread count for this test: ``set_threads(2)``."""
    return lambda n: monkeypatch.setattr(threads, "_num_threads", n)


def tolerance(variant, dtype):
    # float32 X: loop and fused accumulate in float64 (as tight as float64); vectorized
    # multiplies in float32 (BLAS sgemv)
    return FLOAT32 if dtype == np.float32 and variant == "vectorized" else TIGHT


@functools.lru_cache(maxsize=None)
def expected(n_x, m, seed, dtype=np.float64, scale=1.0):
    """The reference on ``problem(n_x, m, seed, …)``: the same numbers in either order."""
    dw, db, cost = reference(*problem(n_x, m, seed, dtype=dtype, scale=scale))
    dw.setflags(write=False)
    return dw, db, cost


@functools.lru_cache(maxsize=None)
def expected_descent(n_x, m, seed, dtype, scale, num_iterations, learning_rate):
    """Gradient descent in Python over the reference, on ``problem(n_x, m, seed, …)``."""
    w, b, X, Y = problem(n_x, m, seed, dtype=dtype, scale=scale)
    return python_loop(reference, w, b, X, Y, num_iterations, learning_rate)


# ------------------------------------------------------------------------ against the reference

#: single feature or example, small, one side much longer than the other, a few thousand elements
SHAPES = [(1, 1), (1, 9), (9, 1), (1, 40), (40, 1), (2, 3), (7, 13), (37, 53), (40, 60),
          (300, 17), (17, 300), (2, 700), (3, 700), (1100, 11), (1500, 7)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("n_x, m", SHAPES)
def test_matches_reference(path, n_x, m, order, dtype):
    seed = n_x * 1000 + m
    result = path.kernel(*problem(n_x, m, seed, order=order, dtype=dtype))
    assert isinstance(result[1], float) and isinstance(result[2], float)
    assert_close(result, expected(n_x, m, seed, dtype), **tolerance(path.variant, dtype))


@pytest.mark.parametrize("n_x, m", [(300, 17), (17, 300), (1, 9)])
def test_loop_adds_in_the_reference_order_in_either_layout(module, n_x, m):
    """Features outer (C order) or examples outer (F order): the same sums, same order."""
    w, b, X, Y = problem(n_x, m, seed=5, order="F")
    by_example = module.KERNELS["loop"](w, b, X, Y)
    by_feature = module.KERNELS["loop"](w, b, np.ascontiguousarray(X), Y)
    np.testing.assert_array_equal(by_feature[0], by_example[0])
    assert by_feature[1:] == by_example[1:]
    assert_close(by_example, expected(n_x, m, 5), rtol=1e-13, atol=1e-16)


@settings(max_examples=30, deadline=None)
@given(n_x=st.integers(1, 40), m=st.integers(1, 70), seed=st.integers(0, 2**32 - 1),
       order=st.sampled_from("FCA"), dtype=st.sampled_from([np.float64, np.float32]),
       n_chunks=st.integers(1, 5))
def test_fused_any_chunking(module, n_x, m, seed, order, dtype, n_chunks):
    w, b, X, Y = problem(n_x, m, seed=seed, order="C" if order == "A" else order, dtype=dtype)
    if order == "A":  # neither C nor F: every other column of a wider array
        X = np.repeat(X, 2, axis=1)[:, ::2]
    assert_close(module.propagate_fused_chunks(w, b, X, Y, n_chunks), reference(w, b, X, Y))


VIEWS = {
    "every other example": lambda X, w, Y: (X[:, ::2], w, Y[::2]),
    "every other feature": lambda X, w, Y: (X[::2, :], w[::2], Y),
    "both": lambda X, w, Y: (X[::2, 1::3], w[::2], Y[1::3]),
    "reversed examples": lambda X, w, Y: (X[:, ::-1], w, Y[::-1]),
    "reversed both": lambda X, w, Y: (X[::-1, ::-1], w[::-1], Y[::-1]),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("view", VIEWS)
def test_strided_read_only_views(path, view, order, dtype):
    w, b, X, Y = problem(20, 45, seed=3, order=order, dtype=dtype)
    X, w, Y = VIEWS[view](X, w, Y)
    w, Y = np.ascontiguousarray(w), np.ascontiguousarray(Y)
    X.setflags(write=False)
    assert_close(path.kernel(w, b, X, Y), reference(w, b, X, Y), **tolerance(path.variant, dtype))


#: shapes either side of the backends' tile and block sizes
BOUNDARIES = [
    # F order, numba: either side of WIDE_FEATURES = 512 (four examples per sweep, remainders)
    *((n_x, m) for n_x in (511, 512) for m in (1, 4, 9, 61)),
    # F order, cython: around the wide/tall switch (8 KiB examples); sweeps of 8 and remainders
    (1023, 19), (1024, 19), (1025, 9), (2048, 8), (2048, 15), (2048, 17),
    # C order: around cython's blocks (4096 examples, 2 MiB); numba's at n_x = 64 are 1024
    # examples: two blocks and a partial one
    (5, 4095), (5, 4097), (700, 259), (64, 2053),
]


@pytest.mark.parametrize("n_chunks", CHUNKINGS)
@pytest.mark.parametrize("order", "FC")
@pytest.mark.parametrize("n_x, m", BOUNDARIES)
def test_fused_tile_and_chunk_boundaries(module, n_x, m, order, n_chunks):
    w, b, X, Y = problem(n_x, m, seed=m, order=order, scale=0.05)
    assert_close(module.propagate_fused_chunks(w, b, X, Y, n_chunks),
                 expected(n_x, m, m, scale=0.05))


def test_fused_path_follows_threads_and_size(module, set_threads):
    """Large X: one chunk per thread, the count read at every call; small X: serial."""
    large, small = (40, 1600), (10, 40)
    w, b, X, Y = problem(*large, seed=6)
    assert X.size >= threads.PARALLEL_MIN_ELEMENTS > small[0] * small[1]
    fused = module.KERNELS["fused"]
    for count in (2, 3, 1):
        set_threads(count)
        result = fused(w, b, X, Y)
        # the chunks are summed in a fixed order: the same chunks give the same bits
        forced = module.propagate_fused_chunks(w, b, X, Y, count)
        np.testing.assert_array_equal(result[0], forced[0])
        assert result[1:] == forced[1:]
        assert_close(result, expected(*large, 6))
    set_threads(2)
    result = fused(*problem(*small, seed=7))
    serial = module.propagate_fused_chunks(*problem(*small, seed=7), 1)
    np.testing.assert_array_equal(result[0], serial[0])
    assert result[1:] == serial[1:]
    assert_close(result, expected(*small, 7))


# ------------------------------------------------------------------------------------- numerics


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_saturated_z_gives_the_exact_finite_cost(path, sign):
    # |z| >= 40: the lecture's log(a), log(1 - a) give inf/nan; the stable form is exact
    X = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5]])
    w = sign * np.array([20.0, 40.0])
    Y = np.array([0.0, 1.0, 0.0, 1.0])
    dw, db, cost = path.kernel(w, 0.0, X, Y)
    z = sign * np.array([40.0, 60.0, 80.0, 100.0])
    exact = np.mean((np.maximum(z, 0) - Y * z) + np.log1p(np.exp(-np.abs(z))))
    dz = np.where(z >= 0, 1.0, 0.0) - Y  # σ(z) rounds to 0 or 1 here
    assert np.isfinite(cost) and np.isfinite(db) and np.isfinite(dw).all()
    np.testing.assert_allclose(cost, exact, rtol=1e-14)
    np.testing.assert_allclose(dw, X @ dz / 4, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(db, dz.mean(), atol=1e-16)
    assert_close((dw, db, cost), reference(w, 0.0, X, Y))


def test_extreme_z_down_to_exp_underflow(path):
    # |z| from 700 to 1e4: e^-|z| is subnormal or zero; everything stays finite and exact
    z = np.array([700.0, 709.5, 720.0, 745.0, 746.0, 800.0, 1e4])
    X = np.concatenate([z, -z])[None, :]
    Y = (np.arange(X.shape[1]) % 2).astype(np.float64)
    dw, db, cost = path.kernel(np.array([1.0]), 0.0, X, Y)
    assert np.isfinite(cost) and np.isfinite(db) and np.isfinite(dw).all()
    assert_close((dw, db, cost), reference(np.array([1.0]), 0.0, X, Y), rtol=1e-13, atol=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("order", "FC")
def test_non_finite_X_gives_a_non_finite_result(path, bad, order):
    w, b, X, Y = problem(20, 64, seed=8, order=order)
    X[3, 17] = bad
    dw, db, cost = path.kernel(w, b, X, Y)  # no crash, no exception: the caller checks
    assert not (np.isfinite(dw).all() and np.isfinite(cost))


def test_inputs_are_not_modified(path):
    w, b, X, Y = problem(6, 50, seed=2, order="F")
    copies = [w.copy(), X.copy(order="F"), Y.copy()]
    dw, _, _ = path.kernel(w, b, X, Y)
    for original, copy in zip((w, X, Y), copies):
        np.testing.assert_array_equal(original, copy)
    assert X.flags.f_contiguous and not np.shares_memory(dw, w)


# ------------------------------------------------------------------------------- training loops

#: (order, dtype, n_x, m, n_threads, num_iterations); the last two are above every
#: threads.PARALLEL_MIN_ELEMENTS: the parallel fused path, two chunks
DESCENTS = [
    ("F", np.float64, 7, 40, 1, 1),
    ("F", np.float64, 7, 40, 1, 100),
    ("F", np.float64, 7, 40, 1, 101),
    ("C", np.float64, 7, 40, 1, 250),
    ("F", np.float32, 30, 40, 1, 230),
    ("F", np.float64, 40, 1600, 2, 12),
    ("C", np.float64, 40, 1600, 2, 12),
]


@pytest.mark.parametrize("order, dtype, n_x, m, n_threads, num_iterations", DESCENTS)
def test_optimizer_matches_python_loops_over_its_kernel_and_the_reference(
        variant, set_threads, order, dtype, n_x, m, n_threads, num_iterations):
    module, name = variant
    set_threads(n_threads)
    w, b, X, Y = problem(n_x, m, seed=10, order=order, dtype=dtype, scale=0.1)
    if n_threads > 1:
        assert X.size >= threads.PARALLEL_MIN_ELEMENTS
    copies = [w.copy(), X.copy(order="A"), Y.copy()]
    result = module.OPTIMIZERS[name](w, b, X, Y, num_iterations, 0.05)
    w_new, b_new, dw, db, costs = result
    for original, copy in zip((w, X, Y), copies):
        np.testing.assert_array_equal(original, copy)
    assert isinstance(w_new, np.ndarray) and w_new.dtype == np.float64 and w_new.shape == (n_x,)
    assert not np.shares_memory(w_new, w) and not np.shares_memory(dw, w)
    assert isinstance(b_new, float) and isinstance(db, float)
    assert len(costs) == (num_iterations + 99) // 100
    assert all(isinstance(cost, float) for cost in costs)
    # the same kernel looped in Python: the same arithmetic, so nearly the same bits
    looped = python_loop(module.KERNELS[name], w, b, X, Y, num_iterations, 0.05)
    for got, want in zip(result, looped):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    # and the pure-Python reference
    descent = expected_descent(n_x, m, 10, dtype, 0.1, num_iterations, 0.05)
    close = FLOAT32 if dtype == np.float32 and name == "vectorized" else dict(rtol=1e-9,
                                                                             atol=1e-13)
    for got, want in zip(result, descent):
        np.testing.assert_allclose(got, want, **close)


def test_optimizer_reproduces_the_course_example(variant):
    module, name = variant
    w, b = np.array([1.0, 2.0]), 2.0
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    Y = np.array([1.0, 0.0, 1.0])
    # the course's test case, optimize(w, b, X, Y, 100, 0.009): its published values
    w_new, b_new, dw, db, costs = module.OPTIMIZERS[name](w, b, X, Y, 100, 0.009)
    np.testing.assert_allclose(w_new, [0.19033591, 0.12259159], rtol=1e-7)
    np.testing.assert_allclose(b_new, 1.92535983008, rtol=1e-11)
    np.testing.assert_allclose(dw, [0.67752042, 1.41625495], rtol=1e-7)
    np.testing.assert_allclose(db, 0.219194504541, rtol=1e-11)
    np.testing.assert_allclose(costs, [5.801545319394553], rtol=1e-12)
    # 2000 iterations: the cost goes down as in a Python loop over the reference
    costs = module.OPTIMIZERS[name](w, b, X, Y, 2000, 0.009)[4]
    assert len(costs) == 20 and costs[-1] < costs[0]
    np.testing.assert_allclose(costs, python_loop(reference, w, b, X, Y, 2000, 0.009)[4],
                               rtol=1e-10)


# -------------------------------------------------------------------------------------- threads


@pytest.mark.parametrize("count", [1, 2], ids=["one-thread", "two-threads"])
def test_two_python_threads_at_once(module, set_threads, count):
    # two threads: each may find the other's parallel team running and go serial
    set_threads(count)
    problems = [((300, 300), 11, "F", np.float64), ((200, 500), 12, "C", np.float64),
                ((40, 60), 13, "F", np.float32)]
    arguments = [problem(*shape, seed=seed, order=order, dtype=dtype)
                 for shape, seed, order, dtype in problems]
    wanted = [expected(*shape, seed, dtype) for shape, seed, _, dtype in problems]
    training = expected_descent(300, 300, 11, np.float64, 1.0, 12, 0.1)
    kernels = {**module.KERNELS, "chunks-1": chunked(module, 1)}
    results = [[], []]
    errors = []
    barrier = threading.Barrier(2, timeout=TIMEOUT)

    def work(k):
        try:
            barrier.wait()
            for _ in range(5):
                for p in (k, 1 - k, 2):
                    for name, kernel in kernels.items():
                        results[k].append((p, name, kernel(*arguments[p])))
            results[k].append(module.OPTIMIZERS["fused"](*arguments[0], 12, 0.1))
        except Exception as error:  # any error in a thread is reported below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT)
    assert not any(worker.is_alive() for worker in workers), "a thread hangs"
    assert errors == []
    for k in range(2):
        *propagations, trained = results[k]
        assert len(propagations) == 5 * 3 * len(kernels)
        for p, name, result in propagations:
            assert_close(result, wanted[p], **tolerance(name, problems[p][3]))
        for got, want in zip(trained, training):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-13)


def test_serial_kernels_release_the_gil(variant, set_threads):
    # the training loop of each variant runs its serial kernel: while it runs in one thread
    # this thread keeps counting, which it could not if the kernel held the GIL
    module, name = variant
    set_threads(1)
    optimize = module.OPTIMIZERS[name]
    w, b, X, Y = problem(200, 200, seed=14)
    iterations = 100
    start = time.perf_counter()
    optimize(w, b, X, Y, iterations, 0.01)
    iterations = max(100, int(iterations * 0.2 / max(time.perf_counter() - start, 1e-6)))
    started = threading.Event()

    def train():
        started.set()
        optimize(w, b, X, Y, iterations, 0.01)  # ~0.2 s

    worker = threading.Thread(target=train)
    worker.start()
    started.wait()
    counted = 0
    while worker.is_alive() and counted < 10**9:  # runs only if the kernel let go of the GIL
        counted += 1
    worker.join(TIMEOUT)
    assert not worker.is_alive(), "the training loop hangs"
    assert counted > 100_000  # a kernel holding the GIL: ~10 000 (the tail of the thread)
