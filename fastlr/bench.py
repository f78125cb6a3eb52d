"""What vectorization buys, measured: the logic behind ``fastlr bench`` and ``bench/report.py``.

Every available implementation (:func:`fastlr.implementations`) is timed on the same
problem; the results are turned into ratios to named baselines:

* **vectorization speedup** = loop time ÷ vectorized time, within one backend;
* **× vs pure-Python loop** = the pure-Python loop's time ÷ this implementation's time.

Timing: :func:`time.perf_counter`, garbage collector off while a sample runs (as
:mod:`timeit` does), one warm-up call first (it compiles Numba's kernels or loads them from
Numba's cache, and is reported separately), then repeats; the median is the headline and the
minimum is kept too. Calls shorter than a millisecond are timed in batches.

The interpreted implementations (pure Python, and NumPy indexed element by element) cost
~0.1–1 µs per element: ~0.5–4 s per call at the course's cat size. They are timed for a
few calls only, sized to a time budget; where even that does not fit they are timed on the
first k of the m examples and scaled by m / k (the work is the same for every example), and
the result is marked as an estimate.

matplotlib (plots) and threadpoolctl (BLAS details) are optional: ``pip install "fastlr[bench]"``.
"""

from __future__ import annotations

import gc
import importlib
import importlib.metadata
import json
import math
import os
import platform
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import fastlr
from fastlr import autotune, registry, threads

#: named problem sizes (n_x, m): the course's tiny example, its cat data, a tall and a wide one
SIZES = {
    "tiny": (2, 3),
    "cat": (12288, 209),
    "tall": (100, 100_000),
    "wide": (1000, 10_000),
}
DEFAULT_SIZES = ("cat",)

#: implementations that interpret Python for every element (~0.1–1 µs per element)
INTERPRETED = frozenset(registry.INTERPRETED)

#: column order of the tables, and how each variant is named there
VARIANT_LABELS = {"loop": "loop", "vectorized": "vectorized", "fused": "fused (fastest path)"}

DEFINITIONS = {
    "vectorization_speedup": "loop time ÷ vectorized time, within one backend",
    "vs_python_loop": "pure-Python loop time ÷ this implementation's time",
    "time": "median seconds per call over the repeats (min also given)",
    "estimated": "timed on the first examples_timed of the m examples and scaled by "
                 "m / examples_timed",
}

BENCH_EXTRA_HINT = 'pip install "fastlr[bench]"'


# --------------------------------------------------------------------------- problems


def parse_size(text: str) -> tuple[int, int]:
    """``"cat"`` or ``"12288x209"`` (also ``12288×209``) -> ``(n_x, m)``."""
    key = text.strip().lower()
    if key in SIZES:
        return SIZES[key]
    parts = key.replace("×", "x").replace("*", "x").split("x")
    try:
        n_x, m = (int(part.replace("_", "")) for part in parts)
    except ValueError:
        raise ValueError(
            f"size must be one of {list(SIZES)} or N_XxM such as 12288x209; got {text!r}"
        ) from None
    if n_x < 1 or m < 1:
        raise ValueError(f"size must have n_x >= 1 and m >= 1; got {text!r}")
    return n_x, m


def size_name(n_x: int, m: int) -> str:
    """``"12288×209 (cat)"`` for the named sizes, ``"50×70"`` otherwise."""
    names = {value: key for key, value in SIZES.items()}
    text = f"{n_x}×{m}"
    return f"{text} ({names[n_x, m]})" if (n_x, m) in names else text


def make_inputs(n_x: int, m: int, dtype="float64", order="F", seed=0):
    """Course-shaped ``(w, b, X, Y)`` for a benchmark, the same for every implementation.

    2×3 is the course's own example (``w = [[1], [2]]``, ``b = 2``,
    ``X = [[1, 2, -1], [3, 4, -3.2]]``, ``Y = [[1, 0, 1]]``); other sizes are
    :func:`fastlr.datasets.make_problem` with a seeded ``w`` of scale ``1/sqrt(n_x)``.
    """
    from fastlr.datasets import make_problem

    dtype = np.dtype(dtype)
    if (n_x, m) == (2, 3):
        X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]], dtype=dtype, order=order)
        return np.array([[1.0], [2.0]]), 2.0, X, np.array([[1.0, 0.0, 1.0]])
    X, Y = make_problem(n_x, m, dtype=dtype, order=order, seed=seed)
    w = np.random.default_rng(seed + 1).standard_normal((n_x, 1)) / math.sqrt(n_x)
    return w, 0.1, X, Y


def memory_order(X: np.ndarray) -> str:
    if X.flags.f_contiguous and not X.flags.c_contiguous:
        return "F"
    if X.flags.c_contiguous:
        return "C"
    return "strided"


# --------------------------------------------------------------------------- measurements


