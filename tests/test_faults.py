"""The faults real programs create: the right answer or a clear error, in bounded time.

Every case compares with an independent reference (the pure-Python loop, or NumPy in float64
on a converted copy where the loop would take too long), or expects a ``ValueError`` /
``TypeError`` that names the argument; every case checks that the caller's arrays did not
change. Tests that start threads join them with a timeout and assert they finished; tests
that start subprocesses give them a timeout: a regression fails, it does not hang.

- many Python threads calling every implementation at once;
- the autotune cache (``fastest.json``) corrupted, unreadable, unwritable, and two processes
  tuning the same class at once;
- Numba's cache directory unwritable, corrupted, or written by an older fastlr;
- inputs: non-native byte order, ``np.memmap``, float16/uint8/bool ``X``, overflowing ``z``,
  extreme shapes, NaN/inf only in the last example or the last feature.

"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import fastlr
from fastlr import autotune, registry
from helpers import (
    FAST_PAIRS,
    FLOAT32,
    TIGHT,
    get_or_skip,
    load_or_skip,
    pair_id,
    python_loop,
    random_problem,
    reference,
    unavailable,
)

#: seconds a subprocess may take (a Numba compilation on a busy 2-core machine included)
TIMEOUT = 300
#: seconds a thread may take
THREAD_TIMEOUT = 120

COMPILED_PAIRS = tuple(pair for pair in registry.PAIRS if registry.BACKENDS[pair[0]].compiled)


# ---------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def unchanged(*arrays):
    """The block must leave the caller's arrays as they were: values, dtype, order, flags."""
    before = [(np.array(a, copy=True), a.dtype, a.flags.c_contiguous, a.flags.f_contiguous,
               a.flags.writeable) for a in arrays]
    yield
    for array, (copy, dtype, c, f, writeable) in zip(arrays, before):
        assert array.dtype == dtype
        assert (array.flags.c_contiguous, array.flags.f_contiguous) == (c, f)
        assert array.flags.writeable == writeable
        np.testing.assert_array_equal(np.asarray(array), copy)  # NaN equal to NaN


def kernel_arguments(w, b, X, Y):
    """Course-shaped arguments as the reference kernels take them, X as float64 copy."""
    return (np.array(w, dtype=np.float64)[:, 0], float(b), np.array(X, dtype=np.float64),
            np.array(Y, dtype=np.float64)[0])


