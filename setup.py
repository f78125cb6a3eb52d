"""Build the Cython backend (``fastlr.backends._cython``).

Everything else about the package lives in ``pyproject.toml``. The extension is
``optional``: if it fails to compile, ``pip install .`` still succeeds and
``fastlr.implementations()`` reports the cython backend as unavailable, with the
reason. OpenMP is used where the compiler has it (``-fopenmp``); without it the
parallel loops of the extension run on one thread.
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


def compiler_has_openmp() -> bool:
    """Compile and link a tiny OpenMP program with the compiler Python was built with."""
    if os.environ.get("FASTLR_NO_OPENMP"):
        return False
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        result = subprocess.run(
            [cc, "-fopenmp", src, "-o", os.path.join(tmp, "probe")],
            capture_output=True,
        )
    return result.returncode == 0


openmp = sys.platform.startswith("linux") and compiler_has_openmp()
openmp_flags = ["-fopenmp"] if openmp else []

extension = Extension(
    "fastlr.backends._cython",
    sources=["fastlr/backends/_cython.pyx"],
    include_dirs=[np.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    # -O3 for the loops; no -ffast-math: the reductions' order is ours to choose, in the source
    extra_compile_args=["-O3", *openmp_flags],
    extra_link_args=openmp_flags,
    optional=True,
)

setup(
    ext_modules=cythonize(
        [extension],
        compile_time_env={"FASTLR_OPENMP": openmp},
        language_level=3,
    ),
)
