"""``fastlr bench --fit`` (and ``python bench/fit.py``): time to the optimum, side by side.

Every contender fits the same L2-regularized logistic regression (``C=1``, intercept not
penalized; objective ``C Σ L(y, x·w + b) + ½‖w‖²``) on the same X in one process, one
after the other, threads at their defaults: fastlr's ``LogisticRegression`` (its default
solver, and each solver by name) and the peers installed here — scikit-learn's lbfgs,
newton-cg and newton-cholesky, scikit-learn-intelex and glum (``pip install
scikit-learn-intelex glum``). Each fit's objective is computed here, in float64 by NumPy
(independent of every contender), and reported as its relative gap to the best peer's.

Shapes: the course's cat data (209 × 12288), 1 000 000 × 100 and 100 000 × 1000
(``fastlr.datasets.make_problem``: standard normal features, labels from a logistic model;
C-ordered, each sample contiguous, as scikit-learn users hold X). A peer whose fit at a
shape takes longer than ``--peer-budget`` seconds on this machine kind (the times in
``KNOWN_SECONDS``) is left out there, with the reason printed.

Sparse shapes (``text``: ``fastlr.datasets.make_text_problem`` 300 000 × 200 000, 40
non-zeros per row; ``flights`` and ``movielens``: real data sets one-hot encoded,
:mod:`fastlr.bench.sparse_data`) are measured by :mod:`fastlr.bench.fit_sparse`: no
intercept, time to the same optimum over a ladder of tolerances, with Snap ML and LIBLINEAR
among the peers.

Model shapes (:mod:`fastlr.bench.fit_models`): the multinomial model (10 classes, with
intercept) on ``multinomial-200000x100`` (standard normal features, labels from a softmax
model with a fixed random W) and ``digits`` (scikit-learn's ``load_digits``, scaled),
against scikit-learn's lbfgs and newton-cg and scikit-learn-intelex, timed to the same
optimum by the sparse shapes' protocol (the multinomial objective computed here); and
cross-validation, ``LogisticRegressionCV(Cs=10, cv=StratifiedKFold(5))`` on
``cv-100000x100`` and ``cv-1000000x100`` (float64, two classes), fastlr's against
scikit-learn's lbfgs and newton-cholesky on the same folds: time, ``C_``, its mean
held-out accuracy, and whether ``C_`` is fastlr's.
"""

from __future__ import annotations

import os
import statistics
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fastlr import threads
from fastlr.bench.formatting import format_ratio, format_time

SHAPES = {"cat": None, "1000000x100": (1_000_000, 100), "100000x1000": (100_000, 1000)}
TOL = 1e-6  # every contender's tol (scikit-learn's criterion: the largest gradient entry)
C = 1.0
#: seconds a peer's fit took at a shape on this machine kind (float64; PERFORMANCE-NOTES.md)
KNOWN_SECONDS = {
    ("sklearn newton-cholesky", "cat"): 99, ("glum", "cat"): 320,
    ("sklearn newton-cg", "1000000x100"): 14.0, ("sklearn newton-cholesky", "1000000x100"): 7.1,
    ("glum", "1000000x100"): 5.4, ("sklearn newton-cg", "100000x1000"): 17.8,
    ("sklearn newton-cholesky", "100000x1000"): 23.4, ("glum", "100000x1000"): 44.0,
    ("sklearn lbfgs", "cat"): 6.4,
}


@dataclass
class Row:
    name: str
    peer: bool
    seconds: list = field(default_factory=list)
    objective: float = float("nan")
    note: str = ""
    stats: dict | None = None  # fastlr: passes, kernel time, memory

    @property
    def median(self):
        return statistics.median(self.seconds) if self.seconds else None


def course_data_dir(data_dir=None):
    """The folder of the course's .h5 files: ``data_dir``, ``$FASTLR_COURSE_DATA``, or
    ``../shared/data`` beside the current directory; None if none has them."""
    candidates = [data_dir, os.environ.get("FASTLR_COURSE_DATA"),
                  Path.cwd().parent / "shared" / "data"]
    for folder in candidates:
        if folder and (Path(folder) / "train_catvnoncat.h5").is_file():
            return Path(folder)
    return None


def load_shape(name, dtype, data_dir=None):
    """``(X, y)`` in scikit-learn's layout, C-ordered, of ``dtype``."""
    from fastlr import datasets

    if name == "cat":
        train_x, train_y, *_ = datasets.load_catvnoncat(data_dir, dtype=dtype)
        return np.ascontiguousarray(train_x.T), train_y.ravel()
    m, n = SHAPES[name]
    X, Y = datasets.make_problem(n, m, dtype=dtype, order="F")
    return X.T, Y.ravel()


