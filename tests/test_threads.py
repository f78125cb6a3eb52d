"""fastlr's thread setting and its OpenMP configuration."""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastlr
from fastlr import threads
from helpers import COMPILED, get_or_skip, random_problem


def test_default_is_what_openmp_would_use_within_the_cores_this_process_has():
    assert fastlr.get_num_threads() == threads.default_threads()
    assert 1 <= fastlr.get_num_threads() <= threads.available_cores()
    assert threads.available_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("backend", COMPILED)
def test_set_num_threads_round_trip_and_same_results(backend):
    impl = get_or_skip(backend, "fused")
    w, b, X, Y = random_problem(300, 400, seed=3)  # above the parallel threshold
    reference = fastlr.get("python", "loop").propagate(w, b, X, Y)
    try:
        for n in (1, 2, 5):
            fastlr.set_num_threads(n)
            assert fastlr.get_num_threads() == n
            grads, cost = impl.propagate(w, b, X, Y)
            np.testing.assert_allclose(grads["dw"], reference[0]["dw"], rtol=1e-12, atol=1e-15)
            assert cost == pytest.approx(reference[1], rel=1e-12)
    finally:
        fastlr.set_num_threads(None)
    assert fastlr.get_num_threads() == threads.default_threads()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises((TypeError, ValueError), match="n_threads"):
        fastlr.set_num_threads(bad)


def _spincount_after_loading(extra_env, cwd):
    env = {k: v for k, v in os.environ.items()
           if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(extra_env)
    code = ("import os, fastlr; fastlr.get('cython', 'fused'); "
            "print(os.environ.get('GOMP_SPINCOUNT'))")
    # run elsewhere than the source tree: `python -c` puts the working directory first on
    # sys.path, and the source tree's fastlr has no compiled extension
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, cwd=cwd, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_idle_openmp_spinning_is_bounded_unless_the_user_chose(tmp_path):
    get_or_skip("cython", "fused")
    assert _spincount_after_loading({}, tmp_path) == threads.GOMP_SPINCOUNT
    assert _spincount_after_loading({"GOMP_SPINCOUNT": "77"}, tmp_path) == "77"
    assert _spincount_after_loading({"OMP_WAIT_POLICY": "active"}, tmp_path) == "None"
