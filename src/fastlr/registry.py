"""Which implementation: backends × variants, lazy import, availability with reasons, fastest().

Everything here is derived from the backend descriptors of :mod:`fastlr.backends`: the
table of pairs (:data:`PAIRS`), the static preference order (:data:`PREFERENCE`) and the
interpreted pairs (:data:`INTERPRETED`). A backend's module is imported the first time it
is asked for (so ``import fastlr`` imports no numba and compiles nothing); one that cannot
be imported is remembered with its reason and not tried again in this process.

The registry answers "which implementation"; what an implementation does with the course's
arrays (validation, the kernel, the course's shapes) is :mod:`fastlr.course`.
"""

from __future__ import annotations

import importlib
import os
from typing import NamedTuple

import numpy as np

from fastlr import _install, autotune, threads, validation
from fastlr.backends import DESCRIPTORS, Backend
from fastlr.course import Implementation

#: backend name -> its descriptor, in the order implementations() lists them
BACKENDS: dict[str, Backend] = {backend.name: backend for backend in DESCRIPTORS}

#: ``loop`` and ``vectorized`` are the lecture's two forms (DESIGN.md section 2), in every
#: backend; ``fused`` is the compiled backends' one multi-threaded pass over X (the fastest
#: where reading X is the cost; ``fastlr bench`` says where it is).
VARIANTS = ("loop", "vectorized", "fused")

#: every (backend, variant) pair fastlr implements, listed by implementations()
PAIRS = tuple((backend.name, variant) for backend in DESCRIPTORS for variant in backend.variants)

_PAIR_SET = frozenset(PAIRS)

#: fastest()'s rule (unless tune() saved a choice): the first available pair of this list,
#: the descriptors' ranks, lowest first
PREFERENCE = tuple(sorted(PAIRS, key=lambda pair: BACKENDS[pair[0]].rank[pair[1]]))

#: pairs that interpret Python for every element: never the fastest above a handful of
#: elements, so tune() does not time them
INTERPRETED = frozenset((backend.name, variant) for backend in DESCRIPTORS
                        for variant in backend.interpreted)

#: environment variable that makes backend="auto" mean this backend
ENV_BACKEND = "FASTLR_BACKEND"

#: the problem fastest() is measured on when it is given no X: the course's cat data
CAT_SIZE = (12288, 209)


class BackendUnavailable(ImportError):
    """A backend that is known to fastlr but cannot be used here; the message says why."""


class ImplementationInfo(NamedTuple):
    """One entry of :func:`implementations`.

    Parameters
    ----------
    backend : str
        The backend's name: ``"python"``, ``"numpy"``, ``"numba"`` or ``"cython"``.
    variant : str
        ``"loop"``, ``"vectorized"`` or ``"fused"``.
    available : bool
        Whether the pair can be used here.
    reason : str or None
        Why it is unavailable, with an install hint; None when available.
    """

    backend: str
    variant: str
    available: bool
    reason: str | None  # why it is unavailable, with an install hint; None when available


# this process's caches: imported modules, backends that failed (with the error), the
# Implementation of each pair, and fastest()'s candidates per FASTLR_BACKEND value
_modules: dict[str, object] = {}
_failures: dict[str, BackendUnavailable] = {}
_implementations: dict[tuple[str, str], Implementation] = {}
_candidates: dict[str | None, tuple[list, list]] = {}
_rules: dict[str | None, tuple[str, str]] = {}  # the rule's pair per FASTLR_BACKEND value


def load(backend: str):
    """The backend's module, imported once; :class:`BackendUnavailable` (remembered) if it
    cannot be imported."""
    descriptor = BACKENDS[_check_backend(backend)]
    return _import(backend, descriptor, descriptor.module)


def load_model(backend: str = "auto"):
    """``(name, module)``: the kernels of :class:`fastlr.LogisticRegression` in ``backend``.

    ``"auto"``: the ``FASTLR_BACKEND`` environment variable's backend if set, else the first
    available by the descriptors' ``model_rank``.
    """
    if backend == "auto":
        name = os.environ.get(ENV_BACKEND)
        if name:
            backend = _check_env_backend(name)
        else:
            ranked = sorted((b for b in DESCRIPTORS if b.model_module),
                            key=lambda b: b.model_rank)
            for descriptor in ranked[:-1]:
                try:
                    return descriptor.name, load_model(descriptor.name)[1]
                except BackendUnavailable:
                    continue
            backend = ranked[-1].name
    descriptor = BACKENDS[_check_backend(backend)]
    if not descriptor.model_module:
        with_kernels = [b.name for b in DESCRIPTORS if b.model_module]
        raise ValueError(f"backend must be 'auto' or one with the estimator's kernels "
                         f"({with_kernels}); got {backend!r}")
    return backend, _import(f"{backend} (estimator)", descriptor, descriptor.model_module)