@dataclass
class Measurement:
    """Times of one implementation on one problem (seconds per call)."""

    backend: str
    variant: str
    n_x: int
    m: int
    dtype: str
    order: str
    threads: int
    times: list
    task: str = "propagate"  # or "optimize"
    iterations: int | None = None  # optimize only
    blas_threads: int | None = None
    calls_per_sample: int = 1
    examples_timed: int | None = None  # < m: an estimate scaled from a subset
    first_call: float | None = None  # the warm-up call (Numba: compile or cache load)
    median: float = field(init=False)
    min: float = field(init=False)

    def __post_init__(self):
        if not self.times:
            raise ValueError("a measurement needs at least one time")
        self.times = [float(t) for t in self.times]
        self.median = statistics.median(self.times)
        self.min = min(self.times)
        if self.examples_timed is None:
            self.examples_timed = self.m

    @property
    def estimated(self) -> bool:
        return self.examples_timed < self.m

    @property
    def name(self) -> str:
        return f"{self.backend} {self.variant}"

    @property
    def problem(self) -> tuple:
        """What measurements are compared within: task, iterations, size, dtype, order."""
        return (self.task, self.iterations, self.n_x, self.m, self.dtype, self.order)

    def to_dict(self) -> dict:
        record = asdict(self)
        record["estimated"] = self.estimated
        return record

    @classmethod
    def from_dict(cls, record: dict) -> Measurement:
        known = {name for name, f in cls.__dataclass_fields__.items() if f.init}
        measurement = cls(**{key: value for key, value in record.items() if key in known})
        # a summary may carry statistics of more times than it lists (pytest-benchmark)
        measurement.median = record.get("median", measurement.median)
        measurement.min = record.get("min", measurement.min)
        return measurement


