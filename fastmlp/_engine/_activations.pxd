# Hidden-layer activations: each scalar function beside its derivative, and
# the fused array loops the network calls.
#
# Definitions are PyTorch's (torch.nn.functional). A derivative is written
# from the output a = f(z) where it can be (the layer then keeps no z), else
# from z: the registry (fastmlp/_registry.py, derivative_from_output) says
# which, and the spec keeps z for exactly those layers.
#
# Every activation propagates NaN (a NaN z gives NaN), so a layer gone bad
# reaches the output, where predict's check reports it (issue 10): a select
# must leave NaN on the branch it keeps, since every comparison with NaN is
# false (`0 if z <= 0 else z`, never `z if z > 0 else 0`). scikit-learn's
# four derivatives meet a NaN a only after the NaN has reached the output
# (and the loss) and follow scikit-learn's formulas, NaN or not; the others
# give NaN for a NaN input. The transcendentals of the activations beyond
# scikit-learn's come from vmath.h, whose branch-free functions let the
# loops vectorise; logistic and tanh keep libm's, which scikit-learn's
# models are bit for bit.
from cython cimport floating
from libc.math cimport exp, tanh, expf, tanhf, fabs, fabsf

from ._common cimport Activation, IDENTITY, LOGISTIC, TANH, RELU, LEAKY_RELU, \
    ELU, SELU, GELU, GELU_TANH, SILU, SOFTPLUS
from .vmath cimport v_exp, v_expm1, v_tanh, v_erf, v_erf_gauss, v_logistic, v_softplus

cdef extern from *:
    """
    /* SELU's constants (Klambauer et al. 2017, as torch.nn.functional.selu) */
    #define FASTMLP_SELU_ALPHA 1.6732632423543772848170429916717
    #define FASTMLP_SELU_SCALE 1.0507009873554804934193349852946
    /* sqrt(1 / 2), sqrt(2 / pi), 1 / sqrt(2 pi) */
    #define FASTMLP_SQRT1_2 0.70710678118654752440084436210485
    #define FASTMLP_SQRT_2_PI 0.79788456080286535587989211986876
    #define FASTMLP_1_SQRT_2PI 0.39894228040143267793994605993438
    """
    const double SELU_ALPHA "FASTMLP_SELU_ALPHA"
    const double SELU_SCALE "FASTMLP_SELU_SCALE"
    const double SQRT1_2 "FASTMLP_SQRT1_2"
    const double SQRT_2_PI "FASTMLP_SQRT_2_PI"
    const double INV_SQRT_2PI "FASTMLP_1_SQRT_2PI"

# (constants enter float kernels cast to float: a double constant would make
# the whole expression double, and the loop half as wide)


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


cdef inline floating leaky_relu(floating z, floating slope) noexcept nogil:
    """f(z) = z if z > 0 else slope z"""
    return z if z > 0 else slope * z


cdef inline floating leaky_relu_derivative(floating delta, floating x,
                                           floating slope) noexcept nogil:
    """delta * f'(z) = delta if x > 0 else slope delta, with x = z, or the
    output a = f(z) when slope >= 0 (a then has z's sign); NaN x gives NaN"""
    return delta if x > 0 else (slope * delta if x <= 0 else x)


cdef inline floating elu(floating z, floating alpha) noexcept nogil:
    """f(z) = z if z > 0 else alpha (exp(z) - 1)"""
    cdef floating below = alpha * v_expm1(z)
    return z if z > 0 else below


cdef inline floating elu_derivative(floating delta, floating a,
                                    floating alpha) noexcept nogil:
    """delta * f'(z) = delta if a > 0 else delta (a + alpha), written from
    the output a = f(z) (alpha >= 0: a has z's sign, and alpha exp(z) is
    a + alpha below 0)"""
    return delta if a > 0 else delta * (a + alpha)


cdef inline floating elu_derivative_z(floating delta, floating z,
                                      floating alpha) noexcept nogil:
    """delta * f'(z) = delta if z > 0 else delta alpha exp(z), from z (alpha
    < 0: a no longer has z's sign)"""
    cdef floating below = delta * alpha * v_exp(z)
    return delta if z > 0 else below


cdef inline floating selu(floating z) noexcept nogil:
    """f(z) = scale (z if z > 0 else alpha (exp(z) - 1)), alpha =
    1.6732632423543772, scale = 1.0507009873554805"""
    cdef floating below = <floating>(SELU_ALPHA * SELU_SCALE) * v_expm1(z)
    return <floating>SELU_SCALE * z if z > 0 else below


