# Hidden-layer activations: each scalar function beside its derivative, and
# the two fused array loops the network calls.
from cython cimport floating
from libc.math cimport exp, tanh, expf, tanhf, fabs, fabsf

from ._common cimport Activation, IDENTITY, LOGISTIC, TANH, RELU


cdef inline floating identity(floating z) noexcept nogil:
    """f(z) = z"""
    return z


cdef inline floating identity_derivative(floating delta, floating a) noexcept nogil:
    """delta * f'(z) = delta"""
    return delta


cdef inline floating logistic(floating z) noexcept nogil:
    """f(z) = 1 / (1 + exp(-z)), as n / (1 + e) with e = exp(-|z|), n = 1 for
    z >= 0 and e below: exp never overflows, and no branch depends on z's
    sign (a shuffled minibatch's signs are a coin toss for the predictor)"""
    cdef floating e, n
    if floating is float:
        e = expf(-fabsf(z))
    else:
        e = exp(-fabs(z))
    n = 1 if z >= 0 else e
    return n / (1 + e)


cdef inline floating logistic_derivative(floating delta, floating a) noexcept nogil:
    """delta * f'(z) = delta a (1 - a), written from the output a = f(z)"""
    return delta * a * (1 - a)


cdef inline floating tanh_(floating z) noexcept nogil:
    """f(z) = tanh(z)"""
    if floating is float:
        return tanhf(z)
    else:
        return tanh(z)


cdef inline floating tanh_derivative(floating delta, floating a) noexcept nogil:
    """delta * f'(z) = delta (1 - a**2), written from the output a = f(z)"""
    return delta * (1 - a * a)


cdef inline floating relu(floating z) noexcept nogil:
    """f(z) = max(z, 0)"""
    return z if z > 0 else 0


cdef inline floating relu_derivative(floating delta, floating a) noexcept nogil:
    """delta * f'(z) = delta if a > 0 else 0, written from the output a = f(z)
    (a select, not a product, so the loop vectorises)"""
    return delta if a > 0 else 0


cdef void bias_activation(floating* Z, const floating* bias,
                          Py_ssize_t n_samples, Py_ssize_t n_units,
                          int activation) noexcept nogil

cdef void activation_derivative(floating* delta, const floating* A,
                                Py_ssize_t n_samples, Py_ssize_t n_units,
                                int activation) noexcept nogil

cdef void outer_activation_derivative(floating* delta, const floating* d,
                                      const floating* w, const floating* A,
                                      Py_ssize_t n_samples, Py_ssize_t n_units,
                                      int activation) noexcept nogil