def _timed_calls(function, args, number: int) -> float:
    """Seconds per call of ``function(*args)``, averaged over ``number`` back-to-back calls."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            function(*args)
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return elapsed / number


def time_fast(function, args, *, repeats=10, min_sample=1e-3, max_seconds=5.0,
              on_sample=None, warmup_seconds=0.05):
    """Warm-up, then ``repeats`` samples (fewer if they exceed ``max_seconds``, never < 3).

    Returns ``(times, calls_per_sample, first_call_seconds)``; a sample is the mean of
    ``calls_per_sample`` calls, chosen so that it lasts at least ``min_sample`` seconds.
    The warm-up is the first call (Numba compiles or loads its cache) and then calls for
    ``warmup_seconds``: right after its first call a parallel kernel ran ~4× slower for
    ~10 ms here (thread start-up), which a single warm-up call does not cover.
    """
    first = _timed_calls(function, args, 1)  # compiles (Numba) or loads the compiled code
    warmup = [_timed_calls(function, args, 1)]
    start = time.perf_counter()
    while time.perf_counter() - start < warmup_seconds and len(warmup) < 1000:
        warmup.append(_timed_calls(function, args, 1))
    one = min(warmup)
    number = max(1, min(100_000, math.ceil(min_sample / max(one, 1e-9))))
    times = []
    start = time.perf_counter()
    for k in range(repeats):
        times.append(_timed_calls(function, args, number))
        if on_sample:
            on_sample(k + 1, repeats)
        if len(times) >= 3 and time.perf_counter() - start > max_seconds:
            break
    return times, number, first


@dataclass
class SlowPlan:
    """How an interpreted implementation is timed: how many calls, on how many examples."""

    calls: int
    examples: int
    seconds_per_call: float  # estimated, for the full problem

    def describe(self, name: str, m: int) -> str:
        per_call = format_time(self.seconds_per_call)
        if self.examples < m:
            return (f"{name}: ~{per_call} per call on all {m} examples; timing {self.calls} "
                    f"call(s) on the first {self.examples} examples and scaling by "
                    f"{m}/{self.examples} (marked est.)")
        return (f"{name}: ~{per_call} per call (interpreted); timing {self.calls} call(s), "
                f"~{format_time(self.calls * self.seconds_per_call)}")


def plan_slow(seconds_per_example: float, m: int, *, budget: float, repeats: int) -> SlowPlan:
    """Calls and examples for an interpreted implementation to stay within ``budget`` seconds.

    At most ``min(repeats, 3)`` calls on the full problem if at least one fits in the
    budget; otherwise that many calls on the largest prefix of examples that fits.
    """
    calls = max(1, min(repeats, 3))
    full = seconds_per_example * m
    if full <= budget:
        return SlowPlan(max(1, min(calls, int(budget // max(full, 1e-12)))), m, full)
    examples = max(1, min(m, int(budget / calls / max(seconds_per_example, 1e-12) * (1 + 1e-9))))
    return SlowPlan(calls, examples, full)


#: elements of X the probe of an interpreted implementation runs on (~10–100 ms)
PROBE_ELEMENTS = 50_000


#: an interpreted call shorter than this (seconds) is timed like the fast ones
CHEAP_CALL = 0.05


def probe_seconds_per_example(function, w, b, X, Y) -> tuple[float, int]:
    """``(seconds per example, examples probed)`` from one call on ~PROBE_ELEMENTS elements."""
    n_x, m = X.shape
    probe = max(1, min(m, math.ceil(PROBE_ELEMENTS / n_x)))
    elapsed = _timed_calls(function, (w, b, X[:, :probe], Y[:, :probe]), 1)
    return elapsed / probe, probe


def time_slow(function, w, b, X, Y, plan: SlowPlan, *, on_sample=None):
    """Time an interpreted implementation as ``plan`` says (see :func:`plan_slow`).

    Returns the times per call on the full problem: when ``plan.examples < m`` each call
    runs on the first ``plan.examples`` examples and is scaled by ``m / plan.examples``.
    """
    m = X.shape[1]
    X_part, Y_part = X[:, :plan.examples], Y[:, :plan.examples]
    times = []
    while len(times) < plan.calls:
        elapsed = _timed_calls(function, (w, b, X_part, Y_part), 1)
        times.append(elapsed * m / plan.examples)
        if on_sample:
            on_sample(len(times), plan.calls)
    return times


def measure(backend, variant, w, b, X, Y, *, repeats=10, slow_budget=12.0, progress=None,
            step=0.0, blas_threads=None) -> Measurement:
    """Time ``fastlr.get(backend, variant).propagate(w, b, X, Y)`` (see the module docstring)."""
    progress = progress or Progress(1, enabled=False)
    implementation = fastlr.get(backend, variant)
    function = implementation.propagate
    n_x, m = X.shape
    name = f"{backend} {variant}"
    where = f"{n_x}×{m} {X.dtype.name} {memory_order(X)}"

    def on_sample(k, total):
        progress.update(step + k / total, detail=f"call {k}/{total}")

    extra = {}
    plan = None
    if (backend, variant) in INTERPRETED:
        progress.update(step, f"{name} on {where}: measuring its cost per example")
        per_example, _ = probe_seconds_per_example(function, w, b, X, Y)
        if per_example * m > CHEAP_CALL:
            plan = plan_slow(per_example, m, budget=slow_budget, repeats=repeats)
            progress.note("  " + plan.describe(f"{name} on {where}", m))
            progress.update(step, f"{name} on {where}: {plan.calls} call(s) of "
                                  f"~{format_time(plan.seconds_per_call * plan.examples / m)}")
            times = time_slow(function, w, b, X, Y, plan, on_sample=on_sample)
            extra["examples_timed"] = plan.examples
    if plan is None:
        first_text = " (Numba compiles, or loads its cache)" if backend == "numba" else ""
        progress.update(step, f"{name} on {where}: first call{first_text}, then {repeats} samples")
        if n_x * m >= 100_000:  # big enough for threads: let the previous ones go idle
            threads.settle()
        times, number, first = time_fast(function, (w, b, X, Y), repeats=repeats,
                                         on_sample=on_sample)
        extra["calls_per_sample"] = number
        if backend in ("numba", "cython"):
            extra["first_call"] = first
    return Measurement(backend, variant, n_x, m, X.dtype.name, memory_order(X),
                       threads.get_num_threads(), times, blas_threads=blas_threads, **extra)


# --------------------------------------------------------------------------- progress


class Progress:
    """A one-line progress bar on stderr (``\\r``-updated on a terminal, plain lines otherwise)."""

    def __init__(self, total: float, stream=None, enabled: bool = True):
        self.total = max(total, 1e-9)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self.done = 0.0
        self.label = ""
        self.detail = ""
        self._last_plain = None

    def update(self, done: float | None = None, label: str | None = None,
               detail: str = "") -> None:
        """Move the bar to ``done`` (of ``total``); ``label`` names the current stage and
        ``detail`` (such as ``"call 3/10"``) is shown on a terminal only."""
        if done is not None:
            self.done = min(done, self.total)
        if label is not None:
            self.label = label
            self.detail = ""
        if detail:
            self.detail = detail
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if self.tty:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            bar_width = 24
            filled = int(bar_width * self.done / self.total)
            text = (f"[{'#' * filled}{'.' * (bar_width - filled)}] "
                    f"{100 * self.done / self.total:3.0f}% {elapsed:5.1f}s  {self.label}"
                    + (f": {self.detail}" if self.detail else ""))
            self.stream.write("\r" + text[:width].ljust(width))
            self.stream.flush()
        elif self.label != self._last_plain and self.label:
            self._last_plain = self.label
            self.stream.write(f"[{elapsed:6.1f} s, {100 * self.done / self.total:3.0f}%] "
                              f"{self.label}\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own (above the bar on a terminal)."""
        if not self.enabled:
            return
        if self.tty:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self.stream.write("\r" + " " * width + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()
        if self.tty:
            self.update()

    def close(self) -> None:
        if self.enabled and self.tty:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self.stream.write("\r" + " " * width + "\r")
            self.stream.flush()


# --------------------------------------------------------------------------- running


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


def run(sizes=DEFAULT_SIZES, dtypes=("float64",), order="F", *, repeats=10, slow_budget=12.0,
        backends=None, progress: Progress | None = None, seed=0) -> dict:
    """Time ``propagate`` of every available implementation on each size × dtype.

    Parameters
    ----------
    sizes : iterable of str or (n_x, m)
        Named sizes (:data:`SIZES`) or ``"NxM"`` strings or tuples.
    dtypes : iterable of {"float64", "float32"}
    order : {"F", "C"}
        Memory order of X ("F", each example a contiguous column, is the course's).
    repeats : int
        Samples per compiled or NumPy-vectorized implementation (the median is reported).
    slow_budget : float
        Seconds each interpreted implementation may take per problem (see :func:`plan_slow`).
    backends : iterable of str, optional
        Only these backends (or ``"backend:variant"`` pairs).
    progress : Progress, optional
        Where to report progress; ``None``: silent.

    Returns
    -------
    report : dict
        ``machine``, ``settings``, ``definitions``, ``results`` (one
        :meth:`Measurement.to_dict` per implementation and problem), ``problems`` (the
        ratios of :func:`summarize`), ``unavailable``.
    """
    problems = [size if isinstance(size, tuple) else parse_size(size) for size in sizes]
    dtypes = [np.dtype(d).name for d in dtypes]
    load = load_average()
    pairs, unavailable = available_pairs(backends)
    progress = progress or Progress(1, enabled=False)
    progress.total = max(len(problems) * len(dtypes) * len(pairs), 1)
    blas = blas_threads()
    measurements = []
    step = 0
    for n_x, m in problems:
        for dtype in dtypes:
            w, b, X, Y = make_inputs(n_x, m, dtype, order, seed)
            for backend, variant in pairs:
                measurements.append(measure(backend, variant, w, b, X, Y, repeats=repeats,
                                            slow_budget=slow_budget, progress=progress,
                                            step=step, blas_threads=blas))
                step += 1
                progress.update(step)
            del w, X, Y
    progress.close()
    return make_report(measurements, unavailable, settings={
        "sizes": [list(p) for p in problems], "dtypes": dtypes, "order": order,
        "repeats": repeats, "slow_budget_seconds": slow_budget, "load_average_before": load,
        "timed": "Implementation.propagate(w, b, X, Y): the public call, input checks included",
    })


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): other work on the cores."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def make_report(measurements, unavailable=(), settings=None, machine=None) -> dict:
    """The report dict written to ``results.json`` (and read back by :func:`format_report`)."""
    return {
        "fastlr_version": fastlr.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine if machine is not None else machine_info(),
        "settings": settings or {},
        "definitions": DEFINITIONS,
        "results": [m.to_dict() for m in measurements],
        "problems": summarize(measurements),
        "unavailable": list(unavailable),
    }


