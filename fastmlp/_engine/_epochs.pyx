"""The stochastic solvers' epochs: every minibatch of an epoch in one call
from Python, with the GIL released throughout.

A minibatch is cut into n_parts row parts (see _common.pxd's glossary), each
run forward and backward (`part_loss_gradient`) into its own gradient
buffer, on OpenMP threads that stay in one parallel region for the whole
epoch. The parts' gradients are then added in part order, so a fit's result
depends on n_parts, never on which thread ran what, and the optimizer's
rule steps the flat parameter buffer (`take_step`): the loop names no
optimizer.

Sparse X is passed as its CSR arrays with an empty dense X (shape (0, 0));
an empty sample_weight means unit weights; the softmax loss's targets may be
one intp column of class indices (see _part.check_data).
"""
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from cython cimport floating
from cython.parallel cimport parallel
from libc.math cimport isfinite
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
cimport openmp

import numpy as np

from ._blas cimport _dot
from ._common cimport Net, PartLayout
from ._interrupt cimport check_due, monotonic_seconds
from ._network cimport Network, fill_ones
from ._optimizers cimport StepRule, StepSettings, begin_step, take_step, \
    state_finite, n_state_buffers
from ._part cimport Data, part_loss_gradient, part_range, check_data

cdef extern from *:
    """
    /* An orphaned barrier: it binds to whatever parallel region calls it,
       and outside one (a single thread) it does nothing. */
    static void fastmlp_omp_barrier(void) {
    #pragma omp barrier
    }
    """
    void _barrier "fastmlp_omp_barrier"() noexcept nogil


cdef enum:
    # fewest parameters whose optimizer step is spread over threads; below
    # it every thread takes the whole step on its own copy of the parameters
    # (a few thousand parameters take less time to step than a barrier takes)
    MIN_THREADED_STEP = 2048


cdef enum:
    OWN_STEPS = 0    # every thread steps its own copy of all the parameters
    SHARED_STEP = 1  # the threads step slices of one copy


cdef struct _EpochState:
    # what the first thread reports, and tells the others across barriers
    double loss_sum
    Py_ssize_t n_batches
    Py_ssize_t t
    bint finite
    Py_ssize_t stop_batch  # a signal handler raised: every thread leaves at
                           # this minibatch's barrier (-1: none)
    PyObject* interrupt    # what it raised (a new reference), or NULL


cdef struct _StepBuffers:
    # Where a thread's minibatches put their gradients and losses, and the
    # parameters and optimizer state it steps. With a shared step every
    # thread points at the same ones; with own steps, at buffers of its own
    # (thread 0 at the model's), and the parts' buffers alternate between
    # minibatches, so a thread that is ahead never overwrites what another
    # is still adding. (void*: a struct cannot hold fused types)
    void* p
    void* m1
    void* m2
    void* g_sum            # the parts' gradients added up (own steps)
    void* g[2]             # n_parts gradients, back to back; [1]: the other
                           # minibatch's (own steps) or the same
    double* part_loss[2]   # per part: loss, then weight sum after n_parts
    double* slice_sumsq    # per slice: sums of squares (shared step)


cdef void _minibatch_part(
        const Net* net, const floating* p,
        floating* g,                    # OUT n_parts gradients, back to back
        floating* work, const PartLayout* part,  # n_parts work buffers, back to back
        const Data* data,
        const Py_ssize_t* rows,         # IN the minibatch's rows
        Py_ssize_t n_rows, Py_ssize_t n_parts, Py_ssize_t q,
        double* part_loss, double* part_sw) noexcept nogil:  # OUT [q]
    """part_loss_gradient on the q-th of n_parts parts of a minibatch"""
    cdef Py_ssize_t lo, hi
    part_range(n_rows, n_parts, q, &lo, &hi)
    if lo < hi:
        part_loss[q] = part_loss_gradient(
            net, p, g + q * net.n_params, work + q * part.size, part, data,
            rows + lo, 0, hi - lo, 1, False, &part_sw[q])
    else:
        # a short last minibatch leaves a part without rows
        memset(g + q * net.n_params, 0, net.n_params * sizeof(floating))
        part_loss[q] = 0
        part_sw[q] = 0


