"""A fit's team of threads (fastmlp/_engine/_team.pxd): jobs claimed by
whichever thread is free, so the model depends on the number of row parts
only, never on how many threads ran, which ran what, or one of them being
descheduled; a thread descheduled before it claims its jobs holds nobody up;
and the team lives across a fit's epochs and gradients (on_threads)."""
import os
import signal
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from engine_specs import network_spec
from fastmlp._engine._epochs import Epochs
from fastmlp._engine._full_batch import loss_gradient
from fastmlp._engine._network import Network
from fastmlp._engine._optimizers import Rule, StepSettings
from fastmlp._engine._team import on_threads

N_ROWS, BATCH = 230, 40   # 6 minibatches, the last of 30 rows


def _epochs(n_parts, n_threads, hidden, dtype=np.float64, sparse=False, seed=0):
    rng = np.random.RandomState(seed)
    n_features = 9
    network = Network(network_spec([n_features, *hidden, 3], "relu", "log_loss", dtype))
    n = network.n_params
    part_rows = -(-BATCH // n_parts)
    X = rng.randn(N_ROWS, n_features).astype(dtype)
    if sparse:
        csr = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0))
        X = np.empty((0, 0), dtype)
        data, indices, indptr = (csr.data, csr.indices.astype(np.intp),
                                 csr.indptr.astype(np.intp))
    else:
        data, indices, indptr = (np.empty(0, dtype), np.empty(0, np.intp),
                                 np.empty(0, np.intp))
    buffers = dict(
        params=rng.randn(n).astype(dtype) * 0.3,
        moment_1=np.zeros(n, dtype),
        moment_2=np.zeros(n, dtype),
    )
    epochs = Epochs(network, buffers["params"], np.empty(n_parts * n, dtype),
                    buffers["moment_1"], buffers["moment_2"],
                    np.empty(n_parts * network.work_size(part_rows, not sparse), dtype),
                    X, data, indices, indptr,
                    rng.randint(0, 3, (N_ROWS, 1)).astype(np.intp), np.empty(0, dtype),
                    rng.permutation(N_ROWS).astype(np.intp), BATCH, not sparse,
                    n_parts, n_threads)
    return epochs, buffers


def _settings(solver, t=0, learning_rate=1e-2, alpha=1e-4):
    if solver == "adam":
        return StepSettings(Rule.ADAM, learning_rate, alpha, beta_1=0.9, beta_2=0.999,
                            epsilon=1e-8, t=t)
    return StepSettings(Rule.SGD, learning_rate, alpha, momentum=0.9, nesterov=True, t=t)


def _train(epochs, buffers, solver, n_epochs=2):
    losses, t = [], 0
    for _ in range(n_epochs):
        settings = _settings(solver, t)
        loss_sum, n_batches, finite, interrupt = epochs.run(settings)
        t = settings.t
        assert (n_batches, finite, interrupt) == (6, True, None)
        losses.append(loss_sum)
    return [buffers[k].copy() for k in ("params", "moment_1", "moment_2")], losses


# (16,): under 2048 parameters, the thread closing the parts' round takes the
# whole step; (64, 40): the step is a round of slices
@pytest.mark.parametrize("hidden", [(16,), (64, 40)])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("n_parts", [2, 3, 7])
def test_the_model_depends_on_the_parts_not_on_the_threads(hidden, solver, n_parts):
    reference = _train(*_epochs(n_parts, 1, hidden), solver)
    for n_threads in (2, 3, 4):
        result = _train(*_epochs(n_parts, n_threads, hidden), solver)
        for a, b in zip(reference[0], result[0]):
            assert_array_equal(a, b)
        assert reference[1] == result[1]


@pytest.mark.parametrize("hidden", [(16,), (64, 40)])
@pytest.mark.parametrize("slow_thread", [0, 1])
@pytest.mark.parametrize("mid_job", [False, True])
@pytest.mark.parametrize("dtype, sparse", [(np.float64, False), (np.float32, True)])
def test_a_descheduled_thread_changes_nothing(hidden, slow_thread, mid_job, dtype, sparse):
    reference = _train(*_epochs(3, 1, hidden, dtype, sparse), "adam")
    epochs, buffers = _epochs(3, 2, hidden, dtype, sparse)
    epochs.slow_thread(slow_thread, 0.002, mid_job)
    result = _train(epochs, buffers, "adam")
    for a, b in zip(reference[0], result[0]):
        assert_array_equal(a, b)
    assert reference[1] == result[1]


