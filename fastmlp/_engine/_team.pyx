"""A fit's team of threads (see _team.pxd): on_threads holds it in one
parallel region while the fit's loop runs in thread 0; run_post hands it an
epoch's or a loss-and-gradient pass's rounds and runs thread 0's share."""
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from cython.parallel cimport parallel
from posix.time cimport nanosleep, timespec, time_t

from ._interrupt cimport check_due, monotonic_seconds
from ._openmp cimport FASTMLP_OPENMP, omp_get_num_threads, omp_get_thread_num

cdef extern from *:
    """
    /* The team whose region the calling thread is thread 0 of, if any. */
    static __thread fastmlp_team* fastmlp_current_team = NULL;
    static fastmlp_team* fastmlp_get_current(void) { return fastmlp_current_team; }
    static void fastmlp_set_current(fastmlp_team* team) { fastmlp_current_team = team; }
    """
    fastmlp_team* fastmlp_get_current() noexcept nogil
    void fastmlp_set_current(fastmlp_team* team) noexcept nogil
    unsigned fastmlp_post(fastmlp_team* team, int kind, const void* args,
                          size_t size) noexcept nogil
    unsigned fastmlp_take_post(fastmlp_team* team, unsigned last, int* kind, void* args,
                               double spin_seconds) noexcept nogil
    bint fastmlp_claim(unsigned* stamp, unsigned r) noexcept nogil
    bint fastmlp_finish(fastmlp_team* team, long long round_end) noexcept nogil
    void fastmlp_open(fastmlp_team* team, unsigned opened) noexcept nogil
    void fastmlp_wait_round(fastmlp_team* team, unsigned r, double spin_seconds) noexcept nogil
    void fastmlp_close_post(fastmlp_team* team, unsigned id, unsigned end, bint stopped,
                            long n_jobs) noexcept nogil
    bint fastmlp_is_closed(fastmlp_team* team, unsigned id) noexcept nogil
    void fastmlp_wait_closed(fastmlp_team* team, unsigned id, double spin_seconds) noexcept nogil
    void fastmlp_set_flag(int* flag) noexcept nogil
    double fastmlp_now() noexcept nogil
    long fastmlp_solo_count
    int fastmlp_crowded(fastmlp_team* team, double now) noexcept nogil
    void fastmlp_end_solo(fastmlp_team* team) noexcept nogil
    void fastmlp_go_solo(fastmlp_team* team, double now) noexcept nogil
    void fastmlp_rest(fastmlp_team* team, double seconds) noexcept nogil
    double fastmlp_sitting_out(fastmlp_team* team, int tid) noexcept nogil
    void fastmlp_sit_out(fastmlp_team* team, unsigned id, double seconds) noexcept nogil
    void fastmlp_count(long* counter) noexcept nogil


# How long a thread spins for the next round or post before it sleeps:
# longer than rounds usually take to open (a part's imbalance, a small
# step), short enough that a descheduled thread soon gets the core back.
cdef double SPIN_SECONDS = 100e-6

cdef enum:
    WORK = 1    # a post's kind: run its rounds (0: leave)


cdef bint _signal_raised(PyObject** interrupt) noexcept with gil:
    """Run Python's signal handlers; keep what one raises in interrupt."""
    try:
        PyErr_CheckSignals()
    except BaseException as exc:
        Py_INCREF(exc)
        interrupt[0] = <PyObject*>exc
        return True
    return False


cdef void _sleep(double seconds) noexcept nogil:
    cdef timespec ts
    ts.tv_sec = <time_t>seconds
    ts.tv_nsec = <long>((seconds - ts.tv_sec) * 1e9)
    nanosleep(&ts, NULL)


cdef void _run_rounds(fastmlp_team* team, unsigned id, const Post* post,
                      int tid) noexcept nogil:
    """Post `id`'s rounds as thread tid runs them: wait for a round to open,
    claim and run jobs (its own first, then the others'), close the round
    after its last job, move on. It leaves after the last round without
    waiting for it to close, and as soon as the post is complete (this
    thread may have been descheduled long enough for the caller to post
    again). Thread 0 alone runs the signal handlers, between its jobs."""
    cdef unsigned r
    cdef Py_ssize_t k, q, i, n_jobs = post.n_jobs
    cdef int n_threads = post.n_threads
    cdef double last_check = monotonic_seconds()
    cdef double away
    cdef bint slow = post.slow_seconds > 0 and post.slow_thread in (-1, tid)
    for i in range(post.n_rounds):
        r = post.base + <unsigned>i
        away = fastmlp_sitting_out(team, tid)
        if away > 0:
            fastmlp_sit_out(team, id, away)
        fastmlp_wait_round(team, r, SPIN_SECONDS)
        if fastmlp_is_closed(team, id):
            break
        if slow and not post.slow_mid_job:
            _sleep(post.slow_seconds)
        for k in range(2 * n_jobs):
            # its own jobs (q = tid modulo n_threads) first, then the others'
            q = k % n_jobs
            if (q % n_threads == tid) != (k < n_jobs) \
                    or fastmlp_sitting_out(team, tid) > 0 \
                    or not fastmlp_claim(&team.stamps[q], r):
                continue
            if tid < post.n_counters:
                fastmlp_count(&post.jobs_run[tid])
            if slow and post.slow_mid_job:
                _sleep(post.slow_seconds)
            post.job(post, i, q)
            if fastmlp_finish(team, post.done_base + (i + 1) * n_jobs):
                _close(team, id, post, i)
        if tid == 0 and not fastmlp_flag(&post.signals.raised) \
                and check_due(&last_check) and _signal_raised(&post.signals.interrupt):
            fastmlp_set_flag(&post.signals.raised)


