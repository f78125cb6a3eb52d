"""``fastlr bench --scaling``: how the cost of one ``propagate`` grows with the problem.

Every available implementation is timed (steady condition, as :func:`~fastlr.bench.measure`
does) on a ladder of sizes, from the course's 2×3 example to beyond the last-level cache:
2×3 (6 elements of X), 10×10 (100), then ``n_x = 100`` features and ``m = elements / 100``
examples (1 000 … 64 000 000 elements: the tall problem's shape), X F-ordered. The ladder
stops at ~2× the L3 cache (:func:`default_max_elements`) unless told otherwise. Beside
them, the one-pass floor: the Cython backend's ``read_floor``, one read of X, the faster of
one thread and all of them, timed before and after the implementations of each size
(:func:`floor_entry`). The interpreted implementations run with BLAS limited to one thread
(they time the interpreter); the others with BLAS as it is.

A busy machine disturbs the times: the report records the load average before and after
and what other processes used of the cores meanwhile (:func:`fastlr.bench.runner.load_warnings`
says it), and the text flags a time below the floor (:func:`below_floor`).

Three things show in the figure (:func:`~fastlr.bench.plot_scaling`): the per-call
overhead that dominates small problems (flat time per call), the interpreter's constant
cost per element (flat time per element, ~1000× the compiled one), and the point where X
no longer fits in a cache (time per element steps up).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np

import fastlr
from fastlr import registry, threads
from fastlr.bench import machine
from fastlr.bench.formatting import format_time, wrap
from fastlr.bench.measurement import Measurement
from fastlr.bench.problems import make_inputs
from fastlr.bench.progress import Progress
from fastlr.bench.report import format_columns, format_machine
from fastlr.bench.runner import BUSY_LABEL, available_pairs, load_average, load_warnings, measure
from fastlr.bench.timing import CHEAP_CALL, time_fast

#: elements of X on the ladder (each a shape of :func:`shape_of`)
LADDER = (6, 100, 1_000, 10_000, 30_000, 100_000, 300_000, 1_000_000, 2_000_000, 4_000_000,
          8_000_000, 16_000_000, 32_000_000, 64_000_000)

#: features of every shape from 1 000 elements up (the tall problem's n_x)
N_X = 100

#: X is never bigger than this (bytes): memory stays under ~1.5 GB with the inputs around it
MAX_BYTES = 1_000_000_000

#: the ladder ends at the last size whose X is at most this many times the L3 cache
BEYOND_L3 = 2.5

#: the tables' width: split at backends beyond it
TABLE_WIDTH = 112

#: the ladder's end where the L3 size is unknown
FALLBACK_MAX_ELEMENTS = 16_000_000

#: ``--beginner``'s implementations: the Python loop, NumPy vectorized and one compiled loop
#: (the first available of the last two), each with its plain label
BEGINNER_PAIRS = (("python", "loop"), ("numpy", "vectorized"))
BEGINNER_COMPILED = (("cython", "loop"), ("numba", "loop"))
BEGINNER_LABELS = {("python", "loop"): "Python for-loop",
                   ("numpy", "vectorized"): "NumPy, vectorized",
                   ("cython", "loop"): "compiled for-loop (Cython)",
                   ("numba", "loop"): "compiled for-loop (Numba)"}
FLOOR_LABEL = "reading X once (the floor)"

#: the mark of a time below the floor in the table
BELOW_MARK = "!"


def shape_of(elements: int) -> tuple[int, int]:
    """``(n_x, m)`` with ``n_x·m ≈ elements``: 2×3, 10×10, then n_x = 100 (:data:`N_X`)."""
    if elements <= 6:
        return 2, 3
    if elements < 1000:
        side = max(1, round(math.sqrt(elements)))
        return side, max(1, round(elements / side))
    return N_X, max(1, round(elements / N_X))


def cache_sizes() -> dict:
    """``{"L1d": bytes, "L2": bytes, "L3": bytes}`` of the first CPU, those the OS tells.

    From ``/sys/devices/system/cpu/cpu0/cache`` (Linux), else ``os.sysconf``; ``{}`` where
    neither says. L2 is usually per core, L3 shared by the cores.
    """
    sizes = {}
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(root.glob("index*")) if root.is_dir() else []:
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            size = _parse_bytes((index / "size").read_text())
        except (OSError, ValueError):
            continue
        if kind == "Instruction":
            continue
        sizes[f"L{level}d" if level == 1 else f"L{level}"] = size
    for name, key in (("L2", "SC_LEVEL2_CACHE_SIZE"), ("L3", "SC_LEVEL3_CACHE_SIZE")):
        if name not in sizes and key in getattr(os, "sysconf_names", {}):
            try:
                value = os.sysconf(key)
            except (OSError, ValueError):
                continue
            if value > 0:
                sizes[name] = value
    return sizes


def _parse_bytes(text: str) -> int:
    """``"32768K"``, ``"1M"``, ``"512"`` -> bytes."""
    text = text.strip().upper().rstrip("B")
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
    return int(text[:-1] if scale > 1 else text) * scale


def default_max_elements(caches: dict, itemsize: int = 8) -> int:
    """The ladder's end: the last size whose X is at most :data:`BEYOND_L3` × the L3 cache."""
    l3 = caches.get("L3")
    if not l3:
        return FALLBACK_MAX_ELEMENTS
    fitting = [e for e in LADDER if e * itemsize <= BEYOND_L3 * l3]
    return fitting[-1] if fitting else LADDER[0]