# --------------------------------------------------------------------------- ratios


def summarize(measurements) -> list[dict]:
    """Ratios per problem (task, size, dtype, order), in the order problems first appear.

    For each problem: the pure-Python loop's median (the baseline of ``vs_python_loop``),
    per backend the loop / vectorized / fused medians and
    ``vectorization_speedup = loop ÷ vectorized``, per implementation
    ``vs_python_loop = python loop ÷ this``, and the fastest implementation.
    """
    groups: dict[tuple, list[Measurement]] = {}
    for measurement in measurements:
        groups.setdefault(measurement.problem, []).append(measurement)
    summaries = []
    for (task, iterations, n_x, m, dtype, order), group in groups.items():
        by_pair = {(x.backend, x.variant): x for x in group}
        baseline = by_pair.get(("python", "loop"))
        backends = {}
        for x in group:
            entry = backends.setdefault(x.backend, {})
            entry[x.variant] = x.median
        for entry in backends.values():
            if "loop" in entry and "vectorized" in entry:
                entry["vectorization_speedup"] = entry["loop"] / entry["vectorized"]
        fastest = min(group, key=lambda x: x.median)
        summaries.append({
            "task": task, "iterations": iterations, "n_x": n_x, "m": m, "dtype": dtype,
            "order": order,
            "python_loop": baseline.median if baseline else None,
            "backends": backends,
            "vs_python_loop": ({x.name: baseline.median / x.median for x in group}
                               if baseline else {}),
            "fastest": {"backend": fastest.backend, "variant": fastest.variant,
                        "median": fastest.median},
        })
    return summaries


# --------------------------------------------------------------------------- formatting


def format_time(seconds: float | None) -> str:
    """``"712 ms"``, ``"1.05 ms"``, ``"3.20 µs"``, ``"4.10 s"``: three significant digits."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            digits = 0 if value >= 100 else 1 if value >= 10 else 2
            return f"{value:.{digits}f} {unit}"
    return f"{seconds:.3g} s"  # unreachable


def _tick_time(seconds: float) -> str:
    """``"10 µs"``, ``"1 ms"``: a log-axis tick label."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale * 0.999 or unit == "ns":
            return f"{seconds / scale:g} {unit}"
    return f"{seconds:g} s"


def format_ratio(ratio: float | None) -> str:
    """``"1.4×"``, ``"0.17×"``, ``"68×"``, ``"3900×"``."""
    if ratio is None or not math.isfinite(ratio):
        return "—"
    if ratio >= 10:
        return f"{ratio:.0f}×"
    if ratio >= 1:
        return f"{ratio:.1f}×"
    return f"{ratio:.2g}×"


