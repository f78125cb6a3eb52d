"""The model shapes of ``fastlr bench --fit``: the multinomial model and cross-validation.

**Multinomial** (``multinomial-200000x100``: :func:`make_multinomial`, standard normal
features, 10 classes drawn from a softmax model with a fixed random ``W``; ``digits``:
scikit-learn's bundled ``load_digits``, 1797 × 64, 10 classes, StandardScaler-scaled).
Every contender minimizes ``C Σ_i [logsumexp(z_i) − z_{i,y_i}] + ½‖W‖²`` with
``z = X Wᵀ + b``, ``C = 1``, the intercept ``b`` fitted and not penalized: fastlr's
``LogisticRegression`` (its default solver, lbfgs and newton-cg), scikit-learn's lbfgs and
newton-cg, scikit-learn-intelex's ``LogisticRegression`` where installed. Time to the same
optimum by :mod:`fastlr.bench.fit_sparse`'s protocol — its ladder of tolerances, its
:func:`~fastlr.bench.fit_sparse.select`, :func:`~fastlr.bench.fit_sparse.ladder_done`,
:func:`~fastlr.bench.fit_sparse.next_max_iter` and table — with the objective pluggable
(:func:`climb`, :func:`measure_ladders`): every fit's objective is
:func:`multinomial_objective`, computed here in float64 by NumPy in blocks of rows.
scikit-learn's newton-cg climbs its whole ladder first (the reference).

**Cross-validation** (``cv-100000x100``, ``cv-1000000x100``: dense float64, two classes,
``fastlr.datasets.make_problem`` as the dense shapes use it, in scikit-learn's layout):
``LogisticRegressionCV(Cs=10, cv=StratifiedKFold(5))`` — the same folds object for every
contender — by fastlr, by scikit-learn with lbfgs and with newton-cholesky, and by
scikit-learn-intelex where it has one; ``scoring="accuracy"``, ``l1_ratios=(0,)``,
``use_legacy_attributes=False`` set explicitly (no FutureWarning), ``tol`` and ``max_iter``
at their defaults. Reported: the time (median of ``--repeats``; a contender whose first fit
takes more than :data:`~fastlr.bench.fit_sparse.AFFORDABLE` seconds is fitted once), ``C_``,
the mean held-out score at ``C_``, whether ``C_`` is fastlr's, the ratio to the fastest peer.

Threads: fastlr at its default, the peers at theirs (scikit-learn's BLAS as is).
``multinomial-small`` and ``cv-small`` are quick checks, selectable by name only.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from fastlr import threads
from fastlr.bench.fit import C
from fastlr.bench.fit_sparse import (
    AFFORDABLE,
    LADDER,
    TARGET,
    Contender,
    Ladder,
    _error,
    climb,
    repeat_chosen,
    table,
)
from fastlr.bench.formatting import format_ratio, format_time

#: name -> (n_samples, n_features, n_classes) of make_multinomial, or "digits"
MULTINOMIAL_SHAPES = {"multinomial-200000x100": (200_000, 100, 10), "digits": "digits",
                      "multinomial-small": (20_000, 20, 5)}
#: name -> (n_samples, n_features) of make_problem: two classes, float64
CV_SHAPES = {"cv-100000x100": (100_000, 100), "cv-1000000x100": (1_000_000, 100),
             "cv-small": (20_000, 20)}
#: the model shapes of a run without --shapes (the *-small ones: quick checks, by name only)
DEFAULT_MODELS = ("multinomial-200000x100", "digits", "cv-100000x100", "cv-1000000x100")
CV_CS, CV_FOLDS = 10, 5
BLOCK = 65536  # rows per block of the objective
REFERENCE = "sklearn newton-cg"  # climbs its whole ladder first
WARM_UP_ROWS = 2000


def is_model_shape(name):
    return name in MULTINOMIAL_SHAPES or name in CV_SHAPES


# ----------------------------------------------------------------------------- data

def make_multinomial(n_samples, n_features, n_classes=10, *, dtype=np.float64, seed=0):
    """``(X, y)``: X ``(n_samples, n_features)`` standard normal, C-ordered, of ``dtype``;
    ``y`` int64 class indices ``0 … n_classes − 1`` drawn from ``softmax(X Wᵀ)`` with a
    fixed random ``W`` (entries ``N(0, 1/n_features)``: each class's score has unit
    variance, as :func:`fastlr.datasets.make_problem`'s ``z``). The same seed, the same
    problem (labels sampled by the Gumbel-max trick, in blocks of rows)."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n_classes, n_features)) / np.sqrt(n_features)
    X = rng.standard_normal((n_samples, n_features), dtype=np.dtype(dtype).type)
    y = np.empty(n_samples, dtype=np.int64)
    for lo in range(0, n_samples, BLOCK):
        z = np.asarray(X[lo:lo + BLOCK], dtype=np.float64) @ W.T
        y[lo:lo + BLOCK] = np.argmax(z + rng.gumbel(size=z.shape), axis=1)
    return X, y


def load_multinomial_shape(name, dtype):
    """``(X C-ordered of dtype, y class indices 0 … K − 1, description)``."""
    spec = MULTINOMIAL_SHAPES[name]
    if spec == "digits":
        from sklearn.datasets import load_digits
        from sklearn.preprocessing import StandardScaler

        X, y = load_digits(return_X_y=True)
        X = np.ascontiguousarray(StandardScaler().fit_transform(X), dtype=dtype)
        description = "scikit-learn's load_digits, StandardScaler-scaled"
    else:
        m, n, k = spec
        X, y = make_multinomial(m, n, k, dtype=dtype)
        description = (f"make_multinomial({m}, {n}, {k}): standard normal features, labels "
                       f"from a softmax model with a fixed random W (seed 0)")
    classes = np.unique(y)
    if not np.array_equal(classes, np.arange(classes.size)):
        raise ValueError(f"{name}: the labels are not 0 … K − 1 (every class present)")
    return X, np.asarray(y, dtype=np.int64), description


def load_cv_shape(name):
    """``(X float64 C-ordered, y 0/1 float64)`` as :func:`fastlr.bench.fit.load_shape`."""
    from fastlr import datasets

    m, n = CV_SHAPES[name]
    X, Y = datasets.make_problem(n, m, dtype=np.float64, order="F")
    return X.T, Y.ravel()


# ----------------------------------------------------------------------------- objective

def multinomial_objective(coef, intercept, X, y, c=C):
    """``c Σ_i [logsumexp(z_i) − z_{i,y_i}] + ½‖W‖²``, ``z = X Wᵀ + b`` (b not penalized),
    in float64 by NumPy, in blocks of rows (no float64 copy of X). ``coef``: W ``(K, n)``,
    row k for class index k; ``y``: class indices."""
    W = np.asarray(coef, dtype=np.float64)
    b = np.broadcast_to(np.asarray(intercept, dtype=np.float64).ravel(), (W.shape[0],))
    y = np.asarray(y, dtype=np.intp)
    total = 0.0
    for lo in range(0, X.shape[0], BLOCK):
        z = np.asarray(X[lo:lo + BLOCK], dtype=np.float64) @ W.T + b
        top = z.max(axis=1)
        lse = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
        total += float(np.sum(lse - z[np.arange(z.shape[0]), y[lo:lo + BLOCK]]))
    return c * total + 0.5 * float(np.sum(W * W))


def _params_objective(params, X, y):
    coef, intercept = params
    return multinomial_objective(coef, intercept, X, y)


# ----------------------------------------------------------------------------- threads

def blas_threads():
    """scikit-learn's BLAS threads as they are (threadpoolctl), or "default"."""
    try:
        import threadpoolctl
    except ImportError:
        return "default"
    counts = [p["num_threads"] for p in threadpoolctl.threadpool_info()
              if p.get("user_api") == "blas"]
    return f"BLAS {max(counts)}" if counts else "default"


def intelex_threads():
    try:
        import daal4py
        return f"oneDAL {daal4py.num_threads()}"
    except Exception:  # only a label
        return "default"


# ----------------------------------------------------------------------------- contenders

def _fastlr(solver, n_threads):
    import fastlr

    chosen = []  # the latest fit's solver and backend (the warm-up's comes first)

    def fit(X, y, tol, max_iter):
        options = {} if solver is None else {"solver": solver}
        model = fastlr.LogisticRegression(C=C, tol=tol, max_iter=max_iter,
                                          n_threads=n_threads, **options).fit(X, y)
        chosen[:] = [model.solver_, model.backend_]
        return (model.coef_, model.intercept_), int(np.max(model.n_iter_))
    fit.describe = lambda: (f"solver_={chosen[0]}, backend_={chosen[1]}" if solver is None
                            else f"backend_={chosen[1]}") if chosen else ""
    return fit


def _sklearn(solver):
    from sklearn.linear_model import LogisticRegression

    def fit(X, y, tol, max_iter):
        model = LogisticRegression(C=C, solver=solver, tol=tol, max_iter=max_iter).fit(X, y)
        return (model.coef_, model.intercept_), int(np.max(model.n_iter_))
    return fit


def _intelex():
    from sklearnex.linear_model import LogisticRegression

    logger = logging.getLogger("sklearnex")
    said = []  # what sklearnex logged of the latest fit: oneDAL's version or a fallback

    class Record(logging.Handler):
        def emit(self, record):
            said.append(record.getMessage().strip())

    def fit(X, y, tol, max_iter):
        # its INFO records go to this handler only (sklearnex's own prints to stderr)
        kept = logger.handlers[:], logger.level, logger.propagate
        said.clear()
        logger.handlers[:] = [Record(logging.INFO)]
        logger.setLevel(logging.INFO)
        logger.propagate = False
        try:
            model = LogisticRegression(C=C, tol=tol, max_iter=max_iter).fit(X, y)
        finally:
            logger.handlers[:], level, logger.propagate = kept
            logger.setLevel(level)
        return (model.coef_, model.intercept_), int(np.max(model.n_iter_))

    def describe():
        fits = [text for text in said if ".fit:" in text]
        if not fits:
            return ""
        return "oneDAL (running accelerated version)" if "accelerated" in fits[-1] else \
            f"fell back to scikit-learn ({fits[-1].split('.fit:', 1)[1].strip()})"
    fit.describe = describe
    return fit


def multinomial_contenders(n_threads):
    """Every contender, in the table's order (missing peers with the reason)."""
    yield Contender("fastlr (default solver)", False, n_threads, _fastlr(None, n_threads))
    for solver in ("lbfgs", "newton-cg"):
        yield Contender(f"fastlr {solver}", False, n_threads, _fastlr(solver, n_threads))
    try:
        import sklearn  # noqa: F401
    except ImportError:
        yield Contender("scikit-learn", True, "", missing="not installed (pip install "
                        "scikit-learn)")
    else:
        for solver in ("lbfgs", "newton-cg"):
            yield Contender(f"sklearn {solver}", True, blas_threads(), _sklearn(solver))
    try:
        import sklearnex.linear_model  # noqa: F401
    except ImportError:
        yield Contender("scikit-learn-intelex", True, "", missing="not installed (pip install "
                        "scikit-learn-intelex)")
    else:
        yield Contender("scikit-learn-intelex", True, intelex_threads(), _intelex())


# ----------------------------------------------------------------------------- protocol
# fit_sparse's protocol (climb, repeat_chosen) with the objective given: a contender's fit
# returns (params, n_iter) and objective_of(params, X, y) is its objective.

def measure_ladders(contenders, X, y, rel, repeats, budget, objective_of, reference=REFERENCE,
                    dtype="float64", log=print):
    """Every contender's ladder on ``(X, y)``, :func:`fastlr.bench.fit_sparse.measure`'s
    protocol: an untimed fit on the first rows each, the ``reference`` contender's whole
    ladder first, the others until they reach the optimum, then the chosen fits repeated
    round robin (those of at most :data:`AFFORDABLE` seconds) up to ``repeats``."""
    pool, ladders = [], []
    rows = min(X.shape[0], WARM_UP_ROWS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning shows in the gap
        for contender in contenders:
            ladder = Ladder(contender.name, contender.peer, contender.threads)
            ladders.append(ladder)
            if contender.missing:
                ladder.error = contender.missing
                continue
            note = contender.note(dtype) if contender.note else ""
            ladder.notes += [note] if note else []
            try:  # untimed: imports, JIT compilation, thread pools
                contender.fit(X[:rows], y[:rows], LADDER[0], 100)
            except Exception as error:
                ladder.error = _error(error)
                log(f"  {ladder.name:34s} {ladder.error}")
                continue
            pool.append((contender, ladder))
        names = [c.name for c, _ in pool]
        first = names.index(reference) if reference in names else None
        order = ([pool[first]] + pool[:first] + pool[first + 1:]) if first is not None else pool
        best = float("inf")
        for index, (contender, ladder) in enumerate(order):
            best = climb(contender, ladder, X, y, rel, budget, best, objective_of,
                         reference=first is not None and index == 0, log=log)
            describe = getattr(contender.fit, "describe", None)
            if describe and describe():
                ladder.notes.insert(0, describe())
        repeat_chosen(pool, ladders, X, y, rel, repeats, objective_of)
    return ladders


def run_multinomial(shape, dtype, repeats, peer_budget, n_threads, log=print):
    """The table of one multinomial (shape, dtype)."""
    X, y, description = load_multinomial_shape(shape, dtype)
    k = int(y.max()) + 1
    summary = (f"{X.shape[0]} × {X.shape[1]}, {k} classes, {np.dtype(dtype).name}, "
               f"{X.nbytes / 1e6:.3g} MB")
    log(f"\n{shape} ({summary})\n  {description}")
    rel = TARGET[np.dtype(dtype).name]
    multinomial_objective(np.zeros((k, X.shape[1])), np.zeros(k), X, y)  # fresh pages
    ladders = measure_ladders(multinomial_contenders(n_threads), X, y, rel, repeats,
                              peer_budget, _params_objective, dtype=np.dtype(dtype).name,
                              log=log)
    return f"\n### {shape}, {dtype}\n\n{summary}; {description}\n\n{table(ladders, rel)}"


# ----------------------------------------------------------------------------- cross-validation

@dataclass
class CVRow:
    name: str
    peer: bool
    threads: object
    seconds: list = field(default_factory=list)
    C: float | None = None
    score: float | None = None
    notes: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)  # C -> the mean held-out score there

    @property
    def median(self):
        return statistics.median(self.seconds) if self.seconds else None


def cv_options(folds):
    """The parameters every contender's LogisticRegressionCV gets (explicit: no warning)."""
    return {"Cs": CV_CS, "cv": folds, "scoring": "accuracy", "l1_ratios": (0,),
            "use_legacy_attributes": False}


def cv_contenders(n_threads, folds):
    """``(name, is_peer, threads, make_estimator or the reason it is missing)``."""
    import fastlr

    options = cv_options(folds)
    yield ("fastlr", False, n_threads,
           lambda: fastlr.LogisticRegressionCV(n_threads=n_threads, **options))
    try:
        from sklearn.linear_model import LogisticRegressionCV
    except ImportError:
        yield "scikit-learn", True, "", "not installed (pip install scikit-learn)"
    else:
        for solver in ("lbfgs", "newton-cholesky"):
            yield (f"sklearn {solver}", True, blas_threads(),
                   lambda s=solver: LogisticRegressionCV(solver=s, **options))
    try:
        import sklearnex.linear_model as intelex
    except ImportError:
        yield ("scikit-learn-intelex", True, "",
               "not installed (pip install scikit-learn-intelex)")
    else:
        if hasattr(intelex, "LogisticRegressionCV"):
            yield ("scikit-learn-intelex", True, intelex_threads(),
                   lambda: intelex.LogisticRegressionCV(**options))
        else:
            from fastlr.bench.machine import package_version

            yield ("scikit-learn-intelex", True, "",
                   f"skipped: scikit-learn-intelex {package_version('scikit-learn-intelex')} "
                   f"has no LogisticRegressionCV (sklearnex.linear_model: LogisticRegression "
                   f"only)")


def mean_scores(model):
    """``{C: the mean held-out score at C}`` of a fitted LogisticRegressionCV, in
    scikit-learn's new attribute layout (``scores_`` (folds, l1_ratios, Cs)) or its legacy
    one (a dict by class of (folds, Cs[, l1_ratios])); the first l1_ratio."""
    scores = model.scores_
    if isinstance(scores, dict):
        scores = np.asarray(next(iter(scores.values())))
        scores = scores[..., 0] if scores.ndim == 3 else scores
    else:
        scores = np.asarray(scores)[:, 0, :]
    return {float(c): float(s) for c, s in zip(np.ravel(model.Cs_), scores.mean(axis=0))}


def score_at(scores, c):
    """The mean score at the grid point nearest ``c`` (relative)."""
    grid = np.array(list(scores), dtype=np.float64)
    return scores[float(grid[np.argmin(np.abs(np.log(grid / c)))])]


def chosen_c(model):
    """``(C_, the mean held-out score at C_)`` of a fitted LogisticRegressionCV (``C_`` a
    float, new layout, or an array of one per class, legacy)."""
    c = float(np.ravel(model.C_)[0])
    return c, score_at(mean_scores(model), c)


def same_c(c, reference):
    """``"yes"``/``"no"``: is ``c`` the reference's ``C_`` (a point of the same grid,
    compared to 1e-9 relative); ``"—"`` when either is missing."""
    if c is None or reference is None:
        return "—"
    return "yes" if math.isclose(c, reference, rel_tol=1e-9) else "no"


def measure_cv(shape, repeats, n_threads, log=print):
    """The rows of one CV shape: each contender's times, ``C_``, score, notes."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    X, y = load_cv_shape(shape)
    log(f"\n{shape} ({X.shape[0]} × {X.shape[1]}, float64, {X.nbytes / 1e6:.0f} MB)")
    folds = StratifiedKFold(CV_FOLDS)  # the same object (the same folds) for every contender
    rows, runs = [], []
    small = min(X.shape[0], WARM_UP_ROWS)
    for name, peer, n, make in cv_contenders(n_threads, folds):
        row = CVRow(name, peer, n)
        rows.append(row)
        if isinstance(make, str):
            row.notes.append(make)
            continue
        try:  # untimed: imports, JIT compilation, thread pools
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                make().fit(X[:small], y[:small])
        except Exception as error:
            row.notes.append(_error(error))
            log(f"  {name:28s} {row.notes[-1]}")
            continue
        runs.append([row, make, None, []])
    for repeat in range(repeats):  # round robin: a slow spell of the machine is shared
        for run in list(runs):
            row, make = run[:2]
            if repeat and row.seconds[0] > AFFORDABLE:
                continue
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = make()
                threads.settle()
                start = time.perf_counter()
                try:
                    model.fit(X, y)
                except Exception as error:  # a contender's failure is its row's note
                    row.seconds.clear()
                    row.notes.append(_error(error))
                    log(f"  {row.name:28s} {row.notes[-1]}")
                    runs.remove(run)
                    continue
                row.seconds.append(time.perf_counter() - start)
            run[2], run[3] = model, caught
            log(f"  {row.name:28s} {format_time(row.seconds[-1]):>9s}")
    for row, _, model, caught in runs:
        row.C, row.score = chosen_c(model)
        row.scores = mean_scores(model)
        converging = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        others = [f"{w.category.__name__}: {w.message}" for w in caught
                  if not issubclass(w.category, ConvergenceWarning)]
        if converging:
            row.notes.append(f"{converging} ConvergenceWarnings (max_iter=100)")
        if others:
            row.notes.append(f"{len(others)} other warnings, first: {others[0][:120]}")
        if not row.peer and hasattr(model, "solver_"):
            stats = getattr(model, "fit_stats_", {})
            passes = stats.get("evaluations", 0) + stats.get("products", 0)
            row.notes.insert(0, f"solver_={model.solver_}, {passes} passes over X")
    return rows


def cv_table(rows):
    """The markdown table of one CV shape."""
    reference = next((r.C for r in rows if not r.peer and r.C is not None), None)
    fastest = min((r.median for r in rows if r.peer and r.seconds), default=None)
    lines = ["| contender | threads | time | C_ | mean held-out accuracy at C_ | C_ = fastlr's "
             "| × fastest peer | notes |",
             "| --- | ---: | ---: | ---: | ---: | :---: | ---: | --- |"]
    for r in rows:
        if not r.seconds:
            lines.append(f"| {r.name} | {r.threads} | — | — | — | — | | {'; '.join(r.notes)} |")
            continue
        once = f"1 fit (> {AFFORDABLE:g} s)" if r.seconds[0] > AFFORDABLE else "1 fit"
        notes = [f"median of {len(r.seconds)}" if len(r.seconds) > 1 else once, *r.notes]
        if r.peer:
            ratio = "fastest peer" if r.median == fastest else ""
        else:
            ratio = format_ratio(fastest / r.median) if fastest else ""
        same = "(itself)" if not r.peer else same_c(r.C, reference)
        if same == "no" and r.scores:
            notes.append(f"its score at fastlr's C_ {reference:.6g}: "
                         f"{score_at(r.scores, reference):.6f}")
        lines.append(f"| {r.name} | {r.threads} | {format_time(r.median)} | {r.C:.6g} | "
                     f"{r.score:.6f} | {same} | {ratio} | {'; '.join(notes)} |")
    return "\n".join(lines)


def run_cv(shape, repeats, n_threads, log=print):
    """The table of one CV shape (float64 whatever ``--dtype``)."""
    rows = measure_cv(shape, repeats, n_threads, log)
    m, n = CV_SHAPES[shape]
    return (f"\n### {shape}, float64\n\nfastlr.datasets.make_problem({n}, {m}) transposed "
            f"(C-ordered, {m} × {n}); LogisticRegressionCV(Cs={CV_CS}, "
            f"cv=StratifiedKFold({CV_FOLDS}))\n\n{cv_table(rows)}")


# ----------------------------------------------------------------------------- header

def header(info, n_threads, repeats, budget, shapes):
    """The run's lines on the model shapes among ``shapes`` (empty if none)."""
    import fastlr

    lines = []
    machine = (f"CPU {info['cpu']}, {info['cores']} cores; threads: fastlr {n_threads}, the "
               f"peers at their defaults (scikit-learn's BLAS as is: {blas_threads()}; "
               f"scikit-learn-intelex: {intelex_threads()})")
    if any(shape in MULTINOMIAL_SHAPES for shape in shapes):
        lines.append(
            f"fastlr {fastlr.__version__} multinomial fit benchmark — {machine}; C={C:g}, "
            f"with intercept (not penalized): objective C Σ [logsumexp(z_i) − z_i,y_i] + "
            f"½‖W‖², z = X Wᵀ + b, computed in float64 by NumPy; tol ladder {LADDER[0]:g} … "
            f"{LADDER[-1]:g} per contender (stopped after a fit > {budget:g} s); time = its "
            f"fit at the loosest tol within {TARGET['float64']:g} (float32 X: "
            f"{TARGET['float32']:g}) of the best objective"
            + (f", median of {repeats} fits when ≤ {AFFORDABLE:g} s" if repeats > 1 else ""))
    if any(shape in CV_SHAPES for shape in shapes):
        lines.append(
            f"fastlr {fastlr.__version__} cross-validation benchmark — {machine}; "
            f"LogisticRegressionCV(Cs={CV_CS}, cv=StratifiedKFold({CV_FOLDS}), "
            f"scoring=\"accuracy\", l1_ratios=(0,), use_legacy_attributes=False), tol and "
            f"max_iter at their defaults, the same folds object for every contender; "
            f"float64 X whatever --dtype; time = median of {repeats} fits, round robin (1 "
            f"for a contender whose first fit takes > {AFFORDABLE:g} s)")
    return "\n".join(lines)
