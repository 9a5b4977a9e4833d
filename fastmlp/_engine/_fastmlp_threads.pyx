"""fastmlp's own limit on the threads its fits and predictions use.

Every library in a process shares one OpenMP runtime (libgomp.so.1 is loaded
once, whoever loads it first), and with it OpenMP's thread limit:
`torch.set_num_threads(1)` would set fastmlp's too. So fastmlp keeps its own
limit, per thread like OpenMP's, set through threadpoolctl (fastmlp registers
a controller for this library, see _threads.py); a thread that never set it
gets the default, which _threads.py takes from OMP_NUM_THREADS at import
(inside a Dask worker's task, _threads.py uses the worker's threads instead).

threadpoolctl finds a library by the prefix of its file name, so this
module's name carries the package's; it reaches the two exported C functions
through ctypes.
"""

cdef extern from *:
    """
    static int fastmlp_default_threads = 1;
    static __thread int fastmlp_thread_limit = 0;  /* 0: not set in this thread */

    __attribute__((visibility("default")))
    int fastmlp_get_num_threads(void) {
        return fastmlp_thread_limit > 0 ? fastmlp_thread_limit : fastmlp_default_threads;
    }

    __attribute__((visibility("default")))
    void fastmlp_set_num_threads(int n_threads) {
        fastmlp_thread_limit = n_threads > 0 ? n_threads : 1;
    }

    static void fastmlp_set_default_threads(int n_threads) {
        fastmlp_default_threads = n_threads > 0 ? n_threads : 1;
    }

    static int fastmlp_own_threads(void) {
        return fastmlp_thread_limit;
    }
    """
    int fastmlp_get_num_threads() noexcept nogil
    void fastmlp_set_num_threads(int n_threads) noexcept nogil
    void fastmlp_set_default_threads(int n_threads) noexcept nogil
    int fastmlp_own_threads() noexcept nogil


def get_limit():
    """The calling thread's limit: what it set, else the default."""
    return fastmlp_get_num_threads()


def own_limit():
    """The limit the calling thread set itself, 0 if it never set one."""
    return fastmlp_own_threads()


def set_limit(int n_threads):
    """Set the calling thread's limit (below 1 counts as 1)."""
    fastmlp_set_num_threads(n_threads)


def set_default(int n_threads):
    """Set the limit of threads that did not set their own."""
    fastmlp_set_default_threads(n_threads)
