"""docs/lesson.py runs top to bottom (every exercise's answer checked inside it), and the
tutorial draws its beginner's figure."""

import os
import subprocess
import sys
from pathlib import Path

from helpers import COURSE_DATA

LESSON = Path(__file__).resolve().parents[1] / "docs" / "lesson.py"


def test_the_lesson_runs_top_to_bottom():
    result = subprocess.run([sys.executable, str(LESSON)], capture_output=True, text=True,
                            timeout=300, env={**os.environ,
                                              "FASTLR_COURSE_DATA": str(COURSE_DATA)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "WRONG" not in result.stdout and result.stdout.count("ok ") >= 8
    if (COURSE_DATA / "train_catvnoncat.h5").is_file():
        assert "ok   the course's model" in result.stdout


def test_the_tutorial_draws_the_three_steps(tmp_path, capsys):
    from fastlr import tutorial

    png = tmp_path / "beginner.png"
    assert tutorial.main(["--size", "30x40", "--part1-only", "--slow-seconds", "0.01",
                          "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "Part 2" not in out and "× faster" in out
