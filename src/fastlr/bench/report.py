"""The report of a run: a JSON-serializable dict, and the text ``fastlr bench`` prints.

:func:`make_report` builds the dict that ``results.json`` holds (``bench/report.py`` builds
the same from pytest-benchmark's JSON); :func:`format_report` turns it into the machine
block, one table per problem and the ratios in words.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import fastlr
from fastlr import registry
from fastlr.bench.formatting import format_ratio, format_time, wrap
from fastlr.bench.machine import machine_info
from fastlr.bench.measurement import (
    Measurement,
    by_condition,
    condition_of,
    of_problem,
    summarize,
)
from fastlr.bench.problems import size_name
from fastlr.bench.timing import describe_interleave

#: column order of the tables, and how each variant is named there
VARIANT_LABELS = {"loop": "loop", "vectorized": "vectorized", "fused": "fused (one pass)"}

DEFINITIONS = {
    "vectorization_speedup": "loop time ÷ vectorized time, within one backend",
    "vs_python_loop": "pure-Python loop time ÷ this implementation's time",
    "time": "median seconds per call over the repeats (min also given)",
    "estimated": "timed on the first examples_timed of the m examples and scaled by "
                 "m / examples_timed",
    "condition": "steady: calls back to back; interleaved: each call right after a NumPy "
                 "matrix-vector product of order interleave_size, whose time is not counted "
                 "(a sample is then the median of calls_per_sample single calls)",
}

#: how to read the tables, printed below them
HOW_TO_READ = (
    "vectorization speedup (loop ÷ vectorized) = loop time ÷ vectorized time, within "
    "one backend.",
    "× vs pure-Python loop = pure-Python loop time ÷ this time: how many times faster "
    "than the lecture's loop in plain Python.",
    "In NumPy, vectorizing removes the interpreter's work for every element, which is "
    "where nearly all the time goes: hundreds of times (the table's ratios say how many "
    "here). (Pure Python's \"vectorized\" form is "
    "still interpreted element by element: no gain.) Compiled loops (Numba, Cython) have "
    "no such overhead, so there loop ÷ vectorized is a small factor (0.95–7.1× across four "
    "sizes on an AMD EPYC Zen 4; below 1 where the loop wins), never hundreds: that is the "
    "lesson. What is left is SIMD (the compiled loop adds in the lecture's strict order, "
    "one term at a time, so it cannot use it; BLAS does) and memory bandwidth; the fused "
    "path reads X once instead of twice.",
    "backend=\"auto\" follows a rule, the same in every process: the first available of "
    "cython fused, numba fused, numpy vectorized. `fastlr bench --tune` measures which is "
    "fastest on this machine (calls back to back, and each after a NumPy call) and saves "
    "it for \"auto\"; "
    "it saves nothing measured while other processes held the cores.",
)

#: how to read the interleaved tables, printed below the others when there are some
HOW_TO_READ_INTERLEAVED = (
    "interleaved = each call right after the user's own NumPy code ({interleave}), whose "
    "time is not counted: only what it leaves behind is. After a BLAS call its idle "
    "worker threads keep spinning for a while (OpenBLAS: ~0.1 s) and take the cores a "
    "multi-threaded kernel needs; the product's matrix also pushes X out of the caches. "
    "A real program that calls NumPy between fastlr's calls sees these times.",
)


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


# --------------------------------------------------------------------------- tables


def _variants_present(measurements) -> list[str]:
    present = {x.variant for x in measurements}
    return [v for v in VARIANT_LABELS if v in present]


def format_problem_table(summary: dict, measurements) -> list[str]:
    """One table: backend × (loop, vectorized, fused) times with × vs pure-Python loop."""
    group = of_problem(measurements, summary)
    by_pair = {(x.backend, x.variant): x for x in group}
    variants = _variants_present(group)
    threads_text = f"{group[0].threads} thread{'s' if group[0].threads != 1 else ''}"
    task = summary["task"] if summary["iterations"] is None else \
        f"{summary['task']} ({summary['iterations']} iterations)"
    has_baseline = summary["python_loop"] is not None
    interleaved = condition_of(summary) == "interleaved"
    after = (f" right after {_interleave_text(group)} before each call, not counting its "
             "time" if interleaved else "")
    title = (f"{task} on {size_name(summary['n_x'], summary['m'])}, {summary['dtype']}, "
             f"{summary['order']} order, {threads_text} — median time per call{after}"
             + (", × vs pure-Python loop" if has_baseline else
                " (pure-Python loop not measured at this size)"))
    if interleaved:  # the steady title stays on one line, as it always was
        title = wrap(title, hyphens=False)
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
    return [title, ""] + format_columns([headers] + rows)


def format_columns(table: list[list[str]]) -> list[str]:
    """``table``'s rows as aligned lines: the first column left-aligned, the others right,
    and a rule of dashes under the first row (the headers)."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(table[0]), line(["-" * w for w in widths])] + [line(r) for r in table[1:]]


# --------------------------------------------------------------------------- machine


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
    elif details and cython_info.get("build_failure"):
        lines.append(f"  Cython   extension not built at install: {cython_info['build_failure']}")
    elif details:
        lines.append("  Cython   extension not importable; see the implementations below")
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


# --------------------------------------------------------------------------- the report


