"""Training passes: one stochastic epoch, and the full-data loss and gradient
for lbfgs. Each is one call from Python with the GIL released throughout.

Sparse X is passed as its CSR arrays with an empty dense X (shape (0, 0));
an empty sample_weight means unit weights.
"""
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from cython cimport floating
from cython.parallel cimport prange, parallel
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
cimport openmp

from ._interrupt cimport check_due, monotonic_seconds

from ._network cimport Network, Net, Work, Input, forward, backward, \
    finalize_gradient, layer_activations, layer_delta, fill_ones, set_input, all_finite
from ._losses cimport output_loss_delta, LOG_LOSS
from ._optimizers cimport adam_step, sgd_step, adam_learning_rate, ADAM
from ._blas cimport _dot
import numpy as np
from libc.math cimport isfinite

cdef extern from *:
    """
    /* An orphaned barrier: it binds to whatever parallel region calls it,
       and outside one (a single thread) it does nothing. */
    static void fastmlp_omp_barrier(void) {
    #pragma omp barrier
    }
    """
    void _barrier "fastmlp_omp_barrier"() noexcept nogil


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


cdef int _prepare(const Net* net, const Work* w, Py_ssize_t n_parts,
                  const floating[::1] params, const floating[::1] grads,
                  const floating[::1] work, const floating[:, ::1] X,
                  const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                  const Py_ssize_t[::1] X_indptr, Py_ssize_t n_rows,
                  const floating[::1] sample_weight,
                  Input* inp) except -1:   # OUT
    """Check the buffers' sizes for n_parts row parts of w's layout and for
    n_rows rows of data (dense X, or the CSR arrays when X has no rows), and
    set inp to read dense X or the CSR arrays."""
    if n_parts < 1 or work.shape[0] < n_parts * w.size \
            or params.shape[0] != net.n_params \
            or grads.shape[0] < n_parts * net.n_params:
        raise ValueError("work or parameter buffer of the wrong size")
    if sample_weight.shape[0] not in (0, n_rows) or (
            X.shape[0] > 0 and X.shape[0] != n_rows) or (
            X.shape[0] == 0 and X_indptr.shape[0] != n_rows + 1):
        raise ValueError("X, Y and sample_weight have different numbers of rows")
    if X.shape[0] > 0 and X.shape[1] != net.units[0]:
        raise ValueError(f"X has {X.shape[1]} columns for {net.units[0]} inputs")
    if X.shape[0] > 0:
        set_input(inp, NULL, NULL, NULL, NULL)
    else:
        set_input(inp, NULL, &X_data[0], &X_indices[0], &X_indptr[0])
    return 0


cdef double _part_loss_gradient(
        const Net* net, const floating* p,
        floating* g,                    # OUT raw gradient sums of these rows
        floating* wk, const Work* w,    # this part's work buffer
        const floating* X,              # IN dense X (NULL when sparse)
        Input inp,                      # the CSR arrays when sparse
        bint gather,
        const floating* Y, Py_ssize_t n_targets,
        const floating* sample_weight,  # NULL: unit weights
        const Py_ssize_t* rows,         # IN the rows of X, in order
        Py_ssize_t n_rows, floating delta_scale,
        double* sw_sum) noexcept nogil:  # OUT
    """Gather `rows`, forward, loss and output delta, backward into g;
    returns sum_i sw_i loss_i over the rows."""
    cdef Py_ssize_t r, row
    cdef Py_ssize_t n_features = net.units[0]
    cdef Py_ssize_t n_outputs = net.units[net.n_layers]
    cdef floating* xbuf = wk + w.x
    cdef floating* ybuf = wk + w.y
    cdef floating* swbuf = wk + w.sw
    cdef double loss
    for r in range(n_rows):
        row = rows[r]
        memcpy(ybuf + r * n_targets, Y + row * n_targets, n_targets * sizeof(floating))
        if sample_weight != NULL:
            swbuf[r] = sample_weight[row]
        if X != NULL and gather:
            memcpy(xbuf + r * n_features, X + row * n_features,
                   n_features * sizeof(floating))
    if X != NULL:
        inp.x = xbuf if gather else X + rows[0] * n_features
    else:
        inp.rows = rows
    if sample_weight != NULL:
        sw_sum[0] = 0
        for r in range(n_rows):
            sw_sum[0] += swbuf[r]
    else:
        sw_sum[0] = n_rows
    forward(net, p, &inp, n_rows, wk, w)
    loss = output_loss_delta(
        layer_activations(net, wk, w, net.n_layers),
        p + net.intercept_start[net.n_layers - 1], ybuf,
        swbuf if sample_weight != NULL else NULL, n_rows, n_outputs, n_targets,
        net.output, delta_scale, layer_delta(net, wk, w, net.n_layers))
    backward(net, p, g, &inp, n_rows, wk, w, False)
    return loss


