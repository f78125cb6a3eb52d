"""fastlr.LogisticRegression on dask arrays: on a LocalCluster of 2 worker processes and on
dask's local threaded scheduler, against the same fit on the NumPy array. Every test has a
timeout (pytest-timeout): a cluster that stops answering fails the test, not CI."""

import os
import signal

import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

import fastlr
from fastlr import on_dask
from helpers import sklearn_objective as objective

LR = fastlr.LogisticRegression
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def cluster():
    # the nannies set their workers' variables (OMP_NUM_THREADS=1, ...) in this process's
    # environment before spawning them: later tests' subprocesses must not inherit them
    environment = dict(os.environ)
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster:
            yield cluster
    finally:
        os.environ.clear()
        os.environ.update(environment)


@pytest.fixture
def client(cluster):
    with Client(cluster) as client:  # the default client while the test runs
        yield client


def problem(m=6000, n=12, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)).astype(dtype)
    y = (X[:, :3].sum(axis=1) + rng.standard_normal(m) > 0.3).astype(int)
    return X, y


CHUNKS = {"equal": 1000, "unequal": (700, 1300, 2500, 1, 1499)}


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
@pytest.mark.parametrize("chunks", CHUNKS, ids=list(CHUNKS))
def test_cluster_fit_equals_the_numpy_fit(client, solver, chunks):
    X, y = problem()
    Xd = da.from_array(X, chunks=(CHUNKS[chunks], -1)).persist()
    ours = LR(solver=solver, tol=1e-10).fit(Xd, da.from_array(y, chunks=CHUNKS[chunks]))
    local = LR(solver=solver, tol=1e-10).fit(X, y)
    assert ours.fit_stats_["workers"] == 2 and ours.fit_stats_["persisted"]
    assert ours.solver_ == solver and ours.coef_.shape == (1, 12)
    np.testing.assert_allclose(objective(ours, X, y), objective(local, X, y), rtol=1e-10)
    np.testing.assert_allclose(ours.coef_, local.coef_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cluster_fit_with_weights_and_float32(client, dtype):
    X, y = problem(dtype=dtype, seed=1)
    sw = np.random.default_rng(2).uniform(0.1, 3.0, len(y))
    Xd = da.from_array(X, chunks=(1500, -1)).persist()
    ours = LR(tol=1e-10).fit(Xd, y, sample_weight=da.from_array(sw, chunks=1500))
    local = LR(tol=1e-10).fit(X, y, sample_weight=sw)
    assert ours.coef_.dtype == dtype
    np.testing.assert_allclose(objective(ours, X, y, sw), objective(local, X, y, sw),
                               rtol=1e-10)


def test_local_threaded_scheduler_without_a_client():
    X, y = problem(seed=3)
    for Xd in (da.from_array(X, chunks=(1000, -1)).persist(),
               da.from_array(X, chunks=(2048, -1))):
        for solver in ("lbfgs", "newton-cg"):
            ours = LR(solver=solver, tol=1e-10).fit(Xd, y)
            local = LR(solver=solver, tol=1e-10).fit(X, y)
            np.testing.assert_allclose(objective(ours, X, y), objective(local, X, y),
                                       rtol=1e-10)


def test_lazy_predictions_equal_numpys(client):
    X, y = problem(seed=4)
    labels = np.where(y == 1, "cat", "non-cat")
    Xd = da.from_array(X, chunks=(1700, -1)).persist()
    model = LR().fit(Xd, labels)
    local = LR().fit(X, labels)
    for method in ("decision_function", "predict", "predict_proba", "predict_log_proba"):
        lazy = getattr(model, method)(Xd)
        assert isinstance(lazy, da.Array), method
        expected = getattr(local, method)(X)
        if method == "predict":
            np.testing.assert_array_equal(lazy.compute(), expected)
        else:
            np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-7, atol=1e-9)
    with pytest.raises(ValueError, match="X has 11 features, but LogisticRegression is "
                                         "expecting 12 features"):
        model.predict(Xd[:, 1:])