def objective(coef, intercept, X, y):
    """``C Σ L + ½‖w‖²`` in float64, in blocks of rows (no float64 copy of X): by NumPy, or
    by scipy's ``X @ w`` for a sparse X. ``y``: 0/1 labels."""
    import scipy.sparse

    w = np.asarray(coef, dtype=np.float64).ravel()
    sparse = scipy.sparse.issparse(X)
    total = 0.0
    for lo in range(0, X.shape[0], 65536):
        block = X[lo:lo + 65536]
        block = block.astype(np.float64, copy=False) if sparse else \
            np.asarray(block, dtype=np.float64)
        z = block @ w + float(np.ravel(intercept)[0])
        total += float(np.sum(np.logaddexp(0.0, z) - y[lo:lo + 65536] * z))
    return C * total + 0.5 * float(w @ w)


def contenders():
    """``(name, is_peer, make_estimator, or the reason it is not installed)``."""
    import fastlr

    yield "fastlr (default solver)", False, lambda m: fastlr.LogisticRegression(
        C=C, tol=TOL, max_iter=10000)
    for solver in ("lbfgs", "newton-cg"):
        yield f"fastlr {solver}", False, lambda m, s=solver: fastlr.LogisticRegression(
            C=C, solver=s, tol=TOL, max_iter=10000)
    try:
        from sklearn.linear_model import LogisticRegression as Sklearn
    except ImportError:
        yield "scikit-learn", True, "not installed (pip install scikit-learn)"
    else:
        for solver in ("lbfgs", "newton-cg", "newton-cholesky"):
            yield f"sklearn {solver}", True, lambda m, s=solver: Sklearn(
                C=C, solver=s, tol=TOL, max_iter=10000)
    try:
        from sklearnex.linear_model import LogisticRegression as Intelex
    except ImportError:
        yield "scikit-learn-intelex", True, "not installed (pip install scikit-learn-intelex)"
    else:
        yield "scikit-learn-intelex", True, lambda m: Intelex(C=C, tol=TOL, max_iter=10000)
    try:
        from glum import GeneralizedLinearRegressor
    except ImportError:
        yield "glum", True, "not installed (pip install glum)"
    else:
        # glum: (1/m) Σ L + ½ α‖w‖², the same optimum at α = 1 / (C m)
        yield "glum", True, lambda m: GeneralizedLinearRegressor(
            family="binomial", alpha=1.0 / (C * m), l1_ratio=0.0, gradient_tol=TOL,
            max_iter=10000)


def fastlr_stats(model, X, y):
    """Passes over X, the solver's time per pass against the kernel's own, peak memory."""
    import fastlr
    from fastlr import registry

    stats = dict(model.fit_stats_)
    passes = stats["evaluations"] + stats["products"]
    _, kernels = registry.load_model(model.backend_)
    labels = (y == model.classes_[1]).astype(np.float64)
    weights, grad = np.ones(len(y)), np.empty(X.shape[1])
    w = np.zeros(X.shape[1])
    n_threads = model.n_threads or fastlr.get_num_threads()
    threads.settle()
    times = []
    for _ in range(7):  # the kernel alone, back to back
        start = time.perf_counter()
        kernels.loss_gradient(w, 0.0, X, labels, weights, grad, None, n_threads)
        times.append(time.perf_counter() - start)
    alone = statistics.median(times)
    peak = traced_peak(lambda: model.fit(X, y))
    return {"solver": model.solver_, "passes": passes, "kernel_alone": alone,
            "per_pass": stats["seconds"] / max(passes, 1), "extra_memory": peak / X.nbytes,
            "n_iter": int(model.n_iter_[0])}


def traced_peak(call):
    """The peak of Python's and NumPy's allocations (tracemalloc) during ``call()``, in bytes
    (memory that BLAS, OpenMP or Numba allocate is not traced)."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(shape, dtype, repeats=3, peer_budget=30.0, data_dir=None, log=print):
    """The rows of one (shape, dtype): every contender's times, objective, notes."""
    X, y = load_shape(shape, dtype, data_dir)
    log(f"\n{shape} ({X.shape[0]} × {X.shape[1]}, {np.dtype(dtype).name}, "
        f"{X.nbytes / 1e6:.0f} MB)")
    rows, runs = [], []
    for name, peer, make in contenders():
        row = Row(name, peer)
        rows.append(row)
        if isinstance(make, str):
            row.note = make
            continue
        known = KNOWN_SECONDS.get((name, shape))
        if known and known > peer_budget:
            row.note = (f"left out: ~{known:.0f} s at this shape (> --peer-budget "
                        f"{peer_budget:g} s)")
            log(f"  {name:28s} {row.note}")
            continue
        runs.append([row, make, repeats if (known or 0) < 5 else 1, None])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a peer's ConvergenceWarning shows in its gap
        runs[0][1](X.shape[0]).fit(X, y)  # untimed: the first pass over fresh pages
        for repeat in range(repeats):  # round robin: a slow spell of the machine is shared
            for run in runs:
                row, make, count, _ = run
                if repeat < count:
                    run[3] = model = make(X.shape[0])
                    threads.settle()  # the previous contender's idle threads stop spinning
                    start = time.perf_counter()
                    model.fit(X, y)
                    row.seconds.append(time.perf_counter() - start)
    for row, _, _, model in runs:
        row.objective = objective(model.coef_, model.intercept_, X, y)
        if not row.peer:
            row.stats = fastlr_stats(model, X, y)
        log(f"  {row.name:28s} {format_time(row.median):>9s}  objective {row.objective:.12g}")
    return rows


