"""The documentation's numeric claims about float64 and the lecture's cost (docs/course-api.md,
"The cost", and docs/teaching.md, "Questions"), checked: each number is computed here and
must appear on both pages as written, so text and arithmetic stay true together."""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from fastlr.backends import python_

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = [" ".join((DOCS / name).read_text(encoding="utf-8").split())  # lines joined
         for name in ("course-api.md", "teaching.md")]


class _OnEveryPage:
    """``claim in README``: the claim is on every page that explains the cost."""

    def __contains__(self, claim):
        return all(claim in page for page in PAGES)


README = _OnEveryPage()


def sigmoid(z):
    return np.float64(1.0) / (np.float64(1.0) + np.exp(-np.float64(z)))


def slide_cost(z, y):
    """The slide's -(y log a + (1 - y) log(1 - a)) in float64, as a student writes it."""
    a = sigmoid(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(-(y * np.log(a) + (1 - y) * np.log(1 - a)))


def stable_cost(z, y):
    return python_.loss(z, y)


def test_sigmoid_rounds_to_one_from_z_36_74():
    assert 53 * math.log(2.0) == pytest.approx(36.737, abs=1e-3)  # e^-z below 2^-53
    assert sigmoid(36.73) < 1.0
    assert sigmoid(36.74) == 1.0 and sigmoid(37.0) == 1.0
    assert "z ≳ 36.74" in README


def test_the_negative_side_does_not_round_early():
    assert sigmoid(-37.0) == pytest.approx(8.533e-17, rel=1e-3)
    assert "σ(−37) = 8.5e−17" in README
    # the exact σ(z) = e^z / (1 + e^z) reaches 0 only where e^z does
    assert math.exp(-745.0) > 0.0 and math.exp(-745.2) == 0.0
    assert "z ≈ −745" in README
    # the course's 1 / (1 + np.exp(-z)) overflows in np.exp below z ≈ -709.78
    with np.errstate(over="ignore"):
        assert sigmoid(-709.7) > 0.0 and sigmoid(-709.8) == 0.0
    assert "z ≈ −709.8" in README


@pytest.mark.parametrize("z, slide, exact", [(30.0, "30.001", "30.000"),
                                             (36.0, "36.044", "36.000")])
def test_the_slide_loses_digits_before_it_fails(z, slide, exact):
    assert f"{slide_cost(z, 0.0):.3f}" == slide
    assert f"{stable_cost(z, 0.0):.3f}" == exact
    assert f"{slide} instead of {exact}" in README


def test_the_slide_gives_inf_and_nan_once_a_is_one():
    assert slide_cost(37.0, 0.0) == math.inf
    assert math.isnan(slide_cost(37.0, 1.0))
    assert stable_cost(37.0, 0.0) == 37.0 and stable_cost(37.0, 1.0) == pytest.approx(
        math.exp(-37.0), rel=1e-12)


def test_the_stable_form_is_the_slides_where_a_keeps_its_digits():
    for z in np.linspace(-10.0, 10.0, 81):  # 1 - a >= 4.5e-5: a keeps 11 digits
        for y in (0.0, 1.0):
            assert stable_cost(z, y) == pytest.approx(slide_cost(z, y), rel=1e-9, abs=1e-12)
