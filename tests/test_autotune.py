"""fastest() by measurement: problem classes, the on-disk cache, the overrides."""

import json

import numpy as np
import pytest

import fastlr
from fastlr import autotune, registry


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTLR_CACHE_DIR", str(tmp_path))
    autotune._memory.clear()
    yield tmp_path / "fastest.json"
    autotune._memory.clear()


@pytest.mark.parametrize("shape, order, dtype, expected", [
    ((2, 3), "F", np.float64, "float64-F-tiny-square"),
    ((12288, 209), "F", np.float64, "float64-F-cache-wide"),
    ((12288, 209), "C", np.float32, "float32-C-cache-wide"),
    ((100, 1_000_000), "F", np.float64, "float64-F-memory-tall"),
])
def test_problem_class(shape, order, dtype, expected):
    assert autotune.problem_class(np.empty(shape, dtype=dtype, order=order)) == expected
    assert autotune.problem_class(np.empty((40, 60))[:, ::2]).startswith("float64-strided-")


def test_measures_once_then_reads_the_cache(fresh, monkeypatch):
    candidates = [("python", "vectorized"), ("numpy", "vectorized")]
    X = np.ones((3, 40))
    chosen = autotune.fastest_pair(X, candidates, registry.implementation)
    assert chosen in candidates
    stored = json.loads(fresh.read_text())
    assert stored == {autotune.fingerprint(): {"float64-F-tiny-tall": list(chosen)}} or \
        stored == {autotune.fingerprint(): {"float64-C-tiny-tall": list(chosen)}}

    def no_measuring(*args):
        raise AssertionError("measured again")

    monkeypatch.setattr(autotune, "_measure", no_measuring)
    assert autotune.fastest_pair(X, candidates, registry.implementation) == chosen  # memory
    autotune._memory.clear()
    assert autotune.fastest_pair(X, candidates, registry.implementation) == chosen  # file


def test_a_cached_pair_that_is_not_a_candidate_is_measured_again(fresh, monkeypatch):
    X = np.ones((3, 40), order="F")
    stored = {autotune.fingerprint(): {"float64-F-tiny-tall": ["cython", "fused"]}}
    fresh.write_text(json.dumps(stored))
    chosen = autotune.fastest_pair(X, [("numpy", "vectorized")], registry.implementation)
    assert chosen == ("numpy", "vectorized")


def test_unreadable_cache_file_is_ignored(fresh):
    fresh.write_text("{not json")
    X = np.ones((3, 40), order="F")
    assert autotune.fastest_pair(X, [("numpy", "vectorized")], registry.implementation) == (
        "numpy", "vectorized")


def test_fastest_measures_among_the_compiled_and_numpy(fresh, monkeypatch):
    measured = []

    def fake_measure(key, X, candidates, get):
        measured.append((key, candidates))
        return candidates[-1]

    monkeypatch.setattr(autotune, "_measure", fake_measure)
    available = [(i.backend, i.variant) for i in fastlr.implementations() if i.available]
    implementation = fastlr.fastest(np.ones((5, 7), dtype=np.float32))
    if len([p for p in available if p not in registry.INTERPRETED]) < 2:
        assert measured == []
        return
    (key, candidates), = measured
    assert key == "float32-C-tiny-square"
    assert set(candidates) == set(available) - registry.INTERPRETED
    assert (implementation.backend, implementation.variant) == candidates[-1]
    assert fastlr.get(X=np.ones((5, 7), dtype=np.float32)) is implementation  # the "auto" default


def test_autotune_off_takes_the_static_order(monkeypatch):
    monkeypatch.setenv("FASTLR_AUTOTUNE", "0")
    available = [(i.backend, i.variant) for i in fastlr.implementations() if i.available]
    first = next(pair for pair in registry.PREFERENCE if pair in available)
    implementation = fastlr.fastest()
    assert (implementation.backend, implementation.variant) == first


def test_auto_variant_of_a_named_backend():
    assert fastlr.get("numpy").variant == "vectorized"
    assert fastlr.get("python", "auto").variant == "vectorized"
