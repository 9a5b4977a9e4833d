"""Adam and SGD (momentum, Nesterov) steps over the flat parameter buffer.

Both follow scikit-learn's formulas operation for operation, so that the same
gradients give the same parameters. Each returns False when a parameter has
become non-finite, which the training loop turns into an error: checking
inside the step costs one comparison per parameter and catches the minibatch
where training diverged.
"""
from libc.math cimport sqrt, sqrtf, pow, fabs
from libc.float cimport FLT_MAX, DBL_MAX


cdef inline bint _finite(floating x) noexcept nogil:
    # NaN fails every comparison; inf fails this one
    if floating is float:
        return fabs(x) <= FLT_MAX
    else:
        return fabs(x) <= DBL_MAX


cdef double adam_learning_rate(double learning_rate_init, double beta_1,
                               double beta_2, Py_ssize_t t) noexcept nogil:
    """lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t): bias correction
    folded into the step size, as scikit-learn does"""
    return learning_rate_init * sqrt(1 - pow(beta_2, t)) / (1 - pow(beta_1, t))


cdef bint adam_step(floating* params,        # IN/OUT (n_params,)
                    const floating* grads,   # IN (n_params,)
                    floating* m,             # IN/OUT first moments
                    floating* v,             # IN/OUT second moments
                    Py_ssize_t n_params,
                    double learning_rate, double beta_1, double beta_2,
                    double epsilon) noexcept nogil:
    """m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g**2;
    p -= lr_t m / (sqrt(v) + eps), eps added to the uncorrected sqrt(v)"""
    cdef Py_ssize_t i
    cdef floating g, b1 = beta_1, b2 = beta_2, lr = learning_rate, eps = epsilon
    cdef floating c1 = 1 - beta_1, c2 = 1 - beta_2
    cdef bint finite = True
    for i in range(n_params):
        g = grads[i]
        m[i] = b1 * m[i] + c1 * g
        v[i] = b2 * v[i] + c2 * (g * g)
        if floating is float:
            params[i] += -lr * m[i] / (sqrtf(v[i]) + eps)
        else:
            params[i] += -lr * m[i] / (sqrt(v[i]) + eps)
        finite &= _finite(params[i])
    return finite


cdef bint sgd_step(floating* params,        # IN/OUT (n_params,)
                   const floating* grads,   # IN (n_params,)
                   floating* velocity,      # IN/OUT (n_params,)
                   Py_ssize_t n_params,
                   double learning_rate, double momentum,
                   bint nesterov) noexcept nogil:
    """v = mu v - lr g; p += v, or p += mu v - lr g with Nesterov's momentum"""
    cdef Py_ssize_t i
    cdef floating g, mu = momentum, lr = learning_rate
    cdef bint finite = True
    for i in range(n_params):
        g = grads[i]
        velocity[i] = mu * velocity[i] - lr * g
        if nesterov:
            params[i] += mu * velocity[i] - lr * g
        else:
            params[i] += velocity[i]
        finite &= _finite(params[i])
    return finite


# Test-only twins.

def _adam_step_memview(floating[::1] params, const floating[::1] grads,
                       floating[::1] m, floating[::1] v, double learning_rate_init,
                       double beta_1, double beta_2, double epsilon, Py_ssize_t t):
    """One Adam step at time step t (1-based); returns False on a non-finite parameter."""
    cdef double lr = adam_learning_rate(learning_rate_init, beta_1, beta_2, t)
    return adam_step(&params[0], &grads[0], &m[0], &v[0], params.shape[0],
                     lr, beta_1, beta_2, epsilon)


def _sgd_step_memview(floating[::1] params, const floating[::1] grads,
                      floating[::1] velocity, double learning_rate, double momentum,
                      bint nesterov):
    """One SGD step; returns False on a non-finite parameter."""
    return sgd_step(&params[0], &grads[0], &velocity[0], params.shape[0],
                    learning_rate, momentum, nesterov)
