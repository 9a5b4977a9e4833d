# Batch normalisation's kernels over one row part, and the combination of
# the parts' sums by the thread closing a stage's round.
from cython cimport floating

from ._common cimport Net, Layer, Batch


cdef void part_moments(const floating* Z, Py_ssize_t n_rows, Py_ssize_t n_units,
                       double* mean, double* m2) noexcept nogil

cdef void combine_moments(const Layer* layer, const double* part_stats,
                          Py_ssize_t stride, Py_ssize_t n_stats, Py_ssize_t n_parts,
                          Py_ssize_t n_rows, double eps, Batch* batch) noexcept nogil

cdef void update_running(const Layer* layer, const Batch* batch, Py_ssize_t n_stats,
                         double momentum, double* running) noexcept nogil

cdef void normalize(floating* Z, floating* X_hat, const floating* gamma,
                    Py_ssize_t n_rows, Py_ssize_t n_units, const double* mean,
                    const double* invstd) noexcept nogil

cdef void part_delta_sums(const floating* G, const floating* X_hat, Py_ssize_t n_rows,
                          Py_ssize_t n_units, double* sum_g, double* sum_gx) noexcept nogil

cdef void combine_delta_sums(const Layer* layer, const double* part_stats,
                             Py_ssize_t stride, Py_ssize_t n_stats, Py_ssize_t n_parts,
                             Batch* batch) noexcept nogil

cdef void finish_delta(floating* G, const floating* X_hat, const floating* gamma,
                       Py_ssize_t n_rows, Py_ssize_t n_units, const double* invstd,
                       const double* sum_g, const double* sum_gx,
                       Py_ssize_t n_batch) noexcept nogil