def scaling_shapes(max_elements: int, itemsize: int = 8) -> list[tuple[int, int]]:
    """The ladder's shapes up to ``max_elements`` (always the 2×3 one), X ≤ :data:`MAX_BYTES`."""
    limit = min(max_elements, MAX_BYTES // itemsize)
    return [shape_of(e) for e in LADDER if e <= limit or e == LADDER[0]]


def estimate_seconds(shapes, n_fast: int, n_interpreted: int, *, repeats: int,
                     slow_budget: float, floor_measurements: int = 4) -> float:
    """A rough duration of :func:`run_scaling`, said before it starts.

    Assumes ~3 ns per element for a compiled or vectorized call (pessimistic: memory-bound
    at the large sizes), ~1 µs per element for an interpreted one, 20 ns per element to
    build the inputs, and the 0.2 s wait for idle threads before each big measurement.
    ``floor_measurements``: the floor's per size (1 thread and all, before and after: 4).
    """
    total = 0.0
    for n_x, m in shapes:
        elements = n_x * m
        settle = threads.SETTLE_SECONDS if elements >= 100_000 else 0.0
        fast = 0.06 + settle + repeats * max(1e-3, 3e-9 * elements)
        slow_call = 1e-6 * elements
        if slow_call <= CHEAP_CALL:
            slow = 0.06 + repeats * max(1e-3, slow_call)
        else:
            slow = 0.05 + min(slow_budget, 3 * slow_call)
        total += 2e-8 * elements + (n_fast + floor_measurements) * fast + n_interpreted * slow
    return total


def floor_kernel():
    """``(read_floor, None)``, or ``(None, reason)`` where the Cython extension is missing."""
    try:
        return registry.load("cython").read_floor, None
    except registry.BackendUnavailable as error:
        return None, str(error).split(";")[0]


def floor_threads(n_threads: int) -> list[int]:
    """The thread counts the floor is read with: one, and ``n_threads`` if more."""
    return [1] + ([n_threads] if n_threads > 1 else [])


def time_floor(read_floor, X, n_threads: int, repeats: int) -> dict[int, list[float]]:
    """``{threads: times}``: one read of ``X`` timed as :func:`time_fast` times the
    implementations, on one thread and on ``n_threads``."""
    samples = {}
    for n in floor_threads(n_threads):
        if X.size >= 100_000:
            threads.settle()
        samples[n], _, _ = time_fast(read_floor, (X, n), repeats=repeats)
    return samples


def floor_entry(n_x: int, m: int, samples: dict[int, list[float]]) -> dict:
    """The floor of one size from its samples per thread count (all rounds pooled).

    ``floor``, what the table and figures show, is the fastest sample of the faster thread
    count: a floor is what no pass over X beats, and on a shared machine a read on every
    thread waits for the busiest core (AMD EPYC Zen 5, 2 cores, one busy: often 1-4 ms
    whatever the size, where one thread read 48 B to 8 MB in 1.4-66 µs) where one thread
    does not; the minimum of samples that each last ≥ 1 ms is the least disturbed.
    ``threads``, ``times``, ``median`` and ``min`` are that thread count's;
    ``by_threads`` each count's median and min.
    """
    best = min(samples, key=lambda n: min(samples[n]))
    times = samples[best]
    return {"n_x": n_x, "m": m, "elements": n_x * m, "threads": best, "times": times,
            "median": float(np.median(times)), "min": min(times), "floor": min(times),
            "by_threads": {str(n): {"median": float(np.median(t)), "min": min(t)}
                           for n, t in samples.items()}}


def floor_value(entry: dict) -> float:
    """The floor a report's ``floor`` entry shows (older reports: its median)."""
    return entry.get("floor", entry["median"])


def beginner_pairs(pairs) -> list[tuple[str, str]]:
    """``--beginner``'s implementations among ``pairs``: the Python loop, NumPy vectorized
    and the first of the Cython and Numba loops (:data:`BEGINNER_COMPILED`)."""
    chosen = [pair for pair in BEGINNER_PAIRS if pair in pairs]
    compiled = next((pair for pair in BEGINNER_COMPILED if pair in pairs), None)
    return chosen + ([compiled] if compiled else [])


def run_scaling(max_elements: int | None = None, dtype="float64", order="F", *, repeats=10,
                slow_budget=1.0, backends=None, progress: Progress | None = None,
                seed=0, beginner=False) -> dict:
    """Time ``propagate`` of every available implementation on each size of the ladder.

    ``beginner``: only :func:`beginner_pairs` (the lines of
    :func:`~fastlr.bench.plotting.plot_scaling_beginner`). The interpreted implementations
    run with BLAS limited to one thread where threadpoolctl can limit it
    (:func:`fastlr.threads.limit_blas`); the others with the BLAS threads as they are.
    The floor is read before and after each size's implementations (:func:`floor_entry`).

    Returns the dict ``scaling.json`` holds: ``machine``, ``settings`` (with the load
    average before and after and ``others_busy_during``), ``caches``, ``results`` (one
    :meth:`Measurement.to_dict` per implementation and size), ``floor`` (per size:
    :func:`floor_entry`) or ``floor_unavailable``, ``unavailable``.
    """
    from fastlr.autotune import load_meter

    dtype = np.dtype(dtype).name
    itemsize = np.dtype(dtype).itemsize
    caches = cache_sizes()
    if max_elements is None:
        max_elements = default_max_elements(caches, itemsize)
    shapes = scaling_shapes(max_elements, itemsize)
    load = load_average()
    meter = load_meter()
    pairs, unavailable = available_pairs(backends)
    if beginner:
        pairs = beginner_pairs(pairs)
    read_floor, floor_reason = floor_kernel()
    n_threads = threads.get_num_threads()
    progress = progress or Progress(1, enabled=False)
    progress.total = max(len(shapes) * (len(pairs) + 2), 1)
    blas = machine.blas_threads()
    interpreted_blas = None  # what the interpreted ones ran with: 1 where limited
    measurements, floor = [], []
    step = 0

    def read_floor_round(X, samples, when):
        if read_floor is not None:
            progress.update(step, f"one read of X {when}, {X.shape[0]}×{X.shape[1]} "
                                  f"({X.nbytes:,} bytes)")
            for n, times in time_floor(read_floor, X, n_threads, repeats).items():
                samples.setdefault(n, []).extend(times)

    for n_x, m in shapes:
        w, b, X, Y = make_inputs(n_x, m, dtype, order, seed)
        samples: dict[int, list[float]] = {}
        read_floor_round(X, samples, "before")
        step += 1
        for backend, variant in pairs:
            limiter = None
            if (backend, variant) in registry.INTERPRETED:  # the point is the interpreter
                limiter = threads.limit_blas(1)  # None without threadpoolctl
                interpreted_blas = 1 if limiter is not None else blas
            try:
                measurements.append(measure(
                    backend, variant, w, b, X, Y, repeats=repeats, slow_budget=slow_budget,
                    progress=progress, step=step,
                    blas_threads=1 if limiter is not None else blas))
            finally:
                if limiter is not None:
                    limiter.restore_original_limits()
            step += 1
            progress.update(step)
        read_floor_round(X, samples, "after")  # load that came meanwhile: the faster counts
        step += 1
        if samples:
            floor.append(floor_entry(n_x, m, samples))
        del w, X, Y
    progress.close()
    busy = meter.busy_since()
    now = load_meter()
    own_threads = (now.own - meter.own) / max(now.wall - meter.wall, 1e-9)
    interpreted = [f"{b} {v}" for b, v in pairs if (b, v) in registry.INTERPRETED]
    report = {
        "fastlr_version": fastlr.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "kind": "scaling",
        "machine": machine.machine_info(),
        "settings": {
            "shapes": [list(s) for s in shapes], "dtype": dtype, "order": order,
            "max_elements": max_elements, "repeats": repeats,
            "slow_budget_seconds": slow_budget, "threads": n_threads, "condition": "steady",
            "beginner": bool(beginner),
            "load_average_before": load, "load_average_after": load_average(),
            "others_busy_during": busy, "own_threads_during": own_threads,
            "blas_threads": {"interpreted": interpreted_blas if interpreted else None,
                             "others": blas, "interpreted_implementations": interpreted},
            "timed": "Implementation.propagate(w, b, X, Y): the public call, input checks "
                     "included; the floor: read_floor(X, threads), one read of X, on 1 "
                     "thread and on all, before and after the implementations of each "
                     "size: the fastest sample of the faster thread count",
        },
        "caches": caches,
        "results": [x.to_dict() for x in measurements],
        "floor": floor,
        "unavailable": list(unavailable),
    }
    if read_floor is None:
        report["floor_unavailable"] = floor_reason
    return report


def below_floor(report: dict) -> list[Measurement]:
    """The measurements faster than the floor of their size: a pass over X cannot be, so
    the timing was disturbed (other work slowed the floor's reads, or this one is wrong)."""
    floor = {(f["n_x"], f["m"]): floor_value(f) for f in report.get("floor") or []}
    found = []
    for record in report["results"]:
        x = Measurement.from_dict(record)
        if (x.n_x, x.m) in floor and x.median < floor[x.n_x, x.m]:
            found.append(x)
    return found


# --------------------------------------------------------------------------- the text


def short_count(value: float) -> str:
    """``6``, ``100``, ``30k``, ``1M``, ``16M``, ``1.5G``."""
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.0f}"


