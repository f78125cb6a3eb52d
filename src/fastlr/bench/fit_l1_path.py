"""The L1 path shapes of ``fastlr bench --fit``: a path of 20 C, time to the same optima.

Every contender fits L1 logistic regression, ``C Σ log(1 + e^{−y x·w}) + ‖w‖₁`` (no
intercept; :func:`fastlr.bench.fit_l1.l1_objective`), at each C of the same increasing grid
of :data:`N_CS` values, on the data of an L1 shape (:func:`fastlr.bench.fit_l1.load_l1_shape`):

- ``path-flights``: the one-hot flights table; the grid of ``fastlr.l1_path(X, y, Cs=20,
  fit_intercept=False)``: from C_min, the C at which the first coefficient enters (every
  coefficient is zero below it), over 3 decades;
- ``path-100000x1000``: dense 100 000 × 1000 (50 true non-zero coefficients); 20 Cs
  log-spaced from C_min to 0.001, the single-fit shape's C (``l1-100000x1000``): the
  default grid's top third goes up to 64 × that C, where 85 % of the 1000 coefficients are
  non-zero and one fastlr path takes ~50 s — a dense model, not the sparse regime an L1
  path is for.

Contenders, each timing its whole path, each where installed: ``fastlr.l1_path`` (warm
starts); scikit-learn one C after the other, saga with ``warm_start=True`` and liblinear
(which has no warm start) cold; skglm's own path routine (``AndersonCD().path`` with its
``Logistic`` datafit and ``L1(alpha)``, alpha = 1 / (C n)) and its
``SparseLogisticRegression`` (prox-Newton) warm-started one C after the other; celer's
``celer_path(X, y, "logreg", alphas=1 / C, use_PN=True)`` (what its ``LogisticRegression``
runs); glum's ``alpha_search=True`` path (alpha = 1 / (C n)).

Time to the same optima: :mod:`fastlr.bench.fit_sparse`'s protocol with a path's objective
an array, one per C. Before any contender, a reference per C — ``fastlr.LogisticRegression``
at tol 1e-10, warm-started along the grid, untimed — is the floor of "the best objective"
at each C; the best at a C is the lowest of the reference's and every contender's points
there. A contender climbs its ladder of tolerances (loosest first, stopped once every point
is within a tenth of :data:`TARGET` of the best so far, or after a path longer than
``--peer-budget``); its path is accepted at the loosest tolerance where **every** point is
within :data:`TARGET` (relative) of the best at its C (:func:`fastlr.bench.fit_sparse.select`
with :func:`~fastlr.bench.fit_sparse.relative_gap`, the worst point's gap), and its time is
the median of ``--repeats`` paths at that tolerance.
"""

from __future__ import annotations

import warnings

import numpy as np

from fastlr.bench import fit_l1
from fastlr.bench.fit_sparse import (
    AFFORDABLE,
    LADDER,
    Contender,
    Ladder,
    _error,
    climb,
    repeat_chosen,
    select,
    table,
)

#: name -> (the L1 shape whose data it takes, the grid's top C or None: l1_path's grid)
PATH_SHAPES = {"path-100000x1000": ("l1-100000x1000", 0.001),
               "path-flights": ("l1-flights", None),
               "path-small": ("l1-small", None)}
#: the path shapes of a run without --shapes (path-small: a quick check, by name only)
DEFAULT_PATHS = ("path-100000x1000", "path-flights")
N_CS = 20
TARGET = fit_l1.TARGET  # every point within this relative gap to the best at its C
REFERENCE_TOL = 1e-10
BLOCK = 65536


def grid(X, y, top=None):
    """The path's Cs, increasing: ``fastlr.l1_path(X, y, Cs=N_CS, fit_intercept=False).Cs``
    (from C_min over ``fastlr.path.DECADES`` decades), or with ``top`` :data:`N_CS` values
    log-spaced from C_min to ``top``. Only C_min is fitted (``Cs=1``: all zeros)."""
    import fastlr
    from fastlr import path

    c_min = float(fastlr.l1_path(X, y, Cs=1, fit_intercept=False).Cs[0])
    if top is None:
        return c_min * np.logspace(0.0, path.DECADES, N_CS)
    return np.geomspace(c_min, top, N_CS)