def test_a_worker_killed_mid_fit_still_gives_the_optimum(client, monkeypatch):
    X, y = problem(m=20_000, seed=5)
    Xd = da.from_array(X, chunks=(2000, -1)).persist()
    evaluate = on_dask.DaskBinary.loss_gradient
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_at_the_third(self, x, hessian=False):
        if self.evaluations == 2 and not killed:
            os.kill(pids[0], signal.SIGKILL)  # the nanny starts a new worker
            killed.append(pids[0])
        return evaluate(self, x, hessian)

    monkeypatch.setattr(on_dask.DaskBinary, "loss_gradient", kill_at_the_third)
    ours = LR(solver="newton-cg", tol=1e-10).fit(Xd, y)
    assert killed and ours.fit_stats_["evaluations"] > 3
    local = LR(solver="newton-cg", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(objective(ours, X, y), objective(local, X, y), rtol=1e-10)


def test_unpersisted_X_works_and_says_so(client, capsys):
    X, y = problem(seed=6)
    ours = LR(verbose=1, tol=1e-10).fit(da.from_array(X, chunks=(1500, -1)), y)
    assert "X is not persisted" in capsys.readouterr().out
    assert not ours.fit_stats_["persisted"]
    np.testing.assert_allclose(objective(ours, X, y),
                               objective(LR(tol=1e-10).fit(X, y), X, y), rtol=1e-10)


def test_chunking_errors_say_what_to_do():
    X, y = problem(seed=7)
    Xd = da.from_array(X, chunks=(1000, -1))
    unknown = Xd[Xd[:, 0] > -100]  # boolean indexing: chunk sizes unknown
    with pytest.raises(ValueError, match="unknown chunk sizes.*compute_chunk_sizes"):
        LR().fit(unknown, y)
    known = unknown.compute_chunk_sizes()
    assert LR().fit(known, y).coef_.shape == (1, 12)
    with pytest.raises(ValueError, match=r"one chunk along the features: X.rechunk"):
        LR().fit(da.from_array(X, chunks=(1000, 5)), y)
    with pytest.raises(ValueError, match="two classes"):
        LR().fit(Xd, np.arange(len(y)) % 3)
    with pytest.raises(ValueError, match="newton-gram"):
        LR(solver="newton-gram").fit(Xd, y)
    bad = da.from_array(np.where(np.arange(X.size).reshape(X.shape) == 77, np.nan, X),
                        chunks=(1000, -1))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LR().fit(bad, y)


def test_import_fastlr_does_not_import_dask():
    import subprocess
    import sys

    code = ("import sys, numpy, fastlr\n"
            "fastlr.LogisticRegression().fit(numpy.eye(4), [0, 1, 0, 1])\n"
            "assert 'dask' not in sys.modules and 'distributed' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
def test_sparse_chunks_fit_on_the_cluster_as_in_memory(client, solver):
    from scipy import sparse

    X, y = problem()
    X[np.abs(X) < 1.0] = 0.0  # two thirds zeros
    csr = sparse.csr_matrix(X)
    Xd = da.from_array(csr, chunks=(1000, -1), asarray=False).persist()
    ours = LR(solver=solver, tol=1e-10).fit(Xd, da.from_array(y, chunks=1000))
    local = LR(solver=solver, tol=1e-10).fit(csr, y)
    assert ours.fit_stats_["workers"] == 2
    np.testing.assert_allclose(objective(ours, X, y), objective(local, X, y), rtol=1e-10)
    # in memory, a sparse X's newton-cg is preconditioned (dask's is not): the same
    # optimum by another path, coefficients equal to ~1e-9
    np.testing.assert_allclose(ours.predict_proba(Xd).compute(), local.predict_proba(csr),
                               rtol=1e-6)
