"""The README: its tour runs, its links lead somewhere, and it stays short (the rest of the
documentation is the site in docs/)."""

import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
README = (PROJECT / "README.md").read_text(encoding="utf-8")


def test_the_tour_runs():
    pytest.importorskip("sklearn")
    blocks = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    assert len(blocks) == 1 and len(blocks[0].splitlines()) <= 10
    namespace: dict = {}
    exec(blocks[0], namespace)
    assert namespace["model"].coef_.shape == (1, 2)


def test_every_relative_link_and_image_exists():
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [t for t in targets if "://" not in t]
    assert len(local) >= 10
    missing = [t for t in local if not (PROJECT / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


def test_it_is_at_most_150_lines():
    assert len(README.splitlines()) <= 150
