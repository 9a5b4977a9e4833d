"""Forward and backward passes over one chunk of rows.

Parameters and gradients each live in one flat buffer laid out as
scikit-learn packs them for lbfgs: all coefficient matrices (row-major), then
all intercept vectors. Activations and deltas live in one work buffer per
fit, laid out by `Work`, so no pass allocates.

Layer l maps A_l (n_rows, units[l]) to A_{l+1} = f(A_l @ W_l + b_l); A_0 is
the input. delta_{l+1} = dLoss/dZ_{l+1}; the input layer gets no delta.
"""
import numpy as np
from libc.string cimport memset

from ._blas cimport _gemm, _gemv, NoTrans, Trans
from ._activations cimport bias_activation, activation_derivative, \
    outer_activation_derivative
from ._sparse cimport csr_rows_dot, csr_rows_T_dot
from ._narrow cimport is_narrow, narrow_product, narrow_gradient


cdef class Network:
    """Shape of a network and where its layers live in the flat buffers.

    Parameters
    ----------
    layer_units : sequence of int
        Widths from the input to the output layer.
    activation : int
        Hidden activation, an `_activations.Activation`.
    output : int
        Output layer and loss, a `_losses.Output`.
    """

    def __init__(self, layer_units, int activation, int output):
        units = np.asarray(layer_units, dtype=np.intp)
        if units.ndim != 1 or units.shape[0] < 2 or (units < 1).any():
            raise ValueError(f"invalid layer widths {list(layer_units)}")
        n_layers = units.shape[0] - 1
        coef_sizes = units[:n_layers] * units[1:]
        coef_start = np.concatenate([[0], np.cumsum(coef_sizes)]).astype(np.intp)
        n_coefs = int(coef_start[n_layers])
        intercept_start = (n_coefs + np.concatenate([[0], np.cumsum(units[1:])])).astype(np.intp)
        unit_start = np.concatenate([[0, 0], np.cumsum(units[1:])]).astype(np.intp)
        self._arrays = (units, coef_start, intercept_start, unit_start)

        cdef Py_ssize_t[::1] u = units, cs = coef_start, ist = intercept_start, us = unit_start
        self.net.n_layers = n_layers
        self.net.units = &u[0]
        self.net.coef_start = &cs[0]
        self.net.intercept_start = &ist[0]
        self.net.unit_start = &us[0]
        self.net.n_coefs = n_coefs
        self.net.n_params = int(intercept_start[n_layers])
        self.net.n_hidden_units = int(units[1:].sum())
        self.net.activation = activation
        self.net.output = output

    @property
    def n_params(self):
        """Length of the flat parameter buffer."""
        return self.net.n_params

    @property
    def values_per_row(self):
        """Work-buffer values one row of a chunk needs (input, activations, deltas)."""
        return self.net.units[0] + 2 * self.net.n_hidden_units

    @property
    def n_coefs(self):
        """Number of coefficients (they precede the intercepts)."""
        return self.net.n_coefs

    @property
    def layer_units(self):
        """Layer widths, input first."""
        return [int(u) for u in self._arrays[0]]

    def coef_slices(self):
        """(start, stop, shape) of each coefficient matrix in the flat buffer."""
        return [(int(self.net.coef_start[l]), int(self.net.coef_start[l + 1]),
                 (int(self.net.units[l]), int(self.net.units[l + 1])))
                for l in range(self.net.n_layers)]

    def intercept_slices(self):
        """(start, stop) of each intercept vector in the flat buffer."""
        return [(int(self.net.intercept_start[l]), int(self.net.intercept_start[l + 1]))
                for l in range(self.net.n_layers)]

    def work_size(self, Py_ssize_t max_rows, bint gather):
        """Length of the work buffer for chunks of up to max_rows rows."""
        return self.work_layout(max_rows, gather).size

    cdef Work inference_layout(self, Py_ssize_t max_rows):
        """Activations only: inference gathers nothing and has no deltas."""
        cdef Work w
        w.max_rows = max_rows
        w.x = w.y = w.sw = w.ones = w.act = 0
        w.delta = w.size = max_rows * self.net.n_hidden_units
        return w

    cdef Work work_layout(self, Py_ssize_t max_rows, bint gather):
        cdef Work w
        cdef Py_ssize_t n_outputs = self.net.units[self.net.n_layers]
        w.max_rows = max_rows
        w.x = 0
        w.y = w.x + (max_rows * self.net.units[0] if gather else 0)
        w.sw = w.y + max_rows * n_outputs
        w.ones = w.sw + max_rows
        w.act = w.ones + max_rows
        w.delta = w.act + max_rows * self.net.n_hidden_units
        w.size = w.delta + max_rows * self.net.n_hidden_units
        return w


cdef void fill_ones(floating* work, const Work* w) noexcept nogil:
    """Set the ones vector backward() sums columns with; once per call."""
    cdef Py_ssize_t r
    for r in range(w.max_rows):
        work[w.ones + r] = 1


cdef floating* layer_activations(const Net* net, floating* work, const Work* w,
                                 Py_ssize_t layer) noexcept nogil:
    """A_layer (layer >= 1) in the work buffer, rows of units[layer]"""
    return work + w.act + w.max_rows * net.unit_start[layer]


