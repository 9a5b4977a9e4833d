# Optimizer steps: one rule interface, each rule one fused loop over a range
# of the flat parameter buffer.
from cython cimport floating

from ._schedules cimport Schedule

cpdef enum Rule:
    SGD = 0
    ADAM = 1
    ADAMW = 2
    NADAM = 3
    RMSPROP = 4


cdef struct StepRule:
    int rule                # a Rule
    Schedule schedule       # the rate of each step (learning_rate_init, scheduled)
    double momentum         # sgd
    bint nesterov           # sgd
    double beta_1           # adam, adamw, nadam
    double beta_2           # adam, adamw, nadam
    double epsilon          # adam, adamw, nadam, rmsprop
    double weight_decay     # adamw (decoupled); nadam, rmsprop (added to the gradient)
    double momentum_decay   # nadam
    double rho              # rmsprop's smoothing constant (torch's alpha)
    double alpha            # L2 penalty on the coefficients
    double max_grad_norm    # clip the gradient's global 2-norm to it; 0: never
    Py_ssize_t t            # steps taken (the bias corrections, the schedule's clock)
    double mu_product       # nadam: the product of its momentum coefficients so far


cdef class StepSettings:
    cdef StepRule rule


cdef double begin_step(StepRule* rule) noexcept nogil

cdef void take_step(const StepRule* rule, double rate, floating* params,
                    const floating* grads, floating* moment_1, floating* moment_2,
                    Py_ssize_t n_coefs, Py_ssize_t n, double sw_sum) noexcept nogil

cdef inline int n_state_buffers(const StepRule* rule) noexcept nogil:
    """Per-parameter state buffers the rule steps (SGD's velocity, RMSprop's
    square average; the Adams' two moments)"""
    return 1 if rule.rule == SGD or rule.rule == RMSPROP else 2

cdef bint state_finite(const StepRule* rule, const floating* moment_1,
                       const floating* moment_2, Py_ssize_t n_params) noexcept nogil

cdef double gradient_sumsq(const floating* params, const floating* grads,
                           Py_ssize_t n_coefs, Py_ssize_t n, double alpha) noexcept nogil

cdef double clip_divisor(double sw_sum, double sumsq, double max_grad_norm) noexcept nogil

# The rules' loops (take_step dispatches to them; the tests call them directly)
cdef void adam_step(floating* params, const floating* grads,
                    floating* m, floating* v,
                    Py_ssize_t n_coefs, Py_ssize_t n_params,
                    double alpha, double sw_sum,
                    double learning_rate, double beta_1, double beta_2,
                    double epsilon) noexcept nogil

cdef void sgd_step(floating* params, const floating* grads,
                   floating* velocity,
                   Py_ssize_t n_coefs, Py_ssize_t n_params,
                   double alpha, double sw_sum,
                   double learning_rate, double momentum,
                   bint nesterov) noexcept nogil

cdef double adam_learning_rate(double learning_rate_init, double beta_1,
                               double beta_2, Py_ssize_t t) noexcept nogil
