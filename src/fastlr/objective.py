"""What :class:`fastlr.LogisticRegression` minimizes: scikit-learn's objective, its scaling.

    F(w, b) = C Σ_i s_i L(y_i, x_i·w + b) + ½‖w‖²        (the intercept is not penalized)

is minimized as ``f = F / (C Σ s) = Σ s L / Σ s + ½ λ ‖w‖²`` with ``λ = 1 / (C Σ s)``, as
scikit-learn's lbfgs, newton-cg and newton-cholesky do: the optimum is the same, and
``tol`` means what it means there (the largest entry of ∇f). ``penalty=None`` is λ = 0.

The coefficients are one flat float64 vector ``x``: ``[w, b]`` (``[w]`` without an
intercept) for two classes; for ``K > 2`` classes the rows of a (K, n_features [+ 1])
matrix, one per class, as scikit-learn's multinomial ``coef_`` and ``intercept_``.

:class:`Binary` evaluates ``f``, ``∇f`` and Hessian–vector products with one backend's
kernels (one pass over ``X`` each; see :mod:`fastlr.backends._numpy_model`), and counts
the calls and their time; :class:`Multinomial` does the same for K classes with the
backend's multinomial kernels (K scores, a softmax and K gradient rows per row of ``X``,
one pass).
Neither copies ``X``: beyond it, an objective holds O(n_samples · K + n_features · K).
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
from scipy import sparse

from fastlr import threads


class NotFinite(ArithmeticError):
    """The objective is NaN or inf: NaN/inf in ``X`` (the estimator says which), or an
    overflow. Every evaluation checks it, so ``X`` need not be checked in a pass of its own."""


def _timed(self, kernel, *args):
    """``kernel(*args, n)`` on the threads :func:`fastlr.threads.call` gives it, its time
    added to ``self.kernel_seconds`` (the objectives' one way of calling a kernel)."""
    start = time.perf_counter()
    result = threads.call(kernel, args, self.X.size, self.X.shape[0], self._key,
                          n_threads=self.n_threads)
    self.kernel_seconds += time.perf_counter() - start
    return result


class Scaled:
    """What every two-class objective shares: the flat coefficients, and ``f``, ``∇f`` and
    ``∇²f v`` from a pass's sums (scikit-learn's scaling, the penalty added here)."""

    def __init__(self, n_features, *, total_weight, l2, fit_intercept):
        self.n_features = n_features
        self.scale = 1.0 / total_weight
        self.l2 = float(l2)
        self.fit_intercept = bool(fit_intercept)
        self.size = n_features + self.fit_intercept
        #: passes (loss_gradient, hessp) and the kernels' seconds: the solver's own time is
        #: the rest of the fit's
        self.evaluations = 0
        self.products = 0
        self.kernel_seconds = 0.0

    def split(self, x):
        """``(w, b)`` of the flat coefficients ``x``."""
        return x[:self.n_features], (float(x[-1]) if self.fit_intercept else 0.0)

    def _value_and_gradient(self, loss, db, sums, w):
        """``(f, ∇f)`` from a loss pass's ``Σ s L``, ``Σ dz`` and ``Σ dz x``."""
        if not np.isfinite(loss):
            raise NotFinite(loss)
        grad = np.empty(self.size)
        self._combine(sums, w, grad[:self.n_features])
        if self.fit_intercept:
            grad[-1] = db * self.scale
        return loss * self.scale + 0.5 * self.l2 * float(np.dot(w, w)), grad

    def _product(self, total, sums, u):
        """``∇²f v`` from a Hessian pass's ``Σ h (Xu + ub)`` and ``Xᵀ(h ⊙ (Xu + ub))``."""
        out = np.empty(self.size)
        self._combine(sums, u, out[:self.n_features])
        if self.fit_intercept:
            out[-1] = total * self.scale
        return out

    def _combine(self, sums, w, out):
        """``out = scale · sums + λ w`` in place (no temporaries of n_features)."""
        np.multiply(w, self.l2 / self.scale, out=out)
        out += sums
        out *= self.scale


class Binary(Scaled):
    """Two classes, labels ``y`` in {0., 1.}: ``f``, ``∇f`` and ``∇²f v`` by ``kernels``."""

    def __init__(self, X, y, sample_weight, *, l2, fit_intercept, kernels, n_threads):
        super().__init__(X.shape[1], total_weight=float(sample_weight.sum()), l2=l2,
                         fit_intercept=fit_intercept)
        self.X, self.y, self.sw = X, y, sample_weight
        self.kernels = kernels
        self._key = f"{kernels.__name__} estimator"  # the contention check's record
        self.n_threads = n_threads  # None: the policy's (fastlr.threads)
        self._sums = np.empty(self.n_features)
        self._h = None  # the Hessian's weights at the last point asked for (allocated then)

    @np.errstate(over="ignore", invalid="ignore")  # a NaN/inf result raises NotFinite
    def loss_gradient(self, x, hessian=False):
        """``(f, ∇f)`` at ``x``; with ``hessian``, :meth:`hessp` is from then on the Hessian
        at ``x``."""
        w, b = self.split(x)
        if hessian and self._h is None:
            self._h = np.empty(self.X.shape[0])
        loss, db = self._timed(self.kernels.loss_gradient, w, b, self.X, self.y, self.sw,
                               self._sums, self._h if hessian else None)
        self.evaluations += 1
        return self._value_and_gradient(loss, db, self._sums, w)

    _timed = _timed

    def hessp(self, v):
        """``∇²f v`` at the last point :meth:`loss_gradient` was asked ``hessian=True`` at."""
        u, ub = self.split(v)
        _, total = self._timed(self.kernels.hessp, u, ub, self.X, self._h, self._sums)
        self.products += 1
        return self._product(total, self._sums, u)

    def hessian_diagonal(self):
        """The diagonal of ``∇²f`` at the last point :meth:`loss_gradient` was asked
        ``hessian=True`` at (one pass over the non-zeros), for a sparse ``X``; None for a
        dense one (not measured to pay there: newton-cg runs unpreconditioned)."""
        if not sparse.issparse(self.X):
            return None
        diag = np.empty(self.size)
        self._timed(self.kernels.hessian_diagonal, self.X, self._h, self._sums)
        np.multiply(self._sums, self.scale, out=diag[:self.n_features])
        diag[:self.n_features] += self.l2
        if self.fit_intercept:
            diag[-1] = float(self._h.sum()) * self.scale
        return diag

    def gram(self):
        """``K = X Xᵀ`` (n_samples × n_samples) by BLAS, in X's dtype (NumPy calls syrk for
        a product with its own transpose; SciPy's sparse product for a sparse ``X``),
        returned dense in float64."""
        with self._blas_threads():
            K = self.X @ self.X.T
        return np.asarray(K.toarray() if sparse.issparse(K) else K, dtype=np.float64)

    def transposed_times(self, V):
        """``Xᵀ V`` (n_features × k) for V of shape (n_samples, k), by BLAS in X's dtype."""
        with self._blas_threads():
            product = self.X.T @ np.asarray(V, dtype=self.X.dtype)
        return np.asarray(product, dtype=np.float64)

    @contextlib.contextmanager
    def _blas_threads(self):
        """BLAS on ``n_threads`` threads (the fit runs with BLAS limited to one)."""
        limiter = threads.limit_blas(threads.resolve(self.n_threads))
        try:
            yield
        finally:
            if limiter is not None:
                limiter.restore_original_limits()


class Multinomial:
    """``K > 2`` classes, ``Y`` one-hot (n_samples, K): the softmax cross-entropy, ``f``,
    ``∇f`` and ``∇²f v`` by ``kernels``' multinomial kernels (one pass over ``X`` each; see
    :mod:`fastlr.backends._numpy_model`; default: that NumPy module), timed and counted as
    :class:`Binary`'s. ``X`` is read in place."""

    def __init__(self, X, Y, sample_weight, *, l2, fit_intercept, kernels=None,
                 n_threads=None):
        if kernels is None:
            from fastlr.backends import _numpy_model as kernels
        self.X, self.Y, self.sw = X, Y, sample_weight
        self.scale = 1.0 / float(sample_weight.sum())
        self.l2 = float(l2)
        self.fit_intercept = bool(fit_intercept)
        self.n_classes = Y.shape[1]
        self.n_features = X.shape[1]
        self.width = self.n_features + self.fit_intercept
        self.size = self.n_classes * self.width
        self.kernels = kernels
        self._key = f"{kernels.__name__} estimator multinomial"  # the contention record
        self.n_threads = n_threads  # None: the policy's (fastlr.threads)
        self._sums = np.empty((self.n_classes, self.n_features + 1))  # the kernels' output
        self._P = None  # class probabilities at the last point asked for the Hessian
        self.evaluations = 0
        self.products = 0
        self.kernel_seconds = 0.0

    def split(self, x):
        """``(W, b)``: W (K, n_features) C-contiguous (a copy with an intercept), b (K,)."""
        rows = x.reshape(self.n_classes, self.width)
        b = rows[:, -1].copy() if self.fit_intercept else np.zeros(self.n_classes)
        return np.ascontiguousarray(rows[:, :self.n_features]), b

    _timed = _timed

    def _flat(self, W):
        """The flat gradient (Hessian product) from the kernels' ``[Gᵀ X, Σ G]`` in
        ``self._sums``: scaled, the penalty ``λ W`` added, the intercept's column kept."""
        out = np.empty((self.n_classes, self.width))
        np.multiply(self._sums[:, :self.n_features], self.scale, out=out[:, :self.n_features])
        out[:, :self.n_features] += self.l2 * W
        if self.fit_intercept:
            out[:, -1] = self._sums[:, -1] * self.scale
        return out.ravel()

    @np.errstate(over="ignore", invalid="ignore")  # a NaN/inf result raises NotFinite
    def loss_gradient(self, x, hessian=False):
        """``(f, ∇f)`` at ``x`` (``hessian``: see :meth:`Binary.loss_gradient`)."""
        W, b = self.split(x)
        if hessian and self._P is None:
            self._P = np.empty((self.X.shape[0], self.n_classes))
        loss = self._timed(self.kernels.multinomial_loss_gradient, W, b, self.X, self.Y,
                           self.sw, self._sums, self._P if hessian else None)
        self.evaluations += 1
        f = loss * self.scale + 0.5 * self.l2 * float(np.sum(W * W))
        if not np.isfinite(f):
            raise NotFinite(f)
        return f, self._flat(W)

    def hessp(self, v):
        """``∇²f v`` (see :meth:`Binary.hessp`)."""
        V, vb = self.split(v)
        self._timed(self.kernels.multinomial_hessp, V, vb, self.X, self._P, self.sw,
                    self._sums)
        self.products += 1
        return self._flat(V)
