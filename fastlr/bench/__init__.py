"""What vectorization buys, measured: the logic behind ``fastlr bench`` and ``bench/report.py``.

Every available implementation (:func:`fastlr.implementations`) is timed on the same
problem; the results are turned into ratios to named baselines:

* **vectorization speedup** = loop time ÷ vectorized time, within one backend;
* **× vs pure-Python loop** = the pure-Python loop's time ÷ this implementation's time.

Timing: :func:`time.perf_counter`, garbage collector off while a sample runs (as
:mod:`timeit` does), one warm-up call first (it compiles Numba's kernels or loads them from
Numba's cache, and is reported separately), then repeats; the median is the headline and the
minimum is kept too. Calls shorter than a millisecond are timed in batches.

The interpreted implementations (pure Python, and NumPy indexed element by element) pay an
interpreter step for every element: seconds per call at the course's cat size. They are
timed for a few calls only, sized to a time budget; where even that does not fit they are
timed on the first k of the m examples and scaled by m / k (the work is the same for every
example), and the result is marked as an estimate.

One concern per module:

* :mod:`~fastlr.bench.problems` — the sizes, the inputs, memory order;
* :mod:`~fastlr.bench.timing` — timing one implementation, within a budget if interpreted;
* :mod:`~fastlr.bench.measurement` — :class:`Measurement`, and the ratios per problem;
* :mod:`~fastlr.bench.machine` — CPU, versions, BLAS and OpenMP pools, Numba, Cython;
* :mod:`~fastlr.bench.runner` — ``fastlr bench``'s run over implementations × problems;
* :mod:`~fastlr.bench.report` — the report dict, its JSON file and its text;
* :mod:`~fastlr.bench.formatting` — times, ratios and paragraphs as the reports print them;
* :mod:`~fastlr.bench.plotting` — ``speedup.png``;
* :mod:`~fastlr.bench.progress` — the progress bar on stderr.

matplotlib (plots) and threadpoolctl (BLAS details) are optional: ``pip install "fastlr[bench]"``.
"""

from fastlr.bench.formatting import format_ratio, format_time, wrap
from fastlr.bench.machine import (
    BENCH_EXTRA_HINT,
    blas_threads,
    cython_details,
    machine_info,
    numba_details,
    package_version,
    thread_pools,
)
from fastlr.bench.measurement import PROBLEM_FIELDS, Measurement, of_problem, summarize
from fastlr.bench.plotting import plot
from fastlr.bench.problems import (
    DEFAULT_SIZES,
    SIZES,
    make_inputs,
    memory_order,
    parse_size,
    size_name,
)
from fastlr.bench.progress import Progress
from fastlr.bench.report import (
    DEFINITIONS,
    VARIANT_LABELS,
    format_columns,
    format_machine,
    format_problem_table,
    format_report,
    make_report,
    read_json,
    write_json,
)
from fastlr.bench.runner import available_pairs, load_average, measure, run
from fastlr.bench.timing import (
    CHEAP_CALL,
    PROBE_ELEMENTS,
    SlowPlan,
    plan_slow,
    probe_seconds_per_example,
    time_fast,
    time_slow,
    timed_calls,
)

__all__ = [
    "BENCH_EXTRA_HINT",
    "CHEAP_CALL",
    "DEFAULT_SIZES",
    "DEFINITIONS",
    "PROBE_ELEMENTS",
    "PROBLEM_FIELDS",
    "SIZES",
    "VARIANT_LABELS",
    "Measurement",
    "Progress",
    "SlowPlan",
    "available_pairs",
    "blas_threads",
    "cython_details",
    "format_columns",
    "format_machine",
    "format_problem_table",
    "format_ratio",
    "format_report",
    "format_time",
    "load_average",
    "machine_info",
    "make_inputs",
    "make_report",
    "measure",
    "memory_order",
    "numba_details",
    "of_problem",
    "package_version",
    "parse_size",
    "plan_slow",
    "plot",
    "probe_seconds_per_example",
    "read_json",
    "run",
    "size_name",
    "summarize",
    "thread_pools",
    "time_fast",
    "time_slow",
    "timed_calls",
    "wrap",
    "write_json",
]
