"""How many threads fastlr's parallel kernels use.

One setting for the whole process (default: every core this process may run on).
Parallel kernels split their work into this many chunks, each with its own
accumulators; small problems run on one thread, where starting threads would cost more
than it gives.
"""

from __future__ import annotations

import os

from fastlr import validation

_num_threads: int | None = None


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def get_num_threads() -> int:
    """Threads a parallel kernel uses: :func:`set_num_threads`'s value, else every core."""
    return _num_threads or available_cores()


def set_num_threads(n_threads: int | None) -> None:
    """Use ``n_threads`` threads (``None``: every core) in fastlr's parallel kernels."""
    global _num_threads
    _num_threads = None if n_threads is None else validation.check_integer(
        "n_threads", n_threads, minimum=1
    )
