"""Which implementation is fastest for a kind of problem, measured once on this machine.

A *problem class* is what decides the winner: ``X``'s dtype, its memory order, how big it is
(fits in cache or streams from memory) and its aspect (many more examples than features,
the reverse, or neither). The first time a class is asked for, :func:`fastest_pair` times
every available implementation that can win (the compiled backends and NumPy's vectorized
code; interpreted loops never do above a few elements) on a synthetic problem of that
class in two conditions — steady (calls back to back) and interleaved (each call right
after a NumPy matrix-vector product, as in a program that does its own NumPy work between
fastlr's calls: NumPy's BLAS threads then still spin) — and records the implementation with
the smallest geometric mean of the two medians (a choice measured only back to back picks
kernels that are several times slower in real use). Tiny problems, where per-call overhead
decides, are scored on ``propagate`` and on a short training run instead. The winner goes
into a JSON file, keyed by this machine, the thread count and the versions of Python,
NumPy, Numba and fastlr, so that it runs once. Later calls read a dict: well under a microsecond.

The file is ``$FASTLR_CACHE_DIR/fastest.json`` (default ``~/.cache/fastlr/``). Set
``FASTLR_AUTOTUNE=0`` to skip measuring and use the static order of
:data:`fastlr.registry.PREFERENCE`; set ``FASTLR_BACKEND`` to force a backend.
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
_memory: dict[tuple, tuple[str, str]] = {}  # (class, threads) -> (backend, variant), this process


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


def fastest_pair(X: np.ndarray, candidates: list[tuple[str, str]], get) -> tuple[str, str]:
    """The fastest of ``candidates`` on problems of ``X``'s class (measured once, then cached).

    ``get(backend, variant)`` returns an :class:`~fastlr.registry.Implementation`.
    """
    key = problem_class(X)
    found = _memory.get((key, threads.get_num_threads()))
    if found is not None and found in candidates:
        return found
    with _lock:
        stored = _load_file().get(fingerprint())
        if not isinstance(stored, dict):  # absent, or a file edited or damaged by hand
            stored = {}
        found = _pair(stored.get(key))
        if found not in candidates:
            found = _measure(key, X, candidates, get)
            stored[key] = list(found)
            _save_file(fingerprint(), stored)
        _memory[key, threads.get_num_threads()] = found
        return found


def _measure(key, X, candidates, get) -> tuple[str, str]:
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

    interleave = Interleave() if size != "tiny" else None
    times = {}
    for backend, variant in candidates:
        implementation = get(backend, variant)
        implementation.propagate(w, 0.0, problem_X, Y)  # compiles, fills caches
        if size != "tiny":  # (tiny problems run on one thread: nothing to wait for)
            threads.settle()  # the previous candidate's idle threads stop spinning
        steady = _median_time(implementation, w, problem_X, Y, None)
        if interleave is None:  # tiny: per-call overhead decides, and so does the training
            # loop (a compiled one, or a Python loop over the kernel): both count
            times[backend, variant] = math.sqrt(
                steady * _median_time(implementation, w, problem_X, Y, None, TINY_ITERATIONS)
                / TINY_ITERATIONS)
        else:  # both conditions count: a user's program calls NumPy between our calls
            interleaved = _median_time(implementation, w, problem_X, Y, interleave)
            times[backend, variant] = math.sqrt(steady * interleaved)
    return min(times, key=times.get)


#: iterations of the training loop timed for tiny problems
TINY_ITERATIONS = 200


def _median_time(implementation, w, X, Y, before_each, iterations=None) -> float:
    """Median seconds of ``implementation.propagate`` (or of ``optimize`` for
    ``iterations``), timed for :data:`BUDGET` seconds (at least 5 calls), each call right
    after ``before_each()`` when it is given."""
    samples = []
    start = time.perf_counter()
    while len(samples) < 5 or time.perf_counter() - start < BUDGET:
        if before_each is not None:
            before_each()
        t0 = time.perf_counter()
        if iterations is None:
            implementation.propagate(w, 0.0, X, Y)
        else:
            implementation.optimize(w, 0.0, X, Y, iterations, 0.01)
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


def _save_file(fingerprint_key: str, entries: dict) -> None:
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
    except OSError:
        pass  # a read-only home, a directory where the file should be: tune again next time
    finally:
        if temporary is not None:  # the write or the rename failed: leave no litter behind
            try:
                os.unlink(temporary)
            except OSError:
                pass


def clear() -> None:
    """Forget every measured result (in memory and on disk)."""
    with _lock:
        _memory.clear()
        try:
            cache_path().unlink()
        except OSError:
            pass