def numpy_reference(w, b, X, Y):
    """The lecture's formulas in NumPy, float64, overflow-safe: ``(dw, db, cost)``.

    For problems on which the pure-Python loop would take seconds; takes kernel arguments.
    """
    m = X.shape[1]
    Z = w @ X + b
    e = np.exp(-np.abs(Z))
    A = np.where(Z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    cost = float(np.mean(np.logaddexp(0.0, Z) - Y * Z))
    dZ = A - Y
    return X @ dZ / m, float(np.mean(dZ)), cost


def assert_propagate(result, expected, **tolerance):
    """``(grads, cost)`` of ``propagate`` against a kernel-shaped ``(dw, db, cost)``."""
    tolerance = tolerance or TIGHT
    grads, cost = result
    assert grads["dw"].shape == (len(expected[0]), 1) and grads["dw"].dtype == np.float64
    np.testing.assert_allclose(grads["dw"][:, 0], expected[0], **tolerance)
    np.testing.assert_allclose(grads["db"], expected[1], **tolerance)
    np.testing.assert_allclose(cost, expected[2], **tolerance)


def assert_optimize(result, expected, **tolerance):
    """``(params, grads, costs)`` of ``optimize`` against :func:`helpers.python_loop`'s."""
    tolerance = tolerance or TIGHT
    params, grads, costs = result
    w, b, dw, db, expected_costs = expected
    np.testing.assert_allclose(params["w"][:, 0], w, **tolerance)
    np.testing.assert_allclose(params["b"], b, **tolerance)
    np.testing.assert_allclose(grads["dw"][:, 0], dw, **tolerance)
    np.testing.assert_allclose(grads["db"], db, **tolerance)
    np.testing.assert_allclose(costs, expected_costs, **tolerance)


def expected_model(X_train, Y_train, X_test, num_iterations, learning_rate, kernel=reference):
    """The course's model, written out on the reference kernel: ``(w, b, costs, train, test)``
    with the predicted labels of both sets."""
    X_train, X_test = np.array(X_train, dtype=np.float64), np.array(X_test, dtype=np.float64)
    w, b, _, _, costs = python_loop(kernel, np.zeros(X_train.shape[0]), 0.0, X_train,
                                    np.array(Y_train, dtype=np.float64)[0], num_iterations,
                                    learning_rate)
    def labels(X):
        return (w @ X + b > 0).astype(np.float64)  # σ(z) > 0.5 ⇔ z > 0
    return w, b, costs, labels(X_train), labels(X_test)


def assert_model(d, expected, **tolerance):
    tolerance = tolerance or TIGHT
    w, b, costs, train, test = expected
    np.testing.assert_allclose(d["w"][:, 0], w, **tolerance)
    np.testing.assert_allclose(d["b"], b, **tolerance)
    np.testing.assert_allclose(d["costs"], costs, **tolerance)
    np.testing.assert_array_equal(d["Y_prediction_train"][0], train)
    np.testing.assert_array_equal(d["Y_prediction_test"][0], test)


class ChildFailed(AssertionError):
    """A subprocess exited with an error; ``stderr`` holds what it said."""

    def __init__(self, returncode, stderr):
        super().__init__(f"the subprocess failed ({returncode}):\n{stderr}")
        self.stderr = stderr


def run_python(code, *arguments, env=None, cwd, timeout=TIMEOUT):
    """Run ``python -W error -c code arguments`` (warnings are errors, as in this suite) in
    ``cwd`` (not this checkout: ``-c`` puts the working directory first on sys.path);
    returns its last line of output, parsed as JSON. Raises :class:`ChildFailed`."""
    try:
        done = subprocess.run([sys.executable, "-W", "error", "-c", code, *map(str, arguments)],
                              env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"the subprocess did not finish within {timeout} s:\n{expired.stderr}")
    if done.returncode != 0:
        raise ChildFailed(done.returncode, done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_environment(**changes):
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ litter in the copies below
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


# ---------------------------------------------------------------------------------- threads


def test_many_threads_calling_every_implementation_at_once():
    implementations = [get_or_skip(*pair) for pair in registry.PAIRS]
    n_threads = 8
    # small problems for everyone; larger ones (above the 60 000 elements from which the
    # fused kernels go parallel) for the implementations that are not interpreted
    small = [random_problem(6, 25, seed=k, order="CF"[k % 2]) for k in range(n_threads)]
    large = [random_problem(300, 401, seed=100 + k, order="CF"[k % 2]) for k in range(n_threads)]
    expected = {}
    for k in range(n_threads):
        expected["small", k] = (reference(*kernel_arguments(*small[k])),
                                python_loop(reference, *kernel_arguments(*small[k]), 3, 0.1))
        expected["large", k] = (numpy_reference(*kernel_arguments(*large[k])),
                                python_loop(numpy_reference, *kernel_arguments(*large[k]), 3, 0.1))
    results = {k: [] for k in range(n_threads)}
    errors = []
    start = threading.Barrier(n_threads)

    def work(k):
        try:
            order = list(implementations)
            random.Random(k).shuffle(order)  # different implementations run side by side
            start.wait(THREAD_TIMEOUT)
            for implementation in order * 2:
                interpreted = (implementation.backend, implementation.variant) in \
                    registry.INTERPRETED
                for size in ("small",) if interpreted else ("small", "large"):
                    problem = small[k] if size == "small" else large[k]
                    results[k].append((size, implementation.propagate(*problem),
                                       implementation.optimize(*problem, 3, 0.1)))
                results[k].append(("small", fastlr.propagate(*small[k]), None))  # "auto"
        except BaseException as error:  # reported below, in the main thread
            errors.append((k, error))

    workers = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(n_threads)]
    with unchanged(*(array for problem in small + large for array in problem[::2])):
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + THREAD_TIMEOUT
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
    assert not any(worker.is_alive() for worker in workers), "a thread hangs"
    assert not errors, errors
    for k in range(n_threads):
        assert len(results[k]) == 2 * (2 * len(implementations) + len(FAST_PAIRS))
        for size, propagated, optimized in results[k]:
            assert_propagate(propagated, expected[size, k][0])
            if optimized is not None:
                assert_optimize(optimized, expected[size, k][1])


# --------------------------------------------------------------------------- autotune cache

TINY_X = random_problem(4, 8, seed=1)[2]


@pytest.fixture
def tuning(monkeypatch, tmp_path):
    """tune() measures here, in a fresh cache folder, quickly, on a machine it takes for
    quiet; returns the folder."""
    monkeypatch.delenv("FASTLR_AUTOTUNE", raising=False)
    monkeypatch.delenv("FASTLR_BACKEND", raising=False)
    monkeypatch.setenv("FASTLR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(autotune, "_memory", {})
    monkeypatch.setattr(autotune, "BUDGET", 0.002)  # which pair wins is not what is tested
    monkeypatch.setattr(autotune._Meter, "busy_since", lambda self: 0.0)
    _, measured = registry.candidates()
    if len(measured) < 2:
        unavailable(f"tune() measures two compiled candidates at least; here {measured}")
    return tmp_path / "cache"


def assert_fastest_works():
    """fastest() returns an implementation tune() may choose, and raises nothing."""
    implementation = fastlr.fastest(TINY_X)
    assert isinstance(implementation, fastlr.Implementation)
    _, measured = registry.candidates()
    assert (implementation.backend, implementation.variant) in measured
    grads, cost = implementation.propagate(np.zeros((4, 1)), 0.0, TINY_X, np.ones((1, 8)))
    np.testing.assert_allclose(cost, np.log(2.0), rtol=1e-12)
    return implementation


def stored_entries():
    """What fastest.json holds for this machine; fails unless it is well-formed."""
    content = json.loads(autotune.cache_path().read_text(encoding="utf-8"))
    assert isinstance(content, dict)
    entries = content[autotune.fingerprint()]
    assert isinstance(entries, dict)
    return entries


def corrupted_contents():
    """``(id, bytes)``: what a damaged or hand-edited fastest.json may hold."""
    fingerprint = autotune.fingerprint()
    key = autotune.problem_class(TINY_X)

    def entries(value):
        return json.dumps({fingerprint: {key: value}}).encode()

    return [
        ("garbage bytes", b"\x00\xff\xfe\x80 not json \xc3\x28"),
        ("truncated write", entries(["numba", "fused"])[:-7]),
        ("a JSON list", b'[["numba", "fused"]]'),
        ("a JSON number", b"NaN"),
        ("absurdly nested", b"[" * 100_000 + b"]" * 100_000),
        ("machine entry a list", json.dumps({fingerprint: [key, ["numba", "fused"]]}).encode()),
        ("machine entry a string", json.dumps({fingerprint: "numba fused"}).encode()),
        ("entry a number", entries(5)),
        ("entry null", entries(None)),
        ("entry a string", entries("ab")),
        ("entry a triple", entries(["numba", "fused", "x"])),
        ("entry of numbers", entries([1, 2])),
        ("entry an object", entries({"backend": "numba"})),
        ("entry an unknown backend", entries(["tensorflow", "loop"])),
        ("entry not measured", entries(["python", "loop"])),
    ]


@pytest.mark.parametrize("content_id", [case[0] for case in corrupted_contents()])
def test_fastest_and_tune_survive_a_corrupted_cache_file(tuning, content_id, monkeypatch):
    content = dict(corrupted_contents())[content_id]
    tuning.mkdir()
    (tuning / "fastest.json").write_bytes(content)
    assert_fastest_works()  # the rule
    result = fastlr.tune(TINY_X)
    assert result.saved, result.reason
    # the file was repaired: it now holds the measured choice, and the next process reads it
    chosen = result.chosen[autotune.problem_class(TINY_X)]
    assert stored_entries()[autotune.problem_class(TINY_X)] == list(chosen)
    assert sorted(p.name for p in tuning.iterdir()) == ["fastest.json"]  # no temporary files
    monkeypatch.setattr(autotune, "_memory", {})
    picked = assert_fastest_works()
    assert (picked.backend, picked.variant) == chosen


def test_fastest_and_tune_survive_a_cache_file_they_cannot_read(tuning):
    # (tests run as root: chmod does not stop a read, a directory in the file's place does)
    (tuning / "fastest.json").mkdir(parents=True)
    assert_fastest_works()
    result = fastlr.tune(TINY_X)
    assert not result.saved and "could not write" in result.reason
    assert_fastest_works()
    assert (tuning / "fastest.json").is_dir()
    assert sorted(p.name for p in tuning.iterdir()) == ["fastest.json"]  # no temporary files


@pytest.mark.parametrize("where", ["the folder is a file", "the folder is inside a file"])
def test_tune_survives_a_cache_folder_it_cannot_write(tuning, monkeypatch, where):
    blocker = tuning.parent / "a-file"
    blocker.write_text("not a folder")
    folder = blocker if where == "the folder is a file" else blocker / "fastlr"
    monkeypatch.setenv("FASTLR_CACHE_DIR", str(folder))
    assert not fastlr.tune(TINY_X).saved
    assert_fastest_works()
    assert blocker.read_text() == "not a folder"


AUTOTUNE_CHILD = r"""
import json, os, sys, time
import numpy as np
import fastlr
from fastlr import autotune

autotune.BUDGET = 0.005
autotune._Meter.busy_since = lambda self: 0.0  # the other process is the load: ignore it
ready, others = sys.argv[1], sys.argv[2:]
open(ready, "w").close()
deadline = time.monotonic() + 60
while not all(os.path.exists(path) for path in others):  # start measuring together
    if time.monotonic() > deadline:
        sys.exit("the other process never started")
    time.sleep(0.001)
X = np.asfortranarray(np.ones((4, 8)))
result = fastlr.tune(X)
assert result.saved, result.reason
key = autotune.problem_class(X)
print(json.dumps([*result.chosen[key], key]))
"""


def test_two_processes_tuning_the_same_class_at_once(tmp_path):
    # one compiled backend keeps the processes short: Cython needs no JIT compilation
    backend = "cython" if registry.available("cython") else "numba"
    load_or_skip(backend)
    cache = tmp_path / "cache"
    env = child_environment(FASTLR_CACHE_DIR=cache, FASTLR_BACKEND=backend,
                            FASTLR_AUTOTUNE=None)
    ready = [tmp_path / f"ready-{k}" for k in range(2)]
    processes = [
        subprocess.Popen([sys.executable, "-W", "error", "-c", AUTOTUNE_CHILD, str(ready[k]),
                          str(ready[1 - k])], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        for k in range(2)
    ]
    outputs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, stderr
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    content = json.loads((cache / "fastest.json").read_text(encoding="utf-8"))  # valid JSON
    assert isinstance(content, dict) and len(content) == 1
    (entries,) = content.values()
    key = outputs[0][2]
    assert entries[key] in [output[:2] for output in outputs]
    assert all(output[0] == backend for output in outputs)


# ----------------------------------------------------------------------------- Numba cache
# Each case runs the numba backend in a subprocess (a process that starts with what is on
# disk) on one small float64 F-ordered problem, compiling only what that needs: the loop
# kernel (or, where the case is about the fused kernels' helpers, the serial fused kernel).

NUMBA_CHILD = r"""
import json, sys
import numpy as np
import fastlr
from fastlr.backends import numba_

problem = np.load(sys.argv[1])
grads, cost = fastlr.get("numba", sys.argv[2]).propagate(
    problem["w"], float(problem["b"]), problem["X"], problem["Y"])
print(json.dumps({"dw": grads["dw"][:, 0].tolist(), "db": grads["db"], "cost": cost,
                  "fastlr": fastlr.__file__, "numba_": numba_.__file__}))
"""


@pytest.fixture(scope="module")
def numba_problem(tmp_path_factory):
    """A problem saved for the children, and its answer from the reference."""
    load_or_skip("numba")
    w, b, X, Y = random_problem(5, 7, seed=3, order="F")
    path = tmp_path_factory.mktemp("numba-problem") / "problem.npz"
    np.savez(path, w=w, b=b, X=X, Y=Y)
    return path, reference(*kernel_arguments(w, b, X, Y))


def run_numba(problem_path, variant="loop", **env):
    return run_python(NUMBA_CHILD, problem_path, variant, env=child_environment(**env),
                      cwd=problem_path.parent)


def is_correct(result, expected):
    return (np.allclose(result["dw"], expected[0], **TIGHT)
            and np.isclose(result["db"], expected[1], **TIGHT)
            and np.isclose(result["cost"], expected[2], **TIGHT))


def assert_correct(result, expected):
    np.testing.assert_allclose(result["dw"], expected[0], **TIGHT)
    np.testing.assert_allclose(result["db"], expected[1], **TIGHT)
    np.testing.assert_allclose(result["cost"], expected[2], **TIGHT)


def package_copy(root: Path) -> Path:
    """A copy of the fastlr package's sources under ``root`` (importable with
    ``PYTHONPATH=root``): no compiled extension, no caches."""
    shutil.copytree(Path(fastlr.__file__).parent, root / "fastlr",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "*.c",
                                                  "*.html", "*.nbi", "*.nbc", "*.lock"))
    return root


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` (same length: the file keeps its size) in the file."""
    assert len(old) == len(new)
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}: update this test"
    path.write_text(text.replace(old, new), encoding="utf-8")


def replace_later(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` as an upgrade would: the same path, a later mtime."""
    before = path.stat().st_mtime
    path.write_bytes(content)
    os.utime(path, (before + 2, before + 2))  # (an upgrade comes later than 1 s granularity)


def test_numba_cache_dir_that_is_a_file(numba_problem, tmp_path):
    # Numba then uses the next place it may write (__pycache__ beside numba_.py): correct
    # results, no exception, no warning (the child runs with -W error)
    problem, expected = numba_problem
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert_correct(run_numba(problem, NUMBA_CACHE_DIR=blocker), expected)
    assert blocker.read_text() == "x"


def test_numba_with_nowhere_to_write_a_cache(numba_problem, tmp_path):
    # no NUMBA_CACHE_DIR, no __pycache__ beside the sources, no user cache folder: the
    # kernels compile without a cache (fastlr's jit falls back to njit without cache=True)
    problem, expected = numba_problem
    root = package_copy(tmp_path / "site")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    (root / "fastlr" / "backends" / "__pycache__").write_text("x")
    result = run_numba(problem, NUMBA_CACHE_DIR=blocker, HOME=blocker, XDG_CACHE_HOME=blocker,
                       PYTHONPATH=root)
    assert result["numba_"].startswith(str(root))
    assert_correct(result, expected)


@pytest.fixture(scope="module")
def populated_numba_cache(numba_problem, tmp_path_factory):
    """A NUMBA_CACHE_DIR that one process filled with the loop kernel."""
    problem, expected = numba_problem
    cache = tmp_path_factory.mktemp("numba-cache")
    assert_correct(run_numba(problem, NUMBA_CACHE_DIR=cache), expected)
    assert list(cache.rglob("*.nbi")) and list(cache.rglob("*.nbc"))
    return cache


#: (files, damage): the three places Numba unpickles a cache entry — the index's header,
#: the index's body, the machine code (garbage and truncation fail alike in each)
CORRUPTIONS = {
    "index garbage": ("*.nbi", lambda data: b"\x80\x05 not a pickle \x00\xff" * 4),
    "index truncated": ("*.nbi", lambda data: data[:len(data) // 2]),
    "data truncated": ("*.nbc", lambda data: data[:len(data) // 2]),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_numba_cache_corrupted(numba_problem, populated_numba_cache, tmp_path, corruption):
    problem, expected = numba_problem
    cache = tmp_path / "numba-cache"
    shutil.copytree(populated_numba_cache, cache)
    pattern, damage = CORRUPTIONS[corruption]
    files = list(cache.rglob(pattern))
    assert files
    for path in files:
        path.write_bytes(damage(path.read_bytes()))
    result = run_numba(problem, NUMBA_CACHE_DIR=cache)  # a miss: it compiles again
    assert_correct(result, expected)


# An older fastlr, honestly simulated: a copy of this package whose numba_.py differs from
# the current one (its loop kernel returns J·m instead of J/m: same file size), run first,
# fills the cache; then the current code must give the right answer with that cache.
#
# Numba files a function's cache entries under a folder named after the source file's
# path, in an index stamped with that file (in the Numba installed here, 0.68, a hash of
# its content; in older releases its mtime and size) and keyed by the function's
# signature, the CPU and a hash of the function's own bytecode. Covered here, therefore:
#   - an older copy at another path (another virtualenv or checkout) sharing
#     NUMBA_CACHE_DIR: its entries are in another folder, never read;
#   - an upgrade in place (the same path, another numba_.py, the same size, a later mtime):
#     the stamp no longer matches, the kernels are compiled again.
# Not covered (Numba does not see them):
#   - an upgrade that changes only _numba_primitives.py, whose helpers are compiled *into*
#     numba_.py's kernels: numba_.py's stamp and the kernels' bytecode are unchanged, the
#     old machine code was loaded until the stamp covered both files
#     (test_numba_cache_from_older_primitives);
#   - with an older Numba, a numba_.py replaced by one of the same size and the same mtime
#     (restored with preserved timestamps): the stamp matches, the old code is loaded;
#   - a cache written by another Numba version or for another CPU: Numba's own keys (the
#     index holds Numba's version; the key the CPU), not tested here.


def test_numba_cache_from_an_older_fastlr(numba_problem, tmp_path):
    problem, expected = numba_problem
    cache = tmp_path / "numba-cache"
    old = package_copy(tmp_path / "old-site")
    numba_file = old / "fastlr" / "backends" / "numba_.py"
    current = numba_file.read_bytes()
    edit(numba_file, "return dw / m, db / m, J / m", "return dw / m, db / m, J * m")
    result = run_numba(problem, NUMBA_CACHE_DIR=cache, PYTHONPATH=old)
    assert result["numba_"] == str(numba_file)
    assert not is_correct(result, expected)  # the old code ran (and was cached)
    assert list(cache.rglob("numba_.propagate_loop_kernel-*.nbi"))

    # the current package, at its own path, with the same cache directory
    result = run_numba(problem, NUMBA_CACHE_DIR=cache, PYTHONPATH=None)
    assert result["numba_"] != str(numba_file)
    assert_correct(result, expected)

    # an upgrade in place: the current numba_.py where the old one was
    replace_later(numba_file, current)
    result = run_numba(problem, NUMBA_CACHE_DIR=cache, PYTHONPATH=old)
    assert result["numba_"] == str(numba_file)
    assert_correct(result, expected)


def test_numba_cache_from_older_primitives(numba_problem, tmp_path):
    problem, expected = numba_problem
    cache = tmp_path / "numba-cache"
    old = package_copy(tmp_path / "old-site")
    primitives = old / "fastlr" / "backends" / "_numba_primitives.py"
    current = primitives.read_bytes()
    edit(primitives, "    return J, db\n", "    return db, J\n")  # in _activate: wrong sums
    result = run_numba(problem, "fused", NUMBA_CACHE_DIR=cache, PYTHONPATH=old)
    assert not is_correct(result, expected)  # the old code ran (and was cached)

    replace_later(primitives, current)  # the upgrade: numba_.py itself is unchanged
    result = run_numba(problem, "fused", NUMBA_CACHE_DIR=cache, PYTHONPATH=old)
    assert is_correct(result, expected), "the machine code of the older sources ran"


# ----------------------------------------------------------------------------------- inputs


def course_problem(dtype=np.float64, order="F", n_x=6, m=9, seed=0):
    w, b, X, Y = random_problem(n_x, m, seed=seed, order=order)
    return w, b, np.asarray(X, order=order).astype(dtype, order=order), Y


def check_everything(implementation, w, b, X, Y, tolerance=None):
    """propagate, optimize, model and predict of ``implementation`` on ``X`` against the
    reference on a float64 copy of ``X``, the caller's arrays unchanged."""
    tolerance = tolerance or TIGHT
    arguments = kernel_arguments(w, b, X, Y)
    backend = dict(backend=implementation.backend, variant=implementation.variant)
    with unchanged(w, X, Y):
        assert_propagate(implementation.propagate(w, b, X, Y), reference(*arguments),
                         **tolerance)
        assert_optimize(implementation.optimize(w, b, X, Y, 3, 0.1),
                        python_loop(reference, *arguments, 3, 0.1), **tolerance)
        assert_model(fastlr.model(X, Y, X, Y, num_iterations=3, learning_rate=0.1, **backend),
                     expected_model(X, Y, X, 3, 0.1), **tolerance)
        np.testing.assert_array_equal(
            fastlr.predict(w, b, X)[0], (arguments[0] @ arguments[2] + b > 0).astype(float))


@pytest.mark.parametrize("order", "CF")
@pytest.mark.parametrize("dtype", [">f8", ">f4"])
def test_non_native_byte_order(implementation, dtype, order):
    w, b, X, Y = course_problem(dtype, order)
    assert X.dtype.byteorder == ">"
    check_everything(implementation, w, b, X, Y)


@pytest.mark.parametrize("mode", ["r", "r+"])
@pytest.mark.parametrize("order", "CF")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_memmap(implementation, tmp_path, dtype, order, mode):
    _, _, values, _ = course_problem(dtype, order)
    w, b, _, Y = course_problem()
    path = tmp_path / "X.dat"
    on_disk = np.memmap(path, dtype=dtype, mode="w+", shape=values.shape, order=order)
    on_disk[:] = values
    on_disk.flush()
    del on_disk
    content = path.read_bytes()
    X = np.memmap(path, dtype=dtype, mode=mode, shape=values.shape, order=order)
    check_everything(implementation, w, b, X, Y, FLOAT32 if dtype is np.float32 else TIGHT)
    del X
    assert path.read_bytes() == content


@pytest.mark.parametrize("dtype", [np.float16, np.uint8, bool])
def test_float16_uint8_and_bool(implementation, dtype):
    rng = np.random.default_rng(7)
    w, b, _, Y = course_problem(seed=7)
    if dtype is np.float16:
        X = rng.standard_normal((6, 9)).astype(np.float16)
    elif dtype is np.uint8:
        X = rng.integers(0, 256, size=(6, 9), dtype=np.uint8)
        w = w / 255  # z of a few units
    else:
        X = rng.random((6, 9)) < 0.5
    check_everything(implementation, w, b, X, Y)


def test_raw_uint8_pixels_at_the_course_size(fast_implementation):
    # the course's raw images: 64×64×3 uint8 pixels per column. The answer must be the one
    # computed in float64 (uint8 arithmetic would wrap around at 256).
    rng = np.random.default_rng(8)
    X = rng.integers(0, 256, size=(12288, 40), dtype=np.uint8)
    Y = (rng.random((1, 40)) < 0.5).astype(np.float64)
    w = rng.standard_normal((12288, 1)) * 1e-4
    arguments = kernel_arguments(w, 0.5, X, Y)
    with unchanged(w, X, Y):
        assert_propagate(fast_implementation.propagate(w, 0.5, X, Y),
                         numpy_reference(*arguments))
        backend = dict(backend=fast_implementation.backend, variant=fast_implementation.variant)
        assert_model(fastlr.model(X, Y, X[:, :10], Y[:, :10], num_iterations=3,
                                  learning_rate=0.005, **backend),
                     expected_model(X, Y, X[:, :10], 3, 0.005, kernel=numpy_reference))


# --------------------------------------------------------------------------------- overflow
# case: (w, X, Y, whether a clear error is an acceptable answer). The right answer is the
# reference's (the pure-Python loop, float64, overflow-safe cost), or the exact value where
# the reference's own running sum overflows; where the reference gives NaN there is no
# right answer in floats, and only the error is.
Y4 = np.array([[1.0, 0.0, 1.0, 0.0]])
SIGNS = np.array([[1.0], [-1.0], [1.0]])
OVERFLOWS = {
    # |z| ~ 1e300: the lecture's log(a) would give inf; the stable cost is finite, accurate
    "z huge but finite": (np.ones((3, 1)), np.full((3, 4), 1e300) * SIGNS, Y4, False),
    # z = +-inf: no right answer in floats, a clear error
    "z overflows to inf": (np.full((3, 1), 1e10), np.full((3, 4), 1e300), Y4, True),
    # z = 1e308 exactly, but the reference's running sum 1e308 + 1e308 overflows first
    "a partial sum overflows": (np.ones((3, 1)), np.array([[1e308], [1e308], [-1e308]]),
                                np.array([[0.0]]), True),
    # float32 X near its largest value: z is finite in float64, not in float32 products
    "float32 X near its largest value": (
        np.full((3, 1), 10.0), (np.full((3, 5), 3e38) * SIGNS).astype(np.float32),
        np.array([[1.0, 0.0, 1.0, 0.0, 1.0]]), True),
}
EXACT = {"a partial sum overflows": (np.array([1e308, 1e308, -1e308]), 1.0, 1e308)}


def value_error(call, *arguments, **keywords):
    """The ValueError ``call`` raises; an AssertionError when it returns."""
    try:
        result = call(*arguments, **keywords)
    except ValueError as error:
        return error
    raise AssertionError(f"no ValueError; returned {result}")


def assert_overflow_error(error):
    message = str(error)
    assert "overflowed to NaN/inf although X, w and b are finite" in message, message
    assert "scale X" in message


@pytest.mark.parametrize("case", list(OVERFLOWS))
def test_overflowing_z_in_propagate(implementation, case):
    w, X, Y, may_raise = OVERFLOWS[case]
    expected = EXACT.get(case) or reference(*kernel_arguments(w, 0.0, X, Y))
    with unchanged(w, X, Y):
        try:
            result = implementation.propagate(w, 0.0, X, Y)
        except ValueError as error:
            assert may_raise, f"{case}: the answer is finite, yet {error}"
            assert_overflow_error(error)
            return
    assert np.isfinite(result[1]) and np.isfinite(result[0]["dw"]).all()
    assert_propagate(result, expected, **(FLOAT32 if X.dtype == np.float32 else TIGHT))


@pytest.mark.parametrize("pair", registry.PAIRS, ids=pair_id)
def test_overflow_at_a_recorded_iteration_of_optimize(pair):
    # iteration 0's z is +inf, its cost NaN; the descent then recovers (dw stays finite):
    # iteration 100's cost is finite. A NaN in the costs must not come back silently.
    implementation = get_or_skip(*pair)
    w, X, Y = np.full((3, 1), 1e10), np.full((3, 4), 1e300), Y4
    with unchanged(w, X, Y):
        error = value_error(implementation.optimize, w, 0.0, X, Y, num_iterations=101,
                            learning_rate=0.1)
    assert_overflow_error(error)


def test_overflow_at_an_unrecorded_iteration_of_optimize(implementation):
    # iteration 1's z is -inf (its cost inf, not recorded); its gradients are finite and
    # right, and the descent recovers: the right answer, or the overflow error
    w, X, Y = np.ones((3, 1)), np.full((3, 4), 1e300), Y4
    expected = python_loop(reference, *kernel_arguments(w, 0.0, X, Y), 3, 0.1)
    with unchanged(w, X, Y):
        try:
            result = implementation.optimize(w, 0.0, X, Y, num_iterations=3, learning_rate=0.1)
        except ValueError as error:
            assert_overflow_error(error)
            return
    assert np.isfinite(result[2]).all() and np.isfinite(result[0]["w"]).all()
    assert_optimize(result, expected)


def test_parameters_overflowing_in_optimize(implementation):
    w, X, Y = np.zeros((1, 1)), np.array([[1e300, -2e300, 3e300, 5e299]]), Y4
    with unchanged(w, X, Y):
        error = value_error(implementation.optimize, w, 0.0, X, Y, num_iterations=1,
                            learning_rate=1e9)
    assert "overflowed" in str(error) and "learning_rate" in str(error), str(error)


def test_overflow_in_model(implementation):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, 10)) * 1e300
    Y = (rng.random((1, 10)) < 0.5).astype(np.float64)
    backend = dict(backend=implementation.backend, variant=implementation.variant)
    with unchanged(X, Y):
        try:
            d = fastlr.model(X, Y, X, Y, num_iterations=201, learning_rate=0.5, **backend)
        except ValueError as error:
            assert_overflow_error(error)
            return
    assert np.isfinite(d["costs"]).all() and np.isfinite(d["w"]).all()