def short_bytes(value: float, binary: bool = False) -> str:
    """``48 B``, ``8 kB``, ``64 MB`` (powers of 1000); ``binary``: ``32 MiB`` (caches)."""
    units = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)) if binary else \
        (("GB", 1e9), ("MB", 1e6), ("kB", 1e3))
    for suffix, scale in units:
        if value >= scale:
            return f"{value / scale:.3g} {suffix}"
    return f"{value:.0f} B"


def format_scaling(report: dict) -> str:
    """Machine, then the table (elements × implementation, median time per call)."""
    measurements = [Measurement.from_dict(r) for r in report["results"]]
    settings = report["settings"]
    itemsize = np.dtype(settings["dtype"]).itemsize
    shapes = [tuple(s) for s in settings["shapes"]]
    floor = {(f["n_x"], f["m"]): floor_value(f) for f in report.get("floor", [])}
    by_key = {(x.backend, x.variant, x.n_x, x.m): x for x in measurements}
    names = list(dict.fromkeys((x.backend, x.variant) for x in measurements))
    below = {(x.backend, x.variant, x.n_x, x.m) for x in below_floor(report)}
    out = format_machine(report.get("machine") or {})
    caches = report.get("caches") or {}
    if caches:
        out.append("  caches   " + ", ".join(f"{name} {short_bytes(size, binary=True)}"
                                              for name, size in caches.items())
                   + " (L2 per core, L3 shared, as the OS reports them)")
    blas_text = _blas_text(settings.get("blas_threads"))
    if blas_text:
        out.append(wrap(blas_text, first_indent="  BLAS     "))
    out += [wrap(text, first_indent=BUSY_LABEL)
            for text in load_warnings(settings, (report.get("machine") or {}).get("cores"))]
    threads_text = f"{settings['threads']} thread{'s' if settings['threads'] != 1 else ''}"
    out += ["", wrap(f"propagate, X {settings['dtype']} {settings['order']}-ordered, n_x = "
                     f"{N_X} features from 1k elements up (2×3 and 10×10 below), "
                     f"{threads_text}, steady — median time per call (* estimated from a "
                     "subset of the examples)", hyphens=False)]
    left = [["elements"] + [short_count(n_x * m) for n_x, m in shapes],
            ["n_x×m"] + [f"{n_x}×{m}" for n_x, m in shapes],
            ["X"] + [short_bytes(n_x * m * itemsize) for n_x, m in shapes]]
    columns = [[v] + [_cell(by_key.get((b, v, n_x, m)), (b, v, n_x, m) in below)
                      for n_x, m in shapes] for b, v in names]
    groups = [("", left)]
    for backend in dict.fromkeys(b for b, _ in names):
        groups.append((backend, [c for c, n in zip(columns, names) if n[0] == backend]))
    if floor:
        groups.append(("", [["floor"] + [format_time(floor.get(s)) for s in shapes]]))
    for chunk in _chunks(groups[1:-1] if floor else groups[1:], TABLE_WIDTH - sum(
            _width(c) for c in groups[0][1] + (groups[-1][1] if floor else []))):
        out += [""] + _format_table([groups[0]] + chunk + ([groups[-1]] if floor else []))
    if report.get("floor_unavailable"):
        out += ["", wrap(f"floor (one read of X) not measured: the Cython extension is "
                         f"unavailable ({report['floor_unavailable']})")]
    elif floor:
        out += ["", wrap("floor = one read of X (the Cython backend's read_floor), the faster "
                         "of one thread and all of them, its fastest sample before or after "
                         "the implementations: what a memory-bound pass cannot beat.")]
    if below:
        cells = ", ".join(f"{b} {v} at {n_x}×{m}" for b, v, n_x, m in
                          sorted(below, key=lambda k: (k[2] * k[3], names.index(k[:2]))))
        out.append(wrap(f"{BELOW_MARK} below the floor: timing disturbed — {cells}. No pass "
                        "over X is faster than one read of it: other work slowed the floor's "
                        "reads (or these). Re-run on a quiet machine."))
    largest = shapes[-1]
    per_element = [f"{b} {v} {format_time(by_key[(b, v) + largest].median / math.prod(largest))}"
                   for b, v in names if (b, v) + largest in by_key]
    if per_element:
        out.append(wrap(f"Time per element at {largest[0]}×{largest[1]}: "
                        + ", ".join(per_element) + "."))
    reasons: dict[str, list[str]] = {}
    for item in report.get("unavailable", []):
        reasons.setdefault(item["reason"], []).append(f"{item['backend']} {item['variant']}")
    for reason, unavailable in reasons.items():
        out.append(wrap(f"Not measured: {', '.join(unavailable)} — {reason}"))
    return "\n".join(out)


