"""The BLAS thread policy of fits: one thread for small products, restored
afterwards, whatever the nesting or the number of Python threads fitting."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import threadpoolctl

from fastmlp._threads import SINGLE_THREAD_BELOW, blas_threads_for, largest_product


def _blas_threads():
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"]


def test_small_products_run_on_one_thread_and_the_limit_is_restored():
    before = _blas_threads()
    with blas_threads_for(200, [64, 100, 10]):
        assert all(n == 1 for n in _blas_threads())
        with blas_threads_for(10, [3, 4, 2]):
            assert all(n == 1 for n in _blas_threads())
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before


def test_large_products_are_left_alone():
    units = [100, 256, 256, 10]
    assert largest_product(200, units) >= SINGLE_THREAD_BELOW
    before = _blas_threads()
    with blas_threads_for(200, units):
        assert _blas_threads() == before


def test_concurrent_users_do_not_leak_the_limit():
    # OpenBLAS may keep thread counts per calling thread, so what every
    # concurrent fit sees is not promised; that nothing is left limited once
    # they are all done is.
    before = _blas_threads()

    def use(i):
        with blas_threads_for(200, [64, 100, 10]):
            np.linalg.norm(np.ones(10))  # let the threads interleave
        return True

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(use, range(200)))
    assert _blas_threads() == before