cdef inline void _part_range(Py_ssize_t n_rows, Py_ssize_t n_parts, Py_ssize_t q,
                             Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:  # OUT
    """Rows lo:hi of the q-th of n_parts equal parts of n_rows rows (the last
    parts are short or empty)"""
    cdef Py_ssize_t part_rows = (n_rows + n_parts - 1) // n_parts
    lo[0] = min(q * part_rows, n_rows)
    hi[0] = min(lo[0] + part_rows, n_rows)


cdef void _minibatch_part(
        const Net* net, const floating* p,
        floating* g,                    # OUT n_parts gradients, back to back
        floating* wk, const Work* w,    # n_parts work buffers, back to back
        const floating* X, Input inp, bint gather,
        const floating* Y, Py_ssize_t n_targets, const floating* sample_weight,
        const Py_ssize_t* rows,         # IN the minibatch's rows
        Py_ssize_t n_rows, Py_ssize_t n_parts, Py_ssize_t q, floating delta_scale,
        double* part_loss, double* part_sw) noexcept nogil:  # OUT [q]
    """_part_loss_gradient on the q-th of n_parts parts of a minibatch"""
    cdef Py_ssize_t lo, hi
    _part_range(n_rows, n_parts, q, &lo, &hi)
    if lo < hi:
        part_loss[q] = _part_loss_gradient(
            net, p, g + q * net.n_params, wk + q * w.size, w, X, inp, gather, Y,
            n_targets, sample_weight, rows + lo, hi - lo, delta_scale, &part_sw[q])
    else:
        # a short last minibatch leaves a part without rows
        memset(g + q * net.n_params, 0, net.n_params * sizeof(floating))
        part_loss[q] = 0
        part_sw[q] = 0


cdef void _step_slice(
        const Net* net, floating* p,
        const floating* g,              # IN n_parts gradients, back to back
        floating* g_sum,                # OUT their sum (may be g: in place)
        Py_ssize_t n_parts, Py_ssize_t q, Py_ssize_t slice_len,
        floating* moment_1, floating* moment_2, int solver,
        double learning_rate, double momentum, bint nesterov,
        double beta_1, double beta_2, double epsilon,
        double alpha, double sw_sum,
        double* slice_sumsq) noexcept nogil:  # OUT [2q], [2q + 1]: sums of squares
                                              # of coefficients, intercepts after
    """Over the q-th slice of slice_len parameters: add the parts' gradients
    into g_sum (in part order, so the result does not depend on which
    thread ran what), take the optimizer step, and sum the squares of the new
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
    if solver == ADAM:
        adam_step(p + start, g_sum + start, moment_1 + start, moment_2 + start,
                  n_coefs, n, alpha, sw_sum, learning_rate, beta_1, beta_2, epsilon)
    else:
        sgd_step(p + start, g_sum + start, moment_1 + start, n_coefs, n, alpha,
                 sw_sum, learning_rate, momentum, nesterov)
    slice_sumsq[2 * q] = _dot(<int>n_coefs, p + start, p + start)
    slice_sumsq[2 * q + 1] = _dot(<int>(n - n_coefs), p + start + n_coefs,
                                  p + start + n_coefs)


cdef enum:
    # fewest parameters whose optimizer step is spread over threads; below
    # it every thread takes the whole step on its own copy of the parameters
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
    # parameters and moments it steps. With a shared step every thread points
    # at the same ones; with own steps, at buffers of its own (thread 0 at
    # the model's), and the parts' buffers alternate between minibatches, so
    # a thread that is ahead never overwrites what another is still adding.
    # (void*: a struct cannot hold fused types; the thread casts them)
    void* p
    void* m1
    void* m2
    void* g_sum            # the parts' gradients added up (own steps)
    void* g[2]             # n_parts gradients, back to back; [1]: the other
                           # minibatch's (own steps) or the same
    double* part_loss[2]   # per part: loss, then weight sum after n_parts
    double* slice_sumsq    # per slice: sums of squares (shared step)


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
        const Net* net, _StepBuffers* buf,
        floating* wk, const Work* w, const floating* x, Input inp, bint gather,
        const floating* y, Py_ssize_t n_targets, const floating* sw,
        const Py_ssize_t* rows, Py_ssize_t n_samples, Py_ssize_t batch_size,
        Py_ssize_t n_parts, int tid, int n_threads, int step_mode,
        int solver, double learning_rate, double momentum, bint nesterov,
        double beta_1, double beta_2, double epsilon, double alpha,
        floating delta_scale, Py_ssize_t slice_len, double sumsq,
        _EpochState* state) noexcept nogil:
    """The minibatch loop as thread tid of n_threads runs it, all threads in
    one parallel region for the whole epoch (a region per minibatch cost
    ~1.1 us of make_moons' ~8 us minibatch).

    Thread tid runs parts tid, tid + n_threads, ...; after a barrier every
    thread sums the same parts' losses and weights (so all agree on the rate
    and on when to stop). Then either every thread takes the whole step on
    its own copy of the parameters (OWN_STEPS: the same operations on the
    same numbers, so the copies stay equal, and no second barrier), or the
    threads step slices of the shared parameters and, after a second
    barrier, read each other's sums of squares (SHARED_STEP). Thread 0
    alone keeps the loss and runs the signal handlers. Called directly, with
    one thread, the barriers do nothing.
    """
    cdef Py_ssize_t start = 0, n_rows, q, n_slices, batch = 0
    cdef Py_ssize_t t = state.t
    cdef double batch_loss, sw_sum, sumsq_next, lr
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
            _minibatch_part(net, p, g, wk, w, x, inp, gather, y, n_targets, sw,
                            rows + start, n_rows, n_parts, q, delta_scale,
                            part_loss, part_loss + n_parts)
            q += n_threads
        _barrier()
        if state.stop_batch == batch:
            break
        batch_loss = 0
        sw_sum = 0
        for q in range(n_parts):
            batch_loss += part_loss[q]
            sw_sum += part_loss[n_parts + q]
        if solver == ADAM:
            t += 1
            lr = adam_learning_rate(learning_rate, beta_1, beta_2, t)
        else:
            lr = learning_rate
        # the step finishes the gradient (L2, 1 / sw_sum) as it goes
        if step_mode == OWN_STEPS:
            _step_slice(net, p, g, <floating*>buf.g_sum, n_parts, 0, net.n_params,
                        m1, m2, solver, lr, momentum, nesterov, beta_1,
                        beta_2, epsilon, alpha, sw_sum, slice_sumsq)
            n_slices = 1
        else:
            q = tid
            while q < n_parts:
                _step_slice(net, p, g, g, n_parts, q, slice_len, m1, m2,
                            solver, lr, momentum, nesterov, beta_1, beta_2, epsilon,
                            alpha, sw_sum, slice_sumsq)
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
        state.t = t
        state.finite = finite


cdef void* _step_buffers(const Net* net, floating* p, floating* g, floating* m1,
                         floating* m2, Py_ssize_t n_parts, int n_threads,
                         int step_mode) noexcept nogil:
    """One block for the fit: a _StepBuffers per thread, then per part its
    loss and weight sum (twice, for alternating minibatches) and two sums of
    squares of its parameter slice, then, for own steps on several threads,
    the alternate parts' gradients and per thread a gradient sum plus
    (thread > 0) copies of the parameters and moments. NULL when out of
    memory; free() it."""
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
        const Net* net, floating* p, floating* m1, floating* m2, _StepBuffers* bufs,
        int step_mode, floating* wk, const Work* w, const floating* x, Input inp,
        bint gather, const floating* y, Py_ssize_t n_targets, const floating* sw,
        const Py_ssize_t* rows, Py_ssize_t n_samples, Py_ssize_t batch_size,
        Py_ssize_t n_parts, int n_threads,
        int solver, double learning_rate, double momentum, bint nesterov,
        double beta_1, double beta_2, double epsilon, double alpha,
        floating delta_scale, _EpochState* state) noexcept nogil:
    """Run the epoch on n_threads threads, with bufs from _step_buffers."""
    cdef Py_ssize_t n_params = net.n_params
    # slices of whole cache lines, so no two threads write the same line
    cdef Py_ssize_t slice_len = ((n_params + n_parts - 1) // n_parts + 15) // 16 * 16
    cdef double sumsq = _dot(<int>net.n_coefs, p, p)
    cdef int tid
    cdef _StepBuffers* buf
    if n_threads == 1:
        _epoch_thread(net, bufs, wk, w, x, inp, gather, y, n_targets, sw, rows,
                      n_samples, batch_size, n_parts, 0, 1, step_mode, solver,
                      learning_rate, momentum, nesterov, beta_1, beta_2, epsilon,
                      alpha, delta_scale, slice_len, sumsq, state)
    else:
        with parallel(num_threads=n_threads):
            tid = openmp.omp_get_thread_num()
            buf = bufs + tid
            if buf.p != <void*>p:
                memcpy(buf.p, p, n_params * sizeof(floating))
                memcpy(buf.m1, m1, n_params * sizeof(floating))
                if buf.m2 != NULL:
                    memcpy(buf.m2, m2, n_params * sizeof(floating))
            _epoch_thread(net, buf, wk, w, x, inp, gather, y, n_targets, sw, rows,
                          n_samples, batch_size, n_parts, tid,
                          openmp.omp_get_num_threads(), step_mode, solver,
                          learning_rate, momentum, nesterov, beta_1, beta_2,
                          epsilon, alpha, delta_scale, slice_len, sumsq, state)


def max_threads():
    """OpenMP's thread limit for the calling thread (OMP_NUM_THREADS, or
    what threadpoolctl set)."""
    return openmp.omp_get_max_threads()


cdef class Epochs:
    """The stochastic epochs of one fit: its buffers and fixed settings,
    checked and held once, so that each epoch's call passes only what may
    change between epochs (acquiring a dozen typed memoryviews per call cost
    ~2 us, as much as a make_moons minibatch).

    Parameters
    ----------
    network : Network
    params : ndarray of float32 or float64, (n_params,)
        IN/OUT flat parameters.
    grads : ndarray, (n_parts * n_params,)
        Work: a flat gradient per part.
    moment_1, moment_2 : ndarray, (n_params,)
        IN/OUT SGD's velocity (moment_2 unused, may be shorter) or Adam's m
        and v.
    work : ndarray
        Work: n_parts * network.work_size(part_rows, gather) values.
    X : ndarray, (n_samples, n_features)
        IN dense X, or (0, 0) when X is sparse.
    X_data, X_indices, X_indptr : ndarray
        IN the CSR arrays of a sparse X (empty when X is dense).
    Y : ndarray, (n_samples, n_targets)
        IN targets.
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
    cdef void* wk
    cdef const void* x
    cdef const void* y
    cdef const void* sw
    cdef const Py_ssize_t* order
    cdef Py_ssize_t n_samples, n_targets, batch_size, n_parts
    cdef bint gather
    cdef int n_threads
    cdef int step_mode
    cdef void* step_block       # _step_buffers' block, for the whole fit
    cdef Work w
    cdef Input inp

    def __dealloc__(self):
        free(self.step_block)

    def __init__(self, Network network, params, grads, moment_1, moment_2, work, X,
                 X_data, X_indices, X_indptr, Y, sample_weight,
                 const Py_ssize_t[::1] order, Py_ssize_t batch_size, bint gather,
                 Py_ssize_t n_parts, int n_threads):
        cdef Py_ssize_t i
        if n_parts < 1 or batch_size < 1 or order.shape[0] < 1:
            raise ValueError("an epoch needs rows, a batch size and a part")
        self.network = network
        self.batch_size = batch_size
        self.gather = gather
        self.n_parts = n_parts
        self._arrays = (params, grads, moment_1, moment_2, work, X, X_data, X_indices,
                        X_indptr, Y, sample_weight, order)
        self.single = params.dtype == np.float32
        if self.single:
            _hold[float](self, params, grads, moment_1, moment_2, work, X, X_data,
                         X_indices, X_indptr, Y, sample_weight)
        else:
            _hold[double](self, params, grads, moment_1, moment_2, work, X, X_data,
                          X_indices, X_indptr, Y, sample_weight)
        if order.shape[0] > Y.shape[0]:
            raise ValueError("more rows in the order than in the data")
        for i in range(order.shape[0]):
            if not 0 <= order[i] < Y.shape[0]:
                raise ValueError(f"row {order[i]} out of range")
        self.order = &order[0]
        self.n_samples = order.shape[0]
        self.n_threads = max(1, min(n_threads, <int>n_parts))
        # Networks under MIN_THREADED_STEP parameters step on every thread (a
        # few thousand parameters take less time to step than a barrier
        # takes: make_moons' 65 step in ~0.2 us), each on its own copy;
        # bigger ones share the step out by slices.
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

    def run(self, int solver, double learning_rate, double momentum, bint nesterov,
            double beta_1, double beta_2, double epsilon, double alpha,
            double delta_scale, Py_ssize_t t):
        """Run every minibatch of one epoch: gather, forward, loss, backward,
        step.

        Parameters
        ----------
        solver : int
            An `_optimizers.Solver`.
        learning_rate, momentum, nesterov, beta_1, beta_2, epsilon : float
            The optimizer's settings (momentum and nesterov: SGD; the betas
            and epsilon: Adam).
        alpha : float
            L2 penalty.
        delta_scale : float
            Factor on the output delta.
        t : int
            Adam's time step before the epoch.

        Returns
        -------
        loss_sum : float
            Sum over minibatches of batch loss times batch size.
        t : int
            Adam's time step after the epoch.
        n_batches : int
            Minibatches completed; fewer than in the epoch when a parameter
            became non-finite, which stops the epoch at that minibatch, or a
            signal handler raised, which stops it at the next minibatch's
            barrier (that minibatch's parts run but its step is not taken).
        finite : bool
            False when the epoch stopped on a non-finite parameter, or ended
            with a non-finite Adam moment.
        interrupt : BaseException or None
            What a signal handler raised (KeyboardInterrupt on Ctrl-C), for
            the caller to re-raise once it has kept the state reached so far.
        """
        cdef _EpochState state = _EpochState(0, 0, t, True, -1, NULL)
        if solver == ADAM and self.m2 == NULL:
            raise ValueError("Adam needs a second moment per parameter")
        if self.single:
            _run_epoch(self, <float*>self.p, solver, learning_rate, momentum, nesterov,
                       beta_1, beta_2, epsilon, alpha, delta_scale, &state)
        else:
            _run_epoch(self, <double*>self.p, solver, learning_rate, momentum, nesterov,
                       beta_1, beta_2, epsilon, alpha, delta_scale, &state)
        interrupt = None
        if state.interrupt != NULL:
            interrupt = <object>state.interrupt
            Py_DECREF(interrupt)   # <object> took a new reference; the state's goes
        return state.loss_sum, state.t, state.n_batches, state.finite, interrupt