cdef void _step_slice(
        const Net* net, const StepRule* rule, double rate, floating* p,
        const floating* g,              # IN n_parts gradients, back to back
        floating* g_sum,                # OUT their sum (may be g: in place)
        floating* moment_1, floating* moment_2,
        Py_ssize_t n_parts, Py_ssize_t q, Py_ssize_t slice_len, double sw_sum,
        double* slice_sumsq) noexcept nogil:  # OUT [2q], [2q + 1]: sums of squares
                                              # of coefficients, intercepts after
    """Over the q-th slice of slice_len parameters: add the parts' gradients
    into g_sum (in part order, so the result does not depend on which
    thread ran what), take the rule's step, and sum the squares of the new
    parameters."""
    cdef Py_ssize_t part, i
    cdef Py_ssize_t start = min(q * slice_len, net.n_params)
    cdef Py_ssize_t stop = min(start + slice_len, net.n_params)
    cdef Py_ssize_t n = stop - start
    cdef Py_ssize_t n_coefs = min(max(net.n_coefs - start, 0), n)
    cdef const floating* gq
    if g_sum != g:
        memcpy(g_sum + start, g + start, n * sizeof(floating))
    for part in range(1, n_parts):
        gq = g + part * net.n_params
        for i in range(start, stop):
            g_sum[i] += gq[i]
    take_step(rule, rate, p + start, g_sum + start, moment_1 + start, moment_2 + start,
              n_coefs, n, sw_sum)
    slice_sumsq[2 * q] = _dot(<int>n_coefs, p + start, p + start)
    slice_sumsq[2 * q + 1] = _dot(<int>(n - n_coefs), p + start + n_coefs,
                                  p + start + n_coefs)


cdef bint _signal_raised(PyObject** interrupt) noexcept with gil:
    """Run Python's signal handlers; keep what one raises in interrupt."""
    try:
        PyErr_CheckSignals()
    except BaseException as exc:
        Py_INCREF(exc)
        interrupt[0] = <PyObject*>exc
        return True
    return False


cdef void _epoch_thread(
        const Net* net, StepRule rule, _StepBuffers* buf,
        floating* work, const PartLayout* part, const Data* data,
        const Py_ssize_t* rows, Py_ssize_t n_samples, Py_ssize_t batch_size,
        Py_ssize_t n_parts, int tid, int n_threads, int step_mode,
        Py_ssize_t slice_len, double sumsq, _EpochState* state) noexcept nogil:
    """The minibatch loop as thread tid of n_threads runs it, all threads in
    one parallel region for the whole epoch (a region per minibatch would
    cost as much as a small minibatch).

    Thread tid runs parts tid, tid + n_threads, ...; after a barrier every
    thread sums the same parts' losses and weights (so all agree on the rate
    and on when to stop). Then either every thread takes the whole step on
    its own copy of the parameters (OWN_STEPS: the same operations on the
    same numbers, so the copies stay equal, and no second barrier), or the
    threads step slices of the shared parameters and, after a second
    barrier, read each other's sums of squares (SHARED_STEP). Each thread
    counts steps in its own copy of the rule. Thread 0 alone keeps the loss
    and runs the signal handlers. Called directly, with one thread, the
    barriers do nothing.
    """
    cdef Py_ssize_t start = 0, n_rows, q, n_slices, batch = 0
    cdef double batch_loss, sw_sum, sumsq_next, rate
    cdef double alpha = rule.alpha
    cdef double last_check = monotonic_seconds()
    cdef double* part_loss
    cdef double own_sumsq[2]
    cdef double* slice_sumsq = buf.slice_sumsq
    cdef floating* p = <floating*>buf.p
    cdef floating* m1 = <floating*>buf.m1
    cdef floating* m2 = <floating*>buf.m2
    cdef floating* g
    cdef bint finite = True
    if step_mode == OWN_STEPS:
        slice_sumsq = own_sumsq  # each thread its own
    while start < n_samples:
        n_rows = batch_size if n_samples - start >= batch_size else n_samples - start
        g = <floating*>buf.g[batch & 1]
        part_loss = buf.part_loss[batch & 1]
        q = tid
        while q < n_parts:
            _minibatch_part(net, p, g, work, part, data, rows + start, n_rows, n_parts,
                            q, part_loss, part_loss + n_parts)
            q += n_threads
        _barrier()
        if state.stop_batch == batch:
            break
        batch_loss = 0
        sw_sum = 0
        for q in range(n_parts):
            batch_loss += part_loss[q]
            sw_sum += part_loss[n_parts + q]
        rate = begin_step(&rule)
        # the step finishes the gradient (L2, 1 / sw_sum) as it goes
        if step_mode == OWN_STEPS:
            _step_slice(net, &rule, rate, p, g, <floating*>buf.g_sum, m1, m2, n_parts,
                        0, net.n_params, sw_sum, slice_sumsq)
            n_slices = 1
        else:
            q = tid
            while q < n_parts:
                _step_slice(net, &rule, rate, p, g, g, m1, m2, n_parts, q, slice_len,
                            sw_sum, slice_sumsq)
                q += n_threads
            n_slices = n_parts
            _barrier()
        sumsq_next = 0
        finite = True
        for q in range(n_slices):
            sumsq_next += slice_sumsq[2 * q]
            finite = finite and isfinite(slice_sumsq[2 * q + 1])
        finite = finite and isfinite(sumsq_next)
        if tid == 0:
            # sumsq is the L2 term of this batch's loss (parameters before the
            # step); the sums of squares after it are the next batch's and,
            # being non-finite exactly when a parameter is (or is huge enough
            # to overflow), the divergence check
            batch_loss = batch_loss / sw_sum + 0.5 * alpha * sumsq / sw_sum
            state.loss_sum += batch_loss * n_rows
            state.n_batches += 1
            if finite and check_due(&last_check) and _signal_raised(&state.interrupt):
                # read by the others only after the next barrier, which they
                # cannot pass before this thread reaches it
                state.stop_batch = batch + 1
        sumsq = sumsq_next
        if not finite:
            break
        start += n_rows
        batch += 1
    if tid == 0:
        state.t = rule.t
        state.finite = finite


