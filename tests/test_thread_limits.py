"""fastlr's threads obey the user's limits: OMP_NUM_THREADS, threadpoolctl, joblib's workers,
the CPU affinity and the cgroup CPU quota (fastlr.threads.default_threads)."""

import json
import os
import subprocess
import sys

import pytest

import fastlr
from fastlr import threads
from helpers import load_model_or_skip

pytest.importorskip("sklearn")
pytest.importorskip("threadpoolctl")

#: a fit long enough (~0.3-1 s) that a second thread would show in CPU time ÷ wall time
FIT_CHILD = r"""
import json, resource, sys, time
import numpy as np
import fastlr

rng = np.random.default_rng(0)
X = rng.standard_normal((200_000, 50))
y = (X[:, 0] + rng.standard_normal(200_000) > 0).astype(int)
estimator = fastlr.LogisticRegression(C=1.0, tol=1e-10, max_iter=40)


def fit():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    estimator.fit(X, y)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return {"threads": estimator.fit_stats_["threads"], "cpu_over_wall": cpu / wall,
            "get_num_threads": fastlr.get_num_threads()}


if sys.argv[1] == "threadpool_limits":
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        result = fit()
else:
    result = fit()
print(json.dumps(result))
"""


def run_child(how, tmp_path, **env_changes):
    env = {**os.environ, **env_changes}
    for name in ("OMP_NUM_THREADS",) if how == "threadpool_limits" else ():
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", FIT_CHILD, how], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(240)
@pytest.mark.parametrize("how", ["OMP_NUM_THREADS=1", "threadpool_limits"])
def test_a_fit_runs_one_thread_under_the_users_limit(how, tmp_path):
    load_model_or_skip("auto")
    changes = {"OMP_NUM_THREADS": "1"} if how.startswith("OMP") else {}
    result = run_child(how, tmp_path, **changes)
    assert result["get_num_threads"] == 1
    assert result["threads"] == 1
    # a second thread (fastlr's, or BLAS's) would push this towards 2
    assert result["cpu_over_wall"] <= 1.1, result


def threads_of_the_fit(estimator, X, y):
    """A GridSearchCV scorer: how many threads the fit just made planned to use."""
    return estimator.fit_stats_["threads"]


@pytest.mark.timeout(240)
def test_each_joblib_worker_of_a_grid_search_runs_one_thread():
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV

    load_model_or_skip("auto")
    X, y = make_classification(n_samples=5000, n_features=20, random_state=0)
    assert 0.8 * X.size >= threads.PARALLEL_MIN_ELEMENTS  # the folds are parallel-sized
    search = GridSearchCV(fastlr.LogisticRegression(), {"C": [0.1, 1.0]}, cv=2, n_jobs=2,
                          scoring=threads_of_the_fit)
    search.fit(X, y)
    # two workers on a 2-core machine: joblib gives each 1 thread (OMP_NUM_THREADS in them)
    expected = max(1, threads.available_cores() // 2)
    assert list(search.cv_results_["mean_test_score"]) == [expected, expected]


def test_in_process_threadpool_limits_and_set_num_threads_override(monkeypatch):
    from threadpoolctl import threadpool_limits

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    default = fastlr.get_num_threads()
    with threadpool_limits(1):
        assert fastlr.get_num_threads() == 1
        fastlr.set_num_threads(3)
        try:
            assert fastlr.get_num_threads() == 3  # set_num_threads overrides the limits
        finally:
            fastlr.set_num_threads(None)
    assert fastlr.get_num_threads() == default
    # read once, at import, as the OpenMP runtime reads it: a later change (dask's nannies
    # set OMP_NUM_THREADS=1 in the client's process) changes neither
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert fastlr.get_num_threads() == default
    assert threads._omp_num_threads("1,1") == 1  # a list: its first value counts
    assert threads._omp_num_threads("x") is threads._omp_num_threads("0") is None


@pytest.mark.parametrize("files, expected", [
    ({"0::/box": "", "box/cpu.max": "150000 100000"}, 2),  # v2: 1.5 cores -> 2 threads
    ({"0::/box": "", "box/cpu.max": "max 100000", "cpu.max": "100000 100000"}, 1),  # parent
    ({"0::/box": "", "box/cpu.max": "max 100000"}, None),  # no quota
    ({"3:cpu,cpuacct:/": "", "cpu,cpuacct/cpu.cfs_quota_us": "300000",
      "cpu,cpuacct/cpu.cfs_period_us": "100000"}, 3),  # v1
    ({"3:cpu,cpuacct:/": "", "cpu,cpuacct/cpu.cfs_quota_us": "-1",
      "cpu,cpuacct/cpu.cfs_period_us": "100000"}, None),  # v1 without a quota
    ({"0::/box": "", "box/cpu.max": "garbage"}, None),
])
def test_the_cgroup_cpu_quota_caps_the_threads(files, expected, tmp_path, monkeypatch):
    root = tmp_path / "cgroup"
    groups = [name for name in files if ":" in name]
    for name, content in files.items():
        if ":" not in name:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(content + "\n")
    (tmp_path / "cgroup-of-self").write_text("".join(g + "\n" for g in groups))
    monkeypatch.setattr(threads, "CGROUP_ROOT", root)
    monkeypatch.setattr(threads, "PROC_CGROUP", tmp_path / "cgroup-of-self")
    monkeypatch.setattr(threads, "_quota", threads._UNKNOWN)
    try:
        assert threads.cpu_quota() == expected
        if expected is not None:
            assert fastlr.get_num_threads() <= expected
    finally:
        monkeypatch.setattr(threads, "_quota", threads._UNKNOWN)
