"""fastmlp's thread limit (fastmlp/_fastmlp_threads.pyx, _threads.py): set by
OMP_NUM_THREADS and threadpoolctl, per thread like OpenMP's, and immune to
what other libraries do to the OpenMP runtime they share with it."""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from engine_specs import network_spec
from fastmlp import MLPClassifier
from fastmlp._threads import omp_threads, row_parts

# a minibatch big enough to be cut into one part per thread
SPEC, ROWS = network_spec([7, 64, 3], "relu", "log_loss"), 200


def _run(code, **env):
    """Run code in a fresh interpreter with env added; return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_threadpoolctl_sets_fastmlps_limit():
    assert [i["num_threads"] for i in threadpool_info()
            if i["internal_api"] == "fastmlp"] == [omp_threads()]
    with threadpool_limits(3, user_api="openmp"):
        assert omp_threads() == 3
        assert row_parts(SPEC, ROWS) <= 3
        with threadpool_limits(1):
            assert omp_threads() == 1
            assert row_parts(SPEC, ROWS) == 1
        assert omp_threads() == 3


def test_the_limit_is_per_thread_like_openmps():
    seen = []
    with threadpool_limits(1, user_api="openmp"):
        worker = threading.Thread(target=lambda: seen.append(omp_threads()))
        worker.start()
        worker.join()
        assert omp_threads() == 1
    assert seen == [omp_threads()]


@pytest.mark.parametrize("env, expected", [
    (dict(OMP_NUM_THREADS="3"), "3"),
    (dict(OMP_NUM_THREADS="5,2"), "5"),          # the outermost level's
    (dict(OMP_NUM_THREADS="3", OMP_THREAD_LIMIT="2"), "2"),
    (dict(OMP_NUM_THREADS="none"), "cpus"),      # ignored, as GNU OpenMP does
    (dict(OMP_NUM_THREADS="0"), "cpus"),
])
def test_the_default_follows_omp_num_threads(env, expected):
    out = _run("""
        import os
        from fastmlp._threads import omp_threads
        print(omp_threads(), len(os.sched_getaffinity(0)))
    """, **env)
    assert out[0] == (out[1] if expected == "cpus" else expected)


def test_torch_setting_its_threads_leaves_fastmlps_alone():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        with threadpool_limits(2, user_api="openmp"):
            torch.set_num_threads(1)   # omp_set_num_threads(1), in the shared libgomp
            assert omp_threads() == 2
            assert row_parts(SPEC, ROWS) == 2
            torch.set_num_threads(3)
            assert omp_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_torch_loaded_first_and_set_to_one_thread_in_a_fresh_process():
    pytest.importorskip("torch")
    out = _run("""
        import torch
        torch.set_num_threads(1)
        from fastmlp._spec import HiddenLayer, NetworkSpec
        from fastmlp._threads import omp_threads, row_parts
        spec = NetworkSpec(7, (HiddenLayer(64, "relu"),), 3, "log_loss", "multiclass")
        print(omp_threads(), row_parts(spec, 200), torch.get_num_threads())
    """, OMP_NUM_THREADS="2")
    assert out == ["2", "2", "1"]


def test_loaded_libraries_are_scanned_once_per_process_and_only_for_threads():
    # threadpoolctl's scan of the loaded libraries costs ~14 ms: not at
    # import, not for fits on one thread, once for the process otherwise
    # (threads and forked children reuse it)
    out = _run("""
        import os, threading, warnings
        import numpy as np
        import threadpoolctl
        scans = []
        init = threadpoolctl.ThreadpoolController.__init__
        def counted(self):
            scans.append(1)
            init(self)
        threadpoolctl.ThreadpoolController.__init__ = counted
        from fastmlp import MLPClassifier
        from fastmlp._engine._fastmlp_threads import set_limit
        warnings.simplefilter("ignore")
        rng = np.random.RandomState(0)
        X, y = rng.rand(400, 20), rng.randint(0, 3, 400)
        fit = lambda: MLPClassifier((64,), max_iter=2).fit(X, y)
        print(len(scans))             # import
        set_limit(1)
        fit()
        print(len(scans))             # a fit on one thread
        set_limit(2)
        fit()
        fit()
        worker = threading.Thread(target=lambda: (set_limit(2), fit()))
        worker.start()
        worker.join()
        print(len(scans))             # fits on two threads, in two Python threads
        pid = os.fork()
        if pid == 0:
            fit()
            os._exit(len(scans))
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    """)
    assert out == ["0", "0", "1", "1"]


def test_a_fit_on_a_thread_limited_by_threadpoolctl_equals_one_part(monkeypatch):
    # the limit reaches the fit: one thread gives one part, the model of
    # OMP_NUM_THREADS=1
    rng = np.random.RandomState(0)
    X, y = rng.rand(600, 20), rng.randint(0, 3, 600)

    def fit():
        return MLPClassifier((64,), max_iter=2, random_state=0).fit(X, y)

    with pytest.warns(Warning), threadpool_limits(1, user_api="openmp"):
        one = fit()
    out = _run(f"""
        import warnings
        import numpy as np
        from fastmlp import MLPClassifier
        warnings.simplefilter("ignore")
        rng = np.random.RandomState(0)
        X, y = rng.rand(600, 20), rng.randint(0, 3, 600)
        model = MLPClassifier((64,), max_iter=2, random_state=0).fit(X, y)
        print(model.coefs_[0].tobytes().hex() == {one.coefs_[0].tobytes().hex()!r})
    """, OMP_NUM_THREADS="1")
    assert out == ["True"]
