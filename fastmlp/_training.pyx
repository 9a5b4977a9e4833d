"""Training passes: one stochastic epoch, and the full-data loss and gradient
for lbfgs. Each is one call from Python with the GIL released throughout.

Sparse X is passed as its CSR arrays with an empty dense X (shape (0, 0));
an empty sample_weight means unit weights.
"""
from cpython.exc cimport PyErr_CheckSignals
from cython cimport floating
from libc.string cimport memcpy

from ._interrupt cimport check_due, monotonic_seconds

from ._network cimport Network, Net, Work, Input, forward, backward, \
    finalize_gradient, layer_activations, layer_delta, fill_ones, set_input, all_finite
from ._losses cimport output_loss_delta, LOG_LOSS
from ._optimizers cimport adam_step, sgd_step, adam_learning_rate, ADAM
from ._blas cimport _dot
from libc.math cimport isfinite


cdef Py_ssize_t _check_targets(const Net* net, const floating[:, ::1] Y) except -1:
    """Width of Y's rows: one column per output, or, for the log-loss, one
    column of class indices (checked, since the engine indexes with them)."""
    cdef Py_ssize_t i, n_outputs = net.units[net.n_layers]
    cdef floating c
    if Y.shape[1] == n_outputs:
        return n_outputs
    if Y.shape[1] != 1 or net.output != LOG_LOSS:
        raise ValueError(f"targets have {Y.shape[1]} columns for {n_outputs} outputs")
    for i in range(Y.shape[0]):
        c = Y[i, 0]
        if not (0 <= c < n_outputs) or c != <Py_ssize_t>c:
            raise ValueError(f"class index {c} out of range for {n_outputs} classes")
    return 1


def train_epoch(Network network,
                floating[::1] params,          # IN/OUT flat parameters
                floating[::1] grads,           # work: flat gradients
                floating[::1] moment_1,        # IN/OUT SGD velocity or Adam m
                floating[::1] moment_2,        # IN/OUT Adam v (unused by SGD)
                floating[::1] work,            # work: network.work_size(batch_size, gather)
                const floating[:, ::1] X,            # IN dense X, or (0, 0) when sparse
                const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                const Py_ssize_t[::1] X_indptr,
                const floating[:, ::1] Y,      # IN (n_samples, n_outputs)
                const floating[::1] sample_weight,
                const Py_ssize_t[::1] order,   # IN rows of this epoch, in order
                Py_ssize_t batch_size, bint gather,
                int solver, double learning_rate, double momentum, bint nesterov,
                double beta_1, double beta_2, double epsilon,
                double alpha, double delta_scale, Py_ssize_t t):
    """Run every minibatch of one epoch: gather, forward, loss, backward, step.

    Returns
    -------
    loss_sum : float
        Sum over minibatches of batch loss times batch size.
    t : int
        Adam's time step after the epoch.
    n_batches : int
        Minibatches completed; fewer than in the epoch when a parameter
        became non-finite, or a signal handler raised, which stops the epoch
        at that minibatch.
    finite : bool
        False when the epoch stopped on a non-finite parameter, or ended
        with a non-finite Adam moment.
    interrupt : BaseException or None
        What a signal handler raised (KeyboardInterrupt on Ctrl-C), for the
        caller to re-raise once it has kept the state reached so far.
    """
    cdef Net* net = &network.net
    cdef Work w = network.work_layout(batch_size, gather)
    cdef Py_ssize_t n_samples = order.shape[0]
    cdef Py_ssize_t n_features = net.units[0]
    cdef Py_ssize_t n_outputs = net.units[net.n_layers]
    cdef Py_ssize_t n_targets = _check_targets(net, Y)
    cdef Py_ssize_t start, n_rows, r, row, n_batches = 0
    cdef bint dense = X.shape[0] > 0
    cdef bint weighted = sample_weight.shape[0] > 0
    cdef bint finite = True
    cdef double loss_sum = 0, batch_loss, sw_sum, sumsq
    cdef floating* wk = &work[0]
    cdef floating* xbuf = wk + w.x
    cdef floating* ybuf = wk + w.y
    cdef floating* swbuf = wk + w.sw
    cdef floating* p = &params[0]
    cdef floating* g = &grads[0]
    cdef Input inp
    cdef double last_check = monotonic_seconds()
    interrupt = None

    if work.shape[0] < w.size or params.shape[0] != net.n_params \
            or grads.shape[0] != net.n_params:
        raise ValueError("work or parameter buffer of the wrong size")
    if dense:
        set_input(&inp, NULL, NULL, NULL, NULL)
    else:
        set_input(&inp, NULL, &X_data[0], &X_indices[0], &X_indptr[0])

    with nogil:
        fill_ones(wk, &w)
        sumsq = _dot(<int>net.n_coefs, p, p)
        start = 0
        while start < n_samples:
            n_rows = batch_size if n_samples - start >= batch_size else n_samples - start
            for r in range(n_rows):
                row = order[start + r]
                memcpy(ybuf + r * n_targets, &Y[row, 0], n_targets * sizeof(floating))
                if weighted:
                    swbuf[r] = sample_weight[row]
                if dense and gather:
                    memcpy(xbuf + r * n_features, &X[row, 0], n_features * sizeof(floating))
            if dense:
                inp.x = xbuf if gather else &X[order[start], 0]
            else:
                inp.rows = &order[start]
            if weighted:
                sw_sum = 0
                for r in range(n_rows):
                    sw_sum += swbuf[r]
            else:
                sw_sum = n_rows

            forward(net, p, &inp, n_rows, wk, &w)
            batch_loss = output_loss_delta(
                layer_activations(net, wk, &w, net.n_layers),
                p + net.intercept_start[net.n_layers - 1], ybuf,
                swbuf if weighted else NULL, n_rows, n_outputs, n_targets, net.output,
                <floating>delta_scale,
                layer_delta(net, wk, &w, net.n_layers))
            backward(net, p, g, &inp, n_rows, wk, &w, False)
            # the step finishes the gradient (L2, 1 / sw_sum) as it goes
            if solver == ADAM:
                t += 1
                adam_step(p, g, &moment_1[0], &moment_2[0], net.n_coefs, net.n_params,
                          alpha, sw_sum,
                          adam_learning_rate(learning_rate, beta_1, beta_2, t),
                          beta_1, beta_2, epsilon)
            else:
                sgd_step(p, g, &moment_1[0], net.n_coefs, net.n_params, alpha, sw_sum,
                         learning_rate, momentum, nesterov)
            # sumsq is the L2 term of this batch's loss (parameters before
            # the step); the sums of squares after it are the next batch's
            # and, being non-finite exactly when a parameter is (or is huge
            # enough to overflow), the divergence check
            batch_loss = batch_loss / sw_sum + 0.5 * alpha * sumsq / sw_sum
            loss_sum += batch_loss * n_rows
            sumsq = _dot(<int>net.n_coefs, p, p)
            finite = isfinite(sumsq) and isfinite(
                _dot(<int>(net.n_params - net.n_coefs), p + net.n_coefs, p + net.n_coefs))
            n_batches += 1
            if not finite:
                break
            start += n_rows
            if check_due(&last_check):
                with gil:
                    try:
                        PyErr_CheckSignals()
                    except BaseException as exc:
                        interrupt = exc
                if interrupt is not None:
                    break
        # An overflowed moment leaves the parameters finite but frozen
        # (m / sqrt(inf) = 0 at every later step): divergence all the same.
        if finite and solver == ADAM:
            finite = all_finite(&moment_1[0], net.n_params) and \
                all_finite(&moment_2[0], net.n_params)
    return loss_sum, t, n_batches, finite, interrupt


