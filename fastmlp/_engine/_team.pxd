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
    #include <fcntl.h>
    #include <sched.h>
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
        int caller_sleeping;                          /* also threads sitting out */
        int size;                                     /* threads in the team */
        /* solo: until solo_until (fastmlp_now), only thread 0 claims jobs;
           the others sit out (see fastmlp_go_solo) */
        double solo_until __attribute__((aligned(64)));
        int leaving;                                  /* the last post is out */
        double looked_at;                             /* fastmlp_crowded's last look */
        int crowded_looks;                            /* in a row */
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

    /* The end of the last solo spell of any team: a fit that starts before
       it starts solo (fits often follow each other, shorter than a spell). */
    static double fastmlp_solo_until = 0;

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
        __atomic_load(&fastmlp_solo_until, &team->solo_until, __ATOMIC_RELAXED);
        if (team->solo_until > fastmlp_now())   /* a fit just before was crowded */
            team->crowded_looks = 1;
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
        if (kind == 0)
            __atomic_store_n(&team->leaving, 1, __ATOMIC_SEQ_CST);
        fastmlp_store_wake(&team->post, id, &team->idle_sleepers);
        if (kind == 0)   /* threads resting outside idle_sleepers, too */
            fastmlp_futex_wake(&team->post);
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

    static long fastmlp_solo_count = 0;   /* looks that kept a team solo, for the tests */

    /* Threads running or ready to run on the machine now (the kernel's
       run queues, /proc/loadavg's fourth field), or -1 if unknown. */
    static inline int fastmlp_runnable(void) {
    #ifdef __linux__
        char text[128];
        int fd = open("/proc/loadavg", O_RDONLY), n = -1;
        ssize_t got;
        char* slash;
        if (fd < 0)
            return -1;
        got = read(fd, text, sizeof(text) - 1);
        close(fd);
        if (got <= 0)
            return -1;
        text[got] = 0;
        slash = strchr(text, '/');
        if (slash == NULL)
            return -1;
        while (slash > text && slash[-1] != ' ')
            slash--;
        n = atoi(slash);
        return n;
    #else
        return -1;
    #endif
    }

    /* The team is crowded (fastmlp_crowded): with more threads ready than
       cores, the team's threads wait for each other whenever one is
       preempted mid-job, and spin where a neighbour could run, and a fit
       becomes several times slower than on one thread (issue 10: digits
       160-5,662 ms beside one busy process). So until thread 0 sees cores
       free again (at most 0.1 s without a look) thread 0, which runs
       between the posts anyway, runs every job alone and the others sleep.
       Which thread runs a job never changes the results. */
    static inline void fastmlp_go_solo(fastmlp_team* team, double now) {
        double until = now + 0.1;
        fastmlp_solo_count++;
        __atomic_store(&fastmlp_solo_until, &until, __ATOMIC_RELAXED);
        __atomic_store(&team->solo_until, &until, __ATOMIC_RELEASE);
    }

    static inline void fastmlp_end_solo(fastmlp_team* team) {
        double never = 0;
        __atomic_store(&team->solo_until, &never, __ATOMIC_RELEASE);
    }

    /* A thread sitting out between posts: sleep up to `seconds`, woken
       early only by the post that sends the team away. */
    static inline void fastmlp_rest(fastmlp_team* team, double seconds) {
    #ifdef __linux__
        struct timespec ts;
        unsigned v = __atomic_load_n(&team->post, __ATOMIC_ACQUIRE);
        ts.tv_sec = (time_t)seconds;
        ts.tv_nsec = (long)((seconds - ts.tv_sec) * 1e9);
        if (!__atomic_load_n(&team->leaving, __ATOMIC_ACQUIRE))
            syscall(SYS_futex, &team->post, FUTEX_WAIT_PRIVATE, v, &ts, NULL, 0);
    #else
        (void)team; (void)seconds;
        sched_yield();
    #endif
    }

    /* Seconds thread tid is to sit out for (0: it may claim jobs). */
    static inline double fastmlp_sitting_out(fastmlp_team* team, int tid) {
        double until, now;
        if (tid == 0)
            return 0;
        __atomic_load(&team->solo_until, &until, __ATOMIC_ACQUIRE);
        if (until == 0)
            return 0;
        now = fastmlp_now();
        return until > now ? until - now : 0;
    }

    /* Sleep until post `id` is complete or `seconds` have passed. */
    static inline void fastmlp_sit_out(fastmlp_team* team, unsigned id, double seconds) {
    #ifdef __linux__
        struct timespec ts;
        unsigned v;
        ts.tv_sec = (time_t)seconds;
        ts.tv_nsec = (long)((seconds - ts.tv_sec) * 1e9);
        __atomic_add_fetch(&team->caller_sleeping, 1, __ATOMIC_SEQ_CST);
        v = __atomic_load_n(&team->closed, __ATOMIC_SEQ_CST);
        if (v != id)
            syscall(SYS_futex, &team->closed, FUTEX_WAIT_PRIVATE, v, &ts, NULL, 0);
        __atomic_sub_fetch(&team->caller_sleeping, 1, __ATOMIC_SEQ_CST);
    #else
        (void)team; (void)id; (void)seconds;
        sched_yield();
    #endif
    }

    /* Whether the team's threads, with what else runs now, outnumber the
       cores: thread 0 asks before a post, at most every 10 ms (1: yes, 0:
       no, -1: not asked). Of the threads ready to run, those of the team
       that are awake (thread 0, and any spinning for work) are its own; the
       rest are neighbours. ~2 us a look. */
    static inline int fastmlp_crowded(fastmlp_team* team, double now) {
        int runnable, awake, crowded;
        static int n_cores = 0;
        /* a look that saw a neighbour is checked again soon */
        if (now - team->looked_at < (team->crowded_looks == 1 ? 2e-3 : 10e-3))
            return -1;
        team->looked_at = now;
        if (n_cores == 0) {
    #ifdef __linux__
            cpu_set_t cpus;
            n_cores = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
    #else
            n_cores = 1 << 30;
    #endif
        }
        runnable = fastmlp_runnable();
        if (runnable < 0)
            return 0;
        awake = 1 + (team->size - 1) - __atomic_load_n(&team->idle_sleepers, __ATOMIC_RELAXED);
        if (fastmlp_sitting_out(team, 1) > 0)   /* the others rest */
            awake = 1;
        /* twice in a row, 2 ms apart: a kernel thread's moment on a core
           is no neighbour */
        crowded = runnable - awake > 0 && runnable - awake + team->size > n_cores;
        team->crowded_looks = crowded ? team->crowded_looks + 1 : 0;
        return team->crowded_looks >= 2;
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
        int leaving
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
