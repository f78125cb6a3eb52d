"""Build the Cython backend (``fastlr.backends._cython``).

Everything else about the package lives in ``pyproject.toml``. The extension is
``optional``: if it fails to compile, ``pip install .`` still succeeds and
``fastlr.implementations()`` reports the cython backend as unavailable, with the
reason. OpenMP is used where the compiler has it (``-fopenmp``); without it
(or with ``FASTLR_NO_OPENMP=1``) the parallel loops of the extension run on one thread
and only ``-fopenmp-simd`` is asked for, which vectorizes the ``#pragma omp simd``
reductions without the OpenMP runtime. No ``-march=native``: the SIMD kernels are
compiled for AVX-512, AVX2 and baseline x86-64 and picked at load time (gcc
``target_clones``), so one build runs everywhere at full width; the extension records
whether it has OpenMP in ``fastlr.backends._cython.OPENMP`` (from the compiler's
``_OPENMP`` macro, so the two cannot disagree).
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

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


def compiles(source: str, flag: str) -> bool:
    """Whether the compiler Python was built with compiles and links ``source`` with ``flag``."""
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
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
        sources=[f"fastlr/backends/{name}.pyx"],
        # the SIMD primitives are C headers next to the .pyx, shared through _tiles.pxd;
        # `depends`: editing one rebuilds the extension
        include_dirs=["fastlr/backends", np.get_include()],
        depends=["fastlr/backends/fastlr_simd.h", "fastlr/backends/fastlr_simd_typed.h",
                 "fastlr/backends/_tiles.pxd"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # -O3 for the loops; no -ffast-math: the reductions' order is ours to choose, in
        # the source (`#pragma omp simd reduction` where reordering is allowed, nowhere else)
        extra_compile_args=["-O3", *openmp_flags, *simd_flags],
        extra_link_args=openmp_flags,
        optional=True,
    )


setup(
    ext_modules=cythonize([extension("_cython"), extension("_openmp")], language_level=3),
)
