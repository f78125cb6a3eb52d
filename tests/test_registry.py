"""The registry: listing, lookup, the FASTLR_BACKEND override, unknown and unavailable backends."""

import subprocess
import sys

import numpy as np
import pytest

import fastlr
from fastlr import registry


def test_implementations_lists_every_pair():
    infos = fastlr.implementations()
    assert [(i.backend, i.variant) for i in infos] == list(registry.PAIRS)
    for backend in ("python", "numpy", "numba", "cython"):
        assert {(backend, "loop"), (backend, "vectorized")} <= set(registry.PAIRS)
    by_pair = {(i.backend, i.variant): i for i in infos}
    for pair in [("python", "loop"), ("python", "vectorized"), ("numpy", "loop"), ("numpy", "vectorized")]:
        assert by_pair[pair].available and by_pair[pair].reason is None
    for info in infos:
        assert info.available == (info.reason is None)


def test_get_returns_the_named_implementation():
    implementation = fastlr.get("numpy", "loop")
    assert (implementation.backend, implementation.variant) == ("numpy", "loop")
    assert callable(implementation.propagate) and callable(implementation.optimize)


def test_unknown_names_are_value_errors_listing_the_valid_ones():
    with pytest.raises(ValueError, match=r"backend must be one of \['auto', 'python', 'numpy', 'numba', 'cython'\]; got 'fortran'"):
        fastlr.get("fortran")
    with pytest.raises(ValueError, match=r"variant must be one of \['auto', 'loop', 'vectorized', 'fused'\]; got 'unrolled'"):
        fastlr.propagate([[1.0]], 0.0, [[1.0]], [[1]], variant="unrolled")
    with pytest.raises(ValueError, match=r"variant must be one of \['loop', 'vectorized'\] for backend 'numpy'; got 'fused'"):
        fastlr.get("numpy", "fused")


def test_environment_variable_forces_the_backend(monkeypatch):
    monkeypatch.setenv("FASTLR_BACKEND", "numpy")
    assert fastlr.get().backend == "numpy"
    assert fastlr.get(variant="loop").backend == "numpy"
    assert fastlr.fastest().backend == "numpy"
    assert fastlr.get("python").backend == "python"  # an explicit backend wins
    monkeypatch.setenv("FASTLR_BACKEND", "fortran")
    with pytest.raises(ValueError, match=r"FASTLR_BACKEND must be one of \['python', 'numpy', 'numba', 'cython'\]; got 'fortran'"):
        fastlr.get()


@pytest.fixture
def numba_missing(monkeypatch):
    """The registry as it is where numba (or the extension) cannot be imported."""
    monkeypatch.setitem(registry.BACKENDS, "numba",
                        ("fastlr.backends._no_such_module", ("loop",), "pip install numba"))
    registry._load.cache_clear()
    registry._implementation.cache_clear()
    yield
    registry._load.cache_clear()
    registry._implementation.cache_clear()


def test_an_unavailable_backend_is_reported_with_its_reason(numba_missing, monkeypatch):
    infos = {(i.backend, i.variant): i for i in fastlr.implementations()}
    assert not infos["numba", "loop"].available
    assert "numba backend unavailable" in infos["numba", "loop"].reason
    assert "pip install numba" in infos["numba", "loop"].reason
    with pytest.raises(fastlr.BackendUnavailable, match="pip install numba") as raised:
        fastlr.get("numba", "loop")
    assert isinstance(raised.value, ImportError)
    # everything else still works, and "auto" passes over it
    fastlr.propagate([[1.0]], 0.0, [[1.0]], [[1]], backend="numpy")
    assert fastlr.fastest().backend != "numba"
    monkeypatch.setenv("FASTLR_BACKEND", "numba")
    with pytest.raises(fastlr.BackendUnavailable, match="pip install numba"):
        fastlr.fastest()


def test_implementation_objects_are_cached_and_immutable():
    assert fastlr.get("numpy", "vectorized") is fastlr.get("numpy", "vectorized")
    with pytest.raises(AttributeError):
        fastlr.get("numpy", "vectorized").backend = "python"


def test_import_fastlr_imports_no_numba_and_compiles_nothing():
    code = ("import sys, fastlr; fastlr.propagate([[1.0]], 0.0, [[1.0]], [[1]], backend='numpy');"
            "assert 'numba' not in sys.modules, 'numba imported';"
            "assert 'fastlr.backends._cython' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