# --------------------------------------------------------------------------- extreme shapes


@lru_cache(maxsize=2)
def extreme_problem(n_x, m):
    """``(w, b, X, Y)`` and the NumPy reference's answer (the Python loop is too slow)."""
    rng = np.random.default_rng(n_x + m)
    w = rng.standard_normal((n_x, 1)) / np.sqrt(n_x)
    X = rng.standard_normal((n_x, m))
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return (w, 0.25, X, Y), numpy_reference(*kernel_arguments(w, 0.25, X, Y))


@pytest.mark.parametrize("n_x, m", [(1, 10**7), (10**6, 1)])
def test_extreme_shapes(fast_implementation, n_x, m):
    (w, b, X, Y), expected = extreme_problem(n_x, m)
    with unchanged(w, X, Y):
        assert_propagate(fast_implementation.propagate(w, b, X, Y), expected)
        params, grads, costs = fast_implementation.optimize(w, b, X, Y, 1, 0.5)
    np.testing.assert_allclose(params["w"][:, 0], w[:, 0] - 0.5 * expected[0], **TIGHT)
    np.testing.assert_allclose(params["b"], b - 0.5 * expected[1], **TIGHT)
    np.testing.assert_allclose(grads["dw"][:, 0], expected[0], **TIGHT)
    np.testing.assert_allclose(costs, [expected[2]], **TIGHT)


