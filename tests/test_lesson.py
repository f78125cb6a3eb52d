"""docs/lesson.py runs top to bottom, with the course's data and without (every exercise's
answer checked inside it); its student version holds no answer and stops, clearly, at the
first exercise; the tutorial draws its beginner's figure and the course's learning curves."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fastlr import lesson
from helpers import COURSE_DATA

LESSON = Path(__file__).resolve().parents[1] / "docs" / "lesson.py"
TEXT = LESSON.read_text(encoding="utf-8")


def run_lesson(path, data_folder, tmp_path, timeout=300):
    """Run a lesson script as a class would; figures go to ``tmp_path``."""
    env = {**os.environ, "FASTLR_COURSE_DATA": str(data_folder), "TMPDIR": str(tmp_path)}
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=tmp_path)


def test_the_lesson_runs_top_to_bottom_with_the_course_data(tmp_path):
    result = run_lesson(LESSON, COURSE_DATA, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "WRONG" not in result.stdout and result.stdout.count("ok ") >= 20
    for name in ("convexity", "np-dot-demo", "learning-curves"):  # the figures, as files
        assert (tmp_path / "fastlr-lesson" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    if (COURSE_DATA / "train_catvnoncat.h5").is_file():
        assert "Data: the course's cat / non-cat images" in result.stdout
        for check in ("the course's model", "the course's published costs",
                      "learning rate 0.0001: the course's accuracies"):
            assert f"ok   {check}" in result.stdout


def test_the_lesson_runs_without_the_course_data(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    result = run_lesson(LESSON, empty, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Data: synthetic data of the course's shapes" in result.stdout
    assert "WRONG" not in result.stdout and result.stdout.count("ok ") >= 16
    assert "ok   the course's model" not in result.stdout  # nothing to compare with
    assert "ok   the gradient check" in result.stdout  # every section ran


# --------------------------------------------------------------------------- the student version


STUDENT = lesson.student(TEXT, "docs/lesson.py")
ANSWERS = lesson.answers(TEXT)


def test_every_exercise_holds_answers_and_every_answer_is_in_an_exercise():
    exercises = re.findall(r"^@exercise\((\d+)\)\ndef (\w+)", TEXT, re.MULTILINE)
    assert [int(n) for n, _ in exercises] == list(range(1, len(exercises) + 1))
    assert len(exercises) >= 9  # the gradient check among them
    tree = ast.parse(TEXT)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    names = {name for _, name in exercises}
    answered = set()
    for number, _ in ANSWERS:
        owner = [name for name, f in functions.items() if f.lineno <= number <= f.end_lineno]
        assert owner and owner[0] in names, f"answer on line {number} outside an exercise"
        answered.add(owner[0])
    assert answered == names


def test_the_student_version_parses_and_holds_no_answer():
    ast.parse(STUDENT)
    assert lesson.answers(STUDENT) == []
    assert not [line for line in STUDENT.splitlines() if line.rstrip().endswith("# answer")]
    code = [line for line in STUDENT.splitlines() if not line.lstrip().startswith("#")]
    for _, answer in ANSWERS:  # not in the code anywhere else either (the text may quote
        assert not [line for line in code if answer in line], answer  # the lecture's slide)
    assert STUDENT.count("= ...") + STUDENT.count("return ...") >= len(ANSWERS)
    assert "**Student version.**" in STUDENT


def test_the_student_checks_do_not_contain_the_answers():
    """No check compares an answer with the answer's own formula."""
    values = {ast.unparse(ast.parse(answer).body[0].value) for _, answer in ANSWERS}
    values = {v for v in values if len(v) > 6}  # skip bare names such as `dv * 1`
    tree = ast.parse(STUDENT)
    checks = [ast.unparse(node) for node in ast.walk(tree)
              if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check"]
    assert len(checks) >= 15
    for call in checks:
        assert not [v for v in values if v in call], call


def test_the_student_version_stops_clearly_at_the_first_exercise(tmp_path):
    path = tmp_path / "lesson-student.py"
    path.write_text(STUDENT, encoding="utf-8")
    empty = tmp_path / "no-data"
    empty.mkdir()
    result = run_lesson(path, empty, tmp_path, timeout=120)
    assert result.returncode == 1
    assert "ok   n_x = 3 · 64 · 64" in result.stdout  # the cells before it ran
    assert result.stderr.strip().splitlines()[-1].startswith(
        "fastlr.lesson.NotAnswered: Exercise 1 (sigmoid) is not answered yet")


def test_the_command_line_writes_both_versions(tmp_path, capsys):
    assert lesson.main(["student", str(LESSON), "-o", str(tmp_path / "s.py")]) == 0
    assert (tmp_path / "s.py").read_text(encoding="utf-8") == STUDENT
    assert lesson.main(["teacher", str(LESSON), "-o", str(tmp_path / "t.py")]) == 0
    assert (tmp_path / "t.py").read_text(encoding="utf-8") == TEXT
    assert lesson.main(["student", str(tmp_path / "missing.py")]) == 1
    assert "python -m fastlr.lesson:" in capsys.readouterr().err


def test_a_notebook_is_set_to_a_kernel_and_marked_for_slides(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("jupytext", reason='notebooks need jupytext ("fastlr-vectorized[lesson]")')
    assert lesson.main(["student", str(LESSON), "-o", str(tmp_path / "s.ipynb")]) == 0
    notebook = nbformat.read(tmp_path / "s.ipynb", as_version=4)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    kinds = [cell.metadata["slideshow"]["slide_type"] for cell in notebook.cells]
    headings = [c for c in notebook.cells if c.cell_type == "markdown"
                and c.source.startswith("## ")]
    assert kinds.count("slide") >= len(headings) >= 14
    assert all(c.cell_type == "markdown" and c.source.startswith("#")
               for c, kind in zip(notebook.cells, kinds) if kind == "slide")
    # the teacher's notebook (as the documentation site offers it) gives the same student
    assert lesson.main(["teacher", str(LESSON), "-o", str(tmp_path / "t.ipynb")]) == 0
    assert lesson.main(["student", str(tmp_path / "t.ipynb"), "-o", str(tmp_path / "s.py")]) == 0
    assert (tmp_path / "s.py").read_text(encoding="utf-8") == STUDENT


@pytest.mark.parametrize("line", ["for i in range(3):  # answer", "print(x)  # answer",
                                  "x = (1,  # answer"])
def test_an_answer_line_must_be_an_assignment_or_a_return(line):
    with pytest.raises(ValueError, match="answer line"):
        lesson.student(f"# %%\n{line}\n", "bad.py")


def test_a_lesson_without_answers_is_refused():
    with pytest.raises(ValueError, match="no line is marked"):
        lesson.student("# %%\nx = 1\n", "plain.py")


# --------------------------------------------------------------------------- the machinery


def test_an_unanswered_exercise_says_so_and_an_answered_one_runs():
    @lesson.exercise(4)
    def unanswered(a, y):
        dz = ...
        return dz

    @lesson.exercise(5)
    def answered(a, y):
        return a - y

    with pytest.raises(lesson.NotAnswered, match=r"Exercise 4 \(unanswered\) is not answered"):
        unanswered(0.5, 1.0)
    assert answered(0.75, 1.0) == -0.25


def test_check_prints_ok_or_wrong(capsys):
    lesson.check("close enough", [1.0, 2.0 + 1e-12], [1.0, 2.0])
    with pytest.raises(AssertionError, match="got"):
        lesson.check("off", 1.1, 1.0)
    with pytest.raises(AssertionError):
        lesson.check("wrong shape", [1.0, 1.0], [1.0])
    with pytest.raises(lesson.NotAnswered):
        lesson.check("a placeholder", ..., 1.0)
    assert capsys.readouterr().out.splitlines() == [
        "ok   close enough", "WRONG  off", "WRONG  wrong shape"]


def test_best_time_takes_the_best_of_at_least_two_calls():
    calls = []
    result, seconds, n = lesson.best_time(calls.append, 1, budget=0.0, at_least=2)
    assert n == 2 and calls == [1, 1] and result is None and seconds >= 0
    _, _, n = lesson.best_time(abs, -1, budget=10.0, repeats=7)
    assert n == 7


def test_the_load_warning_is_fastlr_benchs():
    cores = os.cpu_count() or 1
    watch = lesson.LoadWatch()
    watch.settings = {"load_average_before": 0.1, "others_busy_during": 0.02}
    assert watch.warning() is None
    watch.settings["others_busy_during"] = 0.6
    text = watch.warning()
    assert text.startswith("busy: other processes used 60% of the cores while it measured")
    assert text.endswith(lesson.ADVICE) and "--threads" not in text
    watch.settings = {"load_average_before": 4.0 * cores, "others_busy_during": 0.6}
    text = watch.warning()
    assert text.startswith(f"busy: load average {4.0 * cores:.1f} on {cores} cores before")
    assert "; other processes used 60%" in text and text.count(lesson.ADVICE) == 1
    with lesson.LoadWatch() as watch:
        pass
    assert {"load_average_before", "others_busy_during", "load_average_after",
            "own_threads_during"} <= watch.settings.keys()


def test_one_blas_thread_limits_and_restores():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg  # noqa: F401  (its BLAS loaded, as limit_blas loads it)

    def blas_threads():
        return [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]

    before = blas_threads()
    with lesson.one_blas_thread() as pinned:
        assert pinned and set(blas_threads()) == {1}
    assert blas_threads() == before


def test_course_data_falls_back_to_synthetic_data_of_the_course_shapes(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTLR_COURSE_DATA", str(tmp_path))
    assert lesson.course_data_folder() is None
    data = lesson.course_data()
    assert not data.real and data.folder is None
    assert data.X_train.shape == (12288, 209) and data.X_test.shape == (12288, 50)
    assert data.Y_train.shape == (1, 209) and data.X_train.flags.f_contiguous
    assert "FASTLR_COURSE_DATA has no train_catvnoncat.h5" in data.description


def test_course_data_is_found_in_a_parent_folder(tmp_path, monkeypatch):
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "train_catvnoncat.h5").write_bytes(b"")
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.delenv("FASTLR_COURSE_DATA", raising=False)
    monkeypatch.chdir(tmp_path / "a" / "b")
    assert lesson.course_data_folder() == tmp_path / "shared" / "data"


# --------------------------------------------------------------------------- the tutorial


def test_the_tutorial_draws_the_three_steps(tmp_path, capsys):
    from fastlr import tutorial

    png = tmp_path / "beginner.png"
    assert tutorial.main(["--size", "30x40", "--part1-only", "--slow-seconds", "0.01",
                          "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "Part 2" not in out and "× faster" in out and "the best of repeated calls" in out


def test_the_tutorial_draws_the_learning_curves(tmp_path, capsys):
    from fastlr import tutorial

    png = tmp_path / "costs.png"
    assert tutorial.main(["--size", "30x40", "--part1-only", "--slow-seconds", "0.01",
                          "--plot-costs", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    for rate in ("0.01", "0.001", "0.0001"):
        assert f"learning rate {rate} " in out
    assert max(len(line) for line in out.splitlines()) <= tutorial.WIDTH


def test_the_figures_leave_pyplot_alone(tmp_path):
    pytest.importorskip("matplotlib")
    code = f"""
import sys
from matplotlib.figure import Figure
from fastlr import lesson, tutorial
tutorial.plot_costs({{0.01: [0.7, 0.5], 0.001: [0.7, 0.6]}}, {str(tmp_path / "c.png")!r})
figure = Figure()
figure.subplots().plot([1, 2])
lesson.show(figure, "x")
print("matplotlib.pyplot" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "False"
    assert (tmp_path / "fastlr-lesson" / "x.png").is_file()
