"""One row part's forward, loss and backward, shared by the stochastic
epochs and the full-batch loss; and the checks of what they are handed:
every array against the network, before the engine reads any of them.

A part reads its rows either by index (a shuffled minibatch's rows: targets
and sample weights are copied into the part's work buffer, and dense rows
too when gathering) or as a contiguous range read in place (an lbfgs chunk,
an unshuffled minibatch of dense X). Class indices (the multiclass losses'
targets, integers so that float32 never rounds them) are read in place
either way.
"""
import numpy as np
from libc.string cimport memcpy, memset

from ._common cimport LOG_LOSS, MULTICLASS_HINGE, MULTICLASS_SQUARED_HINGE, all_finite
from ._network cimport forward, forward_layers, backward_layers, layer_activations, layer_delta, \
    layer_norm, batch_norm_layer, set_input
from ._losses cimport output_loss_delta
from ._batch_norm cimport part_moments, part_delta_sums, finish_delta, combine_moments, \
    combine_delta_sums, update_running
from ._sparse cimport check_csr


cdef double part_loss_gradient(
        const Net* net, const floating* params,
        floating* grads,                # OUT (or += when accumulate) raw gradient sums
        floating* work, const PartLayout* part,  # this part's work buffer
        const Data* data,
        const Py_ssize_t* rows,         # IN the part's rows, or NULL: start + r
        Py_ssize_t start, Py_ssize_t n_rows, floating delta_scale, bint accumulate,
        double* sw_sum,                 # OUT the rows' sample-weight sum
        Py_ssize_t stage,               # of the pass (_common.pxd), 0 .. 2 n_bn
        const Batch* batch,             # the minibatch's statistics, dropout's keys
        double* part_stats) noexcept nogil:  # OUT this part's sums (stride 4 n_stats)
    """One stage of the part's pass: forward, loss and output delta,
    backward over its rows into grads, cut where batch norm needs the whole
    minibatch's statistics (a network without batch norm has one stage).
    Returns sum_i sw_i loss_i over the rows at the loss's stage (n_bn), else 0.

    Stage k < n_bn runs forward to the k-th batch-normalised layer's Z and
    its moments; stage n_bn on to the loss and back to the topmost
    batch-normalised layer's dLoss/dY and its sums; stage n_bn + i finishes
    that layer's delta and goes on down to the next one's (or the input)."""
    cdef Py_ssize_t r, row, l, lo, hi, top, stop
    cdef Py_ssize_t n_features = net.n_features
    cdef Py_ssize_t n_targets = data.n_targets
    cdef Py_ssize_t n_bn = net.n_bn, n_stats = net.n_stats
    cdef const floating* X = <const floating*>data.x
    cdef const floating* Y = <const floating*>data.y
    cdef const floating* SW = <const floating*>data.sw
    cdef floating* xbuf = work + part.x
    cdef floating* ybuf = work + part.y
    cdef floating* swbuf = work + part.sw
    cdef const floating* y
    cdef const floating* sw
    cdef const Py_ssize_t* classes = data.classes
    cdef const Layer* layer
    cdef Input inp = data.csr
    cdef double loss = 0
    if rows != NULL:
        if stage == 0:
            for r in range(n_rows):
                row = rows[r]
                if Y != NULL:
                    memcpy(ybuf + r * n_targets, Y + row * n_targets,
                           n_targets * sizeof(floating))
                if SW != NULL:
                    swbuf[r] = SW[row]
                if X != NULL and data.gather:
                    memcpy(xbuf + r * n_features, X + row * n_features,
                           n_features * sizeof(floating))
        if X != NULL:
            # without gathering, a minibatch is a contiguous block of X
            if data.gather:
                inp.x = <void*>xbuf
            else:
                inp.x = <void*>(X + rows[0] * n_features)
        else:
            inp.rows = rows
        y = ybuf
        sw = swbuf if SW != NULL else NULL
    else:
        if X != NULL:
            inp.x = <void*>(X + start * n_features)
        else:
            inp.row_start = start
        y = Y + start * n_targets if Y != NULL else NULL
        sw = SW + start if SW != NULL else NULL
        if classes != NULL:
            classes = classes + start
    if stage <= n_bn:
        lo = 0 if stage == 0 else batch_norm_layer(net, stage - 1) + 1
        hi = batch_norm_layer(net, stage) + 1 if stage < n_bn else net.n_layers
        forward_layers(net, params, &inp, n_rows, work, part, lo, hi, batch, rows, start)
        if stage < n_bn:
            layer = &net.layers[hi - 1]
            part_moments(layer_activations(net, work, part, hi - 1), n_rows, layer.n_out,
                         part_stats + layer.stat, part_stats + n_stats + layer.stat)
            return 0
        if sw != NULL:
            sw_sum[0] = 0
            for r in range(n_rows):
                sw_sum[0] += sw[r]
        else:
            sw_sum[0] = n_rows
        loss = output_loss_delta(
            layer_activations(net, work, part, net.n_layers - 1),
            params + net.layers[net.n_layers - 1].intercept, y, classes, rows, sw, n_rows,
            net.n_outputs, net.loss, net.loss_param, delta_scale,
            layer_delta(net, work, part, net.n_layers - 1))
        top = net.n_layers - 1
    else:
        top = batch_norm_layer(net, 2 * n_bn - stage)
        layer = &net.layers[top]
        finish_delta(layer_delta(net, work, part, top), layer_norm(net, work, part, top),
                     params + layer.gamma, n_rows, layer.n_out, batch.invstd + layer.stat,
                     batch.sum_g + layer.stat, batch.sum_gx + layer.stat, batch.n_rows)
    stop = backward_layers(net, params, grads, &inp, n_rows, work, part, top, accumulate)
    if stop >= 0:
        _delta_sums(net, grads, work, part, stop, n_rows, accumulate, part_stats)
    return loss


