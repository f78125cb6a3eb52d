"""Every input check of fastlr, in one place.

The public layer (:mod:`fastlr.api`, :class:`fastlr.registry.Implementation`) calls these
functions before any kernel runs; kernels never validate. Errors name the argument, say
what was expected and what was given::

    ValueError: X must have shape (n_x, m) = (2, m) to match w of shape (2, 1); got (3, 4)

Types that are wrong (complex, strings, objects, a non-scalar ``b``, a float
``num_iterations``) raise ``TypeError``; values that are wrong (shapes, NaN/inf, labels,
negative numbers) raise ``ValueError``.

One check is deliberately *not* made before the kernel: whether ``X`` holds NaN or ±inf.
Scanning ``X`` costs a full read of it — as much as a fast ``propagate`` itself. A
non-finite entry of ``X`` always makes ``dw`` or the cost non-finite (``nan * dz`` and
``inf * dz`` are never finite), so :func:`check_result` looks at the few output numbers
and, only when one is not finite, scans ``X`` to raise the precise error. Training
(:func:`check_training`) scans ``X`` once up front, since there the scan is paid once for
many iterations; :func:`check_trained` then looks at what the descent returns.

docs/errors.md ("The error contract") lists the errors with their messages;
``tests/test_error_contract.py`` checks that list against this module.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

#: dtypes a kernel reads in place; every other real dtype is converted to float64
KERNEL_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of dtype {value.dtype} and shape {value.shape}"
    return f"{type(value).__name__} {value!r}"


def _as_real_array(name: str, value) -> np.ndarray:
    """``np.asarray(value)`` for a real (bool, integer or float) array, else TypeError."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged nested lists and the like
        raise TypeError(
            f"{name} must be an array of real numbers; got {value!r} ({error})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be an array of real numbers (bool, int or float); "
            f"got dtype {array.dtype}"
        )
    return array


def _check_ndim(name: str, array: np.ndarray, shape_text: str) -> None:
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape {shape_text}; got {array.ndim}-D shape {array.shape}"
        )


def check_X(X, n_x: int | None = None, name: str = "X") -> np.ndarray:
    """``X`` as float64 or float32, of shape ``(n_x, m)`` with ``n_x, m >= 1``.

    float64 and float32 arrays in native byte order are returned as they are, whatever
    their memory order or strides and even if read-only: no copy. Every other real array
    (bool, integer, float16, non-native byte order) becomes a float64 copy. NaN/inf are not
    looked for here (see the module docstring). ``name`` is the argument the errors name
    (``"X_test"`` for the test set of :func:`fastlr.model`).
    """
    array = _as_real_array(name, X)
    _check_ndim(name, array, "(n_x, m)")
    if n_x is not None and array.shape[0] != n_x:
        raise ValueError(
            f"{name} must have shape (n_x, m) = ({n_x}, m) to match w of shape ({n_x}, 1); "
            f"got {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{name} must have at least one feature and one example; got shape {array.shape}")
    if array.dtype not in KERNEL_DTYPES:
        array = array.astype(np.float64)
    return array


def check_w(w) -> np.ndarray:
    """``w`` of shape ``(n_x, 1)``, finite, as a new contiguous float64 array of shape (n_x,)."""
    array = _as_real_array("w", w)
    _check_ndim("w", array, "(n_x, 1)")
    if array.shape[1] != 1 or array.shape[0] == 0:
        raise ValueError(f"w must have shape (n_x, 1) with n_x >= 1; got {array.shape}")
    # always a copy: kernels never see the caller's w
    vector = np.array(array[:, 0], dtype=np.float64)
    if not np.isfinite(vector).all():
        count = np.count_nonzero(~np.isfinite(vector))
        raise ValueError(f"w must be finite; got {count} NaN/inf value(s)")
    return vector


def check_b(b) -> float:
    """``b`` a finite real scalar (Python or NumPy number, or 0-d array), as a float."""
    if isinstance(b, np.ndarray):
        if b.ndim != 0:
            raise TypeError(f"b must be a real scalar; got {_describe(b)}")
        b = b[()]
    if not isinstance(b, (numbers.Real, np.bool_)):
        raise TypeError(f"b must be a real scalar; got {_describe(b)}")
    value = float(b)
    if not np.isfinite(value):
        raise ValueError(f"b must be finite; got {value}")
    return value


