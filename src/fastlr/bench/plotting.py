"""The reports as figures (matplotlib, imported only when plotting): ``speedup.png``
(:func:`plot`), ``scaling.png`` (:func:`plot_scaling`) and ``scaling-beginner.png``
(:func:`plot_scaling_beginner`)."""

from __future__ import annotations

import json
from pathlib import Path

from fastlr.bench.formatting import format_ratio, format_time, tick_time
from fastlr.bench.machine import BENCH_EXTRA_HINT
from fastlr.bench.measurement import Measurement, by_condition, condition_of, of_problem
from fastlr.bench.report import VARIANT_LABELS
from fastlr.bench.timing import describe_interleave

#: the bars' colour per variant
COLORS = {"loop": "#d95f02", "vectorized": "#1b9e77", "fused": "#7570b3"}


def new_figure(**kwargs):
    """A :class:`matplotlib.figure.Figure` of its own (no pyplot: no global backend switch,
    no figure left open in the user's session), or ImportError naming the extra."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"plotting needs matplotlib: {BENCH_EXTRA_HINT}") from None
    return Figure(**kwargs)


def save(figure, path, dpi=110) -> Path:
    """Write ``figure`` to ``path`` (its folders made), the format from the suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    return path


def plot(report: dict, path) -> Path:
    """``speedup.png``: per problem, median time per implementation (log scale, grouped by
    backend) and the loop ÷ vectorized ratio per backend (log scale, annotated).

    A problem measured in both conditions is one row: the bars are the steady times, a
    black diamond on each bar the interleaved time (right after a NumPy BLAS call).
    """
    figure = new_figure(figsize=(12, 0.4 + 3.6 * len(by_condition(report["problems"]))))
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    time_formatter = FuncFormatter(lambda value, _: tick_time(value))
    ratio_formatter = FuncFormatter(lambda value, _: f"{value:g}×")
    measurements = [Measurement.from_dict(r) for r in report["results"]]
    problems = by_condition(report["problems"])
    rows = len(problems)
    axes = figure.subplots(rows, 2, squeeze=False, gridspec_kw={"width_ratios": [1.6, 1]})
    interleaves = []
    for row, summaries in enumerate(problems):
        summary = summaries[0]  # steady when measured, else the only condition there is
        left, right = axes[row]
        group = _in_plot_order(of_problem(measurements, summary), summary["backends"])
        after = {}  # (backend, variant) -> the interleaved measurement, drawn on the bar
        if condition_of(summary) == "steady" and len(summaries) > 1:
            after = {(x.backend, x.variant): x for x in of_problem(measurements, summaries[1])}
            interleaves += [describe_interleave(x.interleave_size) for x in after.values()]
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
            text = format_time(x.median) + (" est." if x.estimated else "")
            right_end = x.median
            interleaved = after.get((x.backend, x.variant))
            if interleaved is not None:
                middle = bar.get_y() + bar.get_height() / 2
                left.plot([x.median, interleaved.median], [middle, middle], color="black",
                          linewidth=0.8, zorder=3)
                left.plot(interleaved.median, middle, marker="D", color="black",
                          markersize=5, zorder=4)
                text += f"  ◆ {format_time(interleaved.median)}"
                right_end = max(right_end, interleaved.median)
            left.text(right_end * 1.15, bar.get_y() + bar.get_height() / 2, text,
                      va="center", fontsize=8)
        left.set_xscale("log")
        left.xaxis.set_major_locator(LogLocator(base=10))
        left.xaxis.set_major_formatter(time_formatter)
        left.xaxis.set_minor_formatter(NullFormatter())
        left.set_yticks(positions, labels, fontsize=9)
        left.invert_yaxis()
        low = min(medians + [x.median for x in after.values()])
        high = max(medians + [x.median for x in after.values()])
        left.set_xlim(low / 3, high * 12)
        left.set_xlabel("median seconds per call (log scale; shorter is faster)")
        task = summary["task"] + (f", {summary['iterations']} iterations"
                                  if summary["iterations"] else "")
        condition = " (interleaved)" if condition_of(summary) == "interleaved" else ""
        left.set_title(f"{task}: {summary['n_x']}×{summary['m']}, {summary['dtype']}, "
                       f"{summary['order']} order{condition}", fontsize=10, loc="left")
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
        right.set_title("vectorization speedup per backend" + (" (steady)" if after else ""),
                        fontsize=10, loc="left")
        right.grid(axis="y", which="major", alpha=0.3)
    machine = report.get("machine") or {}
    figure.suptitle(f"fastlr {report.get('fastlr_version', '')} on {machine.get('cpu', '?')}, "
                    f"{machine.get('cores', '?')} cores, {machine.get('fastlr_threads', '?')} "
                    f"threads — hatched: estimated", fontsize=10, x=0.02, ha="left")
    present = [v for v in VARIANT_LABELS if any(x.variant == v for x in measurements)]
    handles = [Rectangle((0, 0), 1, 1, color=COLORS[v]) for v in present]
    labels = [VARIANT_LABELS[v] for v in present]
    if interleaves:
        handles.append(Line2D([], [], color="black", marker="D", markersize=5, linewidth=0.8))
        labels.append(f"interleaved: right after {interleaves[0]}")
        # one more line at the top: the legend goes under the title, not beside it
        figure.legend(handles, labels, loc="upper left", ncol=len(handles), fontsize=9,
                      frameon=False, bbox_to_anchor=(0.01, 1 - 0.28 / figure.get_figheight()))
        figure.tight_layout(rect=(0, 0, 1, 1 - 0.62 / figure.get_figheight()))
    else:
        figure.legend(handles, labels, loc="upper right", ncol=len(handles), fontsize=9,
                      frameon=False)
        figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / figure.get_figheight()))
    return save(figure, path)


