"""The stochastic solvers' epochs: every minibatch of an epoch in one call
from Python, with the GIL released throughout.

A minibatch is cut into n_parts row parts (see _common.pxd's glossary), each
run forward and backward (`part_loss_gradient`) into its own gradient
buffer: a round of jobs for the fit's team of threads (_team.pxd), which
any thread may run. The parts' gradients are then added in part order, so a
fit's result depends on n_parts, never on which thread ran what, and the
optimizer's rule steps the flat parameter buffer (`take_step`): the loop
names no optimizer. Networks big enough step in a second round, of
parameter slices; smaller ones are stepped whole by the thread that closes
the parts' round.

With batch norm a part's pass is cut into stages (_common.pxd): each stage
is a round of the parts, and its close combines the parts' statistics in
part order (the minibatch's mean and variance forward, updating the running
ones; the sums of the deltas backward), which the next stage reads. The
last stage's close takes the step as above.

Clipping the gradient to a global norm (max_grad_norm) needs the norm of
the summed gradient before any parameter moves: a reduction over every
slice. Small networks sum, measure and step in the thread closing the last
stage's round; big ones take two rounds of slices after the stages: slices
that sum the parts' gradients and measure their slice, then (after the
round's close has added the slices' measures in slice order) slices that
step. Either way the norm is a sum in a fixed order, so it depends on the
number of parts, never on the threads.

Sparse X is passed as its CSR arrays with an empty dense X (shape (0, 0));
an empty sample_weight means unit weights; the softmax loss's targets may be
one intp column of class indices (see _part.check_data).
"""
from cpython.ref cimport PyObject, Py_DECREF
from cython cimport floating
from libc.math cimport isfinite
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

import numpy as np

from ._blas cimport _dot
from ._common cimport Net, PartLayout, Batch
from ._network cimport Network, fill_ones
from ._optimizers cimport StepRule, StepSettings, begin_step, take_step, \
    state_finite, n_state_buffers, gradient_sumsq, clip_divisor
from ._part cimport Data, part_loss_gradient, part_range, check_data, empty_part_stats, \
    close_stage
from ._team cimport Post, Signals, run_post, fastmlp_team, fastmlp_team_new, \
    fastmlp_team_free, fastmlp_flag, FASTMLP_ARGS_SIZE

cdef enum:
    # fewest parameters whose optimizer step is spread over threads, in
    # slices; below it the thread that closes the parts' round takes the whole
    # step (a few thousand parameters step in less time than threads take to
    # meet: make_moons' 65 in ~0.2 us)
    MIN_THREADED_STEP = 2048


cdef struct _EpochState:
    # Kept by whichever thread closes a round; rounds close one at a time.
    StepRule rule          # its step count goes on
    double loss_sum
    Py_ssize_t n_batches
    bint finite
    double sumsq           # coefficients' sum of squares before the next step
    double batch_loss      # of the minibatch being stepped in slices: its
    double sw_sum          # loss and weight sums, and its step's rate
    double rate
    double divisor         # what the step divides raw gradients by: sw_sum,
                           # or more when the gradient is clipped


cdef struct _EpochPlan:
    # An Epochs' buffers and fixed settings, as the jobs read them (void*: a
    # struct cannot hold fused types; the jobs cast them).
    const Net* net
    void* p
    void* g
    void* m1
    void* m2
    void* work
    const PartLayout* part
    const Data* data
    const Py_ssize_t* rows
    Py_ssize_t n_samples, batch_size, n_parts
    Py_ssize_t n_stages    # rounds of parts per minibatch (_common.pxd)
    Py_ssize_t per_batch   # rounds per minibatch: n_stages, n_stages + 1 (then
                           # slices that step), or n_stages + 2 (slices that sum
                           # and measure, then slices that step: clipping)
    Py_ssize_t slice_len
    double* part_loss      # n_parts losses, then n_parts weight sums
    double* slice_sumsq    # per slice: coefficients', then intercepts'
    double* slice_grad_sumsq  # per slice: the summed gradient's (clipping)
    double* part_stats     # per part: batch norm's sums (4 n_stats)
    Batch* batch           # the minibatch's statistics; dropout's keys
    double* running        # running means then variances (2 n_stats), or NULL