cdef int _hold(Epochs e, floating[::1] params, floating[::1] grads,
               floating[::1] moment_1, floating[::1] moment_2, floating[::1] work,
               const floating[:, ::1] X, const floating[::1] X_data,
               const Py_ssize_t[::1] X_indices, const Py_ssize_t[::1] X_indptr,
               const floating[:, ::1] Y, const floating[::1] sample_weight) except -1:
    """Check the buffers of e's epochs, take their pointers, and set the
    work buffers' vectors of ones (nothing else writes them)."""
    cdef const Net* net = &e.network.net
    cdef Py_ssize_t q
    cdef Py_ssize_t part_rows = (e.batch_size + e.n_parts - 1) // e.n_parts
    cdef const floating* x = &X[0, 0] if X.shape[0] > 0 else NULL
    e.w = e.network.work_layout(part_rows, e.gather)
    e.n_targets = _check_targets(net, Y)
    _prepare(net, &e.w, e.n_parts, params, grads, work, X, X_data, X_indices,
             X_indptr, Y.shape[0], sample_weight, &e.inp)
    if moment_1.shape[0] != net.n_params or (
            moment_2.shape[0] != net.n_params and moment_2.shape[0] > 1):
        raise ValueError("optimizer moments of the wrong size")
    e.p = &params[0]
    e.g = &grads[0]
    e.m1 = &moment_1[0]
    e.m2 = &moment_2[0] if moment_2.shape[0] == net.n_params else NULL
    e.wk = &work[0]
    e.x = x
    e.y = &Y[0, 0]
    e.sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    for q in range(e.n_parts):
        fill_ones(&work[0] + q * e.w.size, &e.w)
    return 0


