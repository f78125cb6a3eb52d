"""Turn pytest-benchmark's JSON into fastlr's speedup tables and plot.

::

    pytest bench/ --benchmark-json=bench.json
    python bench/report.py bench.json                 # the tables, as `fastlr bench` prints them
    python bench/report.py bench.json --out results/  # + results/results.json, results/speedup.png

Every benchmark of the suites carries in ``extra_info`` what it measured (task, backend,
variant, n_x, m, dtype, order, threads, iterations, condition and interleave size; a JSON
without a condition is steady); its times are pytest-benchmark's
rounds (all of them with ``--benchmark-save-data``, otherwise its median and min). The
machine is the one ``bench/conftest.py`` records in the JSON's ``machine_info``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from fastlr import bench


def measurements_from_pytest_benchmark(data: dict) -> list:
    """One :class:`fastlr.bench.Measurement` per fastlr benchmark of a pytest-benchmark JSON."""
    measurements = []
    for entry in data.get("benchmarks", []):
        info = entry.get("extra_info") or {}
        if not {"backend", "variant", "n_x", "m"} <= info.keys():
            continue  # not one of fastlr's suites
        stats = entry["stats"]
        times = stats.get("data") or [stats["median"]]
        measurement = bench.Measurement(
            info["backend"], info["variant"], int(info["n_x"]), int(info["m"]),
            info.get("dtype", "float64"), info.get("order", "F"), int(info.get("threads") or 1),
            times, task=info.get("task", "propagate"), iterations=info.get("iterations"),
            blas_threads=info.get("blas_threads"), condition=info.get("condition") or "steady",
            interleave_size=info.get("interleave_size"))
        measurement.median, measurement.min = stats["median"], stats["min"]
        measurements.append(measurement)
    return measurements


def machine_from_pytest_benchmark(data: dict) -> dict:
    machine_info = data.get("machine_info") or {}
    if "fastlr" in machine_info and "error" not in machine_info["fastlr"]:
        return machine_info["fastlr"]
    cpu = machine_info.get("cpu") or {}
    return {"cpu": cpu.get("brand_raw") or machine_info.get("processor") or "?",
            "cores": cpu.get("count", "?"), "python": machine_info.get("python_version", "?"),
            "platform": machine_info.get("system", "?")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", help="the file written by pytest --benchmark-json=FILE")
    parser.add_argument("--out", metavar="DIR",
                        help="write DIR/results.json (fastlr's format) and DIR/speedup.png")
    args = parser.parse_args(argv)
    with open(args.json) as f:
        data = json.load(f)
    # propagate before optimize, small problems first (pytest-benchmark sorts by group
    # name), steady before interleaved
    conditions = {condition: k for k, condition in enumerate(bench.CONDITIONS)}
    measurements = sorted(measurements_from_pytest_benchmark(data),
                          key=lambda x: (x.task != "propagate", x.n_x * x.m, x.dtype, x.order,
                                         x.iterations or 0, conditions.get(x.condition, 9)))
    if not measurements:
        print(f"{args.json}: no fastlr benchmark with extra_info found (was it written by "
              "`pytest bench/ --benchmark-json=...` without --benchmark-disable?)",
              file=sys.stderr)
        return 1
    report = bench.make_report(measurements, machine=machine_from_pytest_benchmark(data),
                               settings={"source": os.path.abspath(args.json),
                                         "timed": "pytest-benchmark rounds"})
    print(bench.format_report(report))
    if args.out:
        json_path = bench.write_json(report, os.path.join(args.out, "results.json"))
        png_path = bench.plot(report, os.path.join(args.out, "speedup.png"))
        print(f"wrote {json_path} and {png_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
