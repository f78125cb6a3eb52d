"""The README: its tour runs, its links lead somewhere, and it stays short (the rest of the
documentation is the site in docs/)."""

import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
README = (PROJECT / "README.md").read_text(encoding="utf-8")


def test_the_tour_and_the_text_example_run():
    pytest.importorskip("sklearn")
    tour, text = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    assert len(tour.splitlines()) <= 10
    namespace: dict = {}
    exec(tour, namespace)
    assert namespace["model"].coef_.shape == (1, 2)
    exec(text, namespace)  # in the tour's namespace: it uses its import of fastlr
    model = namespace["model"]
    assert list(model.predict(["great and funny", "long and dull"])) == ["good", "bad"]
    assert model[-1].fit_stats_["evaluations"] > 0  # fitted by fastlr, on sparse input


def test_every_relative_link_and_image_exists():
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [t for t in targets if "://" not in t]
    assert len(local) >= 10
    missing = [t for t in local if not (PROJECT / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


def test_it_is_at_most_150_lines():
    assert len(README.splitlines()) <= 150
