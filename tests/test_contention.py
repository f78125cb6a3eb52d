"""The contention check: parallel-sized propagate calls take the path (threads, or the
calling thread alone) that has been faster lately for their size (fastlr.threads)."""

import numpy as np
import pytest

from fastlr import threads
from helpers import COMPILED, assert_close, load_or_skip, problem, reference


@pytest.fixture
def check(monkeypatch):
    """The real check (conftest replaces it), on fresh statistics."""
    monkeypatch.undo()
    monkeypatch.setattr(threads, "_paths", {})
    monkeypatch.setattr(threads, "_num_threads", 2)


def test_threads_until_slow_then_the_faster_path_and_exploration(check, monkeypatch):
    now = [0.0]
    monkeypatch.setattr(threads, "_clock", lambda: now[0])
    work = 100_000
    assert threads.use_threads(work, "b")  # nothing known: threads
    threads.took(work, 1e-3, True, "b")
    threads.took(work, 1.6e-3, True, "b")  # a slower call: noise, still threads
    assert threads.use_threads(work, "b")
    for _ in range(4):
        threads.took(work, 8e-3, True, "b")  # contended: 8x its best
    assert not threads.use_threads(work, "b")  # the serial path gets timed
    threads.took(work, 2e-3, False, "b")
    assert [threads.use_threads(work, "b") for _ in range(5)] == [False] * 5  # faster
    now[0] += 2 * threads.EXPLORE_SECONDS
    for _ in range(2):  # threads are timed again after a while, twice: the first call
        assert threads.use_threads(work, "b")  # also wakes the threads and does not count
        threads.took(work, 1e-3, True, "b")  # contention over: the new time counts
    assert not threads.use_threads(work, "b")  # (the serial time is stale too: re-timed)
    threads.took(work, 2e-3, False, "b")
    assert [threads.use_threads(work, "b") for _ in range(5)] == [True] * 5
    now[0] += 2 * threads.EXPLORE_SECONDS
    assert not threads.use_threads(work, "b")  # the serial path now and then
    assert threads.use_threads(10 * work, "b")  # another size knows nothing: threads
    assert threads.use_threads(work, "other")  # nor does another backend


@pytest.mark.parametrize("backend", COMPILED)
def test_the_fused_kernel_takes_the_path_chosen_with_the_same_answer(backend, monkeypatch):
    module = load_or_skip(backend)
    w, b, X, Y = problem(40, 1600, seed=3)
    assert X.size >= threads.PARALLEL_MIN_ELEMENTS
    monkeypatch.setattr(threads, "_num_threads", 2)
    recorded = []
    monkeypatch.setattr(threads, "took", lambda work, seconds, parallel, name: recorded.append(
        (work, parallel, name)))
    for parallel in (True, False, True):
        monkeypatch.setattr(threads, "use_threads", lambda work, name, parallel=parallel: parallel)
        result = module.KERNELS["fused"](w, b, X, Y)
        forced = module.propagate_fused_chunks(w, b, X, Y, 2 if parallel else 1)
        np.testing.assert_array_equal(result[0], forced[0])
        assert_close(result, reference(w, b, X, Y))
    assert recorded == [(X.size, True, backend), (X.size, False, backend),
                        (X.size, True, backend)]
    recorded.clear()
    module.OPTIMIZERS["fused"](w, b, X, Y, 3, 0.1)  # training always threads, untimed
    assert recorded == []
