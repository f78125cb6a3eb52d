"""The lesson's machinery, and its student version.

The lesson itself — the lecture in its order, with its exercises — is ``docs/lesson.py``, a
notebook in plain-Python form. This module holds what a class should not have to read, and
what the lesson shares with ``python -m fastlr.tutorial``:

* :func:`exercise`, :func:`check`, :class:`NotAnswered` — an exercise is a function. Called
  while it still holds a ``...``, it raises :class:`NotAnswered`, whose message names the
  exercise: the lesson stops there, and says why. :func:`check` compares an answer with a
  value computed another way (a finite difference, fastlr's reference implementation, a
  published number), never with the answer's own formula.
* :func:`course_data` — the course's cat / non-cat data, or synthetic data of its shapes.
* :func:`best_time`, :func:`one_blas_thread`, :class:`LoadWatch` — live timings that hold on
  a shared machine: the best of repeated calls, BLAS on one thread where the point is the
  interpreter, and a warning when other processes used the cores meanwhile.
* :func:`show` — a figure (a :class:`matplotlib.figure.Figure`; no pyplot) inline in a
  notebook, or into a PNG file from a script.
* :func:`student` and the command line — the student version of the lesson::

      python -m fastlr.lesson student docs/lesson.py -o lesson-student.py
      python -m fastlr.lesson student docs/lesson.py -o lesson-student.ipynb
      python -m fastlr.lesson teacher docs/lesson.py -o lesson.ipynb
      python -m fastlr.lesson student lesson.ipynb -o lesson-student.ipynb  # from a notebook

  In the teacher's lesson every answer line ends with the comment ``# answer``; the student
  version has ``...`` in place of its value (``dz = a - y  # answer`` becomes
  ``dz = ...``, ``return a - y  # answer`` becomes ``return ...``). An ``.ipynb`` output is
  a notebook (jupytext) set to the ``python3`` kernel, ready for
  ``jupyter nbconvert --execute``, its cells marked for ``jupyter nbconvert --to slides``
  (:func:`slides`).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import gc
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from fastlr import threads
from fastlr._install import pip_install

#: a line of the teacher's lesson whose value the student writes: ``code  # answer``
ANSWER = re.compile(r"^(?P<indent>[ \t]*)(?P<code>\S.*?)[ \t]+# answer[ \t]*$")

#: the cell the student version gets after the lesson's first cell
STUDENT_NOTE = """\
# %% [markdown]
# **Student version.** Generated from the teacher's lesson (`docs/lesson.py`) by
# `python -m fastlr.lesson student`. Each exercise is a function with a `...` where your
# code goes: replace every `...` with your code, then run the cell; the check under it
# compares your answer with a value computed another way. Run the cells in order: the lesson
# stops at the first exercise not answered yet, and names it.
"""

#: the notebook kernel the ``.ipynb`` outputs are set to (ipykernel's default name)
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


# --------------------------------------------------------------------------- exercises


class NotAnswered(Exception):
    """An exercise still holds a ``...``: called before it was answered."""

    def _render_traceback_(self):  # IPython: this message instead of a traceback
        return [f"NotAnswered: {self}"]


def _holds_ellipsis(code) -> bool:
    """Whether a code object (or one nested in it) loads ``...``."""
    return any(c is Ellipsis or (hasattr(c, "co_consts") and _holds_ellipsis(c))
               for c in code.co_consts)


def exercise(number: int):
    """Mark a function as the lesson's exercise ``number``.

    A function still holding a ``...`` (unanswered) is replaced by one that raises
    :class:`NotAnswered` when called, naming the exercise; an answered one is returned as
    it is.

    Parameters
    ----------
    number : int
        The exercise's number in the lesson.

    Returns
    -------
    decorator : callable
        Applied to the exercise's function.
    """
    def decorate(function):
        if not _holds_ellipsis(function.__code__):
            return function

        @functools.wraps(function)
        def not_answered(*args, **kwargs):
            raise NotAnswered(
                f"Exercise {number} ({function.__name__}) is not answered yet: write your "
                "code in place of each ... in it, run its cell again, then go on.")

        return not_answered

    return decorate


def check(name, got, expected, tolerance=1e-9) -> None:
    """Print ``ok`` when ``got`` matches ``expected`` (same shape, within ``tolerance``,
    relative and absolute); otherwise print ``WRONG`` and raise AssertionError.

    Parameters
    ----------
    name : str
        What is checked, printed after ``ok`` or ``WRONG``.
    got, expected : array_like
        The answer, and the value it should have, computed another way.
    tolerance : float, default=1e-9
        Relative and absolute tolerance.
    """
    import numpy as np

    if got is Ellipsis:
        raise NotAnswered(f"{name}: not answered yet (a ... where the answer goes)")
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    ok = got.shape == expected.shape and bool(
        np.allclose(got, expected, rtol=tolerance, atol=tolerance))
    print(f"{'ok ' if ok else 'WRONG'}  {name}")
    if not ok:
        raise AssertionError(f"{name}: got {got.tolist()}, expected {expected.tolist()}")


# --------------------------------------------------------------------------- the data


class CourseData(NamedTuple):
    """The lesson's data: the course's, or synthetic of its shapes."""

    X_train: object
    Y_train: object
    X_test: object
    Y_test: object
    real: bool  # the course's images (True) or synthetic data (False)
    description: str
    folder: Path | None  # where the course's files are (None: synthetic)


def course_data_folder() -> Path | None:
    """The course's data folder: ``FASTLR_COURSE_DATA`` when it is set (a folder without the
    files then means: none), else ``shared/data`` in the working folder or one of its
    parents; None when there is none.

    Returns
    -------
    folder : Path or None
        A folder holding ``train_catvnoncat.h5``, or None.
    """
    env = os.environ.get("FASTLR_COURSE_DATA")
    here = Path.cwd()
    candidates = [Path(env)] if env else [p / "shared" / "data" for p in (here, *here.parents)]
    return next((c for c in candidates if (c / "train_catvnoncat.h5").is_file()), None)


def course_data() -> CourseData:
    """The course's cat / non-cat data (:func:`course_data_folder`) prepared as the course
    prepares it, or — without the files or h5py — synthetic data of the same shapes:
    ``X_train`` (12288, 209), ``X_test`` (12288, 50), F-ordered.

    Returns
    -------
    data : CourseData
        ``X_train, Y_train, X_test, Y_test, real, description, folder``.
    """
    from fastlr import tutorial

    folder = course_data_folder()
    why = ("FASTLR_COURSE_DATA has no train_catvnoncat.h5" if os.environ.get(
        "FASTLR_COURSE_DATA") else "the course's data folder was not found")
    if folder is not None:
        try:
            X_train, Y_train, X_test, Y_test, description = tutorial.load_data(folder)
            return CourseData(X_train, Y_train, X_test, Y_test, True, description, folder)
        except ImportError:
            why = f"reading the course's .h5 files needs h5py: {pip_install('lesson')}"
    X_train, Y_train, X_test, Y_test, _ = tutorial.load_data(None)
    return CourseData(X_train, Y_train, X_test, Y_test, False,
                      f"synthetic data of the course's shapes ({why}; set "
                      "FASTLR_COURSE_DATA to the folder of train_catvnoncat.h5 and "
                      "test_catvnoncat.h5 for the real images)", None)


# --------------------------------------------------------------------------- timing


def best_time(function, *args, budget=1.0, repeats=50, at_least=2):
    """``(result, seconds, calls)``: the shortest of repeated calls of ``function(*args)``.

    Calls until ``repeats`` are done or ``budget`` seconds are spent, but at least
    ``at_least`` times; the first call is timed too (it warms caches up; the best of several
    ignores it). The garbage collector is off while a call runs, as in :mod:`timeit`. The
    best, not the median: other work can only make a call slower.

    Parameters
    ----------
    function : callable
        What is timed.
    *args
        Its arguments.
    budget : float, default=1.0
        Seconds to spend, roughly.
    repeats : int, default=50
        At most this many calls.
    at_least : int, default=2
        At least this many calls, whatever the budget.

    Returns
    -------
    result : object
        What the last call returned.
    seconds : float
        The shortest call's time.
    calls : int
        How many calls were timed.
    """
    times = []
    start = time.perf_counter()
    while len(times) < max(at_least, 1) or (
            len(times) < repeats and time.perf_counter() - start < budget):
        enabled = gc.isenabled()
        gc.disable()
        try:
            began = time.perf_counter()
            result = function(*args)
            times.append(time.perf_counter() - began)
        finally:
            if enabled:
                gc.enable()
    return result, min(times), len(times)


@contextlib.contextmanager
def one_blas_thread():
    """NumPy's (and SciPy's) BLAS on one thread inside the ``with`` block.

    Where the point is the interpreter (a Python loop against ``np.dot``), both sides then
    run on one core, and no BLAS thread can lose its core to other work (on a shared 2-core
    AMD EPYC, Zen 3, with BLAS on two threads, the lesson's ``np.dot`` demo showed 25–53×
    instead of ~300–700× in 5 runs of 18; on one thread it was stable). Yields whether the
    limit is in place: it needs threadpoolctl
    (``fastlr-vectorized[lesson]`` installs it); without it the block runs unlimited.
    """
    limiter = threads.limit_blas(1)
    try:
        yield limiter is not None
    finally:
        if limiter is not None:
            limiter.restore_original_limits()


def blas_on_one_thread() -> bool:
    """NumPy's (and SciPy's) BLAS on one thread from now on, in this process: what
    :func:`one_blas_thread` does for a ``with`` block, for a whole lesson.

    Returns
    -------
    pinned : bool
        Whether the limit is in place (False without threadpoolctl).
    """
    return threads.limit_blas(1) is not None


#: what the lesson's and the tutorial's load warnings advise (``fastlr bench``'s own advice,
#: :data:`fastlr.bench.runner.NOISY`, names its ``--threads`` option)
ADVICE = ("other work shares the cores, so these times can be too slow and their ratios off: "
          "measure again when the machine is quiet.")


class LoadWatch:
    """Other work on the cores while timings run: ``with LoadWatch() as load: ...`` then
    ``load.warning()``.

    Records what ``fastlr bench`` records around its measurements — the load average before
    and after (:func:`fastlr.bench.load_average`), the share of the cores other processes
    used meanwhile (``/proc/stat`` less this process's CPU time,
    :func:`fastlr.autotune.load_meter`) and this process's own threads — and judges them by
    ``fastlr bench``'s rules (:func:`fastlr.bench.runner.load_warnings`).
    """

    def __init__(self):
        self.settings = {}
        self._meter = None

    def __enter__(self):
        from fastlr import autotune
        from fastlr.bench import runner

        self.settings = {"load_average_before": runner.load_average()}
        self._meter = autotune.load_meter()
        return self

    def __exit__(self, *exc):
        from fastlr import autotune
        from fastlr.bench import runner

        now = autotune.load_meter()
        wall = max(now.wall - self._meter.wall, 1e-9)
        self.settings.update(others_busy_during=self._meter.busy_since(),
                             load_average_after=runner.load_average(),
                             own_threads_during=(now.own - self._meter.own) / wall)
        return False

    def warning(self) -> str | None:
        """``fastlr bench``'s load warnings for these timings, as one paragraph, or None.

        Returns
        -------
        warning : str or None
            ``"busy: ..."``, or None when nothing else used the cores.
        """
        from fastlr.bench import runner

        found = runner.load_warnings(self.settings, os.cpu_count() or 1)
        if not found:
            return None
        what = "; ".join(text.replace(": " + runner.NOISY, "") for text in found)
        return f"busy: {what}: {ADVICE}"


# --------------------------------------------------------------------------- figures


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return getattr(shell, "kernel", None) is not None


def show(figure, name: str):
    """Show a :class:`matplotlib.figure.Figure`: inline in a notebook; from a script, into
    ``<temporary folder>/fastlr-lesson/<name>.png`` (the path is printed).

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure.
    name : str
        Its file name without ``.png``, when written to a file.

    Returns
    -------
    path : Path or None
        The file written, or None when shown inline.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    if _in_notebook():
        from IPython.display import Image, display

        display(Image(data=buffer.getvalue()))
        return None
    path = Path(tempfile.gettempdir()) / "fastlr-lesson" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    print(f"(figure: {path})")
    return path