cdef void _run_epoch(Epochs e, floating* p, int solver, double learning_rate,
                     double momentum, bint nesterov, double beta_1, double beta_2,
                     double epsilon, double alpha, double delta_scale,
                     _EpochState* state) noexcept:
    """Epochs.run for e's dtype (p is e.p, typed)."""
    cdef const Net* net = &e.network.net
    cdef floating* wk = <floating*>e.wk
    cdef floating* m1 = <floating*>e.m1
    cdef floating* m2 = <floating*>e.m2
    with nogil:
        _epoch_threads(
            net, p, m1, m2, <_StepBuffers*>e.step_block, e.step_mode, wk, &e.w,
            <const floating*>e.x, e.inp, e.gather, <const floating*>e.y, e.n_targets,
            <const floating*>e.sw, e.order, e.n_samples, e.batch_size, e.n_parts,
            e.n_threads, solver, learning_rate, momentum, nesterov, beta_1, beta_2,
            epsilon, alpha, <floating>delta_scale, state)
        # An overflowed moment leaves the parameters finite but frozen
        # (m / sqrt(inf) = 0 at every later step): divergence all the same.
        if state.finite and solver == ADAM:
            state.finite = (all_finite(m1, net.n_params) and all_finite(m2, net.n_params))


cdef double _rows_loss_gradient(
        const Net* net, const floating* p,
        floating* g,                    # OUT (or += when accumulate) raw gradient sums
        floating* wk, const Work* w,    # this part's work buffer
        const floating* X,              # IN dense X (NULL when sparse)
        Input inp,                      # the CSR arrays when sparse
        const floating* Y, Py_ssize_t n_targets,
        const floating* sample_weight,  # NULL: unit weights
        Py_ssize_t start, Py_ssize_t n_rows, floating delta_scale,
        bint accumulate) noexcept nogil:
    """Forward, loss and output delta, backward over rows start:start+n_rows
    of X, read in place; returns sum_i sw_i loss_i over the rows."""
    cdef double loss
    if X != NULL:
        inp.x = <void*>(X + start * net.units[0])
    else:
        inp.row_start = start
    forward(net, p, &inp, n_rows, wk, w)
    loss = output_loss_delta(
        layer_activations(net, wk, w, net.n_layers),
        p + net.intercept_start[net.n_layers - 1], Y + start * n_targets,
        sample_weight + start if sample_weight != NULL else NULL, n_rows,
        net.units[net.n_layers], n_targets, net.output, delta_scale,
        layer_delta(net, wk, w, net.n_layers))
    backward(net, p, g, &inp, n_rows, wk, w, accumulate)
    return loss


