"""Threads for a fit: into how many row parts a minibatch is cut, and BLAS
held to one thread while parts run.

A minibatch big enough is cut into row parts, one per OpenMP thread, each
running forward and backward with single-threaded BLAS on its own rows (the
engine's epochs). On two cores this beats one thread driving
multi-threaded BLAS: the products of a digits-sized minibatch take 136 instead
of 173 us (float64), the elementwise loops and the optimizer step run on both
cores too, and BLAS's worker threads no longer spin between products.
scikit-learn's KMeans pairs OpenMP with single-threaded BLAS in the same way.

How many threads: fastmlp's own limit (_fastmlp_threads), not the OpenMP
runtime's, which every library in the process shares (PyTorch's
set_num_threads would set it for fastmlp too). It follows OMP_NUM_THREADS and
threadpoolctl (`threadpool_limits(n)`, or with user_api="openmp"), through
the controller registered below.

Inside a Dask worker's task, a thread that set no limit of its own gets the
worker's threads (`threads_per_worker`, `dask worker --nthreads`), not
OMP_NUM_THREADS and BLAS's limits: Dask's nanny sets those to 1 in every
worker it starts (`distributed.nanny.pre-spawn-environ`) so that tasks
running side by side do not each start a pool of BLAS threads, which would
also hold a sequence of partial_fit calls (dask-ml's Incremental) to one
core of a worker given several. Tasks side by side that each run on all the
worker's threads crowd the cores: the team then runs solo (_team.pyx), and
what a fit computes does not change.
"""
import os
import sys
import threading
from contextlib import contextmanager
from typing import Any

import threadpoolctl
from threadpoolctl import ThreadpoolController

from ._engine import _fastmlp_threads
from ._engine._team import OPENMP

# Minibatches with fewer floating-point operations (forward and backward)
# than this run on one thread: opening a parallel region costs a microsecond
# or two, which a very small minibatch does not earn back. Measured on
# make_moons fits: 200 rows x (16,) (58k) gain from two parts (43 -> 35 ms),
# 64 rows x (16,) (18k) and 200 rows x (4,) (14k) lose (9.5 -> 11, 6.7 -> 8.7 ms).
_MIN_SPLIT_FLOPS = 40_000
# Fewest rows a part gets: fewer make BLAS's products inefficient.
_MIN_PART_ROWS = 16

_lock = threading.Lock()
_blas = None          # threadpoolctl's controller of the loaded BLAS libraries
_holders = 0          # fits inside single_threaded_blas now
_original: Any = None  # what to restore when the last of them leaves
_saved_threads = 1    # BLAS's thread limit before the first of them came in
_forked = False       # this process was forked (multiprocessing's default on Linux)


def _after_fork_in_child():
    """GNU OpenMP cannot start threads in a process forked from one whose
    OpenMP threads exist (the child waits forever on threads it does not
    have), so a forked child runs everything on one thread; forked workers
    usually run side by side anyway. The parent's other threads, and any fit
    they were running, do not exist here either."""
    global _forked, _lock, _holders, _original
    _forked = True
    _lock = threading.Lock()
    _holders = 0
    _original = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _positive_int(text):
    try:
        value = int(text.split(",")[0])
    except (AttributeError, ValueError):
        return None
    return value if value > 0 else None


def _default_threads():
    """What GNU OpenMP starts with: the first value of OMP_NUM_THREADS, else
    the CPUs this process may run on, at most OMP_THREAD_LIMIT."""
    n_threads = _positive_int(os.environ.get("OMP_NUM_THREADS"))
    if n_threads is None:
        try:
            n_threads = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            n_threads = os.cpu_count() or 1
    cap = _positive_int(os.environ.get("OMP_THREAD_LIMIT"))
    return n_threads if cap is None else min(n_threads, cap)


class _FastmlpController(threadpoolctl.LibController):
    """threadpoolctl's handle on fastmlp's thread limit, so that
    `threadpool_limits` sets it as it sets OpenMP's (user_api "openmp")."""

    user_api = "openmp"
    internal_api = "fastmlp"
    filename_prefixes = ("_fastmlp_threads",)
    check_symbols = ("fastmlp_get_num_threads",)

    def get_num_threads(self):
        # what fits use (a Dask worker's threads included), so that
        # threadpool_limits restores that on leaving, not the default
        return omp_threads()

    def set_num_threads(self, num_threads):
        self.dynlib.fastmlp_set_num_threads(num_threads)

    def get_version(self):
        from . import __version__

        return __version__


_fastmlp_threads.set_default(_default_threads())
threadpoolctl.register(_FastmlpController)


