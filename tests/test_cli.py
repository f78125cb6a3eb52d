"""``fastlr bench``, ``fastlr info`` and the arithmetic behind their tables."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from fastlr import bench, cli, registry

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def available_pairs():
    return [(i.backend, i.variant) for i in __import__("fastlr").implementations() if i.available]


# --------------------------------------------------------------------------- fastlr bench


def test_bench_writes_results_json_and_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="--out plots need matplotlib")
    code = cli.main(["bench", "--sizes", "tiny,20x30", "--repeats", "3", "--out", str(tmp_path),
                     "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out

    png = (tmp_path / "speedup.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000

    report = json.loads((tmp_path / "results.json").read_text())
    pairs = available_pairs()
    measured = [(r["backend"], r["variant"], r["n_x"], r["m"], r["condition"])
                for r in report["results"]]
    assert measured == [(b, v, n_x, m, condition) for n_x, m in [(2, 3), (20, 30)]
                        for condition in ("steady", "interleaved") for b, v in pairs]
    for result in report["results"]:
        assert result["dtype"] == "float64" and result["order"] == "F"
        assert result["threads"] >= 1 and result["task"] == "propagate"
        assert result["times"] and min(result["times"]) == result["min"] > 0
        assert result["min"] <= result["median"] <= max(result["times"])
        assert result["estimated"] is False
    for summary in report["problems"]:
        baseline = summary["python_loop"]
        for name, ratio in summary["vs_python_loop"].items():
            median = next(r["median"] for r in report["results"]
                          if f"{r['backend']} {r['variant']}" == name
                          and (r["n_x"], r["m"], r["condition"])
                          == (summary["n_x"], summary["m"], summary["condition"]))
            assert ratio == pytest.approx(baseline / median)
        python = summary["backends"]["python"]
        expected = python["loop"] / python["vectorized"]
        assert python["vectorization_speedup"] == pytest.approx(expected)
    machine = report["machine"]
    assert {"cpu", "cores", "python", "numpy", "blas", "numba", "cython"} <= machine.keys()
    unavailable = {(u["backend"], u["variant"]) for u in report["unavailable"]}
    assert unavailable == set(registry.PAIRS) - set(pairs)

    assert "loop ÷ vectorized" in out and "loop time ÷ vectorized time" in out
    assert "pure-Python loop time ÷ this time" in out
    assert "Fastest here:" in out and "machine" in out and "NumPy" in out
    assert "12288" not in out  # only the sizes asked for
    assert "right after a NumPy 2000×2000 matrix-vector product before each call" \
        in " ".join(out.split())
    assert out.count("Steady vs interleaved") == 2  # one comparison per problem


def test_bench_progress_goes_to_stderr(capsys):
    assert cli.main(["bench", "--sizes", "tiny", "--repeats", "3", "--backends", "numpy"]) == 0
    captured = capsys.readouterr()
    assert "numpy loop on 2×3" in captured.err and "numpy vectorized on 2×3" in captured.err
    assert "\r" not in captured.err  # not a terminal: plain lines
    assert "numpy loop on 2×3" not in captured.out


def test_bench_without_matplotlib_says_which_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    assert cli.main(["bench", "--sizes", "tiny", "--out", str(tmp_path)]) == 1
    assert 'pip install "fastlr-vectorized[bench]"' in capsys.readouterr().err


@pytest.mark.parametrize("argument", ["--sizes=12x", "--sizes=huge", "--dtype=float16",
                                      "--repeats=0", "--order=K", "--shapes=cat",
                                      "--fit --scaling", "--fit --sizes=cat",
                                      "--fit --shapes=10x10", "--tune --fit",
                                      "--tune --scaling", "--tune --out=x"])
def test_bench_rejects_bad_arguments(argument, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", *argument.split()])
    assert exit_info.value.code == 2
    assert "fastlr bench: error:" in capsys.readouterr().err


def test_bench_tune_saves_what_auto_then_uses(tmp_path, capsys, monkeypatch):
    import fastlr
    from fastlr import autotune

    monkeypatch.setenv("FASTLR_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FASTLR_AUTOTUNE", raising=False)
    monkeypatch.setattr(autotune, "_memory", {})
    monkeypatch.setattr(autotune, "BUDGET", 0.002)
    monkeypatch.setattr(autotune._Meter, "busy_since", lambda self: 0.0)  # a quiet machine
    assert cli.main(["bench", "--tune", "--sizes", "tiny,4x40", "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert "Saved to" in out and "float32-F-tiny-square" in out and "float32-F-tiny-tall" in out
    saved = json.loads((tmp_path / "fastest.json").read_text())[autotune.fingerprint()]
    chosen = fastlr.fastest(np.ones((4, 40), dtype=np.float32, order="F"))
    assert saved["float32-F-tiny-tall"] == [chosen.backend, chosen.variant]
    tuned = next(line for line in out.splitlines() if "← tuned" in line)
    assert tuned.split()[:2] == saved["float32-F-tiny-square"]


def test_bench_tune_on_a_busy_machine_saves_nothing(tmp_path, capsys, monkeypatch):
    from fastlr import autotune

    monkeypatch.setenv("FASTLR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(autotune._Meter, "busy_since", lambda self: 0.5)
    assert cli.main(["bench", "--tune", "--sizes", "tiny"]) == 1
    assert "Not saved: other processes used 50%" in " ".join(capsys.readouterr().out.split())
    assert not (tmp_path / "fastest.json").exists()


# --------------------------------------------------------------------------- fastlr info


def test_info_lists_every_implementation(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    for info in __import__("fastlr").implementations():
        label = f"{info.backend} {bench.VARIANT_LABELS[info.variant]}"
        line = next(line for line in out.splitlines() if line.strip().startswith(label))
        assert line.split()[-1] == ("available" if info.available else "unavailable")
        if not info.available:
            assert info.reason.split(";")[0][:40] in " ".join(out.split())
    for word in ("NumPy", "BLAS", "Numba", "threading layer", "cache", "Cython", "Python"):
        assert word in out


def test_info_json_is_complete(capsys):
    assert cli.main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [(i["backend"], i["variant"]) for i in info["implementations"]] == list(registry.PAIRS)
    assert {"version", "threading_layer", "cache_dir"} <= info["machine"]["numba"].keys()
    assert "openmp" in info["machine"]["cython"] or not info["machine"]["cython"]["available"]


@pytest.mark.parametrize("module", ["fastlr", "fastlr.cli"])
def test_python_dash_m_runs_the_command(module):
    result = subprocess.run([sys.executable, "-m", module, "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: fastlr ") and "bench" in result.stdout


def test_tutorial_runs_on_a_small_problem(capsys):
    from fastlr import tutorial

    assert tutorial.main(["--size", "20x30", "--iterations", "20", "--slow-seconds", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "two loops" in out and "one loop" in out and "no loop" in out
    for backend, variant in available_pairs():
        assert f"{backend} {variant}" in out
    assert "Fastest full training:" in out and "Summary" in out
    assert max(len(line) for line in out.splitlines()) <= tutorial.WIDTH


def test_tutorial_steps_are_the_lecture_in_course_shapes():
    """Two loops, one loop, no loop: the pure-Python reference's numbers, course shapes."""
    import numpy as np

    from fastlr import tutorial
    from fastlr.backends import python_

    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 11))
    Y = (rng.random((1, 11)) < 0.5).astype(float)
    w = rng.standard_normal((7, 1))
    dw_ref, db_ref, cost_ref = python_.propagate_loop(w[:, 0], 0.3, X, Y[0])
    for step in (tutorial.two_loops, tutorial.one_loop, tutorial.no_loop):
        dw, db, cost = step(w, 0.3, X, Y)
        assert dw.shape == (7, 1)
        np.testing.assert_allclose(dw[:, 0], dw_ref, rtol=1e-12)
        np.testing.assert_allclose([db, cost], [db_ref, cost_ref], rtol=1e-12)


