"""Inference: the forward pass over row chunks, GIL released, so memory stays
bounded by the chunks and concurrent predictions share nothing but the
parameters (each call has its own work buffers). Chunks run on OpenMP
threads, each with single-threaded BLAS, when there are enough of them.

Also every layer's pre-activations and activations (forward_layers), for
inspecting a network: the products and kernels predictions run, written
into the caller's arrays instead of a work buffer."""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

from ._openmp cimport omp_get_thread_num
from ._common cimport Net, Layer, PartLayout, Input, all_finite, IDENTITY
from ._network cimport Network, forward, layer_activations, layer_product, set_input
from ._activations cimport bias_activation
from ._losses cimport output_activation
from ._sparse cimport check_csr


cdef void _predict_chunk(const Net* net, const PartLayout* part, const floating* params,
                         Input inp, Py_ssize_t start, Py_ssize_t n_rows,
                         floating* work,   # this thread's work buffer
                         floating* out) noexcept nogil:
    """out[start:start + n_rows] = network output of those rows"""
    cdef Py_ssize_t n_outputs = net.n_outputs
    cdef floating* A_out
    if inp.x != NULL:
        inp.x = <void*>(<const floating*>inp.x + start * net.n_features)
    else:
        inp.row_start = start
    forward(net, params, &inp, n_rows, work, part)
    A_out = layer_activations(net, work, part, net.n_layers - 1)
    output_activation(A_out, params + net.layers[net.n_layers - 1].intercept,
                      n_rows, n_outputs, net.out_activation)
    memcpy(out + start * n_outputs, A_out, n_rows * n_outputs * sizeof(floating))


cdef int _predict_chunks(const Net* net, PartLayout* part, const floating* params,
                         Input* inp, Py_ssize_t n_samples,
                         floating* out, int n_threads) noexcept nogil:
    """out = network output (output activation applied) for every row, in
    chunks of part.max_rows rows spread over n_threads OpenMP threads (with
    n_threads > 1, BLAS must be single-threaded: the caller's job); returns
    -1 if the work buffers cannot be allocated"""
    cdef Py_ssize_t c, start, n_chunks = (n_samples + part.max_rows - 1) // part.max_rows
    cdef floating* work = <floating*>malloc(n_threads * part.size * sizeof(floating))
    if work == NULL:
        return -1
    if n_threads == 1:
        for c in range(n_chunks):
            start = c * part.max_rows
            _predict_chunk(net, part, params, inp[0], start,
                           min(part.max_rows, n_samples - start), work, out)
    else:
        for c in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
            start = c * part.max_rows
            _predict_chunk(net, part, params, inp[0], start,
                           min(part.max_rows, n_samples - start),
                           work + omp_get_thread_num() * part.size, out)
    free(work)
    return 0


def predict_dense(Network network,
                  const floating[::1] params,   # IN flat parameters
                  const floating[:, ::1] X,     # IN (n_samples, n_features)
                  floating[:, ::1] out,         # OUT (n_samples, n_outputs)
                  Py_ssize_t chunk_rows, bint check_finite, int n_threads=1):
    """out = network output for every row of X.

    Returns
    -------
    finite : bool
        False, with out left unwritten, when check_finite is set and X holds
        a NaN or an infinity (the caller then reports it).
    """
    cdef Net* net = &network.net
    cdef Py_ssize_t n_samples = X.shape[0]
    cdef PartLayout part = network.inference_layout(max(1, min(chunk_rows, n_samples)))
    cdef Input inp
    cdef int status
    if net.n_bn > 0:
        raise ValueError("predictions run on batch norm folded into the weights")
    if params.shape[0] != net.n_params or X.shape[1] != net.n_features \
            or out.shape[0] != n_samples or out.shape[1] != net.n_outputs:
        raise ValueError("buffers of the wrong size")
    if n_samples == 0:
        return True
    set_input(&inp, &X[0, 0], NULL, NULL, NULL)
    with nogil:
        if check_finite and not all_finite(&X[0, 0], X.shape[0] * X.shape[1]):
            status = 1
        else:
            status = _predict_chunks(net, &part, &params[0], &inp, n_samples, &out[0, 0],
                                     max(1, n_threads))
    if status < 0:
        raise MemoryError("cannot allocate the prediction work buffer")
    return status == 0


