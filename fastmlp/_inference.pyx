"""Inference: the forward pass over row chunks, GIL released, so memory stays
bounded by the chunk and concurrent predictions share nothing but the
parameters."""
import numpy as np
from cython cimport floating
from libc.string cimport memcpy

from ._network cimport Network, Net, Work, Input, forward, layer_activations
from ._losses cimport output_activation


def predict(Network network,
            const floating[::1] params,    # IN flat parameters
            const floating[:, ::1] X,            # IN dense X, or (0, 0) when sparse
            const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
            const Py_ssize_t[::1] X_indptr,
            floating[:, ::1] out,          # OUT (n_samples, n_outputs)
            Py_ssize_t chunk_rows):
    """out = network output for every row of X (output activation applied)."""
    cdef Net* net = &network.net
    cdef Py_ssize_t n_samples = out.shape[0]
    cdef Py_ssize_t n_outputs = net.units[net.n_layers]
    cdef Py_ssize_t start, n_rows
    cdef bint dense = X.shape[0] > 0
    if chunk_rows > n_samples:
        chunk_rows = max(n_samples, 1)
    cdef Work w = network.work_layout(chunk_rows, False)
    cdef floating[::1] work = np.empty(w.size, dtype=np.float32 if floating is float else np.float64)
    cdef floating* wk = &work[0]
    cdef Input inp
    cdef floating* A_out

    if params.shape[0] != net.n_params:
        raise ValueError("parameter buffer of the wrong size")
    inp.x = NULL
    inp.rows = NULL
    inp.row_start = 0
    if not dense:
        inp.data = &X_data[0]
        inp.indices = &X_indices[0]
        inp.indptr = &X_indptr[0]

    with nogil:
        start = 0
        while start < n_samples:
            n_rows = chunk_rows if n_samples - start >= chunk_rows else n_samples - start
            if dense:
                inp.x = &X[start, 0]
            else:
                inp.row_start = start
            forward(net, &params[0], &inp, n_rows, wk, &w)
            A_out = layer_activations(net, wk, &w, net.n_layers)
            output_activation(A_out, &params[0] + net.intercept_start[net.n_layers - 1],
                              n_rows, n_outputs, net.output)
            memcpy(&out[start, 0], A_out, n_rows * n_outputs * sizeof(floating))
            start += n_rows
