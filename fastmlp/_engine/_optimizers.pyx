"""Adam and SGD (momentum, Nesterov) steps over the flat parameter buffer.

Each step is one loop that also finishes the gradient: the engine's backward
pass leaves the raw sums A.T @ delta, and the step forms
g = (raw + alpha * W) / sw_sum (the L2 term on coefficients only), so every
minibatch reads the buffers once. The loops carry no reduction, so the
compiler vectorises them (sqrt and division included, with -fno-math-errno).

Both follow scikit-learn's formulas operation for operation, so the same
gradients give the same parameters.
"""
from libc.math cimport sqrt, sqrtf, pow


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