cdef void _chunk_part(
        const Net* net, const floating* p,
        floating* g,                    # OUT (or +=) n_parts gradients, back to back
        floating* wk, const Work* w,    # n_parts work buffers, back to back
        const floating* X, Input inp, const floating* Y, Py_ssize_t n_targets,
        const floating* sample_weight, Py_ssize_t start, Py_ssize_t n_rows,
        Py_ssize_t n_parts, Py_ssize_t q, floating delta_scale,
        double* part_loss) noexcept nogil:  # OUT [q]
    """_rows_loss_gradient on the q-th of n_parts parts of the chunk of rows
    start:start+n_rows, accumulating after the first chunk"""
    cdef Py_ssize_t lo, hi
    _part_range(n_rows, n_parts, q, &lo, &hi)
    part_loss[q] = 0
    if lo < hi:
        part_loss[q] = _rows_loss_gradient(
            net, p, g + q * net.n_params, wk + q * w.size, w, X, inp, Y, n_targets,
            sample_weight, start + lo, hi - lo, delta_scale, start > 0)
    elif start == 0:
        # a part without rows in the first chunk starts at zero
        memset(g + q * net.n_params, 0, net.n_params * sizeof(floating))


def loss_gradient(Network network,
                  floating[::1] params,        # IN flat parameters
                  floating[::1] grads,         # OUT flat gradient in [:n_params];
                                               # work: n_parts flat gradients
                  floating[::1] work,          # work: n_parts *
                                               # network.work_size(part_rows, False)
                  const floating[:, ::1] X, const floating[::1] X_data,
                  const Py_ssize_t[::1] X_indices, const Py_ssize_t[::1] X_indptr,
                  const floating[:, ::1] Y, const floating[::1] sample_weight,
                  Py_ssize_t chunk_rows, Py_ssize_t n_parts, int n_threads,
                  double alpha, double delta_scale):
    """Loss over all rows (plus the L2 term) and its gradient, in row chunks
    so memory stays bounded; the chunks' gradients accumulate in place. Each
    chunk is cut into n_parts row parts run on n_threads OpenMP threads (BLAS
    single-threaded then: the caller's job), each accumulating into its own
    gradient buffer, summed in part order at the end. What a signal handler
    raises (KeyboardInterrupt) propagates.

    Returns
    -------
    loss : float
    """
    cdef Net* net = &network.net
    cdef Py_ssize_t part_rows = (chunk_rows + n_parts - 1) // max(n_parts, 1)
    cdef Work w = network.work_layout(part_rows, False)
    cdef Py_ssize_t n_samples = Y.shape[0]
    cdef Py_ssize_t n_targets = _check_targets(net, Y)
    cdef Py_ssize_t start, n_rows, r, q, i
    cdef bint weighted = sample_weight.shape[0] > 0
    cdef double loss_sum = 0, sw_sum = 0, sumsq
    cdef floating* wk = &work[0]
    cdef floating* p = &params[0]
    cdef floating* g = &grads[0]
    cdef const floating* x = &X[0, 0] if X.shape[0] > 0 else NULL
    cdef const floating* y = &Y[0, 0]
    cdef const floating* sw = &sample_weight[0] if weighted else NULL
    cdef const floating* gq
    cdef double* part_loss
    cdef Input inp
    cdef double last_check = monotonic_seconds()

    _prepare(net, &w, n_parts, params, grads, work, X, X_data, X_indices, X_indptr,
             n_samples, sample_weight, &inp)
    part_loss = <double*>malloc(n_parts * sizeof(double))
    if part_loss == NULL:
        raise MemoryError()

    try:
        with nogil:
            for q in range(n_parts):
                fill_ones(wk + q * w.size, &w)
            start = 0
            while start < n_samples:
                n_rows = chunk_rows if n_samples - start >= chunk_rows else n_samples - start
                if n_threads == 1:
                    for q in range(n_parts):
                        _chunk_part(net, p, g, wk, &w, x, inp, y, n_targets, sw, start,
                                    n_rows, n_parts, q, <floating>delta_scale, part_loss)
                else:
                    for q in prange(n_parts, num_threads=n_threads, schedule="static"):
                        _chunk_part(net, p, g, wk, &w, x, inp, y, n_targets, sw, start,
                                    n_rows, n_parts, q, <floating>delta_scale, part_loss)
                for q in range(n_parts):
                    loss_sum += part_loss[q]
                start += n_rows
                if check_due(&last_check):
                    with gil:
                        PyErr_CheckSignals()
            for q in range(1, n_parts):
                gq = g + q * net.n_params
                for i in range(net.n_params):
                    g[i] += gq[i]
            if weighted:
                for r in range(n_samples):
                    sw_sum += sample_weight[r]
            else:
                sw_sum = n_samples
            sumsq = finalize_gradient(net, p, g, alpha, sw_sum)
    finally:
        free(part_loss)
    return loss_sum / sw_sum + 0.5 * alpha * sumsq / sw_sum
