"""fork() after fastlr's threads have run: every implementation works in the child.

GNU OpenMP's pool does not survive fork(): without care the child of a process that has
made one parallel call hangs (Cython) or is killed (Numba). Each scenario runs in a
subprocess with a timeout, so that a regression fails instead of hanging the suite.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from helpers import COMPILED, REQUIRE_ALL

#: the parent: warm up every implementation on a problem big enough for threads, remember
#: each one's answer, then fork
PARENT = textwrap.dedent("""
    import os, sys
    import numpy as np
    import fastlr
    from fastlr import registry, threads
    from fastlr.datasets import make_problem

    X, Y = make_problem(300, 400, seed=0)  # 120 000 elements: parallel fused kernels
    X_small, Y_small = X[:20, :30], Y[:, :30]  # small enough for the interpreted ones
    w = np.full((300, 1), 0.01)
    pairs = [(i.backend, i.variant) for i in fastlr.implementations() if i.available]
    if os.environ.get("FASTLR_REQUIRE_ALL") == "1":
        assert len(pairs) == len(registry.PAIRS), "a backend is unavailable"
    only = sys.argv[1]  # one backend's threads started in the parent, or "every"
    pairs = [pair for pair in pairs if only in ("every", pair[0])]

    def answers():
        out = {}
        for pair in pairs:
            implementation = fastlr.get(*pair)
            if pair in registry.INTERPRETED:
                out[pair] = implementation.propagate(w[:20], 0.1, X_small, Y_small)[1]
            else:
                out[pair] = implementation.propagate(w, 0.1, X, Y)[1]
        return out

    def train(pair):
        params, _, costs = fastlr.get(*pair).optimize(w, 0.1, X, Y, 50, 0.01)
        return costs[-1], float(params["b"])

    expected = answers()
    compiled = [pair for pair in pairs if registry.BACKENDS[pair[0]].compiled]
    expected_training = {pair: train(pair) for pair in compiled}
    assert threads.get_num_threads() == threads.default_threads()
""")

RAW_FORK = PARENT + textwrap.dedent("""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        try:
            got = answers()
            ok = all(abs(got[p] - expected[p]) <= 1e-12 * abs(expected[p]) for p in pairs)
            ok = ok and all(abs(train(p)[0] - expected_training[p][0]) < 1e-9 for p in compiled)
            os.write(write, (f"{ok} {threads.get_num_threads()}").encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    message = os.read(read, 100).decode()
    assert os.WIFEXITED(status) and message.startswith("True"), (status, message)
    print("child ok, threads in the child:", message.split()[1])
    print("parent still has", threads.get_num_threads(), "threads:", answers() == expected)
""")

MULTIPROCESSING_FORK = PARENT + textwrap.dedent("""
    import multiprocessing

    if __name__ == "__main__":
        with multiprocessing.get_context("fork").Pool(2) as pool:
            results = pool.map(train, compiled, chunksize=1)
        for pair, result in zip(compiled, results):
            assert abs(result[0] - expected_training[pair][0]) < 1e-9, (pair, result)
        print("pool ok")
""")


def run(code, tmp_path, only="every"):
    script = tmp_path / "fork.py"
    script.write_text(code)
    env = {"FASTLR_REQUIRE_ALL": "1"} if REQUIRE_ALL else {}
    try:
        result = subprocess.run([sys.executable, str(script), only], cwd=tmp_path, timeout=240,
                                capture_output=True, text=True, env={**os.environ, **env})
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"hung after fork (killed after {error.timeout} s): {error.stderr}")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("only", ["every", *COMPILED])
def test_raw_fork_after_every_implementation_ran_in_parallel(tmp_path, only):
    out = run(RAW_FORK, tmp_path, only)
    assert "child ok, threads in the child: 1" in out
    assert "threads: True" in out  # the parent keeps its threads and its answers


def test_multiprocessing_fork_pool_trains_with_every_compiled_implementation(tmp_path):
    assert "pool ok" in run(MULTIPROCESSING_FORK, tmp_path)


def test_a_child_forked_before_any_parallel_call_keeps_its_threads(tmp_path):
    code = textwrap.dedent("""
        import os
        import fastlr
        from fastlr import threads
        pid = os.fork()
        if pid == 0:
            os._exit(0 if threads.get_num_threads() == threads.default_threads() else 1)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        print("ok")
    """)
    assert "ok" in run(code, tmp_path)