def _blas_controller():
    global _blas
    with _lock:
        if _blas is None:
            _blas = ThreadpoolController().select(user_api="blas")
        return _blas


def _blas_limit(controller):
    return min((lib.num_threads for lib in controller.lib_controllers), default=1)


def _dask_worker_threads():
    """The threads of the Dask worker whose task the calling thread runs,
    None outside a task. A worker's process has imported distributed; a
    process that has not runs no task (and pays no import here)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:  # not in a task
        return None
    return worker.state.nthreads


def _thread_limits():
    """fastmlp's thread limit for the calling thread, and whether BLAS's
    limit caps it: the thread's own (threadpoolctl), else a Dask worker's
    threads (uncapped: the nanny's BLAS limit is not the user's), else the
    default (OMP_NUM_THREADS); one in a forked child, and in a build without
    OpenMP."""
    if _forked or not OPENMP:
        return 1, True
    own = _fastmlp_threads.own_limit()
    if own > 0:
        return own, True
    worker_threads = _dask_worker_threads()
    if worker_threads is not None:
        return worker_threads, False
    return _fastmlp_threads.get_limit(), True


def omp_threads() -> int:
    """fastmlp's thread limit for the calling thread (OMP_NUM_THREADS,
    threadpoolctl, a Dask worker's threads); one in a forked child, and in
    a build without OpenMP."""
    return _thread_limits()[0]


def _blas_threads():
    """BLAS's thread limit as the user left it: while fits hold BLAS to one
    thread, the limit they saved, so that what a fit computes does not
    depend on other fits running at the time."""
    with _lock:
        if _holders > 0:
            return _saved_threads
    return _blas_limit(_blas_controller())


def row_parts(spec, batch_rows: int) -> int:
    """Number of row parts a minibatch of `batch_rows` rows is cut into, each
    run by a thread of its own: one per OpenMP thread of the calling thread
    (OMP_NUM_THREADS, threadpoolctl) and no more than BLAS may use (so a BLAS
    limited to one thread, to run fits in parallel threads, say, keeps a fit
    to one), or one per thread of the Dask worker running the task, when the
    minibatch is big enough to pay for it. A fit's result
    depends on it (the order of the gradient sums)."""
    flops = 6 * batch_rows * spec.multiply_adds_per_row
    if flops < _MIN_SPLIT_FLOPS:
        return 1
    return _threads_for(batch_rows // _MIN_PART_ROWS)


def chunk_threads(spec, n_samples: int, chunk_rows: int) -> int:
    """Threads for inference over `n_samples` rows in chunks of `chunk_rows`:
    one per chunk up to OpenMP's and BLAS's limits, when there is enough
    work. Results do not depend on it (each row is computed alike)."""
    n_chunks = -(-n_samples // chunk_rows)
    flops = 2 * chunk_rows * spec.multiply_adds_per_row
    if flops < _MIN_SPLIT_FLOPS:
        return 1
    return _threads_for(n_chunks)


def _threads_for(n_jobs):
    """Threads for n_jobs jobs: at most fastmlp's limit and, where it caps
    it, BLAS's, asked only when it matters, since the first time
    threadpoolctl scans the loaded libraries (~14 ms)."""
    limit, blas_caps = _thread_limits()
    n_threads = min(limit, n_jobs)
    if n_threads <= 1 or not blas_caps:
        return max(1, n_threads)
    return max(1, min(n_threads, _blas_threads()))


@contextmanager
def single_threaded_blas(active: bool = True):
    """BLAS on one thread while any fit is inside this context: the first one
    in saves the current limits, the last one out restores them, so fits in
    parallel threads do not undo each other's limit."""
    global _holders, _original, _saved_threads
    if not active:
        yield
        return
    controller = _blas_controller()
    with _lock:
        if _holders == 0:
            _saved_threads = _blas_limit(controller)
            _release_openblas()
            _original = controller.limit(limits=1)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                _release_openblas()
                _original.restore_original_limits()
                _original = None
                _release_openblas()


def _release_openblas():
    """Let this thread set OpenBLAS's thread limit.

    threadpoolctl (3.8 on) lets one Python thread at a time change a
    pthreads OpenBLAS's process-wide limit: the first that did, until it lets
    go, and silently ignores the others. A fit in the main thread left it in
    charge for good, so fits and predictions in any other thread ran their
    row parts on BLAS's threads (two threads each on two cores: slower, and
    last bits that depended on the thread). fastmlp's own lock serialises
    its changes, and it restores what it changed.
    """
    openblas = getattr(threadpoolctl, "OpenBLASController", None)
    clear = getattr(openblas, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
