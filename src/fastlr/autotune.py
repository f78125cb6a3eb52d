"""Which implementation is fastest for a kind of problem: documented rules, or a measurement
the user asks for (FFTW's ESTIMATE and MEASURE).

A *problem class* is what could decide the winner: ``X``'s dtype, its memory order, its size
(fits in cache or streams from memory) and its aspect (:func:`problem_class`).

**By default fastlr does not measure**: :func:`fastlr.fastest` and every ``backend="auto"``
take the first available pair of :data:`fastlr.registry.PREFERENCE` — the one-pass ``fused``
kernel (Cython first: it is compiled at install time, so the first call pays no JIT; then
Numba), else NumPy's vectorized code. The rule comes from measurements on both CPU kinds
this project runs on (AMD EPYC Zen 5 with AVX-512, Zen 3 with AVX2 only;
docs/choosing.md and docs/benchmarks.md): the one-pass kernel reads X once where
NumPy's course code reads it twice, and no class of problem showed another pair faster by
a margin that held from one run to the next. The same X gives the same choice in every
process, and the first call costs no measuring.

**Measuring is something you ask for**: :func:`tune` (``fastlr.tune()``, ``fastlr bench
--tune``) times every available compiled implementation and NumPy's vectorized code on a
synthetic problem of each class, in two conditions — steady (calls back to back) and
interleaved (each call right after a NumPy matrix-vector product, as in a program that does
its own NumPy work between fastlr's calls) — and records the pair with the smallest
geometric mean of the two medians. It watches the rest of the machine while it measures:
when other processes used more than :data:`BUSY_LIMIT` of the cores, nothing is saved and
the result says why. What it saves goes into ``$FASTLR_CACHE_DIR/fastest.json`` (default
``~/.cache/fastlr/``), keyed by this machine, the thread count and the versions of Python,
NumPy, Numba and fastlr; later ``"auto"`` choices read it (well under a microsecond once
read). ``FASTLR_AUTOTUNE=0`` ignores it; ``FASTLR_BACKEND`` forces a backend.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fastlr import threads

#: elements of X up to which a problem is "tiny" (per-call overhead decides) and up to which
#: it stays in this machine's caches (a few MB of L2 and L3) rather than streaming from memory
TINY_ELEMENTS = 10_000
CACHE_ELEMENTS = 3_000_000

#: the problem each class is measured on: (n_x, m) per (size, aspect)
REPRESENTATIVE = {
    ("tiny", "tall"): (4, 256), ("tiny", "wide"): (256, 4), ("tiny", "square"): (32, 32),
    ("cache", "tall"): (100, 20_000), ("cache", "wide"): (12288, 209),
    ("cache", "square"): (1000, 1000),
    ("memory", "tall"): (100, 200_000), ("memory", "wide"): (20_000, 1000),
    ("memory", "square"): (4000, 4000),
}

#: seconds each candidate is timed for, at least (plus one warm-up call that compiles)
BUDGET = 0.05

_lock = threading.Lock()
# (class, threads) -> tuned (backend, variant), or False; "any" -> whether the file holds
# anything for this process to read
_memory: dict = {}


def problem_class(X: np.ndarray) -> str:
    """``"float64-F-cache-wide"`` and the like: the key the fastest implementation is stored by."""
    n_x, m = X.shape
    elements = n_x * m
    size = ("tiny" if elements <= TINY_ELEMENTS
            else "cache" if elements <= CACHE_ELEMENTS else "memory")
    aspect = "tall" if m >= 4 * n_x else "wide" if n_x >= 4 * m else "square"
    flags = X.flags
    order = "F" if flags.f_contiguous else "C" if flags.c_contiguous else "strided"
    dtype = "float32" if X.dtype.char == "f" else "float64"  # .char: .name is slow (~µs)
    return f"{dtype}-{order}-{size}-{aspect}"


def cache_path() -> Path:
    directory = os.environ.get("FASTLR_CACHE_DIR") or Path.home() / ".cache" / "fastlr"
    return Path(directory) / "fastest.json"


def fingerprint() -> str:
    """This machine, thread count and versions: a tuning result holds only for these."""
    from fastlr import __version__

    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}",
                f"fastlr {__version__}"]
    try:
        versions.append(f"numba {importlib.metadata.version('numba')}")
    except importlib.metadata.PackageNotFoundError:
        pass
    return " | ".join([cpu_model(), f"{threads.available_cores()} cores",
                       f"{threads.get_num_threads()} threads", *versions])


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what :mod:`platform` knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def tuned_pair(X: np.ndarray) -> tuple[str, str] | None:
    """What :func:`tune` saved for ``X``'s class on this machine and configuration, or
    None (read from the file once per class and thread count; never measures)."""
    anything = _memory.get("any")
    if anything is None:
        anything = _memory["any"] = (os.environ.get("FASTLR_AUTOTUNE") != "0"
                                     and bool(_load_file()))
    if not anything:
        return None  # nothing tuned here: the rule, without computing a class or threads
    key = (problem_class(X), threads.get_num_threads())
    found = _memory.get(key)
    if found is None:
        found = _memory[key] = _tuned_entries().get(key[0]) or False
    return found or None


def _tuned_entries() -> dict:
    """The classes :func:`tune` saved for this fingerprint (``{}`` when absent or damaged:
    the file is a cache, and whatever is wrong with it means "the rule")."""
    stored = _load_file().get(fingerprint())
    if not isinstance(stored, dict):
        return {}
    return {key: pair for key, pair in ((k, _pair(v)) for k, v in stored.items()) if pair}


#: a tuning during which other processes used more than this fraction of the machine's
#: cores (on average) is not saved: its times say more about them than about fastlr
BUSY_LIMIT = 0.10


class Tuning(NamedTuple):
    """What :func:`tune` measured: per class, each candidate's (steady, interleaved)
    median seconds and the winner; whether it was saved, and why not."""

    times: dict
    chosen: dict
    saved: bool
    reason: str
    busy: float | None  # fraction of the cores other processes used while it measured


def tune(problems, candidates, get, *, save=True) -> Tuning:
    """Measure ``candidates`` on each class of ``problems`` (arrays X) and save the winners.

    ``get(backend, variant)`` returns an :class:`~fastlr.course.Implementation`. Nothing
    is saved when other processes were busy (:data:`BUSY_LIMIT`) before or during it.
    """
    classes = {}
    for X in problems:
        classes.setdefault(problem_class(X), X)
    with _lock:
        before = load_meter()
        time.sleep(0.25)  # is the machine quiet before we start?
        busy = before.busy_since()
        times = {}
        if busy is None or busy <= BUSY_LIMIT:
            meter = load_meter()
            times = {key: _measure(key, X, candidates, get) for key, X in classes.items()}
            busy = meter.busy_since()
        chosen = {key: min(found, key=lambda pair: score(found[pair]))
                  for key, found in times.items()}
        if busy is not None and busy > BUSY_LIMIT:
            when = "while it measured" if times else "before it started (nothing measured)"
            return Tuning(times, chosen, False,
                          f"other processes used {busy:.0%} of the cores {when} "
                          f"(more than {BUSY_LIMIT:.0%}): run it again on a quiet machine",
                          busy)
        if not save:
            return Tuning(times, chosen, False, "not asked to save", busy)
        stored = _load_file().get(fingerprint())
        stored = dict(stored) if isinstance(stored, dict) else {}
        stored.update({key: list(pair) for key, pair in chosen.items()})
        written = _save_file(fingerprint(), stored)
        _memory.clear()
        reason = "" if written else f"could not write {cache_path()}"
        return Tuning(times, chosen, written, reason, busy)


def score(steady_interleaved) -> float:
    """Both conditions count: a user's program calls NumPy between fastlr's calls."""
    return math.sqrt(steady_interleaved[0] * steady_interleaved[1])


class _Meter(NamedTuple):
    """CPU time of the whole machine and of this process at one moment."""

    wall: float
    machine: float  # seconds of CPU every process used (``/proc/stat``), or None
    own: float
    cores: int

    def busy_since(self) -> float | None:
        """Fraction of the cores other processes used since; None where unknown."""
        now = load_meter()
        if self.machine is None or now.machine is None:
            return None
        wall = max(now.wall - self.wall, 1e-9)
        others = (now.machine - self.machine) - (now.own - self.own)
        return max(0.0, others / (wall * self.cores))


def load_meter() -> _Meter:
    """Now: seconds of CPU used by every process (busy jiffies of ``/proc/stat``) and by
    this one (all its threads)."""
    own = sum(os.times()[:2])
    machine = None
    cores = 1
    try:
        with open("/proc/stat", encoding="ascii") as f:
            lines = f.read().splitlines()
        fields = [int(v) for v in lines[0].split()[1:]]
        # user nice system idle iowait irq softirq steal: all but idle and iowait are busy
        busy = sum(fields[:8]) - fields[3] - fields[4]
        machine = busy / os.sysconf("SC_CLK_TCK")
        cores = max(1, sum(1 for line in lines if line[:3] == "cpu" and line[3:4].isdigit()))
    except (OSError, ValueError, IndexError):
        pass
    return _Meter(time.monotonic(), machine, own, cores)


def _measure(key, X, candidates, get) -> dict:
    """``{pair: (steady, interleaved)}`` median seconds of each candidate on ``X``'s class."""
    from fastlr.datasets import make_problem

    size, aspect = key.rsplit("-", 2)[-2:]
    n_x, m = REPRESENTATIVE[size, aspect] if size != "tiny" else X.shape
    order = "C" if X.flags.c_contiguous and not X.flags.f_contiguous else "F"
    problem_X, Y = make_problem(n_x, m, dtype=X.dtype, order=order, seed=0)
    if not (X.flags.c_contiguous or X.flags.f_contiguous):
        problem_X = problem_X[:, ::2]  # a strided view, like the user's
        Y = Y[:, ::2]
    w = np.full((n_x, 1), 0.01)
    from fastlr.bench.timing import Interleave  # the user's NumPy call, as fastlr bench makes it

    interleave = Interleave()
    times = {}
    for backend, variant in candidates:
        implementation = get(backend, variant)
        implementation.propagate(w, 0.0, problem_X, Y)  # compiles, fills caches
        threads.settle()  # the previous candidate's idle threads stop spinning
        steady = _median_time(implementation, w, problem_X, Y, None)
        times[backend, variant] = (steady,
                                   _median_time(implementation, w, problem_X, Y, interleave))
    return times


