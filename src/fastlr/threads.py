"""fastlr's one thread policy: how many threads a parallel kernel uses, and when.

Every parallel kernel of fastlr (the course's ``fused`` pass, the estimator's loss and
Hessian passes, in Cython and Numba) is a leaf that takes a thread count; :func:`call`
chooses it, in one place:

* **How many** (:func:`get_num_threads`): what OpenMP would use here. ``OMP_NUM_THREADS``
  and the limits ``threadpoolctl.threadpool_limits`` sets (so joblib's, scikit-learn's and
  dask's worker limits hold: their workers set those), capped by the cores this process may
  run on (its CPU affinity) and its cgroup CPU quota (containers).
  :func:`set_num_threads` and the estimator's ``n_threads=`` override it.
* **Serial below a size**: a problem of fewer than :data:`PARALLEL_MIN_ELEMENTS` elements runs
  on the calling thread: starting a team costs more than a second core gives back there.
* **Contention**: a parallel call slowed by another pool's spinning threads (NumPy's BLAS
  right after a call) backs off to the calling thread while that lasts (:func:`use_threads`).
* **One team at a time**: a call made while another Python thread's call holds the team runs
  on its own thread (two teams on two cores only slow each other down).
* **Fork safety**: a child forked after threads ran runs everything serially.

Idle threads: after a parallel region OpenMP's workers spin, waiting for the next one, and a
BLAS library's do the same after a call. On a 2-core machine a NumPy product right after a
fused call (or the reverse) then shares its cores with spinning threads. Spinning too little
costs too: a worker gone to sleep takes long to wake on a virtual machine.
:func:`configure_openmp` bounds the spin of fastlr's OpenMP threads between the two (the
measurements are in docs/threads.md, "Thread pools that share the cores").
"""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

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


#: where the cgroup file systems are mounted, and which groups this process is in (tests
#: point them elsewhere)
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def cpu_quota() -> int | None:
    """Whole cores this process's cgroup may use (its CPU quota, rounded up), or None.

    cgroup v2 ``cpu.max`` (``"200000 100000"``: 2 cores; ``"max 100000"``: no quota) of the
    process's group and its parents, else cgroup v1 ``cpu.cfs_quota_us`` ÷
    ``cpu.cfs_period_us``. Read once per process.
    """
    global _quota
    if _quota is _UNKNOWN:
        _quota = _read_quota()
    return _quota


_UNKNOWN = object()
_quota = _UNKNOWN


def _read_quota() -> int | None:
    limits = []
    try:
        with open(PROC_CGROUP, encoding="utf-8") as f:
            paths = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        paths = []
    for _, controllers, path in (p for p in paths if len(p) == 3):
        if controllers == "":  # v2: the group and each parent may set cpu.max
            group = CGROUP_ROOT / path.lstrip("/")
            for folder in (group, *group.parents):
                limits.append(_quota_file(folder / "cpu.max", None))
                if folder == CGROUP_ROOT:
                    break
        elif "cpu" in controllers.split(","):  # v1
            for mount in (CGROUP_ROOT / "cpu,cpuacct", CGROUP_ROOT / "cpu"):
                group = mount / path.lstrip("/")
                limits.append(_quota_file(group / "cpu.cfs_quota_us",
                                          group / "cpu.cfs_period_us"))
    cores = [limit for limit in limits if limit is not None]
    return min(cores) if cores else None


def _quota_file(quota_path: Path, period_path: Path | None) -> int | None:
    """Whole cores a quota file allows (v2: ``quota period`` in one file), or None."""
    try:
        fields = quota_path.read_text(encoding="utf-8").split()
        if period_path is not None:
            fields += period_path.read_text(encoding="utf-8").split()
        quota, period = int(fields[0]), int(fields[1])
    except (OSError, ValueError, IndexError):  # "max", absent, unreadable: no quota
        return None
    if quota <= 0 or period <= 0:  # v1 writes -1 for "no quota"
        return None
    return max(1, math.ceil(quota / period))


def openmp_limit() -> int | None:
    """Threads the OpenMP runtime would start here, if anything limits them, else None.

    The smaller of ``OMP_NUM_THREADS`` as it was when fastlr was imported (its first value,
    as OpenMP reads a list: like the OpenMP runtime, which reads it once as it loads, fastlr
    ignores later changes — dask's nannies set it to 1 in the client's own process) and
    ``omp_get_max_threads()`` of the runtime fastlr's kernels use, which follows
    threadpoolctl's limits. (Numba's OpenMP layer sets the latter to its pool size when its
    threads start: the variable is read too, so that it keeps counting.)
    """
    found = [_OMP_NUM_THREADS] if _OMP_NUM_THREADS else []
    if _omp_max_threads is not None and _omp_max_threads() > 0:
        found.append(_omp_max_threads())
    return min(found) if found else None


