"""``fastlr bench --fit`` model shapes: the multinomial model and cross-validation.

Fast: nothing is timed, shapes are tiny, scikit-learn-intelex is never needed (hidden in
the end-to-end run).
"""

import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
special = pytest.importorskip("scipy.special")

from fastlr import cli  # noqa: E402
from fastlr.bench import fit_models  # noqa: E402
from fastlr.bench.fit_models import CVRow  # noqa: E402

# --------------------------------------------------------------------------- the objective


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_multinomial_objective_is_the_direct_one(dtype):
    rng = np.random.default_rng(0)
    m, n, k = 70_000, 4, 3  # more rows than one block of 65536
    X = rng.standard_normal((m, n)).astype(dtype)
    y = rng.integers(0, k, m)
    W, b = rng.standard_normal((k, n)), rng.standard_normal(k)
    z = X.astype(np.float64) @ W.T + b
    expected = np.sum(special.logsumexp(z, axis=1) - z[np.arange(m), y]) + 0.5 * np.sum(W**2)
    got = fit_models.multinomial_objective(W, b, X, y)
    assert got == pytest.approx(expected, rel=1e-12)
    assert fit_models.multinomial_objective(W, b, X, y, c=2.0) == pytest.approx(
        2 * (expected - 0.5 * np.sum(W**2)) + 0.5 * np.sum(W**2), rel=1e-12)


def test_multinomial_objective_at_zero_and_far_out():
    X = np.arange(12.0).reshape(4, 3) / 10
    y = np.array([0, 1, 2, 1])
    assert fit_models.multinomial_objective(np.zeros((3, 3)), np.zeros(3), X, y) == \
        pytest.approx(4 * np.log(3.0))
    W = np.array([[300.0, 0, 0], [0, 0, 0], [0, 0, -300.0]])  # exp(z) overflows unshifted
    z = X @ W.T
    expected = np.sum(special.logsumexp(z, axis=1) - z[np.arange(4), y]) + 0.5 * np.sum(W**2)
    assert np.isfinite(expected)
    assert fit_models.multinomial_objective(W, [0.0, 0.0, 0.0], X, y) == \
        pytest.approx(expected, rel=1e-12)


def test_the_optimum_of_scikit_learn_is_the_lowest_objective():
    from sklearn.linear_model import LogisticRegression

    X, y = fit_models.make_multinomial(600, 5, 4, seed=1)
    model = LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(X, y)
    best = fit_models.multinomial_objective(model.coef_, model.intercept_, X, y)
    for shift in (model.coef_ * 1.01, model.coef_ + 1e-3):  # off the optimum: higher
        assert fit_models.multinomial_objective(shift, model.intercept_, X, y) > best
    # the intercept is not penalized: the same for any constant added to every class's b
    assert fit_models.multinomial_objective(model.coef_, model.intercept_ + 5.0, X, y) == \
        pytest.approx(best, rel=1e-12)


# --------------------------------------------------------------------------- the data


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_make_multinomial_shapes_classes_and_seed(dtype):
    X, y = fit_models.make_multinomial(3000, 7, 10, dtype=dtype)
    assert X.shape == (3000, 7) and X.dtype == dtype and X.flags.c_contiguous
    assert y.shape == (3000,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    assert abs(X.mean()) < 0.05 and 0.95 < X.std() < 1.05
    X2, y2 = fit_models.make_multinomial(3000, 7, 10, dtype=dtype)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    _, y3 = fit_models.make_multinomial(3000, 7, 10, dtype=dtype, seed=1)
    assert not np.array_equal(y, y3)


def test_make_multinomial_labels_follow_the_softmax_model():
    from sklearn.linear_model import LogisticRegression

    X, y = fit_models.make_multinomial(20_000, 4, 3, seed=0)
    model = LogisticRegression(C=1e6).fit(X[:15_000], y[:15_000])
    assert model.score(X[15_000:], y[15_000:]) > 0.5  # 3 classes: chance is 1/3


def test_shapes_load():
    X, y, description = fit_models.load_multinomial_shape("digits", "float32")
    assert X.shape == (1797, 64) and X.dtype == np.float32 and X.flags.c_contiguous
    assert set(np.unique(y)) == set(range(10)) and "load_digits" in description
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-5)  # StandardScaler
    X, y = fit_models.load_cv_shape("cv-small")
    assert X.shape == (20_000, 20) and X.dtype == np.float64 and X.flags.c_contiguous
    assert set(np.unique(y)) == {0.0, 1.0}


# --------------------------------------------------------------------------- the CV rows


class FakeCV:
    def __init__(self, C_, scores_, Cs_=(0.1, 1.0, 10.0)):
        self.C_, self.scores_, self.Cs_ = C_, scores_, np.array(Cs_)


def test_chosen_c_in_both_attribute_layouts():
    folds = np.array([[0.5, 0.8, 0.7], [0.6, 0.9, 0.7]])  # (folds, Cs); best C: 1.0
    new = FakeCV(1.0, folds[:, None, :])  # (folds, l1_ratios, Cs)
    assert fit_models.chosen_c(new) == (1.0, pytest.approx(0.85))
    legacy = FakeCV(np.array([1.0]), {1: folds})
    assert fit_models.chosen_c(legacy) == (1.0, pytest.approx(0.85))
    legacy_l1 = FakeCV(np.array([10.0]), {1: folds[:, :, None]})  # (folds, Cs, l1_ratios)
    assert fit_models.chosen_c(legacy_l1) == (10.0, pytest.approx(0.7))
    assert fit_models.mean_scores(new) == pytest.approx({0.1: 0.55, 1.0: 0.85, 10.0: 0.7})


