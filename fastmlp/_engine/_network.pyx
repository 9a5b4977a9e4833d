"""The network as the engine holds it, and the forward and backward passes
over one row part.

A `Network` is built from a `NetworkSpec` (fastmlp/_spec.py), which alone
derives where every parameter group lives in the flat buffer and which
columns of a row part's work buffer hold what; the passes only read those
offsets. Activations, derivatives f'(Z) (for layers whose derivative cannot
be written from their output) and deltas live in one work buffer per row
part, allocated once per fit, so no pass allocates.
"""
from libc.stdlib cimport malloc, free
from libc.string cimport memset

from . import _common
from ._common cimport IDENTITY
from ._blas cimport _gemm, _gemv, NoTrans, Trans
from ._activations cimport bias_activation, bias_activation_derivative, \
    activation_derivative, outer_activation_derivative
from ._activations import DERIVATIVE_FROM_OUTPUT, DERIVATIVE_IN_FORWARD
from ._batch_norm cimport normalize
from ._dropout cimport draw_keep_scale, mask_outputs
from ._sparse cimport csr_rows_dot, csr_rows_T_dot
from ._narrow cimport is_narrow, narrow_product, narrow_gradient

# The codes each kernel knows (activations: DERIVATIVE_FROM_OUTPUT and
# DERIVATIVE_IN_FORWARD); anything else is refused when a network is built,
# so no kernel ever meets an unknown code.
_LOSSES = frozenset(int(code) for code in _common.Loss)
_OUT_ACTIVATIONS = frozenset(int(code) for code in _common.OutActivation)


cdef class Network:
    """The engine's view of a `NetworkSpec`: per-layer offsets and codes.

    Parameters
    ----------
    spec : fastmlp._spec.NetworkSpec
    """

    # __cinit__, not __init__: a Network exists only with its layers
    # (Network.__new__ alone left the kernels a NULL layer array), and a second
    # __init__ cannot lay it out again under buffers sized for the first.
    def __cinit__(self, spec):
        cdef Py_ssize_t l, n_layers = spec.n_layers
        cdef Layer* layer
        codes = [spec.hidden_activation_code(l) for l in range(n_layers - 1)]
        # each layer's derivative is evaluated in the forward pass where the
        # layer keeps it, else written from its output: the kernels for that
        # way must exist
        unknown = [c for c, hidden in zip(codes, spec.hidden)
                   if c not in (DERIVATIVE_IN_FORWARD if hidden.keeps_z
                                else DERIVATIVE_FROM_OUTPUT)]
        if unknown or spec.loss_code not in _LOSSES \
                or spec.out_activation_code not in _OUT_ACTIVATIONS:
            raise ValueError(f"the engine has no kernel for activation codes {unknown}, "
                             f"loss {spec.loss_code} or output {spec.out_activation_code}")
        columns = spec.work_columns(False)
        per_layer = (tuple(spec.groups("coef")), tuple(spec.groups("intercept")),
                     tuple(columns.act_cols), tuple(columns.pre_cols),
                     tuple(columns.delta_cols), tuple(columns.norm_cols),
                     tuple(columns.mask_cols), spec.stat_offsets())
        gammas = {g.layer: g.start for g in spec.groups("gamma")}
        betas = {g.layer: g.start for g in spec.groups("beta")}
        bn_layers = spec.batch_norm_layers
        dropouts = [hidden.dropout for hidden in spec.hidden] + [0.0]
        if not all(0 <= rate < 1 for rate in dropouts) or set(gammas) != set(bn_layers) \
                or set(betas) != set(bn_layers) or (n_layers - 1) in bn_layers:
            raise ValueError("dropout rates must be in [0, 1), and batch norm needs a "
                             "gamma and a beta per normalised hidden layer")
        # indexed below without bounds checks (boundscheck=False): their
        # lengths are checked here, once
        if n_layers < 1 or any(len(values) != n_layers for values in per_layer):
            raise ValueError(f"the network spec's per-layer layouts do not match its "
                             f"{n_layers} weight layers")
        coefs, intercepts, act_cols, pre_cols, delta_cols, norm_cols, mask_cols, stats = \
            per_layer
        self.spec = spec
        self._layers = <Layer*>malloc(n_layers * sizeof(Layer))
        if self._layers == NULL:
            raise MemoryError()
        for l in range(n_layers):
            layer = &self._layers[l]
            layer.n_in, layer.n_out = coefs[l].shape
            layer.coef = coefs[l].start
            layer.intercept = intercepts[l].start
            layer.activation = codes[l] if l < n_layers - 1 else -1
            params = spec.activation_params(l) if l < n_layers - 1 else ()
            layer.act_params[0] = params[0] if len(params) > 0 else 0
            layer.act_params[1] = params[1] if len(params) > 1 else 0
            layer.act_col = act_cols[l]
            layer.pre_col = pre_cols[l]
            layer.delta_col = delta_cols[l]
            layer.bn = bn_layers.index(l) if l in bn_layers else -1
            layer.gamma = gammas.get(l, -1)
            layer.beta = betas.get(l, -1)
            layer.stat = stats[l]
            layer.norm_col = norm_cols[l]
            layer.dropout = dropouts[l]
            layer.mask_col = mask_cols[l]
        self.net.n_layers = n_layers
        self.net.layers = self._layers
        self.net.n_features = spec.n_features
        self.net.n_outputs = spec.n_outputs
        self.net.n_params = spec.n_params
        self.net.n_coefs = spec.n_coefs
        self.net.loss = spec.loss_code
        self.net.out_activation = spec.out_activation_code
        self.net.loss_param = spec.loss_param
        self.net.n_bn = len(bn_layers)
        self.net.n_stats = spec.n_stats
        self.net.bn_momentum = spec.batch_norm_momentum
        self.net.bn_eps = spec.batch_norm_eps
        self.net.dropout = any(rate > 0 for rate in dropouts)

    def __dealloc__(self):
        free(self._layers)

    @property
    def n_params(self):
        """Length of the flat parameter buffer."""
        return self.net.n_params

    @property
    def n_stages(self):
        """Stages of a row part's pass (see _common.pxd): 2 per batch-normalised
        layer, plus one."""
        return 2 * self.net.n_bn + 1

    def work_size(self, Py_ssize_t max_rows, bint gather):
        """Length of a row part's work buffer for up to max_rows rows."""
        return self.part_layout(max_rows, gather).size

    cdef PartLayout part_layout(self, Py_ssize_t max_rows, bint gather):
        """Training: every block of the spec's work columns."""
        cdef PartLayout part
        columns = self.spec.work_columns(gather)
        part.max_rows = max_rows
        part.x = max_rows * columns.x
        part.y = max_rows * columns.y
        part.sw = max_rows * columns.sw
        part.ones = max_rows * columns.ones
        part.act = max_rows * columns.act
        part.pre = max_rows * columns.pre
        part.delta = max_rows * columns.delta
        part.norm = max_rows * columns.norm
        part.mask = max_rows * columns.mask
        part.size = max_rows * columns.total
        return part

    cdef PartLayout inference_layout(self, Py_ssize_t max_rows):
        """Predictions: the activation block alone (no gathering, no deltas)."""
        cdef PartLayout part
        part.max_rows = max_rows
        part.x = part.y = part.sw = part.ones = part.act = part.delta = 0
        part.pre = -1
        part.norm = part.mask = 0
        part.size = max_rows * self.spec.inference_columns
        return part