cdef void _delta_sums(const Net* net,
                      floating* grads,          # OUT (or +=) the layer's gamma, beta
                      floating* work, const PartLayout* part, Py_ssize_t l,
                      Py_ssize_t n_rows, bint accumulate,
                      double* part_stats) noexcept nogil:  # OUT the sums
    """The part's sums of batch-normalised layer l's G = dLoss/dY and G X^:
    for the minibatch's, and as beta's and gamma's gradients"""
    cdef const Layer* layer = &net.layers[l]
    cdef Py_ssize_t j, n_stats = net.n_stats
    cdef double* sum_g = part_stats + 2 * n_stats + layer.stat
    cdef double* sum_gx = part_stats + 3 * n_stats + layer.stat
    part_delta_sums(layer_delta(net, work, part, l), layer_norm(net, work, part, l),
                    n_rows, layer.n_out, sum_g, sum_gx)
    for j in range(layer.n_out):
        if accumulate:
            grads[layer.gamma + j] += <floating>sum_gx[j]
            grads[layer.beta + j] += <floating>sum_g[j]
        else:
            grads[layer.gamma + j] = <floating>sum_gx[j]
            grads[layer.beta + j] = <floating>sum_g[j]


cdef void empty_part_stats(const Net* net, double* part_stats) noexcept nogil:
    """A part without rows: zero sums"""
    memset(part_stats, 0, 4 * net.n_stats * sizeof(double))


cdef bint close_stage(const Net* net, Batch* batch,
                      const double* part_stats,  # IN n_parts parts' sums, back to back
                      Py_ssize_t n_parts, Py_ssize_t stage,
                      double* running,           # IN/OUT running means, variances; or NULL
                      double momentum) noexcept nogil:
    """After stage `stage` (< 2 n_bn) of every part: the minibatch's
    statistics of the batch-normalised layer it stopped at, from the parts'
    in part order (and the running statistics updated), or its sums of G
    and G X^. False when they are not finite (values too large for the
    model: the fit stops there, as on a non-finite parameter)."""
    cdef Py_ssize_t stride = 4 * net.n_stats, n_bn = net.n_bn
    cdef const Layer* layer
    cdef bint finite
    if stage < n_bn:
        layer = &net.layers[batch_norm_layer(net, stage)]
        combine_moments(layer, part_stats, stride, net.n_stats, n_parts, batch.n_rows,
                        net.bn_eps, batch)
        finite = all_finite(batch.mean + layer.stat, layer.n_out) \
            and all_finite(batch.var + layer.stat, layer.n_out)
        if running != NULL and finite:
            update_running(layer, batch, net.n_stats, momentum, running)
        return finite
    layer = &net.layers[batch_norm_layer(net, 2 * n_bn - 1 - stage)]
    combine_delta_sums(layer, part_stats, stride, net.n_stats, n_parts, batch)
    return all_finite(batch.sum_g + layer.stat, layer.n_out) \
        and all_finite(batch.sum_gx + layer.stat, layer.n_out)


cdef inline const Py_ssize_t* _indices_or_null(const Py_ssize_t[::1] a) noexcept:
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline bint _takes_class_indices(const Net* net) noexcept:
    """The multiclass losses: softmax log-loss and the multiclass hinges"""
    return net.loss in (LOG_LOSS, MULTICLASS_HINGE, MULTICLASS_SQUARED_HINGE)


cdef int _check_class_indices(const Net* net, const Py_ssize_t[:, ::1] Y,
                              Data* data) except -1:   # OUT classes
    """Check a multiclass loss's class indices (one intp column) and point
    data at them: the engine indexes the output layer with them."""
    cdef Py_ssize_t i, n_rows = Y.shape[0], n_outputs = net.n_outputs
    cdef bint in_range = True
    if not _takes_class_indices(net) or Y.shape[1] != 1:
        raise ValueError("class indices are one column, of the multiclass losses only")
    # one unsigned comparison tests both bounds (negatives wrap high)
    for i in range(n_rows):
        in_range &= <size_t>Y[i, 0] < <size_t>n_outputs
    if not in_range:
        for i in range(n_rows):
            if not 0 <= Y[i, 0] < n_outputs:
                raise ValueError(f"class index {Y[i, 0]} out of range for "
                                 f"{n_outputs} classes")
    data.y, data.n_targets, data.classes = NULL, 0, &Y[0, 0]
    return 0


