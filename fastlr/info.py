"""What ``fastlr info`` reports: versions, BLAS and threads, optional packages, the
environment variables fastlr reads, and every implementation's availability."""

from __future__ import annotations

import os


def info_dict() -> dict:
    """What ``fastlr info`` reports, as a dict."""
    import fastlr
    from fastlr import autotune, bench

    implementations = [{"backend": i.backend, "variant": i.variant, "available": i.available,
                        "reason": i.reason} for i in fastlr.implementations()]
    machine = bench.machine_info()  # after implementations(): the backends are imported
    optional = {name: bench.package_version(dist) for name, dist in
                (("matplotlib", "matplotlib"), ("threadpoolctl", "threadpoolctl"),
                 ("h5py", "h5py"), ("scikit-learn", "scikit-learn"))}
    environment = {name: os.environ.get(name) for name in
                   ("FASTLR_BACKEND", "FASTLR_AUTOTUNE", "FASTLR_CACHE_DIR", "NUMBA_NUM_THREADS",
                    "NUMBA_THREADING_LAYER", "NUMBA_CACHE_DIR", "OMP_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") if os.environ.get(name)}
    return {"machine": machine, "implementations": implementations, "optional": optional,
            "environment": environment, "autotune_cache": str(autotune.cache_path())}


def format_info(info: dict) -> str:
    from fastlr import bench

    machine = info["machine"]
    lines = [f"fastlr {machine['fastlr']}", ""]
    lines += bench.format_machine(machine, details=True)
    lines += ["", "optional packages"]
    hints = {"matplotlib": 'fastlr bench --out plots (pip install "fastlr[bench]")',
             "threadpoolctl": 'BLAS thread counts (pip install "fastlr[bench]")',
             "h5py": 'the course\'s .h5 data files (pip install "fastlr[data]")',
             "scikit-learn": 'fastlr.LogisticRegression (pip install "fastlr[sklearn]")'}
    for name, version in info["optional"].items():
        lines.append(f"  {name:<14}{version or 'not installed':<15}{hints[name]}")
    if info["environment"]:
        lines += ["", "environment"]
        lines += [f"  {name}={value}" for name, value in info["environment"].items()]
    lines += ["", f"fastest() measurements are cached in {info['autotune_cache']}"]
    lines += ["", "implementations"]
    by_backend = {}
    for item in info["implementations"]:
        by_backend.setdefault(item["backend"], []).append(item)
    for items in by_backend.values():
        for item in items:
            label = f"{item['backend']} {bench.VARIANT_LABELS[item['variant']]}"
            lines.append(f"  {label:<30}{'available' if item['available'] else 'unavailable'}")
        reasons = dict.fromkeys(item["reason"] for item in items if not item["available"])
        lines += [bench.wrap(f"why: {reason}", "      ") for reason in reasons]
    return "\n".join(lines)
