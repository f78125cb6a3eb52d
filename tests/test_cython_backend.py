"""What only the Cython backend has: its SIMD activation hooks, the checks its wrappers make,
X read in place, the floor helper and the report of how it was built.

Its kernels, paths and training loops are tested with every compiled backend's in
test_kernels.py.
"""

import math
import os
import tracemalloc

import numpy as np
import pytest

from fastlr import registry
from fastlr.backends import python_
from helpers import TIGHT, problem, reference

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


@pytest.mark.parametrize("variant", KERNELS)
@pytest.mark.parametrize("order", "FC")
def test_x_is_read_in_place(variant, order):
    # 8 MB of X; a copy (or a float64 copy of float32 X) would show in the peak
    w, b, X, Y = problem(1000, 1000, seed=4, order=order)
    for data in (X, X[:, ::2], X.astype(np.float32, order=order)):
        view_Y = Y[: data.shape[1]].copy()
        KERNELS[variant](w, b, data, view_Y)  # warm up
        tracemalloc.start()
        try:
            KERNELS[variant](w, b, data, view_Y)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < data.nbytes / 20, (variant, order, data.strides, peak)


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


def test_wrappers_check_dtype_and_shapes():
    w, b, X, Y = problem(4, 6)
    for kernel in KERNELS.values():
        with pytest.raises(TypeError, match="float64 or float32"):
            kernel(w, b, X.astype(np.int64), Y)
        with pytest.raises(ValueError, match="shapes"):
            kernel(w[:3], b, X, Y)
    with pytest.raises(ValueError, match="num_iterations"):
        OPTIMIZERS["loop"](w, b, X, Y, 0, 0.1)


def test_strided_w_and_Y_are_accepted():
    # the wrappers take w and Y as they come (the kernel contract promises contiguous ones)
    w, b, X, Y = problem(20, 45, seed=3)
    w, X, Y = w[::2], X[::2, ::3], Y[::3]
    dw_ref, db_ref, cost_ref = reference(w.copy(), b, X.copy(), Y.copy())
    for kernel in KERNELS.values():
        dw, db, cost = kernel(w, b, X, Y)
        np.testing.assert_allclose(dw, dw_ref, **TIGHT)
        np.testing.assert_allclose([db, cost], [db_ref, cost_ref], **TIGHT)


def test_floor_helper_sums_x():
    _, _, X, _ = problem(50, 70, seed=15)
    for data, n_threads in ((X, 1), (X, 2), (np.ascontiguousarray(X), 3),
                            (X.astype(np.float32), 2)):
        np.testing.assert_allclose(cython_backend.read_floor(data, n_threads),
                                   float(np.sum(data, dtype=np.float64)), rtol=1e-10)


def test_module_reports_how_it_was_built():
    assert isinstance(cython_backend.OPENMP, bool)
    assert cython_backend.CYTHON_VERSION.count(".") == 2
    assert list(KERNELS) == list(OPTIMIZERS) == list(registry.BACKENDS["cython"].variants)
