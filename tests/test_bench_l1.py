"""The L1, elastic-net and path shapes of ``fastlr bench --fit`` (fastlr.bench.fit_l1,
fastlr.bench.fit_l1_path): tiny data, fast."""

import importlib.util
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from fastlr import cli
from fastlr.bench import fit_l1, fit_l1_path, fit_sparse
from fastlr.bench.fit_sparse import Fit, Ladder

PEERS = ("snapml", "skglm", "celer", "liblinear", "glum")


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
    # elastic net: ρ‖w‖₁ + ½(1 − ρ)‖w‖²
    loss = 0.3 * np.sum(np.log1p(np.exp(-signs * (X @ w))))
    net = loss + 0.25 * np.sum(np.abs(w)) + 0.5 * 0.75 * np.sum(w ** 2)
    assert fit_l1.l1_objective(w, X, y, 0.3, rho=0.25) == pytest.approx(net, rel=1e-13)
    assert fit_l1.l1_objective(w, sparse, y, 0.3, 0.25) == pytest.approx(net, rel=1e-13)
    assert net != pytest.approx(expected, rel=1e-3)  # the penalty does change it


def test_make_l1_problem_shape_and_true_support():
    X, y, w_true = fit_l1.make_l1_problem(3000, 40, 7)
    assert X.shape == (3000, 40) and X.dtype == np.float64 and y.shape == (3000,)
    assert set(np.unique(y)) == {0, 1}
    assert np.count_nonzero(w_true) == 7
    X2, y2, w2 = fit_l1.make_l1_problem(3000, 40, 7)  # seed 0: reproducible
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(w_true, w2)
    assert fit_l1.L1_SHAPES["l1-100000x1000"] == (100_000, 1000, 50, 0.001, 1.0)
    assert fit_l1.L1_SHAPES["l1-flights"] == ("flights", 0.01, 1.0)
    assert fit_l1.L1_SHAPES["en-100000x1000"] == (100_000, 1000, 50, 0.001, 0.5)
    assert fit_l1.L1_SHAPES["en-flights"] == ("flights", 0.01, 0.5)
    assert set(fit_l1.DEFAULT_L1) == {"l1-100000x1000", "l1-flights", "en-100000x1000",
                                      "en-flights"}
    assert fit_l1_path.PATH_SHAPES["path-100000x1000"] == ("l1-100000x1000", 0.001)
    assert fit_l1_path.PATH_SHAPES["path-flights"] == ("l1-flights", None)
    assert fit_l1_path.N_CS == 20


def test_shape_names_are_routed():
    parser = cli.build_parser()
    for shape in ("l1-100000x1000", "l1-flights", "l1-small", "en-100000x1000", "en-flights",
                  "en-small", "path-100000x1000", "path-flights", "path-small"):
        assert parser.parse_args(["bench", "--fit", "--shapes", shape]).shapes == [shape]
    for shape in ("l1-nonesuch", "path-nonesuch"):
        with pytest.raises(SystemExit):
            parser.parse_args(["bench", "--fit", "--shapes", shape])


def test_reference_is_liblinear_for_l1_and_skglm_else_saga_for_elastic_net():
    names = ["fastlr", "sklearn liblinear", "sklearn saga", "skglm"]
    assert fit_l1.reference(1.0, names) == "sklearn liblinear"
    assert fit_l1.reference(0.5, names) == "skglm"
    assert fit_l1.reference(0.5, ["fastlr", "sklearn saga"]) == "sklearn saga"
    assert fit_l1.reference(0.5, ["fastlr"]) is None