def test_same_c_compares_grid_points():
    grid = np.logspace(-4, 4, 10)
    assert fit_models.same_c(float(grid[3]), float(np.logspace(-4, 4, 10)[3])) == "yes"
    assert fit_models.same_c(float(grid[3]) * (1 + 1e-13), float(grid[3])) == "yes"
    assert fit_models.same_c(float(grid[4]), float(grid[3])) == "no"
    assert fit_models.same_c(None, 1.0) == "—" and fit_models.same_c(1.0, None) == "—"


def test_cv_table_compares_c_and_times_with_fastlrs():
    scores = {0.1: 0.6, 1.0: 0.7}
    rows = [CVRow("fastlr", False, 2, [0.1, 0.3, 0.2], 1.0, 0.7, scores=scores),
            CVRow("peer same", True, "BLAS 2", [0.4], 1.0, 0.7, scores=scores),
            CVRow("peer other", True, "BLAS 2", [7.0], 0.1, 0.6, scores=scores),
            CVRow("peer missing", True, "", notes=["skipped: no LogisticRegressionCV"])]
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
             for line in fit_models.cv_table(rows).splitlines()[2:]}
    assert cells["fastlr"][:6] == ["2", "200 ms", "1", "0.700000", "(itself)", "2.0×"]
    assert cells["fastlr"][6] == "median of 3"
    assert cells["peer same"][4:6] == ["yes", "fastest peer"]
    assert cells["peer other"][4] == "no" and cells["peer other"][5] == ""
    assert "1 fit (> 5 s)" in cells["peer other"][6]
    assert "its score at fastlr's C_ 1: 0.700000" in cells["peer other"][6]
    assert cells["peer missing"][1] == "—" and "skipped" in cells["peer missing"][6]


def test_cv_contenders_print_no_future_warning():
    from sklearn.model_selection import StratifiedKFold

    X, y = fit_models.load_cv_shape("cv-small")
    X, y = X[:300, :3], y[:300]
    folds = StratifiedKFold(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        for name, _, _, make in fit_models.cv_contenders(1, folds):
            if isinstance(make, str):
                continue
            model = make()
            assert model.cv is folds and model.Cs == fit_models.CV_CS, name
            model.fit(X, y)


# --------------------------------------------------------------------------- end to end


def test_fit_cli_runs_the_model_shapes(monkeypatch, capsys):
    monkeypatch.setitem(fit_models.MULTINOMIAL_SHAPES, "multinomial-tiny", (500, 4, 3))
    monkeypatch.setitem(fit_models.CV_SHAPES, "cv-tiny", (500, 4))
    monkeypatch.setitem(sys.modules, "sklearnex", None)  # as if not installed
    monkeypatch.setattr(fit_models.threads, "settle", lambda: None)
    assert cli.main(["bench", "--fit", "--shapes", "multinomial-tiny,cv-tiny",
                     "--dtype", "float64", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "multinomial fit benchmark — CPU" in out and "cross-validation benchmark — CPU" in out
    assert "scikit-learn's BLAS as is" in out and "tol=1e-06 for every contender" not in out
    assert "### multinomial-tiny, float64" in out and "### cv-tiny, float64" in out
    assert "### multinomial-tiny, float32" not in out
    rows = {}
    for line in out.splitlines():
        if line.startswith("| ") and "---" not in line and "| contender |" not in line:
            rows.setdefault(line.split("|")[1].strip(), []).append(
                [c.strip() for c in line.split("|")[2:-1]])
    (default_multi, default_cv) = rows["fastlr (default solver)"] + rows["fastlr"]
    assert {"fastlr lbfgs", "fastlr newton-cg", "sklearn lbfgs", "sklearn newton-cg",
            "sklearn newton-cholesky"} <= set(rows)
    assert default_multi[1] not in ("—", "did not reach")  # reached the optimum
    assert abs(float(default_multi[3])) <= 1e-8 and default_multi[4].endswith("×")
    assert "solver_=" in default_multi[5]
    assert default_cv[4] == "(itself)" and default_cv[5].endswith("×")
    assert rows["sklearn lbfgs"][1][4] in ("yes", "no")
    missing = rows["scikit-learn-intelex"]
    assert len(missing) == 2 and all("not installed" in row[-1] for row in missing)


def test_fit_cli_knows_the_model_shapes():
    parser = cli.build_parser()
    args = parser.parse_args(["bench", "--fit", "--shapes", "digits,cv-100000x100,cat"])
    assert args.shapes == ["digits", "cv-100000x100", "cat"]
    assert parser.parse_args(["bench", "--fit", "--shapes", "multinomial-small"]).shapes == [
        "multinomial-small"]
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "--fit", "--shapes", "digits,nope"])
    help_text = cli.build_parser()._subparsers._group_actions[0].choices["bench"].format_help()
    assert "multinomial-200000x100" in help_text and "cv-1000000x100" in help_text
