"""The loss over all rows and its gradient, for lbfgs (a full-batch method)
and for inspecting a fitted network; and the loss alone (forward, no
backward), for validation data once per epoch. One call from Python each,
the GIL released throughout.

Rows go in chunks so the work buffers stay bounded; each chunk is cut into
row parts, a round of jobs for the fit's team of threads (_team.pxd), each
accumulating into its own gradient buffer; a last round of parameter slices
adds the parts' gradients in part order. The loss alone runs the same
rounds of chunks without the backward pass or the slices, so it is the
same sum of the same parts.

With batch norm the statistics are over all rows (lbfgs is a full-batch
method), so the rows go as one chunk, whose parts' pass is cut into stages
as a minibatch's is (_epochs.pyx). The loss alone is inference's: it runs
on a network without batch norm (the running statistics folded in).
"""
import numpy as np
from cpython.ref cimport PyObject, Py_DECREF
from cython cimport floating
from libc.stdlib cimport malloc, free
from libc.string cimport memset

from ._common cimport Net, PartLayout, Batch
from ._network cimport Network, finalize_gradient, fill_ones
from ._part cimport Data, part_loss as _part_loss, part_loss_gradient, part_range, \
    check_data, empty_part_stats, close_stage
from ._team cimport Post, Signals, run_post, fastmlp_team, fastmlp_team_new, \
    fastmlp_team_free, fastmlp_flag, FASTMLP_ARGS_SIZE


cdef struct _ChunksPost:
    # a round per chunk of rows (its parts' forward and backward,
    # accumulating), then a round of slices adding up the parts' gradients;
    # without gradient, the chunks' rounds of forward passes alone
    Post post
    bint gradient
    const Net* net
    const void* p
    void* g
    void* work
    const PartLayout* part
    const Data* data
    Py_ssize_t n_samples, chunk_rows, n_parts, slice_len
    Py_ssize_t n_stages    # rounds per chunk (one chunk when more than one)
    double delta_scale
    double* part_loss      # n_parts
    double* loss_sum
    double* part_stats     # per part: batch norm's sums (4 n_stats)
    Batch* batch
    double* running        # running statistics to update, or NULL
    double momentum


if sizeof(_ChunksPost) > FASTMLP_ARGS_SIZE:
    # every thread of the team copies a post's arguments into that much
    raise ImportError("_ChunksPost outgrew the team's argument block")


cdef void _chunk_part(
        const Net* net, const floating* p,
        floating* g,                    # OUT (or +=) n_parts gradients, back to back
        floating* work, const PartLayout* part,  # n_parts work buffers, back to back
        const Data* data, Py_ssize_t start, Py_ssize_t n_rows,
        Py_ssize_t n_parts, Py_ssize_t q, floating delta_scale,
        bint gradient,
        double* part_loss,              # OUT [q]
        Py_ssize_t stage, const Batch* batch, double* part_stats) noexcept nogil:
    """Stage `stage` of part_loss_gradient on the q-th of n_parts parts of
    the chunk of rows start:start+n_rows, accumulating after the first chunk
    (without gradient: part_loss, one stage, g untouched)"""
    cdef Py_ssize_t lo, hi
    cdef double sw_sum, loss
    cdef double* stats = part_stats + q * 4 * net.n_stats
    part_range(n_rows, n_parts, q, &lo, &hi)
    if stage == 0:
        part_loss[q] = 0
    if not gradient:
        if lo < hi:
            part_loss[q] = _part_loss(net, p, work + q * part.size, part, data,
                                      start + lo, hi - lo)
        return
    if lo < hi:
        loss = part_loss_gradient(
            net, p, g + q * net.n_params, work + q * part.size, part, data, NULL,
            start + lo, hi - lo, delta_scale, start > 0, &sw_sum, stage, batch, stats)
        if stage == net.n_bn:
            part_loss[q] = loss
    else:
        empty_part_stats(net, stats)
        if start == 0:
            # a part without rows in the first chunk starts at zero
            memset(g + q * net.n_params, 0, net.n_params * sizeof(floating))


