"""pytest-benchmark suites of fastlr: every implementation × problem size.

Not part of the default ``pytest`` run (``testpaths = ["tests"]``); run them with::

    pytest bench/                                    # measure (a few minutes)
    pytest bench/ --benchmark-json=bench.json        # ... and keep the numbers
    python bench/report.py bench.json --out DIR      # speedup table + DIR/speedup.png
    FASTLR_BENCH_QUICK=1 pytest bench/ --benchmark-disable -q   # CI smoke run: each once, small

Options (or environment variables):

``--fastlr-quick`` / ``FASTLR_BENCH_QUICK=1``
    shrink every problem (the cat size to 12288×16, tall to 100×2000, wide to 1000×200,
    cat-size training to 10 iterations) so that a smoke run takes seconds;
``--fastlr-dtype=float64,float32`` / ``FASTLR_BENCH_DTYPE``
    dtypes of X (default float64);
``--fastlr-order=F,C`` / ``FASTLR_BENCH_ORDER``
    memory orders of X (default F, the course's layout);
``--fastlr-condition=steady,interleaved`` / ``FASTLR_BENCH_CONDITION``
    the conditions of ``test_propagate`` (default both): steady (rounds back to back) and
    interleaved (a NumPy 2000×2000 matrix-vector product before each round, in
    pytest-benchmark's untimed ``setup``).

Implementations are parametrized over :data:`fastlr.registry.PAIRS`: one that is not
available here is skipped with its reason, or fails when ``FASTLR_REQUIRE_ALL=1``.
The interpreted ones (pure Python, NumPy's loop) pay an interpreter step per element: they
run a few rounds only and are skipped above :data:`SLOW_MAX_ELEMENTS` elements, saying so.
"""

from __future__ import annotations

import functools
import os

import pytest

import fastlr
from benchutil import INTERLEAVE_SIZE, OPTIMIZE_PROBLEMS, PROPAGATE_SIZES, REQUIRE_ALL
from fastlr import bench, registry, threads


def pytest_addoption(parser):
    group = parser.getgroup("fastlr benchmarks")
    group.addoption("--fastlr-quick", action="store_true", default=False,
                    help="small problems for a smoke run (also FASTLR_BENCH_QUICK=1)")
    group.addoption("--fastlr-dtype", default=None,
                    help="dtypes of X, comma-separated: float64,float32 (default float64)")
    group.addoption("--fastlr-order", default=None,
                    help="memory orders of X, comma-separated: F,C (default F)")
    group.addoption("--fastlr-condition", default=None,
                    help="conditions of the propagate benchmarks, comma-separated: "
                         "steady,interleaved (default both)")


def _list_option(config, name, env, default):
    value = config.getoption(name) or os.environ.get(env) or default
    return [part.strip() for part in value.split(",") if part.strip()]


def is_quick(config) -> bool:
    return config.getoption("--fastlr-quick") or os.environ.get("FASTLR_BENCH_QUICK") == "1"


def pytest_generate_tests(metafunc):
    config = metafunc.config
    quick = is_quick(config)
    if "pair" in metafunc.fixturenames:
        metafunc.parametrize("pair", registry.PAIRS, ids=["-".join(p) for p in registry.PAIRS])
    if "dtype" in metafunc.fixturenames:
        dtypes = _list_option(config, "--fastlr-dtype", "FASTLR_BENCH_DTYPE", "float64")
        for dtype in dtypes:
            if dtype not in ("float64", "float32"):
                raise pytest.UsageError(f"--fastlr-dtype must list float64/float32; got {dtype!r}")
        metafunc.parametrize("dtype", dtypes)
    if "order" in metafunc.fixturenames:
        orders = _list_option(config, "--fastlr-order", "FASTLR_BENCH_ORDER", "F")
        for order in orders:
            if order not in ("F", "C"):
                raise pytest.UsageError(f"--fastlr-order must list F/C; got {order!r}")
        metafunc.parametrize("order", orders)
    if "condition" in metafunc.fixturenames:
        conditions = _list_option(config, "--fastlr-condition", "FASTLR_BENCH_CONDITION",
                                  ",".join(bench.CONDITIONS))
        for condition in conditions:
            if condition not in bench.CONDITIONS:
                raise pytest.UsageError(
                    f"--fastlr-condition must list steady/interleaved; got {condition!r}")
        metafunc.parametrize("condition", conditions)
    if "propagate_size" in metafunc.fixturenames:
        metafunc.parametrize("propagate_size",
                             [quick_size if quick else size
                              for _, size, quick_size in PROPAGATE_SIZES],
                             ids=[name for name, _, _ in PROPAGATE_SIZES])
    if "optimize_problem" in metafunc.fixturenames:
        metafunc.parametrize(
            "optimize_problem",
            [(quick_size, quick_iterations) if quick else (size, iterations)
             for _, size, quick_size, iterations, quick_iterations in OPTIMIZE_PROBLEMS],
            ids=[name for name, *_ in OPTIMIZE_PROBLEMS])


@pytest.fixture(scope="session", autouse=True)
def private_autotune_cache(tmp_path_factory):
    """What fastest() reads (and tune() would save) is this session's folder, not the user's."""
    previous = os.environ.get("FASTLR_CACHE_DIR")
    os.environ["FASTLR_CACHE_DIR"] = str(tmp_path_factory.mktemp("fastlr-cache"))
    yield
    if previous is None:
        os.environ.pop("FASTLR_CACHE_DIR", None)
    else:
        os.environ["FASTLR_CACHE_DIR"] = previous


@pytest.fixture
def implementation(pair):
    """The implementation, or skip (fail under FASTLR_REQUIRE_ALL=1) with the reason."""
    try:
        return fastlr.get(*pair)
    except fastlr.BackendUnavailable as error:
        if REQUIRE_ALL:
            pytest.fail(f"FASTLR_REQUIRE_ALL=1 but {error}")
        pytest.skip(str(error))


@functools.lru_cache(maxsize=4)
def _problem(n_x, m, dtype, order):
    # built once per size (a few are alive at once: the biggest X is 80 MB), fixed seed
    return bench.make_inputs(n_x, m, dtype, order, seed=0)


@pytest.fixture(scope="session")
def interleave():
    """The interleaved condition's NumPy call (:class:`fastlr.bench.Interleave`), built once."""
    return bench.Interleave(INTERLEAVE_SIZE)


@pytest.fixture(scope="session")
def problem():
    """``problem(n_x, m, dtype, order) -> (w, b, X, Y)``, built once per size with seed 0."""
    return _problem


def pytest_benchmark_update_machine_info(config, machine_info):
    """fastlr's machine description (BLAS and its threads, Numba, Cython) in the JSON."""
    try:
        machine_info["fastlr"] = bench.machine_info()
    except Exception as error:  # never lose the benchmark results over a description
        machine_info["fastlr"] = {"error": repr(error)}


def pytest_report_header(config):
    quick = " (quick: small sizes)" if is_quick(config) else ""
    return [f"fastlr {fastlr.__version__} benchmarks{quick}; "
            f"{threads.get_num_threads()} fastlr threads, {threads.available_cores()} cores, "
            f"BLAS threads {bench.blas_threads()}"]
