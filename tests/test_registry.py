"""The registry: listing, lookup, the FASTLR_BACKEND override, unknown and unavailable backends."""

import dataclasses
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import fastlr
from fastlr import _install, registry
from helpers import REQUIRE_ALL, load_or_skip

PROJECT = Path(__file__).resolve().parents[1]


def test_implementations_lists_every_pair():
    infos = fastlr.implementations()
    assert [(i.backend, i.variant) for i in infos] == list(registry.PAIRS)
    for backend in ("python", "numpy", "numba", "cython"):
        assert {(backend, "loop"), (backend, "vectorized")} <= set(registry.PAIRS)
    by_pair = {(i.backend, i.variant): i for i in infos}
    for pair in [("python", "loop"), ("python", "vectorized"), ("numpy", "loop"),
                 ("numpy", "vectorized")]:
        assert by_pair[pair].available and by_pair[pair].reason is None
    for info in infos:
        assert info.available == (info.reason is None)


def test_get_returns_the_named_implementation():
    implementation = fastlr.get("numpy", "loop")
    assert (implementation.backend, implementation.variant) == ("numpy", "loop")
    assert callable(implementation.propagate) and callable(implementation.optimize)


def test_unknown_names_are_value_errors_listing_the_valid_ones():
    backends = r"\['auto', 'python', 'numpy', 'numba', 'cython'\]"
    with pytest.raises(ValueError, match=rf"backend must be one of {backends}; got 'fortran'"):
        fastlr.get("fortran")
    variants = r"\['auto', 'loop', 'vectorized', 'fused'\]"
    with pytest.raises(ValueError, match=rf"variant must be one of {variants}; got 'unrolled'"):
        fastlr.propagate([[1.0]], 0.0, [[1.0]], [[1]], variant="unrolled")
    with pytest.raises(ValueError, match=r"variant must be one of \['loop', 'vectorized'\] "
                                         r"for backend 'numpy'; got 'fused'"):
        fastlr.get("numpy", "fused")


def test_environment_variable_forces_the_backend(monkeypatch):
    monkeypatch.setenv("FASTLR_BACKEND", "numpy")
    assert fastlr.get().backend == "numpy"
    assert fastlr.get(variant="loop").backend == "numpy"
    assert fastlr.fastest().backend == "numpy"
    assert fastlr.get("python").backend == "python"  # an explicit backend wins
    monkeypatch.setenv("FASTLR_BACKEND", "fortran")
    names = r"\['python', 'numpy', 'numba', 'cython'\]"
    with pytest.raises(ValueError, match=rf"FASTLR_BACKEND must be one of {names}; got 'fortran'"):
        fastlr.get()


@pytest.fixture
def numba_missing(monkeypatch):
    """The registry as it is where numba (or the extension) cannot be imported."""
    missing = dataclasses.replace(registry.BACKENDS["numba"],
                                  module="fastlr.backends._no_such_module")
    monkeypatch.setitem(registry.BACKENDS, "numba", missing)
    registry.clear_caches()
    yield
    registry.clear_caches()


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
            "assert 'fastlr.backends._cython' not in sys.modules;"
            # the other half: the kernels load when asked for (a test that cannot see them
            # would pass the first half for the wrong reason)
            "print(fastlr.registry.available('cython'))")
    done = subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                          capture_output=True, text=True, cwd=PROJECT)
    assert done.stdout.strip() == str(registry.available("cython"))
    assert registry.available("cython") or not REQUIRE_ALL


def test_every_process_imports_the_installed_package_not_the_source_tree():
    # `python -c` and `python -m` put the working directory first on sys.path: from the
    # project's root they must still find the installed fastlr (src/ layout), which has the
    # compiled extension, and not a copy of the sources without it
    code = "import fastlr; print(fastlr.__file__)"
    done = subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                          capture_output=True, text=True, cwd=PROJECT)
    assert Path(done.stdout.strip()) == Path(fastlr.__file__)
    assert Path(fastlr.__file__).parent != PROJECT / "fastlr"