def _import(key: str, descriptor: Backend, module_name: str):
    module = _modules.get(key)
    if module is not None:
        return module
    if key in _failures:
        raise _failures[key]
    if descriptor.openmp:
        threads.configure_openmp()  # before libgomp loads: it reads the setting once
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        recorded = _install.build_failure(module_name)
        hint = descriptor.install_hint
        if recorded:
            hint = f"it was not built when fastlr was installed: {recorded}; {hint}"
        failure = BackendUnavailable(f"{key} backend unavailable ({error}); {hint}")
        failure.__cause__ = error
        _failures[key] = failure
        raise failure from error
    _modules[key] = module
    return module


def available(backend: str) -> bool:
    """Whether ``backend`` can be used here (imports it the first time)."""
    try:
        load(backend)
    except BackendUnavailable:
        return False
    return True


def clear_caches() -> None:
    """Forget what this process learnt about backends (for tests that fake one)."""
    _modules.clear()
    _failures.clear()
    _implementations.clear()
    _candidates.clear()
    _rules.clear()


def implementations() -> list[ImplementationInfo]:
    """Every (backend, variant) pair, whether it can be used here, and if not why.

    Imports the backends (numba among them) but compiles nothing.

    Returns
    -------
    infos : list of ImplementationInfo
        One entry per pair fastlr implements, backends in the order python, numpy, numba,
        cython, and each backend's variants in the order loop, vectorized, fused.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> infos = fastlr.implementations()
    >>> len(infos)
    10
    >>> infos[0].backend, infos[0].variant
    ('python', 'loop')
    >>> sorted({info.variant for info in infos})
    ['fused', 'loop', 'vectorized']
    """
    infos = []
    for backend, variant in PAIRS:
        try:
            load(backend)
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
    X : array_like of shape (n_x, m), optional
        The data the implementation will run on: ``"auto"`` choices are made for its class
        (dtype, memory order, size, aspect).

    Returns
    -------
    implementation : Implementation
        The chosen (backend, variant) pair, with the course's ``propagate`` and
        ``optimize``.

    Raises
    ------
    ValueError
        For unknown names.
    BackendUnavailable
        An ``ImportError``: when the backend cannot be used here.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> fastlr.get("numpy")
    Implementation(backend='numpy', variant='vectorized')
    >>> implementation = fastlr.get("numpy", "loop")
    >>> implementation
    Implementation(backend='numpy', variant='loop')
    >>> w, b = fastlr.initialize_with_zeros(2)
    >>> grads, cost = implementation.propagate(w, b, np.array([[1.0, 2.0], [3.0, 4.0]]),
    ...                                        np.array([[1, 0]]))
    >>> round(cost, 6)
    0.693147
    """
    return select(backend, variant, None if X is None else validation.check_X(X))


def select(backend: str, variant: str, X: np.ndarray | None) -> Implementation:
    """:func:`get` for an ``X`` that :func:`fastlr.validation.check_X` has already checked."""
    if variant != "auto" and variant not in VARIANTS:
        raise ValueError(f"variant must be one of {['auto', *VARIANTS]}; got {variant!r}")
    if backend == "auto":
        forced = os.environ.get(ENV_BACKEND)
        if forced:
            backend = _check_env_backend(forced)
        elif variant == "auto":
            return _fastest(X)
        else:  # the preferred backend that has this variant; "fused" exists only compiled
            backend = next((b for b, v in PREFERENCE if v == variant and available(b)),
                           next(b for b, v in PREFERENCE if v == variant))  # raises why
    descriptor = BACKENDS[_check_backend(backend)]
    if variant == "auto":
        variant = descriptor.fastest_variant
    if variant not in descriptor.variants:
        raise ValueError(f"variant must be one of {list(descriptor.variants)} for backend "
                         f"{backend!r}; got {variant!r}")
    return implementation(backend, variant)


def fastest(X=None) -> Implementation:
    """The fastest implementation available here, for problems like ``X``.

    Chosen without measuring, the same in every process (see :mod:`fastlr.autotune`): what
    :func:`tune` saved for ``X``'s class on this machine, if anything, else the first
    available pair of :data:`PREFERENCE` — the one-pass ``fused`` kernel (Cython, then
    Numba), else NumPy's vectorized code. ``X`` (default: the course's cat size, float64,
    F order) matters only through its class: dtype, memory order, size and aspect.

    ``FASTLR_BACKEND=name`` restricts the choice to that backend; ``FASTLR_AUTOTUNE=0``
    ignores what :func:`tune` saved.

    Parameters
    ----------
    X : array_like of shape (n_x, m), optional
        A problem like the ones the implementation will run on (only its class matters);
        default: the course's cat size, float64, F order.

    Returns
    -------
    implementation : Implementation
        The chosen (backend, variant) pair.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> isinstance(fastlr.fastest(), fastlr.Implementation)
    True
    >>> isinstance(fastlr.fastest(np.ones((3, 1000), dtype=np.float32)), fastlr.Implementation)
    True
    """
    return _fastest(None if X is None else validation.check_X(X))


def tune(X=None, *, save: bool = True):
    """Measure which implementation is fastest here, and make ``"auto"`` use it from now on.

    Times every available compiled implementation and NumPy's vectorized code on problems of
    ``X``'s class (``X`` an array, or a list of arrays for several classes; default: the
    classes of ``fastlr bench``'s sizes tiny, cat, tall and wide, float64, F order), steady
    and right after a NumPy call, and saves each class's winner for this machine, thread
    count and library versions (``fastlr bench --tune`` does the same and prints the times).
    A few seconds per class, plus Numba's first compilations.

    Parameters
    ----------
    X : array_like of shape (n_x, m), or list of array_like, optional
        The problems to measure on, one per class (only their classes matter); default: the
        classes of ``fastlr bench``'s sizes tiny, cat, tall and wide, float64, F order.
    save : bool, default=True
        Save the winners for this machine (then ``"auto"`` uses them); False: only measure.

    Returns
    -------
    tuning : fastlr.autotune.Tuning
        The times, the winners, and ``saved`` — False, with the ``reason``, when other
        processes kept the cores busy while it measured (their work would have decided the
        result), when ``save`` is False, or when the cache file could not be written.
    """
    from fastlr.bench.problems import SIZES

    if X is None:
        problems = [np.empty(SIZES[name], order="F") for name in ("tiny", "cat", "tall", "wide")]
    else:
        problems = [validation.check_X(x) for x in (X if isinstance(X, list) else [X])]
    _, measured = candidates()
    return autotune.tune(problems, measured, implementation, save=save)


def candidates() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(available pairs in preference order, those tune() times)`` under the current
    ``FASTLR_BACKEND``; computed once per value of it (imports every backend)."""
    forced = os.environ.get(ENV_BACKEND) or None
    found = _candidates.get(forced)
    if found is None:
        allowed = [_check_env_backend(forced)] if forced else list(BACKENDS)
        ordered = [pair for pair in PREFERENCE if pair[0] in allowed and available(pair[0])]
        if not ordered:  # nothing to choose from: say why (BackendUnavailable)
            load(allowed[0])
        found = _candidates[forced] = (ordered, [p for p in ordered if p not in INTERPRETED])
    return found


