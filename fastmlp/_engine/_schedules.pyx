"""Learning-rate schedules: the rate of the optimizer step taken after t
others, as torch.optim.lr_scheduler defines it.

A linear warm-up (LinearLR, end factor 1) over the first `warmup` steps,
then the decay, whose clock starts when the warm-up ends (as SequentialLR
runs a warm-up and then the main schedule):

    t < warmup:  rate * (start + (1 - start) * t / warmup)
    s = t - warmup
    CONSTANT     rate
    STEP         rate * gamma ** (s // step_size)
    EXPONENTIAL  rate * gamma ** s
    COSINE       eta_min + (rate - eta_min) * (1 + cos(pi * s / t_max)) / 2,
                 and eta_min from s = t_max on (torch's rises again: a floor)

PyTorch computes these recursively, rate by rate; the closed forms here
agree with it to rounding. The engine calls `scheduled_rate` once per
minibatch (`begin_step`), so rates that change within an epoch cost no call
into Python; schedules counted in epochs are the same formula, evaluated by
Python once per epoch (`rate_at`).
"""
from libc.math cimport cos, pow, M_PI


cdef double scheduled_rate(const Schedule* schedule, Py_ssize_t t) noexcept nogil:
    """The rate of the step taken after t others"""
    cdef double rate = schedule.rate, start = schedule.warmup_start
    cdef Py_ssize_t s
    if t < schedule.warmup:
        return rate * (start + (1 - start) * t / schedule.warmup)
    s = t - schedule.warmup
    if schedule.decay == STEP:
        return rate * pow(schedule.gamma, <double>(s // schedule.step_size))
    if schedule.decay == EXPONENTIAL:
        return rate * pow(schedule.gamma, <double>s)
    if schedule.decay == COSINE:
        if s >= schedule.t_max:
            return schedule.eta_min
        return schedule.eta_min + (rate - schedule.eta_min) * (
            1 + cos(M_PI * s / schedule.t_max)) / 2
    return rate


def rate_at(Py_ssize_t t, double rate, int decay=CONSTANT, Py_ssize_t warmup=0,
            double warmup_start=1.0, Py_ssize_t step_size=1, double gamma=1.0,
            Py_ssize_t t_max=1, double eta_min=0.0):
    """The scheduled rate after t steps (or epochs) with these settings, as
    the engine computes it.

    Parameters
    ----------
    t : int
        Steps (or epochs) taken before.
    rate : float
        The base rate.
    decay : int
        A `Decay`.
    warmup, warmup_start, step_size, gamma, t_max, eta_min
        See the module's docstring.

    Returns
    -------
    float
    """
    cdef Schedule schedule = make_schedule(rate, decay, warmup, warmup_start, step_size,
                                           gamma, t_max, eta_min)
    return scheduled_rate(&schedule, t)


cdef Schedule make_schedule(double rate, int decay, Py_ssize_t warmup, double warmup_start,
                            Py_ssize_t step_size, double gamma, Py_ssize_t t_max,
                            double eta_min) except *:
    """A checked Schedule (the estimator validates first; the engine trusts
    no caller)"""
    if decay not in (CONSTANT, STEP, EXPONENTIAL, COSINE):
        raise ValueError(f"unknown learning-rate decay {decay}")
    if warmup < 0 or step_size < 1 or t_max < 1:
        raise ValueError("warm-up steps must be >= 0, step_size and t_max >= 1")
    return Schedule(decay, rate, warmup, warmup_start, step_size, gamma, t_max, eta_min)
