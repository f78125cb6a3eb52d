"""The course adapter: validation → kernel → the course's shapes, in one place.

A kernel takes and returns flat arrays (``w`` of shape (n_x,), ``Y`` of shape (m,); see
:mod:`fastlr.backends`). The course speaks in ``w`` of shape (n_x, 1), ``Y`` of shape
(1, m) and ``grads = {"dw": ..., "db": ...}``. :class:`Implementation` wraps one kernel
(and its compiled training loop, where the backend has one) in the course's terms.

Each public call validates its inputs exactly once: :meth:`Implementation.propagate` and
:meth:`Implementation.optimize` check what they are given; the ``*_checked`` methods take
arguments that :mod:`fastlr.validation` has already checked (what :mod:`fastlr.api` does
after choosing an implementation for the validated ``X``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fastlr import validation


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
        """Cost and gradients: ``(grads, cost)``, ``grads = {"dw": (n_x, 1) array, "db": float}``.
        """
        return self.propagate_checked(*validation.check_problem(w, b, X, Y))

    def optimize(self, w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
        """Gradient descent: ``(params, grads, costs)`` like the course's ``optimize``.

        ``costs`` holds the cost of iteration ``i`` for every ``i % 100 == 0``; ``grads``
        are those of the last iteration (before its update), or, with
        ``num_iterations=0``, those at the unchanged parameters. The caller's arrays are
        never modified. With a compiled training loop the costs are printed when it
        returns.
        """
        checked = validation.check_training(w, b, X, Y, num_iterations, learning_rate)
        return self.optimize_checked(*checked, print_cost)

    def propagate_checked(self, w, b, X, Y):
        """:meth:`propagate` on kernel arguments from :func:`~fastlr.validation.check_problem`."""
        dw, db, cost = self._run_kernel(w, b, X, Y)
        return {"dw": dw.reshape(-1, 1), "db": db}, cost

    def optimize_checked(self, w, b, X, Y, num_iterations, learning_rate, print_cost=False):
        """:meth:`optimize` on arguments from :func:`~fastlr.validation.check_training`."""
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
