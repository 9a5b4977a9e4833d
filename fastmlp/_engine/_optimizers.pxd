# Optimizer steps: one fused loop over the flat parameter buffer each.
from cython cimport floating

cpdef enum Solver:
    SGD = 0
    ADAM = 1

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
