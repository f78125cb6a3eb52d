"""``fastlr bench --tune``: measure which implementation is fastest here, save it for
``backend="auto"`` (:func:`fastlr.tune`), and print what was measured."""

from __future__ import annotations

import numpy as np

from fastlr.bench.formatting import format_time, wrap


def run(sizes, dtypes, order) -> tuple[str, bool]:
    """Tune the classes of these problems; ``(report, saved)``."""
    from fastlr import autotune, registry

    problems = [np.empty(size, dtype=dtype, order=order) for dtype in dtypes for size in sizes]
    tuning = registry.tune(problems)
    preferred = registry.preferred()
    lines = []
    for key, times in tuning.times.items():
        winner = tuning.chosen[key]
        lines += ["", f"{key}: median per call, steady / right after a NumPy M @ v"]
        ranked = sorted(times.items(), key=lambda item: autotune.score(item[1]))
        for pair, (steady, interleaved) in ranked:
            mark = "  ← tuned" if pair == winner else ""
            mark += "  (the rule's pick)" if pair == preferred else ""
            lines.append(f"  {' '.join(pair):<20}{format_time(steady):>10} / "
                         f"{format_time(interleaved):<10}{mark}")
    lines.append("")
    if tuning.saved:
        lines.append(wrap(f"Saved to {autotune.cache_path()}: backend=\"auto\" and "
                          "fastlr.fastest() use these choices from now on, on this machine "
                          "with these threads and versions (FASTLR_AUTOTUNE=0 ignores them).",
                          "  ", ""))
    else:
        lines.append(wrap(f"Not saved: {tuning.reason}. fastlr.fastest() keeps its rule: "
                          f"{' '.join(preferred)}.", "  ", ""))
    return "\n".join(lines).lstrip("\n"), tuning.saved