def table(rows):
    """The markdown table of one (shape, dtype)."""
    peers = [r for r in rows if r.peer and r.seconds]
    best = min((r.objective for r in peers), default=float("nan"))
    fastest = min((r.median for r in peers), default=None)
    lines = ["| contender | time | objective gap to the best peer | × fastest peer | notes |",
             "| --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        if not r.seconds:
            lines.append(f"| {r.name} | — | — | — | {r.note} |")
            continue
        gap = (r.objective - best) / abs(best)
        ratio = format_ratio(fastest / r.median) if fastest and not r.peer else ""
        if r.peer and r.median == fastest:
            ratio = "fastest peer"
        note = r.note
        if r.stats:
            s = r.stats
            memory = f"memory beyond X {100 * s['extra_memory']:.1f} %"
            if s["solver"] == "newton-gram":
                note = (f"newton-gram: X Xᵀ and w by BLAS, {s['n_iter']} Newton steps, "
                        f"{s['passes']} kernel passes; {memory}")
            else:
                note = (f"{s['solver']}: {s['passes']} passes over X, "
                        f"{format_time(s['per_pass'])} per pass = "
                        f"{s['per_pass'] / s['kernel_alone']:.2f}× the kernel alone "
                        f"({format_time(s['kernel_alone'])}); {memory}")
        lines.append(f"| {r.name} | {format_time(r.median)} | {gap:+.1e} | {ratio} | {note} |")
    return "\n".join(lines)


def run(shapes=None, dtypes=("float64", "float32"), repeats=3, peer_budget=30.0,
        data_dir=None) -> int:
    """Measure and print every table; returns an exit status."""
    import fastlr
    from fastlr.bench import fit_l1, fit_l1_path, fit_models, fit_sparse
    from fastlr.bench.machine import machine_info

    shapes = list(shapes or [*SHAPES, *fit_sparse.DEFAULT_SPARSE, *fit_models.DEFAULT_MODELS,
                             *fit_l1.DEFAULT_L1, *fit_l1_path.DEFAULT_PATHS])
    n_threads = fastlr.get_num_threads()  # before a peer changes OpenMP's default
    info = machine_info()
    if any(shape in SHAPES for shape in shapes):
        print(f"fastlr {fastlr.__version__} fit benchmark — CPU {info['cpu']}, {info['cores']} "
              f"cores; fastlr threads {info['fastlr_threads']}, every peer at its default "
              f"threads; C={C:g}, tol={TOL:g} for every contender; time = median of {repeats} "
              f"fits, round robin (1 for peers known to take > 5 s)")
    if any(shape in fit_sparse.SPARSE_SHAPES for shape in shapes):
        print(fit_sparse.header(info, n_threads, repeats, peer_budget))
    if any(fit_models.is_model_shape(shape) for shape in shapes):
        print(fit_models.header(info, n_threads, repeats, peer_budget, shapes))
    if any(shape in fit_l1.L1_SHAPES for shape in shapes):
        print(fit_l1.header(info, n_threads, repeats, peer_budget))
    if any(shape in fit_l1_path.PATH_SHAPES for shape in shapes):
        print(fit_l1_path.header(info, n_threads, repeats, peer_budget))
    tables = []
    folder = course_data_dir(data_dir)
    for shape in shapes:
        if shape == "cat" and folder is None:
            print("\ncat: left out, the course's data were not found (--data DIR or "
                  "FASTLR_COURSE_DATA; pip install h5py)")
            continue
        if shape in fit_models.CV_SHAPES:  # float64 whatever dtypes
            tables.append(fit_models.run_cv(shape, repeats, n_threads))
            continue
        if shape in fit_l1.L1_SHAPES:  # float64 whatever dtypes
            text = fit_l1.run_shape(shape, repeats, peer_budget, n_threads)
            tables += [text] if text else []
            continue
        if shape in fit_l1_path.PATH_SHAPES:  # float64 whatever dtypes
            text = fit_l1_path.run_shape(shape, repeats, peer_budget, n_threads)
            tables += [text] if text else []
            continue
        for dtype in dtypes:
            if shape in fit_models.MULTINOMIAL_SHAPES:
                tables.append(fit_models.run_multinomial(shape, dtype, repeats, peer_budget,
                                                         n_threads))
                continue
            if shape in fit_sparse.SPARSE_SHAPES:
                text = fit_sparse.run_shape(shape, dtype, repeats, peer_budget, n_threads)
                if text is None:  # left out (the reason is printed)
                    break
                tables.append(text)
                continue
            rows = measure(shape, dtype, repeats, peer_budget, folder)
            tables.append(f"\n### {shape}, {dtype}\n\n{table(rows)}")
    print("\n".join(tables))
    return 0