# --------------------------------------------------------------------------- the student version


def _blank(code: str, where: str) -> str:
    """``code`` (one statement) with its value replaced by ``...``."""
    try:
        (node,) = ast.parse(code).body
    except (SyntaxError, ValueError):
        raise ValueError(f"{where}: an answer line must be one whole statement; got {code!r}") \
            from None
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return)) \
            and node.value is not None:
        prefix = code.encode("utf-8")[:node.value.col_offset].decode("utf-8")
        return prefix + "..."
    raise ValueError(f"{where}: an answer line must be an assignment or a return; got {code!r}")


def answers(text: str) -> list[tuple[int, str]]:
    """The teacher's answer lines: ``(line number, statement)`` of each line marked
    ``# answer``.

    Parameters
    ----------
    text : str
        The teacher's lesson.

    Returns
    -------
    answers : list of (int, str)
        Line numbers from 1, and each answer's statement without its comment.
    """
    return [(number, match["code"]) for number, line in enumerate(text.splitlines(), 1)
            if (match := ANSWER.match(line))]


def student(text: str, name: str = "lesson.py") -> str:
    """The student version of the teacher's lesson ``text``.

    Every line marked ``# answer`` keeps its target and loses its value to ``...``
    (``dw = np.dot(X, dZ.T) / m  # answer`` becomes ``dw = ...``); a note for students
    follows the first cell. The result must compile and hold no answer line.

    Parameters
    ----------
    text : str
        The teacher's lesson (jupytext percent format).
    name : str, default="lesson.py"
        Its name, for error messages.

    Returns
    -------
    text : str
        The student version.
    """
    lines = text.splitlines(keepends=True)
    marked = answers(text)
    if not marked:
        raise ValueError(f"{name}: no line is marked '# answer'")
    for number, code in marked:
        indent = ANSWER.match(lines[number - 1])["indent"]
        lines[number - 1] = indent + _blank(code, f"{name}:{number}") + "\n"
    cells = [i for i, line in enumerate(lines) if line.startswith("# %%")]
    if len(cells) > 1:
        lines.insert(cells[1], STUDENT_NOTE + "\n")
    out = "".join(lines)
    compile(out, f"student version of {name}", "exec")
    if answers(out):
        raise ValueError(f"{name}: the student version still holds answer lines")
    return out


