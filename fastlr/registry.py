"""Backends × variants: lazy import, availability with reasons, and the fastest one.

A backend is a module of :mod:`fastlr.backends`, imported the first time it is asked for
(so ``import fastlr`` imports no numba and compiles nothing). :func:`get` wraps one of its
kernels in an :class:`Implementation`, which validates the course-shaped inputs, calls the
kernel and shapes its results like the course.
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from fastlr import threads, validation

#: backend name -> (module, variants, what to do when it cannot be imported)
BACKENDS = {
    "python": ("fastlr.backends.python_", ("loop", "vectorized"),
               "it needs only the standard library"),
    "numpy": ("fastlr.backends.numpy_", ("loop", "vectorized"), "pip install numpy"),
    "numba": ("fastlr.backends.numba_", ("loop", "vectorized", "fused"), "pip install numba"),
    "cython": (
        "fastlr.backends._cython",
        ("loop", "vectorized", "fused"),
        "the compiled extension is missing: reinstall fastlr where a C compiler is available "
        "(pip install --force-reinstall --no-deps .) and look for the build error",
    ),
}

#: ``loop`` and ``vectorized`` are the lecture's two forms (DESIGN.md section 2), in every
#: backend; ``fused`` is the compiled backends' fastest path: one multi-threaded pass over X.
VARIANTS = ("loop", "vectorized", "fused")

#: every (backend, variant) pair fastlr implements, listed by implementations()
PAIRS = tuple((backend, variant) for backend, (_, variants, _) in BACKENDS.items()
              for variant in variants)

#: fastest() without measuring (FASTLR_AUTOTUNE=0) picks the first available pair of this
#: list: the one-pass fused kernels; then BLAS-based code (two passes over X, SIMD and
#: threads); then the compiled loops, which read X once but add one term at a time (no
#: SIMD: ~6x slower than BLAS at the cat size); interpreted loops last.
PREFERENCE = (
    ("cython", "fused"),
    ("numba", "fused"),
    ("cython", "vectorized"),
    ("numba", "vectorized"),
    ("numpy", "vectorized"),
    ("cython", "loop"),
    ("numba", "loop"),
    ("python", "vectorized"),
    ("python", "loop"),
    ("numpy", "loop"),
)

#: environment variable that makes backend="auto" mean this backend
ENV_BACKEND = "FASTLR_BACKEND"


class BackendUnavailable(ImportError):
    """A backend that is known to fastlr but cannot be used here; the message says why."""


class ImplementationInfo(NamedTuple):
    """One entry of :func:`implementations`."""

    backend: str
    variant: str
    available: bool
    reason: str | None  # why it is unavailable, with an install hint; None when available


@functools.lru_cache(maxsize=None)
def _load(backend: str):
    """The backend's module; raises BackendUnavailable (cached either way)."""
    module_name, _, hint = BACKENDS[backend]
    if backend in ("numba", "cython"):  # their parallel kernels use OpenMP
        threads.configure_openmp()
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise BackendUnavailable(f"{backend} backend unavailable ({error}); {hint}") from error


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {['auto', *BACKENDS]}; got {backend!r}")
    return backend


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {['auto', *VARIANTS]}; got {variant!r}")
    return variant


def implementations() -> list[ImplementationInfo]:
    """Every (backend, variant) pair, whether it can be used here, and if not why.

    Imports the backends (numba among them) but compiles nothing.
    """
    infos = []
    for backend, variant in PAIRS:
        try:
            _load(backend)
        except BackendUnavailable as error:
            infos.append(ImplementationInfo(backend, variant, False, str(error)))
        else:
            infos.append(ImplementationInfo(backend, variant, True, None))
    return infos


def get(backend: str = "auto", variant: str = "auto", X=None) -> Implementation:
    """The implementation of ``variant`` in ``backend``.

    Parameters
    ----------
    backend : {"auto", "python", "numpy", "numba", "cython"}
        ``"auto"``: the backend named by the ``FASTLR_BACKEND`` environment variable when it
        is set, else the fastest available (see :func:`fastest`).
    variant : {"auto", "loop", "vectorized", "fused"}
        ``"auto"``: the backend's fastest variant (``fused`` in the compiled backends,
        ``vectorized`` in the others); with ``backend="auto"`` too, the pair
        :func:`fastest` measures for ``X``.
    X : array, optional
        The data the implementation will run on: ``"auto"`` choices are made for its class
        (dtype, memory order, size, aspect).

    Raises ``ValueError`` for unknown names and :class:`BackendUnavailable` (an
    ``ImportError``) when the backend cannot be used here.
    """
    if variant != "auto":
        _check_variant(variant)
    if backend == "auto":
        forced = os.environ.get(ENV_BACKEND)
        if forced:
            backend = _check_env_backend(forced)
        elif variant == "auto":
            return fastest(X)
        else:
            backend = next((b for b, v in PREFERENCE if v == variant and _available(b)),
                           "numba")  # only compiled backends have "fused"; raises why
    _check_backend(backend)
    if variant == "auto":
        variant = BACKENDS[backend][1][-1]  # the fastest: fused, else vectorized
    if (backend, variant) not in PAIRS:
        raise ValueError(
            f"variant must be one of {list(BACKENDS[backend][1])} for backend {backend!r}; "
            f"got {variant!r}"
        )
    return _implementation(backend, variant)