def _median_time(implementation, w, X, Y, before_each) -> float:
    """Median seconds of ``implementation.propagate``, timed for :data:`BUDGET` seconds (at
    least 5 calls), each call right after ``before_each()`` when it is given."""
    samples = []
    start = time.perf_counter()
    while len(samples) < 5 or time.perf_counter() - start < BUDGET:
        if before_each is not None:
            before_each()
        t0 = time.perf_counter()
        implementation.propagate(w, 0.0, X, Y)
        samples.append(time.perf_counter() - t0)
        if len(samples) >= 1000:
            break
    return statistics.median(samples)


def _pair(entry) -> tuple[str, str] | None:
    """A stored entry as a ``(backend, variant)`` pair; None when it is not one."""
    if (isinstance(entry, list) and len(entry) == 2
            and all(isinstance(name, str) for name in entry)):
        return tuple(entry)
    return None


def _load_file() -> dict:
    """The cache file's content; ``{}`` when it is missing, unreadable or not a JSON object.

    The file is a cache: whatever is wrong with it (garbage, a truncated write, a directory
    in its place) means "measure again", never an error.
    """
    try:
        with open(cache_path(), encoding="utf-8") as f:
            content = json.load(f)
    except (OSError, ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return {}
    return content if isinstance(content, dict) else {}


def _save_file(fingerprint_key: str, entries: dict) -> bool:
    path = cache_path()
    temporary = None
    try:
        content = _load_file()  # entries of other fingerprints stay
        content[fingerprint_key] = entries
        path.parent.mkdir(parents=True, exist_ok=True)
        # a unique name: two processes may share a pid (containers sharing a home directory)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".",
                                                 suffix=".tmp")
        with os.fdopen(descriptor, "w", encoding="utf-8") as f:
            f.write(json.dumps(content, indent=1, sort_keys=True))
        os.replace(temporary, path)  # atomic: another process never reads half a file
        temporary = None
        return True
    except OSError:  # a read-only home, a directory where the file should be
        return False
    finally:
        if temporary is not None:  # the write or the rename failed: leave no litter behind
            try:
                os.unlink(temporary)
            except OSError:
                pass


def clear() -> None:
    """Forget every tuned choice (in memory and on disk): back to the rules."""
    with _lock:
        _memory.clear()
        try:
            cache_path().unlink()
        except OSError:
            pass