def _variants_present(measurements) -> list[str]:
    present = {x.variant for x in measurements}
    return [v for v in VARIANT_LABELS if v in present]


def format_problem_table(summary: dict, measurements) -> list[str]:
    """One table: backend × (loop, vectorized, fused) times with × vs pure-Python loop."""
    group = [x for x in measurements
             if x.problem == (summary["task"], summary["iterations"], summary["n_x"],
                              summary["m"], summary["dtype"], summary["order"])]
    by_pair = {(x.backend, x.variant): x for x in group}
    variants = _variants_present(group)
    threads_text = f"{group[0].threads} thread{'s' if group[0].threads != 1 else ''}"
    task = summary["task"] if summary["iterations"] is None else \
        f"{summary['task']} ({summary['iterations']} iterations)"
    has_baseline = summary["python_loop"] is not None
    title = (f"{task} on {size_name(summary['n_x'], summary['m'])}, {summary['dtype']}, "
             f"{summary['order']} order, {threads_text} — median time per call"
             + (", × vs pure-Python loop" if has_baseline else
                " (pure-Python loop not measured at this size)"))
    # each cell is "time  ratio", both parts aligned across the table
    times_text = {key: format_time(x.median) + (" est." if x.estimated else "")
                  for key, x in by_pair.items()}
    ratios_text = {key: format_ratio(summary["vs_python_loop"][x.name]) if has_baseline else ""
                   for key, x in by_pair.items()}
    time_width = max(map(len, times_text.values()))
    ratio_width = max(map(len, ratios_text.values()))
    headers = ["backend"] + [VARIANT_LABELS[v] for v in variants] + ["loop ÷ vectorized"]
    rows = []
    for backend in summary["backends"]:
        row = [backend]
        for variant in variants:
            key = (backend, variant)
            if key not in by_pair:
                row.append("—")
            else:
                row.append((times_text[key].rjust(time_width) + "  "
                            + ratios_text[key].rjust(ratio_width)).rstrip())
        row.append(format_ratio(summary["backends"][backend].get("vectorization_speedup")))
        rows.append(row)
    widths = [max(len(r[i]) for r in [headers] + rows) for i in range(len(headers))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    lines = [title, "", line(headers), line(["-" * w for w in widths])]
    lines += [line(r) for r in rows]
    return lines


def format_machine(machine: dict, details: bool = False) -> list[str]:
    """The machine block: CPU, cores, Python, NumPy and its BLAS, SciPy, Numba, Cython, OpenMP.

    ``details``: also Numba's cache directory and why the Cython extension is missing.
    """
    lines = ["machine"]
    cpu = f"  CPU      {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores available"
    if "fastlr_threads" in machine:
        cpu += f"; fastlr uses {machine['fastlr_threads']} thread(s)"
    lines.append(cpu)
    if "python" in machine:
        lines.append(f"  Python   {machine['python']} on {machine.get('platform', '?')}")
    blas = machine.get("blas") or []
    for package in ("numpy", "scipy"):
        version = machine.get(package)
        if version is None:
            continue
        libraries = [lib for lib in blas if lib.get("package") == package] or \
            ([lib for lib in blas if not lib.get("package")] if package == "numpy" else [])
        text = f"  {'NumPy' if package == 'numpy' else 'SciPy':<8} {version}"
        if libraries:
            text += ", BLAS " + "; ".join(_describe_blas(lib) for lib in libraries)
        if package == "scipy":
            text += " (used by Numba's np.dot and Cython)"
        lines.append(text)
    numba_info = machine.get("numba")
    if numba_info is None:
        pass
    elif numba_info.get("version"):
        lines.append(f"  Numba    {numba_info['version']}, {numba_info.get('num_threads', '?')} "
                     f"threads, threading layer {numba_info.get('threading_layer', '?')}")
        if details:
            lines.append(f"           cache: {numba_info.get('cache_dir')}")
    else:
        lines.append("  Numba    not installed")
    cython_info = machine.get("cython")
    if cython_info is None:
        pass
    elif cython_info.get("available"):
        lines.append(f"  Cython   extension built with Cython {cython_info.get('version')}, "
                     f"OpenMP {_yes_no(cython_info.get('openmp'))}")
    elif details:
        lines.append(f"  Cython   extension not built (Cython "
                     f"{cython_info.get('installed_cython') or 'not installed'} here); "
                     f"see the implementations below")
    else:
        lines.append("  Cython   extension not built (`fastlr info` says why)")
    openmp = machine.get("openmp") or []
    if openmp:
        lines.append("  OpenMP   " + "; ".join(
            f"{lib.get('prefix')} ({lib.get('package') or 'system'}), "
            f"{lib.get('num_threads')} threads" for lib in openmp))
    if machine.get("note"):
        lines.append(f"  note     {machine['note']}")
    return lines


def _yes_no(value) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _describe_blas(lib: dict) -> str:
    name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS", "accelerate": "Accelerate"}.get(
        str(lib.get("internal_api")).lower(), str(lib.get("internal_api") or lib.get("name")))
    version = lib.get("version")
    threads_text = lib.get("num_threads")
    text = f"{name} {version}" if version else name
    if lib.get("architecture"):
        text += f" ({lib['architecture']})"
    if threads_text is None:
        return text + ", threads unknown"
    return text + f", {threads_text} thread{'' if threads_text == 1 else 's'}"