def test_fit_cli_runs_an_l1_shape_with_fastlr_and_sklearn_only(monkeypatch, capsys):
    pytest.importorskip("sklearn")
    monkeypatch.setitem(fit_l1.L1_SHAPES, "l1-tiny", (600, 8, 3, 0.1, 1.0))
    for peer in PEERS:  # as if not installed
        monkeypatch.setitem(sys.modules, peer, None)
    monkeypatch.setattr(fit_l1, "WARM_UP_ROWS", 100)
    assert cli.main(["bench", "--fit", "--shapes", "l1-tiny", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "L1 fit benchmark" in out and "### l1-tiny, float64" in out
    rows = table_rows(out)
    assert "non-zero coefficients" in rows["fastlr"] and "solver_=" in rows["fastlr"]
    assert "did not reach" not in rows["fastlr"]
    assert "non-zero coefficients" in rows["sklearn liblinear"]
    assert "non-zero coefficients" in rows["sklearn saga"]
    assert "not installed" in rows["Snap ML"] and "not installed" in rows["celer"]
    assert "not installed" in rows["glum"]
    assert "snapml" not in sys.modules or sys.modules["snapml"] is None


def table_rows(out):
    """contender -> its table line, of every table in ``out``."""
    return {line.split(" | ")[0][2:]: line for line in out.splitlines()
            if line.startswith("| ") and not line.startswith("| contender")}


def test_fit_cli_runs_an_elastic_net_shape_with_fastlr_and_sklearn_only(monkeypatch, capsys):
    pytest.importorskip("sklearn")
    monkeypatch.setitem(fit_l1.L1_SHAPES, "en-tiny", (600, 8, 3, 0.1, 0.5))
    for peer in PEERS:  # as if not installed
        monkeypatch.setitem(sys.modules, peer, None)
    monkeypatch.setattr(fit_l1, "WARM_UP_ROWS", 100)
    assert cli.main(["bench", "--fit", "--shapes", "en-tiny", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "### en-tiny, float64" in out and "ρ=0.5" in out
    rows = table_rows(out)
    assert "did not reach" not in rows["fastlr"] and "solver_=" in rows["fastlr"]
    assert "non-zero coefficients" in rows["sklearn saga"]  # the reference without skglm
    assert "did not reach" not in rows["sklearn saga"]
    for peer in ("sklearn liblinear", "celer", "LIBLINEAR -s 6", "Snap ML"):
        assert fit_l1.NO_ELASTIC_NET in rows[peer], peer
    assert "not installed" in rows["skglm"] and "not installed" in rows["glum"]


def _reference(X, y, C, rho=1.0):
    """ρ = 1: scikit-learn's liblinear at tol 1e-10; ρ < 1 (liblinear has no elastic net):
    fastlr's optimum at tol 1e-10 (which the ρ = 1 case checks against liblinear's)."""
    from sklearn.linear_model import LogisticRegression

    import fastlr

    if rho == 1.0:
        model = LogisticRegression(l1_ratio=1.0, C=C, solver="liblinear", fit_intercept=False,
                                   tol=1e-10, max_iter=10000).fit(X, y)
    else:
        model = fastlr.LogisticRegression(l1_ratio=rho, C=C, fit_intercept=False, tol=1e-10,
                                          max_iter=1000).fit(X, y)
    return fit_l1.l1_objective(model.coef_, X, y, C, rho)


MODULES = {"skglm": "skglm", "celer": "celer", "LIBLINEAR -s 6": "liblinear", "glum": "glum",
           "sklearn saga": "sklearn"}


@pytest.mark.parametrize("peer, rho", [
    ("fastlr", 1.0), ("sklearn saga", 1.0), ("skglm", 1.0), ("celer", 1.0),
    ("LIBLINEAR -s 6", 1.0), ("glum", 1.0),
    ("fastlr", 0.5), ("sklearn saga", 0.5), ("skglm", 0.5), ("glum", 0.5)])
def test_each_mapping_reaches_the_same_objective(peer, rho):
    pytest.importorskip("sklearn")
    module = MODULES.get(peer)
    if module and not installed(module):
        pytest.skip(f"{module} is not installed")
    X, y, _ = fit_l1.make_l1_problem(800, 12, 4)
    C = 0.05
    contender = next(c for c in fit_l1.contenders(C, X.shape[0], 1, rho) if c.name == peer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skglm's NumbaPerformanceWarning, convergence
        coef, _ = contender.fit(X, y, 1e-10, 10000)
    assert fit_l1.l1_objective(coef, X, y, C, rho) == pytest.approx(_reference(X, y, C, rho),
                                                                   rel=1e-6)


def test_peers_without_an_elastic_net_are_rows_with_the_reason():
    rows = {c.name: c for c in fit_l1.contenders(0.05, 800, 1, 0.5)}
    for peer in ("celer", "LIBLINEAR -s 6", "Snap ML"):
        assert rows[peer].missing == fit_l1.NO_ELASTIC_NET and rows[peer].fit is None
    if installed("sklearn"):
        assert rows["sklearn liblinear"].missing == fit_l1.NO_ELASTIC_NET
        assert rows["sklearn saga"].fit is not None
    names = list(rows)
    assert names[0] == "fastlr" and names[-1] == "Snap ML"


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


# --------------------------------------------------------------------------- L1 paths


def test_path_objectives_are_l1_objectives_per_c():
    import scipy.sparse

    rng = np.random.default_rng(2)
    X = rng.standard_normal((90, 7))
    y = rng.integers(0, 2, 90)
    Cs = np.array([0.01, 0.1, 1.0])
    coefs = rng.standard_normal((3, 7)) * (rng.random((3, 7)) < 0.5)
    expected = [fit_l1.l1_objective(w, X, y, C) for w, C in zip(coefs, Cs)]
    assert fit_l1_path.path_objectives(coefs, X, y, Cs) == pytest.approx(expected, rel=1e-13)
    sparse = scipy.sparse.csr_matrix(X)
    assert fit_l1_path.path_objectives(coefs, sparse, y, Cs) == pytest.approx(expected,
                                                                            rel=1e-13)


def test_the_grid_is_l1_paths_or_ends_at_the_given_c():
    import fastlr

    pytest.importorskip("sklearn")
    X, y, _ = fit_l1.make_l1_problem(800, 12, 4)
    Cs = fit_l1_path.grid(X, y)
    assert np.array_equal(Cs, fastlr.l1_path(X, y, Cs=20, fit_intercept=False).Cs)
    top = fit_l1_path.grid(X, y, top=Cs[10])
    assert top.size == 20 and top[0] == Cs[0] and top[-1] == pytest.approx(Cs[10], rel=1e-14)
    assert np.allclose(np.diff(np.log(top)), np.log(Cs[10] / Cs[0]) / 19)
    path = fastlr.l1_path(X, y, Cs=top, fit_intercept=False, tol=1e-8)
    assert np.count_nonzero(path.coef[0]) == 0 and np.count_nonzero(path.coef[-1]) > 0


def path_ladder(name, *fits, peer=True):
    result = Ladder(name, peer, 1)
    result.fits = [Fit(tol, seconds, np.asarray(objective)) for tol, seconds, objective in fits]
    return result


def test_a_path_is_accepted_only_where_every_point_is_at_the_optimum():
    best = np.array([10.0, 20.0, 30.0, 40.0])
    one_off = best * (1 + np.array([1e-9, 1e-3, 1e-9, 1e-9]))  # one point off by 1e-3
    ladders = [
        path_ladder("one point off", (1e-2, 1.0, one_off), (1e-3, 2.0, best * (1 + 1e-9))),
        path_ladder("stuck", (1e-2, 0.5, one_off), (1e-3, 0.6, one_off * (1 - 1e-10))),
        path_ladder("exact", (1e-2, 3.0, best)),
    ]
    assert fit_sparse.relative_gap(one_off, best) == pytest.approx(1e-3)
    found, choices = fit_sparse.select(ladders, fit_l1_path.TARGET, floor=best)
    assert np.array_equal(found, best)
    assert choices["one point off"].reached and choices["one point off"].fit.tol == 1e-3
    assert choices["one point off"].gap == pytest.approx(1e-9, rel=1e-5)
    assert not choices["stuck"].reached and choices["stuck"].gap == pytest.approx(1e-3, rel=1e-6)
    assert choices["exact"].reached and choices["exact"].gap == 0.0
    # the floor counts: a reference lower at one point by 1e-5 than every contender's
    floor = best * (1 - np.array([0.0, 0.0, 1e-5, 0.0]))
    _, choices = fit_sparse.select(ladders, fit_l1_path.TARGET, floor=floor)
    assert not any(choice.reached for choice in choices.values())
    # the ladder stops only once every point is within a tenth of the target
    assert fit_sparse.ladder_done(Fit(1e-3, 1.0, best * (1 + 1e-9)), best, 1e-6, 30.0) == \
        "reached"
    assert fit_sparse.ladder_done(Fit(1e-2, 1.0, one_off), best, 1e-6, 30.0) == ""
    ladders[0].seconds, ladders[2].seconds = [2.0], [3.0]
    text = fit_sparse.table(ladders, fit_l1_path.TARGET, best, "lead line",
                            time_header="time to the path", gap_header="worst point's gap")
    assert text.startswith("lead line") and "worst point's gap" in text


def test_fit_cli_runs_a_path_shape_with_fastlr_and_sklearn_only(monkeypatch, capsys):
    pytest.importorskip("sklearn")
    monkeypatch.setitem(fit_l1.L1_SHAPES, "l1-tiny", (600, 8, 3, 0.1, 1.0))
    monkeypatch.setitem(fit_l1_path.PATH_SHAPES, "path-tiny", ("l1-tiny", None))
    monkeypatch.setattr(fit_l1_path, "N_CS", 5)
    monkeypatch.setattr(fit_l1, "WARM_UP_ROWS", 100)
    for peer in PEERS:  # as if not installed
        monkeypatch.setitem(sys.modules, peer, None)
    assert cli.main(["bench", "--fit", "--shapes", "path-tiny", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "L1 path benchmark" in out and "### path-tiny, float64" in out and "5 Cs" in out
    rows = table_rows(out)
    assert "did not reach" not in rows["fastlr.l1_path"]
    assert "non-zeros 0 … " in rows["fastlr.l1_path"]
    for peer in ("sklearn saga, warm-started", "sklearn liblinear, one by one"):
        assert "non-zeros 0 … " in rows[peer], peer
    for peer in ("skglm", "celer", "glum"):
        assert "not installed" in rows[peer], peer


PATH_MODULES = {"skglm AndersonCD.path": "skglm", "skglm prox-Newton, warm-started": "skglm",
                "celer_path (prox-Newton)": "celer", "glum alpha_search path": "glum",
                "sklearn saga, warm-started": "sklearn",
                "sklearn liblinear, one by one": "sklearn"}


@pytest.mark.parametrize("name", ["fastlr.l1_path", *PATH_MODULES])
def test_each_path_mapping_reaches_the_reference_at_every_c(name):
    pytest.importorskip("sklearn")
    module = PATH_MODULES.get(name)
    if module and not installed(module):
        pytest.skip(f"{module} is not installed")
    X, y, _ = fit_l1.make_l1_problem(800, 12, 4)
    Cs = fit_l1_path.grid(X, y)
    floor, ends = fit_l1_path.reference(X, y, Cs)
    assert ends[0] == 0 and ends[-1] > 4
    contender = next(c for c in fit_l1_path.contenders(Cs, X.shape[0], 1) if c.name == name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skglm's NumbaPerformanceWarning, convergence
        coefs, _ = contender.fit(X, y, 1e-10, 10000)
    assert coefs.shape == (20, 12)
    assert fit_l1_path.path_objectives(coefs, X, y, Cs) == pytest.approx(floor, rel=1e-6)