def path_objectives(coefs, X, y, Cs):
    """``C Σ log(1 + e^{−y x·w_C}) + ‖w_C‖₁`` for each row ``w_C`` of ``coefs`` (one per C
    of ``Cs``), in float64, in one pass over X (blocks of rows); ``y`` 0/1."""
    import scipy.sparse

    W = np.asarray(coefs, dtype=np.float64).reshape(len(Cs), -1)
    sparse = scipy.sparse.issparse(X)
    totals = np.zeros(len(Cs))
    for lo in range(0, X.shape[0], BLOCK):
        block = X[lo:lo + BLOCK]
        block = block.astype(np.float64, copy=False) if sparse else \
            np.asarray(block, dtype=np.float64)
        signs = 2.0 * (np.asarray(y[lo:lo + BLOCK]) == 1) - 1.0
        totals += np.sum(np.logaddexp(0.0, -signs[:, None] * np.asarray(block @ W.T)), axis=0)
    return np.asarray(Cs, dtype=np.float64) * totals + np.abs(W).sum(axis=1)


def reference(X, y, Cs):
    """``(objectives, non-zeros)`` per C of fastlr.LogisticRegression at tol
    :data:`REFERENCE_TOL`, warm-started from the previous C's coefficients (untimed)."""
    import fastlr

    model = fastlr.LogisticRegression(l1_ratio=1.0, fit_intercept=False, tol=REFERENCE_TOL,
                                      max_iter=1000, warm_start=True)
    coefs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning: the floor is only a floor
        for C in Cs:
            coefs.append(np.ravel(model.set_params(C=float(C)).fit(X, y).coef_).copy())
    coefs = np.array(coefs)
    return path_objectives(coefs, X, y, Cs), np.count_nonzero(coefs, axis=1)


# ----------------------------------------------------------------------------- contenders