def preferred() -> tuple[str, str]:
    """The rule's pair: what :func:`fastest` picks where :func:`tune` saved nothing."""
    return _first_preferred(os.environ.get(ENV_BACKEND) or None)


def _first_preferred(forced: str | None) -> tuple[str, str]:
    """The first available pair of :data:`PREFERENCE` (importing only the backends it
    tries: the first auto call loads one backend)."""
    found = _rules.get(forced)
    if found is None:
        allowed = [_check_env_backend(forced)] if forced else list(BACKENDS)
        found = next((pair for pair in PREFERENCE if pair[0] in allowed
                      and available(pair[0])), None)
        if found is None:  # nothing to choose from: say why (BackendUnavailable)
            load(allowed[0])
        _rules[forced] = found
    return found


_CAT_X = np.empty(CAT_SIZE, order="F")  # fastest()'s X when given none: only its class matters


def _fastest(X: np.ndarray | None) -> Implementation:
    forced = os.environ.get(ENV_BACKEND) or None
    pair = autotune.tuned_pair(_CAT_X if X is None else X)
    if pair is None or not _tunable(pair, forced):
        pair = _first_preferred(forced)
    return implementation(*pair)


def _tunable(pair: tuple[str, str], forced: str | None) -> bool:
    """Whether a saved pair may be used now: one tune() times, of the forced backend if
    any, available here (the file may be older than this installation)."""
    return (pair in _PAIR_SET and pair not in INTERPRETED
            and (forced is None or pair[0] == forced) and available(pair[0]))


def implementation(backend: str, variant: str) -> Implementation:
    """The :class:`~fastlr.course.Implementation` of one registered pair (made once)."""
    found = _implementations.get((backend, variant))
    if found is None:
        module = load(backend)
        optimizers = getattr(module, "OPTIMIZERS", {})
        found = _implementations[backend, variant] = Implementation(
            backend, variant, module.KERNELS[variant], optimizers.get(variant))
    return found


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {['auto', *BACKENDS]}; got {backend!r}")
    return backend


def _check_env_backend(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(
            f"environment variable {ENV_BACKEND} must be one of {list(BACKENDS)}; got {name!r}"
        )
    return name