cdef void fill_ones(floating* work, const PartLayout* part) noexcept nogil:
    """Set the ones vector backward() sums columns with; once per fit."""
    cdef Py_ssize_t r
    for r in range(part.max_rows):
        work[part.ones + r] = 1


cdef void layer_product(const Net* net, const floating* params,
                        Input* inp,                # IN the rows, for layer 0
                        Py_ssize_t n_rows, Py_ssize_t l,
                        const floating* A_in,      # IN A_l (n_rows, n_in), l > 0
                        floating* out) noexcept nogil:  # OUT (n_rows, n_out)
    """out = A_l @ W_l, with A_0 the input rows: dense through BLAS (or the
    narrow loops of a first layer on a few features), sparse through the
    CSR product"""
    cdef const Layer* layer = &net.layers[l]
    cdef const floating* W = params + layer.coef
    if l > 0:
        _gemm(NoTrans, NoTrans, n_rows, layer.n_out, layer.n_in, 1,
              A_in, layer.n_in, W, layer.n_out, 0, out, layer.n_out)
    elif inp.x != NULL and is_narrow(layer.n_in, layer.n_out):
        narrow_product(<floating*>inp.x, W, out, n_rows, layer.n_in, layer.n_out)
    elif inp.x != NULL:
        _gemm(NoTrans, NoTrans, n_rows, layer.n_out, layer.n_in, 1,
              <floating*>inp.x, layer.n_in, W, layer.n_out, 0, out, layer.n_out)
    else:
        csr_rows_dot(<floating*>inp.data, inp.indices, inp.indptr, inp.rows,
                     inp.row_start, n_rows, W, layer.n_out, out)


cdef void forward(const Net* net, const floating* params,
                  Input* inp,                 # IN the row part's rows
                  Py_ssize_t n_rows,
                  floating* work,             # OUT every layer's output
                  const PartLayout* part) noexcept nogil:
    """A_{l+1} = f(A_l @ W_l + b_l) for the hidden layers, and D_{l+1} =
    f'(A_l @ W_l + b_l) for those that keep it (training); the output layer
    is left as A_{L-1} @ W_{L-1}, for the caller's fused output pass (a
    network without batch norm; dropout off)"""
    forward_layers(net, params, inp, n_rows, work, part, 0, net.n_layers, NULL, NULL, 0)


