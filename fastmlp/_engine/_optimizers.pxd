# Optimizer steps: one rule interface, each rule one fused loop over a range
# of the flat parameter buffer.
from cython cimport floating

cpdef enum Rule:
    SGD = 0
    ADAM = 1


cdef struct StepRule:
    int rule                # a Rule
    double learning_rate    # sgd: this epoch's rate; adam: learning_rate_init
    double momentum         # sgd
    bint nesterov           # sgd
    double beta_1           # adam
    double beta_2           # adam
    double epsilon          # adam
    double alpha            # L2 penalty on the coefficients
    Py_ssize_t t            # steps taken (adam's bias correction)


cdef class StepSettings:
    cdef StepRule rule


cdef double begin_step(StepRule* rule) noexcept nogil

cdef void take_step(const StepRule* rule, double rate, floating* params,
                    const floating* grads, floating* moment_1, floating* moment_2,
                    Py_ssize_t n_coefs, Py_ssize_t n, double sw_sum) noexcept nogil

cdef inline int n_state_buffers(const StepRule* rule) noexcept nogil:
    """Per-parameter state buffers the rule steps (SGD's velocity; Adam's
    two moments)"""
    return 2 if rule.rule == ADAM else 1

cdef bint state_finite(const StepRule* rule, const floating* moment_1,
                       const floating* moment_2, Py_ssize_t n_params) noexcept nogil

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