def check_Y(Y, m: int) -> np.ndarray:
    """``Y`` of shape ``(1, m)`` with labels 0/1, as a new contiguous float64 array of shape
    (m,)."""
    array = _as_real_array("Y", Y)
    _check_ndim("Y", array, "(1, m)")
    if array.shape != (1, m):
        raise ValueError(f"Y must have shape (1, m) = (1, {m}) to match X; got {array.shape}")
    labels = np.array(array[0], dtype=np.float64)
    bad = (labels != 0) & (labels != 1)  # NaN is caught here too
    if bad.any():
        examples = np.unique(labels[bad])[:5]
        raise ValueError(f"Y must hold labels 0 or 1; got {bad.sum()} other value(s), "
                         f"e.g. {examples.tolist()}")
    return labels


def check_learning_rate(learning_rate) -> float:
    if isinstance(learning_rate, (bool, np.bool_)) or not isinstance(learning_rate, numbers.Real):
        raise TypeError(f"learning_rate must be a real number; got {_describe(learning_rate)}")
    value = float(learning_rate)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"learning_rate must be finite and >= 0; got {value}")
    return value


def check_integer(name: str, value, minimum: int = 0) -> int:
    """An integer (Python or NumPy, not bool) ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer; got {_describe(value)}")
    try:
        integer = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {_describe(value)}") from None
    if integer < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {integer}")
    return integer


def check_problem(w, b, X, Y):
    """Validate a ``propagate`` call; returns kernel arguments ``(w, b, X, Y)``.

    ``w`` becomes a float64 vector of shape (n_x,), ``Y`` a float64 vector of shape (m,)
    (both new arrays), ``b`` a float, ``X`` a float64/float32 array of shape (n_x, m),
    not copied when it already is one.
    """
    w_vector = check_w(w)
    b_value = check_b(b)
    X_array = check_X(X, n_x=w_vector.shape[0])
    Y_vector = check_Y(Y, m=X_array.shape[1])
    return w_vector, b_value, X_array, Y_vector


def check_training(w, b, X, Y, num_iterations, learning_rate):
    """Validate an ``optimize`` call: :func:`check_problem`, the two numbers, and X finite."""
    w_vector, b_value, X_array, Y_vector = check_problem(w, b, X, Y)
    iterations = check_integer("num_iterations", num_iterations)
    rate = check_learning_rate(learning_rate)
    _check_X_finite(X_array)
    return w_vector, b_value, X_array, Y_vector, iterations, rate


def _check_X_finite(X: np.ndarray, name: str = "X") -> None:
    finite = np.isfinite(X)
    if not finite.all():
        count = finite.size - np.count_nonzero(finite)
        j, i = np.argwhere(~finite)[0]
        raise ValueError(
            f"{name} must be finite; got {count} NaN/inf value(s), "
            f"the first at {name}[{j}, {i}] = {X[j, i]}"
        )


def check_result(dw: np.ndarray, db: float, cost: float, X: np.ndarray,
                 name: str = "X") -> None:
    """After a kernel: a non-finite result means NaN/inf in X (raise that), or overflow."""
    if np.isfinite(cost) and np.isfinite(db) and np.isfinite(dw).all():
        return
    _check_X_finite(X, name)
    raise ValueError(
        f"the cost or gradient overflowed to NaN/inf although {name}, w and b are finite; "
        f"got cost={cost}, db={db}: scale {name} (e.g. divide by its maximum)"
    )


def check_trained(w: np.ndarray, b: float, dw: np.ndarray, db: float, costs,
                  X: np.ndarray, learning_rate: float) -> None:
    """After gradient descent (``X`` already known finite): what it returns is finite.

    A compiled training loop hands back only its recorded costs (every 100th iteration),
    the last gradients and the final parameters: a NaN/inf in any of them raises here, as
    :func:`check_result` does after each step of the Python loop. An overflow in an
    iteration that is not recorded, and from which the descent recovered, is not seen.
    """
    for cost in costs:
        if not np.isfinite(cost):
            check_result(dw, db, cost, X)
    check_result(dw, db, 0.0, X)
    if not (np.isfinite(b) and np.isfinite(w).all()):
        count = np.count_nonzero(~np.isfinite(w))
        raise ValueError(
            "the parameters overflowed to NaN/inf during gradient descent although X is "
            f"finite; got {count} NaN/inf value(s) in w, b={b}: lower learning_rate "
            f"(got {learning_rate}) or scale X (e.g. divide by its maximum)"
        )


def check_sparse_kernel(X, w, out, per_sample) -> bool:
    """The arguments of a sparse kernel (``_cython_sparse``, ``_numba_sparse``), before any
    compiled loop reads them: ``X`` a CSR or CSC matrix or array with float32/float64 data
    and int32/int64 indices whose ``indptr`` fits its shape, ``w`` and ``out`` of
    n_features, each array of ``per_sample`` (None: absent) of n_samples. Returns whether
    ``X`` is CSR. The indices themselves are trusted to be in range and ``indptr``
    non-decreasing (SciPy checks both when it builds a matrix; checking costs a pass)."""
    layout = getattr(X, "format", None)
    if layout not in ("csr", "csc") or len(X.shape) != 2:
        raise TypeError(f"X must be a 2-D scipy.sparse CSR or CSC matrix or array; got "
                        f"{_describe(X)}")
    data, indices, indptr = X.data, X.indices, X.indptr
    if data.dtype not in (np.float64, np.float32):
        raise TypeError(f"X's data must be float64 or float32; got {data.dtype}")
    if indices.dtype not in (np.int32, np.int64) or indptr.dtype not in (np.int32, np.int64):
        raise TypeError(f"X's indices must be int32 or int64; got {indices.dtype}, "
                        f"{indptr.dtype}")
    m, n = X.shape
    major = m if layout == "csr" else n
    if (data.ndim != 1 or indices.ndim != 1 or indptr.shape != (major + 1,)
            or not 0 <= indptr[0] <= indptr[-1] <= min(data.size, indices.size)):
        raise ValueError(f"X's data, indices and indptr are not a {layout.upper()} matrix "
                         f"of shape {X.shape}")
    if np.shape(w) != (n,) or np.shape(out) != (n,) or any(
            a is not None and np.shape(a) != (m,) for a in per_sample):
        raise ValueError(f"shapes do not agree: X {X.shape}, w {np.shape(w)}, out "
                         f"{np.shape(out)}, per-sample "
                         f"{[np.shape(a) for a in per_sample if a is not None]}")
    return layout == "csr"


def check_multinomial_kernel(W, b, X, Y, sw, out, P):
    """The arguments of a multinomial kernel, before any compiled loop reads them (``Y``:
    None in the Hessian's, where ``P`` is read instead of written). Returns ``(W, b, Y, sw,
    csr)``: the inputs as contiguous float64 arrays (no copy when they are), ``csr`` whether
    ``X`` is sparse CSR (None: dense). TypeError for a wrong kind of ``X``, else ValueError."""
    W = np.ascontiguousarray(W, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] < 1 or b.shape != (W.shape[0],):
        raise ValueError(f"expected W of shape (K, n_features) and b of shape (K,); got W "
                         f"{W.shape}, b {b.shape}")
    K = W.shape[0]
    if len(getattr(X, "shape", ())) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got {np.shape(X)}")
    m, n = X.shape
    if W.shape[1] != n:
        raise ValueError(f"W must have shape (K, {n}) for X {X.shape}; got {W.shape}")
    for name, array, shape in (("the output", out, (K, n + 1)), ("P", P, (m, K))):
        if array is None:
            continue
        written = name != "P" or Y is not None  # the Hessian's P is read only
        if (not isinstance(array, np.ndarray) or array.dtype != np.float64
                or not array.flags.c_contiguous or (written and not array.flags.writeable)):
            raise ValueError(f"{name} must be a {'writeable ' if written else ''}"
                             "C-contiguous float64 array")
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {shape} for X {X.shape} and W "
                             f"{W.shape}; got {array.shape}")
    if Y is not None:
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        if Y.shape != (m, K):
            raise ValueError(f"Y must have shape {(m, K)}; got {Y.shape}")
    if sw is not None:
        sw = np.ascontiguousarray(sw, dtype=np.float64)
        if sw.shape != (m,):
            raise ValueError(f"sw must have shape {(m,)}; got {sw.shape}")
    if getattr(X, "format", None) in ("csr", "csc"):
        csr = check_sparse_kernel(X, W[0], out[0, :n], (sw,))
        return W, b, Y, sw, csr
    if not isinstance(X, np.ndarray) or X.dtype not in KERNEL_DTYPES:
        raise TypeError(f"X must be a float64 or float32 NumPy array or a scipy.sparse CSR "
                        f"or CSC matrix; got {type(X).__name__} of dtype "
                        f"{getattr(X, 'dtype', None)}")
    if m < 1 or n < 1:
        raise ValueError(f"X must have at least one sample and one feature; got {X.shape}")
    if X.strides[0] % X.itemsize or X.strides[1] % X.itemsize:
        raise ValueError("X's strides must be whole elements")
    return W, b, Y, sw, None