cdef void _close(fastmlp_team* team, unsigned id, const Post* post,
                 Py_ssize_t i) noexcept nogil:
    """After round i's last job, by the thread that ran it: the post's
    close, then the next round opens, or the post is complete (its last
    round, or a stop)."""
    cdef bint go_on = post.close(post, i)
    if go_on and i + 1 < post.n_rounds:
        fastmlp_open(team, post.base + <unsigned>(i + 2))
    else:
        fastmlp_close_post(team, id, post.base + <unsigned>post.n_rounds, not go_on,
                           post.n_jobs)


cdef void _serve(fastmlp_team* team, int tid) noexcept nogil:
    """A team thread other than 0: take each post and run its rounds, until
    the post that says leave."""
    cdef unsigned id = 0
    cdef int kind
    cdef double args[64]    # FASTMLP_ARGS_SIZE bytes, aligned for any field
    cdef double away
    while True:
        away = fastmlp_sitting_out(team, tid)
        if away > 0 and not fastmlp_flag(&team.leaving):
            fastmlp_rest(team, away)
            continue
        id = fastmlp_take_post(team, id, &kind, args, SPIN_SECONDS)
        if kind != WORK:
            break
        _run_rounds(team, id, <const Post*>args, tid)


cdef void _post_and_run(fastmlp_team* team, Post* post, size_t size) noexcept nogil:
    """Thread 0: publish the post to the team, run its share, and return
    once its work is complete."""
    cdef unsigned id
    cdef double now
    cdef int crowded
    if team.size > 1:
        now = fastmlp_now()
        crowded = fastmlp_crowded(team, now)
        if crowded == 1:
            fastmlp_go_solo(team, now)
        elif crowded == 0:
            fastmlp_end_solo(team)
    post.n_threads = team.size
    post.base = team.opened
    post.done_base = team.done
    id = fastmlp_post(team, WORK, post, size)
    fastmlp_open(team, post.base + 1)
    _run_rounds(team, id, post, 0)
    fastmlp_wait_closed(team, id, SPIN_SECONDS)


cdef void run_post(Post* post, size_t size, int n_threads,
                   fastmlp_team* own) noexcept nogil:
    """Run a post's rounds on the calling thread's team (on_threads), or
    else, with the caller's own team (stamps for the post's jobs), in a
    parallel region of n_threads for this post alone, or alone (one
    thread); return once its work is complete."""
    cdef fastmlp_team* team = fastmlp_get_current()
    if team != NULL and team.size > 1 and n_threads > 1 and post.n_jobs <= team.n_stamps:
        _post_and_run(team, post, size)
    elif n_threads <= 1:
        own.size = 1
        _post_and_run(own, post, size)
    else:
        with parallel(num_threads=n_threads):
            _one_post_member(own, post, size)


cdef void _one_post_member(fastmlp_team* team, Post* post, size_t size) noexcept nogil:
    """A thread of a region for one post: thread 0 posts and runs its share,
    then sends the others away; they serve it."""
    cdef int tid = omp_get_thread_num()
    if tid == 0:
        team.size = omp_get_num_threads()
        _post_and_run(team, post, size)
        fastmlp_post(team, 0, NULL, 0)
    else:
        _serve(team, tid)


cdef struct _Outcome:
    PyObject* result       # new references, or NULL
    PyObject* error


cdef void _call(PyObject* fn, _Outcome* out) noexcept with gil:
    try:
        result = (<object>fn)()
        Py_INCREF(result)
        out.result = <PyObject*>result
    except BaseException as exc:
        Py_INCREF(exc)
        out.error = <PyObject*>exc


cdef void _fit_member(fastmlp_team* team, PyObject* fn, _Outcome* outcome) noexcept nogil:
    """A thread of on_threads' region: thread 0 calls fn (the team is the
    calling thread's meanwhile), then sends the others away; they serve its
    posts."""
    cdef int tid = omp_get_thread_num()
    if tid == 0:
        team.size = omp_get_num_threads()
        fastmlp_set_current(team)
        _call(fn, outcome)
        fastmlp_set_current(NULL)
        fastmlp_post(team, 0, NULL, 0)
    else:
        _serve(team, tid)


# False in a build without OpenMP, where a team is one thread: fits then run
# on one thread (_threads.omp_threads).
OPENMP = bool(FASTMLP_OPENMP)


def on_threads(int n_threads, fn):
    """Call fn() with a team of n_threads threads ready for it: the epochs
    (Epochs.run) and loss gradients (loss_gradient) it runs in this thread
    run on the team, which waits between them, instead of each starting
    and ending a parallel region (where OpenMP waits for every thread, a
    descheduled one included). OpenMP loops fn reaches otherwise (early
    stopping's predictions) run nested, on one thread. Returns what fn
    returns; raises what it raises. With one thread, or inside another
    on_threads, it calls fn."""
    cdef fastmlp_team* team
    cdef _Outcome outcome = _Outcome(NULL, NULL)
    cdef PyObject* call = <PyObject*>fn
    if n_threads <= 1 or fastmlp_get_current() != NULL:
        return fn()
    # stamps for as many jobs per round as threads (a round's parts are one
    # per thread), or more
    team = fastmlp_team_new(n_threads, max(256, n_threads))
    if team == NULL:
        raise MemoryError()
    with nogil, parallel(num_threads=n_threads):
        _fit_member(team, call, &outcome)
    fastmlp_team_free(team)
    if outcome.error != NULL:
        error = <object>outcome.error
        Py_DECREF(error)   # <object> took a new reference; the outcome's goes
        raise error
    result = <object>outcome.result
    Py_DECREF(result)
    return result


def _solo_count():
    """Looks that found a team crowded and kept it solo, in this process
    (for the tests)."""
    return fastmlp_solo_count