def format_report(report: dict) -> str:
    """The text ``fastlr bench`` prints: machine, one table per problem, the ratios in words."""
    measurements = [Measurement.from_dict(r) for r in report["results"]]
    out = format_machine(report.get("machine") or {})
    load = (report.get("settings") or {}).get("load_average_before")
    cores = (report.get("machine") or {}).get("cores")
    if load is not None and isinstance(cores, int) and load >= 0.5 * cores:
        import textwrap

        out.append(textwrap.fill(
            f"load average {load:.1f} on {cores} cores before the run: other work shares "
            "the cores, so times are noisy — multi-threaded ones most (a thread that loses "
            "its core waits a scheduler tick). Re-run on a quiet machine, or compare with "
            "--threads 1.", width=92, initial_indent="  busy     ",
            subsequent_indent=" " * 11))
    for summary in report["problems"]:
        out += [""] + format_problem_table(summary, measurements)
        group = [x for x in measurements
                 if (x.task, x.n_x, x.m, x.dtype, x.order, x.iterations) ==
                 (summary["task"], summary["n_x"], summary["m"], summary["dtype"],
                  summary["order"], summary["iterations"])]
        fastest = summary["fastest"]
        fastest_name = f"{fastest['backend']} {VARIANT_LABELS[fastest['variant']]}"
        text = f"Fastest here: {fastest_name}, {format_time(fastest['median'])} per call"
        ratio = summary["vs_python_loop"].get(f"{fastest['backend']} {fastest['variant']}")
        if ratio is not None:
            text += f", {format_ratio(ratio)} faster than the pure-Python loop"
        out += ["", text + "."]
        notes = []
        estimated = [x for x in group if x.estimated]
        if estimated:
            notes.append("est. = estimated: " + ", ".join(
                f"{x.name} was timed on {x.examples_timed} of the {x.m} examples"
                for x in estimated) + ", then scaled by m ÷ examples timed "
                "(each example costs the same).")
        few = [x for x in group if (x.backend, x.variant) in INTERPRETED and len(x.times) <= 3]
        if few:
            notes.append("Interpreted implementations are slow, so they were timed for few "
                         "calls: " + ", ".join(f"{x.name} {len(x.times)}" for x in few) + ".")
        if summary["n_x"] * summary["m"] <= 10_000:
            notes.append("At this tiny size a call's time is its fixed overhead (argument "
                         "checks, dispatch), not arithmetic: the ratios say little about "
                         "vectorization.")
        compiled_first = [x for x in group if x.first_call is not None and x.backend == "numba"
                          and x.first_call > max(1e-3, 5 * x.median)]
        if compiled_first:
            notes.append("First calls (Numba compiles, or loads its on-disk cache; not in the "
                         "times above): " + ", ".join(
                             f"{x.name} {format_time(x.first_call)}"
                             for x in compiled_first) + ".")
        out += [_wrap(note) for note in notes]
    out += ["", "How to read it:"]
    out += [_wrap(text, "  ") for text in (
        "vectorization speedup (loop ÷ vectorized) = loop time ÷ vectorized time, within "
        "one backend.",
        "× vs pure-Python loop = pure-Python loop time ÷ this time: how many times faster "
        "than the lecture's loop in plain Python.",
        "In NumPy, vectorizing removes the interpreter's work for every element, which is "
        "where nearly all the time goes: 100–2000×. (Pure Python's \"vectorized\" form is "
        "still interpreted element by element: no gain.) Compiled loops (Numba, Cython) have "
        "no such overhead, so there loop ÷ vectorized is ~1–7×, never hundreds: that is the "
        "lesson. What is left is SIMD (the compiled loop adds in the lecture's strict order, "
        "one term at a time, so it cannot use it; BLAS does) and memory bandwidth; the fused "
        "path reads X once instead of twice.",
    )]
    reasons: dict[str, list[str]] = {}
    for item in report.get("unavailable", []):
        reasons.setdefault(item["reason"], []).append(f"{item['backend']} {item['variant']}")
    for reason, names in reasons.items():
        out.append(_wrap(f"Not measured: {', '.join(names)} — {reason}", "  "))
    return "\n".join(out)


def _wrap(text: str, indent: str = "") -> str:
    import textwrap

    return textwrap.fill(text, width=92, initial_indent=indent, subsequent_indent=indent + "  ")


# --------------------------------------------------------------------------- machine


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _library_package(filepath: str | None) -> str | None:
    """Which Python package ships a shared library: ``"numpy"``, ``"scipy"`` or None."""
    parts = Path(filepath or "").parts
    for part in parts:
        for package in ("numpy", "scipy", "sklearn", "numba"):
            if part == package or part.startswith(package + ".") or part.startswith(package + "-"):
                return package
    return None


