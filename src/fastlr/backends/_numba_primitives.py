"""The numba backend's building blocks: its compilation rules (the cached ``jit``, its
cross-process compile lock, the parallel options), the typing helpers of the kernels, two
intrinsics, and the vectorizable activations of the one-pass kernel
(:mod:`fastlr.backends._numba_model`). :mod:`fastlr.backends.numba_` is built on them.

Every compiled function of the backend, here, in ``_numba_model`` and in ``numba_``, is
decorated with :func:`jit`, which caches on disk when it can and states ``fastmath``
explicitly. A cache entry is stamped with this file's and ``_numba_model.py``'s hashes
(:func:`harden_cache`): editing either recompiles the kernels that have their code in them.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import threading

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

# ---------------------------------------------------------------------------------- compilation


def cached_jit_factory(njit=numba.njit):
    """A decorator like ``njit`` that caches on disk when it can, and compiles anyway when not.

    ``njit(cache=True)`` raises (``RuntimeError``, at decoration time) when Numba finds no
    writable cache directory; the decorator then falls back to ``njit`` without a cache,
    so importing the backend never fails for that reason. Use as ``@jit`` or
    ``@jit(**njit_options)``.
    """

    def jit(function=None, **options):
        def decorate(function):
            try:
                dispatcher = njit(cache=True, **options)(function)
            except (RuntimeError, OSError):  # no locator: no writable cache directory
                return njit(**options)(function)
            return harden_cache(dispatcher)

        return decorate if function is None else decorate(function)

    return jit


#: the lock file, in the cache directory, that processes compiling fastlr's kernels take
LOCK_FILE = "fastlr-compile.lock"

_compiling = threading.RLock()  # this process's compilations, one at a time (nested ok)
_depth = 0  # how deep the compilation now holding _compiling is nested (callees compile too)
_lock_file = None  # the open LOCK_FILE while _depth > 0, or None when it could not be had


def harden_cache(dispatcher):
    """Make ``dispatcher``'s use of Numba's on-disk cache safe; returns it.

    Three things Numba's cache does not do, done through its (private) cache objects where
    they exist — with another Numba the dispatcher is left as it is:

    * **Concurrent first runs.** Numba writes its index and data files without locking: two
      processes compiling the same module at once (several workers on a fresh install) can
      pair one process's index with the other's machine code, or a parallel function's
      code with another process's gufunc (numba#10128), and a later load crashes. Every
      compilation (and cache load) here holds an exclusive ``flock`` on :data:`LOCK_FILE`
      in the cache directory. ``compile`` runs only when a call finds no machine code for
      its types in this process, so the lock costs nothing after the first call.
    * **A damaged cache** (a truncated or garbled index or data file) is a miss: the
      function compiles again and the next save rewrites the index, instead of the call
      raising ``UnpicklingError``/``EOFError``.
    * **Dependencies.** A cache entry is stamped with its own file only; the kernels have
      this file's helpers and ``_numba_model``'s pass compiled in. The stamp gets those two
      files' hashes too: an upgrade changing only them recompiles the kernels.
    """
    compile_unlocked = dispatcher.compile
    cache_path = getattr(dispatcher._cache, "_cache_path", None)

    def compile(signature):
        with _cross_process_lock(cache_path):
            return compile_unlocked(signature)

    dispatcher.compile = compile
    cache = dispatcher._cache
    cache_file = getattr(cache, "_cache_file", None)
    if cache_file is None or not hasattr(cache_file, "_load_index"):
        return dispatcher
    load_index, load_overload = cache_file._load_index, cache.load_overload

    def robust_load_index():
        try:
            return load_index()
        except Exception:  # damaged: as if empty (the next save writes a new one)
            return {}

    def robust_load_overload(signature, target_context):
        try:
            return load_overload(signature, target_context)
        except Exception:  # damaged data file: compile again
            return None

    cache_file._load_index = robust_load_index
    cache.load_overload = robust_load_overload
    cache_file._source_stamp = (cache_file._source_stamp, _THIS_FILE_STAMP)
    return dispatcher


def _file_hash(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:  # not a readable file (a zip import): the plain stamp
        return None


_THIS_FILE_STAMP = tuple(_file_hash(os.path.join(os.path.dirname(__file__), name))
                         for name in ("_numba_primitives.py", "_numba_model.py"))


@contextlib.contextmanager
def _cross_process_lock(cache_path):
    global _depth, _lock_file
    with _compiling:
        if _depth == 0:
            _lock_file = _locked_file(cache_path)
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
            if _depth == 0 and _lock_file is not None:
                _lock_file.close()  # closing releases the flock
                _lock_file = None


def _locked_file(cache_path):
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    if not cache_path:
        return None
    try:
        os.makedirs(cache_path, exist_ok=True)
        lock = open(os.path.join(cache_path, LOCK_FILE), "a")  # held open: the flock lives on it
    except OSError:
        return None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
    except OSError:
        lock.close()
        return None
    return lock


_cached_jit = cached_jit_factory()


def jit(function=None, **options):
    """``njit(cache=True, **options)`` (see :func:`cached_jit_factory`), ``fastmath`` explicit.

    A function whose ``fastmath`` is left unset inherits the flags of the function that
    first compiles it as a callee (numba issue #7168): the exact helpers below would be
    compiled with ``reassoc`` when a fused kernel compiled them first, and the loop
    kernel, called from a user's ``fastmath`` function, would stop matching the reference.
    """
    options.setdefault("fastmath", False)
    return _cached_jit(function, **options)


#: reassociation lets sums use several SIMD partial sums; contract allows FMA. No
#: nnan/ninf: NaN or inf in X must propagate into the result.
FASTMATH = {"reassoc", "contract", "nsz"}

def _parallel_options():
    # only prange is parallelized: array expressions and np.zeros stay serial instead of
    # each becoming a parallel region of its own (a dict: Numba pops from it, so a new one)
    return {"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
            "setitem": False, "numpy": False, "stencil": False, "fusion": False}


# ------------------------------------------------------------------------------ typing helpers


def _by_type(choose):
    """A function for compiled code whose ``choose(*types)`` returns its implementation."""
    def function(*args):
        raise TypeError(f"{choose.__name__} is for compiled code")
    overload(function)(choose)
    function.__doc__ = choose.__doc__
    return function


@_by_type
def _blas_operand(X):
    """``X`` itself when C- or F-contiguous, else a C-contiguous copy (BLAS needs one)."""
    return (lambda X: X) if X.layout in "CF" else (lambda X: np.ascontiguousarray(X))


@_by_type
def _in_dtype_of(v, X):
    """``v`` (float64) in ``X``'s dtype: Numba's ``np.dot`` needs one dtype."""
    return (lambda v, X: v) if X.dtype == types.float64 else (lambda v, X: v.astype(np.float32))


@_by_type
def _as_float64(v):
    """``v`` as float64 (no copy when it already is)."""
    return (lambda v: v) if v.dtype == types.float64 else (lambda v: v.astype(np.float64))


@_by_type
def _part(a, start, count):
    """``a[start:start + count]``, or None for None (an optional per-sample array)."""
    if isinstance(a, types.NoneType):
        return lambda a, start, count: None
    return lambda a, start, count: a[start:start + count]


@_by_type
def _at(a, k):
    """``a[k]``, or 1.0 for None (unit sample weights: nothing to read)."""
    return (lambda a, k: 1.0) if isinstance(a, types.NoneType) else (lambda a, k: a[k])


# ----------------------------------------------------------------------------------- intrinsics


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.int64)
        return builder.bitcast(value, ir.DoubleType())

    return types.float64(bits), codegen


@intrinsic
def _prefetch(typingctx, a, i):
    """Ask the CPU to start loading the cache line of ``a[i]`` into L2 (a hint; no effect
    on results). Used to keep memory busy while a tile of X is being computed on."""
    if not (isinstance(a, types.Array) and a.ndim == 1 and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, array, [args[1]],
                                           wraparound=False)
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        builder.call(prefetch, [pointer, i32(0), i32(2), i32(1)])  # read, to L2, data
        return context.get_dummy_value()

    return types.void(a, i), codegen


# ---------------------------------------------------------------------------------- activations

LN2_HI = 6.93147180369123816490e-01  # ln 2 with its low 32 bits zero: k * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
INV_LN2 = 1.44269504088896338700e00
SQRT2 = 1.41421356237309504880


@jit(inline="always")
def _exp_nonpositive(x):
    """``e^x`` for ``x <= 0`` (or NaN), without a libm call so that loops over it vectorize.

    ``x = k ln2 + r`` with ``|r| <= ln2 / 2``; ``e^r`` by its Taylor polynomial of degree 13
    (truncation error < 1e-17); ``2^k`` built from its bits in two halves so that results
    down to the subnormal range are right. Error: a couple of ulps. NaN gives NaN.
    """
    # e^-746 rounds to 0 already; NaN compares false and stays NaN (max() need not keep it)
    x = -746.0 if x < -746.0 else x
    kf = math.floor(x * INV_LN2 + 0.5)
    r = (x - kf * LN2_HI) - kf * LN2_LO
    p = 1.0 / 6227020800.0 * r + 1.0 / 479001600.0  # Horner: 1/13! r + 1/12!, ...
    p = (p * r + 1.0 / 39916800.0) * r + 1.0 / 3628800.0
    p = (p * r + 1.0 / 362880.0) * r + 1.0 / 40320.0
    p = (p * r + 1.0 / 5040.0) * r + 1.0 / 720.0
    p = (p * r + 1.0 / 120.0) * r + 1.0 / 24.0
    p = (p * r + 1.0 / 6.0) * r + 0.5
    p = (p * r + 1.0) * r + 1.0
    k = np.int64(0.0 if math.isnan(kf) else kf)  # NaN never reaches the conversion (undefined)
    k1 = k >> 1  # k in [-1077, 0]: two factors 2^k1 2^k2, each a normal number
    k2 = k - k1
    return (p * _float_from_bits((k1 + 1023) << 52)) * _float_from_bits((k2 + 1023) << 52)


@jit(inline="always")
def _log1p_unit(e):
    """``log(1 + e)`` for ``0 <= e <= 1`` (or NaN), vectorizable, a couple of ulps.

    ``u = 1 + e`` rounded, ``c`` its rounding error's first-order effect; ``u = 2^k f`` with
    ``f`` in [1/√2, √2]; ``log f = 2 atanh(s)``, ``s = (f-1)/(f+1)``, ``|s| < 0.172``, by its
    series to ``s^23`` (truncation error < 1e-18).
    """
    u = 1.0 + e
    c = (e - (u - 1.0)) / u  # exact rounding error of u, divided by u (no fastmath here!)
    big = u > SQRT2
    f = u * 0.5 if big else u
    kf = 1.0 if big else 0.0
    s = (f - 1.0) / (f + 1.0)
    s2 = s * s
    q = 1.0 / 23.0 * s2 + 1.0 / 21.0  # Horner: 1/23 s2 + 1/21, ...
    q = (q * s2 + 1.0 / 19.0) * s2 + 1.0 / 17.0
    q = (q * s2 + 1.0 / 15.0) * s2 + 1.0 / 13.0
    q = (q * s2 + 1.0 / 11.0) * s2 + 1.0 / 9.0
    q = (q * s2 + 1.0 / 7.0) * s2 + 1.0 / 5.0
    q = q * s2 + 1.0 / 3.0
    log_f = 2.0 * s + 2.0 * s * s2 * q
    return kf * LN2_HI + ((kf * LN2_LO + c) + log_f)


# The helpers above are inlined by Numba into the caller's code, where they take the
# caller's fastmath flags. They must get none (reassociation would fold their
# error-compensation terms to zero), so they are called only from this function, which
# has no fastmath: an elementwise loop, which vectorizes without reassociation.
# error_model="numpy": a division by zero gives inf/nan instead of raising; Python's
# check (a branch to an exception) would keep the loop from vectorizing.
@jit(nogil=True, error_model="numpy")
def _activations(z, y, sw, h, start, count, b, dz, loss):
    """For ``k < count``, sample ``i = start + k`` at ``z[k] + b``: ``dz[k] = s (σ - y)``,
    ``loss[k] = s L`` and, if ``h`` is given, ``h[i] = s σ(1 - σ)`` (``s = sw[i]``, 1 when
    ``sw`` is None); with ``y`` None the Hessian pass's ``dz[k] = h[i] (z[k] + b)``, loss 0.
    ``is None`` is decided at compile time. Slices from 0: ``y[i]`` would not vectorize."""
    ys = _part(y, start, count)
    ss = _part(sw, start, count)
    hs = _part(h, start, count)
    if y is None:
        for k in range(count):
            dz[k] = _at(hs, k) * (z[k] + b)
            loss[k] = 0.0
        return
    for k in range(count):
        zk = z[k] + b
        s = _at(ss, k)
        e = _exp_nonpositive(-abs(zk))  # in (0, 1]: never overflows
        u = 1.0 / (1.0 + e)
        dz[k] = s * ((u if zk >= 0.0 else e * u) - ys[k])
        loss[k] = s * ((max(zk, 0.0) - ys[k] * zk) + _log1p_unit(e))  # grouped: y = 1 exact
        if h is not None:
            hs[k] = s * (e * u) * u


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _activate(z, y, sw, h, start, count, b, dz, loss):
    """:func:`_activations`, then ``(Σ loss, Σ dz)`` over the samples. ``loss`` must not be
    ``z``: overlapping arrays make LLVM take its scalar loop."""
    _activations(z, y, sw, h, start, count, b, dz, loss)
    J = 0.0
    db = 0.0
    for k in range(count):
        J += loss[k]
        db += dz[k]
    return J, db
