"""Minibatches cut into row parts on OpenMP threads (fastmlp/_threads.py):
the same model as one part up to rounding, independent of the thread count,
and BLAS's thread limits left as they were."""
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_info, threadpool_limits

import fastmlp._base
from fastmlp import MLPClassifier, MLPRegressor
from engine_specs import network_spec
from fastmlp._threads import row_parts, single_threaded_blas

RTOL = {np.float32: 2e-4, np.float64: 1e-9}


def _fit_with_parts(monkeypatch, make, X, y, n_parts, n_threads, **fit_kw):
    monkeypatch.setattr(fastmlp._base, "row_parts", lambda units, rows: n_parts)
    # the parts run on at most OpenMP's limit of threads
    with warnings.catch_warnings(), threadpool_limits(n_threads, user_api="openmp"):
        warnings.simplefilter("ignore")
        return make().fit(X, y, **fit_kw)


def _params(model):
    return model.coefs_ + model.intercepts_


def _data(dtype, sparse, n_rows=203):
    rng = np.random.RandomState(0)
    X = rng.randn(n_rows, 7).astype(dtype)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 0.6, X, 0))
    y = (X[:, 0] > 0).toarray().ravel() if sparse else X[:, 0] > 0
    return X, y.astype(int) + (rng.rand(n_rows) > 0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_parts", [2, 3, 7])
def test_parts_give_the_model_of_one_part(monkeypatch, dtype, solver, sparse, n_parts):
    # 203 rows in batches of 50: the last batch has 3 rows, so with 7 parts
    # some parts of it are empty
    X, y = _data(dtype, sparse)

    def make():
        return MLPClassifier((9, 5), solver=solver, batch_size=50, max_iter=4,
                             alpha=1e-3, random_state=1)

    one = _fit_with_parts(monkeypatch, make, X, y, 1, 1)
    parts = _fit_with_parts(monkeypatch, make, X, y, n_parts, 2)
    for a, b in zip(_params(one), _params(parts)):
        assert_allclose(b, a, rtol=RTOL[dtype], atol=RTOL[dtype])
    assert_allclose(parts.loss_curve_, one.loss_curve_, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parts_with_sample_weights_and_early_stopping(monkeypatch, dtype):
    X, y = _data(dtype, False, n_rows=400)
    sw = np.random.RandomState(2).rand(400)

    def make():
        return MLPRegressor(hidden_layer_sizes=(6,), batch_size=64, max_iter=5, early_stopping=True,
                            random_state=0)

    one = _fit_with_parts(monkeypatch, make, X, y.astype(dtype), 1, 1, sample_weight=sw)
    parts = _fit_with_parts(monkeypatch, make, X, y.astype(dtype), 3, 3, sample_weight=sw)
    for a, b in zip(_params(one), _params(parts)):
        assert_allclose(b, a, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("solver", ["adam", "sgd"])
# (16,): 163 parameters, which every thread steps on its own copy; (64, 40):
# 3235, which the threads step in shared slices (_epochs.MIN_THREADED_STEP)
@pytest.mark.parametrize("hidden", [(16,), (64, 40)])
def test_result_depends_on_parts_not_on_threads(monkeypatch, solver, hidden):
    X, y = _data(np.float64, False)

    def make():
        return MLPClassifier(hidden, solver=solver, batch_size=64, max_iter=3, random_state=0)

    serial = _fit_with_parts(monkeypatch, make, X, y, 4, 1)
    threaded = _fit_with_parts(monkeypatch, make, X, y, 4, 4)
    for a, b in zip(_params(serial), _params(threaded)):
        assert_array_equal(a, b)


def _blas_threads():
    return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_blas_limits_are_restored_after_fits_in_parallel_threads(monkeypatch):
    X, y = _data(np.float64, False, n_rows=2000)
    before = _blas_threads()
    with threadpool_limits(2, user_api="blas"):
        limited = _blas_threads()
        monkeypatch.setattr(fastmlp._base, "row_parts", lambda units, rows: 2)

        def fit(seed):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                MLPClassifier((32,), max_iter=3, random_state=seed).fit(X, y)

        workers = [threading.Thread(target=fit, args=(s,)) for s in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert _blas_threads() == limited
        # and after a fit that fails inside the epoch loop
        with pytest.raises(ValueError):
            MLPClassifier((32,), max_iter=3, learning_rate_init=1e300).fit(X * 1e300, y)
        assert _blas_threads() == limited
    assert _blas_threads() == before


def test_small_minibatches_are_not_cut():
    # opening parallel regions would cost more than these save
    assert row_parts(network_spec([2, 4, 1], "relu", "log_loss"), 200) == 1
    assert row_parts(network_spec([2, 16, 1], "relu", "log_loss"), 64) == 1
    with threadpool_limits(2):
        assert row_parts(network_spec([2, 16, 1], "relu", "log_loss"), 200) == 2
        # BLAS limited to one thread (to run fits in parallel threads) keeps
        # fits to one thread, but not while fastmlp itself holds it there
        with threadpool_limits(1, user_api="blas"):
            assert row_parts(network_spec([2, 16, 1], "relu", "log_loss"), 200) == 1
        with single_threaded_blas():
            assert row_parts(network_spec([2, 16, 1], "relu", "log_loss"), 200) == 2
    # a single row cannot be cut
    assert row_parts(network_spec([100, 256, 256, 10], "relu", "log_loss"), 1) == 1
    with threadpool_limits(1, user_api="openmp"):
        assert row_parts(network_spec([100, 256, 256, 10], "relu", "log_loss"), 200) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
def test_inference_chunks_on_threads_equal_one_thread(monkeypatch, dtype, sparse):
    X, y = _data(dtype, sparse, n_rows=3000)
    model = MLPClassifier((64, 32), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    # chunks of 37 rows, so that 3000 rows make 82 chunks (the last short)
    monkeypatch.setattr(fastmlp._base, "_chunk_rows", lambda n, network, *values: 37)
    monkeypatch.setattr(fastmlp._base, "chunk_threads", lambda *args: 1)
    one = model.predict_proba(X)
    monkeypatch.setattr(fastmlp._base, "chunk_threads", lambda *args: 3)
    before = _blas_threads()
    threaded = model.predict_proba(X)
    assert _blas_threads() == before
    assert_array_equal(threaded, one)
    assert_allclose(one.sum(axis=1), 1, rtol=1e-5)


def _fit_and_score(seed):
    X, y = _data(np.float64, False, n_rows=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((64,), max_iter=3, random_state=seed).fit(X, y)
    return model.predict_proba(X).shape, model.n_iter_


def test_fits_in_forked_children_after_a_threaded_fit_do_not_hang():
    # GNU OpenMP hangs a forked child that starts threads after its parent
    # did; fastmlp runs forked children on one thread
    import multiprocessing

    with threadpool_limits(2):
        assert row_parts(network_spec([7, 64, 3], "relu", "log_loss"), 200) == 2
        _fit_and_score(0)  # the parent's OpenMP threads now exist
        pool = multiprocessing.get_context("fork").Pool(2)
        try:
            results = pool.map_async(_fit_and_score, [1, 2]).get(timeout=120)
        finally:
            pool.terminate()
    assert results == [((1000, 3), 3)] * 2


def test_blas_is_held_to_one_thread_in_other_threads_after_a_main_thread_fit():
    # threadpoolctl lets one Python thread at a time set OpenBLAS's limit and
    # ignores the others: a fit in the main thread must not keep it.
    X, y = _data(np.float64, False, n_rows=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier((32,), max_iter=2, random_state=0).fit(X, y)
    before = _blas_threads()
    seen = []

    def in_thread():
        with single_threaded_blas(True):
            seen.append(_blas_threads())
        seen.append(_blas_threads())

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert seen == [[1] * len(before), before]
    with single_threaded_blas(True):
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before