@pytest.mark.parametrize("hidden", [(16,), (64, 40)])
def test_the_others_take_the_jobs_of_a_thread_descheduled_before_claiming(hidden):
    # thread 1 sleeps 20 ms each time a round opens; the rounds' jobs take
    # microseconds, so thread 0 runs almost all of them instead of waiting
    # for thread 1's own (a static split would give each thread half)
    epochs, buffers = _epochs(2, 2, hidden)
    epochs.slow_thread(1, 0.02, False)
    _train(epochs, buffers, "adam", n_epochs=1)
    jobs = epochs.jobs_run()
    n_rounds = 6 * (1 if hidden == (16,) else 2)
    assert sum(jobs) == 2 * n_rounds
    assert jobs[1] < jobs[0]


def test_the_jobs_are_shared_when_no_thread_is_slow():
    epochs, buffers = _epochs(4, 2, (64, 40))
    _train(epochs, buffers, "adam", n_epochs=1)
    assert sum(epochs.jobs_run()) == 4 * 12


@pytest.mark.parametrize("n_threads", [1, 2])
def test_a_signal_stops_the_epoch_at_a_minibatch(n_threads):
    # thread 0 runs the signal handlers between its jobs, whoever runs them;
    # slow jobs make the epoch last ~0.3 s or more, so the signal comes
    # mid-epoch
    epochs, buffers = _epochs(2, n_threads, (64, 40))
    epochs.slow_thread(-1, 0.05, True)
    before = buffers["params"].copy()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.03, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        settings = _settings("adam", learning_rate=1e-3)
        loss_sum, n_batches, finite, interrupt = epochs.run(settings)
        t = settings.t
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert isinstance(interrupt, KeyboardInterrupt)
    # the minibatch whose round was open is not stepped (it may be the first)
    assert finite and 0 <= n_batches < 6 and t == n_batches
    assert np.isfinite(loss_sum) and np.isfinite(buffers["params"]).all()
    assert np.array_equal(buffers["params"], before) == (n_batches == 0)


# ------------------------------------------------------ a team for the fit

def test_on_threads_returns_what_fn_returns_and_raises_what_it_raises():
    assert on_threads(2, lambda: 42) == 42
    assert on_threads(1, lambda: "one") == "one"
    with pytest.raises(ZeroDivisionError):
        on_threads(2, lambda: 1 / 0)
    # and the team left: the next team starts and ends
    assert on_threads(2, lambda: on_threads(2, lambda: "nested")) == "nested"


@pytest.mark.parametrize("hidden", [(16,), (64, 40)])
@pytest.mark.parametrize("slow_thread, mid_job", [(None, False), (1, False), (0, True)])
def test_epochs_on_a_team_give_the_model_of_one_thread(hidden, slow_thread, mid_job):
    reference = _train(*_epochs(3, 1, hidden), "adam", n_epochs=4)
    epochs, buffers = _epochs(3, 2, hidden)
    if slow_thread is not None:
        epochs.slow_thread(slow_thread, 0.002, mid_job)
    result = on_threads(2, lambda: _train(epochs, buffers, "adam", n_epochs=4))
    for a, b in zip(reference[0], result[0]):
        assert_array_equal(a, b)
    assert reference[1] == result[1]


def test_a_thread_descheduled_across_epochs_runs_nothing_stale():
    # thread 1 sleeps 30 ms whenever a round opens: thread 0 runs whole
    # epochs meanwhile and posts the next ones, while thread 1 still walks an
    # old epoch's rounds; it must claim nothing there (their jobs would read
    # that epoch's arguments)
    reference = _train(*_epochs(2, 1, (64, 40)), "sgd", n_epochs=6)
    epochs, buffers = _epochs(2, 2, (64, 40))
    epochs.slow_thread(1, 0.03, False)
    result = on_threads(2, lambda: _train(epochs, buffers, "sgd", n_epochs=6))
    for a, b in zip(reference[0], result[0]):
        assert_array_equal(a, b)
    assert reference[1] == result[1]


