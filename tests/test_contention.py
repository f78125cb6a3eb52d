"""The contention check (fastlr.threads): a parallel call slowed by another pool's threads
sends the next calls of its size to the calling thread for a while."""

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


def test_a_contended_parallel_call_backs_off_to_the_calling_thread(check, monkeypatch):
    now = [0.0]
    monkeypatch.setattr(threads, "_clock", lambda: now[0])
    work = 100_000
    assert not threads.use_threads(work, "b")  # nothing known: one serial call, timed
    threads.took(work, 2e-3, False, "b")
    assert threads.use_threads(work, "b")  # then threads
    for _ in range(threads.WARMUP_CALLS):  # the first calls start the team: not samples
        threads.took(work, 50e-3, True, "b")
    assert threads.use_threads(work, "b")
    threads.took(work, 1e-3, True, "b")
    threads.took(work, 1.6e-3, True, "b")  # slower, still faster than serial: threads
    threads.took(work, 2.4e-3, True, "b")  # slower than serial by less than a wake-up
    assert threads.use_threads(work, "b")
    for _ in range(threads.SLOW_CALLS - 1):  # slower than serial by more: a wake-up, or...
        threads.took(work, 3e-3, True, "b")
        assert threads.use_threads(work, "b")
    threads.took(work, 1e-3, True, "b")  # ...(fast again: it was)
    for _ in range(threads.SLOW_CALLS):
        threads.took(work, 3e-3, True, "b")  # SLOW_CALLS in a row: contended
    assert not threads.use_threads(work, "b")
    now[0] += 0.9 * threads.BACKOFF_SECONDS
    assert not threads.use_threads(work, "b")
    now[0] += 0.2 * threads.BACKOFF_SECONDS
    assert threads.use_threads(work, "b")  # tried again after the backoff
    for _ in range(threads.SLOW_CALLS):
        threads.took(work, 6e-3, True, "b")  # still contended: twice as long a wait
    now[0] += 1.5 * threads.BACKOFF_SECONDS
    assert not threads.use_threads(work, "b")
    now[0] += 0.6 * threads.BACKOFF_SECONDS
    assert threads.use_threads(work, "b")
    threads.took(work, 1.1e-3, True, "b")  # contention over: threads, the backoff reset
    assert threads.use_threads(work, "b")
    assert threads._paths["b", work.bit_length()].backoff == threads.BACKOFF_SECONDS
    for _ in range(10 * threads.SLOW_CALLS):  # a user who keeps calling NumPy: the wait
        threads.took(work, 9e-3, True, "b")  # grows, up to a cap
    assert threads._paths["b", work.bit_length()].backoff == threads.MAX_BACKOFF_SECONDS
    assert not threads.use_threads(10 * work, "b")  # another size: its own serial call
    assert not threads.use_threads(work, "other")  # and another key


def test_the_parallel_best_alone_marks_a_call_contended_too(check):
    work = 100_000
    threads.took(work, 9e-3, False, "c")  # a slow serial call (a busy moment)
    for _ in range(threads.WARMUP_CALLS):
        threads.took(work, 1e-3, True, "c")
    threads.took(work, 1e-3, True, "c")
    for _ in range(threads.SLOW_CALLS):  # faster than that serial call, but 2.6x its best
        threads.took(work, 2.6e-3, True, "c")
    assert not threads.use_threads(work, "c")


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
