"""Optimizer steps over the flat parameter buffer: SGD (momentum, Nesterov)
and Adam, behind one interface (`StepRule`, `begin_step`, `take_step`), so
the epoch loop names no optimizer.

Each step is one loop that also finishes the gradient: the engine's backward
pass leaves the raw sums A.T @ delta, and the step forms
g = (raw + alpha * W) / sw_sum (the L2 term on coefficients only), so every
minibatch reads the buffers once. The loops carry no reduction, so the
compiler vectorises them (sqrt and division included, with -fno-math-errno).

Both follow scikit-learn's formulas operation for operation, so the same
gradients give the same parameters.
"""
from libc.math cimport sqrt, sqrtf, pow

from ._common cimport all_finite


cdef class StepSettings:
    """An optimizer's settings, as the engine's steps read them.

    Parameters
    ----------
    rule : int
        A `Rule`.
    learning_rate : float
        SGD: the rate of this epoch's steps; Adam: learning_rate_init, which
        each step bias-corrects.
    alpha : float
        L2 penalty on the coefficients.
    momentum, nesterov : float, bool
        SGD's.
    beta_1, beta_2, epsilon : float
        Adam's.
    t : int
        Steps taken so far.
    """

    def __init__(self, int rule, double learning_rate, double alpha, *,
                 double momentum=0, bint nesterov=False, double beta_1=0,
                 double beta_2=0, double epsilon=0, Py_ssize_t t=0):
        if rule not in (SGD, ADAM):
            raise ValueError(f"unknown optimizer rule {rule}")
        self.rule = StepRule(rule, learning_rate, momentum, nesterov, beta_1, beta_2,
                             epsilon, alpha, t)

    @property
    def t(self):
        """Steps taken."""
        return self.rule.t


cdef double begin_step(StepRule* rule) noexcept nogil:
    """Count the step; its rate"""
    rule.t += 1
    if rule.rule == ADAM:
        return adam_learning_rate(rule.learning_rate, rule.beta_1, rule.beta_2, rule.t)
    return rule.learning_rate


cdef void take_step(const StepRule* rule, double rate,
                    floating* params,          # IN/OUT (n,)
                    const floating* grads,     # IN raw gradient sums (n,)
                    floating* moment_1, floating* moment_2,  # IN/OUT (n,)
                    Py_ssize_t n_coefs, Py_ssize_t n, double sw_sum) noexcept nogil:
    """The rule's step over n parameters whose first n_coefs are coefficients
    (the L2 penalty's)"""
    if rule.rule == ADAM:
        adam_step(params, grads, moment_1, moment_2, n_coefs, n, rule.alpha, sw_sum,
                  rate, rule.beta_1, rule.beta_2, rule.epsilon)
    elif rule.rule == SGD:
        sgd_step(params, grads, moment_1, n_coefs, n, rule.alpha, sw_sum, rate,
                 rule.momentum, rule.nesterov)


cdef bint state_finite(const StepRule* rule, const floating* moment_1,
                       const floating* moment_2, Py_ssize_t n_params) noexcept nogil:
    """Whether the rule's state is finite: an overflowed Adam moment leaves
    the parameters finite but frozen (m / sqrt(inf) = 0 at every later step),
    divergence all the same"""
    if rule.rule == ADAM:
        return all_finite(moment_1, n_params) and all_finite(moment_2, n_params)
    return True


cdef double adam_learning_rate(double learning_rate_init, double beta_1,
                               double beta_2, Py_ssize_t t) noexcept nogil:
    """lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t): bias correction
    folded into the step size, as scikit-learn does"""
    return learning_rate_init * sqrt(1 - pow(beta_2, t)) / (1 - pow(beta_1, t))


cdef inline void _adam_range(floating* params, const floating* grads,
                             floating* m, floating* v, Py_ssize_t start,
                             Py_ssize_t stop, floating alpha, floating sw_sum,
                             floating lr, floating b1, floating b2,
                             floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating g, c1 = 1 - b1, c2 = 1 - b2
    for i in range(start, stop):
        g = (grads[i] + alpha * params[i]) / sw_sum
        m[i] = b1 * m[i] + c1 * g
        v[i] = b2 * v[i] + c2 * (g * g)
        if floating is float:
            params[i] += -lr * m[i] / (sqrtf(v[i]) + eps)
        else:
            params[i] += -lr * m[i] / (sqrt(v[i]) + eps)


cdef void adam_step(floating* params,        # IN/OUT (n_params,)
                    const floating* grads,   # IN raw gradient sums (n_params,)
                    floating* m,             # IN/OUT first moments
                    floating* v,             # IN/OUT second moments
                    Py_ssize_t n_coefs, Py_ssize_t n_params,
                    double alpha, double sw_sum,
                    double learning_rate, double beta_1, double beta_2,
                    double epsilon) noexcept nogil:
    """g = (raw + alpha W) / sw_sum; m = b1 m + (1 - b1) g;
    v = b2 v + (1 - b2) g**2; p -= lr_t m / (sqrt(v) + eps), eps added to the
    uncorrected sqrt(v)"""
    _adam_range(params, grads, m, v, 0, n_coefs, <floating>alpha, <floating>sw_sum,
                <floating>learning_rate, <floating>beta_1, <floating>beta_2,
                <floating>epsilon)
    _adam_range(params, grads, m, v, n_coefs, n_params, 0, <floating>sw_sum,
                <floating>learning_rate, <floating>beta_1, <floating>beta_2,
                <floating>epsilon)


cdef inline void _sgd_range(floating* params, const floating* grads,
                            floating* velocity, Py_ssize_t start, Py_ssize_t stop,
                            floating alpha, floating sw_sum, floating lr,
                            floating mu, bint nesterov) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating g
    if nesterov:
        for i in range(start, stop):
            g = (grads[i] + alpha * params[i]) / sw_sum
            velocity[i] = mu * velocity[i] - lr * g
            params[i] += mu * velocity[i] - lr * g
    else:
        for i in range(start, stop):
            g = (grads[i] + alpha * params[i]) / sw_sum
            velocity[i] = mu * velocity[i] - lr * g
            params[i] += velocity[i]


cdef void sgd_step(floating* params,        # IN/OUT (n_params,)
                   const floating* grads,   # IN raw gradient sums (n_params,)
                   floating* velocity,      # IN/OUT (n_params,)
                   Py_ssize_t n_coefs, Py_ssize_t n_params,
                   double alpha, double sw_sum,
                   double learning_rate, double momentum,
                   bint nesterov) noexcept nogil:
    """g = (raw + alpha W) / sw_sum; v = mu v - lr g; p += v, or
    p += mu v - lr g with Nesterov's momentum"""
    _sgd_range(params, grads, velocity, 0, n_coefs, <floating>alpha,
               <floating>sw_sum, <floating>learning_rate, <floating>momentum, nesterov)
    _sgd_range(params, grads, velocity, n_coefs, n_params, 0, <floating>sw_sum,
               <floating>learning_rate, <floating>momentum, nesterov)
