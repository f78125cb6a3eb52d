"""``fastlr bench``'s run: every available implementation on every problem asked for."""

from __future__ import annotations

import os

import numpy as np

import fastlr
from fastlr import registry, threads
from fastlr.bench import machine
from fastlr.bench.formatting import format_time
from fastlr.bench.measurement import CONDITIONS, Measurement
from fastlr.bench.problems import DEFAULT_SIZES, make_inputs, memory_order, parse_size
from fastlr.bench.progress import Progress
from fastlr.bench.report import make_report
from fastlr.bench.timing import (
    CHEAP_CALL,
    INTERLEAVE_SIZE,
    Interleave,
    plan_slow,
    probe_seconds_per_example,
    time_fast,
    time_interleaved,
    time_slow,
)


def available_pairs(backends=None) -> tuple[list[tuple[str, str]], list[dict]]:
    """``(available pairs, unavailable [{backend, variant, reason}])``, optionally filtered."""
    available, unavailable = [], []
    for info in fastlr.implementations():
        wanted = not backends or info.backend in backends \
            or f"{info.backend}:{info.variant}" in backends
        if not wanted:
            continue
        if info.available:
            available.append((info.backend, info.variant))
        else:
            unavailable.append({"backend": info.backend, "variant": info.variant,
                                "reason": info.reason})
    return available, unavailable


def measure(backend, variant, w, b, X, Y, *, repeats=10, slow_budget=12.0, progress=None,
            step=0.0, blas_threads=None, interleave: Interleave | None = None) -> Measurement:
    """Time ``fastlr.get(backend, variant).propagate(w, b, X, Y)`` (see :mod:`fastlr.bench`).

    ``interleave``: the interleaved condition, ``interleave()`` before each timed call
    (:func:`~fastlr.bench.time_interleaved`); None: steady.
    """
    progress = progress or Progress(1, enabled=False)
    descriptor = registry.BACKENDS[backend]
    function = fastlr.get(backend, variant).propagate
    n_x, m = X.shape
    name = f"{backend} {variant}"
    where = f"{n_x}×{m} {X.dtype.name} {memory_order(X)}"
    if interleave is not None:
        where += f", each call after {interleave.describe()}"

    def on_sample(k, total):
        progress.update(step + k / total, detail=f"call {k}/{total}")

    extra = {}
    plan = None
    if (backend, variant) in registry.INTERPRETED:
        progress.update(step, f"{name} on {where}: measuring its cost per example")
        per_example, _ = probe_seconds_per_example(function, w, b, X, Y)
        if per_example * m > CHEAP_CALL:
            plan = plan_slow(per_example, m, budget=slow_budget, repeats=repeats)
            progress.note("  " + plan.describe(f"{name} on {where}", m))
            progress.update(step, f"{name} on {where}: {plan.calls} call(s) of "
                                  f"~{format_time(plan.seconds_per_call * plan.examples / m)}")
            times = time_slow(function, w, b, X, Y, plan, on_sample=on_sample,
                              interleave=interleave)
            extra["examples_timed"] = plan.examples
    if plan is None:
        first_text = " (Numba compiles, or loads its cache)" if descriptor.jit else ""
        progress.update(step, f"{name} on {where}: first call{first_text}, then {repeats} samples")
        if n_x * m >= 100_000:  # big enough for threads: let the previous ones go idle
            threads.settle()
        if interleave is None:
            times, number, first = time_fast(function, (w, b, X, Y), repeats=repeats,
                                             on_sample=on_sample)
        else:
            times, number, first = time_interleaved(function, (w, b, X, Y), interleave,
                                                    repeats=repeats, on_sample=on_sample)
        extra["calls_per_sample"] = number
        if descriptor.compiled:  # worth reporting: a JIT compiles in it, threads start
            extra["first_call"] = first
    if interleave is not None:
        extra.update(condition="interleaved", interleave_size=interleave.size)
    return Measurement(backend, variant, n_x, m, X.dtype.name, memory_order(X),
                       threads.get_num_threads(), times, blas_threads=blas_threads, **extra)