cdef void forward_layers(const Net* net, const floating* params,
                         Input* inp,          # IN the row part's rows
                         Py_ssize_t n_rows,
                         floating* work,      # OUT the layers' outputs
                         const PartLayout* part, Py_ssize_t lo, Py_ssize_t hi,
                         const Batch* batch,  # statistics and dropout's keys, or NULL
                         const Py_ssize_t* ids, Py_ssize_t id_start) noexcept nogil:
    """Weight layers lo..hi-1 forward, as forward() does. When layer lo - 1
    is batch-normalised (a later stage), it is finished first: normalised
    with the minibatch's statistics, scaled, shifted and activated. A
    batch-normalised layer hi - 1 stops at Z_{hi} = A @ W + b, whose
    statistics cross the minibatch. Dropout (batch.train_dropout) masks the
    rows whose indices in the data are ids[r] (NULL: id_start + r)."""
    cdef Py_ssize_t l
    cdef const Layer* layer
    cdef floating* A_out
    if lo > 0 and net.layers[lo - 1].bn >= 0:
        layer = &net.layers[lo - 1]
        A_out = layer_activations(net, work, part, lo - 1)
        normalize(A_out, layer_norm(net, work, part, lo - 1), params + layer.gamma, n_rows,
                  layer.n_out, batch.mean + layer.stat, batch.invstd + layer.stat)
        _activate(net, work, part, lo - 1, n_rows, params + layer.beta)
        _dropout(net, work, part, lo - 1, n_rows, batch, ids, id_start)
    for l in range(lo, hi):
        layer = &net.layers[l]
        A_out = layer_activations(net, work, part, l)
        layer_product(net, params, inp, n_rows, l,
                      layer_activations(net, work, part, l - 1) if l > 0 else NULL, A_out)
        if l + 1 == net.n_layers:
            break
        if layer.bn >= 0:
            bias_activation(A_out, params + layer.intercept, n_rows, layer.n_out, IDENTITY,
                            layer.act_params)
            break
        _activate(net, work, part, l, n_rows, params + layer.intercept)
        _dropout(net, work, part, l, n_rows, batch, ids, id_start)


cdef void _activate(const Net* net, floating* work, const PartLayout* part, Py_ssize_t l,
                    Py_ssize_t n_rows, const floating* bias) noexcept nogil:
    """A = f(A + bias) of layer l, and D = f' where the layer keeps it"""
    cdef const Layer* layer = &net.layers[l]
    cdef floating* A_out = layer_activations(net, work, part, l)
    cdef floating* D_out = layer_derivatives(net, work, part, l)
    if D_out != NULL:
        bias_activation_derivative(A_out, D_out, bias, n_rows, layer.n_out,
                                   layer.activation, layer.act_params)
    else:
        bias_activation(A_out, bias, n_rows, layer.n_out, layer.activation,
                        layer.act_params)


cdef void _dropout(const Net* net, floating* work, const PartLayout* part, Py_ssize_t l,
                   Py_ssize_t n_rows, const Batch* batch, const Py_ssize_t* ids,
                   Py_ssize_t id_start) noexcept nogil:
    """Layer l's dropout, in training: draw the keep scales S (0 or
    1 / (1 - rate)) into the mask block, then keep M = S f'(Z) there for
    backward (f' written from the output before it is masked, or the one the
    layer keeps) and A *= S"""
    cdef const Layer* layer = &net.layers[l]
    cdef floating* A = layer_activations(net, work, part, l)
    cdef floating* D = layer_derivatives(net, work, part, l)
    cdef floating* S
    cdef floating* M
    cdef Py_ssize_t i, n = n_rows * layer.n_out
    if layer.dropout <= 0 or batch == NULL or not batch.train_dropout:
        return
    M = layer_mask(net, work, part, l)
    draw_keep_scale(M, n_rows, layer.n_out, ids, id_start, l, layer.dropout, batch.key0,
                    batch.key1, batch.step)
    if D == NULL and mask_outputs(A, M, n, layer.activation):
        return
    # other activations: S copied to the delta block (free until backward)
    S = layer_delta(net, work, part, l)
    for i in range(n):
        S[i] = M[i]
    activation_derivative(M, A, D, n_rows, layer.n_out, layer.activation, layer.act_params)
    for i in range(n):
        A[i] = A[i] * S[i]