def format_report(report: dict) -> str:
    """The text ``fastlr bench`` prints: machine, one table per problem, the ratios in words."""
    measurements = [Measurement.from_dict(r) for r in report["results"]]
    out = format_machine(report.get("machine") or {})
    from fastlr.bench.runner import BUSY_LABEL, load_warning  # local: runner imports report

    load = (report.get("settings") or {}).get("load_average_before")
    warning = load_warning(load, (report.get("machine") or {}).get("cores"))
    if warning:
        out.append(wrap(warning, first_indent=BUSY_LABEL))
    interleaves = []
    auto = (report.get("settings") or {}).get("auto") or {}
    for summaries in by_condition(report["problems"]):
        for summary in summaries:
            group = of_problem(measurements, summary)
            interleaved = condition_of(summary) == "interleaved"
            out += [""] + format_problem_table(summary, measurements)
            out += ["", _fastest_sentence(summary)]
            out += _auto_sentence(summary, group, auto)
            out += [wrap(note) for note in _notes(summary, group,
                                                  first_table=summary is summaries[0])]
            if interleaved:
                interleaves.append(_interleave_text(group))
        if len(summaries) > 1:
            out += [""] + format_comparison(summaries, measurements)
    out += ["", "How to read it:"]
    out += [wrap(text, "  ") for text in HOW_TO_READ]
    for interleave in dict.fromkeys(interleaves):
        out += [wrap(text.format(interleave=interleave), "  ", hyphens=False)
                for text in HOW_TO_READ_INTERLEAVED]
    reasons: dict[str, list[str]] = {}
    for item in report.get("unavailable", []):
        reasons.setdefault(item["reason"], []).append(f"{item['backend']} {item['variant']}")
    for reason, names in reasons.items():
        out.append(wrap(f"Not measured: {', '.join(names)} — {reason}", "  "))
    return "\n".join(out)


def _interleave_text(group: list[Measurement]) -> str:
    """What ran before each call of an interleaved ``group``, in words."""
    sizes = [x.interleave_size for x in group if x.interleave_size is not None]
    return describe_interleave(sizes[0] if sizes else None)


def format_comparison(summaries: list[dict], measurements) -> list[str]:
    """One line per backend: each variant's steady and interleaved medians and their ratio."""
    by_condition_pair = {}
    for summary in summaries:
        for x in of_problem(measurements, summary):
            by_condition_pair[condition_of(summary), x.backend, x.variant] = x
    lines = ["Steady vs interleaved (median per call; × = interleaved ÷ steady):"]
    for backend in summaries[0]["backends"]:
        parts = []
        for variant in VARIANT_LABELS:
            steady = by_condition_pair.get(("steady", backend, variant))
            interleaved = by_condition_pair.get(("interleaved", backend, variant))
            if steady is None or interleaved is None:
                continue
            parts.append(f"{variant}: steady {format_time(steady.median)}, interleaved "
                         f"{format_time(interleaved.median)} "
                         f"({format_ratio(interleaved.median / steady.median)})")
        if parts:
            lines.append(wrap(f"{backend} — " + "; ".join(parts), "  "))
    return lines


def _fastest_sentence(summary: dict) -> str:
    fastest = summary["fastest"]
    fastest_name = f"{fastest['backend']} {VARIANT_LABELS[fastest['variant']]}"
    where = "here" if condition_of(summary) != "interleaved" else "right after NumPy"
    text = f"Fastest {where}: {fastest_name}, {format_time(fastest['median'])} per call"
    ratio = summary["vs_python_loop"].get(f"{fastest['backend']} {fastest['variant']}")
    if ratio is not None:
        text += f", {format_ratio(ratio)} faster than the pure-Python loop"
    return text + "."


def _auto_sentence(summary: dict, group, auto: dict) -> list[str]:
    """What ``backend="auto"`` (:func:`fastlr.fastest`) runs here, against the fastest."""
    pick = auto.get(f"{summary['n_x']}x{summary['m']} {summary['dtype']}")
    mine = next((x for x in group if pick and [x.backend, x.variant] == pick), None)
    if mine is None:
        return []
    ratio = mine.median / summary["fastest"]["median"]
    name = f"{mine.backend} {VARIANT_LABELS[mine.variant]}"
    return [wrap(f"backend=\"auto\" (fastlr.fastest()) runs {name} here: "
                 f"{format_time(mine.median)}, {ratio:.2f}× the fastest.")]


def _is_jit(backend: str) -> bool:
    """Whether ``backend`` compiles at its first call (a report may name unknown backends)."""
    descriptor = registry.BACKENDS.get(backend)
    return descriptor is not None and descriptor.jit


def _notes(summary: dict, group: list[Measurement], first_table: bool = True) -> list[str]:
    """What a reader of one problem's table should know: estimates, few calls, tiny sizes,
    first calls that compiled (the last two under the problem's ``first_table`` only)."""
    notes = []
    estimated = [x for x in group if x.estimated]
    if estimated:
        notes.append("est. = estimated: " + ", ".join(
            f"{x.name} was timed on {x.examples_timed} of the {x.m} examples"
            for x in estimated) + ", then scaled by m ÷ examples timed "
            "(each example costs the same).")
    few = [x for x in group if (x.backend, x.variant) in registry.INTERPRETED
           and len(x.times) <= 3]
    if few:
        notes.append("Interpreted implementations are slow, so they were timed for few "
                     "calls: " + ", ".join(f"{x.name} {len(x.times)}" for x in few) + ".")
    if first_table and summary["n_x"] * summary["m"] <= 10_000:
        notes.append("At this tiny size a call's time is its fixed overhead (argument "
                     "checks, dispatch), not arithmetic: the ratios say little about "
                     "vectorization.")
    compiled_first = [x for x in group if first_table and x.first_call is not None
                      and _is_jit(x.backend) and x.first_call > max(1e-3, 5 * x.median)]
    if compiled_first:
        notes.append("First calls (Numba compiles, or loads its on-disk cache; not in the "
                     "times above): " + ", ".join(
                         f"{x.name} {format_time(x.first_call)}"
                         for x in compiled_first) + ".")
    return notes