cdef floating* layer_delta(const Net* net, floating* work, const Work* w,
                           Py_ssize_t layer) noexcept nogil:
    """dLoss/dZ_layer (layer >= 1) in the work buffer, rows of units[layer]"""
    return work + w.delta + w.max_rows * net.unit_start[layer]


cdef void forward(const Net* net, const floating* params,
                  Input* inp,                 # IN the chunk's rows
                  Py_ssize_t n_rows,
                  floating* work,             # OUT A_1..A_L
                  const Work* w) noexcept nogil:
    """A_{l+1} = f(A_l @ W_l + b_l) for the hidden layers; the output layer is
    left as A_{L-1} @ W_{L-1}, for the caller's fused output pass"""
    cdef Py_ssize_t l
    cdef const Py_ssize_t* units = net.units
    cdef floating* A_out
    cdef const floating* W
    for l in range(net.n_layers):
        A_out = layer_activations(net, work, w, l + 1)
        W = params + net.coef_start[l]
        if l > 0:
            _gemm(NoTrans, NoTrans, n_rows, units[l + 1], units[l], 1,
                  layer_activations(net, work, w, l), units[l], W, units[l + 1],
                  0, A_out, units[l + 1])
        elif inp.x != NULL and is_narrow(units[0], units[1]):
            narrow_product(<floating*>inp.x, W, A_out, n_rows, units[0], units[1])
        elif inp.x != NULL:
            _gemm(NoTrans, NoTrans, n_rows, units[1], units[0], 1,
                  <floating*>inp.x, units[0], W, units[1], 0, A_out, units[1])
        else:
            csr_rows_dot(<floating*>inp.data, inp.indices, inp.indptr, inp.rows,
                         inp.row_start, n_rows, W, units[1], A_out)
        if l + 1 < net.n_layers:
            bias_activation(A_out, params + net.intercept_start[l], n_rows,
                            units[l + 1], net.activation)


cdef void backward(const Net* net, const floating* params,
                   floating* grads,           # OUT (or += when accumulate)
                   Input* inp, Py_ssize_t n_rows,
                   floating* work,            # IN A_l and delta_L, OUT delta_l
                   const Work* w, bint accumulate) noexcept nogil:
    """grad W_l (+)= A_l.T @ delta_{l+1}, grad b_l (+)= column sums of
    delta_{l+1}, delta_l = (delta_{l+1} @ W_l.T) * f'(A_l), from the output
    layer down; unscaled (see finalize_gradient). Needs fill_ones(work)."""
    cdef Py_ssize_t l
    cdef const Py_ssize_t* units = net.units
    cdef floating beta = 1 if accumulate else 0
    cdef floating* D
    cdef floating* dW
    for l in range(net.n_layers - 1, -1, -1):
        D = layer_delta(net, work, w, l + 1)
        dW = grads + net.coef_start[l]
        if l > 0:
            _gemm(Trans, NoTrans, units[l], units[l + 1], n_rows, 1,
                  layer_activations(net, work, w, l), units[l], D, units[l + 1],
                  beta, dW, units[l + 1])
        elif inp.x != NULL and is_narrow(units[0], units[1]):
            narrow_gradient(<floating*>inp.x, D, dW, n_rows, units[0], units[1],
                            accumulate)
        elif inp.x != NULL:
            _gemm(Trans, NoTrans, units[0], units[1], n_rows, 1,
                  <floating*>inp.x, units[0], D, units[1], beta, dW, units[1])
        else:
            if not accumulate:
                memset(dW, 0, units[0] * units[1] * sizeof(floating))
            csr_rows_T_dot(<floating*>inp.data, inp.indices, inp.indptr, inp.rows,
                           inp.row_start, n_rows, D, units[1], dW)

        # grad b_l (+)= delta_{l+1}.T @ ones: the column sums, vectorised by BLAS
        _gemv(Trans, n_rows, units[l + 1], 1, D, units[l + 1], work + w.ones, 1,
              beta, grads + net.intercept_start[l], 1)

        if l > 0 and units[l + 1] == 1:
            # one unit above (a binary or single-target output): W_l is a
            # column, delta_{l+1} @ W_l.T an outer product, fused with f'
            outer_activation_derivative(layer_delta(net, work, w, l), D,
                                        params + net.coef_start[l],
                                        layer_activations(net, work, w, l),
                                        n_rows, units[l], net.activation)
        elif l > 0:
            _gemm(NoTrans, Trans, n_rows, units[l], units[l + 1], 1,
                  D, units[l + 1], params + net.coef_start[l], units[l + 1],
                  0, layer_delta(net, work, w, l), units[l])
            activation_derivative(layer_delta(net, work, w, l),
                                  layer_activations(net, work, w, l),
                                  n_rows, units[l], net.activation)


cdef double finalize_gradient(const Net* net, const floating* params,
                              floating* grads,   # IN/OUT
                              double alpha, double sw_sum) noexcept nogil:
    """grad W = (grad W + alpha W) / sw_sum; grad b /= sw_sum; returns
    sum(W**2) for the L2 term of the loss. One pass over the flat buffers."""
    cdef Py_ssize_t i
    cdef floating p, a = alpha, s = sw_sum
    cdef double sumsq = 0
    for i in range(net.n_coefs):
        p = params[i]
        sumsq += p * p
        grads[i] = (grads[i] + a * p) / s
    for i in range(net.n_coefs, net.n_params):
        grads[i] = grads[i] / s
    return sumsq