def predict_sparse(Network network,
                   const floating[::1] params,  # IN flat parameters
                   const floating[::1] data, const Py_ssize_t[::1] indices,
                   const Py_ssize_t[::1] indptr,  # IN CSR X
                   floating[:, ::1] out,        # OUT (n_samples, n_outputs)
                   Py_ssize_t chunk_rows, int n_threads=1):
    """out = network output for every row of the CSR matrix X, whose arrays
    are checked against the network first (check_csr: O(nnz))."""
    cdef Net* net = &network.net
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1
    cdef PartLayout part = network.inference_layout(max(1, min(chunk_rows, n_samples)))
    cdef Input inp
    cdef int status = 0
    cdef const Py_ssize_t* first_index = &indices[0] if indices.shape[0] > 0 else NULL
    if net.n_bn > 0:
        raise ValueError("predictions run on batch norm folded into the weights")
    if params.shape[0] != net.n_params or out.shape[0] != n_samples \
            or out.shape[1] != net.n_outputs:
        raise ValueError("buffers of the wrong size")
    check_csr(&indptr[0] if indptr.shape[0] > 0 else NULL, indptr.shape[0],
              first_index, indices.shape[0], data.shape[0], n_samples, net.n_features)
    if n_samples == 0:
        return
    set_input(&inp, NULL, &data[0] if data.shape[0] > 0 else NULL, first_index,
              &indptr[0])
    with nogil:
        status = _predict_chunks(net, &part, &params[0], &inp, n_samples, &out[0, 0],
                                 max(1, n_threads))
    if status < 0:
        raise MemoryError("cannot allocate the prediction work buffer")


cdef void _forward_layers_chunk(const Net* net, const floating* params, Input inp,
                                Py_ssize_t n_samples, Py_ssize_t start, Py_ssize_t n_rows,
                                floating* Z,   # OUT every layer's Z, back to back
                                floating* A) noexcept nogil:  # OUT every layer's f(Z)
    """Rows start:start+n_rows of every layer: Z_{l+1} = A_l @ W_l + b_l and
    A_{l+1} = f(Z_{l+1}) (the output layer's f the loss's), as predictions
    compute them: f is applied to the product plus b, as in forward()"""
    cdef Py_ssize_t l, offset = 0
    cdef const Layer* layer
    cdef floating* Z_rows
    cdef floating* A_rows
    cdef const floating* A_in = NULL
    if inp.x != NULL:
        inp.x = <void*>(<const floating*>inp.x + start * net.n_features)
    else:
        inp.row_start = start
    for l in range(net.n_layers):
        layer = &net.layers[l]
        Z_rows = Z + offset + start * layer.n_out
        A_rows = A + offset + start * layer.n_out
        layer_product(net, params, &inp, n_rows, l, A_in, Z_rows)
        memcpy(A_rows, Z_rows, n_rows * layer.n_out * sizeof(floating))
        if l + 1 < net.n_layers:
            bias_activation(A_rows, params + layer.intercept, n_rows, layer.n_out,
                            layer.activation, layer.act_params)
        else:
            output_activation(A_rows, params + layer.intercept, n_rows, layer.n_out,
                              net.out_activation)
        # Z after f: the same sum f was applied to
        bias_activation(Z_rows, params + layer.intercept, n_rows, layer.n_out,
                        IDENTITY, layer.act_params)
        A_in = A_rows
        offset += n_samples * layer.n_out


def forward_layers(Network network,
                   const floating[::1] params,    # IN flat parameters
                   const floating[:, ::1] X, const floating[::1] X_data,
                   const Py_ssize_t[::1] X_indices,
                   const Py_ssize_t[::1] X_indptr,  # IN X: dense, or CSR when X has no rows
                   floating[::1] Z,               # OUT each layer's Z_{l+1}, back to back
                   floating[::1] A,               # OUT each layer's A_{l+1}, the same
                   Py_ssize_t chunk_rows):
    """Every layer's pre-activations and activations for every row of X.

    Layer l's block of Z (and of A) is its (n_samples, n_out) values,
    row-major, at offset n_samples * (sum of the widths of the layers
    below). Rows go in chunks of chunk_rows (so BLAS's int dimensions stay
    small), the GIL released; values are written as computed, NaN and
    infinities included.
    """
    cdef Net* net = &network.net
    cdef Py_ssize_t n_samples, l, n_values = 0, c, n_chunks
    cdef Input inp
    cdef bint sparse = X.shape[0] == 0
    cdef const Py_ssize_t* first_index = &X_indices[0] if X_indices.shape[0] > 0 else NULL
    if chunk_rows < 1:
        raise ValueError("a pass needs rows per chunk")
    n_samples = X_indptr.shape[0] - 1 if sparse else X.shape[0]
    for l in range(net.n_layers):
        n_values += n_samples * net.layers[l].n_out
    if params.shape[0] != net.n_params or Z.shape[0] != n_values \
            or A.shape[0] != n_values or (not sparse and X.shape[1] != net.n_features):
        raise ValueError("buffers of the wrong size")
    if sparse:
        check_csr(&X_indptr[0] if X_indptr.shape[0] > 0 else NULL, X_indptr.shape[0],
                  first_index, X_indices.shape[0], X_data.shape[0], n_samples,
                  net.n_features)
        if n_samples <= 0:
            return
        set_input(&inp, NULL, &X_data[0] if X_data.shape[0] > 0 else NULL, first_index,
                  &X_indptr[0])
    else:
        set_input(&inp, &X[0, 0], NULL, NULL, NULL)
    n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    with nogil:
        for c in range(n_chunks):
            _forward_layers_chunk(net, &params[0], inp, n_samples, c * chunk_rows,
                                  min(chunk_rows, n_samples - c * chunk_rows), &Z[0], &A[0])