cdef struct _EpochPost:
    Post post
    const _EpochPlan* plan
    _EpochState* state


if sizeof(_EpochPost) > FASTMLP_ARGS_SIZE:
    # every thread of the team copies a post's arguments into that much
    raise ImportError("_EpochPost outgrew the team's argument block")


cdef void _minibatch_part(
        const Net* net, const floating* p,
        floating* g,                    # OUT n_parts gradients, back to back
        floating* work, const PartLayout* part,  # n_parts work buffers, back to back
        const Data* data,
        const Py_ssize_t* rows,         # IN the minibatch's rows
        Py_ssize_t n_rows, Py_ssize_t n_parts, Py_ssize_t q,
        double* part_loss, double* part_sw,  # OUT [q]
        Py_ssize_t stage, const Batch* batch,
        double* part_stats) noexcept nogil:  # OUT its part's sums
    """Stage `stage` of part_loss_gradient on the q-th of n_parts parts of a
    minibatch"""
    cdef Py_ssize_t lo, hi
    cdef double* stats = part_stats + q * 4 * net.n_stats
    cdef double loss
    part_range(n_rows, n_parts, q, &lo, &hi)
    if lo < hi:
        loss = part_loss_gradient(
            net, p, g + q * net.n_params, work + q * part.size, part, data,
            rows + lo, 0, hi - lo, 1, False, &part_sw[q], stage, batch, stats)
        if stage == net.n_bn:
            part_loss[q] = loss
    else:
        # a short last minibatch leaves a part without rows
        memset(g + q * net.n_params, 0, net.n_params * sizeof(floating))
        empty_part_stats(net, stats)
        part_loss[q] = 0
        part_sw[q] = 0


cdef inline void _slice_range(const Net* net, Py_ssize_t q, Py_ssize_t slice_len,
                              Py_ssize_t* start, Py_ssize_t* stop,
                              Py_ssize_t* n_coefs) noexcept nogil:
    """The q-th slice of slice_len parameters, and its coefficients' count"""
    start[0] = min(q * slice_len, net.n_params)
    stop[0] = min(start[0] + slice_len, net.n_params)
    n_coefs[0] = min(max(net.n_coefs - start[0], 0), stop[0] - start[0])


