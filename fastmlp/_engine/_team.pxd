# A fit's threads (a team), and how they share its work without OpenMP
# barriers.
#
# The threads of a fit live in one parallel region for the whole fit
# (on_threads): between epochs (or lbfgs's gradients) they wait for the next
# piece of work, a post, instead of meeting at a region's end and start,
# where OpenMP waits for every thread of the team, a descheduled one
# included, spinning ~8 ms (GOMP_SPINCOUNT's 300k pauses).
#
# A post is a sequence of rounds (per minibatch: its row parts, then, for
# big networks, the slices of the optimizer step; per lbfgs chunk: its row
# parts). A round's jobs (its parts or slices) are claimed one at a time by
# whichever thread is free, its own jobs first (job q is thread q's, modulo
# the thread count, so a thread keeps its buffers in its cache), then the
# others'. The thread that finishes a round's last job closes it (sums in
# part order, takes a small step, ...) and opens the next. So a thread that
# is descheduled before it has claimed a job holds nobody up: the others
# take its jobs; only a job already begun is waited for. What a fit computes
# depends on the jobs, never on which thread ran them, or how many did.
#
# Rounds are numbered across posts (modulo 2**32, compared by difference), a
# job's stamp is 1 + the last round it was claimed in, and a post that stops
# early stamps its remaining rounds as claimed: a thread still walking an
# old post's rounds (descheduled meanwhile) finds nothing left to claim in
# them, and never runs a job with the old post's arguments.
#
# A waiting thread spins briefly (rounds usually open within microseconds),
# then sleeps on a futex: spinning on, it would hold the core a descheduled
# thread needs to finish its job.
from cpython.ref cimport PyObject

