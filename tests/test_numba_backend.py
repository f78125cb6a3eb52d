"""What only the numba backend has: its vectorizable activations, kernels called from a
user's ``@njit`` function, its compilation rules (fastmath flags, ``nogil``, the on-disk
cache and its fallback) and what importing it does.

Its kernels, paths and training loops are tested with every compiled backend's in
test_kernels.py.
"""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

if os.environ.get("FASTLR_REQUIRE_ALL") == "1":
    import numba  # FASTLR_REQUIRE_ALL=1: a missing numba is a failure, not a skip
else:
    numba = pytest.importorskip("numba")

from fastlr.backends import _numba_model, _numba_primitives, numba_, python_
from helpers import TIGHT, assert_close, problem, reference

#: every module of the backend: each compiled function in them follows the same rules
MODULES = (numba_, _numba_model, _numba_primitives)


def dispatchers():
    """Every compiled function defined in the backend's modules (not the imported ones)."""
    return [value for module in MODULES for value in vars(module).values()
            if isinstance(value, numba.core.registry.CPUDispatcher)
            and value.py_func.__module__ == module.__name__]


# ---------------------------------------------------------------------------------- activations


def test_vectorizable_activations_match_libm():
    rng = np.random.default_rng(0)
    z = np.concatenate([
        rng.standard_normal(2000) * 5, rng.uniform(-800, 800, 2000),
        [0.0, -0.0, 1e-300, -1e-300, 1e-17, -1e-17, 1e-9, -1e-9, 0.3465, -0.3466, 36.0, -37.5,
         708.0, -708.5, 709.8, -744.0, 745.1, -746.0, 760.0, 1e300, -1e300],
    ])
    Y = (rng.random(z.size) < 0.5).astype(np.float64)
    dz, loss = np.empty_like(z), np.empty_like(z)
    _numba_primitives._activations(z, Y, None, None, 0, z.size, 0.0, dz, loss)
    a = np.array([python_.sigmoid(v) for v in z])
    expected_loss = np.array([python_.loss(v, y) for v, y in zip(z, Y)])
    # a in [0, 1]: a couple of ulps of 1; the loss: a couple of ulps of its largest term
    assert np.all(np.abs(dz - (a - Y)) <= 1e-15)
    assert np.all(np.abs(loss - expected_loss) <= 1e-15 * (1 + np.abs(z)))


def test_sigmoid_of_very_negative_z_keeps_relative_precision():
    # y = 0, z < 0: dz = a = e^z / (1 + e^z), tiny: its exp must be right relatively
    z = -np.concatenate([np.linspace(0.5, 708, 3001), [708.4, 709.0, 720.0, 740.0, 745.0]])
    dz, loss = np.empty_like(z), np.empty_like(z)
    _numba_primitives._activations(z, np.zeros_like(z), None, None, 0, z.size, 0.0, dz,
                                     loss)
    e = np.exp(z)
    normal = e > 2.3e-308
    np.testing.assert_allclose(dz[normal], (e / (1 + e))[normal], rtol=1e-14)
    np.testing.assert_allclose(dz[~normal], e[~normal], rtol=0, atol=1e-322)  # subnormals


def test_log1p_small_arguments_keep_full_precision():
    # y = 0 and z <= 0: loss = log1p(e^z) exactly, the term a naive log(1 + e) gets wrong
    z = -np.array([0.0, 1e-12, 0.5, 0.8, 3.0, 10.0, 20.0, 30.0, 36.0, 40.0, 50.0, 100.0, 700.0])
    dz, loss = np.empty_like(z), np.empty_like(z)
    _numba_primitives._activations(z, np.zeros_like(z), None, None, 0, z.size, 0.0, dz,
                                     loss)
    np.testing.assert_allclose(loss, np.log1p(np.exp(z)), rtol=1e-15, atol=0)


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


# --------------------------------------------------------------------------- compilation rules


def test_serial_kernels_release_the_gil():
    for kernel in (numba_.propagate_loop_kernel, numba_.propagate_vectorized_kernel,
                   numba_.propagate_fused_serial_kernel, numba_.optimize_loop,
                   numba_.optimize_vectorized):
        assert kernel.targetoptions.get("nogil") is True, kernel


def test_every_kernel_states_its_fastmath_flags():
    # unset, a callee inherits the fastmath flags of its first compiling caller (numba#7168):
    # the exact exp/log1p helpers would lose their compensation terms to reassociation
    found = dispatchers()
    assert len(found) > 20
    assert {d.py_func.__module__ for d in found} == {m.__name__ for m in MODULES}
    for dispatcher in found:
        assert "fastmath" in dispatcher.targetoptions, dispatcher.py_func.__name__
    for exact in (_numba_primitives._activations, _numba_primitives._exp_nonpositive,
                  _numba_primitives._log1p_unit, numba_.propagate_loop_kernel):
        assert not exact.targetoptions["fastmath"], exact.py_func.__name__
    assert numba_.propagate_fused_serial_kernel.targetoptions["fastmath"] == numba_.FASTMATH


def test_cache_fallback_when_numba_cannot_cache():
    calls = []

    def fake_njit(**options):
        calls.append(options)
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return lambda function: ("compiled without cache", function, options)

    jit = _numba_primitives.cached_jit_factory(fake_njit)

    def f(x):
        return x

    assert jit(f) == ("compiled without cache", f, {})
    assert jit(fastmath=True)(f) == ("compiled without cache", f, {"fastmath": True})
    assert calls == [{"cache": True}, {}, {"cache": True, "fastmath": True}, {"fastmath": True}]


def test_cache_is_used_when_a_directory_is_writable():
    assert type(numba_.propagate_loop_kernel._cache).__name__ == "FunctionCache"
    assert type(_numba_primitives._activations._cache).__name__ == "FunctionCache"


def test_vectorized_on_strided_X_compiles_without_warnings():
    # NumbaPerformanceWarning would be printed for np.dot on a non-contiguous array
    fresh = numba.njit(numba_.propagate_vectorized_kernel.py_func)  # compiles anew, no cache
    w, b, X, Y = problem(6, 20, seed=3)
    X, Y = X[:, ::2], Y[::2].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fresh(w, b, X, Y)
    assert_close(result, reference(w, b, X, Y))


# ------------------------------------------------------------------------------------ importing


def run_python(code, **env):
    environment = {**os.environ, **env}
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
        from fastlr.backends import _numba_model, _numba_primitives, numba_
        dispatchers = [v for m in (numba_, _numba_model, _numba_primitives)
                       for v in vars(m).values()
                       if isinstance(v, CPUDispatcher)]
        print(len(dispatchers) > 20, sum(len(d.overloads) for d in dispatchers))
        """
    )
    assert out.split() == ["False", "False", "True", "0"]