def _cell(x: Measurement | None, below: bool = False) -> str:
    if x is None:
        return "—"
    return format_time(x.median) + ("*" if x.estimated else "") + (BELOW_MARK if below else "")


def _blas_text(blas: dict | None) -> str | None:
    """What BLAS threads the implementations ran with, in words (None: not recorded)."""
    if not blas:
        return None
    others = blas.get("others")
    others_text = "unknown (threadpoolctl is not installed)" if others is None else \
        f"{others} thread{'' if others == 1 else 's'}"
    text = f"{others_text} for NumPy and the compiled vectorized variants"
    interpreted = blas.get("interpreted_implementations") or []
    if interpreted:
        limited = blas.get("interpreted") == 1
        text += (f"; 1 for the interpreted ones ({', '.join(interpreted)}), which time the "
                 "interpreter" if limited else
                 f"; not limited for the interpreted ones ({', '.join(interpreted)}): "
                 "limiting BLAS needs threadpoolctl")
    return text + "."


def _width(column) -> int:
    return max(map(len, column)) + 2


def _chunks(groups, width):
    """``groups`` (backend, columns) split into as few tables of at most ``width``
    characters as fit, of about equal widths."""
    widths = [sum(_width(c) for c in group[1]) for group in groups]

    def split(limit):
        chunks, current, used = [], [], 0
        for group, group_width in zip(groups, widths):
            if current and used + group_width > limit:
                chunks.append(current)
                current, used = [], 0
            current.append(group)
            used += group_width
        return chunks + [current] if current else chunks

    fewest = len(split(width))
    # the narrowest limit that needs no more tables: their widths come out about equal
    limit = next(limit for limit in range(math.ceil(sum(widths) / fewest), width + 1)
                 if len(split(limit)) == fewest) if fewest > 1 else width
    return split(limit)


def _format_table(groups) -> list[str]:
    """Columns grouped under a header each (the backend), as :func:`format_columns` aligns
    them; the group headers centred above their columns."""
    columns = [column for _, group in groups for column in group]
    lines = format_columns([list(row) for row in zip(*columns)])
    widths = [max(map(len, column)) for column in columns]
    header, k = [], 0
    for name, group in groups:
        span = sum(widths[k:k + len(group)]) + 2 * (len(group) - 1)
        header.append(f" {name} ".center(span, "─") if name else " " * span)
        k += len(group)
    return ["  ".join(header).rstrip()] + lines
