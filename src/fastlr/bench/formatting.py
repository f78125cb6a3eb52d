"""Numbers and paragraphs as the reports print them."""

from __future__ import annotations

import math
import textwrap

#: the width of the reports' paragraphs
WIDTH = 92


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


def tick_time(seconds: float) -> str:
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


def wrap(text: str, indent: str = "", first_indent: str | None = None,
         hyphens: bool = True) -> str:
    """``text`` filled to the reports' width; lines after the first indented two more.

    ``first_indent`` replaces ``indent`` on the first line (a label such as ``"  busy  "``),
    and then the following lines are indented to its width. ``hyphens=False``: never break
    a line inside a hyphenated word ("matrix-vector").
    """
    if first_indent is None:
        return textwrap.fill(text, width=WIDTH, initial_indent=indent,
                             subsequent_indent=indent + "  ", break_on_hyphens=hyphens)
    return textwrap.fill(text, width=WIDTH, initial_indent=first_indent,
                         subsequent_indent=" " * len(first_indent), break_on_hyphens=hyphens)
