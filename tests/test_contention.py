"""The contention back-off: a parallel call slowed down by another pool's threads makes the
next calls run on the calling thread, then threads are tried again (fastlr.threads)."""

import numpy as np
import pytest

from fastlr import threads
from helpers import COMPILED, assert_close, load_or_skip, problem, reference


@pytest.fixture
def backoff(monkeypatch):
    monkeypatch.setattr(threads, "SLOW_FACTOR", 2.5)
    monkeypatch.setattr(threads, "BACKOFF_CALLS", 3)
    monkeypatch.setattr(threads, "_num_threads", 2)


def test_a_slow_parallel_call_backs_off_then_threads_come_back(backoff):
    threads.parallel_took(1000, 1e-3)  # the best seen: 1 µs per element
    assert threads.use_threads()
    threads.parallel_took(1000, 2e-3)  # 2x: noise, not contention
    assert threads.use_threads()
    threads.parallel_took(1000, 5e-3)  # 5x: contended
    assert [threads.use_threads() for _ in range(4)] == [False, False, False, True]
    threads.parallel_took(10**6, 1.0)  # another size has its own best
    assert threads.use_threads()


@pytest.mark.parametrize("backend", COMPILED)
def test_the_fused_kernel_follows_the_back_off_with_the_same_answer(backoff, backend,
                                                                    monkeypatch):
    module = load_or_skip(backend)
    w, b, X, Y = problem(40, 1600, seed=3)
    assert X.size >= module.PARALLEL_MIN_ELEMENTS
    calls = []
    monkeypatch.setattr(threads, "parallel_took",
                        lambda work, seconds: calls.append((work, seconds)))
    module.KERNELS["fused"](w, b, X, Y)
    assert len(calls) == 1 and calls[0][0] == X.size  # the parallel path, timed
    monkeypatch.setattr(threads, "_serial_left", 2)
    for _ in range(2):
        result = module.KERNELS["fused"](w, b, X, Y)  # backed off: serial, untimed
        np.testing.assert_array_equal(result[0], module.propagate_fused_chunks(w, b, X, Y, 1)[0])
        assert_close(result, reference(w, b, X, Y))
    assert len(calls) == 1
    module.KERNELS["fused"](w, b, X, Y)
    assert len(calls) == 2  # threads again