# --------------------------------------------------------------------------- arithmetic


def measurement(backend, variant, times, **fields):
    return bench.Measurement(backend, variant, 12288, 209, "float64", "F", 2, times, **fields)


def hand_made():
    return [
        measurement("python", "loop", [1.2, 1.0, 0.8]),  # median 1.0
        measurement("python", "vectorized", [0.5]),
        measurement("numpy", "loop", [2.0, 4.0]),  # median 3.0
        measurement("numpy", "vectorized", [0.003]),
        measurement("numba", "loop", [0.001]),
        measurement("numba", "vectorized", [0.002]),
        measurement("numba", "fused", [0.0005, 0.0004, 0.0006]),
    ]


def test_speedups_on_hand_made_timings():
    (summary,) = bench.summarize(hand_made())
    assert summary["python_loop"] == 1.0
    speedup = {b: entry["vectorization_speedup"] for b, entry in summary["backends"].items()}
    assert speedup == pytest.approx({"python": 2.0, "numpy": 1000.0, "numba": 0.5})
    assert summary["vs_python_loop"] == pytest.approx({
        "python loop": 1.0, "python vectorized": 2.0, "numpy loop": 1 / 3,
        "numpy vectorized": 1000 / 3, "numba loop": 1000.0, "numba vectorized": 500.0,
        "numba fused": 2000.0})
    assert summary["fastest"] == {"backend": "numba", "variant": "fused", "median": 0.0005}
    assert "fused" not in summary["backends"]["numpy"]


def test_report_text_states_the_ratios_in_words():
    report = bench.make_report(hand_made(), machine={"cpu": "test CPU", "cores": 2})
    text = bench.format_report(report)
    assert "1000×" in text and "2000×" in text and "0.5×" in text and "0.33×" in text
    assert "loop time ÷ vectorized time" in text
    assert "Fastest here: numba fused (one pass), 500 µs per call, 2000× faster" in text
    numpy_row = next(line for line in text.splitlines() if line.startswith("numpy "))
    assert numpy_row.split()[-1] == "1000×"
    assert json.loads(json.dumps(report)) == report  # serializable as it is