cdef void* _step_buffers(const Net* net, floating* p, floating* g, floating* m1,
                         floating* m2, Py_ssize_t n_parts, int n_threads,
                         int step_mode) noexcept nogil:
    """One block for the fit: a _StepBuffers per thread, then per part its
    loss and weight sum (twice, for alternating minibatches) and two sums of
    squares of its parameter slice, then, for own steps on several threads,
    the alternate parts' gradients and per thread a gradient sum plus
    (thread > 0) copies of the parameters and optimizer state. NULL when out
    of memory; free() it."""
    cdef Py_ssize_t n_params = net.n_params
    cdef bint own = step_mode == OWN_STEPS and n_threads > 1
    cdef int n_moments = 1 if m2 == NULL else 2
    cdef Py_ssize_t n_doubles = 6 * n_parts
    cdef Py_ssize_t n_floating = ((n_parts + n_threads + (n_threads - 1) * (1 + n_moments))
                                  * n_params if own else 0)
    cdef void* block = malloc(n_threads * sizeof(_StepBuffers) + n_doubles * sizeof(double)
                              + n_floating * sizeof(floating))
    cdef _StepBuffers* buf
    cdef floating* fl
    cdef floating* fq
    cdef double* dl
    cdef int tid
    if block == NULL:
        return NULL
    dl = <double*>(<_StepBuffers*>block + n_threads)
    fl = <floating*>(dl + n_doubles)
    for tid in range(n_threads):
        buf = <_StepBuffers*>block + tid
        buf.part_loss[0] = dl
        buf.part_loss[1] = dl + (2 * n_parts if own else 0)
        buf.slice_sumsq = dl + 4 * n_parts
        buf.g[0] = g
        buf.g[1] = fl if own else g
        buf.p, buf.m1, buf.m2, buf.g_sum = p, m1, m2, g
        if own:
            buf.g_sum = fl + (n_parts + tid) * n_params
            if tid > 0:
                # filled by the thread itself, at the start of each epoch
                fq = fl + (n_parts + n_threads + (tid - 1) * (1 + n_moments)) * n_params
                buf.p = fq
                buf.m1 = fq + n_params
                buf.m2 = fq + 2 * n_params if n_moments > 1 else NULL
    return block