def contenders(Cs, n, n_threads):
    """Every contender, each fitting the whole path of ``Cs`` (increasing): ``fit(X, y, tol,
    max_iter)`` returns ``(coefs (len(Cs), n_features), the most iterations at a C or
    None)``; missing peers with the reason."""
    import fastlr

    Cs = np.asarray(Cs, dtype=np.float64)
    alphas = 1.0 / (Cs * n)  # skglm, glum: (1/n) Σ L + alpha ‖w‖₁ (decreasing)
    chosen = []

    def fastlr_fit(X, y, tol, max_iter):
        path = fastlr.l1_path(X, y, Cs, fit_intercept=False, tol=tol, max_iter=max_iter,
                              n_threads=n_threads)
        chosen[:] = [path.stats["solver"]]
        return path.coef[:, 0, :], int(np.max(path.n_iter))
    fastlr_fit.describe = lambda: f"solver {chosen[0]}" if chosen else ""
    yield Contender("fastlr.l1_path", False, n_threads, fastlr_fit)

    if fit_l1._installed("sklearn"):
        def sklearn_fit(solver, warm):
            def fit(X, y, tol, max_iter):
                from sklearn.linear_model import LogisticRegression

                model = LogisticRegression(l1_ratio=1.0, solver=solver, fit_intercept=False,
                                           tol=tol, max_iter=max_iter, warm_start=warm)
                coefs, n_iter = [], 0
                for C in Cs:  # warm: from the previous C's coefficients
                    model.set_params(C=float(C)).fit(X, y)
                    coefs.append(np.ravel(model.coef_).copy())
                    n_iter = max(n_iter, int(np.max(model.n_iter_)))
                return np.array(coefs), n_iter
            return fit
        yield Contender("sklearn saga, warm-started", True, 1, sklearn_fit("saga", True),
                        note=lambda dtype: "one C after the other, warm_start=True")
        yield Contender("sklearn liblinear, one by one", True, 1,
                        sklearn_fit("liblinear", False),
                        note=lambda dtype: "one C after the other, cold: liblinear has no "
                        "warm start")
    else:
        yield Contender("scikit-learn", True, 1,
                        missing="not installed (pip install scikit-learn)")

    if fit_l1._installed("skglm"):
        def skglm_path(X, y, tol, max_iter):
            from skglm.datafits import Logistic
            from skglm.penalties import L1
            from skglm.solvers import AndersonCD

            # skglm's own path routine: (1/n) Σ L + alpha ‖w‖₁ at each alpha, warm-started
            # in the order given (decreasing alpha: increasing C); y in {−1, +1}
            signs = 2.0 * (np.asarray(y) == 1) - 1.0
            _, coefs, _ = AndersonCD(tol=tol, fit_intercept=False).path(
                X, signs, Logistic(), L1(float(alphas[0])), alphas=alphas)
            return np.asarray(coefs).T, None

        def skglm_warm(X, y, tol, max_iter):
            from skglm.estimators import SparseLogisticRegression

            model = SparseLogisticRegression(alpha=float(alphas[0]), fit_intercept=False,
                                             tol=tol, max_iter=1000, warm_start=True)
            coefs = []
            for alpha in alphas:
                model.set_params(alpha=float(alpha)).fit(X, y)
                coefs.append(np.ravel(model.coef_).copy())
            return np.array(coefs), None
        yield Contender("skglm AndersonCD.path", True, 1, skglm_path)
        yield Contender("skglm prox-Newton, warm-started", True, 1, skglm_warm,
                        note=lambda dtype: "SparseLogisticRegression(warm_start=True), one C "
                        "after the other")
    else:
        yield Contender("skglm", True, 1, missing="not installed (pip install skglm)")

    if fit_l1._installed("celer"):
        def celer_fit(X, y, tol, max_iter):
            from celer import celer_path

            # celer's logreg: Σ L + alpha ‖w‖₁, alpha = 1 / C (as its LogisticRegression);
            # y in {−1, +1}; its coefs in decreasing alpha: increasing C
            signs = 2.0 * (np.asarray(y) == 1) - 1.0
            _, coefs, _ = celer_path(X, signs, "logreg", alphas=1.0 / Cs, tol=tol,
                                     use_PN=True, max_iter=50, max_epochs=50_000)
            return np.asarray(coefs).T, None
        yield Contender("celer_path (prox-Newton)", True, 1, celer_fit)
    else:
        yield Contender("celer", True, 1, missing="not installed (pip install celer)")

    if fit_l1._installed("glum"):
        def glum_fit(X, y, tol, max_iter):
            from glum import GeneralizedLinearRegressor

            # glum: Σ deviance / (2 n) + alpha ‖w‖₁ at each alpha, in the order given,
            # warm-started; a list: glum's alpha == 0 check refuses an array
            model = GeneralizedLinearRegressor(
                family="binomial", alpha=[float(a) for a in alphas], alpha_search=True,
                l1_ratio=1.0, fit_intercept=False, gradient_tol=tol,
                max_iter=max_iter).fit(X, np.asarray(y, dtype=np.float64))
            return np.asarray(model.coef_path_), None
        yield Contender("glum alpha_search path", True, n_threads, glum_fit)
    else:
        yield Contender("glum", True, n_threads, missing="not installed (pip install glum)")


# ----------------------------------------------------------------------------- protocol

