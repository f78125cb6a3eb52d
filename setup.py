"""Build the Cython backend (``fastlr.backends._cython``).

Everything else about the package lives in ``pyproject.toml``. The build needs a C compiler
and the Python headers (Debian/Ubuntu: ``build-essential python3-dev``). If the extension
does not compile, the install **fails** with the reason and what to install: pip shows a
failing build's output, never a passing one's, so a warning would go unseen and leave a
slower package. ``FASTLR_ALLOW_NO_CYTHON=1`` installs without it on purpose: the reason is
then written beside the package (``fastlr/backends/_build.json``), where
``fastlr.implementations()`` and ``fastlr info`` read it.

OpenMP is used where the compiler has it (``-fopenmp``); without it (or with
``FASTLR_NO_OPENMP=1``) the parallel loops of the extension run on one thread and only
``-fopenmp-simd`` is asked for, which vectorizes the ``#pragma omp simd`` reductions
without the OpenMP runtime. No ``-march=native``: the SIMD kernels are
compiled for AVX-512, AVX2 and baseline x86-64 and picked at load time (gcc
``target_clones``), so one build runs everywhere at full width; the extension records
whether it has OpenMP in ``fastlr.backends._cython.OPENMP`` (from the compiler's
``_OPENMP`` macro, so the two cannot disagree).
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

#: set to 1 to install without the compiled extension (the backend is then unavailable)
ALLOW_NO_CYTHON = os.environ.get("FASTLR_ALLOW_NO_CYTHON") == "1"
#: why an extension was not built, beside the package (read by fastlr._install)
BUILD_REPORT = "_build.json"

OPENMP_PROBE = r"""
#include <omp.h>
int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
"""


SIMD_PROBE = r"""
int main(void) {
    double s = 0;
    _Pragma("omp simd reduction(+:s)") for (int i = 0; i < 4; i++) s += i;
    return s == 6 ? 0 : 1;
}
"""


def compiler() -> str:
    """The C compiler Python was built with (or ``$CC``)."""
    return os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]


def compiles(source: str, flag: str) -> bool:
    """Whether the compiler Python was built with compiles and links ``source`` with ``flag``."""
    cc = compiler()
    if shutil.which(cc) is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(source)
        result = subprocess.run([cc, flag, src, "-o", os.path.join(tmp, "probe")],
                                capture_output=True)
    return result.returncode == 0


openmp = (sys.platform.startswith("linux") and not os.environ.get("FASTLR_NO_OPENMP")
          and compiles(OPENMP_PROBE, "-fopenmp"))
openmp_flags = ["-fopenmp"] if openmp else []
# without OpenMP, still honour `#pragma omp simd` (no runtime needed)
simd_flags = [] if openmp or not compiles(SIMD_PROBE, "-fopenmp-simd") else ["-fopenmp-simd"]


def extension(name: str) -> Extension:
    """The extension ``fastlr.backends.<name>``: the kernels (course and estimator), or the
    OpenMP runtime's thread limit (``_openmp``); the same flags."""
    return Extension(
        f"fastlr.backends.{name}",
        sources=[f"src/fastlr/backends/{name}.pyx"],
        # the SIMD primitives are C headers next to the .pyx, shared through _tiles.pxd;
        # `depends`: editing one rebuilds the extension
        include_dirs=["src/fastlr/backends", np.get_include()],
        depends=["src/fastlr/backends/fastlr_simd.h", "src/fastlr/backends/fastlr_simd_typed.h",
                 "src/fastlr/backends/_tiles.pxd"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # -O3 for the loops; no -ffast-math: the reductions' order is ours to choose, in
        # the source (`#pragma omp simd reduction` where reordering is allowed, nowhere else)
        extra_compile_args=["-O3", *openmp_flags, *simd_flags],
        extra_link_args=openmp_flags,
    )


def missing_prerequisite() -> str:
    """What the build lacks that a stock machine often lacks, or ''."""
    if shutil.which(compiler()) is None:
        return (f"no C compiler ({compiler()!r} is not on PATH; Debian/Ubuntu: "
                "apt install build-essential; macOS: xcode-select --install)")
    headers = sysconfig.get_paths()["include"]
    if not os.path.isfile(os.path.join(headers, "Python.h")):
        return (f"no Python headers (no Python.h in {headers}; Debian/Ubuntu: "
                "apt install python3-dev)")
    return ""


class BuildExt(build_ext):
    """build_ext that fails loudly with the reason, or (``FASTLR_ALLOW_NO_CYTHON=1``)
    records it beside the package for ``fastlr info``."""

    def build_extension(self, ext):
        report = os.path.join(os.path.dirname(self.get_ext_fullpath(ext.name)), BUILD_REPORT)
        try:
            super().build_extension(ext)
        except Exception as error:  # CompileError, LinkError, a compiler that is not there
            reason = missing_prerequisite() or f"{type(error).__name__}: {error}"
            if not ALLOW_NO_CYTHON:
                raise SystemExit(
                    f"\nfastlr: could not build its C extension {ext.name}: {reason}.\n"
                    "It needs a C compiler and the Python headers (Debian/Ubuntu: "
                    "apt install build-essential python3-dev). To install without the "
                    "Cython backend (slower; Numba and NumPy still work), set "
                    "FASTLR_ALLOW_NO_CYTHON=1.\n") from error
            print(f"WARNING: fastlr's {ext.name} was not built: {reason}", file=sys.stderr)
            self._record(report, ext.name, reason)
        else:
            self._record(report, ext.name, None)

    @staticmethod
    def _record(path, name, reason):
        """Add (or, once built, remove) ``name``'s reason in the report file."""
        failures = {}
        if os.path.isfile(path):
            with open(path) as f:
                failures = json.load(f)
        failures.pop(name, None)
        if reason is not None:
            failures[name] = reason
        if failures:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                json.dump(failures, f, indent=1)
        elif os.path.isfile(path):
            os.remove(path)


setup(
    ext_modules=cythonize(
        [extension("_cython"), extension("_cython_sparse"), extension("_openmp")],
        language_level=3),
    cmdclass={"build_ext": BuildExt},
)
