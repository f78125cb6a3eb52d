"""What ``fastlr info`` reports: versions, BLAS and threads, optional packages, the
environment variables fastlr reads, and every implementation's availability."""

from __future__ import annotations

import os

from fastlr._install import pip_install


def info_dict() -> dict:
    """What ``fastlr info`` reports, as a dict."""
    import fastlr
    from fastlr import autotune, bench, threads

    implementations = [{"backend": i.backend, "variant": i.variant, "available": i.available,
                        "reason": i.reason} for i in fastlr.implementations()]
    machine = bench.machine_info()  # after implementations(): the backends are imported
    optional = {name: bench.package_version(dist) for name, dist in
                (("matplotlib", "matplotlib"), ("threadpoolctl", "threadpoolctl"),
                 ("h5py", "h5py"), ("scikit-learn", "scikit-learn"))}
    environment = {name: os.environ.get(name) for name in ENVIRONMENT if os.environ.get(name)}
    return {"machine": machine, "implementations": implementations, "optional": optional,
            "environment": environment, "autotune_cache": str(autotune.cache_path()),
            "threads": {"limits": threads.limits(), "set": threads._num_threads,
                        "used": threads.get_num_threads()}}


#: the environment variables that change what fastlr does (fastlr reads the first three and
#: OMP_NUM_THREADS; the others are read by Numba, OpenMP and the BLAS libraries it calls)
ENVIRONMENT = ("FASTLR_BACKEND", "FASTLR_AUTOTUNE", "FASTLR_CACHE_DIR", "OMP_NUM_THREADS",
               "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "NUMBA_NUM_THREADS",
               "NUMBA_THREADING_LAYER", "NUMBA_CACHE_DIR", "OPENBLAS_NUM_THREADS",
               "MKL_NUM_THREADS")


def format_info(info: dict) -> str:
    from fastlr import bench

    machine = info["machine"]
    lines = [f"fastlr {machine['fastlr']}", ""]
    lines += bench.format_machine(machine, details=True)
    lines += ["", "optional packages"]
    hints = {"matplotlib": f"fastlr bench --out plots ({pip_install('bench')})",
             "threadpoolctl": f"BLAS thread counts ({pip_install('bench')})",
             "h5py": f"the course's .h5 data files ({pip_install('data')})",
             "scikit-learn": f"fastlr.LogisticRegression ({pip_install('sklearn')})"}
    for name, version in info["optional"].items():
        lines.append(f"  {name:<14}{version or 'not installed':<15}{hints[name]}")
    if info["environment"]:
        lines += ["", "environment"]
        lines += [f"  {name}={value}" for name, value in info["environment"].items()]
    lines += ["", "threads of fastlr's parallel kernels"]
    how = info["threads"]
    for name, limit in how["limits"].items():
        lines.append(f"  {name:<42}{'no limit' if limit is None else limit}")
    if how["set"] is not None:
        lines.append(f"  {'fastlr.set_num_threads':<42}{how['set']} (overrides the above)")
    lines.append(f"  {'used':<42}{how['used']}")
    lines += ["", f"fastlr.tune() saves its choices in {info['autotune_cache']} (fastest() "
              "reads them; without them it follows its rule and measures nothing)"]
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