def _loss_gradient(n_parts, n_threads, dtype, sparse):
    rng = np.random.RandomState(0)
    network = Network(network_spec([9, 64, 40, 3], "tanh", "log_loss", dtype))
    n = network.n_params
    chunk_rows = 47   # 230 rows: 5 chunks, the last short
    X = rng.randn(N_ROWS, 9).astype(dtype)
    data, indices, indptr = (np.empty(0, dtype), np.empty(0, np.intp), np.empty(0, np.intp))
    if sparse:
        csr = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0))
        X = np.empty((0, 0), dtype)
        data, indices, indptr = (csr.data, csr.indices.astype(np.intp),
                                 csr.indptr.astype(np.intp))
    params = rng.randn(n).astype(dtype) * 0.3
    grads = np.empty(n_parts * n, dtype)
    work = np.empty(n_parts * network.work_size(-(-chunk_rows // n_parts), False), dtype)
    loss = loss_gradient(network, params, grads, work, X, data, indices, indptr,
                         rng.randint(0, 3, (N_ROWS, 1)).astype(np.intp),
                         rng.rand(N_ROWS).astype(dtype), chunk_rows, n_parts, n_threads,
                         1e-3, 1.0)
    return loss, grads[:n].copy()


@pytest.mark.parametrize("dtype, sparse", [(np.float64, False), (np.float32, True)])
@pytest.mark.parametrize("n_parts", [2, 3])
def test_loss_gradient_depends_on_the_parts_not_on_the_threads(dtype, sparse, n_parts):
    loss, grad = _loss_gradient(n_parts, 1, dtype, sparse)
    for threaded in (_loss_gradient(n_parts, 2, dtype, sparse),
                     on_threads(2, lambda: _loss_gradient(n_parts, 2, dtype, sparse)),
                     on_threads(3, lambda: [_loss_gradient(n_parts, 3, dtype, sparse)
                                            for _ in range(3)][-1])):
        assert threaded[0] == loss
        assert_array_equal(threaded[1], grad)


@pytest.mark.parametrize("hidden", [(16,), (64, 40)])
def test_an_epoch_stopped_by_divergence_on_a_team_matches_one_thread(hidden):
    # the epoch stops at the minibatch whose step overflows; a thread still
    # in its rounds (here, asleep before its claims) claims none of the rest
    def diverge(epochs, buffers):
        buffers["params"] *= 1e30
        out = [epochs.run(StepSettings(Rule.SGD, 1e30, 0.0, momentum=0.9))
               for _ in range(3)]
        return out, buffers["params"].copy()

    (out_1, params_1) = diverge(*_epochs(2, 1, hidden))
    epochs, buffers = _epochs(2, 2, hidden)
    epochs.slow_thread(1, 0.01, False)
    (out_2, params_2) = on_threads(2, lambda: diverge(epochs, buffers))
    assert [o[1:3] for o in out_1] == [o[1:3] for o in out_2]
    assert not out_1[0][2] and out_1[0][1] < 6
    assert_array_equal(params_1, params_2)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or not os.path.exists("/proc/loadavg")
                    or len(os.sched_getaffinity(0)) > 16,
                    reason="needs Linux's run queue count and few enough cores to fill")
def test_a_crowded_team_runs_solo_and_computes_the_same():
    # busy neighbours on every core: thread 0 sees more threads ready than
    # cores, runs every job alone while the others sleep, and the model is
    # the team's, bit for bit
    import subprocess
    import sys
    import time

    from fastmlp._engine._team import _solo_count

    def fit():
        epochs, buffers = _epochs(2, 2, (64, 40))
        return on_threads(2, lambda: _train(epochs, buffers, "sgd", n_epochs=40))

    alone = fit()
    neighbours = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                  for _ in range(len(os.sched_getaffinity(0)))]
    try:
        time.sleep(0.2)
        before = _solo_count()
        crowded = fit()
        went_solo = _solo_count() - before
    finally:
        for p in neighbours:
            p.kill()
            p.wait()
    for a, b in zip(alone[0], crowded[0]):
        assert_array_equal(a, b)
    assert alone[1] == crowded[1]
    assert went_solo > 0