def write(text: str, path) -> Path:
    """Write the lesson ``text`` to ``path``: a ``.py`` file as it is, an ``.ipynb`` file as
    a notebook set to the ``python3`` kernel (jupytext, ``fastlr-vectorized[lesson]``).

    Parameters
    ----------
    text : str
        A lesson in jupytext percent format.
    path : str or Path
        ``.py`` or ``.ipynb``.

    Returns
    -------
    path : Path
        The file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".ipynb":
        try:
            import jupytext
        except ImportError:
            raise ImportError(f"writing a notebook needs jupytext: {pip_install('lesson')}") \
                from None
        notebook = jupytext.reads(text, fmt="py:percent")
        notebook.metadata["kernelspec"] = dict(KERNELSPEC)
        slides(notebook)
        jupytext.write(notebook, path, fmt="ipynb")
    else:
        path.write_text(text, encoding="utf-8")
    return path


def slides(notebook) -> None:
    """Mark ``notebook``'s cells for ``jupyter nbconvert --to slides`` (reveal.js), unless a
    cell says otherwise: a heading starts a slide, any other text a sub-slide (one step
    down), code stays on the slide of the text before it, and code after code goes one step
    down.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        The notebook, changed in place.
    """
    previous = None
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            kind = "slide" if cell.source.lstrip().startswith("#") else "subslide"
        else:
            kind = "subslide" if previous == "code" else "-"
        cell.metadata.setdefault("slideshow", {"slide_type": kind})
        previous = cell.cell_type


def read(path) -> str:
    """The lesson at ``path`` in jupytext percent format: a ``.py`` file as it is, an
    ``.ipynb`` file (the documentation site's download) converted by jupytext.

    Parameters
    ----------
    path : str or Path
        ``.py`` or ``.ipynb``.

    Returns
    -------
    text : str
        The lesson as a percent-format script.
    """
    path = Path(path)
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    try:
        import jupytext
    except ImportError:
        raise ImportError(f"reading a notebook needs jupytext: {pip_install('lesson')}") \
            from None
    return jupytext.writes(jupytext.read(path), fmt="py:percent")


def main(argv=None) -> int:
    """``python -m fastlr.lesson {student,teacher} LESSON -o OUT``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: the command line's).

    Returns
    -------
    status : int
        0 on success, 1 on an error (printed).
    """
    parser = argparse.ArgumentParser(
        prog="python -m fastlr.lesson",
        description="The lesson's versions: 'student' replaces every answer (a line of the "
                    "teacher's lesson marked '# answer') with '...'; 'teacher' is the lesson "
                    "as it is. OUT ending in .ipynb is written as a notebook (jupytext).")
    parser.add_argument("version", choices=["student", "teacher"])
    parser.add_argument("lesson", help="the teacher's lesson, e.g. docs/lesson.py (or the "
                                       "lesson.ipynb the documentation site offers)")
    parser.add_argument("-o", "--output", default=None, metavar="OUT",
                        help="a .py or .ipynb file (default: the lesson on standard output)")
    args = parser.parse_args(argv)
    try:
        text = read(args.lesson)
        if args.version == "student":
            text = student(text, args.lesson)
        if args.output is None:
            sys.stdout.write(text)
        else:
            print(f"wrote {write(text, args.output)}")
    except (OSError, ValueError, SyntaxError, ImportError) as error:
        print(f"python -m fastlr.lesson: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
