"""fastmlp on Dask (issue 14), on a real LocalCluster of worker processes
started by nannies as on a cluster: partial_fit under dask-ml's Incremental
over a dask array built lazily from many chunks, a search on joblib's "dask"
backend, and the threads a worker's fits run on. Each is compared with the
same work done locally: the same chunks in the same order, on as many
threads as a worker has, give the same model bit for bit."""
import os
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_limits

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")
cloudpickle = pytest.importorskip("cloudpickle")
try:
    from dask_ml.wrappers import Incremental
except ImportError as error:
    # not installed, or broken: dask-ml imports dask.dataframe, hence pyarrow,
    # which from release 25 on refuses numpy 1 (CI's run on the floors)
    pytest.skip(f"dask-ml cannot be imported: {error}", allow_module_level=True)

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from fastmlp import MLPClassifier, MLPRegressor  # noqa: E402
from fastmlp._engine import _fastmlp_threads  # noqa: E402
from fastmlp._threads import omp_threads  # noqa: E402

THREADS_PER_WORKER = 2
N_CHUNKS, CHUNK_ROWS, N_FEATURES = 12, 400, 10
CLASSES = [0, 1, 2]


@pytest.fixture(scope="module")
def client():
    # the functions below reach the workers by value: their module is not
    # importable there under every pytest import mode
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    # the nanny's environment as Dask ships it, whatever the local config
    nanny_environ = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}
    # the nanny sets that environment in this process's os.environ to spawn
    # its workers and leaves it there: restored once they run, or processes
    # that later tests start would inherit one thread
    environ = dict(os.environ)
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": nanny_environ}), \
                distributed.LocalCluster(
                    n_workers=2, threads_per_worker=THREADS_PER_WORKER, processes=True,
                    dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            # each worker imports scikit-learn, dask-ml and fastmlp once,
            # here, rather than inside the first test's tasks
            client.run(_import_fastmlp)
            _restore_environ(environ)
            yield client
    finally:
        _restore_environ(environ)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _restore_environ(environ):
    for name in set(os.environ) - set(environ):
        del os.environ[name]
    os.environ.update(environ)


def _import_fastmlp():
    import dask_ml.wrappers  # noqa: F401

    import fastmlp  # noqa: F401


def _chunk(i, target):
    """Chunk i of the data set: rows that exist only once a task makes them."""
    rng = np.random.RandomState(i)
    X = rng.standard_normal((CHUNK_ROWS, N_FEATURES))
    if target == "classes":
        y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
    else:
        y = X[:, 0] - 2 * X[:, 1] * X[:, 2] + 0.1 * rng.standard_normal(CHUNK_ROWS)
    return X, y


def _lazy_data(target):
    """The whole data set as dask arrays of N_CHUNKS blocks, none computed:
    each block is made by a task on a worker, as if read from disk."""
    chunks = [dask.delayed(_chunk)(i, target) for i in range(N_CHUNKS)]
    y_dtype = int if target == "classes" else float
    X = da.concatenate([da.from_delayed(c[0], (CHUNK_ROWS, N_FEATURES), float)
                        for c in chunks])
    y = da.concatenate([da.from_delayed(c[1], (CHUNK_ROWS,), y_dtype) for c in chunks])
    return X, y


def _assert_same_model(a, b):
    for left, right in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert_array_equal(left, right)
    assert a.loss_curve_ == b.loss_curve_
    assert a.t_ == b.t_


ESTIMATORS = {
    "adam": (lambda: MLPClassifier((64,), batch_size=100, random_state=0), "classes"),
    # batch norm's running statistics, dropout's masks (keyed by the step)
    # and AdamW's moments travel between workers with the model
    "adamw_batch_norm_dropout": (lambda: MLPClassifier(
        (64, 32), solver="adamw", batch_norm=True, dropout=0.2, batch_size=100,
        random_state=0), "classes"),
    "sgd_nesterov_regressor": (lambda: MLPRegressor(
        hidden_layer_sizes=(64,), solver="sgd", learning_rate_init=0.01, batch_size=100, random_state=0),
        "values"),
}


