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
    scaling = tmp_path / "scaling.json"
    scaling.write_text(json.dumps(fake_scaling_report()))
    code = f"""
import json, sys, matplotlib
matplotlib.use("svg")
from fastlr import bench, tutorial
from fastlr.bench import plotting
with open({str(report)!r}) as f:
    bench.plot(json.load(f), {str(tmp_path / "a.png")!r})
tutorial.plot_steps([("a", 1.0), ("b", 0.1), ("c", 0.01)], {str(tmp_path / "b.png")!r})
plotting.plot_scaling_beginner({str(scaling)!r}, {str(tmp_path / "c.png")!r})
bench.plot_scaling(json.load(open({str(scaling)!r})), {str(tmp_path / "d.png")!r})
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
    (["--beginner"], "--beginner applies to --scaling only"),
    (["--scaling", "--beginner", "--backends=numpy"], "--beginner chooses its implementations"),
    (["--fit", "--beginner"], "--fit does not take --beginner"),
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
    assert (tmp_path / "scaling-beginner.png").read_bytes().startswith(PNG_SIGNATURE)
    blas = report["settings"]["blas_threads"]
    assert blas["interpreted_implementations"] == \
        [f"{b} {v}" for b, v in pairs if (b, v) in registry.INTERPRETED]
    assert "BLAS" in out and "for NumPy and the compiled vectorized variants" in out


def test_scaling_text_without_the_floor():
    x = bench.Measurement("numpy", "vectorized", 2, 3, "float64", "F", 1, [1e-5])
    report = {"results": [x.to_dict()], "floor": [], "floor_unavailable": "not built",
              "machine": {}, "caches": {"L2": 2**20},
              "settings": {"shapes": [[2, 3]], "dtype": "float64", "order": "F", "threads": 1}}
    text = bench.format_scaling(report)
    assert "floor (one read of X) not measured" in text and "not built" in text
    assert "10.0 µs" in text and "L2 1 MiB" in text


# --------------------------------------------------------------------------- scaling: floor,
# load, BLAS, the beginner figure


def fake_scaling_report(floor=1e-9, numpy_vectorized=2e-5, **settings):
    """A scaling report of two sizes: the beginner figure's implementations and some of
    the full figure's others, the floor ``floor`` seconds per element."""
    shapes = [(2, 3), (100, 10)]
    results = []
    for n_x, m in shapes:
        for (backend, variant), seconds in [(("python", "loop"), 1e-5 * n_x * m),
                                            (("python", "vectorized"), 1e-5 * n_x * m),
                                            (("numpy", "vectorized"), numpy_vectorized),
                                            (("numba", "loop"), 9e-6),
                                            (("cython", "loop"), 1e-5),
                                            (("cython", "fused"), 1e-5)]:
            results.append(bench.Measurement(backend, variant, n_x, m, "float64", "F", 2,
                                             [seconds]).to_dict())
    floor = [bench.scaling.floor_entry(n_x, m, {1: [floor * n_x * m]}) for n_x, m in shapes]
    return {"fastlr_version": "0", "machine": {"cpu": "test", "cores": 2},
            "caches": {"L2": 2**20}, "results": results, "floor": floor, "unavailable": [],
            "settings": {"shapes": [list(s) for s in shapes], "dtype": "float64",
                         "order": "F", "threads": 2, **settings}}


def test_floor_is_the_fastest_read_of_the_faster_thread_count():
    busy_core = {1: [3e-6, 2e-6, 4e-6], 2: [1.4e-3, 1.2e-3, 1.5e-3]}  # 2 threads wait
    entry = bench.scaling.floor_entry(100, 10, busy_core)
    assert (entry["threads"], entry["floor"], entry["median"]) == (1, 2e-6, 3e-6)
    assert entry["by_threads"]["2"] == {"median": 1.4e-3, "min": 1.2e-3}
    quiet = {1: [10e-6, 11e-6, 12e-6], 2: [6e-6, 5e-6, 7e-6]}
    entry = bench.scaling.floor_entry(100, 10, quiet)
    assert (entry["threads"], entry["floor"]) == (2, 5e-6)
    assert bench.scaling.floor_threads(1) == [1] and bench.scaling.floor_threads(4) == [1, 4]
    old = {"n_x": 2, "m": 3, "elements": 6, "times": [1e-6, 3e-6], "median": 2e-6, "min": 1e-6}
    assert bench.scaling.floor_value(old) == 2e-6  # scaling.json of an older fastlr