cdef Py_ssize_t check_data(const Net* net, const PartLayout* part, Py_ssize_t n_parts,
                    const floating[::1] params, const floating[::1] grads,
                    const floating[::1] work, const floating[:, ::1] X,
                    const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                           const Py_ssize_t[::1] X_indptr, object Y,
                           const floating[::1] sample_weight, bint gather,
                           Data* data) except -1:   # OUT
    """Check every array against the network, n_parts row parts of `part`'s
    layout and Y's rows: the buffers' sizes, X (dense, or the CSR arrays
    when X has no rows: check_csr), the targets and the sample weights; and
    point `data` at them. Y has a column per output in the model's dtype,
    or, for the softmax loss, may be one intp column of class indices; the
    multiclass hinge losses take class indices only.
    Returns Y's number of rows. O(nnz + n_rows): once per fit, or per call
    of a full pass."""
    cdef const floating[:, ::1] Y_values
    cdef const Py_ssize_t[:, ::1] Y_classes
    cdef bint classes = isinstance(Y, np.ndarray) and Y.dtype == np.intp
    cdef Py_ssize_t n_rows
    # rows from the typed view, never from Y.shape: an object's shape
    # attribute may say anything
    if classes:
        Y_classes = Y
        n_rows = Y_classes.shape[0]
    else:
        Y_values = Y
        n_rows = Y_values.shape[0]
    if n_rows < 1:
        raise ValueError("no rows to train on")
    if n_parts < 1 or work.shape[0] < n_parts * part.size \
            or params.shape[0] != net.n_params \
            or grads.shape[0] < n_parts * net.n_params:
        raise ValueError("work or parameter buffer of the wrong size")
    if sample_weight.shape[0] not in (0, n_rows) or (
            X.shape[0] > 0 and X.shape[0] != n_rows):
        raise ValueError("X, Y and sample_weight have different numbers of rows")
    if X.shape[0] > 0 and X.shape[1] != net.n_features:
        raise ValueError(f"X has {X.shape[1]} columns for {net.n_features} inputs")
    if X.shape[0] == 0:
        check_csr(_indices_or_null(X_indptr), X_indptr.shape[0],
                  _indices_or_null(X_indices), X_indices.shape[0], X_data.shape[0],
                  n_rows, net.n_features)
    if classes:
        _check_class_indices(net, Y_classes, data)
    elif net.loss == MULTICLASS_HINGE or net.loss == MULTICLASS_SQUARED_HINGE:
        raise ValueError("the multiclass hinge losses take class indices (one intp "
                         "column), not a column per output")
    else:
        if Y_values.shape[1] != net.n_outputs:
            raise ValueError(f"targets have {Y_values.shape[1]} columns for "
                             f"{net.n_outputs} outputs")
        data.y, data.n_targets, data.classes = &Y_values[0, 0], net.n_outputs, NULL
    data.sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    data.gather = gather and X.shape[0] > 0
    if X.shape[0] > 0:
        data.x = &X[0, 0]
        set_input(&data.csr, NULL, NULL, NULL, NULL)
    else:
        data.x = NULL
        set_input(&data.csr, NULL, &X_data[0] if X_data.shape[0] > 0 else NULL,
                  _indices_or_null(X_indices), &X_indptr[0])
    return n_rows


cdef double part_loss(
        const Net* net, const floating* params,
        floating* work, const PartLayout* part,  # this part's work buffer
        const Data* data, Py_ssize_t start, Py_ssize_t n_rows) noexcept nogil:
    """Forward and loss over the rows start:start+n_rows, read in place (a
    chunk of validation rows): no backward pass. Returns sum_i sw_i loss_i
    over them. The output kernel writes the output delta too, unused."""
    cdef const floating* Y = <const floating*>data.y
    cdef const floating* SW = <const floating*>data.sw
    cdef const Py_ssize_t* classes = data.classes
    cdef Input inp = data.csr
    if data.x != NULL:
        inp.x = <void*>(<const floating*>data.x + start * net.n_features)
    else:
        inp.row_start = start
    forward(net, params, &inp, n_rows, work, part)
    return output_loss_delta(
        layer_activations(net, work, part, net.n_layers - 1),
        params + net.layers[net.n_layers - 1].intercept,
        Y + start * data.n_targets if Y != NULL else NULL,
        classes + start if classes != NULL else NULL, NULL,
        SW + start if SW != NULL else NULL, n_rows,
        net.n_outputs, net.loss, net.loss_param, <floating>1,
        layer_delta(net, work, part, net.n_layers - 1))
