# The network as the engine holds it (built from a NetworkSpec), and the
# forward and backward passes over one row part.
from cython cimport floating

from ._common cimport Layer, Net, PartLayout, Input, Batch


cdef class Network:
    cdef Net net
    cdef readonly object spec
    cdef Layer* _layers
    cdef PartLayout part_layout(self, Py_ssize_t max_rows, bint gather)
    cdef PartLayout inference_layout(self, Py_ssize_t max_rows)


cdef void layer_product(const Net* net, const floating* params, Input* inp,
                        Py_ssize_t n_rows, Py_ssize_t l, const floating* A_in,
                        floating* out) noexcept nogil

cdef void forward(const Net* net, const floating* params, Input* inp,
                  Py_ssize_t n_rows, floating* work, const PartLayout* part) noexcept nogil

cdef void backward(const Net* net, const floating* params, floating* grads,
                   Input* inp, Py_ssize_t n_rows, floating* work,
                   const PartLayout* part, bint accumulate) noexcept nogil

cdef void forward_layers(const Net* net, const floating* params, Input* inp,
                         Py_ssize_t n_rows, floating* work, const PartLayout* part,
                         Py_ssize_t lo, Py_ssize_t hi, const Batch* batch,
                         const Py_ssize_t* ids, Py_ssize_t id_start) noexcept nogil

cdef Py_ssize_t backward_layers(const Net* net, const floating* params, floating* grads,
                                Input* inp, Py_ssize_t n_rows, floating* work,
                                const PartLayout* part, Py_ssize_t top,
                                bint accumulate) noexcept nogil

cdef double finalize_gradient(const Net* net, const floating* params,
                              floating* grads, double alpha,
                              double sw_sum) noexcept nogil

cdef void fill_ones(floating* work, const PartLayout* part) noexcept nogil


cdef inline void set_input(Input* inp, const void* x, const void* data,
                           const Py_ssize_t* indices, const Py_ssize_t* indptr) noexcept nogil:
    """Rows from dense x (data NULL), or from the CSR arrays (x NULL); the
    caller then points x at the row part, or sets rows / row_start."""
    inp.x = <void*>x
    inp.data = <void*>data
    inp.indices = indices
    inp.indptr = indptr
    inp.rows = NULL
    inp.row_start = 0


cdef inline floating* layer_activations(const Net* net, floating* work,
                                        const PartLayout* part,
                                        Py_ssize_t layer) noexcept nogil:
    """A_{layer+1}, the output of weight layer `layer`: rows of its n_out"""
    return work + part.act + part.max_rows * net.layers[layer].act_col


cdef inline floating* layer_derivatives(const Net* net, floating* work,
                                        const PartLayout* part,
                                        Py_ssize_t layer) noexcept nogil:
    """f'(Z_{layer+1}), kept by the forward pass for a layer whose derivative
    cannot be written from its output (in the pre-activation block), or
    NULL: the layer keeps none, or the layout has no such block (predictions)"""
    cdef Py_ssize_t col = net.layers[layer].pre_col
    if col < 0 or part.pre < 0:
        return NULL
    return work + part.pre + part.max_rows * col


cdef inline floating* layer_delta(const Net* net, floating* work,
                                  const PartLayout* part,
                                  Py_ssize_t layer) noexcept nogil:
    """dLoss/dZ_{layer+1}, the delta of weight layer `layer`'s output"""
    return work + part.delta + part.max_rows * net.layers[layer].delta_col


cdef inline floating* layer_norm(const Net* net, floating* work, const PartLayout* part,
                                 Py_ssize_t layer) noexcept nogil:
    """X^ of batch-normalised weight layer `layer`'s output"""
    return work + part.norm + part.max_rows * net.layers[layer].norm_col


cdef inline floating* layer_mask(const Net* net, floating* work, const PartLayout* part,
                                 Py_ssize_t layer) noexcept nogil:
    """Dropout's keep scale times f' of weight layer `layer`'s output"""
    return work + part.mask + part.max_rows * net.layers[layer].mask_col


cdef inline Py_ssize_t batch_norm_layer(const Net* net, Py_ssize_t j) noexcept nogil:
    """The weight layer of the j-th batch-normalised layer"""
    cdef Py_ssize_t l
    for l in range(net.n_layers):
        if net.layers[l].bn == j:
            return l
    return -1