def loss_gradient(Network network,
                  floating[::1] params,        # IN flat parameters
                  floating[::1] grads,         # OUT flat gradient
                  floating[::1] work,          # work: network.work_size(chunk_rows, False)
                  const floating[:, ::1] X, const floating[::1] X_data,
                  const Py_ssize_t[::1] X_indices, const Py_ssize_t[::1] X_indptr,
                  const floating[:, ::1] Y, const floating[::1] sample_weight,
                  Py_ssize_t chunk_rows, double alpha, double delta_scale):
    """Loss over all rows (plus the L2 term) and its gradient, in row chunks
    so memory stays bounded; the chunks' gradients accumulate in place.
    What a signal handler raises (KeyboardInterrupt) propagates.

    Returns
    -------
    loss : float
    """
    cdef Net* net = &network.net
    cdef Work w = network.work_layout(chunk_rows, False)
    cdef Py_ssize_t n_samples = Y.shape[0]
    cdef Py_ssize_t n_outputs = net.units[net.n_layers]
    cdef Py_ssize_t n_targets = _check_targets(net, Y)
    cdef Py_ssize_t start, n_rows, r
    cdef bint dense = X.shape[0] > 0
    cdef bint weighted = sample_weight.shape[0] > 0
    cdef double loss_sum = 0, sw_sum = 0, sumsq
    cdef floating* wk = &work[0]
    cdef floating* p = &params[0]
    cdef floating* g = &grads[0]
    cdef Input inp
    cdef double last_check = monotonic_seconds()

    if work.shape[0] < w.size or params.shape[0] != net.n_params \
            or grads.shape[0] != net.n_params:
        raise ValueError("work or parameter buffer of the wrong size")
    if dense:
        set_input(&inp, NULL, NULL, NULL, NULL)
    else:
        set_input(&inp, NULL, &X_data[0], &X_indices[0], &X_indptr[0])

    with nogil:
        fill_ones(wk, &w)
        start = 0
        while start < n_samples:
            n_rows = chunk_rows if n_samples - start >= chunk_rows else n_samples - start
            if dense:
                inp.x = &X[start, 0]
            else:
                inp.row_start = start
            forward(net, p, &inp, n_rows, wk, &w)
            loss_sum += output_loss_delta(
                layer_activations(net, wk, &w, net.n_layers),
                p + net.intercept_start[net.n_layers - 1], &Y[start, 0],
                &sample_weight[start] if weighted else NULL, n_rows, n_outputs,
                n_targets, net.output, <floating>delta_scale,
                layer_delta(net, wk, &w, net.n_layers))
            backward(net, p, g, &inp, n_rows, wk, &w, start > 0)
            start += n_rows
            if check_due(&last_check):
                with gil:
                    PyErr_CheckSignals()
        if weighted:
            for r in range(n_samples):
                sw_sum += sample_weight[r]
        else:
            sw_sum = n_samples
        sumsq = finalize_gradient(net, p, g, alpha, sw_sum)
    return loss_sum / sw_sum + 0.5 * alpha * sumsq / sw_sum