def _in_plot_order(group: list[Measurement], backends) -> list[Measurement]:
    """Backends in the order of ``backends``, each one's variants in table order."""
    backend_rank = {backend: k for k, backend in enumerate(backends)}
    variant_rank = {variant: k for k, variant in enumerate(VARIANT_LABELS)}
    return sorted(group, key=lambda x: (backend_rank[x.backend],
                                        variant_rank.get(x.variant, len(variant_rank))))


#: the scaling figure's marker and line style per backend (the colour is the variant's)
BACKEND_STYLES = {"python": ("o", ":"), "numpy": ("s", "-"), "numba": ("^", "-."),
                  "cython": ("D", "-")}


def plot_scaling(report: dict, path) -> Path:
    """``scaling.png``: time per call (top) and per element of X (bottom) against elements
    of X, log–log, one line per implementation (colour: variant, as in ``speedup.png``;
    marker: backend; hollow: estimated), the one-pass floor dashed black, the L2 and L3
    sizes as vertical lines (bytes of X = cache size), a time below the floor ringed red."""
    return save(scaling_figure(report), path)


def scaling_figure(report: dict):
    """The :class:`~matplotlib.figure.Figure` of :func:`plot_scaling`."""
    figure = new_figure(figsize=(10, 10))
    from matplotlib.ticker import FuncFormatter

    from fastlr.bench.scaling import below_floor, floor_value, short_bytes, short_count

    measurements = [Measurement.from_dict(r) for r in report["results"]]
    settings = report["settings"]
    itemsize = 4 if settings.get("dtype") == "float32" else 8
    per_call, per_element = figure.subplots(2, 1, sharex=True,
                                            gridspec_kw={"height_ratios": [1.3, 1]})
    pairs = list(dict.fromkeys((x.backend, x.variant) for x in measurements))
    for backend, variant in pairs:
        points = sorted((x for x in measurements if (x.backend, x.variant) == (backend, variant)),
                        key=lambda x: x.n_x * x.m)
        marker, linestyle = BACKEND_STYLES.get(backend, ("x", "--"))
        color = COLORS.get(variant, "grey")
        elements = [x.n_x * x.m for x in points]
        for axis, values in ((per_call, [x.median for x in points]),
                             (per_element, [x.median / e for x, e in zip(points, elements)])):
            axis.plot(elements, values, color=color, linestyle=linestyle, linewidth=1.3,
                      marker=marker, markersize=5,
                      label=f"{backend} {variant}" if axis is per_call else None)
            estimated = [(e, v) for e, v, x in zip(elements, values, points) if x.estimated]
            if estimated:
                axis.plot(*zip(*estimated), linestyle="none", marker=marker, markersize=5,
                          color=color, markerfacecolor="white")
    floor = sorted(report.get("floor") or [], key=lambda f: f["elements"])
    if floor:
        elements = [f["elements"] for f in floor]
        per_call.plot(elements, [floor_value(f) for f in floor], color="black", linestyle="--",
                      linewidth=1.5, label="floor: one read of X (read_floor)")
        per_element.plot(elements, [floor_value(f) / e for f, e in zip(floor, elements)],
                         color="black", linestyle="--", linewidth=1.5)
    below = below_floor(report)
    if below:  # ringed in red, and said in the legend
        elements = [x.n_x * x.m for x in below]
        for axis, values in ((per_call, [x.median for x in below]),
                             (per_element, [x.median / e for x, e in zip(below, elements)])):
            axis.scatter(elements, values, s=140, facecolors="none", edgecolors="red",
                         linewidths=1.5, zorder=5,
                         label="below the floor: timing disturbed" if axis is per_call else None)
    all_elements = [x.n_x * x.m for x in measurements] + [f["elements"] for f in floor]
    low, high = min(all_elements), max(all_elements)
    for name, size in (report.get("caches") or {}).items():
        if name not in ("L2", "L3") or not low <= size / itemsize <= high * 1.5:
            continue
        for axis in (per_call, per_element):
            axis.axvline(size / itemsize, color="grey", linewidth=1, linestyle=(0, (1, 2)))
        per_call.text(size / itemsize * 1.08, 0.98, f"{name} = {short_bytes(size, binary=True)}"
                      + (" (per core)" if name == "L2" else ""), rotation=90, va="top",
                      fontsize=8, color="dimgrey", transform=per_call.get_xaxis_transform(),
                      bbox={"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.8})
    time_formatter = FuncFormatter(lambda value, _: tick_time(value))
    for axis in (per_call, per_element):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.yaxis.set_major_formatter(time_formatter)
        axis.grid(which="major", alpha=0.3)
    per_element.xaxis.set_major_formatter(FuncFormatter(lambda value, _: short_count(value)))
    per_call.set_ylabel("median time per call")
    per_element.set_ylabel("time per element of X (per call ÷ n_x·m)")
    per_element.set_xlabel(f"elements of X (n_x·m; {settings.get('dtype', 'float64')}, "
                           f"{itemsize} bytes each; 2×3, 10×10, then n_x = 100)")
    per_call.legend(fontsize=8, ncol=2, loc="upper left", frameon=False)
    machine = report.get("machine") or {}
    per_call.set_title(
        f"fastlr {report.get('fastlr_version', '')} propagate on {machine.get('cpu', '?')}, "
        f"{settings.get('threads', '?')} threads, {settings.get('order', 'F')} order, steady"
        " — hollow: estimated", fontsize=9, loc="left")
    figure.tight_layout()
    return figure


#: the beginner figure's colour per line (its label: fastlr.bench.scaling.BEGINNER_LABELS)
BEGINNER_COLORS = {("python", "loop"): "#d95f02", ("numpy", "vectorized"): "#1b9e77",
                   ("cython", "loop"): "#7570b3", ("numba", "loop"): "#7570b3"}

#: the beginner figure's title: one sentence
BEGINNER_TITLE = "How long one pass of logistic regression over X takes as X grows"


def scaling_beginner_figure(report: dict):
    """The :class:`~matplotlib.figure.Figure` of :func:`plot_scaling_beginner`."""
    figure = new_figure(figsize=(8, 5.5))
    from matplotlib.ticker import FuncFormatter

    from fastlr.bench.scaling import (
        BEGINNER_LABELS,
        FLOOR_LABEL,
        beginner_pairs,
        below_floor,
        floor_value,
        short_count,
    )

    measurements = [Measurement.from_dict(r) for r in report["results"]]
    pairs = beginner_pairs(list(dict.fromkeys((x.backend, x.variant) for x in measurements)))
    axis = figure.subplots()
    for pair in pairs:
        points = sorted((x for x in measurements if (x.backend, x.variant) == pair),
                        key=lambda x: x.n_x * x.m)
        axis.plot([x.n_x * x.m for x in points], [x.median for x in points], marker="o",
                  markersize=4, linewidth=2, color=BEGINNER_COLORS.get(pair, "grey"),
                  label=BEGINNER_LABELS[pair])
    floor = sorted(report.get("floor") or [], key=lambda f: f["elements"])
    if floor:
        axis.plot([f["elements"] for f in floor], [floor_value(f) for f in floor],
                  color="black", linestyle="--", linewidth=1.5, label=FLOOR_LABEL)
    below = [x for x in below_floor(report) if (x.backend, x.variant) in pairs]
    if below:  # a point, not a line: the figure keeps its four lines
        axis.scatter([x.n_x * x.m for x in below], [x.median for x in below], s=140,
                     facecolors="none", edgecolors="red", linewidths=1.5, zorder=5,
                     label="below the floor: timing disturbed")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: short_count(value)))
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: tick_time(value)))
    axis.grid(which="major", alpha=0.3)
    axis.set_xlabel("numbers in X (features × examples; both axes: each step ×10)")
    axis.set_ylabel("time for one pass (lower is faster)")
    axis.set_title(BEGINNER_TITLE, fontsize=11, loc="left")
    axis.legend(loc="upper left", frameon=False)
    machine = report.get("machine") or {}
    settings = report.get("settings") or {}
    command = settings.get("command")
    figure.text(0.01, 0.01, f"fastlr {report.get('fastlr_version', '')}, "
                f"{machine.get('cpu', '?')}, {settings.get('threads', '?')} threads, "
                f"{str(report.get('created', ''))[:10]}" + (f" — {command}" if command else ""),
                fontsize=7, color="dimgrey")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    return figure


def plot_scaling_beginner(report, path) -> Path:
    """``scaling-beginner.png``: four lines of a scaling report, time per call against the
    numbers in X, log–log, in plain words — the Python for-loop, NumPy vectorized, a
    compiled for-loop (Cython, else Numba) and reading X once (the floor).

    ``report``: the dict :func:`~fastlr.bench.run_scaling` returns, or the path of a
    ``scaling.json`` (``fastlr bench --scaling --out DIR`` writes one; a full run's or a
    ``--beginner`` one's). A line the report lacks is left out.
    """
    if not isinstance(report, dict):
        report = json.loads(Path(report).read_text(encoding="utf-8"))
    return save(scaling_beginner_figure(report), path)