def disturbed_scaling_report():
    """:func:`fake_scaling_report` whose floor at 100×10 was read while a core was busy:
    1.2 ms, above every compiled time there (below the Python loop's 10 ms)."""
    report = fake_scaling_report()
    report["floor"][1] = bench.scaling.floor_entry(100, 10, {2: [1.2e-3, 1.4e-3]})
    return report


def test_a_time_below_the_floor_is_flagged():
    quiet = fake_scaling_report()
    assert bench.scaling.below_floor(quiet) == []
    assert "below the floor" not in bench.format_scaling(quiet)
    assert "!" not in bench.format_scaling(quiet)
    disturbed = disturbed_scaling_report()
    flagged = bench.scaling.below_floor(disturbed)
    assert [(x.backend, x.variant, x.n_x, x.m) for x in flagged] == \
        [("numpy", "vectorized", 100, 10), ("numba", "loop", 100, 10),
         ("cython", "loop", 100, 10), ("cython", "fused", 100, 10)]
    text = bench.format_scaling(disturbed)
    flat = " ".join(text.split())
    assert ("! below the floor: timing disturbed — numpy vectorized at 100×10, numba loop at "
            "100×10, cython loop at 100×10, cython fused at 100×10.") in flat
    # numpy vectorized: 20.0 µs at both sizes, above the floor at 2×3, below it at 100×10
    assert text.count("20.0 µs!") == 1 and text.count("20.0 µs") == 2
    assert "10.0 ms!" not in text and "1.20 ms" in text


