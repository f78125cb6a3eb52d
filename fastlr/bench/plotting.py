"""``speedup.png``: the report as a figure (matplotlib, imported only when plotting)."""

from __future__ import annotations

from pathlib import Path

from fastlr.bench.formatting import format_ratio, format_time, tick_time
from fastlr.bench.machine import BENCH_EXTRA_HINT
from fastlr.bench.measurement import Measurement, of_problem
from fastlr.bench.report import VARIANT_LABELS

#: the bars' colour per variant
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

    time_formatter = FuncFormatter(lambda value, _: tick_time(value))
    ratio_formatter = FuncFormatter(lambda value, _: f"{value:g}×")
    measurements = [Measurement.from_dict(r) for r in report["results"]]
    summaries = report["problems"]
    rows = len(summaries)
    figure, axes = plt.subplots(rows, 2, figsize=(12, 0.4 + 3.6 * rows), squeeze=False,
                                gridspec_kw={"width_ratios": [1.6, 1]})
    for row, summary in enumerate(summaries):
        left, right = axes[row]
        group = _in_plot_order(of_problem(measurements, summary), summary["backends"])
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


def _in_plot_order(group: list[Measurement], backends) -> list[Measurement]:
    """Backends in the order of ``backends``, each one's variants in table order."""
    backend_rank = {backend: k for k, backend in enumerate(backends)}
    variant_rank = {variant: k for k, variant in enumerate(VARIANT_LABELS)}
    return sorted(group, key=lambda x: (backend_rank[x.backend],
                                        variant_rank.get(x.variant, len(variant_rank))))
