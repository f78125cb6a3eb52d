"""The L1 shapes of ``fastlr bench --fit`` (fastlr.bench.fit_l1): tiny data, fast."""

import importlib.util
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from fastlr import cli
from fastlr.bench import fit_l1

PEERS = ("snapml", "skglm", "celer", "liblinear")


def installed(module):
    return importlib.util.find_spec(module) is not None


def test_l1_objective_is_a_direct_numpy_computation():
    import scipy.sparse

    rng = np.random.default_rng(1)
    X = rng.standard_normal((70, 6))
    y = rng.integers(0, 2, 70)
    w = rng.standard_normal(6)
    signs = np.where(y == 1, 1.0, -1.0)
    expected = 0.3 * np.sum(np.log1p(np.exp(-signs * (X @ w)))) + np.sum(np.abs(w))
    assert fit_l1.l1_objective(w, X, y, 0.3) == pytest.approx(expected, rel=1e-13)
    sparse = scipy.sparse.csr_matrix(X)
    assert fit_l1.l1_objective(w, sparse, y, 0.3) == pytest.approx(expected, rel=1e-13)
    assert fit_l1.l1_objective(np.zeros(6), X, y, 2.0) == pytest.approx(140 * np.log(2.0))


def test_make_l1_problem_shape_and_true_support():
    X, y, w_true = fit_l1.make_l1_problem(3000, 40, 7)
    assert X.shape == (3000, 40) and X.dtype == np.float64 and y.shape == (3000,)
    assert set(np.unique(y)) == {0, 1}
    assert np.count_nonzero(w_true) == 7
    X2, y2, w2 = fit_l1.make_l1_problem(3000, 40, 7)  # seed 0: reproducible
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(w_true, w2)
    assert fit_l1.L1_SHAPES["l1-100000x1000"] == (100_000, 1000, 50, 0.001)
    assert fit_l1.L1_SHAPES["l1-flights"] == ("flights", 0.01)


def test_shape_names_are_routed():
    parser = cli.build_parser()
    for shape in ("l1-100000x1000", "l1-flights", "l1-small"):
        assert parser.parse_args(["bench", "--fit", "--shapes", shape]).shapes == [shape]
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "--fit", "--shapes", "l1-nonesuch"])


def test_fit_cli_runs_an_l1_shape_with_fastlr_and_sklearn_only(monkeypatch, capsys):
    pytest.importorskip("sklearn")
    monkeypatch.setitem(fit_l1.L1_SHAPES, "l1-tiny", (600, 8, 3, 0.1))
    for peer in PEERS:  # as if not installed
        monkeypatch.setitem(sys.modules, peer, None)
    monkeypatch.setattr(fit_l1, "WARM_UP_ROWS", 100)
    assert cli.main(["bench", "--fit", "--shapes", "l1-tiny", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "L1 fit benchmark" in out and "### l1-tiny, float64" in out
    rows = {line.split(" | ")[0][2:]: line for line in out.splitlines()
            if line.startswith("| ") and not line.startswith("| contender")}
    assert "non-zero coefficients" in rows["fastlr (OWL-QN)"]
    assert "did not reach" not in rows["fastlr (OWL-QN)"]
    assert "non-zero coefficients" in rows["sklearn liblinear"]
    assert "not installed" in rows["Snap ML"] and "not installed" in rows["celer"]
    assert "snapml" not in sys.modules or sys.modules["snapml"] is None


def _reference(X, y, C):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(l1_ratio=1.0, C=C, solver="liblinear", fit_intercept=False,
                               tol=1e-10, max_iter=10000).fit(X, y)
    return fit_l1.l1_objective(model.coef_, X, y, C)


@pytest.mark.parametrize("peer", ["fastlr (OWL-QN)", "skglm", "celer", "LIBLINEAR -s 6"])
def test_each_mapping_reaches_the_same_objective(peer):
    pytest.importorskip("sklearn")
    module = {"skglm": "skglm", "celer": "celer", "LIBLINEAR -s 6": "liblinear"}.get(peer)
    if module and not installed(module):
        pytest.skip(f"{module} is not installed")
    X, y, _ = fit_l1.make_l1_problem(800, 12, 4)
    C = 0.05
    contender = next(c for c in fit_l1.contenders(C, X.shape[0], 1) if c.name == peer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skglm's NumbaPerformanceWarning, convergence
        coef, _ = contender.fit(X, y, 1e-10, 10000)
    assert fit_l1.l1_objective(coef, X, y, C) == pytest.approx(_reference(X, y, C), rel=1e-6)


@pytest.mark.skipif(not installed("snapml"), reason="snapml is not installed")
def test_snapml_mapping_in_a_subprocess():
    pytest.importorskip("sklearn")
    code = textwrap.dedent("""
        from fastlr.bench import fit_l1
        from sklearn.linear_model import LogisticRegression
        X, y, _ = fit_l1.make_l1_problem(800, 12, 4)
        C = 0.05
        ref = LogisticRegression(l1_ratio=1.0, C=C, solver="liblinear", fit_intercept=False,
                                 tol=1e-10, max_iter=10000).fit(X, y)
        snap = next(c for c in fit_l1.contenders(C, 800, 1) if c.name == "Snap ML")
        coef, _ = snap.fit(X, y, 1e-8, 10000)
        a, b = fit_l1.l1_objective(coef, X, y, C), fit_l1.l1_objective(ref.coef_, X, y, C)
        print((a - b) / b)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert abs(float(result.stdout.split()[-1])) < 1e-6