cdef void backward(const Net* net, const floating* params,
                   floating* grads,           # OUT (or += when accumulate)
                   Input* inp, Py_ssize_t n_rows,
                   floating* work,            # IN activations and the output
                                              # delta, OUT the hidden deltas
                   const PartLayout* part, bint accumulate) noexcept nogil:
    """grad W_l (+)= A_l.T @ delta_{l+1}, grad b_l (+)= column sums of
    delta_{l+1}, delta_l = (delta_{l+1} @ W_l.T) * f'(z_l), from the output
    layer down, f' written from A_l or, where the layer keeps it, D_l;
    unscaled (see finalize_gradient). Needs fill_ones(work). (A network
    without batch norm.)"""
    backward_layers(net, params, grads, inp, n_rows, work, part, net.n_layers - 1,
                    accumulate)


cdef Py_ssize_t backward_layers(const Net* net, const floating* params,
                                floating* grads,     # OUT (or += when accumulate)
                                Input* inp, Py_ssize_t n_rows,
                                floating* work,      # IN activations and layer top's
                                                     # delta, OUT the deltas below
                                const PartLayout* part, Py_ssize_t top,
                                bint accumulate) noexcept nogil:
    """backward() from weight layer `top` down. It stops after the delta of a
    batch-normalised layer below (then dLoss/dY, Y = gamma X^ + beta, whose
    sums cross the minibatch), and returns that layer; -1 once it has
    reached the input. A batch-normalised layer's intercept gets a zero
    gradient: the normalisation subtracts any shift of Z."""
    cdef Py_ssize_t l, i, n
    cdef const Layer* layer
    cdef const Layer* below
    cdef floating beta = 1 if accumulate else 0
    cdef floating* D
    cdef floating* D_below
    cdef floating* M
    cdef floating* dW
    for l in range(top, -1, -1):
        layer = &net.layers[l]
        D = layer_delta(net, work, part, l)
        dW = grads + layer.coef
        if l > 0:
            _gemm(Trans, NoTrans, layer.n_in, layer.n_out, n_rows, 1,
                  layer_activations(net, work, part, l - 1), layer.n_in, D, layer.n_out,
                  beta, dW, layer.n_out)
        elif inp.x != NULL and is_narrow(layer.n_in, layer.n_out):
            narrow_gradient(<floating*>inp.x, D, dW, n_rows, layer.n_in, layer.n_out,
                            accumulate)
        elif inp.x != NULL:
            _gemm(Trans, NoTrans, layer.n_in, layer.n_out, n_rows, 1,
                  <floating*>inp.x, layer.n_in, D, layer.n_out, beta, dW, layer.n_out)
        else:
            if not accumulate:
                memset(dW, 0, layer.n_in * layer.n_out * sizeof(floating))
            csr_rows_T_dot(<floating*>inp.data, inp.indices, inp.indptr, inp.rows,
                           inp.row_start, n_rows, D, layer.n_out, dW)

        if layer.bn >= 0:
            if not accumulate:
                memset(grads + layer.intercept, 0, layer.n_out * sizeof(floating))
        else:
            # grad b_l (+)= delta_{l+1}.T @ ones: the column sums, vectorised by BLAS
            _gemv(Trans, n_rows, layer.n_out, 1, D, layer.n_out, work + part.ones, 1,
                  beta, grads + layer.intercept, 1)

        if l == 0:
            break
        below = &net.layers[l - 1]
        D_below = layer_delta(net, work, part, l - 1)
        if below.mask_col >= 0:
            # dropout below: its mask times f', kept by the forward pass
            _gemm(NoTrans, Trans, n_rows, layer.n_in, layer.n_out, 1,
                  D, layer.n_out, params + layer.coef, layer.n_out,
                  0, D_below, layer.n_in)
            M = layer_mask(net, work, part, l - 1)
            n = n_rows * layer.n_in
            for i in range(n):
                D_below[i] = D_below[i] * M[i]
        elif layer.n_out == 1:
            # one unit above (a binary or single-target output): W_l is a
            # column, delta_{l+1} @ W_l.T an outer product, fused with f'
            outer_activation_derivative(D_below, D, params + layer.coef,
                                        layer_activations(net, work, part, l - 1),
                                        layer_derivatives(net, work, part, l - 1),
                                        n_rows, layer.n_in, below.activation,
                                        below.act_params)
        else:
            _gemm(NoTrans, Trans, n_rows, layer.n_in, layer.n_out, 1,
                  D, layer.n_out, params + layer.coef, layer.n_out,
                  0, D_below, layer.n_in)
            activation_derivative(D_below, layer_activations(net, work, part, l - 1),
                                  layer_derivatives(net, work, part, l - 1),
                                  n_rows, layer.n_in, below.activation,
                                  below.act_params)
        if below.bn >= 0:
            return l - 1
    return -1


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
