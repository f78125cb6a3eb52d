"""Measurements and the ratios they are reported as.

A :class:`Measurement` is the times of one implementation on one problem; a problem is
what measurements are compared within (:data:`PROBLEM_FIELDS`). :func:`summarize` turns
the measurements into ratios per problem, and :func:`of_problem` gives back the
measurements of one of those summaries.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

#: the conditions a measurement is taken in, in the order reports show them: "steady" (calls
#: back to back) and "interleaved" (each right after a NumPy BLAS call: bench.timing)
CONDITIONS = ("steady", "interleaved")

#: what measurements are compared within: a summary of :func:`summarize` has these keys
#: (``condition``: "steady", or "interleaved": each call right after a NumPy BLAS call)
PROBLEM_FIELDS = ("task", "iterations", "n_x", "m", "dtype", "order", "condition")


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
    condition: str = "steady"  # or "interleaved" (fastlr.bench.timing.Interleave)
    interleave_size: int | None = None  # interleaved: the order of the NumPy M @ v
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
        """What measurements are compared within: task, iterations, size, dtype, order,
        condition."""
        return tuple(getattr(self, name) for name in PROBLEM_FIELDS)

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


#: what a summary written before a field existed means by its absence
_FIELD_DEFAULTS = {"condition": "steady"}


def of_problem(measurements, summary: dict) -> list[Measurement]:
    """The measurements of the problem that ``summary`` (one of :func:`summarize`) is about."""
    problem = tuple(summary.get(name, _FIELD_DEFAULTS.get(name)) for name in PROBLEM_FIELDS)
    return [x for x in measurements if x.problem == problem]


def summarize(measurements) -> list[dict]:
    """Ratios per problem (task, size, dtype, order, condition), in the order problems first
    appear.

    For each problem: the pure-Python loop's median (the baseline of ``vs_python_loop``),
    per backend the loop / vectorized / fused medians and
    ``vectorization_speedup = loop ÷ vectorized``, per implementation
    ``vs_python_loop = python loop ÷ this``, and the fastest implementation.
    """
    groups: dict[tuple, list[Measurement]] = {}
    for measurement in measurements:
        groups.setdefault(measurement.problem, []).append(measurement)
    summaries = []
    for problem, group in groups.items():
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
            **dict(zip(PROBLEM_FIELDS, problem)),
            "python_loop": baseline.median if baseline else None,
            "backends": backends,
            "vs_python_loop": ({x.name: baseline.median / x.median for x in group}
                               if baseline else {}),
            "fastest": {"backend": fastest.backend, "variant": fastest.variant,
                        "median": fastest.median},
        })
    return summaries


def condition_of(summary: dict) -> str:
    """A summary's condition ("steady" for one written before conditions existed)."""
    return summary.get("condition", _FIELD_DEFAULTS["condition"])


def by_condition(summaries) -> list[list[dict]]:
    """``summaries`` grouped by problem regardless of condition, in the order problems
    first appear; within a group, in the order of :data:`CONDITIONS` (steady first)."""
    groups: dict[tuple, list[dict]] = {}
    for summary in summaries:
        key = tuple(summary.get(name) for name in PROBLEM_FIELDS if name != "condition")
        groups.setdefault(key, []).append(summary)
    rank = {condition: k for k, condition in enumerate(CONDITIONS)}
    return [sorted(group, key=lambda s: rank.get(condition_of(s), len(rank)))
            for group in groups.values()]
