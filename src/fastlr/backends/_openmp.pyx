# cython: language_level=3
"""What the OpenMP runtime would use: ``omp_get_max_threads()`` of the process's libgomp.

A tiny extension, loaded when :mod:`fastlr.threads` is imported, so that the OpenMP runtime
fastlr's kernels use is in the process before a user's ``threadpoolctl.threadpool_limits``
looks for it. ``omp_get_max_threads()`` reflects ``OMP_NUM_THREADS`` (read when the runtime
loads: joblib's and dask's workers set it) and every ``omp_set_num_threads`` call of the
calling thread (how threadpoolctl limits OpenMP). 0 when the extension has no OpenMP.
"""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int fastlr_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int fastlr_omp_max_threads(void) { return 0; }
    #endif
    """
    int fastlr_omp_max_threads() noexcept nogil


def max_threads():
    """``omp_get_max_threads()`` in the calling thread; 0 without OpenMP."""
    return fastlr_omp_max_threads()
