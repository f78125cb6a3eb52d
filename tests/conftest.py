"""Shared fixtures: every implementation the registry knows, and the course's data.

Implementations join the tests by registration alone: the ``implementation`` fixture is
parametrized over ``fastlr.registry.PAIRS``. One that is unavailable here is skipped with
its reason — unless ``FASTLR_REQUIRE_ALL=1`` (set by ``.ci/run``), where it fails.
Helpers that are not fixtures are in helpers.py (``from helpers import ...``).
"""

import os

import pytest

from fastlr import registry, threads
from helpers import COURSE_DATA, FAST_PAIRS, get_or_skip, pair_id


@pytest.fixture(autouse=True, scope="session")
def private_autotune_cache(tmp_path_factory):
    """What fastest() reads and tune() saves is a folder of this test session, not the user's."""
    previous = os.environ.get("FASTLR_CACHE_DIR")
    os.environ["FASTLR_CACHE_DIR"] = str(tmp_path_factory.mktemp("fastlr-cache"))
    yield
    if previous is None:
        del os.environ["FASTLR_CACHE_DIR"]
    else:
        os.environ["FASTLR_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def parallel_path_when_parallel_sized(monkeypatch):
    """Tests choose the serial or parallel path themselves: the contention check
    (fastlr.threads, which times parallel-sized calls) would make that depend on the
    machine's load. tests/test_contention.py tests it."""
    monkeypatch.setattr(threads, "use_threads", lambda work, backend: True)
    monkeypatch.setattr(threads, "_paths", {})


@pytest.fixture(params=registry.PAIRS, ids=pair_id)
def implementation(request):
    return get_or_skip(*request.param)


@pytest.fixture(params=FAST_PAIRS, ids=pair_id)
def fast_implementation(request):
    """Implementations quick enough for the course's cat data (not ``registry.INTERPRETED``)."""
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
