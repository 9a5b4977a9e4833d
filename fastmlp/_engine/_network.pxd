# The network: its shape, where each layer lives in the flat buffers, and the
# forward and backward passes over one chunk of rows.
from cython cimport floating
from libc.math cimport isfinite


cdef struct Net:
    Py_ssize_t n_layers          # weight layers: len(units) - 1
    Py_ssize_t* units            # layer widths, units[0] = n_features
    Py_ssize_t* coef_start       # W_l at params[coef_start[l]:], (units[l], units[l+1])
    Py_ssize_t* intercept_start  # b_l at params[intercept_start[l]:], (units[l+1],)
    Py_ssize_t* unit_start       # sum of units[1:l]: layer l's column in the work buffers
    Py_ssize_t n_coefs           # coefficients come first in the flat buffer
    Py_ssize_t n_params
    Py_ssize_t n_hidden_units    # sum of units[1:]
    int activation               # hidden activation (_activations.Activation)
    int output                   # output layer and loss (_losses.Output)


cdef struct Work:
    # Offsets into one work buffer sized for up to max_rows rows.
    Py_ssize_t max_rows
    Py_ssize_t x        # gathered dense input rows, (max_rows, n_features)
    Py_ssize_t y        # gathered targets, (max_rows, n_outputs)
    Py_ssize_t sw       # gathered sample weights, (max_rows,)
    Py_ssize_t ones     # max_rows ones: column sums as a BLAS gemv
    Py_ssize_t act      # layer activations A_1..A_L
    Py_ssize_t delta    # layer deltas dL/dZ_1..dL/dZ_L
    Py_ssize_t size


cdef struct Input:
    # The rows a chunk reads: dense rows at x (already contiguous), or rows of
    # a CSR matrix (rows[r], or row_start + r when rows is NULL).
    void* x
    void* data
    const Py_ssize_t* indices
    const Py_ssize_t* indptr
    const Py_ssize_t* rows
    Py_ssize_t row_start


cdef class Network:
    cdef Net net
    cdef object _arrays   # keeps the numpy arrays behind net's pointers alive
    cdef Work work_layout(self, Py_ssize_t max_rows, bint gather)
    cdef Work inference_layout(self, Py_ssize_t max_rows)


cdef void forward(const Net* net, const floating* params, Input* inp,
                  Py_ssize_t n_rows, floating* work, const Work* w) noexcept nogil

cdef void backward(const Net* net, const floating* params, floating* grads,
                   Input* inp, Py_ssize_t n_rows, floating* work, const Work* w,
                   bint accumulate) noexcept nogil

cdef double finalize_gradient(const Net* net, const floating* params,
                              floating* grads, double alpha,
                              double sw_sum) noexcept nogil

cdef void fill_ones(floating* work, const Work* w) noexcept nogil

cdef inline void set_input(Input* inp, const void* x, const void* data,
                           const Py_ssize_t* indices, const Py_ssize_t* indptr) noexcept nogil:
    """Rows from dense x (data NULL), or from the CSR arrays (x NULL); the
    caller then points x at the chunk, or sets rows / row_start."""
    inp.x = <void*>x
    inp.data = <void*>data
    inp.indices = indices
    inp.indptr = indptr
    inp.rows = NULL
    inp.row_start = 0


cdef inline bint all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef bint finite = True
    for i in range(n):
        finite &= isfinite(x[i])
    return finite


cdef floating* layer_delta(const Net* net, floating* work, const Work* w,
                           Py_ssize_t layer) noexcept nogil

cdef floating* layer_activations(const Net* net, floating* work, const Work* w,
                                 Py_ssize_t layer) noexcept nogil
