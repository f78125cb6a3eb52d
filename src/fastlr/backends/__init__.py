"""One module per backend, and one descriptor per backend module.

A backend module exposes ``KERNELS``, a dict mapping each of its variants to a kernel
``propagate(w, b, X, Y) -> (dw, db, cost)`` (``w`` float64 of shape (n_x,), ``b`` float,
``X`` float64 or float32 of shape (n_x, m) in any memory order, ``Y`` float64 of shape
(m,) — already validated), and may expose ``OPTIMIZERS``, a dict mapping a variant to a
compiled training loop ``optimize(w, b, X, Y, num_iterations, learning_rate) ->
(w, b, dw, db, costs)``. A compiled backend also exposes
``propagate_fused_chunks(w, b, X, Y, n_chunks)``: the fused pass split into exactly
``n_chunks`` chunks (1: the serial path), which the kernel tests call to force each path.

What the rest of fastlr needs to know about a backend *without importing it* (importing
numba costs ~0.2 s) is its :class:`Backend` descriptor in :data:`DESCRIPTORS`. The
registry's table, the static preference order, the set of interpreted implementations, the
tests' and benchmarks' skip sets and the tutorial's list are all derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backend:
    """What fastlr knows about one backend before importing it."""

    #: the name users pass as ``backend=``
    name: str
    #: the module holding its kernels (imported the first time the backend is used)
    module: str
    #: its variants, in the order :func:`fastlr.implementations` lists them
    variants: tuple[str, ...]
    #: what ``variant="auto"`` means for this backend: its fastest variant
    fastest_variant: str
    #: static rank of each variant when fastest() does not measure (``FASTLR_AUTOTUNE=0``):
    #: lower comes first, across all backends
    rank: dict[str, int] = field(hash=False)
    #: its code is compiled (Cython at install time, Numba on first call) rather than
    #: interpreted; compiled backends join the kernel-level test suite
    compiled: bool = False
    #: variants that interpret Python for every element of X (~0.1-1 µs each): never the
    #: fastest above a handful of elements, so fastest() does not time them, benchmarks time
    #: them within a budget and tests keep them to small problems
    interpreted: frozenset[str] = frozenset()
    #: the first call with new argument types compiles (Numba's JIT): benchmarks report it
    jit: bool = False
    #: its parallel kernels use OpenMP: :func:`fastlr.threads.configure_openmp` runs first
    openmp: bool = False
    #: what to do when the module cannot be imported
    install_hint: str = ""
    #: the module holding its kernels for :class:`fastlr.LogisticRegression` (scikit-learn's
    #: layout, sample weights, Hessian-vector products; contract: ``_numpy_model``), if any
    model_module: str = ""
    #: rank of those kernels for ``backend="auto"`` of the estimator: lower comes first
    model_rank: int = 99


DESCRIPTORS = (
    Backend(
        name="python",
        module="fastlr.backends.python_",
        variants=("loop", "vectorized"),
        fastest_variant="vectorized",
        rank={"vectorized": 7, "loop": 8},
        interpreted=frozenset({"loop", "vectorized"}),
        install_hint="it needs only the standard library",
    ),
    Backend(
        name="numpy",
        module="fastlr.backends.numpy_",
        variants=("loop", "vectorized"),
        fastest_variant="vectorized",
        rank={"vectorized": 4, "loop": 9},
        interpreted=frozenset({"loop"}),
        install_hint="pip install numpy",
        model_module="fastlr.backends._numpy_model",
        model_rank=2,
    ),
    Backend(
        name="numba",
        module="fastlr.backends.numba_",
        variants=("loop", "vectorized", "fused"),
        fastest_variant="fused",
        # one pass over X first; then BLAS (two passes, SIMD and threads); then the compiled
        # loops, which add one term at a time in the lecture's order (no SIMD)
        rank={"fused": 1, "vectorized": 3, "loop": 6},
        compiled=True,
        jit=True,
        openmp=True,
        install_hint="pip install numba",
        model_module="fastlr.backends._numba_model",
        model_rank=1,
    ),
    Backend(
        name="cython",
        module="fastlr.backends._cython",
        variants=("loop", "vectorized", "fused"),
        fastest_variant="fused",
        rank={"fused": 0, "vectorized": 2, "loop": 5},
        compiled=True,
        openmp=True,
        install_hint="reinstall fastlr where a C compiler and the Python headers are available "
                     "(pip install --force-reinstall --no-deps .; the build says what it lacks)",
        model_module="fastlr.backends._cython",
        model_rank=0,
    ),
)
