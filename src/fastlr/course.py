"""The course adapter: validation → kernel → the course's shapes, in one place.

A kernel takes and returns flat arrays (``w`` of shape (n_x,), ``Y`` of shape (m,); see
:mod:`fastlr.backends`). The course speaks in ``w`` of shape (n_x, 1), ``Y`` of shape
(1, m) and ``grads = {"dw": ..., "db": ...}``. :class:`Implementation` wraps one kernel
(and its compiled training loop, where the backend has one) in the course's terms.

Each public call validates its inputs exactly once: :meth:`Implementation.propagate` and
:meth:`Implementation.optimize` check what they are given; the ``_*_checked`` methods take
arguments that :mod:`fastlr.validation` has already checked (what :mod:`fastlr.api` does
after choosing an implementation for the validated ``X``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fastlr import validation


@dataclass(frozen=True)
class Implementation:
    """One (backend, variant) pair behind the course's interface.

    ``propagate`` and ``optimize`` take and return what :func:`fastlr.propagate` and
    :func:`fastlr.optimize` do (course shapes), and validate their inputs the same way.
    Get one with :func:`fastlr.get` or :func:`fastlr.fastest`.

    Parameters
    ----------
    backend : str
        The backend's name: ``"python"``, ``"numpy"``, ``"numba"`` or ``"cython"``.
    variant : str
        ``"loop"``, ``"vectorized"`` or ``"fused"``.
    kernel : callable
        ``kernel(w, b, X, Y) -> (dw, db, cost)`` on validated flat arrays (``w`` of shape
        (n_x,), ``Y`` of shape (m,); see :mod:`fastlr.backends`).
    compiled_optimize : callable or None, default=None
        The backend's compiled training loop ``optimize(w, b, X, Y, num_iterations,
        learning_rate) -> (w, b, dw, db, costs)``, if it has one for this variant; None:
        :meth:`optimize` loops over ``kernel`` in Python.
    """

    backend: str
    variant: str
    kernel: Callable = field(repr=False, compare=False)
    compiled_optimize: Callable | None = field(default=None, repr=False, compare=False)

    def propagate(self, w, b, X, Y):
        """Cost and gradients: ``(grads, cost)``, ``grads = {"dw": (n_x, 1) array, "db": float}``.

        Parameters
        ----------
        w : array_like of shape (n_x, 1)
            The weights.
        b : float
            The bias.
        X : array_like of shape (n_x, m)
            The examples, one per column.
        Y : array_like of shape (1, m)
            The labels, 0 or 1.

        Returns
        -------
        grads : dict
            ``{"dw": array of shape (n_x, 1), "db": float}``, the gradients of the cost.
        cost : float
            The cross-entropy cost (see :func:`fastlr.propagate`).
        """
        return self._propagate_checked(*validation.check_problem(w, b, X, Y))

    def optimize(self, w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
        """Gradient descent: ``(params, grads, costs)`` like the course's ``optimize``.

        ``costs`` holds the cost of iteration ``i`` for every ``i % 100 == 0``; ``grads``
        are those of the last iteration (before its update), or, with
        ``num_iterations=0``, those at the unchanged parameters. The caller's arrays are
        never modified. With a compiled training loop the costs are printed when it
        returns.

        Parameters
        ----------
        w : array_like of shape (n_x, 1)
            The initial weights.
        b : float
            The initial bias.
        X : array_like of shape (n_x, m)
            The examples, one per column; must be finite.
        Y : array_like of shape (1, m)
            The labels, 0 or 1.
        num_iterations : int, default=100
            Number of updates, at least 0.
        learning_rate : float, default=0.009
            The step, finite and at least 0.
        print_cost : bool, default=False
            Print ``Cost after iteration i: ...`` for every recorded cost.

        Returns
        -------
        params : dict
            ``{"w": array of shape (n_x, 1), "b": float}`` after ``num_iterations`` updates.
        grads : dict
            ``{"dw": array of shape (n_x, 1), "db": float}`` of the last iteration.
        costs : list of float
            The cost at every iteration ``i`` with ``i % 100 == 0``.
        """
        checked = validation.check_training(w, b, X, Y, num_iterations, learning_rate)
        return self._optimize_checked(*checked, print_cost)

    def _propagate_checked(self, w, b, X, Y):
        """:meth:`propagate` on kernel arguments from :func:`~fastlr.validation.check_problem`."""
        dw, db, cost = self._run_kernel(w, b, X, Y)
        return {"dw": dw.reshape(-1, 1), "db": db}, cost

    def _optimize_checked(self, w, b, X, Y, num_iterations, learning_rate, print_cost=False):
        """:meth:`optimize` on arguments from :func:`~fastlr.validation.check_training`."""
        if num_iterations == 0:
            dw, db, _ = self._run_kernel(w, b, X, Y)
            costs = []
        elif self.compiled_optimize is not None:
            w, b, dw, db, costs = descend_in_slices(self.compiled_optimize, w, b, X, Y,
                                                    num_iterations, learning_rate)
            w, dw = np.asarray(w, dtype=np.float64), np.asarray(dw, dtype=np.float64)
            b, db, costs = float(b), float(db), [float(cost) for cost in costs]
            validation.check_trained(w, b, dw, db, costs, X, learning_rate)
            if print_cost:
                for k, cost in enumerate(costs):
                    print("Cost after iteration %i: %f" % (100 * k, cost))
        else:
            costs = []
            for i in range(num_iterations):
                dw, db, cost = self._run_kernel(w, b, X, Y)
                with np.errstate(over="ignore", invalid="ignore"):  # check_trained says it
                    w = w - learning_rate * dw
                b = b - learning_rate * db
                if i % 100 == 0:
                    costs.append(cost)
                    if print_cost:
                        print("Cost after iteration %i: %f" % (i, cost))
            validation.check_trained(w, b, dw, db, costs, X, learning_rate)
        params = {"w": w.reshape(-1, 1), "b": b}
        grads = {"dw": dw.reshape(-1, 1), "db": db}
        return params, grads, costs

    def _run_kernel(self, w, b, X, Y):
        try:
            dw, db, cost = self.kernel(w, b, X, Y)
        except Exception as error:  # Ctrl-C inside Numba's boxing: a KeyboardInterrupt
            if _interrupted(error):
                raise KeyboardInterrupt from None
            raise
        dw, db, cost = np.asarray(dw, dtype=np.float64), float(db), float(cost)
        validation.check_result(dw, db, cost, X)
        return dw, db, cost


#: seconds of compiled training between two returns to the interpreter. A compiled loop
#: runs without the GIL and sees no signal: Ctrl-C (any Python signal handler) takes effect
#: when it returns, so a KeyboardInterrupt arrives within about this long.
SLICE_SECONDS = 0.25

#: a generous guess of one compiled iteration's cost before one has been measured:
#: seconds per element of X, plus a fixed cost (overestimating only shortens the first slice)
GUESS_PER_ELEMENT = 2e-9
GUESS_PER_ITERATION = 2e-7


def descend_in_slices(descend, w, b, X, Y, num_iterations, learning_rate):
    """``descend(w, b, X, Y, n, learning_rate) -> (w, b, dw, db, costs)`` run for
    ``num_iterations`` in slices of about :data:`SLICE_SECONDS` each: interruptible.

    The same iterations as one call: each slice continues from the last one's ``w`` and
    ``b``. ``costs`` holds the cost of every global iteration ``i % 100 == 0``: a slice
    either starts at such an iteration and records from it (its own iterations 0, 100,
    ...), or ends at the next one and records nothing. A problem whose iterations take
    microseconds runs as one slice: the slicing costs nothing there.
    """
    done = 0
    costs = []
    seconds_per_iteration = GUESS_PER_ITERATION + GUESS_PER_ELEMENT * X.size
    while done < num_iterations:
        n = min(num_iterations - done, max(1, int(SLICE_SECONDS / seconds_per_iteration)))
        offset = done % 100
        if offset:
            n = min(n, 100 - offset)
        elif n > 100:
            n -= n % 100
        start = time.perf_counter()
        try:
            w, b, dw, db, slice_costs = descend(w, b, X, Y, n, learning_rate)
        except Exception as error:  # Ctrl-C inside Numba's boxing: a KeyboardInterrupt
            if _interrupted(error):
                raise KeyboardInterrupt from None
            raise
        seconds_per_iteration = max((time.perf_counter() - start) / n, 1e-9)
        if not offset:
            costs.extend(slice_costs)
        done += n
    return w, b, dw, db, costs



def _interrupted(error: BaseException) -> bool:
    """Whether ``error`` came from a KeyboardInterrupt (anywhere in its chain).

    Numba's compiled code calls small Python functions as it boxes its results; a pending
    Ctrl-C runs its handler there, and the KeyboardInterrupt comes out wrapped in a
    SystemError (``returned a result with an exception set``).
    """
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False
