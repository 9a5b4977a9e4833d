"""How many threads BLAS may use while a network trains.

A minibatch's matrix products are small, and BLAS wakes its threads for every
one of them. On the 2-core machines the benchmarks run on, that costs more
than it saves below a few million multiply-adds per product: digits-sized
products (200 x 64 x 100) ran twice as fast on one thread as on two, for
scikit-learn too, while (200 x 256 x 256) ran 15-30% faster on two
(`python -m benchmarks`, issue 3). So a fit whose largest product is small
keeps BLAS to one thread while it runs.

threadpoolctl is scikit-learn's own dependency. The limit is reference
counted, so that fits running in several Python threads never leave it in
place when they finish (OpenBLAS may keep thread counts per calling thread,
in which case only the first of concurrent fits is limited: a matter of speed,
never of results).
"""
import threading
from contextlib import contextmanager, nullcontext

from threadpoolctl import ThreadpoolController

# Products with fewer multiply-adds than this run on one BLAS thread.
SINGLE_THREAD_BELOW = 4_000_000

_lock = threading.Lock()
_state = {"controller": None, "users": 0, "limiter": None}


def largest_product(batch_rows, layer_units):
    """Multiply-adds of the largest matrix product in one minibatch."""
    return batch_rows * max(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))


@contextmanager
def _single_threaded_blas():
    with _lock:
        if _state["users"] == 0:
            if _state["controller"] is None:
                _state["controller"] = ThreadpoolController()
            _state["limiter"] = _state["controller"].limit(limits=1, user_api="blas")
        _state["users"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["users"] -= 1
            if _state["users"] == 0:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None


def blas_threads_for(batch_rows, layer_units):
    """A context manager for the duration of a fit: BLAS on one thread when
    the minibatch products are small, left alone otherwise.

    Parameters
    ----------
    batch_rows : int
        Rows per minibatch (or per chunk, for lbfgs).
    layer_units : list of int
        Layer widths, input first.
    """
    if largest_product(batch_rows, layer_units) >= SINGLE_THREAD_BELOW:
        return nullcontext()
    return _single_threaded_blas()
