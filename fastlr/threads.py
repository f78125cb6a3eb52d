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
    call, is loaded first: threadpoolctl limits only the libraries already loaded. The
    libraries are found once per process (scanning them takes milliseconds).
    """
    global _blas_controller
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        try:
            import scipy.linalg  # noqa: F401  (loads SciPy's BLAS)
        except ImportError:
            pass
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=n_threads, user_api="blas")


_blas_controller = None


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
# So the backends time their parallel-sized propagate calls and keep, per backend and size
# (log2 of the elements), a moving average of the time per element of each path; the next call
# takes the faster one. The other path is timed again after EXPLORE_SECONDS, and at
# once when the parallel path is SLOW_FACTOR times slower than its best while the serial
# one has not been timed yet. A quiet machine stays parallel (a lone slow call moves the
# average only by AVERAGE_WEIGHT of the difference). The compiled training loops always
# use threads: contention from the user's last NumPy call lasts ~0.1 s, a training longer.

#: the parallel path this many times slower than its best: time the serial one now
SLOW_FACTOR = 2.5
#: seconds after which the path not taken is timed again (contention lasts ~0.1 s)
EXPLORE_SECONDS = 0.05
#: weight of the newest call in the moving average of the path being taken
AVERAGE_WEIGHT = 0.3


class _Paths:
    """Per backend and size: seconds per element of each path, and when last timed."""

    __slots__ = ("parallel", "serial", "best", "parallel_at", "serial_at", "second_look")

    def __init__(self):
        self.parallel = self.serial = self.best = None
        self.parallel_at = self.serial_at = 0.0
        self.second_look = False


_paths: dict[tuple, _Paths] = {}  # (backend, log2 of the work) -> its paths
_clock = time.monotonic


def use_threads(work: int, backend: str) -> bool:
    """Whether ``backend``'s parallel-sized call of ``work`` elements should start threads."""
    paths = _paths.get((backend, work.bit_length()))
    if paths is None or paths.parallel is None:
        return True
    if paths.serial is None:
        return paths.parallel <= SLOW_FACTOR * paths.best  # slow: time the serial path
    parallel = paths.parallel <= paths.serial
    stale = _clock() - (paths.serial_at if parallel else paths.parallel_at)
    return parallel != (stale > EXPLORE_SECONDS)  # now and then, time the other path


def took(work: int, seconds: float, parallel: bool, backend: str) -> None:
    """Record ``backend``'s parallel-sized call of ``work`` elements: ``seconds``, its path.

    The path being taken keeps a moving average (a lone slow call does not flip the
    choice); a path timed again after a while takes the new time as it is (its old one is
    stale).
    """
    paths = _paths.setdefault((backend, work.bit_length()), _Paths())
    rate = seconds / max(work, 1)
    now = _clock()
    if parallel:
        paths.best = rate if paths.best is None else min(paths.best, rate)
        if paths.parallel is not None and now - paths.parallel_at > EXPLORE_SECONDS:
            # timing threads again after a while: the first call also wakes the sleeping
            # threads, so it does not count; the next call (still stale) is the sample
            paths.second_look = not paths.second_look
            if paths.second_look:
                return
        paths.parallel = _update(paths.parallel, rate, now - paths.parallel_at)
        paths.parallel_at = now
    else:
        paths.serial = _update(paths.serial, rate, now - paths.serial_at)
        paths.serial_at = now


def _update(average, value, age):
    if average is None or age > EXPLORE_SECONDS:
        return value
    return average + AVERAGE_WEIGHT * (value - average)


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


def usable(n_threads: int) -> int:
    """``n_threads``, or 1 in a process forked after fastlr started its threads."""
    return 1 if _forked_after_threads else n_threads


def set_num_threads(n_threads: int | None) -> None:
    """Use ``n_threads`` threads (``None``: every core) in fastlr's parallel kernels."""
    global _num_threads
    _num_threads = None if n_threads is None else validation.check_integer(
        "n_threads", n_threads, minimum=1
    )
