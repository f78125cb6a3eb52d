"""What vectorization buys, measured: the logic behind ``fastlr bench`` and ``bench/report.py``.

Every available implementation (:func:`fastlr.implementations`) is timed on the same
problem; the results are turned into ratios to named baselines:

* **vectorization speedup** = loop time ÷ vectorized time, within one backend;
* **× vs pure-Python loop** = the pure-Python loop's time ÷ this implementation's time.

Timing: :func:`time.perf_counter`, garbage collector off while a sample runs (as
:mod:`timeit` does), one warm-up call first (it compiles Numba's kernels or loads them from
Numba's cache, and is reported separately), then repeats; the median is the headline and the
minimum is kept too. Calls shorter than a millisecond are timed in batches.

Two conditions: *steady* (the calls back to back) and *interleaved* (each call right after
a NumPy BLAS call, :class:`Interleave`, standing for the user's own code between two of
fastlr's calls; its time is not counted). A problem's summary is per condition.

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
* :mod:`~fastlr.bench.scaling` — ``fastlr bench --scaling``: time against problem size;
* :mod:`~fastlr.bench.plotting` — ``speedup.png``, ``scaling.png``;
* :mod:`~fastlr.bench.progress` — the progress bar on stderr.

matplotlib (plots) and threadpoolctl (BLAS details) are optional:
``pip install "fastlr-vectorized[bench]"``.
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
from fastlr.bench.measurement import (
    CONDITIONS,
    PROBLEM_FIELDS,
    Measurement,
    by_condition,
    condition_of,
    of_problem,
    summarize,
)
from fastlr.bench.plotting import plot, plot_scaling
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
    format_comparison,
    format_machine,
    format_problem_table,
    format_report,
    make_report,
    read_json,
    write_json,
)
from fastlr.bench.runner import available_pairs, load_average, measure, run
from fastlr.bench.scaling import (
    cache_sizes,
    default_max_elements,
    estimate_seconds,
    format_scaling,
    run_scaling,
    scaling_shapes,
)
from fastlr.bench.timing import (
    CHEAP_CALL,
    INTERLEAVE_SIZE,
    INTERLEAVED_CALLS,
    PROBE_ELEMENTS,
    Interleave,
    SlowPlan,
    describe_interleave,
    interleaved_calls,
    plan_slow,
    probe_seconds_per_example,
    time_fast,
    time_interleaved,
    time_slow,
    timed_calls,
)

__all__ = [
    "BENCH_EXTRA_HINT",
    "CHEAP_CALL",
    "CONDITIONS",
    "DEFAULT_SIZES",
    "DEFINITIONS",
    "INTERLEAVED_CALLS",
    "INTERLEAVE_SIZE",
    "PROBE_ELEMENTS",
    "PROBLEM_FIELDS",
    "SIZES",
    "VARIANT_LABELS",
    "Interleave",
    "Measurement",
    "Progress",
    "SlowPlan",
    "available_pairs",
    "blas_threads",
    "by_condition",
    "cache_sizes",
    "condition_of",
    "cython_details",
    "default_max_elements",
    "describe_interleave",
    "estimate_seconds",
    "format_columns",
    "format_comparison",
    "format_machine",
    "format_problem_table",
    "format_ratio",
    "format_report",
    "format_scaling",
    "format_time",
    "interleaved_calls",
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
    "plot_scaling",
    "probe_seconds_per_example",
    "read_json",
    "run",
    "run_scaling",
    "scaling_shapes",
    "size_name",
    "summarize",
    "thread_pools",
    "time_fast",
    "time_interleaved",
    "time_slow",
    "timed_calls",
    "wrap",
    "write_json",
]