cdef void _chunks_job(const _ChunksPost* a, floating* g, Py_ssize_t i,
                      Py_ssize_t q) noexcept nogil:
    """Job q of round i: part q of chunk i // n_stages (its stage
    i % n_stages), or (after the last chunk, with gradient) slice q of the
    sum of the parts' gradients, in part order (g: the post's gradients,
    typed)"""
    cdef Py_ssize_t start = i // a.n_stages * a.chunk_rows, k, lo, hi, other
    cdef Py_ssize_t n_params = a.net.n_params
    cdef const floating* gq
    if not a.gradient or i < a.post.n_rounds - 1:
        _chunk_part(a.net, <const floating*>a.p, g, <floating*>a.work, a.part, a.data,
                    start, min(a.chunk_rows, a.n_samples - start), a.n_parts, q,
                    <floating>a.delta_scale, a.gradient, a.part_loss, i % a.n_stages,
                    a.batch, a.part_stats)
        return
    lo = min(q * a.slice_len, n_params)
    hi = min(lo + a.slice_len, n_params)
    for other in range(1, a.n_parts):
        gq = g + other * n_params
        for k in range(lo, hi):
            g[k] += gq[k]


cdef void _job_32(const void* a, Py_ssize_t i, Py_ssize_t q) noexcept nogil:
    _chunks_job(<const _ChunksPost*>a, <float*>(<const _ChunksPost*>a).g, i, q)


cdef void _job_64(const void* a, Py_ssize_t i, Py_ssize_t q) noexcept nogil:
    _chunks_job(<const _ChunksPost*>a, <double*>(<const _ChunksPost*>a).g, i, q)


cdef bint _chunks_close(const void* args, Py_ssize_t i) noexcept nogil:
    """After round i: a stage's (batch norm's statistics, combined) or a
    chunk's last (its parts' losses added, in part order). False to stop:
    thread 0 caught a signal."""
    cdef const _ChunksPost* a = <const _ChunksPost*>args
    cdef Py_ssize_t q
    if a.gradient and i == a.post.n_rounds - 1:
        return True
    if i % a.n_stages < a.n_stages - 1:
        close_stage(a.net, a.batch, a.part_stats, a.n_parts, i % a.n_stages, a.running,
                    a.momentum)
        return True
    for q in range(a.n_parts):
        a.loss_sum[0] += a.part_loss[q]
    return not fastmlp_flag(&a.post.signals.raised)