cdef extern from *:
    """
    #include <limits.h>
    #include <stdlib.h>
    #include <string.h>
    #include <time.h>
    #ifdef __linux__
    #include <linux/futex.h>
    #include <sys/syscall.h>
    #include <unistd.h>
    #else
    #include <sched.h>
    #endif

    #if defined(__x86_64__) || defined(__i386__)
    #define FASTMLP_PAUSE() __builtin_ia32_pause()
    #elif defined(__aarch64__)
    #define FASTMLP_PAUSE() __asm__ __volatile__("yield")
    #else
    #define FASTMLP_PAUSE() ((void)0)
    #endif

    #define FASTMLP_ARGS_SIZE 512

    /* Fields written by different threads sit on cache lines of their own. */
    typedef struct {
        /* posts: the caller publishes work, idle threads wait for it */
        unsigned post __attribute__((aligned(64)));  /* 2 x posts published;
                                                        odd while one is written */
        int idle_sleepers;
        int kind;                                     /* what the post is */
        char args[FASTMLP_ARGS_SIZE] __attribute__((aligned(64)));
        /* rounds, numbered across posts */
        unsigned opened __attribute__((aligned(64)));  /* round r is open
                                                          once opened - r > 0 */
        int sleepers __attribute__((aligned(64)));
        long long done __attribute__((aligned(64)));  /* jobs finished */
        unsigned closed __attribute__((aligned(64)));  /* the last post whose
                                                          work is complete */
        int caller_sleeping;
        int size;                                     /* threads in the team */
        long n_stamps;
        unsigned* stamps;
    } fastmlp_team;

    static inline int fastmlp_after(unsigned a, unsigned b) {
        return (int)(a - b) > 0;
    }

    static inline double fastmlp_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + 1e-9 * ts.tv_nsec;
    }

    static inline void fastmlp_futex_wait(unsigned* word, unsigned value) {
    #ifdef __linux__
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
    #else
        (void)word; (void)value;
        sched_yield();
    #endif
    }

    static inline void fastmlp_futex_wake(unsigned* word) {
    #ifdef __linux__
        syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    #else
        (void)word;
    #endif
    }

    /* Wait until `*word` differs from `value` (or passes it, `after`):
       spin for spin_seconds, then sleep, counted in `*sleepers` (the waker
       looks there, seq_cst on both sides, so no wake-up is lost). */
    static inline unsigned fastmlp_wait_word(unsigned* word, unsigned value, int after,
                                             int* sleepers, double spin_seconds) {
        unsigned v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        double start;
        long i;
        #define FASTMLP_DONE(v) (after ? fastmlp_after(v, value) : (v) != value)
        if (FASTMLP_DONE(v))
            return v;
        start = fastmlp_now();
        for (i = 1;; i++) {
            FASTMLP_PAUSE();
            v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
            if (FASTMLP_DONE(v))
                return v;
            if (i % 64 == 0 && fastmlp_now() - start > spin_seconds)
                break;
        }
        for (;;) {
            __atomic_add_fetch(sleepers, 1, __ATOMIC_SEQ_CST);
            v = __atomic_load_n(word, __ATOMIC_SEQ_CST);
            if (!FASTMLP_DONE(v))
                fastmlp_futex_wait(word, v);
            __atomic_sub_fetch(sleepers, 1, __ATOMIC_SEQ_CST);
            v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
            if (FASTMLP_DONE(v))
                return v;
        }
        #undef FASTMLP_DONE
    }

    static inline void fastmlp_store_wake(unsigned* word, unsigned value, int* sleepers) {
        __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(sleepers, __ATOMIC_SEQ_CST) > 0)
            fastmlp_futex_wake(word);
    }

    /* A team of `size` threads for jobs of up to n_stamps per round. */
    static fastmlp_team* fastmlp_team_new(int size, long n_stamps) {
        fastmlp_team* team;
        if (posix_memalign((void**)&team, 64, sizeof(fastmlp_team)) != 0)
            return NULL;
        memset(team, 0, sizeof(fastmlp_team));
        team->stamps = (unsigned*)calloc(n_stamps > 0 ? n_stamps : 1, sizeof(unsigned));
        if (team->stamps == NULL) {
            free(team);
            return NULL;
        }
        team->size = size;
        team->n_stamps = n_stamps;
        return team;
    }

    static void fastmlp_team_free(fastmlp_team* team) {
        if (team != NULL)
            free(team->stamps);
        free(team);
    }

    /* Publish a post (kind 0: leave); returns its id. Only the team's
       caller posts, one post at a time. */
    static inline unsigned fastmlp_post(fastmlp_team* team, int kind, const void* args,
                                        size_t size) {
        unsigned id = team->post + 2;
        __atomic_store_n(&team->post, id - 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        team->kind = kind;
        if (size > 0)
            memcpy(team->args, args, size);
        fastmlp_store_wake(&team->post, id, &team->idle_sleepers);
        return id;
    }

    /* Wait for a post other than `last` and copy it; returns its id. */
    static inline unsigned fastmlp_take_post(fastmlp_team* team, unsigned last, int* kind,
                                             void* args, double spin_seconds) {
        unsigned id, again;
        for (;;) {
            id = fastmlp_wait_word(&team->post, last, 0, &team->idle_sleepers,
                                   spin_seconds);
            if (id & 1) {            /* being written */
                FASTMLP_PAUSE();
                continue;
            }
            *kind = team->kind;
            memcpy(args, team->args, FASTMLP_ARGS_SIZE);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            again = __atomic_load_n(&team->post, __ATOMIC_RELAXED);
            if (again == id)
                return id;
        }
    }

    /* Claim a job for round r; 1 if this thread got it. */
    static inline int fastmlp_claim(unsigned* stamp, unsigned r) {
        unsigned s = __atomic_load_n(stamp, __ATOMIC_RELAXED);
        while (fastmlp_after(r + 1, s)) {
            if (__atomic_compare_exchange_n(stamp, &s, r + 1, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED))
                return 1;
        }
        return 0;
    }

    /* Count a finished job; 1 if the jobs finished reach round_end (it was
       the round's last). */
    static inline int fastmlp_finish(fastmlp_team* team, long long round_end) {
        return __atomic_add_fetch(&team->done, 1, __ATOMIC_ACQ_REL) == round_end;
    }

    static inline void fastmlp_open(fastmlp_team* team, unsigned opened) {
        fastmlp_store_wake(&team->opened, opened, &team->sleepers);
    }

    static inline void fastmlp_wait_round(fastmlp_team* team, unsigned r,
                                          double spin_seconds) {
        fastmlp_wait_word(&team->opened, r, 1, &team->sleepers, spin_seconds);
    }

    /* Post `id`'s work is complete, its rounds running up to `end`: those
       not run are stamped as claimed and opened, so that no thread still
       in them claims anything, and the caller waiting for it is woken. */
    static inline void fastmlp_close_post(fastmlp_team* team, unsigned id, unsigned end,
                                          int stopped, long n_jobs) {
        long q;
        if (stopped) {
            for (q = 0; q < n_jobs; q++)
                __atomic_store_n(&team->stamps[q], end, __ATOMIC_RELAXED);
            fastmlp_open(team, end);
        }
        __atomic_store_n(&team->closed, id, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&team->caller_sleeping, __ATOMIC_SEQ_CST) > 0)
            fastmlp_futex_wake(&team->closed);
    }

    static inline int fastmlp_is_closed(fastmlp_team* team, unsigned id) {
        return __atomic_load_n(&team->closed, __ATOMIC_ACQUIRE) == id;
    }

    static inline void fastmlp_wait_closed(fastmlp_team* team, unsigned id,
                                           double spin_seconds) {
        unsigned v = __atomic_load_n(&team->closed, __ATOMIC_ACQUIRE);
        while (v != id)
            v = fastmlp_wait_word(&team->closed, v, 0, &team->caller_sleeping,
                                  spin_seconds);
    }

    /* A flag one thread raises while others may read it. */
    static inline int fastmlp_flag(int* flag) {
        return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
    }

    static inline void fastmlp_set_flag(int* flag) {
        __atomic_store_n(flag, 1, __ATOMIC_RELEASE);
    }

    static inline void fastmlp_count(long* counter) {
        __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
    }

    """
    int FASTMLP_ARGS_SIZE
    ctypedef struct fastmlp_team:
        unsigned opened
        long long done
        int size
        long n_stamps
        unsigned* stamps
    fastmlp_team* fastmlp_team_new(int size, long n_stamps) noexcept nogil
    void fastmlp_team_free(fastmlp_team* team) noexcept nogil
    bint fastmlp_flag(int* flag) noexcept nogil