cdef void _epoch_threads(
        const Net* net, const StepRule* rule, floating* p, floating* m1, floating* m2,
        _StepBuffers* bufs, int step_mode, floating* work, const PartLayout* part,
        const Data* data, const Py_ssize_t* rows, Py_ssize_t n_samples,
        Py_ssize_t batch_size, Py_ssize_t n_parts, int n_threads,
        _EpochState* state) noexcept nogil:
    """Run the epoch on n_threads threads, with bufs from _step_buffers."""
    cdef Py_ssize_t n_params = net.n_params
    # slices of whole cache lines, so no two threads write the same line
    cdef Py_ssize_t slice_len = ((n_params + n_parts - 1) // n_parts + 15) // 16 * 16
    cdef double sumsq = _dot(<int>net.n_coefs, p, p)
    cdef int tid
    cdef _StepBuffers* buf
    if n_threads == 1:
        _epoch_thread(net, rule[0], bufs, work, part, data, rows, n_samples, batch_size,
                      n_parts, 0, 1, step_mode, slice_len, sumsq, state)
    else:
        with parallel(num_threads=n_threads):
            tid = openmp.omp_get_thread_num()
            buf = bufs + tid
            if buf.p != <void*>p:
                memcpy(buf.p, p, n_params * sizeof(floating))
                memcpy(buf.m1, m1, n_params * sizeof(floating))
                if buf.m2 != NULL:
                    memcpy(buf.m2, m2, n_params * sizeof(floating))
            _epoch_thread(net, rule[0], buf, work, part, data, rows, n_samples,
                          batch_size, n_parts, tid, openmp.omp_get_num_threads(),
                          step_mode, slice_len, sumsq, state)


def max_threads():
    """OpenMP's thread limit for the calling thread (OMP_NUM_THREADS, or
    what threadpoolctl set)."""
    return openmp.omp_get_max_threads()


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
        and backward on n_threads OpenMP threads (with n_threads > 1, BLAS
        must be single-threaded: the caller's job), each into its own
        gradient buffer. Results depend on n_parts (the order of the
        gradient sums), not on n_threads.

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
    cdef int step_mode
    cdef void* step_block       # _step_buffers' block, for the whole fit
    cdef PartLayout part
    cdef Data data

    def __dealloc__(self):
        free(self.step_block)

    def __init__(self, Network network, params, grads, moment_1, moment_2, work, X,
                 X_data, X_indices, X_indptr, Y, sample_weight,
                 const Py_ssize_t[::1] order, Py_ssize_t batch_size, bint gather,
                 Py_ssize_t n_parts, int n_threads):
        cdef Py_ssize_t i, n_rows
        if n_parts < 1 or batch_size < 1 or order.shape[0] < 1:
            raise ValueError("an epoch needs rows, a batch size and a part")
        self.network = network
        self.batch_size = batch_size
        self.n_parts = n_parts
        self._arrays = (params, grads, moment_1, moment_2, work, X, X_data, X_indices,
                        X_indptr, Y, sample_weight, order)
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
        self.step_mode = (OWN_STEPS if network.net.n_params < MIN_THREADED_STEP
                          else SHARED_STEP)
        free(self.step_block)
        if self.single:
            self.step_block = _step_buffers(
                &network.net, <float*>self.p, <float*>self.g, <float*>self.m1,
                <float*>self.m2, n_parts, self.n_threads, self.step_mode)
        else:
            self.step_block = _step_buffers(
                &network.net, <double*>self.p, <double*>self.g, <double*>self.m1,
                <double*>self.m2, n_parts, self.n_threads, self.step_mode)
        if self.step_block == NULL:
            raise MemoryError()

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
            signal handler raised, which stops it at the next minibatch's
            barrier (that minibatch's parts run but its step is not taken).
        finite : bool
            False when the epoch stopped on a non-finite parameter, or ended
            with non-finite optimizer state.
        interrupt : BaseException or None
            What a signal handler raised (KeyboardInterrupt on Ctrl-C), for
            the caller to re-raise once it has kept the state reached so far.
        """
        cdef _EpochState state = _EpochState(0, 0, settings.rule.t, True, -1, NULL)
        if n_state_buffers(&settings.rule) > 1 and self.m2 == NULL:
            raise ValueError("this optimizer needs a second state buffer per parameter")
        if self.single:
            _run_epoch(self, <float*>self.p, &settings.rule, &state)
        else:
            _run_epoch(self, <double*>self.p, &settings.rule, &state)
        settings.rule.t = state.t
        interrupt = None
        if state.interrupt != NULL:
            interrupt = <object>state.interrupt
            Py_DECREF(interrupt)   # <object> took a new reference; the state's goes
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


cdef void _run_epoch(Epochs e, floating* p, const StepRule* rule,
                     _EpochState* state) noexcept:
    """Epochs.run for e's dtype (p is e.p, typed)."""
    cdef const Net* net = &e.network.net
    cdef floating* m1 = <floating*>e.m1
    cdef floating* m2 = <floating*>e.m2
    with nogil:
        _epoch_threads(net, rule, p, m1, m2, <_StepBuffers*>e.step_block, e.step_mode,
                       <floating*>e.work, &e.part, &e.data, e.order, e.n_samples,
                       e.batch_size, e.n_parts, e.n_threads, state)
        if state.finite:
            state.finite = state_finite(rule, m1, m2, net.n_params)