def thread_pools() -> tuple[list[dict], list[dict], str | None]:
    """``(blas libraries, openmp libraries, problem)`` loaded in this process.

    From threadpoolctl when installed; otherwise NumPy's build configuration (no thread
    counts) and a message saying what to install.
    """
    try:
        import threadpoolctl
    except ImportError:
        blas = []
        try:
            config = np.show_config(mode="dicts")
            entry = config.get("Build Dependencies", {}).get("blas", {})
            blas.append({"package": "numpy", "internal_api": entry.get("name"),
                         "version": entry.get("version"), "num_threads": None})
        except Exception:  # older NumPy: show_config has no mode
            pass
        return blas, [], f"BLAS thread counts need threadpoolctl: {BENCH_EXTRA_HINT}"
    blas, openmp = [], []
    for lib in threadpoolctl.threadpool_info():
        record = {key: lib.get(key) for key in ("user_api", "internal_api", "prefix", "version",
                                                "num_threads", "threading_layer",
                                                "architecture", "filepath")}
        record["package"] = _library_package(lib.get("filepath"))
        (blas if lib.get("user_api") == "blas" else openmp).append(record)
    return blas, openmp, None


def blas_threads() -> int | None:
    """The largest thread count of the BLAS libraries loaded here (None without threadpoolctl)."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    counts = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
              if lib.get("user_api") == "blas"]
    return max(counts) if counts else None


def numba_details() -> dict:
    """Numba's version, threading layer (running, or the one it will pick), threads, cache dir."""
    try:
        import numba
    except ImportError as error:
        return {"version": None, "reason": str(error)}
    try:
        layer = numba.threading_layer()
        layer_text = f"{layer} ({LAYER_NAMES.get(layer, layer)})"
    except ValueError:  # no parallel function has run yet in this process
        layer_text = _predicted_threading_layer(numba)
    return {
        "version": numba.__version__,
        "threading_layer": layer_text,
        "num_threads": numba.get_num_threads(),
        "cache_dir": _numba_cache_dir(numba),
    }


LAYER_NAMES = {"omp": "OpenMP", "tbb": "TBB", "workqueue": "Numba workqueue"}


def _predicted_threading_layer(numba) -> str:
    configured = numba.config.THREADING_LAYER
    names = LAYER_NAMES
    if configured in names:
        return f"{configured} ({names[configured]}; set by NUMBA_THREADING_LAYER, not started yet)"
    loadable = []
    for layer in numba.config.THREADING_LAYER_PRIORITY:
        try:
            module = "workqueue" if layer == "workqueue" else f"{layer}pool"
            importlib.import_module(f"numba.np.ufunc.{module}")
        except Exception:
            continue
        loadable.append(layer)
    if configured in ("default", "safe", "threadsafe", "forksafe") and loadable:
        choice = next((layer for layer in loadable if configured != "safe" or layer == "tbb"),
                      loadable[0])
        return f"{choice} ({names.get(choice, choice)}; starts at the first parallel call)"
    return f"{configured} (not started yet)"


def _numba_cache_dir(numba) -> str:
    if numba.config.CACHE_DIR:
        return f"{numba.config.CACHE_DIR} (NUMBA_CACHE_DIR)"
    try:
        module = registry._load("numba")
        kernel = module.KERNELS["loop"]
        return str(kernel._cache._cache_path)
    except Exception:
        return "__pycache__ beside fastlr/backends/numba_.py (or a user cache when not writable)"


def cython_details() -> dict:
    try:
        module = registry._load("cython")
    except registry.BackendUnavailable as error:
        return {"available": False, "reason": str(error),
                "installed_cython": _package_version("Cython")}
    return {"available": True, "version": getattr(module, "CYTHON_VERSION", "unknown"),
            "openmp": getattr(module, "OPENMP", "unknown"),
            "installed_cython": _package_version("Cython")}


def machine_info() -> dict:
    """Everything a reader needs to reproduce or judge the numbers (JSON-serializable)."""
    try:
        import scipy
        import scipy.linalg  # noqa: F401  (loads SciPy's BLAS, the one Numba's np.dot uses)

        scipy_version = scipy.__version__
    except ImportError:
        scipy_version = None
    blas, openmp, problem = thread_pools()
    info = {
        "cpu": autotune.cpu_model(),
        "cores": threads.available_cores(),
        "fastlr_threads": threads.get_num_threads(),
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(terse=True),
        "fastlr": fastlr.__version__,
        "numpy": np.__version__,
        "scipy": scipy_version,
        "blas": blas,
        "openmp": openmp,
        "numba": numba_details(),
        "cython": cython_details(),
    }
    if problem:
        info["note"] = problem
    return info


# --------------------------------------------------------------------------- files


def write_json(report: dict, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, default=_json_default) + "\n")
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def read_json(path) -> dict:
    return json.loads(Path(path).read_text())


