"""The interleaved condition and ``fastlr bench --scaling``: timing order, JSON, reports, CLI."""

import json
import subprocess
import sys
import time

import pytest

from fastlr import bench, cli, registry

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def available_pairs():
    return [(i.backend, i.variant) for i in __import__("fastlr").implementations() if i.available]


class FakeClock:
    """A clock that only moves when the fake interleave or the fake call says so, and a log
    of who ran when: the interleave (1 s each), the call (``call_seconds``), the clock."""

    def __init__(self, call_seconds=1e-4):
        self.now = 0.0
        self.log = []
        self.call_seconds = call_seconds

    def __call__(self):
        self.log.append("clock")
        return self.now

    def interleave(self):
        self.log.append("blas")
        self.now += 1.0

    def call(self, *args):
        self.log.append("call")
        self.now += self.call_seconds


# --------------------------------------------------------------------------- timing


def test_interleave_runs_before_each_call_outside_the_timing(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(bench.timing, "clock", fake)
    times = bench.interleaved_calls(fake.call, (), fake.interleave, 3)
    assert times == pytest.approx([1e-4] * 3)  # the 1 s interleaves are not in them
    assert fake.log == ["blas", "clock", "call", "clock"] * 3


def test_time_interleaved_samples_are_medians_of_single_calls(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(bench.timing, "clock", fake)
    times, number, first = bench.time_interleaved(fake.call, (), fake.interleave, repeats=4,
                                                  min_sample=1e-3, max_seconds=1e9)
    assert number == bench.INTERLEAVED_CALLS  # 10 calls would fill 1 ms: capped
    assert times == pytest.approx([1e-4] * 4) and first == pytest.approx(1e-4)
    calls = [event for event in fake.log if event != "clock"]
    assert calls.count("call") == calls.count("blas") >= 4 * number + 2
    assert calls == ["blas", "call"] * (len(calls) // 2)  # never two calls back to back


def test_time_interleaved_sample_is_the_median(monkeypatch):
    costs = iter([1e-3, 1e-3] + [1e-3, 9e-3, 2e-3, 1e-3, 5e-3] * 3)  # first, warm-up, samples
    fake = FakeClock()
    fake.call = lambda *args: setattr(fake, "now", fake.now + next(costs))
    monkeypatch.setattr(bench.timing, "clock", fake)
    times, number, _ = bench.time_interleaved(fake.call, (), fake.interleave, repeats=3,
                                              min_sample=5e-3, warmup_seconds=0.0)
    assert number == 5 and times == pytest.approx([2e-3] * 3)


def test_time_slow_interleaves_each_call(monkeypatch):
    log = []
    monkeypatch.setattr(bench.timing, "timed_calls",
                        lambda f, args, number: log.append("call") or 1e-3 * args[2].shape[1])
    w, b, X, Y = bench.make_inputs(4, 1000)
    plan = bench.plan_slow(1e-3, 1000, budget=0.3, repeats=10)
    times = bench.time_slow(None, w, b, X, Y, plan, interleave=lambda: log.append("blas"))
    assert log == ["blas", "call"] * plan.calls
    assert times == pytest.approx([1.0] * plan.calls)


def test_interleave_is_a_fixed_matrix_vector_product():
    a, b = bench.Interleave(50), bench.Interleave(50)
    assert a.matrix.shape == (50, 50) and (a.matrix == b.matrix).all()  # fixed seed
    a()
    assert a.result == pytest.approx(a.matrix @ a.vector)
    assert a.describe() == "a NumPy 50×50 matrix-vector product"
    with pytest.raises(ValueError, match="size"):
        bench.Interleave(0)


def test_measure_interleaved_records_its_condition():
    w, b, X, Y = bench.make_inputs(2, 3)
    interleave = bench.Interleave(50)
    x = bench.measure("numpy", "vectorized", w, b, X, Y, repeats=3, interleave=interleave)
    assert (x.condition, x.interleave_size, len(x.times)) == ("interleaved", 50, 3)
    assert 1 <= x.calls_per_sample <= bench.INTERLEAVED_CALLS
    steady = bench.measure("numpy", "vectorized", w, b, X, Y, repeats=3)
    assert (steady.condition, steady.interleave_size) == ("steady", None)


# --------------------------------------------------------------------------- JSON, report


def measurement(backend, variant, times, condition="steady", **fields):
    if condition == "interleaved":
        fields.setdefault("interleave_size", 2000)
    return bench.Measurement(backend, variant, 12288, 209, "float64", "F", 2, times,
                             condition=condition, **fields)


def both_conditions():
    steady = [measurement("numpy", "vectorized", [0.001]), measurement("numba", "loop", [2e-3]),
              measurement("numba", "fused", [0.0005])]
    interleaved = [measurement("numpy", "vectorized", [0.0011], "interleaved"),
                   measurement("numba", "loop", [3e-3], "interleaved"),
                   measurement("numba", "fused", [0.004], "interleaved")]
    return steady + interleaved


def test_condition_survives_the_json_round_trip(tmp_path):
    report = bench.make_report(both_conditions(), machine={})
    path = bench.write_json(report, tmp_path / "results.json")
    back = bench.read_json(path)
    results = [bench.Measurement.from_dict(r) for r in back["results"]]
    assert [(x.condition, x.interleave_size) for x in results] == \
        [("steady", None)] * 3 + [("interleaved", 2000)] * 3
    assert [s["condition"] for s in back["problems"]] == ["steady", "interleaved"]
    assert bench.format_report(back) == bench.format_report(report)


def test_old_json_without_condition_reads_as_steady():
    report = json.loads(json.dumps(bench.make_report(both_conditions()[:3], machine={})))
    text = bench.format_report(report)
    for record in report["results"]:
        del record["condition"], record["interleave_size"]
    for summary in report["problems"]:
        del summary["condition"]
    assert all(bench.Measurement.from_dict(r).condition == "steady" for r in report["results"])
    assert bench.format_report(report) == text


def test_summaries_are_per_condition():
    steady, interleaved = bench.summarize(both_conditions())
    assert (steady["condition"], interleaved["condition"]) == ("steady", "interleaved")
    assert steady["fastest"]["variant"] == "fused"
    assert interleaved["fastest"] == {"backend": "numpy", "variant": "vectorized",
                                      "median": 0.0011}
    assert {x.condition for x in bench.of_problem(both_conditions(), interleaved)} == \
        {"interleaved"}


def test_report_prints_both_tables_and_compares_them():
    text = bench.format_report(bench.make_report(both_conditions(), machine={}))
    flat = " ".join(text.split())
    steady = flat.index("median time per call (pure-Python loop not measured")
    interleaved = flat.index("right after a NumPy 2000×2000 matrix-vector product before each "
                             "call, not counting its time (pure-Python loop not measured")
    comparison = flat.index("Steady vs interleaved")
    assert steady < interleaved < comparison
    assert "numba — loop: steady 2.00 ms, interleaved 3.00 ms (1.5×); fused: steady 500 µs, " \
           "interleaved 4.00 ms (8.0×)" in flat
    assert "numpy — vectorized: steady 1.00 ms, interleaved 1.10 ms (1.1×)" in flat
    assert "Fastest right after NumPy: numpy vectorized, 1.10 ms per call" in flat
    assert "interleaved = each call right after the user's own NumPy code" in flat


def test_plot_shows_both_conditions(tmp_path):
    pytest.importorskip("matplotlib", reason='plots need matplotlib ("fastlr-vectorized[bench]")')
    path = bench.plot(bench.make_report(both_conditions(), machine={}), tmp_path / "s.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_plotting_leaves_the_users_matplotlib_alone(tmp_path):
    # a notebook's inline backend stays: no matplotlib.use(), no pyplot figure left open
    report = tmp_path / "report.json"
    report.write_text(json.dumps(bench.make_report(both_conditions(), machine={})))
    code = f"""
import json, sys, matplotlib
matplotlib.use("svg")
from fastlr import bench, tutorial
with open({str(report)!r}) as f:
    bench.plot(json.load(f), {str(tmp_path / "a.png")!r})
tutorial.plot_steps([("a", 1.0), ("b", 0.1), ("c", 0.01)], {str(tmp_path / "b.png")!r})
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""
    pytest.importorskip("matplotlib", reason='plots need matplotlib ("fastlr-vectorized[bench]")')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["svg", "False"]


# --------------------------------------------------------------------------- fastlr bench


def bench_lines(capsys, *arguments):
    assert cli.main(["bench", "--sizes", "tiny", "--repeats", "3", "--slow-budget", "0.5",
                     "--backends", "numpy,cython:fused", "--interleave-size", "200",
                     *arguments]) == 0
    return capsys.readouterr().out


def test_bench_default_measures_both_conditions(capsys):
    out = bench_lines(capsys)
    assert out.count("propagate on 2×3 (tiny)") == 2
    assert "right after a NumPy 200×200 matrix-vector product before each call" \
        in " ".join(out.split())
    assert "Steady vs interleaved" in out and "interleaved =" in out


def test_bench_condition_steady_prints_only_the_steady_table(capsys):
    code = cli.main(["bench", "--sizes", "tiny", "--repeats", "3", "--backends", "numpy",
                     "--condition", "steady"])
    text = capsys.readouterr().out
    assert code == 0 and text.count("propagate on 2×3 (tiny)") == 1
    assert "right after" not in text and "interleaved" not in text


def test_bench_condition_interleaved_alone(capsys, tmp_path):
    out = bench_lines(capsys, "--condition", "interleaved", "--out", str(tmp_path))
    assert out.count("propagate on 2×3 (tiny)") == 1 and "right after" in out
    report = json.loads((tmp_path / "results.json").read_text())
    assert {r["condition"] for r in report["results"]} == {"interleaved"}
    assert {r["interleave_size"] for r in report["results"]} == {200}
    assert report["settings"]["conditions"] == ["interleaved"]


@pytest.mark.parametrize("arguments, message", [
    (["--condition=fast"], "condition must be steady, interleaved or both"),
    (["--condition="], "condition must be steady, interleaved or both"),
    (["--condition=steady,sometimes"], "got 'steady,sometimes'"),
    (["--interleave-size=0"], "expected a positive integer"),
    (["--scaling", "--sizes=tiny"], "--sizes and --scaling exclude each other"),
    (["--scaling", "--condition=interleaved"], "--scaling measures the steady condition"),
    (["--max-elements=1000"], "--max-elements applies to --scaling only"),
    (["--scaling", "--max-elements=1.5"], "positive whole number of elements"),
    (["--scaling", "--max-elements=abc"], "positive whole number of elements"),
])
def test_bench_rejects_bad_conditions_and_scaling_options(arguments, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", *arguments])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "fastlr bench: error:" in err and message in err


# --------------------------------------------------------------------------- scaling


def test_scaling_options_parse():
    args = cli.build_parser().parse_args(["bench", "--scaling", "--max-elements", "1e6"])
    assert args.scaling and args.max_elements == 1_000_000 and args.slow_budget is None
    args = cli.build_parser().parse_args(["bench", "--max-elements", "4_000_000"])
    assert args.max_elements == 4_000_000


def test_scaling_ladder_ends_beyond_the_l3_cache():
    assert bench.scaling_shapes(1000) == [(2, 3), (10, 10), (100, 10)]
    assert bench.scaling_shapes(1) == [(2, 3)]
    assert bench.scaling_shapes(10**12)[-1] == (100, 640_000)  # X ≤ 1 GB
    assert bench.default_max_elements({"L3": 32 * 2**20}) == 8_000_000  # 64 MB: ~2× L3
    assert bench.default_max_elements({"L3": 32 * 2**20}, itemsize=4) == 16_000_000
    assert bench.default_max_elements({}) == bench.scaling.FALLBACK_MAX_ELEMENTS
    assert bench.scaling._parse_bytes("32768K\n") == 32 * 2**20
    assert bench.scaling._parse_bytes("1M") == 2**20 and bench.scaling._parse_bytes("512") == 512
    caches = bench.cache_sizes()
    assert all(isinstance(size, int) and size > 0 for size in caches.values())
    assert bench.estimate_seconds([(2, 3)], 7, 3, repeats=10, slow_budget=1.0) < 2


def test_scaling_run_writes_the_table_json_and_png(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="--out plots need matplotlib")
    start = time.perf_counter()
    assert cli.main(["bench", "--scaling", "--max-elements", "1000", "--repeats", "3",
                     "--out", str(tmp_path), "--no-progress"]) == 0
    assert time.perf_counter() - start < 20
    captured = capsys.readouterr()
    assert "This takes about" in captured.err and "3 sizes" in captured.err
    out = captured.out
    assert "elements" in out and "n_x×m" in out and "100×10" in out and "10×10" in out
    report = json.loads((tmp_path / "scaling.json").read_text())
    assert report["settings"]["shapes"] == [[2, 3], [10, 10], [100, 10]]
    assert report["settings"]["condition"] == "steady"
    pairs = available_pairs()
    measured = [(r["backend"], r["variant"], r["n_x"], r["m"]) for r in report["results"]]
    assert measured == [(b, v, n_x, m) for n_x, m in [(2, 3), (10, 10), (100, 10)]
                        for b, v in pairs]
    assert all(r["median"] > 0 and r["condition"] == "steady" for r in report["results"])
    if registry.available("cython"):
        assert [f["elements"] for f in report["floor"]] == [6, 100, 1000]
        assert all(f["median"] > 0 for f in report["floor"]) and "floor" in out
    else:
        assert report["floor_unavailable"] and "floor (one read of X) not measured" in out
    png = (tmp_path / "scaling.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000


def test_scaling_text_without_the_floor():
    x = bench.Measurement("numpy", "vectorized", 2, 3, "float64", "F", 1, [1e-5])
    report = {"results": [x.to_dict()], "floor": [], "floor_unavailable": "not built",
              "machine": {}, "caches": {"L2": 2**20},
              "settings": {"shapes": [[2, 3]], "dtype": "float64", "order": "F", "threads": 1}}
    text = bench.format_scaling(report)
    assert "floor (one read of X) not measured" in text and "not built" in text
    assert "10.0 µs" in text and "L2 1 MiB" in text