def measure(X, y, Cs, repeats=3, budget=30.0, n_threads=1, log=print):
    """``(ladders, reference objectives, reference non-zeros)``: every contender's ladder of
    whole paths, one contender after the other (its untimed warm-up on the first rows just
    before its ladder), the reference per C first, the repeats round robin."""
    floor, ends = reference(X, y, Cs)
    log(f"  reference: fastlr.LogisticRegression tol {REFERENCE_TOL:g} per C, "
        f"{ends[0]} … {ends[-1]} non-zero coefficients")
    ladders, pool = [], []
    nonzeros = {}  # name -> (non-zeros at the first C, at the last) of each fit

    def counted(name):
        def objective_of(coefs, X, y):
            counts = np.count_nonzero(coefs, axis=1)
            nonzeros.setdefault(name, []).append((int(counts[0]), int(counts[-1])))
            return path_objectives(coefs, X, y, Cs)
        return objective_of

    def objective_only(coefs, X, y):
        return path_objectives(coefs, X, y, Cs)

    for contender in contenders(Cs, X.shape[0], n_threads):
        ladder = Ladder(contender.name, contender.peer, contender.threads)
        ladders.append(ladder)
        if contender.missing:
            ladder.error = contender.missing
            continue
        note = contender.note("float64") if contender.note else ""
        ladder.notes += [note] if note else []
        pool.append((contender, ladder))
    rows = min(X.shape[0], fit_l1.WARM_UP_ROWS)
    best, done = floor, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning shows in the gap
        for contender, ladder in pool:
            try:  # untimed: imports, JIT compilation, thread pools
                contender.fit(X[:rows], y[:rows], LADDER[0], 100)
            except Exception as error:
                ladder.error = _error(error)
                log(f"  {ladder.name:34s} {ladder.error}")
                continue
            best = climb(contender, ladder, X, y, TARGET, budget, best, counted(ladder.name),
                         log=log)
            describe = getattr(contender.fit, "describe", None)
            if describe and describe():
                ladder.notes.insert(0, describe())
            done.append((contender, ladder))
        repeat_chosen(done, ladders, X, y, TARGET, repeats, objective_only, floor)
    _, choices = select(ladders, TARGET, floor)
    for ladder in ladders:
        fit = choices[ladder.name].fit
        if fit is not None:
            first, last = nonzeros[ladder.name][ladder.fits.index(fit)]
            ladder.notes.insert(0, f"non-zeros {first} … {last}")
    return ladders, floor, ends


def header(info, n_threads, repeats, budget):
    """The run's line on the path shapes: the machine, threads, the protocol."""
    import fastlr

    return (f"fastlr {fastlr.__version__} L1 path benchmark — CPU {info['cpu']}, "
            f"{info['cores']} cores; threads: fastlr {n_threads}, glum its OpenMP default, the "
            f"others 1; {N_CS} Cs per path, objective C Σ log(1 + e^(−y x·w)) + ‖w‖₁ at each, "
            f"no intercept, computed in float64 here; floor of the best at each C: "
            f"fastlr.LogisticRegression at tol {REFERENCE_TOL:g} (untimed); tol ladder "
            f"{LADDER[0]:g} … {LADDER[-1]:g} per contender (stopped after a path > "
            f"{budget:g} s); time = its whole path at the loosest tol where every point is "
            f"within {TARGET:g} of the best at its C"
            + (f", median of {repeats} paths when ≤ {AFFORDABLE:g} s" if repeats > 1 else ""))


def run_shape(shape, repeats, peer_budget, n_threads, log=print):
    """The table of one path shape (float64 whatever ``--dtype``), or None if left out (the
    reason is printed)."""
    data, top = PATH_SHAPES[shape]
    try:
        X, y, _, _, description = fit_l1.load_l1_shape(data)
    except ImportError as error:
        log(f"\n{shape}: left out, {error}")
        return None
    Cs = grid(X, y, top)
    how = ("fastlr.l1_path's grid: from C_min, where the first coefficient enters, over 3 "
           "decades" if top is None else
           f"log-spaced from C_min, where the first coefficient enters, to {top:g} "
           f"({data}'s C)")
    summary = (f"{X.shape[0]} × {X.shape[1]}, float64, {N_CS} Cs {Cs[0]:.4g} … {Cs[-1]:.4g} "
               f"({how}), ρ=1")
    log(f"\n{shape} ({summary})\n  {description}")
    ladders, floor, ends = measure(X, y, Cs, repeats, peer_budget, n_threads, log)
    lead = (f"the reference's non-zero coefficients {ends[0]} at the first C, {ends[-1]} at "
            f"the last; a contender's time: its whole path at the loosest tol where every "
            f"point is within {TARGET:g} (relative) of the best objective at its C")
    text = table(ladders, TARGET, floor, lead, time_header="time to the path",
                 gap_header="worst point's gap")
    return f"\n### {shape}, float64\n\n{summary}; {description}\n\n{text}"