@pytest.mark.parametrize("pair", sorted(registry.INTERPRETED), ids=pair_id)
def test_extreme_shapes_interpreted(pair):
    # The interpreted implementations run ~0.1-1 µs of Python per element (the NumPy loop
    # several µs: it boxes a scalar at every X[j, i]): 10⁷ elements would take from seconds
    # to a minute per call. 10⁵ examples of one feature take the same code paths.
    implementation = get_or_skip(*pair)
    w, b, X, Y = random_problem(1, 10**5, seed=11)
    with unchanged(w, X, Y):
        assert_propagate(implementation.propagate(w, b, X, Y),
                         reference(*kernel_arguments(w, b, X, Y)))


# ------------------------------------------------------------------- NaN/inf at the very end


def nan_positions(n_x, m):
    """Where a NaN/inf hides: the last example, the last feature, both."""
    return [(n_x // 2, m - 1), (n_x - 1, m // 2), (n_x - 1, m - 1)]


#: small for every implementation; for the others, sizes that reach the parallel fused
#: kernels (>= 60 000 elements), their 0-3 leftover examples (m % 4 = 3) and, in F order,
#: the path for >= 512 features
NAN_SIZES = [(5, 7)]
NAN_SIZES_COMPILED = [(5, 7), (300, 403), (520, 203)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", "CF")
def test_nan_or_inf_only_at_the_end(implementation, order, dtype):
    interpreted = (implementation.backend, implementation.variant) in registry.INTERPRETED
    for n_x, m in NAN_SIZES if interpreted else NAN_SIZES_COMPILED:
        w, b, clean, Y = course_problem(dtype, order, n_x, m, seed=n_x)
        for j, i in nan_positions(n_x, m):
            for value in (np.nan, np.inf, -np.inf):
                X = clean.copy(order=order)
                X[j, i] = value
                expected = f"X must be finite; got 1 NaN/inf value(s), the first at X[{j}, {i}]" \
                           f" = {value}"
                with unchanged(w, X, Y):
                    for call, training in ((implementation.propagate, ()),
                                           (implementation.optimize, (2, 0.1))):
                        with pytest.raises(ValueError) as raised:
                            call(w, b, X, Y, *training)
                        assert str(raised.value) == expected
        X = clean.copy(order=order)
        X[-1, -1] = np.nan
        with unchanged(X, Y), pytest.raises(ValueError, match=r"X must be finite.*X\[") as raised:
            fastlr.model(X, Y, clean, Y, num_iterations=2, backend=implementation.backend,
                         variant=implementation.variant)
        assert f"X[{n_x - 1}, {m - 1}] = nan" in str(raised.value)


def test_model_names_X_test_in_its_errors():
    w, b, X, Y = course_problem()
    X_test = X.copy()
    X_test[-1, -1] = np.nan
    with pytest.raises(ValueError) as raised:
        fastlr.model(X, Y, X_test, Y, num_iterations=2)
    assert str(raised.value).startswith("X_test must be finite"), str(raised.value)
    with pytest.raises(ValueError) as raised:
        fastlr.model(X, Y, X[:-1], Y, num_iterations=2)
    assert str(raised.value).startswith("X_test must have shape"), str(raised.value)
