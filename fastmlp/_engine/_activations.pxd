# Hidden-layer activations: each scalar function beside its derivative, and
# the two fused array loops the network calls.
#
# Every activation propagates NaN (a NaN z gives NaN), so a layer gone bad
# reaches the output, where predict's check reports it (issue 10): a select
# must leave NaN on the branch it keeps, since every comparison with NaN is
# false (`0 if z <= 0 else z`, never `z if z > 0 else 0`). A derivative
# meets a NaN a only after the NaN has reached the output (and the loss);
# each follows scikit-learn's formula, NaN or not.
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
    """f(z) = max(z, 0), NaN for NaN"""
    return 0 if z <= 0 else z


cdef inline floating relu_derivative(floating delta, floating a) noexcept nogil:
    """delta * f'(z) = 0 if a <= 0 else delta, written from the output a = f(z)
    (a select, not a product, so the loop vectorises): scikit-learn's
    delta[a == 0] = 0, which keeps delta for a NaN a"""
    return 0 if a <= 0 else delta


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