cdef struct Signals:
    # thread 0 runs the signal handlers between its jobs: whether one raised
    # (read by the thread closing a round, which then stops), and what
    int raised
    PyObject* interrupt    # a new reference, or NULL


# a post's job q of its round i, and the close of round i after its last job
# (False: stop the post there)
ctypedef void (*JobFn)(const void* args, Py_ssize_t i, Py_ssize_t q) noexcept nogil
ctypedef bint (*CloseFn)(const void* args, Py_ssize_t i) noexcept nogil


cdef struct Post:
    # What every post carries, first in its arguments (at most
    # FASTMLP_ARGS_SIZE bytes in all, copied by every thread).
    JobFn job              # NULL: the team leaves
    CloseFn close
    Py_ssize_t n_rounds
    Py_ssize_t n_jobs      # jobs per round
    Signals* signals
    long* jobs_run         # per thread (the first n_counters): jobs it claimed
    int n_counters
    # for the tests: thread slow_thread (-1: every one) sleeps slow_seconds
    # before each round's claims, or after each claim (mid_job), as if
    # descheduled there
    int slow_thread
    double slow_seconds
    bint slow_mid_job
    # set by run_post
    unsigned base          # its first round
    long long done_base    # jobs finished before it
    int n_threads          # in the team: job q is thread q % n_threads's own


cdef void run_post(Post* post, size_t size, int n_threads,
                   fastmlp_team* own) noexcept nogil