cdef inline floating selu_derivative(floating delta, floating a) noexcept nogil:
    """delta * f'(z) = delta scale if a > 0 else delta (a + scale alpha),
    written from the output a = f(z)"""
    return (delta * <floating>SELU_SCALE if a > 0
            else delta * (a + <floating>(SELU_ALPHA * SELU_SCALE)))


cdef inline floating gelu(floating z) noexcept nogil:
    """f(z) = z Phi(z) = z (1 + erf(z / sqrt(2))) / 2"""
    return z * <floating>0.5 * (1 + v_erf(z * <floating>SQRT1_2))


cdef inline floating gelu_derivative(floating delta, floating z) noexcept nogil:
    """delta * f'(z) = delta (Phi(z) + z phi(z)), phi(z) = exp(-z**2 / 2) /
    sqrt(2 pi), from z (one erf call gives both)"""
    cdef floating gauss
    cdef floating erf = v_erf_gauss(z * <floating>SQRT1_2, &gauss)
    return delta * (<floating>0.5 * (1 + erf) + z * (<floating>INV_SQRT_2PI * gauss))


cdef inline floating gelu_tanh(floating z) noexcept nogil:
    """f(z) = z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z**3))) / 2"""
    cdef floating inner = <floating>SQRT_2_PI * (z + <floating>0.044715 * (z * z * z))
    return <floating>0.5 * z * (1 + v_tanh(inner))


cdef inline floating gelu_tanh_derivative(floating delta, floating z) noexcept nogil:
    """delta * f'(z) = delta ((1 + t) / 2 + z (1 - t**2) sqrt(2 / pi) (1 +
    3 0.044715 z**2) / 2), t = tanh(sqrt(2 / pi) (z + 0.044715 z**3)), from
    z. The second term is 0 wherever |z| > 8 (t rounds to +-1): z is held
    within 1e4 in it, so that z**2 cannot overflow into 0 * inf."""
    cdef floating inner = <floating>SQRT_2_PI * (z + <floating>0.044715 * (z * z * z))
    cdef floating t = v_tanh(inner)
    cdef floating held = <floating>1e4 if z > <floating>1e4 else z
    held = <floating>-1e4 if held < <floating>-1e4 else held
    return delta * (<floating>0.5 * (1 + t)
                    + <floating>0.5 * held * (1 - t * t) * <floating>SQRT_2_PI
                    * (1 + <floating>(3 * 0.044715) * (held * held)))


cdef inline floating silu(floating z) noexcept nogil:
    """f(z) = z / (1 + exp(-z)) = z logistic(z)"""
    return z * v_logistic(z)


cdef inline floating silu_derivative(floating delta, floating z) noexcept nogil:
    """delta * f'(z) = delta s (1 + z (1 - s)), s = logistic(z), from z"""
    cdef floating s = v_logistic(z)
    return delta * s * (1 + z * (1 - s))


cdef inline floating softplus(floating z, floating beta,
                              floating threshold) noexcept nogil:
    """f(z) = log(1 + exp(beta z)) / beta, or z where beta z > threshold"""
    cdef floating bz = beta * z
    cdef floating smooth = v_softplus(bz) / beta
    return z if bz > threshold else smooth


cdef inline floating softplus_derivative(floating delta, floating z, floating beta,
                                         floating threshold) noexcept nogil:
    """delta * f'(z) = delta logistic(beta z), or delta where beta z >
    threshold, from z (the output cannot tell the two pieces apart)"""
    cdef floating bz = beta * z
    cdef floating smooth = delta * v_logistic(bz)
    return delta if bz > threshold else smooth


cdef void bias_activation(floating* Z, const floating* bias,
                          Py_ssize_t n_samples, Py_ssize_t n_units,
                          int activation, const double* params) noexcept nogil

cdef void bias_activation_keep(floating* Z, floating* A, const floating* bias,
                               Py_ssize_t n_samples, Py_ssize_t n_units,
                               int activation, const double* params) noexcept nogil

cdef void activation_derivative(floating* delta, const floating* A, const floating* Z,
                                Py_ssize_t n_samples, Py_ssize_t n_units,
                                int activation, const double* params) noexcept nogil

cdef void outer_activation_derivative(floating* delta, const floating* d,
                                      const floating* w, const floating* A,
                                      const floating* Z,
                                      Py_ssize_t n_samples, Py_ssize_t n_units,
                                      int activation, const double* params) noexcept nogil
