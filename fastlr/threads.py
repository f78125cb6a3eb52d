"""How many threads fastlr's parallel kernels use.

One setting for the whole process (default: every core this process may run on).
Parallel kernels split their work into this many chunks, each with its own
accumulators; small problems run on one thread, where starting threads would cost more
than it gives.

fastlr's threads never run on top of another pool's: the parallel (``fused``) kernels
call no BLAS, and the BLAS-calling ``vectorized`` variants start no threads of their own.
What remains is *idle* threads: after a parallel region, OpenMP's workers spin, waiting
for the next one, and a BLAS library's workers do the same after a call. On a 2-core
machine, a NumPy matrix product right after a fused call (or the reverse) then shares
its cores with spinning threads and loses whole scheduler ticks. Spinning too little
costs too: a worker that has gone to sleep takes a long time to wake on a virtual
machine. :func:`configure_openmp` bounds the spin of fastlr's OpenMP threads between the
two: calls separated by ordinary Python work stay as fast as with libgomp's default, and
alternating with another pool costs far less (the measurements behind the value are in
the README, "How many threads does it use").
"""

from __future__ import annotations

import os
import time

from fastlr import validation

_num_threads: int | None = None

#: idle GNU OpenMP threads spin this many times before sleeping (libgomp's default is
#: 300 000: several milliseconds, a scheduler tick; see the module docstring)
GOMP_SPINCOUNT = "20000"


#: seconds after which other libraries' idle workers have stopped spinning: OpenBLAS
#: spins 2**28 cycles (~0.1 s) after a call before it sleeps
SETTLE_SECONDS = 0.2


def settle() -> None:
    """Wait until idle BLAS and OpenMP workers sleep: call before timing an implementation.

    Right after a SciPy-BLAS call (the ``numba``/``cython`` ``vectorized`` variants) a fused
    ``propagate`` runs several times slower until OpenBLAS's workers stop spinning: a
    benchmark that does not wait measures the previous contender's threads.
    """
    time.sleep(SETTLE_SECONDS)


def limit_blas(n_threads: int):
    """Limit NumPy's and SciPy's BLAS pools to ``n_threads`` (threadpoolctl).

    Returns the limiter (call ``restore_original_limits()`` on it), or None when
    threadpoolctl is not installed. SciPy's BLAS, which the compiled ``vectorized`` variants
    call, is loaded first: threadpoolctl limits only the libraries already loaded.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    try:
        import scipy.linalg  # noqa: F401  (loads SciPy's BLAS)
    except ImportError:
        pass
    return threadpool_limits(limits=n_threads, user_api="blas")


def configure_openmp() -> None:
    """Bound how long fastlr's idle OpenMP threads spin (see the module docstring).

    Called before the compiled backends are imported; libgomp reads the setting once,
    when it is first loaded, so it has no effect if another library loaded it earlier.
    A user's own ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is left as it is.
    """
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def get_num_threads() -> int:
    """Threads a parallel kernel uses: :func:`set_num_threads`'s value, else every core;
    1 in a process forked after fastlr started its threads (see :func:`started_threads`)."""
    if _forked_after_threads:
        return 1
    return _num_threads or available_cores()


# Contention. Right after another pool's call (NumPy's BLAS, most often: its idle worker
# spins for ~0.1 s and holds a core), a parallel region waits for a thread that has no
# core: measured at the cat size, a 0.25 ms fused pass took ~2.2 ms right after a NumPy
# matrix-vector product, where the same pass on the calling thread alone took ~0.8 ms.
# So the backends time their parallel calls: one that ran SLOW_FACTOR times slower than
# the best seen for its size makes the next BACKOFF_CALLS calls run on the calling thread,
# then threads are tried again. A quiet machine never triggers it.

#: a parallel call this many times slower (per element) than the best seen is contended
SLOW_FACTOR = 2.5
#: calls that run serially after a contended one, before threads are tried again
BACKOFF_CALLS = 16

_best_rate: dict[int, float] = {}  # log2(work) -> best seconds per unit of parallel work
_serial_left = 0


def use_threads() -> bool:
    """Whether the next parallel-sized call may start threads (see "Contention" above)."""
    global _serial_left
    if _serial_left:
        _serial_left -= 1
        return False
    return True


def parallel_took(work: int, seconds: float) -> None:
    """Record a parallel call: ``work`` elements of X (times iterations) in ``seconds``."""
    global _serial_left
    bucket = work.bit_length()
    rate = seconds / max(work, 1)
    best = _best_rate.get(bucket)
    if best is None or rate < best:
        _best_rate[bucket] = rate
    elif rate > SLOW_FACTOR * best:
        _serial_left = BACKOFF_CALLS


# Fork safety. GNU OpenMP's thread pool (the Cython and Numba backends both use the
# system's libgomp) does not survive fork(): a child that enters a parallel region hangs
# (libgomp) or is killed by Numba ("fork() called from a process already using GNU
# OpenMP"). So a child forked after this process started fastlr's threads runs every
# parallel kernel on its calling thread. A child forked before any parallel call, or
# started with the "spawn"/"forkserver" methods, has a pool of its own and uses its cores.
_threads_started = False
_forked_after_threads = False


def started_threads() -> None:
    """Called by a backend as it enters a parallel region: a fork from now on is unsafe."""
    global _threads_started
    _threads_started = True


def _after_fork_in_child() -> None:
    global _forked_after_threads
    if _threads_started:
        _forked_after_threads = True


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n_threads: int | None) -> None:
    """Use ``n_threads`` threads (``None``: every core) in fastlr's parallel kernels."""
    global _num_threads
    _num_threads = None if n_threads is None else validation.check_integer(
        "n_threads", n_threads, minimum=1
    )