def _omp_num_threads(value: str | None) -> int | None:
    """``OMP_NUM_THREADS``'s first value as a positive int, else None."""
    first = (value or "").split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


_OMP_NUM_THREADS = _omp_num_threads(os.environ.get("OMP_NUM_THREADS"))


def default_threads() -> int:
    """What OpenMP would use: :func:`openmp_limit`, capped by the affinity and the quota
    (:func:`limits` names each; this runs at every parallel-sized call, so no dict)."""
    n = available_cores()
    for limit in (cpu_quota(), openmp_limit()):
        if limit is not None and limit < n:
            n = limit
    return max(1, n)


def limits() -> dict:
    """What :func:`default_threads` reads, by name (None: no limit from it)."""
    return {"CPU affinity": available_cores(), "cgroup CPU quota": cpu_quota(),
            "OpenMP (OMP_NUM_THREADS, threadpoolctl)": openmp_limit()}


def get_num_threads() -> int:
    """Threads a parallel kernel uses.

    :func:`set_num_threads`'s value, else :func:`default_threads` (what OpenMP would use:
    ``OMP_NUM_THREADS`` and threadpoolctl's limits, capped by the CPU affinity and the
    cgroup CPU quota); 1 in a process forked after fastlr started its threads.

    Returns
    -------
    n_threads : int
        The number of threads, at least 1.
    """
    if _forked_after_threads:
        return 1
    return _num_threads or default_threads()


#: problems of fewer elements than this run on the calling thread: a 2-thread team costs
#: more than it saves there (AMD EPYC Zen 5, the fused pass, serial ÷ 2 threads: 0.9-1.0×
#: at 20 000 elements, 1.0-1.4× at 40 000, 1.2-1.6× at 80 000)
PARALLEL_MIN_ELEMENTS = 40_000
#: and each thread gets at least this many examples (samples): a few long examples gain
#: nothing from a second thread (12288 × 8: 0.4-0.9×)
MIN_CHUNK_SAMPLES = 16

_team = threading.Lock()  # one parallel call at a time; a call finding it taken runs alone


def call(leaf, args, work: int, samples: int, key: str, *, n_threads: int | None = None,
         adaptive: bool = True):
    """``leaf(*args, n)``, ``n`` the threads the policy gives a call over ``samples``
    examples, ``work`` elements in all.

    ``n_threads`` overrides :func:`get_num_threads`. ``adaptive``: the call is timed and
    the contention check (:func:`use_threads`, per ``key`` and size) may run it on the
    calling thread; training loops pass False (a training lasts longer than contention).
    """
    n = planned_threads(work, samples, n_threads)
    if n == 1:
        return leaf(*args, 1)
    if adaptive and not use_threads(work, key):
        start = time.perf_counter()
        result = leaf(*args, 1)
        took(work, time.perf_counter() - start, False, key)
        return result
    if not _team.acquire(blocking=False):  # another thread's team holds the cores
        return leaf(*args, 1)
    try:
        started_threads()
        start = time.perf_counter()
        result = leaf(*args, n)
        if adaptive:
            took(work, time.perf_counter() - start, True, key)
        return result
    finally:
        _team.release()