def test_a_time_below_the_floor_is_ringed_in_the_figures(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    from fastlr.bench import plotting

    report = disturbed_scaling_report()
    quiet = plotting.scaling_beginner_figure(fake_scaling_report()).axes[0]
    assert not any("below the floor" in t.get_text() for t in quiet.get_legend().get_texts())
    figure = plotting.scaling_beginner_figure(report)
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "below the floor: timing disturbed" in legend
    full = plotting.scaling_figure(report).axes[0]
    assert "below the floor: timing disturbed" in \
        [t.get_text() for t in full.get_legend().get_texts()]
    assert bench.plot_scaling(report, tmp_path / "s.png").read_bytes().startswith(PNG_SIGNATURE)


def lines_of(figure):
    return [line.get_label() for line in figure.axes[0].get_lines()
            if not line.get_label().startswith("_")]


def test_beginner_figure_has_four_plain_lines(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    from fastlr.bench import plotting

    report = fake_scaling_report()
    assert lines_of(plotting.scaling_beginner_figure(report)) == [
        "Python for-loop", "NumPy, vectorized", "compiled for-loop (Cython)",
        "reading X once (the floor)"]
    axis = plotting.scaling_beginner_figure(report).axes[0]
    assert axis.get_xscale() == axis.get_yscale() == "log"
    assert axis.get_title(loc="left") == plotting.BEGINNER_TITLE
    without_cython = dict(report, results=[r for r in report["results"]
                                           if r["backend"] != "cython"])
    assert lines_of(plotting.scaling_beginner_figure(without_cython))[2] == \
        "compiled for-loop (Numba)"
    path = tmp_path / "scaling.json"
    bench.write_json(report, path)
    png = plotting.plot_scaling_beginner(path, tmp_path / "b.png")  # from a scaling.json
    assert png.read_bytes().startswith(PNG_SIGNATURE)


def test_scaling_beginner_run_measures_and_draws_its_four_lines(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="--out plots need matplotlib")
    from fastlr.bench import plotting

    assert cli.main(["bench", "--scaling", "--beginner", "--max-elements", "100",
                     "--repeats", "3", "--out", str(tmp_path), "--no-progress"]) == 0
    captured = capsys.readouterr()
    report = json.loads((tmp_path / "scaling.json").read_text())
    pairs = bench.scaling.beginner_pairs(available_pairs())
    assert len(pairs) == 3 and pairs[:2] == [("python", "loop"), ("numpy", "vectorized")]
    assert {(r["backend"], r["variant"]) for r in report["results"]} == set(pairs)
    assert report["settings"]["beginner"] is True
    assert "3 implementations" in captured.err
    assert (tmp_path / "scaling-beginner.png").read_bytes().startswith(PNG_SIGNATURE)
    assert not (tmp_path / "scaling.png").exists()
    labels = lines_of(plotting.scaling_beginner_figure(report))
    compiled = "Cython" if registry.available("cython") else "Numba"
    floor = ["reading X once (the floor)"] if report["floor"] else []
    assert labels == ["Python for-loop", "NumPy, vectorized",
                      f"compiled for-loop ({compiled})"] + floor
    if registry.available("cython"):
        assert len(labels) == 4


def test_scaling_warns_about_load_before_and_during(monkeypatch, capsys):
    from fastlr.bench import runner

    monkeypatch.setattr(runner, "load_average", lambda: 99.0)
    monkeypatch.setattr(bench.scaling, "load_average", lambda: 99.0)
    assert cli.main(["bench", "--scaling", "--max-elements", "6", "--repeats", "3",
                     "--backends", "numpy", "--no-progress"]) == 0
    captured = capsys.readouterr()
    cores = bench.machine_info()["cores"]
    warning = f"load average 99.0 on {cores} cores before the run: other work shares the cores"
    assert warning in " ".join(captured.err.split())  # before the minute of measuring
    out = " ".join(captured.out.split())
    assert warning in out and out.index(warning) < out.index("n_x×m")  # above the table


def test_scaling_load_warnings_say_what_happened_during_the_run():
    from fastlr.bench import runner

    assert runner.load_warnings({}, 2) == []
    assert runner.load_warnings({"load_average_before": 0.9}, 2) == []
    [before] = runner.load_warnings({"load_average_before": 1.0}, 2)
    assert before.startswith("load average 1.0 on 2 cores before the run")
    [during] = runner.load_warnings({"others_busy_during": 0.4, "load_average_after": 0.1}, 2)
    assert during.startswith("other processes used 40% of the cores while it measured")
    assert runner.load_warnings({"others_busy_during": 0.05, "load_average_after": 9.0}, 2) == []
    # no /proc/stat: the load average after, less this run's own threads
    [after] = runner.load_warnings({"others_busy_during": None, "load_average_before": 0.2,
                                    "load_average_after": 2.5, "own_threads_during": 1.0}, 2)
    assert after.startswith("load average 2.5 on 2 cores after the run")
    assert runner.load_warnings({"load_average_before": 0.2, "load_average_after": 1.5,
                                 "own_threads_during": 1.0}, 2) == []  # its own run
    text = bench.format_scaling(fake_scaling_report(others_busy_during=0.5))
    assert "other processes used 50% of the cores" in " ".join(text.split())


def test_scaling_limits_blas_for_the_interpreted_and_reads_the_floor_around_them(monkeypatch):
    from fastlr import threads

    log, limited = [], []

    class FakeLimiter:
        def restore_original_limits(self):
            limited.pop()

    def limit_blas(n):
        limited.append(n)
        return FakeLimiter()

    real_measure = bench.scaling.measure

    def measure(backend, variant, *args, **kwargs):
        log.append((backend, variant, list(limited), kwargs["blas_threads"]))
        return real_measure(backend, variant, *args, **kwargs)

    def time_floor(read_floor, X, n_threads, repeats):
        log.append(("floor", X.shape))
        return {1: [1e-6], n_threads: [2e-6]}

    monkeypatch.setattr(threads, "limit_blas", limit_blas)
    monkeypatch.setattr(bench.scaling, "measure", measure)
    monkeypatch.setattr(bench.scaling, "time_floor", time_floor)
    monkeypatch.setattr(bench.scaling, "floor_kernel", lambda: (lambda X, n: 0.0, None))
    monkeypatch.setattr(bench.machine, "blas_threads", lambda: 7)
    report = bench.run_scaling(6, backends=["python:loop", "numpy"], repeats=3)
    assert log == [("floor", (2, 3)), ("python", "loop", [1], 1), ("numpy", "loop", [1], 1),
                   ("numpy", "vectorized", [], 7), ("floor", (2, 3))]
    assert limited == []  # each limit restored
    assert report["settings"]["blas_threads"] == {
        "interpreted": 1, "others": 7,
        "interpreted_implementations": ["python loop", "numpy loop"]}
    assert [r["blas_threads"] for r in report["results"]] == [1, 1, 7]
    assert report["floor"][0]["floor"] == 1e-6
    settings = report["settings"]
    assert {"load_average_before", "load_average_after", "others_busy_during"} <= set(settings)