cdef void _sum_parts(const Net* net,
                     floating* g,       # IN/OUT n_parts gradients, back to back;
                                        # the first gets their sum
                     Py_ssize_t n_parts, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """Add the parts' gradients over [start, stop) into the first, in part
    order, so the result does not depend on which thread ran what"""
    cdef Py_ssize_t part, i
    cdef const floating* gq
    for part in range(1, n_parts):
        gq = g + part * net.n_params
        for i in range(start, stop):
            g[i] += gq[i]


cdef void _measure_slice(const Net* net, const floating* p,
                         floating* g,   # IN/OUT n_parts gradients; the first gets their sum
                         Py_ssize_t n_parts, Py_ssize_t q, Py_ssize_t slice_len,
                         double alpha,
                         double* slice_grad_sumsq) noexcept nogil:  # OUT [q]
    """Over the q-th slice: sum the parts' gradients, and the squares of the
    finished gradient (times sw_sum**2) for its clipping"""
    cdef Py_ssize_t start, stop, n_coefs
    _slice_range(net, q, slice_len, &start, &stop, &n_coefs)
    _sum_parts(net, g, n_parts, start, stop)
    slice_grad_sumsq[q] = gradient_sumsq(p + start, g + start, n_coefs, stop - start,
                                         alpha)


cdef void _step_slice(
        const Net* net, const StepRule* rule, double rate, floating* p,
        floating* g,                    # IN/OUT n_parts gradients; the first gets their sum
        floating* moment_1, floating* moment_2,
        Py_ssize_t n_parts, Py_ssize_t q, Py_ssize_t slice_len, double divisor,
        double* slice_sumsq) noexcept nogil:  # OUT [2q], [2q + 1]: sums of squares
                                              # of coefficients, intercepts after
    """Over the q-th slice of slice_len parameters: add the parts' gradients
    (n_parts 1: summed already), take the rule's step, and sum the squares
    of the new parameters."""
    cdef Py_ssize_t start, stop, n_coefs
    _slice_range(net, q, slice_len, &start, &stop, &n_coefs)
    cdef Py_ssize_t n = stop - start
    _sum_parts(net, g, n_parts, start, stop)
    take_step(rule, rate, p + start, g + start, moment_1 + start, moment_2 + start,
              n_coefs, n, divisor)
    slice_sumsq[2 * q] = _dot(<int>n_coefs, p + start, p + start)
    slice_sumsq[2 * q + 1] = _dot(<int>(n - n_coefs), p + start + n_coefs,
                                  p + start + n_coefs)


cdef void _epoch_job(const _EpochPost* a, floating* p, Py_ssize_t i,
                     Py_ssize_t q) noexcept nogil:
    """Job q of the epoch's round i: part q of a minibatch's rows, or slice
    q of its step (p: the plan's parameters, typed)"""
    cdef const _EpochPlan* e = a.plan
    cdef const _EpochState* state = a.state
    cdef Py_ssize_t start = i // e.per_batch * e.batch_size
    cdef Py_ssize_t n_rows = min(e.batch_size, e.n_samples - start)
    # the round within the minibatch: its stages, then its slices' rounds
    cdef Py_ssize_t r = i % e.per_batch
    cdef bint clipped_slices = e.per_batch == e.n_stages + 2
    cdef Batch batch
    if r < e.n_stages:
        # the masks of the step this minibatch takes
        batch = e.batch[0]
        batch.step = <unsigned long long>state.rule.t
        _minibatch_part(e.net, p, <floating*>e.g, <floating*>e.work, e.part, e.data,
                        e.rows + start, n_rows, e.n_parts, q, e.part_loss,
                        e.part_loss + e.n_parts, r, &batch, e.part_stats)
    elif r == e.n_stages and clipped_slices:
        _measure_slice(e.net, p, <floating*>e.g, e.n_parts, q, e.slice_len,
                       state.rule.alpha, e.slice_grad_sumsq)
    else:
        # with clipping the slices' round before summed the parts already
        _step_slice(e.net, &state.rule, state.rate, p, <floating*>e.g,
                    <floating*>e.m1, <floating*>e.m2, 1 if clipped_slices else e.n_parts,
                    q, e.slice_len, state.divisor, e.slice_sumsq)


cdef bint _epoch_close(const _EpochPost* a, floating* p, Py_ssize_t i) noexcept nogil:
    """After the epoch's round i: sum the parts' losses and weights in part
    order; take the whole step (small networks) or leave it to the slices'
    rounds; with clipping, reduce the slices' gradient norms; after the
    step, count the minibatch and check the parameters. False to stop the
    epoch: a parameter became non-finite, or thread 0 caught a signal (then
    that minibatch's step is not taken)."""
    cdef const _EpochPlan* e = a.plan
    cdef _EpochState* state = a.state
    cdef Py_ssize_t q, n_parts = e.n_parts, n_slices = e.n_parts
    cdef Py_ssize_t start = i // e.per_batch * e.batch_size
    cdef Py_ssize_t n_rows = min(e.batch_size, e.n_samples - start)
    cdef Py_ssize_t r = i % e.per_batch
    cdef double batch_loss = 0, sw_sum = 0, sumsq_next = 0, rate, grad_sumsq = 0
    cdef double alpha = state.rule.alpha, max_norm = state.rule.max_grad_norm
    cdef bint finite = True
    cdef floating* g = <floating*>e.g
    if r < e.n_stages - 1:
        # batch norm's statistics, for the next stage
        e.batch.n_rows = n_rows
        if close_stage(e.net, e.batch, e.part_stats, n_parts, r, e.running,
                       e.net.bn_momentum):
            return True
        state.finite = False
        return False
    if r == e.n_stages - 1:
        if fastmlp_flag(&a.post.signals.raised):
            return False
        for q in range(n_parts):
            batch_loss += e.part_loss[q]
            sw_sum += e.part_loss[n_parts + q]
        rate = begin_step(&state.rule)
        if e.per_batch > e.n_stages:
            state.batch_loss, state.sw_sum, state.rate = batch_loss, sw_sum, rate
            state.divisor = sw_sum
            return True
        # the step finishes the gradient (L2, 1 / sw_sum) as it goes
        state.divisor = sw_sum
        if max_norm > 0:
            _sum_parts(e.net, g, n_parts, 0, e.net.n_params)
            n_parts = 1
            state.divisor = clip_divisor(sw_sum, gradient_sumsq(
                p, g, e.net.n_coefs, e.net.n_params, alpha), max_norm)
        _step_slice(e.net, &state.rule, rate, p, g, <floating*>e.m1, <floating*>e.m2,
                    n_parts, 0, e.net.n_params, state.divisor, e.slice_sumsq)
        n_slices = 1
    elif r == e.n_stages and e.per_batch == e.n_stages + 2:
        # the slices' squares in slice order: a norm independent of the threads
        for q in range(n_slices):
            grad_sumsq += e.slice_grad_sumsq[q]
        state.divisor = clip_divisor(state.sw_sum, grad_sumsq, max_norm)
        return True
    else:
        batch_loss, sw_sum = state.batch_loss, state.sw_sum
    for q in range(n_slices):
        sumsq_next += e.slice_sumsq[2 * q]
        finite = finite and isfinite(e.slice_sumsq[2 * q + 1])
    finite = finite and isfinite(sumsq_next)
    # sumsq is the L2 term of this batch's loss (parameters before the step);
    # the sums of squares after it are the next batch's and, being
    # non-finite exactly when a parameter is (or is huge enough to
    # overflow), the divergence check
    batch_loss = batch_loss / sw_sum + 0.5 * alpha * state.sumsq / sw_sum
    state.loss_sum += batch_loss * n_rows
    state.n_batches += 1
    state.sumsq = sumsq_next
    state.finite = finite
    return finite


cdef void _job_32(const void* a, Py_ssize_t i, Py_ssize_t q) noexcept nogil:
    _epoch_job(<const _EpochPost*>a, <float*>(<const _EpochPost*>a).plan.p, i, q)


cdef void _job_64(const void* a, Py_ssize_t i, Py_ssize_t q) noexcept nogil:
    _epoch_job(<const _EpochPost*>a, <double*>(<const _EpochPost*>a).plan.p, i, q)


cdef bint _close_32(const void* a, Py_ssize_t i) noexcept nogil:
    return _epoch_close(<const _EpochPost*>a, <float*>(<const _EpochPost*>a).plan.p, i)


cdef bint _close_64(const void* a, Py_ssize_t i) noexcept nogil:
    return _epoch_close(<const _EpochPost*>a, <double*>(<const _EpochPost*>a).plan.p, i)


cdef class Epochs:
    """The stochastic epochs of one fit: its buffers and fixed settings,
    checked and held once, so that each epoch's call passes only what may
    change between epochs (acquiring a dozen typed memoryviews per call
    would cost as much as a small minibatch).

    Parameters
    ----------
    network : Network
    params : ndarray of float32 or float64, (n_params,)
        IN/OUT flat parameters.
    grads : ndarray, (n_parts * n_params,)
        Work: a flat gradient per part.
    moment_1, moment_2 : ndarray, (n_params,)
        IN/OUT the optimizer's state (SGD's velocity in moment_1, moment_2
        unused and may be shorter; Adam's m and v).
    work : ndarray
        Work: n_parts * network.work_size(part_rows, gather) values.
    X : ndarray, (n_samples, n_features)
        IN dense X, or (0, 0) when X is sparse.
    X_data, X_indices, X_indptr : ndarray
        IN the CSR arrays of a sparse X (empty when X is dense).
    Y : ndarray, (n_samples, n_outputs) or (n_samples, 1) of intp
        IN targets: a column per output, or the softmax loss's class indices.
    sample_weight : ndarray, (n_samples,) or (0,)
        Empty: unit weights.
    order : ndarray of intp, (n_train,)
        IN the rows of each epoch, in order; the caller shuffles it in place
        between epochs.
    batch_size : int
    gather : bool
        Copy each part's rows into its work buffer (dense X only).
    n_parts, n_threads : int
        Each minibatch's rows are cut into n_parts parts that run forward
        and backward on the team of on_threads (_team.pyx), or else on
        n_threads threads of the epoch's own (with more than one thread,
        BLAS must be single-threaded: the caller's job), each into its own
        gradient buffer. Results depend on n_parts (the order of the
        gradient sums), not on the threads.

    Notes
    -----
    The arrays are read and written in place through pointers taken here:
    while the object is in use they may change in place, never be replaced.
    """
    cdef Network network
    cdef tuple _arrays          # keeps the buffers behind the pointers alive
    cdef bint single            # float32 buffers, else float64
    cdef void* p
    cdef void* g
    cdef void* m1
    cdef void* m2
    cdef void* work
    cdef const Py_ssize_t* order
    cdef Py_ssize_t n_samples, batch_size, n_parts
    cdef readonly int n_threads
    cdef PartLayout part
    cdef Data data
    cdef _EpochPlan plan        # the above, as the jobs read them
    cdef double* losses         # the plan's part_loss and slice_sumsq
    cdef double* stats          # the plan's part_stats, then the batch's
    cdef Batch batch
    cdef double* running        # running statistics (an array held in _arrays)
    cdef long* n_jobs_run       # per thread, in the last epoch
    cdef Post hook              # the tests' slow thread
    cdef fastmlp_team* own      # for epochs run outside on_threads

    def __dealloc__(self):
        free(self.stats)
        free(self.losses)
        free(self.n_jobs_run)
        fastmlp_team_free(self.own)

    def __init__(self, Network network, params, grads, moment_1, moment_2, work, X,
                 X_data, X_indices, X_indptr, Y, sample_weight,
                 const Py_ssize_t[::1] order, Py_ssize_t batch_size, bint gather,
                 Py_ssize_t n_parts, int n_threads, running_stats=None,
                 dropout_key=(0, 0)):
        cdef Py_ssize_t i, n_rows
        cdef Py_ssize_t n_stats = network.net.n_stats
        cdef double[::1] running
        if n_parts < 1 or batch_size < 1 or order.shape[0] < 1:
            raise ValueError("an epoch needs rows, a batch size and a part")
        self.network = network
        self.batch_size = batch_size
        self.n_parts = n_parts
        if running_stats is None:
            running_stats = np.zeros(2 * n_stats)
        running = running_stats
        if running.shape[0] != 2 * n_stats:
            raise ValueError("running statistics of the wrong size")
        self._arrays = (params, grads, moment_1, moment_2, work, X, X_data, X_indices,
                        X_indptr, Y, sample_weight, order, running_stats)
        self.single = params.dtype == np.float32
        self.part = network.part_layout((batch_size + n_parts - 1) // n_parts, gather)
        # n_rows from the buffer held, not from Y.shape: an object's shape
        # attribute may say anything, and indexing it is unchecked here
        if self.single:
            n_rows = _hold[float](self, params, grads, moment_1, moment_2, work, X,
                                  X_data, X_indices, X_indptr, Y, sample_weight, gather)
        else:
            n_rows = _hold[double](self, params, grads, moment_1, moment_2, work, X,
                                   X_data, X_indices, X_indptr, Y, sample_weight, gather)
        if order.shape[0] > n_rows:
            raise ValueError("more rows in the order than in the data")
        for i in range(order.shape[0]):
            if not 0 <= order[i] < n_rows:
                raise ValueError(f"row {order[i]} out of range")
        if self.data.x != NULL and not self.data.gather:
            # dense rows read in place: each minibatch from its first row on
            for i in range(1, order.shape[0]):
                if order[i] != order[i - 1] + 1:
                    raise ValueError("rows read in place (gather off) must be "
                                     "consecutive")
        self.order = &order[0]
        self.n_samples = order.shape[0]
        self.n_threads = max(1, min(n_threads, <int>n_parts))
        free(self.stats)
        free(self.losses)
        free(self.n_jobs_run)
        fastmlp_team_free(self.own)
        self.stats = <double*>malloc(max(1, (4 * n_parts + 5) * n_stats) * sizeof(double))
        self.running = &running[0] if n_stats > 0 else NULL
        memset(&self.batch, 0, sizeof(self.batch))
        if self.stats != NULL:
            _point_batch(&self.batch, self.stats + 4 * n_parts * n_stats, n_stats)
        self.batch.train_dropout = network.net.dropout
        self.batch.key0 = <unsigned>dropout_key[0]
        self.batch.key1 = <unsigned>dropout_key[1]
        self.losses = <double*>malloc(5 * n_parts * sizeof(double))
        self.n_jobs_run = <long*>malloc(self.n_threads * sizeof(long))
        self.own = fastmlp_team_new(1, n_parts)
        if self.losses == NULL or self.n_jobs_run == NULL or self.own == NULL \
                or self.stats == NULL:
            raise MemoryError()
        memset(self.n_jobs_run, 0, self.n_threads * sizeof(long))
        memset(&self.hook, 0, sizeof(self.hook))
        _plan(self)

    def jobs_run(self):
        """Jobs (parts and slices) each thread ran in the last epoch."""
        return [self.n_jobs_run[i] for i in range(self.n_threads)]

    def slow_thread(self, int tid, double seconds, bint mid_job):
        """For the tests: make thread tid (-1: every thread) sleep `seconds`
        before each round's claims, or after each claim (mid_job), as if
        descheduled there."""
        self.hook.slow_thread = tid
        self.hook.slow_seconds = seconds
        self.hook.slow_mid_job = mid_job

    def run(self, StepSettings settings):
        """Run every minibatch of one epoch: gather, forward, loss, backward,
        step.

        Parameters
        ----------
        settings : StepSettings
            The optimizer's rule and settings; its step count goes on from
            where the epoch leaves it.

        Returns
        -------
        loss_sum : float
            Sum over minibatches of batch loss times batch size.
        n_batches : int
            Minibatches completed; fewer than in the epoch when a parameter
            became non-finite, which stops the epoch at that minibatch, or a
            signal handler raised, which stops it at a later minibatch (whose
            parts run but whose step is not taken).
        finite : bool
            False when the epoch stopped on a non-finite parameter, or ended
            with non-finite optimizer state.
        interrupt : BaseException or None
            What a signal handler raised (KeyboardInterrupt on Ctrl-C), for
            the caller to re-raise once it has kept the state reached so far.
        """
        cdef _EpochState state
        cdef Signals signals = Signals(0, NULL)
        if n_state_buffers(&settings.rule) > 1 and self.m2 == NULL:
            raise ValueError("this optimizer needs a second state buffer per parameter")
        memset(&state, 0, sizeof(state))
        state.rule = settings.rule
        state.finite = True
        if self.plan.per_batch > self.plan.n_stages:
            # big networks step in slices: after a round that measures the
            # gradient's norm when clipping
            self.plan.per_batch = self.plan.n_stages + (
                2 if settings.rule.max_grad_norm > 0 else 1)
        if self.single:
            _run_epoch(self, <float*>self.p, &state, &signals)
        else:
            _run_epoch(self, <double*>self.p, &state, &signals)
        settings.rule.t = state.rule.t
        settings.rule.mu_product = state.rule.mu_product
        interrupt = None
        if signals.interrupt != NULL:
            interrupt = <object>signals.interrupt
            Py_DECREF(interrupt)   # <object> took a new reference; the signals' goes
        return state.loss_sum, state.n_batches, state.finite, interrupt


cdef Py_ssize_t _hold(Epochs e, floating[::1] params, floating[::1] grads,
                      floating[::1] moment_1, floating[::1] moment_2, floating[::1] work,
                      const floating[:, ::1] X, const floating[::1] X_data,
                      const Py_ssize_t[::1] X_indices, const Py_ssize_t[::1] X_indptr,
                      object Y, const floating[::1] sample_weight,
                      bint gather) except -1:
    """Check the buffers of e's epochs, take their pointers, and set the
    work buffers' vectors of ones (nothing else writes them); returns Y's
    number of rows."""
    cdef const Net* net = &e.network.net
    cdef Py_ssize_t q, n_rows
    n_rows = check_data(net, &e.part, e.n_parts, params, grads, work, X, X_data,
                        X_indices, X_indptr, Y, sample_weight, gather, &e.data)
    if moment_1.shape[0] != net.n_params or (
            moment_2.shape[0] != net.n_params and moment_2.shape[0] > 1):
        raise ValueError("optimizer state of the wrong size")
    e.p = &params[0]
    e.g = &grads[0]
    e.m1 = &moment_1[0]
    e.m2 = &moment_2[0] if moment_2.shape[0] == net.n_params else NULL
    e.work = &work[0]
    for q in range(e.n_parts):
        fill_ones(&work[0] + q * e.part.size, &e.part)
    return n_rows


cdef void _point_batch(Batch* batch, double* values, Py_ssize_t n_stats) noexcept nogil:
    """Point the batch's statistics at 5 n_stats values."""
    batch.mean = values
    batch.var = values + n_stats
    batch.invstd = values + 2 * n_stats
    batch.sum_g = values + 3 * n_stats
    batch.sum_gx = values + 4 * n_stats


cdef void _plan(Epochs e) noexcept:
    """Fill e.plan from e's buffers and settings."""
    cdef _EpochPlan* plan = &e.plan
    cdef Py_ssize_t n_params = e.network.net.n_params
    plan.net = &e.network.net
    plan.p, plan.g, plan.m1, plan.m2, plan.work = e.p, e.g, e.m1, e.m2, e.work
    plan.part = &e.part
    plan.data = &e.data
    plan.rows = e.order
    plan.n_samples, plan.batch_size, plan.n_parts = e.n_samples, e.batch_size, e.n_parts
    plan.n_stages = 2 * e.network.net.n_bn + 1
    # one more round (slices that step) for big networks; run() makes it two
    # when clipping
    plan.per_batch = plan.n_stages + (0 if n_params < MIN_THREADED_STEP else 1)
    # slices of whole cache lines, so no two threads write the same line
    plan.slice_len = ((n_params + e.n_parts - 1) // e.n_parts + 15) // 16 * 16
    plan.part_loss = e.losses
    plan.slice_sumsq = e.losses + 2 * e.n_parts
    plan.slice_grad_sumsq = e.losses + 4 * e.n_parts
    plan.part_stats = e.stats
    plan.batch = &e.batch
    plan.running = e.running


cdef void _run_epoch(Epochs e, floating* p, _EpochState* state,
                     Signals* signals) noexcept:
    """Epochs.run for e's dtype (p is e.p, typed): the epoch as one post to
    the team."""
    cdef const Net* net = &e.network.net
    cdef floating* m1 = <floating*>e.m1
    cdef floating* m2 = <floating*>e.m2
    cdef Py_ssize_t n_batches = (e.n_samples + e.batch_size - 1) // e.batch_size
    cdef _EpochPost post
    post.post = e.hook
    post.post.job = _job_32 if floating is float else _job_64
    post.post.close = _close_32 if floating is float else _close_64
    post.post.n_rounds = n_batches * e.plan.per_batch
    post.post.n_jobs = e.n_parts
    post.post.signals = signals
    post.post.jobs_run = e.n_jobs_run
    post.post.n_counters = e.n_threads
    post.plan = &e.plan
    post.state = state
    with nogil:
        memset(e.n_jobs_run, 0, e.n_threads * sizeof(long))
        state.sumsq = _dot(<int>net.n_coefs, p, p)
        run_post(&post.post, sizeof(post), e.n_threads, e.own)
        if state.finite:
            state.finite = state_finite(&state.rule, m1, m2, net.n_params)
