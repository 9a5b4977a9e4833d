# One row part's forward, loss and backward: the pass both training paths
# (stochastic epochs and the full-batch loss) run, and the checks of the
# data they hand it.
from cython cimport floating

from ._common cimport Net, Layer, PartLayout, Input, Batch


cdef struct Data:
    # The training data as the passes read it (void*: a struct cannot hold
    # fused types; the passes cast to their dtype).
    const void* x            # dense X (n_samples, n_features), or NULL: sparse
    Input csr                # the CSR arrays when x is NULL
    const void* y            # targets (n_samples, n_targets), or NULL: classes
    Py_ssize_t n_targets
    const Py_ssize_t* classes  # a multiclass loss's class index of each row, or NULL
    const void* sw           # sample weights (n_samples,), or NULL: unit weights
    bint gather              # copy a part's dense rows into its work buffer


cdef double part_loss_gradient(
        const Net* net, const floating* params, floating* grads,
        floating* work, const PartLayout* part, const Data* data,
        const Py_ssize_t* rows, Py_ssize_t start, Py_ssize_t n_rows,
        floating delta_scale, bint accumulate, double* sw_sum, Py_ssize_t stage,
        const Batch* batch, double* part_stats) noexcept nogil

cdef void empty_part_stats(const Net* net, double* part_stats) noexcept nogil

cdef bint close_stage(const Net* net, Batch* batch, const double* part_stats,
                      Py_ssize_t n_parts, Py_ssize_t stage, double* running,
                      double momentum) noexcept nogil

cdef inline void part_range(Py_ssize_t n_rows, Py_ssize_t n_parts, Py_ssize_t q,
                            Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:  # OUT
    """Rows lo:hi of the q-th of n_parts equal parts of n_rows rows (the last
    parts are short or empty)"""
    cdef Py_ssize_t part_rows = (n_rows + n_parts - 1) // n_parts
    lo[0] = min(q * part_rows, n_rows)
    hi[0] = min(lo[0] + part_rows, n_rows)


cdef Py_ssize_t check_data(const Net* net, const PartLayout* part, Py_ssize_t n_parts,
                           const floating[::1] params, const floating[::1] grads,
                           const floating[::1] work, const floating[:, ::1] X,
                           const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                           const Py_ssize_t[::1] X_indptr, object Y,
                           const floating[::1] sample_weight, bint gather,
                           Data* data) except -1

cdef double part_loss(
        const Net* net, const floating* params,
        floating* work, const PartLayout* part, const Data* data,
        Py_ssize_t start, Py_ssize_t n_rows) noexcept nogil