#: the problem fastest() is measured on when it is given no X: the course's cat data
CAT_SIZE = (12288, 209)

#: implementations that are never the fastest above a handful of elements: not measured
INTERPRETED = {("python", "loop"), ("python", "vectorized"), ("numpy", "loop")}


def fastest(X=None) -> Implementation:
    """The fastest implementation available here, for problems like ``X``.

    The choice is measured: the first time a class of problem (``X``'s dtype, memory order,
    size and aspect; the course's cat size, float64 and F-ordered when ``X`` is not given)
    is asked for, every available compiled implementation and NumPy's vectorized code are
    timed on a synthetic problem of that class, and the winner is cached on disk per machine,
    thread count and versions (see :mod:`fastlr.autotune`). Later calls cost a dict lookup.

    ``FASTLR_BACKEND=name`` restricts the choice to that backend; ``FASTLR_AUTOTUNE=0``
    skips measuring and takes the first available pair of :data:`PREFERENCE`.
    """
    forced = os.environ.get(ENV_BACKEND)
    allowed = [_check_env_backend(forced)] if forced else list(BACKENDS)
    candidates = [pair for pair in PREFERENCE if pair[0] in allowed and _available(pair[0])]
    if not candidates:
        return _implementation(allowed[0], "vectorized")  # raises BackendUnavailable with the reason
    measured = [pair for pair in candidates if pair not in INTERPRETED]
    if len(measured) < 2 or os.environ.get("FASTLR_AUTOTUNE") == "0":
        return _implementation(*candidates[0])
    from fastlr import autotune

    if X is None:
        X = np.empty(CAT_SIZE, order="F")  # only its class matters; np.empty touches no memory
    else:
        X = validation.check_X(X)
    return _implementation(*autotune.fastest_pair(X, measured, _implementation))


def _check_env_backend(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(
            f"environment variable {ENV_BACKEND} must be one of {list(BACKENDS)}; got {name!r}"
        )
    return name


def _available(backend: str) -> bool:
    try:
        _load(backend)
    except BackendUnavailable:
        return False
    return True


@functools.lru_cache(maxsize=None)
def _implementation(backend: str, variant: str) -> Implementation:
    module = _load(backend)
    optimizers = getattr(module, "OPTIMIZERS", {})
    return Implementation(backend, variant, module.KERNELS[variant], optimizers.get(variant))


@dataclass(frozen=True)
class Implementation:
    """One (backend, variant) pair behind the course's interface.

    ``propagate`` and ``optimize`` take and return what :func:`fastlr.propagate` and
    :func:`fastlr.optimize` do (course shapes), and validate their inputs the same way.
    """

    backend: str
    variant: str
    kernel: Callable = field(repr=False, compare=False)
    compiled_optimize: Callable | None = field(default=None, repr=False, compare=False)

    def propagate(self, w, b, X, Y):
        """Cost and gradients: ``(grads, cost)``, ``grads = {"dw": (n_x, 1) array, "db": float}``."""
        w, b, X, Y = validation.check_problem(w, b, X, Y)
        dw, db, cost = self._run_kernel(w, b, X, Y)
        return {"dw": dw.reshape(-1, 1), "db": db}, cost

    def optimize(self, w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
        """Gradient descent: ``(params, grads, costs)`` like the course's ``optimize``.

        ``costs`` holds the cost of iteration ``i`` for every ``i % 100 == 0``; ``grads``
        are those of the last iteration (before its update), or, with
        ``num_iterations=0``, those at the unchanged parameters. The caller's arrays are
        never modified. With a compiled training loop the costs are printed when it
        returns.
        """
        w, b, X, Y, num_iterations, learning_rate = validation.check_training(
            w, b, X, Y, num_iterations, learning_rate
        )
        if num_iterations == 0:
            dw, db, _ = self._run_kernel(w, b, X, Y)
            costs = []
        elif self.compiled_optimize is not None:
            w, b, dw, db, costs = self.compiled_optimize(w, b, X, Y, num_iterations, learning_rate)
            w, dw = np.asarray(w, dtype=np.float64), np.asarray(dw, dtype=np.float64)
            b, db, costs = float(b), float(db), [float(cost) for cost in costs]
            validation.check_result(dw, db, costs[-1], X)
            if print_cost:
                for k, cost in enumerate(costs):
                    print("Cost after iteration %i: %f" % (100 * k, cost))
        else:
            costs = []
            for i in range(num_iterations):
                dw, db, cost = self._run_kernel(w, b, X, Y)
                w = w - learning_rate * dw
                b = b - learning_rate * db
                if i % 100 == 0:
                    costs.append(cost)
                    if print_cost:
                        print("Cost after iteration %i: %f" % (i, cost))
        params = {"w": w.reshape(-1, 1), "b": b}
        grads = {"dw": dw.reshape(-1, 1), "db": db}
        return params, grads, costs

    def _run_kernel(self, w, b, X, Y):
        dw, db, cost = self.kernel(w, b, X, Y)
        dw, db, cost = np.asarray(dw, dtype=np.float64), float(db), float(cost)
        validation.check_result(dw, db, cost, X)
        return dw, db, cost