@pytest.mark.parametrize("shuffle_blocks", [False, True])
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_incremental_equals_the_same_partial_fits_done_locally(client, name, shuffle_blocks):
    make, target = ESTIMATORS[name]
    X, y = _lazy_data(target)
    fit_kwargs = {"classes": CLASSES} if target == "classes" else {}
    incremental = Incremental(make(), shuffle_blocks=shuffle_blocks, random_state=0)
    incremental.fit(X, y, **fit_kwargs)

    # dask-ml's order: the blocks shuffled by check_random_state(random_state)
    order = list(range(N_CHUNKS))
    if shuffle_blocks:
        np.random.RandomState(0).shuffle(order)
    local = make()
    # a worker's fits run on its threads (2 row parts per minibatch here)
    with threadpool_limits(THREADS_PER_WORKER):
        for i in order:
            local.partial_fit(*_chunk(i, target), **fit_kwargs)
    assert local.t_ == N_CHUNKS * CHUNK_ROWS
    _assert_same_model(incremental.estimator_, local)

    # the model came back able to go on training as the local one does
    # (optimizer state, step counts, random state)
    with threadpool_limits(THREADS_PER_WORKER):
        incremental.estimator_.partial_fit(*_chunk(N_CHUNKS, target))
        local.partial_fit(*_chunk(N_CHUNKS, target))
    _assert_same_model(incremental.estimator_, local)

    # predictions over the blocks, on the workers
    X_local = np.concatenate([_chunk(i, target)[0] for i in range(N_CHUNKS)])
    assert_array_equal(incremental.predict(X).compute(), local.predict(X_local))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_search_on_the_dask_backend_equals_the_local_search(client):
    X, y = _chunk(0, "classes")
    X, y = X[:300], y[:300]

    def search():
        return GridSearchCV(
            MLPClassifier(max_iter=20, random_state=0),
            {"hidden_layer_sizes": [(16,), (64,)], "alpha": [1e-4, 1.0]}, cv=3,
            # a score that sees the last bits of every fitted weight
            scoring="neg_log_loss")

    # the local fits, and both refits (in this process), on a worker's threads
    with threadpool_limits(THREADS_PER_WORKER):
        local = search().fit(X, y)
        with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            remote = search().fit(X, y)
    # the cross-validation fits ran on the workers
    assert {task["worker"] for task in stream.data} <= set(client.scheduler_info()["workers"])
    assert len(stream.data) >= 12

    assert remote.cv_results_["params"] == local.cv_results_["params"]
    for key in ["mean_test_score", "rank_test_score"] + [f"split{k}_test_score" for k in range(3)]:
        assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    _assert_same_model(remote.best_estimator_, local.best_estimator_)


def _fit_in_a_task(X, y):
    """A fit in a worker's task, with the thread counts it saw."""
    from fastmlp._engine._fastmlp_threads import get_limit
    from fastmlp._threads import omp_threads

    seen = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            # what OMP_NUM_THREADS alone would give a fit here
            "default": get_limit(), "fastmlp": omp_threads()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier((64,), max_iter=5, random_state=0).fit(X, y)
    # threadpoolctl still sets a task's threads, and restores the worker's
    with threadpool_limits(1):
        seen["limited"] = omp_threads()
    seen["after"] = omp_threads()
    return seen, model


def test_a_workers_fits_run_on_its_threads_not_the_nannys_one(client):
    X, y = _chunk(0, "classes")
    seen, remote = client.submit(_fit_in_a_task, X, y, pure=False).result()
    # the nanny leaves OMP_NUM_THREADS=1, which alone would give 1 thread
    assert seen["OMP_NUM_THREADS"] == "1" and seen["default"] == 1
    assert seen["fastmlp"] == THREADS_PER_WORKER
    assert seen["limited"] == 1
    assert seen["after"] == THREADS_PER_WORKER

    def fit(n_threads):
        with warnings.catch_warnings(), threadpool_limits(n_threads):
            warnings.simplefilter("ignore", ConvergenceWarning)
            return MLPClassifier((64,), max_iter=5, random_state=0).fit(X, y)

    # the worker's model is the model of as many threads, bit for bit
    _assert_same_model(remote, fit(THREADS_PER_WORKER))
    # and one thread's up to rounding (the row parts' sums in another order);
    # it differs, so the worker did cut minibatches in two parts
    one = fit(1)
    assert any(not np.array_equal(a, b) for a, b in zip(remote.coefs_, one.coefs_))
    for a, b in zip(remote.coefs_ + remote.intercepts_, one.coefs_ + one.intercepts_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_outside_a_task_the_limit_is_omp_num_threads_as_before(client):
    # distributed is imported in this process, which runs no task
    assert "distributed" in sys.modules
    assert omp_threads() == _fastmlp_threads.get_limit()
    with threadpool_limits(1, user_api="openmp"):
        assert omp_threads() == 1
