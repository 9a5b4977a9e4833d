# OpenMP's thread queries, or their one-thread answers in a build without
# OpenMP (a compiler without it, or FASTMLP_NO_OPENMP=1: see setup.py).
# Without OpenMP, Cython's parallel blocks and prange run once, on the
# calling thread, so these answers are the truth there; scikit-learn's
# _openmp_helpers.pxd does the same.
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define FASTMLP_OPENMP 1
    #else
    #define FASTMLP_OPENMP 0
    #define omp_get_thread_num() 0
    #define omp_get_num_threads() 1
    #endif
    """
    bint FASTMLP_OPENMP       # whether this module was compiled with OpenMP
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_threads() noexcept nogil
