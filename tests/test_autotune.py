"""fastest(): a rule by default (the same answer in every process, no measuring); tune()
measures on request, refuses to save what it measured on a busy machine, and its saved
choice is what "auto" uses from then on."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import fastlr
from fastlr import autotune, registry
from fastlr.bench.problems import SIZES


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTLR_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FASTLR_AUTOTUNE", raising=False)
    monkeypatch.delenv("FASTLR_BACKEND", raising=False)
    monkeypatch.setattr(autotune, "_memory", {})
    monkeypatch.setattr(autotune, "BUDGET", 0.002)  # which pair wins is not what is tested
    yield tmp_path / "fastest.json"


def quiet(monkeypatch):
    """The load meter reads an idle machine (the tests' own machine may be busy)."""
    monkeypatch.setattr(autotune._Meter, "busy_since", lambda self: 0.0)


@pytest.mark.parametrize("shape, order, dtype, expected", [
    ((2, 3), "F", np.float64, "float64-F-tiny-square"),
    ((12288, 209), "F", np.float64, "float64-F-cache-wide"),
    ((12288, 209), "C", np.float32, "float32-C-cache-wide"),
    ((100, 1_000_000), "F", np.float64, "float64-F-memory-tall"),
])
def test_problem_class(shape, order, dtype, expected):
    assert autotune.problem_class(np.empty(shape, dtype=dtype, order=order)) == expected
    assert autotune.problem_class(np.empty((40, 60))[:, ::2]).startswith("float64-strided-")


def rule_pair():
    available = [(i.backend, i.variant) for i in fastlr.implementations() if i.available]
    return next(pair for pair in registry.PREFERENCE if pair in available)


def test_the_rule_is_the_first_available_preferred_pair_and_measures_nothing(fresh, monkeypatch):
    def no_measuring(*args):
        raise AssertionError("fastest() measured")

    monkeypatch.setattr(autotune, "_measure", no_measuring)
    for shape in SIZES.values():
        for X in (np.empty(shape, order="F"), np.empty(shape, dtype=np.float32, order="C")):
            chosen = fastlr.fastest(X)
            assert (chosen.backend, chosen.variant) == rule_pair()
            assert fastlr.get(X=X) is chosen  # what backend="auto" runs
    assert not fresh.exists()


FRESH_PROCESS = r"""
import json
import numpy as np
import fastlr
from fastlr.bench.problems import SIZES
picks = [[fastlr.fastest(np.empty(shape, order="F")).backend,
          fastlr.fastest(np.empty(shape, order="F")).variant] for shape in SIZES.values()]
print(json.dumps(picks))
"""


def test_the_same_pick_in_fresh_processes_with_empty_caches(tmp_path):
    picks = []
    for k in range(3):
        env = {**os.environ, "FASTLR_CACHE_DIR": str(tmp_path / f"cache{k}")}
        env.pop("FASTLR_BACKEND", None)
        result = subprocess.run([sys.executable, "-c", FRESH_PROCESS], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        picks.append(json.loads(result.stdout))
    assert picks[0] == picks[1] == picks[2] == [list(rule_pair())] * len(SIZES)


def test_tune_saves_the_winners_and_auto_uses_them(fresh, monkeypatch):
    quiet(monkeypatch)
    X = np.ones((3, 40), order="F")
    _, measured = registry.candidates()
    tuning = fastlr.tune(X)
    key = autotune.problem_class(X)
    assert tuning.saved, tuning.reason
    assert set(tuning.times[key]) == set(measured)
    assert all(steady > 0 and interleaved > 0
               for steady, interleaved in tuning.times[key].values())
    winner = tuning.chosen[key]
    assert winner == min(measured, key=lambda p: np.prod(tuning.times[key][p]))
    assert json.loads(fresh.read_text()) == {autotune.fingerprint(): {key: list(winner)}}
    chosen = fastlr.fastest(X)
    assert (chosen.backend, chosen.variant) == winner
    # another class is not tuned: the rule
    other = fastlr.fastest(np.ones((3, 40), dtype=np.float32))
    assert (other.backend, other.variant) == rule_pair()
    monkeypatch.setenv("FASTLR_AUTOTUNE", "0")  # ignores the saved choice
    monkeypatch.setattr(autotune, "_memory", {})
    assert (fastlr.fastest(X).backend, fastlr.fastest(X).variant) == rule_pair()


def test_a_saved_pair_that_is_not_available_falls_back_to_the_rule(fresh):
    X = np.ones((3, 40), order="F")
    stored = {autotune.fingerprint(): {autotune.problem_class(X): ["python", "loop"]}}
    fresh.write_text(json.dumps(stored))
    chosen = fastlr.fastest(X)
    assert (chosen.backend, chosen.variant) == rule_pair()


SPIN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"


def test_tune_refuses_to_save_while_other_processes_hold_the_cores(fresh):
    # another process keeps one of the cores busy for the whole tuning
    spinner = subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=20)])
    try:
        tuning = fastlr.tune(np.ones((3, 40), order="F"))
    finally:
        spinner.kill()
        spinner.wait(10)
    assert not tuning.saved
    assert tuning.busy > autotune.BUSY_LIMIT
    assert "other processes used" in tuning.reason
    assert not fresh.exists()


def test_the_load_meter_sees_this_process_apart_from_the_others():
    meter = autotune.load_meter()
    end = time.monotonic() + 0.3
    while time.monotonic() < end:  # our own work is not "others"
        pass
    busy = meter.busy_since()
    if busy is None:
        pytest.skip("no /proc/stat here")
    assert 0.0 <= busy < 1.0


def test_auto_variant_of_a_named_backend():
    assert fastlr.get("numpy").variant == "vectorized"
    assert fastlr.get("python", "auto").variant == "vectorized"
