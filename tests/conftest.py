"""Shared fixtures: every implementation the registry knows, and the course's data.

Implementations join the tests by registration alone: the ``implementation`` fixture is
parametrized over ``fastlr.registry.PAIRS``. One that is unavailable here is skipped with
its reason — unless ``FASTLR_REQUIRE_ALL=1`` (set by ``.ci/run``), where it fails.
"""

import os
from pathlib import Path

import numpy as np
import pytest

import fastlr
from fastlr import registry

REQUIRE_ALL = os.environ.get("FASTLR_REQUIRE_ALL") == "1"


@pytest.fixture(autouse=True, scope="session")
def private_autotune_cache(tmp_path_factory):
    """fastest()'s measurements go to a folder of this test session, not the user's cache."""
    previous = os.environ.get("FASTLR_CACHE_DIR")
    os.environ["FASTLR_CACHE_DIR"] = str(tmp_path_factory.mktemp("fastlr-cache"))
    yield
    if previous is None:
        del os.environ["FASTLR_CACHE_DIR"]
    else:
        os.environ["FASTLR_CACHE_DIR"] = previous

#: the course's data folder, beside the project as ../shared/data (or FASTLR_COURSE_DATA)
COURSE_DATA = Path(
    os.environ.get("FASTLR_COURSE_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)

#: interpreted loops cost ~0.2-1 µs per element and iteration: keep them to small problems
SLOW = {("python", "loop"), ("python", "vectorized"), ("numpy", "loop")}


def pair_id(pair):
    return "-".join(pair)


def get_or_skip(backend, variant):
    """The implementation, or skip (fail under FASTLR_REQUIRE_ALL=1) with the reason."""
    try:
        return fastlr.get(backend, variant)
    except fastlr.BackendUnavailable as error:
        if REQUIRE_ALL:
            pytest.fail(f"FASTLR_REQUIRE_ALL=1 but {error}")
        pytest.skip(str(error))


@pytest.fixture(params=registry.PAIRS, ids=pair_id)
def implementation(request):
    return get_or_skip(*request.param)


@pytest.fixture(params=[p for p in registry.PAIRS if p not in SLOW], ids=pair_id)
def fast_implementation(request):
    """Implementations quick enough for the course's cat data (12288 × 209, 2000 iterations)."""
    return get_or_skip(*request.param)


@pytest.fixture(scope="session")
def reference():
    """The reference kernel: the pure-Python loop, written to be obviously right."""
    from fastlr.backends import python_

    return python_.propagate_loop


@pytest.fixture(scope="session")
def course_data():
    if not (COURSE_DATA / "train_catvnoncat.h5").is_file():
        pytest.skip(f"the course's data is not at {COURSE_DATA} (set FASTLR_COURSE_DATA)")
    pytest.importorskip("h5py", reason="reading the course's data needs h5py")
    from fastlr import datasets

    return datasets.load_catvnoncat(COURSE_DATA)


def random_problem(n_x, m, seed, order="F", dtype=np.float64, scale=1.0):
    """Course-shaped (w, b, X, Y) from a seeded generator."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_x, 1)) * scale
    b = float(rng.standard_normal())
    X = np.asarray(rng.standard_normal((n_x, m)), order=order).astype(dtype, order=order)
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return w, b, X, Y


def python_loop(kernel, w, b, X, Y, num_iterations, learning_rate):
    """The course's gradient descent in Python over a kernel ``(w, b, X, Y) -> (dw, db, cost)``:
    what a backend's compiled training loop must return."""
    costs = []
    for i in range(num_iterations):
        dw, db, cost = kernel(w, b, X, Y)
        w = w - learning_rate * dw
        b = b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
    return w, b, dw, db, costs
