"""The loss over all rows and its gradient, for lbfgs (a full-batch method)
and for inspecting a fitted network: one call from Python, the GIL released
throughout.

Rows go in chunks so the work buffers stay bounded; each chunk is cut into
row parts run on OpenMP threads, each accumulating into its own gradient
buffer, and the parts' gradients are added in part order at the end.
"""
from cpython.exc cimport PyErr_CheckSignals
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.string cimport memset

from ._common cimport Net, PartLayout
from ._interrupt cimport check_due, monotonic_seconds
from ._network cimport Network, finalize_gradient, fill_ones
from ._part cimport Data, part_loss_gradient, part_range, check_data


cdef void _chunk_part(
        const Net* net, const floating* p,
        floating* g,                    # OUT (or +=) n_parts gradients, back to back
        floating* work, const PartLayout* part,  # n_parts work buffers, back to back
        const Data* data, Py_ssize_t start, Py_ssize_t n_rows,
        Py_ssize_t n_parts, Py_ssize_t q, floating delta_scale,
        double* part_loss) noexcept nogil:  # OUT [q]
    """part_loss_gradient on the q-th of n_parts parts of the chunk of rows
    start:start+n_rows, accumulating after the first chunk"""
    cdef Py_ssize_t lo, hi
    cdef double sw_sum
    part_range(n_rows, n_parts, q, &lo, &hi)
    part_loss[q] = 0
    if lo < hi:
        part_loss[q] = part_loss_gradient(
            net, p, g + q * net.n_params, work + q * part.size, part, data, NULL,
            start + lo, hi - lo, delta_scale, start > 0, &sw_sum)
    elif start == 0:
        # a part without rows in the first chunk starts at zero
        memset(g + q * net.n_params, 0, net.n_params * sizeof(floating))


def loss_gradient(Network network,
                  floating[::1] params,        # IN flat parameters
                  floating[::1] grads,         # OUT flat gradient in [:n_params];
                                               # work: n_parts flat gradients
                  floating[::1] work,          # work: n_parts *
                                               # network.work_size(part_rows, False)
                  const floating[:, ::1] X, const floating[::1] X_data,
                  const Py_ssize_t[::1] X_indices, const Py_ssize_t[::1] X_indptr,
                  Y,                           # IN targets (_part.check_data)
                  const floating[::1] sample_weight,
                  Py_ssize_t chunk_rows, Py_ssize_t n_parts, int n_threads,
                  double alpha, double delta_scale):
    """Loss over all rows (plus the L2 term) and its gradient. Each chunk of
    chunk_rows rows is cut into n_parts row parts run on n_threads OpenMP
    threads (BLAS single-threaded then: the caller's job). What a signal
    handler raises (KeyboardInterrupt) propagates.

    Returns
    -------
    loss : float
    """
    cdef Net* net = &network.net
    cdef PartLayout part = network.part_layout((chunk_rows + n_parts - 1) // max(n_parts, 1),
                                               False)
    cdef Py_ssize_t n_samples = Y.shape[0]
    cdef Py_ssize_t start, n_rows, r, q, i
    cdef bint weighted = sample_weight.shape[0] > 0
    cdef double loss_sum = 0, sw_sum = 0, sumsq
    cdef floating* wk = &work[0]
    cdef floating* p = &params[0]
    cdef floating* g = &grads[0]
    cdef const floating* gq
    cdef double* part_loss
    cdef Data data
    cdef double last_check = monotonic_seconds()

    if chunk_rows < 1 or n_threads < 1:
        raise ValueError("a pass needs rows per chunk and a thread")
    check_data(net, &part, n_parts, params, grads, work, X, X_data, X_indices, X_indptr,
               Y, sample_weight, False, &data)
    part_loss = <double*>malloc(n_parts * sizeof(double))
    if part_loss == NULL:
        raise MemoryError()

    try:
        with nogil:
            for q in range(n_parts):
                fill_ones(wk + q * part.size, &part)
            start = 0
            while start < n_samples:
                n_rows = chunk_rows if n_samples - start >= chunk_rows else n_samples - start
                if n_threads == 1:
                    for q in range(n_parts):
                        _chunk_part(net, p, g, wk, &part, &data, start, n_rows, n_parts,
                                    q, <floating>delta_scale, part_loss)
                else:
                    for q in prange(n_parts, num_threads=n_threads, schedule="static"):
                        _chunk_part(net, p, g, wk, &part, &data, start, n_rows, n_parts,
                                    q, <floating>delta_scale, part_loss)
                for q in range(n_parts):
                    loss_sum += part_loss[q]
                start += n_rows
                if check_due(&last_check):
                    with gil:
                        PyErr_CheckSignals()
            for q in range(1, n_parts):
                gq = g + q * net.n_params
                for i in range(net.n_params):
                    g[i] += gq[i]
            if weighted:
                for r in range(n_samples):
                    sw_sum += sample_weight[r]
            else:
                sw_sum = n_samples
            sumsq = finalize_gradient(net, p, g, alpha, sw_sum)
    finally:
        free(part_loss)
    return loss_sum / sw_sum + 0.5 * alpha * sumsq / sw_sum
