# Learning-rate schedules the engine applies step by step (warm-up, and the
# clocked decays counted in optimizer steps); see _schedules.pyx.

cpdef enum Decay:
    CONSTANT = 0       # the base rate as given (Python may change it per epoch)
    STEP = 1           # torch.optim.lr_scheduler.StepLR
    EXPONENTIAL = 2    # ExponentialLR
    COSINE = 3         # CosineAnnealingLR, held at its floor after t_max


cdef struct Schedule:
    int decay                  # a Decay
    double rate                # the base rate
    Py_ssize_t warmup          # warm-up steps (LinearLR's total_iters); 0: none
    double warmup_start        # LinearLR's start_factor
    Py_ssize_t step_size       # STEP
    double gamma               # STEP, EXPONENTIAL
    Py_ssize_t t_max           # COSINE
    double eta_min             # COSINE


cdef double scheduled_rate(const Schedule* schedule, Py_ssize_t t) noexcept nogil
cdef Schedule make_schedule(double rate, int decay, Py_ssize_t warmup, double warmup_start,
                            Py_ssize_t step_size, double gamma, Py_ssize_t t_max,
                            double eta_min) except *