def planned_threads(work: int, samples: int, n_threads: int | None = None) -> int:
    """Threads :func:`call` starts for ``work`` elements over ``samples`` examples on a
    quiet machine."""
    if work < PARALLEL_MIN_ELEMENTS:
        return 1
    return max(1, min(resolve(n_threads), samples // MIN_CHUNK_SAMPLES))


def resolve(n_threads: int | None = None) -> int:
    """``n_threads`` (an override) or :func:`get_num_threads`; 1 in a forked child."""
    return usable(n_threads or get_num_threads())


# Contention. Right after another pool's work (NumPy's BLAS, most often: OpenBLAS's idle
# worker spins for ~0.1 s after a call), a parallel region may wait a whole scheduler tick
# for a thread that has no core. Measured at the cat size on AMD EPYC Zen 5, each call right
# after a NumPy 2000×2000 M @ v: 2 threads 1.9-2.0 ms median, most calls over 2 ms and some
# at 5-7 ms; the calling thread alone 0.50 ms; NumPy's own course code 0.55 ms. Back to
# back, 2 threads take 0.22 ms and one 0.42 ms. A wrong serial call costs ~2×, a wrong
# parallel one up to ~20×. So the policy times, per key and size (log2 of the elements), a
# serial call first and then its parallel calls, and keeps the best time per element of
# each. SLOW_CALLS parallel calls in a row slower than the best serial one (or than
# SLOW_FACTOR times the best parallel one) by more than a wake-up of the team
# (WAKE_SECONDS) were contended (fewer may be a team woken after a pause): the calls of
# the next BACKOFF_SECONDS run on the calling thread (timed too). Then threads
# are tried again; each contended try in a row doubles the wait (up to
# MAX_BACKOFF_SECONDS), a fast one resets it.

#: a parallel call this many times slower than the best one of its size was contended
SLOW_FACTOR = 2.0
#: the first parallel calls of a size start the thread team and run slower: not samples
WARMUP_CALLS = 3
#: what waking the team's sleeping threads may add to a call (the first call after a pause:
#: a futex wake-up on a virtual machine, ~0.1-0.5 ms) — not contention, which costs a
#: scheduler tick (several ms)
WAKE_SECONDS = 0.5e-3
#: slow parallel calls in a row that mean contention: after a pause of a quarter second the
#: first two calls at the cat size took ~2 ms each on this virtual machine (its idle vCPU
#: wakes slowly), then 0.21 ms
SLOW_CALLS = 3
#: how long calls stay on the calling thread after a contended one: longer than OpenBLAS's
#: idle spin (~0.1 s), so that a program that has stopped calling NumPy gets its threads back
BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 3.2


class _Paths:
    """Per key and size: the best seconds per element of each path, and the backoff."""

    __slots__ = ("parallel", "serial", "calls", "slow", "serial_until", "backoff")

    def __init__(self):
        self.parallel = self.serial = None
        self.calls = 0
        self.slow = 0  # slow parallel calls in a row
        self.serial_until = 0.0
        self.backoff = BACKOFF_SECONDS


_paths: dict[tuple, _Paths] = {}  # (key, log2 of the work) -> its record
_clock = time.monotonic


def use_threads(work: int, key: str) -> bool:
    """Whether a parallel-sized call of ``work`` elements under ``key`` should start
    threads now: not before one serial call was timed, nor while backing off after a
    contended parallel call."""
    paths = _paths.get((key, work.bit_length()))
    return paths is not None and paths.serial is not None and _clock() >= paths.serial_until


def took(work: int, seconds: float, parallel: bool, key: str) -> None:
    """Record a call of ``work`` elements under ``key`` that took ``seconds``."""
    paths = _paths.setdefault((key, work.bit_length()), _Paths())
    rate = seconds / max(work, 1)
    if not parallel:
        paths.serial = rate if paths.serial is None else min(paths.serial, rate)
        return
    paths.calls += 1
    if paths.calls <= WARMUP_CALLS:
        return  # the team is starting (slower for a few calls): not samples yet
    paths.parallel = rate if paths.parallel is None else min(paths.parallel, rate)
    slower_than = min(SLOW_FACTOR * paths.parallel, paths.serial or math.inf) * work
    if seconds <= slower_than + WAKE_SECONDS:
        paths.slow = 0
        paths.backoff = BACKOFF_SECONDS
        return
    paths.slow += 1
    if paths.slow >= SLOW_CALLS:  # fewer may be a team woken after a pause
        paths.slow = 0
        paths.serial_until = _clock() + paths.backoff
        paths.backoff = min(2 * paths.backoff, MAX_BACKOFF_SECONDS)


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
    """Use ``n_threads`` threads in fastlr's parallel kernels.

    Also the default of :class:`fastlr.LogisticRegression`'s ``n_threads=None``. Problems of
    fewer than ``fastlr.threads.PARALLEL_MIN_ELEMENTS`` elements still run on the calling
    thread.

    Parameters
    ----------
    n_threads : int or None
        The number of threads, at least 1; ``None``: back to :func:`default_threads`, what
        OpenMP would use.
    """
    global _num_threads
    _num_threads = None if n_threads is None else validation.check_integer(
        "n_threads", n_threads, minimum=1
    )


configure_openmp()  # before the OpenMP runtime loads, just below: it reads the setting once
try:  # loads the OpenMP runtime now, where threadpoolctl finds it (see fastlr/backends/_openmp)
    from fastlr.backends._openmp import max_threads as _omp_max_threads
except ImportError:  # not compiled: OMP_NUM_THREADS is read from the environment
    _omp_max_threads = None