def run(sizes=DEFAULT_SIZES, dtypes=("float64",), order="F", *, repeats=10, slow_budget=12.0,
        backends=None, progress: Progress | None = None, seed=0, conditions=("steady",),
        interleave_size=INTERLEAVE_SIZE) -> dict:
    """Time ``propagate`` of every available implementation on each size × dtype.

    Parameters
    ----------
    sizes : iterable of str or (n_x, m)
        Named sizes (:data:`~fastlr.bench.SIZES`) or ``"NxM"`` strings or tuples.
    dtypes : iterable of {"float64", "float32"}
    order : {"F", "C"}
        Memory order of X ("F", each example a contiguous column, is the course's).
    repeats : int
        Samples per compiled or NumPy-vectorized implementation (the median is reported).
    slow_budget : float
        Seconds each interpreted implementation may take per problem (see
        :func:`~fastlr.bench.plan_slow`).
    backends : iterable of str, optional
        Only these backends (or ``"backend:variant"`` pairs).
    progress : Progress, optional
        Where to report progress; ``None``: silent.
    conditions : iterable of {"steady", "interleaved"}
        Steady: calls back to back. Interleaved: each call right after a NumPy
        ``interleave_size``² matrix-vector product (:class:`~fastlr.bench.Interleave`),
        not timed. Every implementation is measured in each, steady first.
    interleave_size : int
        The order of the interleaved condition's matrix (default 2000: 32 MB).

    Returns
    -------
    report : dict
        ``machine``, ``settings``, ``definitions``, ``results`` (one
        :meth:`Measurement.to_dict` per implementation and problem), ``problems`` (the
        ratios of :func:`~fastlr.bench.summarize`), ``unavailable``.
    """
    problems = [size if isinstance(size, tuple) else parse_size(size) for size in sizes]
    dtypes = [np.dtype(d).name for d in dtypes]
    conditions = [c for c in CONDITIONS if c in set(conditions)]
    if not conditions:
        raise ValueError(f"conditions must name some of {CONDITIONS}")
    load = load_average()
    pairs, unavailable = available_pairs(backends)
    progress = progress or Progress(1, enabled=False)
    progress.total = max(len(problems) * len(dtypes) * len(pairs) * len(conditions), 1)
    blas = machine.blas_threads()
    interleave = Interleave(interleave_size) if "interleaved" in conditions else None
    measurements = []
    step = 0
    auto = {}  # what backend="auto" runs on each problem: fastlr.fastest(X)
    for n_x, m in problems:
        for dtype in dtypes:
            w, b, X, Y = make_inputs(n_x, m, dtype, order, seed)
            pick = registry.fastest(X)
            auto[auto_key(n_x, m, dtype)] = [pick.backend, pick.variant]
            for condition in conditions:
                if condition == "steady" and measurements \
                        and measurements[-1].condition == "interleaved":
                    threads.settle()  # the last interleaved call's BLAS threads go idle
                for backend, variant in pairs:
                    measurements.append(measure(
                        backend, variant, w, b, X, Y, repeats=repeats,
                        slow_budget=slow_budget, progress=progress, step=step,
                        blas_threads=blas,
                        interleave=interleave if condition == "interleaved" else None))
                    step += 1
                    progress.update(step)
            del w, X, Y
    progress.close()
    settings = {
        "sizes": [list(p) for p in problems], "dtypes": dtypes, "order": order,
        "repeats": repeats, "slow_budget_seconds": slow_budget, "load_average_before": load,
        "timed": "Implementation.propagate(w, b, X, Y): the public call, input checks included",
        "conditions": conditions, "auto": auto,
    }
    if interleave is not None:
        settings["interleave"] = {"size": interleave.size, "what": interleave.describe(),
                                  "timed": "not: the clock starts after it returns"}
    return make_report(measurements, unavailable, settings=settings)


def auto_key(n_x, m, dtype) -> str:
    """The key of ``settings["auto"]``: ``"12288x209 float64"``."""
    return f"{n_x}x{m} {dtype}"


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): other work on the cores."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


#: a load average of at least this many runnable tasks per core means other work shares them
BUSY_LOAD_PER_CORE = 0.5

#: what every load warning says after its measurement: why the times suffer, what to do
NOISY = ("other work shares the cores, so times are noisy — multi-threaded ones most (a "
         "thread that loses its core waits a scheduler tick). Re-run on a quiet machine, or "
         "compare with --threads 1.")

#: the label the warnings are printed under
BUSY_LABEL = "  busy     "


def load_warning(load: float | None, cores, when: str = "before the run") -> str | None:
    """The sentence ``fastlr bench`` prints when the load average ``load`` on ``cores``
    cores says other work shares them (:data:`BUSY_LOAD_PER_CORE`); None when it does not,
    or when either is unknown. ``when``: the moment it was read, in words."""
    if load is None or not isinstance(cores, int) or load < BUSY_LOAD_PER_CORE * cores:
        return None
    return f"load average {load:.1f} on {cores} cores {when}: {NOISY}"


def load_warnings(settings: dict, cores) -> list[str]:
    """Every load warning a report's ``settings`` call for, as sentences.

    ``load_average_before`` (:func:`load_warning`); then, when recorded,
    ``others_busy_during``: the fraction of the cores other processes used while it
    measured (``/proc/stat`` less this process's CPU time,
    :func:`fastlr.autotune.load_meter`), a warning above :data:`fastlr.autotune.BUSY_LIMIT`;
    where that is unknown, ``load_average_after`` if it rose to a busy level by more than
    this process's own threads (``own_threads_during``, its CPU time ÷ the wall time) can
    explain.
    """
    from fastlr.autotune import BUSY_LIMIT

    warnings = []
    before = settings.get("load_average_before")
    first = load_warning(before, cores)
    if first:
        warnings.append(first)
    busy = settings.get("others_busy_during")
    after = settings.get("load_average_after")
    if busy is not None:
        if busy > BUSY_LIMIT:
            warnings.append(f"other processes used {busy:.0%} of the cores while it measured "
                            f"(more than {BUSY_LIMIT:.0%}; /proc/stat): {NOISY}")
    elif after is not None and (before is None or after > before):
        own = settings.get("own_threads_during") or 0.0
        if load_warning(after - own, cores) is not None:
            since = "" if before is None else f", {before:.1f} before"
            warnings.append(load_warning(after, cores, f"after the run ({own:.1f} of it this "
                                                       f"run's own threads{since})"))
    return warnings
