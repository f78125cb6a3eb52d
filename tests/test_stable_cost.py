"""The cost of one example, ``L(z, y) = log(1 + e^z) - y z``, to a few ulps for every finite z.

Every implementation of the course's API (``implementation``: every registered pair) and
every estimator kernel (``loss_gradient`` of each backend's model module, dense and sparse)
is given one example at a time — a one-feature problem with ``w = 1``, ``b = 0``, so
``z = x`` and the returned cost (or ``Σ s L`` with ``s = 1``) is that example's ``L`` —
for each ``z`` of :data:`GRID` (``|z|`` up to 800, where ``e^-|z|`` is no longer a float64)
and ``y`` in {0, 1}. One example per call: a single inaccurate example fails the test.

Reference: ``L(z, y) = log(1 + e^t)``, ``t = (1 - 2y) z``, evaluated as ``max(t, 0) +
log1p(e^-|t|)`` in ``np.longdouble`` (x87 extended: 11 more bits than float64, and the range
for ``e^-800``). Error unit: the ulp of the reference rounded to float64 (``np.spacing``):
for a normal result ``k`` ulps is a relative error of at most ``k · 2^-52``; where the result
is subnormal or rounds to 0 (``e^-|z|`` for ``|z| >~ 708``) it is ``k`` steps of 4.9e-324.

Tolerances, from the largest error measured on this grid (x86-64, glibc; the SIMD
activations compiled for x86-64, x86-64-v3 and x86-64-v4 alike):

* libm's ``exp``/``log1p`` (the loop and vectorized variants, the sparse kernels, NumPy's
  estimator kernels): 0.99 ulp measured, :data:`LIBM_ULPS` = 2 allowed (relative
  4.4e-16);
* the vectorizable polynomial ``exp``/``log1p`` of the fused passes (``fastlr_simd.h``,
  ``_numba_primitives``; the compiled backends' dense estimator kernels): 2.31 ulp
  measured, :data:`POLYNOMIAL_ULPS` = 3 allowed (relative 6.7e-16).

The form ``max(z, 0) + log1p(e^-|z|) - y z`` fails this for ``y = 1`` and large ``z``
(``z - z`` cancels after ``log1p(e^-z)`` was lost in ``z + …``: 0.0 instead of 6.3e-16 at
``z = 35``, -1.3 % at ``z = 30``); grouping ``(max(z, 0) - y z) + log1p(e^-|z|)`` makes the
bracket exact (0 or ``|z|``) for ``y`` in {0, 1}.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fastlr import registry
from helpers import MODEL_BACKENDS, load_model_or_skip, load_or_skip

LIBM_ULPS = 2.0
POLYNOMIAL_ULPS = 3.0

_SPECIAL = [0.0, 5e-324, 1e-310, 1e-300, 1e-200, 1e-100, 1e-30, 1e-17, 1e-16, 1e-10, 1e-5,
            0.1, 0.5, 1.0, 2.0, 10.0, 30.0, 35.0, 36.0, 36.73, 36.74, 36.8, 37.0, 40.0, 50.0,
            100.0, 300.0, 700.0, 708.0, 709.5, 709.8, 710.0, 740.0, 744.0, 745.0, 745.1,
            745.2, 746.0, 800.0]
_MAGNITUDES = np.unique(np.concatenate([
    np.arange(0.0, 50.0, 0.05),  # where log1p(e^-|z|) matters: steps of 0.05
    np.arange(50.0, 800.0, 2.5),
    np.geomspace(1e-300, 1e-3, 25),
    _SPECIAL,
]))
#: every z tested: the magnitudes above with both signs
GRID = np.unique(np.concatenate([-_MAGNITUDES, _MAGNITUDES]))

if np.finfo(np.longdouble).nmant <= np.finfo(np.float64).nmant:  # pragma: no cover
    pytest.skip("np.longdouble is float64 here: no reference more precise than the tested",
                allow_module_level=True)


def exact(z, y):
    """``log(1 + e^((1 - 2y) z))`` in np.longdouble, elementwise."""
    t = (1 - 2 * y) * np.asarray(z, dtype=np.longdouble)
    return np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t)))


def assert_ulps(cost, y, ulps, what):
    """``cost[k]`` (one per ``GRID[k]``, label ``y``) within ``ulps`` of the exact loss."""
    cost = np.asarray(cost, dtype=np.float64)
    assert cost.shape == GRID.shape
    reference = exact(GRID, y)
    unit = np.spacing(reference.astype(np.float64)).astype(np.longdouble)
    error = np.asarray(np.abs(cost.astype(np.longdouble) - reference) / unit, dtype=np.float64)
    worst = int(np.argmax(error))  # NaN first, if any
    assert error[worst] <= ulps, (
        f"{what}, y = {y:g}: {error[worst]:.3g} ulps at z = {float(GRID[worst])!r} "
        f"(got {float(cost[worst])!r}, exact {float(reference[worst])!r}); allowed {ulps:g}")


@pytest.mark.parametrize("y", [0.0, 1.0])
def test_course_cost_of_one_example(implementation, y):
    """Every (backend, variant): ``cost`` of X (1, 1) = [[z]], w = [[1]], b = 0."""
    w = np.ones((1, 1))
    Y = np.full((1, 1), y)
    cost = [implementation.propagate(w, 0.0, np.full((1, 1), z), Y)[1] for z in GRID]
    ulps = POLYNOMIAL_ULPS if implementation.variant == "fused" else LIBM_ULPS
    assert_ulps(cost, y, ulps, f"{implementation.backend}-{implementation.variant}")


@pytest.mark.parametrize("weighted", [False, True], ids=["unit", "sw"])
@pytest.mark.parametrize("layout", ["dense", "csr", "csc"])
@pytest.mark.parametrize("backend", MODEL_BACKENDS)
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_model_loss_of_one_example(backend, layout, weighted, y):
    """Every estimator kernel: ``Σ s L`` of X (1, 1) = [[z]] (dense, CSR, CSC), w = [1],
    b = 0, unit weights (``sw=None``) or ``sw = [1]`` (the weighted path)."""
    kernels = load_model_or_skip(backend)
    labels = np.full(1, y)
    sw = np.ones(1) if weighted else None
    grad = np.empty(1)
    build = {"dense": np.asarray, "csr": sp.csr_matrix, "csc": sp.csc_matrix}[layout]
    loss = [kernels.loss_gradient(np.ones(1), 0.0, build(np.full((1, 1), z)), labels, sw,
                                  grad)[0] for z in GRID]
    polynomial = layout == "dense" and registry.BACKENDS[backend].compiled
    assert_ulps(loss, y, POLYNOMIAL_ULPS if polynomial else LIBM_ULPS,
                f"{backend} loss_gradient ({layout})")


@pytest.mark.parametrize("y", [0.0, 1.0])
def test_numba_fused_activations_vectorized(y):
    """The numba fused pass's activations on the whole grid at once (its SIMD loop body,
    each example's loss written out), not one example per call."""
    load_or_skip("numba")
    from fastlr.backends import _numba_primitives

    dz, loss = np.empty_like(GRID), np.empty_like(GRID)
    _numba_primitives._activations(GRID.copy(), np.full_like(GRID, y), None, None, 0,
                                   GRID.size, 0.0, dz, loss)
    assert_ulps(loss, y, POLYNOMIAL_ULPS, "numba _activations")


def test_the_grid_reaches_the_cases_that_matter():
    for z in (0.0, 5e-324, 30.0, 35.0, 36.8, 37.0, 40.0, 700.0, 745.0, 800.0):
        assert z in GRID and -z in GRID
    # y = 1, z = 35: L = log1p(e^-35) = 6.3e-16, which z + log1p(e^-z) - z rounds to 0.0
    assert float(exact(35.0, 1.0)) == pytest.approx(6.305116760146989e-16, rel=1e-15)
    assert (35.0 + np.log1p(np.exp(-35.0))) - 35.0 == 0.0