COLORS = {"loop": "#d95f02", "vectorized": "#1b9e77", "fused": "#7570b3"}


def plot(report: dict, path) -> Path:
    """``speedup.png``: per problem, median time per implementation (log scale, grouped by
    backend) and the loop ÷ vectorized ratio per backend (log scale, annotated)."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(f"plotting needs matplotlib: {BENCH_EXTRA_HINT}") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    time_formatter = FuncFormatter(lambda value, _: _tick_time(value))
    ratio_formatter = FuncFormatter(lambda value, _: f"{value:g}×")
    measurements = [Measurement.from_dict(r) for r in report["results"]]
    summaries = report["problems"]
    rows = len(summaries)
    figure, axes = plt.subplots(rows, 2, figsize=(12, 0.4 + 3.6 * rows), squeeze=False,
                                gridspec_kw={"width_ratios": [1.6, 1]})
    for row, summary in enumerate(summaries):
        left, right = axes[row]
        group = [x for x in measurements
                 if (x.task, x.iterations, x.n_x, x.m, x.dtype, x.order) ==
                 (summary["task"], summary["iterations"], summary["n_x"], summary["m"],
                  summary["dtype"], summary["order"])]
        order = {b: i for i, b in enumerate(summary["backends"])}
        variant_order = {v: i for i, v in enumerate(VARIANT_LABELS)}
        group.sort(key=lambda x: (order[x.backend], variant_order.get(x.variant, 9)))
        # left: one horizontal bar per implementation, backends separated by a gap
        positions, labels, y, previous = [], [], 0.0, None
        for x in group:
            if previous is not None and x.backend != previous:
                y += 0.6
            positions.append(y)
            labels.append(f"{x.backend} {x.variant}")
            previous = x.backend
            y += 1
        medians = [x.median for x in group]
        bars = left.barh(positions, medians, color=[COLORS.get(x.variant, "grey") for x in group],
                         hatch=None)
        for bar, x in zip(bars, group):
            if x.estimated:
                bar.set_hatch("//")
            left.text(x.median * 1.15, bar.get_y() + bar.get_height() / 2,
                      format_time(x.median) + (" est." if x.estimated else ""),
                      va="center", fontsize=8)
        left.set_xscale("log")
        left.xaxis.set_major_locator(LogLocator(base=10))
        left.xaxis.set_major_formatter(time_formatter)
        left.xaxis.set_minor_formatter(NullFormatter())
        left.set_yticks(positions, labels, fontsize=9)
        left.invert_yaxis()
        low, high = min(medians), max(medians)
        left.set_xlim(low / 3, high * 12)
        left.set_xlabel("median seconds per call (log scale; shorter is faster)")
        task = summary["task"] + (f", {summary['iterations']} iterations"
                                  if summary["iterations"] else "")
        left.set_title(f"{task}: {summary['n_x']}×{summary['m']}, {summary['dtype']}, "
                       f"{summary['order']} order", fontsize=10, loc="left")
        left.grid(axis="x", which="major", alpha=0.3)
        # right: loop ÷ vectorized per backend
        ratios = [(backend, entry["vectorization_speedup"])
                  for backend, entry in summary["backends"].items()
                  if entry.get("vectorization_speedup")]
        if ratios:
            names = [r[0] for r in ratios]
            values = [r[1] for r in ratios]
            bars = right.bar(names, values, color="#666666")
            right.set_yscale("log")
            right.yaxis.set_major_locator(LogLocator(base=10))
            right.yaxis.set_major_formatter(ratio_formatter)
            right.yaxis.set_minor_formatter(NullFormatter())
            right.axhline(1.0, color="black", linewidth=0.8)
            for bar, value in zip(bars, values):
                right.text(bar.get_x() + bar.get_width() / 2, value * 1.15, format_ratio(value),
                           ha="center", va="bottom", fontsize=9,
                           bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
            right.set_ylim(min(min(values), 1.0) / 3, max(max(values), 1.0) * 8)
        else:
            right.text(0.5, 0.5, "no backend with both loop and vectorized measured",
                       ha="center", va="center", transform=right.transAxes, fontsize=9)
        right.set_ylabel("loop time ÷ vectorized time (log)")
        right.set_title("vectorization speedup per backend", fontsize=10, loc="left")
        right.grid(axis="y", which="major", alpha=0.3)
    machine = report.get("machine") or {}
    figure.suptitle(f"fastlr {report.get('fastlr_version', '')} on {machine.get('cpu', '?')}, "
                    f"{machine.get('cores', '?')} cores, {machine.get('fastlr_threads', '?')} "
                    f"threads — hatched: estimated", fontsize=10, x=0.02, ha="left")
    present = [v for v in VARIANT_LABELS if any(x.variant == v for x in measurements)]
    figure.legend([plt.Rectangle((0, 0), 1, 1, color=COLORS[v]) for v in present],
                  [VARIANT_LABELS[v] for v in present], loc="upper right", ncol=len(present),
                  fontsize=9, frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / figure.get_figheight()))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
