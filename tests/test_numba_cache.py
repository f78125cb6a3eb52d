"""Numba's on-disk cache as users meet it: new processes in every order, several at once.

Every compiled entry point of the numba backend (each ``propagate`` and ``optimize``, every
variant, both memory orders, float32 and float64, serial and parallel sizes) runs in
subprocesses that share one fresh ``NUMBA_CACHE_DIR``. Two patterns crashed here before:
a cached function calling a cached parallel one, loaded from the cache by a third process
(numba#8578), and processes compiling the same kernels at once (numba#10128). Each
process has a timeout; each answer is checked against NumPy's vectorized code.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from helpers import load_or_skip

ENTRIES = textwrap.dedent("""
    # python entries.py {propagate,optimize,all} [forward|reverse]: run those entry points
    import sys
    import numpy as np
    from fastlr import registry
    from fastlr.backends import numpy_

    module = registry.load("numba")
    SIZES = {"serial": (20, 30), "parallel": (200, 400)}  # around PARALLEL_MIN_ELEMENTS
    entries = [(task, variant, dtype, order, size)
               for task in ("propagate", "optimize")
               for variant in ("loop", "vectorized", "fused")
               for dtype in ("float64", "float32")
               for order in "FC"
               for size in (("serial", "parallel") if variant == "fused" else ("serial",))
               if sys.argv[1] in ("all", task)]
    if sys.argv[2:] == ["reverse"]:
        entries.reverse()
    for task, variant, dtype, order, size in entries:
        n_x, m = SIZES[size]
        rng = np.random.default_rng(0)
        X = np.asarray(rng.standard_normal((n_x, m)), order=order).astype(dtype, order=order)
        Y = (rng.random(m) < 0.5).astype(np.float64)
        w = rng.standard_normal(n_x) / n_x
        if task == "propagate":
            cost = module.KERNELS[variant](w, 0.1, X, Y)[2]
        else:
            cost = module.OPTIMIZERS[variant](w, 0.1, X, Y, 3, 0.1)[4][-1]
        expected = numpy_.propagate_vectorized(w, 0.1, X, Y)[2]
        assert abs(cost - expected) < 1e-4 * expected, (task, variant, dtype, order, size)
    print("ok", len(entries))
""")

#: seconds a process may take: a cold compile of every entry point takes ~45 s here
TIMEOUT = 600


@pytest.fixture
def cache(tmp_path):
    load_or_skip("numba")
    script = tmp_path / "entries.py"
    script.write_text(ENTRIES)
    directory = tmp_path / "numba-cache"
    directory.mkdir()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(directory)}

    def start(*args):
        return subprocess.Popen([sys.executable, str(script), *args], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    return start


def finish(*processes):
    """Wait for each process; each must print "ok" and exit 0 (a crash is a signal)."""
    for process in processes:
        try:
            out, errors = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
                other.communicate()
            pytest.fail(f"a process hung for {TIMEOUT} s: {process.args}")
        assert process.returncode == 0, (process.args, process.returncode, errors[-3000:])
        assert out.startswith("ok"), (process.args, out, errors[-3000:])


def test_propagate_first_then_three_at_once_then_every_order(cache):
    finish(cache("propagate"))  # compiles and caches the kernels
    finish(*(cache("optimize", order) for order in ("forward", "reverse", "forward")))
    finish(cache("all", "reverse"))
    finish(cache("optimize"))  # the third process that crashed: loads all from the cache
    finish(cache("propagate", "reverse"))


def test_three_fresh_processes_at_once_then_every_order(cache):
    finish(*(cache("all", order) for order in ("forward", "reverse", "forward")))
    finish(cache("optimize", "reverse"))
    finish(cache("propagate"))
    finish(cache("all"))