cdef double _run_chunks(_ChunksPost* post, const Net* net, const void* p, void* g,
                       floating* work, const PartLayout* part, const Data* data,
                       Py_ssize_t n_samples, Py_ssize_t chunk_rows, Py_ssize_t n_parts,
                       int n_threads, bint gradient, double delta_scale,
                       Batch* batch, double* part_stats, double* running,
                       double momentum) except? -1:
    """Run the chunks' rounds (with gradient, 2 n_bn + 1 stages per chunk,
    then the slices' round) on the team of on_threads, or else on n_threads
    threads of their own; return the sum of the parts' losses, chunk by
    chunk in part order. With batch norm, batch and part_stats are the
    statistics' buffers (_part.close_stage); else NULL. What a signal
    handler raised (KeyboardInterrupt) propagates."""
    cdef double loss_sum = 0
    cdef Py_ssize_t q
    cdef Signals signals = Signals(0, NULL)
    cdef fastmlp_team* own
    memset(post, 0, sizeof(_ChunksPost))
    post.post.job = _job_32 if floating is float else _job_64
    post.post.close = _chunks_close
    post.n_stages = 2 * net.n_bn + 1 if gradient else 1
    post.post.n_rounds = ((n_samples + chunk_rows - 1) // chunk_rows * post.n_stages
                          + (1 if gradient else 0))
    post.post.n_jobs = n_parts
    post.post.signals = &signals
    post.gradient = gradient
    post.net = net
    post.p = p
    post.g = g
    post.work = work
    post.part = part
    post.data = data
    post.n_samples, post.chunk_rows, post.n_parts = n_samples, chunk_rows, n_parts
    # slices of whole cache lines, so no two threads write the same line
    post.slice_len = ((net.n_params + n_parts - 1) // n_parts + 15) // 16 * 16
    post.delta_scale = delta_scale
    post.loss_sum = &loss_sum
    post.part_loss = <double*>malloc(n_parts * sizeof(double))
    post.batch, post.part_stats = batch, part_stats
    post.running, post.momentum = running, momentum
    own = fastmlp_team_new(1, n_parts)
    try:
        if post.part_loss == NULL or own == NULL:
            raise MemoryError()
        with nogil:
            for q in range(n_parts):
                fill_ones(work + q * part.size, part)
            run_post(&post.post, sizeof(_ChunksPost), n_threads, own)
    finally:
        free(post.part_loss)
        fastmlp_team_free(own)
    if signals.interrupt != NULL:
        interrupt = <object>signals.interrupt
        Py_DECREF(interrupt)   # <object> took a new reference; the signals' goes
        raise interrupt
    return loss_sum


cdef double _weight_sum(const floating[::1] sample_weight, Py_ssize_t n_samples) noexcept nogil:
    cdef double sw_sum = 0
    cdef Py_ssize_t r
    if sample_weight.shape[0] == 0:
        return n_samples
    for r in range(n_samples):
        sw_sum += sample_weight[r]
    return sw_sum


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
                  double alpha, double delta_scale, running_stats=None,
                  double momentum=1.0, dropout_key=None, unsigned long long dropout_step=0):
    """Loss over all rows (plus the L2 term) and its gradient. Each chunk of
    chunk_rows rows is cut into n_parts row parts run on the team of
    on_threads, or else on n_threads threads of their own (BLAS
    single-threaded then: the caller's job). What a signal handler raises
    (KeyboardInterrupt) propagates.

    With batch norm, the rows must be one chunk (the statistics are over
    all of them); running_stats (float64, 2 n_stats: means then variances),
    when given, take momentum times the batch's (1: the batch's own).
    Dropout is off unless dropout_key (two words) is given: then the loss
    is the one under the masks of that key and step (the tests'
    fixed-mask gradients).

    Returns
    -------
    loss : float
    """
    cdef Net* net = &network.net
    cdef PartLayout part = network.part_layout((chunk_rows + n_parts - 1) // max(n_parts, 1),
                                               False)
    cdef Py_ssize_t n_samples
    cdef double loss_sum, sw_sum, sumsq
    cdef Data data
    cdef _ChunksPost post
    cdef Batch batch
    cdef Py_ssize_t n_stats = net.n_stats
    cdef double[::1] running
    cdef double* stats = NULL

    if chunk_rows < 1 or n_threads < 1:
        raise ValueError("a pass needs rows per chunk and a thread")
    if running_stats is not None:
        running = running_stats
        if running.shape[0] != 2 * n_stats:
            raise ValueError("running statistics of the wrong size")
    n_samples = check_data(net, &part, n_parts, params, grads, work, X, X_data, X_indices,
                           X_indptr, Y, sample_weight, False, &data)
    if net.n_bn > 0 and chunk_rows < n_samples:
        raise ValueError("batch norm's statistics are over all rows: one chunk")
    memset(&batch, 0, sizeof(batch))
    batch.n_rows = n_samples
    if dropout_key is not None:
        batch.train_dropout = net.dropout
        batch.key0, batch.key1 = <unsigned>dropout_key[0], <unsigned>dropout_key[1]
        batch.step = dropout_step
    try:
        # the parts' sums, then the batch's five statistics
        stats = <double*>malloc(max(1, (4 * n_parts + 5) * n_stats) * sizeof(double))
        if stats == NULL:
            raise MemoryError()
        batch.mean = stats + 4 * n_parts * n_stats
        batch.var, batch.invstd = batch.mean + n_stats, batch.mean + 2 * n_stats
        batch.sum_g, batch.sum_gx = batch.mean + 3 * n_stats, batch.mean + 4 * n_stats
        loss_sum = _run_chunks(&post, net, &params[0], &grads[0], &work[0], &part, &data,
                               n_samples, chunk_rows, n_parts, n_threads, True, delta_scale,
                               &batch, stats,
                               &running[0] if running_stats is not None and n_stats > 0
                               else NULL, momentum)
    finally:
        free(stats)
    with nogil:
        sw_sum = _weight_sum(sample_weight, n_samples)
        sumsq = finalize_gradient(net, &params[0], &grads[0], alpha, sw_sum)
    return loss_sum / sw_sum + 0.5 * alpha * sumsq / sw_sum