def test_estimates_are_marked_and_scaled(monkeypatch):
    # a fake clock: every call costs 1 ms per example it gets
    monkeypatch.setattr(bench.timing, "timed_calls",
                        lambda f, args, number: 1e-3 * args[2].shape[1])
    w, b, X, Y = bench.make_inputs(4, 1000)
    plan = bench.plan_slow(1e-3, 1000, budget=0.3, repeats=10)
    assert (plan.calls, plan.examples) == (3, 100)  # 1 s per call does not fit: 100 examples
    times = bench.time_slow(lambda *a: None, w, b, X, Y, plan)
    assert times == pytest.approx([1.0, 1.0, 1.0])  # 0.1 s on 100 examples, × 1000/100
    estimate = measurement("python", "loop", times, examples_timed=plan.examples)
    assert estimate.estimated and estimate.to_dict()["estimated"] is True
    text = bench.format_report(bench.make_report([estimate], machine={}))
    assert "est." in text and "timed on 100 of the 209 examples" in text


def test_plan_slow_caps_calls_and_fits_the_budget():
    assert bench.plan_slow(0.01, 209, budget=12, repeats=10) == bench.SlowPlan(3, 209, 2.09)
    assert bench.plan_slow(0.01, 209, budget=3, repeats=10).calls == 1  # one 2.09 s call fits
    assert bench.plan_slow(0.01, 209, budget=12, repeats=2).calls == 2
    plan = bench.plan_slow(1e-3, 10**6, budget=6, repeats=10)
    assert plan.examples * 1e-3 * plan.calls <= 6 and plan.examples < 10**6


@pytest.mark.parametrize("text, size", [("cat", (12288, 209)), ("tiny", (2, 3)),
                                        ("100x1_000", (100, 1000)), ("2×3", (2, 3))])
def test_parse_size(text, size):
    assert bench.parse_size(text) == size


@pytest.mark.parametrize("seconds, text", [(0.712, "712 ms"), (0.00105, "1.05 ms"),
                                           (3.2e-6, "3.20 µs"), (4.1, "4.10 s"),
                                           (12.0, "12.0 s")])
def test_format_time(seconds, text):
    assert bench.format_time(seconds) == text


@pytest.mark.parametrize("ratio, text", [(1.0, "1.0×"), (0.17, "0.17×"), (68.4, "68×"),
                                         (3874.0, "3874×"), (None, "—")])
def test_format_ratio(ratio, text):
    assert bench.format_ratio(ratio) == text


def test_progress_plain_lines_off_a_terminal():
    stream = io.StringIO()
    progress = bench.Progress(2, stream=stream)
    progress.update(0, "numba loop: first call")
    progress.update(0.5, detail="call 1/2")  # details only on a terminal
    progress.update(1, "numba fused: first call")
    progress.note("a note")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in stream.getvalue()
    assert lines[0].endswith("numba loop: first call") and lines[2] == "a note"


# --------------------------------------------------------------------------- fastlr bench --fit


def test_fit_benchmark_table_on_a_small_shape(monkeypatch, capsys):
    from fastlr.bench import fit

    monkeypatch.setitem(fit.SHAPES, "small", (3000, 20))
    monkeypatch.setattr(fit, "KNOWN_SECONDS", {("sklearn newton-cholesky", "small"): 1e9})
    assert cli.main(["bench", "--fit", "--shapes", "small", "--dtype", "float64",
                     "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "CPU" in out and "tol=1e-06 for every contender" in out
    rows = {line.split("|")[1].strip(): line.split("|")[2:] for line in out.splitlines()
            if line.startswith("| ") and "---" not in line and "contender" not in line}
    assert {"fastlr (default solver)", "fastlr lbfgs", "sklearn lbfgs"} <= set(rows)
    default = rows["fastlr (default solver)"]
    assert abs(float(default[1])) < 1e-8  # the same optimum as the best peer
    assert default[2].strip().endswith("×") and "passes over X" in default[3]
    assert "left out: ~1000000000 s" in "".join(rows["sklearn newton-cholesky"])
    assert any("fastest peer" in "".join(cells) for cells in rows.values())


def test_fit_benchmark_objective_is_scikit_learns():
    import numpy as np

    from fastlr.bench import fit

    X = np.arange(12.0).reshape(4, 3) / 10
    y = np.array([0.0, 1.0, 1.0, 0.0])
    assert fit.objective(np.zeros(3), [0.0], X, y) == pytest.approx(4 * np.log(2.0))
    w, b = np.array([0.5, -1.0, 2.0]), 0.3
    z = X @ w + b
    expected = np.sum(np.log1p(np.exp(z)) - y * z) + 0.5 * w @ w
    assert fit.objective(w, [b], X, y) == pytest.approx(expected, rel=1e-14)
