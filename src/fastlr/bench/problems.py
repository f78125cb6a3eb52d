"""The problems a benchmark times: named sizes, course-shaped inputs, memory order."""

from __future__ import annotations

import math

import numpy as np

#: named problem sizes (n_x, m): the course's tiny example, its cat data, a tall and a wide one
SIZES = {
    "tiny": (2, 3),
    "cat": (12288, 209),
    "tall": (100, 100_000),
    "wide": (1000, 10_000),
}
DEFAULT_SIZES = ("cat",)


def parse_size(text: str) -> tuple[int, int]:
    """``"cat"`` or ``"12288x209"`` (also ``12288×209``) -> ``(n_x, m)``."""
    key = text.strip().lower()
    if key in SIZES:
        return SIZES[key]
    parts = key.replace("×", "x").replace("*", "x").split("x")
    try:
        n_x, m = (int(part.replace("_", "")) for part in parts)
    except ValueError:
        raise ValueError(
            f"size must be one of {list(SIZES)} or N_XxM such as 12288x209; got {text!r}"
        ) from None
    if n_x < 1 or m < 1:
        raise ValueError(f"size must have n_x >= 1 and m >= 1; got {text!r}")
    return n_x, m


def size_name(n_x: int, m: int) -> str:
    """``"12288×209 (cat)"`` for the named sizes, ``"50×70"`` otherwise."""
    names = {value: key for key, value in SIZES.items()}
    text = f"{n_x}×{m}"
    return f"{text} ({names[n_x, m]})" if (n_x, m) in names else text


def make_inputs(n_x: int, m: int, dtype="float64", order="F", seed=0):
    """Course-shaped ``(w, b, X, Y)`` for a benchmark, the same for every implementation.

    2×3 is the course's own example (``w = [[1], [2]]``, ``b = 2``,
    ``X = [[1, 2, -1], [3, 4, -3.2]]``, ``Y = [[1, 0, 1]]``); other sizes are
    :func:`fastlr.datasets.make_problem` with a seeded ``w`` of scale ``1/sqrt(n_x)``.
    """
    from fastlr.datasets import make_problem

    dtype = np.dtype(dtype)
    if (n_x, m) == (2, 3):
        X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]], dtype=dtype, order=order)
        return np.array([[1.0], [2.0]]), 2.0, X, np.array([[1.0, 0.0, 1.0]])
    X, Y = make_problem(n_x, m, dtype=dtype, order=order, seed=seed)
    w = np.random.default_rng(seed + 1).standard_normal((n_x, 1)) / math.sqrt(n_x)
    return w, 0.1, X, Y


def memory_order(X: np.ndarray) -> str:
    """``"F"`` (each example a contiguous column), ``"C"``, or ``"strided"``."""
    if X.flags.f_contiguous and not X.flags.c_contiguous:
        return "F"
    if X.flags.c_contiguous:
        return "C"
    return "strided"