def forward_loss(Network network,
                 const floating[::1] params,  # IN flat parameters
                 floating[::1] work,          # work: n_parts *
                                              # network.work_size(part_rows, False)
                 const floating[:, ::1] X, const floating[::1] X_data,
                 const Py_ssize_t[::1] X_indices, const Py_ssize_t[::1] X_indptr,
                 Y,                           # IN targets (_part.check_data)
                 const floating[::1] sample_weight,
                 Py_ssize_t chunk_rows, Py_ssize_t n_parts, int n_threads,
                 double alpha, double l2_divisor, l2_params=None):
    """The loss over all rows without its gradient: the sample-weighted mean
    loss plus 0.5 * alpha * sum(W**2) / l2_divisor. The same rounds of
    chunks and parts as loss_gradient's, on the same threads, so with
    l2_divisor the weights' sum it returns loss_gradient's loss, bit for
    bit. What a signal handler raises (KeyboardInterrupt) propagates.

    A network with batch norm runs as predictions do: on the network
    without it, its running statistics folded into params; the L2 term is
    then of the model's own weights, l2_params' first n_coefs (the
    training buffer, whose coefficients come first as here).

    Returns
    -------
    loss : float
    """
    cdef Net* net = &network.net
    cdef PartLayout part = network.part_layout((chunk_rows + n_parts - 1) // max(n_parts, 1),
                                               False)
    cdef Py_ssize_t n_samples, i
    cdef double loss_sum, sw_sum, sumsq = 0
    cdef floating w
    cdef Data data
    cdef _ChunksPost post
    cdef const floating[::1] weights = params if l2_params is None else l2_params

    if chunk_rows < 1 or n_threads < 1:
        raise ValueError("a pass needs rows per chunk and a thread")
    if weights.shape[0] < net.n_coefs:
        raise ValueError("l2_params holds fewer values than the network's weights")
    if net.n_bn > 0:
        # the loss of inference: its network folds batch norm into the weights
        raise ValueError("forward_loss runs on the inference network (batch norm folded)")
    if n_parts < 1 or work.shape[0] < n_parts * part.size:
        raise ValueError("work buffer of the wrong size")
    # one part's worth of checks (no gradient buffers here: params stands
    # in for them); the work buffer was checked for all parts above
    n_samples = check_data(net, &part, 1, params, params, work, X, X_data, X_indices,
                           X_indptr, Y, sample_weight, False, &data)
    loss_sum = _run_chunks(&post, net, &params[0], NULL, &work[0], &part, &data,
                           n_samples, chunk_rows, n_parts, n_threads, False, 0.0,
                           NULL, NULL, NULL, 0.0)
    with nogil:
        sw_sum = _weight_sum(sample_weight, n_samples)
        # as finalize_gradient sums it, so the L2 term is lbfgs's
        for i in range(net.n_coefs):
            w = weights[i]
            sumsq += w * w
    return loss_sum / sw_sum + 0.5 * alpha * sumsq / l2_divisor