def test_a_recorded_build_failure_is_the_reason_given(monkeypatch, tmp_path):
    # setup.py under FASTLR_ALLOW_NO_CYTHON=1 writes why the extension was not built
    report = tmp_path / "_build.json"
    report.write_text('{"fastlr.backends._no_such_module": "no Python headers (in /x)"}')
    monkeypatch.setattr(_install, "BUILD_REPORT", report)
    missing = dataclasses.replace(registry.BACKENDS["cython"],
                                  module="fastlr.backends._no_such_module",
                                  model_module="fastlr.backends._no_such_module")
    monkeypatch.setitem(registry.BACKENDS, "cython", missing)
    registry.clear_caches()
    try:
        with pytest.raises(fastlr.BackendUnavailable) as raised:
            fastlr.get("cython", "fused")
    finally:
        registry.clear_caches()
    assert "not built when fastlr was installed: no Python headers" in str(raised.value)


def test_an_unavailable_backend_is_imported_once_and_remembered(numba_missing, monkeypatch):
    attempts = []
    real_import = importlib.import_module

    def counting_import(name, *args):
        attempts.append(name)
        return real_import(name, *args)

    monkeypatch.setattr(registry.importlib, "import_module", counting_import)
    for _ in range(3):
        with pytest.raises(fastlr.BackendUnavailable, match="_no_such_module"):
            fastlr.get("numba", "fused")
        assert not registry.available("numba")
    fastlr.implementations()
    fastlr.propagate([[1.0]], 0.0, [[1.0]], [[1]])  # backend="auto" passes over it
    assert attempts.count("fastlr.backends._no_such_module") == 1


def test_preference_orders_every_registered_pair_once():
    assert sorted(registry.PREFERENCE) == sorted(registry.PAIRS)
    assert len(set(registry.PAIRS)) == len(registry.PAIRS)
    ranks = [registry.BACKENDS[b].rank[v] for b, v in registry.PAIRS]
    assert len(set(ranks)) == len(ranks), "two pairs share a rank: the static order is ambiguous"


@pytest.mark.parametrize("descriptor", registry.BACKENDS.values(), ids=lambda d: d.name)
def test_every_backend_module_matches_its_descriptor(descriptor):
    assert set(descriptor.rank) == set(descriptor.variants)
    assert descriptor.fastest_variant in descriptor.variants
    assert descriptor.interpreted <= set(descriptor.variants)
    assert not (descriptor.compiled and descriptor.interpreted)
    module = load_or_skip(descriptor.name)
    assert list(module.KERNELS) == list(descriptor.variants)
    assert set(getattr(module, "OPTIMIZERS", {})) <= set(descriptor.variants)
    if descriptor.compiled:  # the kernel-level suite forces each path through it
        assert callable(module.propagate_fused_chunks)


@pytest.mark.parametrize("pair", registry.PAIRS, ids="-".join)
def test_every_registered_pair_is_reachable_by_fastest(pair, monkeypatch, tmp_path):
    """A compiled or NumPy pair wins when tune() says so; an interpreted one is reached by
    the rule once the pairs ranked before it are unavailable."""
    from fastlr import autotune

    load_or_skip(pair[0])
    monkeypatch.setenv("FASTLR_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FASTLR_AUTOTUNE", raising=False)
    monkeypatch.setattr(autotune, "_memory", {})
    monkeypatch.setattr(autotune._Meter, "busy_since", lambda self: 0.0)
    monkeypatch.setattr(autotune, "_measure", lambda key, X, candidates, get: {
        p: (1.0, 1.0) if p == pair else (2.0, 2.0) for p in candidates})
    monkeypatch.setenv("FASTLR_BACKEND", pair[0])
    registry.clear_caches()
    try:
        if pair not in registry.INTERPRETED and len(registry.candidates()[1]) >= 2:
            assert fastlr.tune().saved
            chosen = fastlr.fastest()
        else:  # the rule, with every pair ranked before this one unavailable
            monkeypatch.setitem(registry._rules, pair[0], pair)
            chosen = fastlr.fastest()
    finally:
        registry.clear_caches()
    assert (chosen.backend, chosen.variant) == pair


def test_fastlr_info_gives_the_recorded_reason_the_extension_is_missing():
    from fastlr import bench

    machine = {"cython": {"available": False, "reason": "cython backend unavailable (…)",
                          "build_failure": "no Python headers (no Python.h in /usr/include)"}}
    lines = bench.format_machine(machine, details=True)
    assert ("  Cython   extension not built at install: no Python headers (no Python.h in "
            "/usr/include)") in lines
