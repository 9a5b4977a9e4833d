# Hidden-layer activations: each scalar function beside its derivative, and
# the fused array loops the network calls.
#
# Definitions are PyTorch's (torch.nn.functional). A derivative is written
# from the output a = f(z) where it can be; where it cannot (the registry's
# derivative_from_output, fastmlp/_registry.py), the forward pass evaluates
# f'(z) beside f(z), from the same exp, erf or tanh, and the layer keeps it
# for the backward pass: `*_and_derivative` kernels.
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
from .vmath cimport v_exp, v_expm1, v_log1p, v_tanh, v_erf, v_erf_gauss, v_logistic

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

# Constants enter the kernels cast to the dtype (Cython writes a bare 1 as
# 1.0, a double): a double would make a float expression double, round it
# differently, and halve the loop's width.


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


cdef inline floating leaky_relu_derivative(floating delta, floating a,
                                           floating slope) noexcept nogil:
    """delta * f'(z) = delta if a > 0 else slope delta, written from the
    output a = f(z) (slope >= 0: a has z's sign); NaN a gives NaN"""
    return delta if a > 0 else (slope * delta if a <= 0 else a)


cdef inline floating leaky_relu_and_derivative(floating z, floating slope,
                                               floating* derivative) noexcept nogil:
    """f(z), and f'(z) = 1 if z > 0 else slope (slope < 0: the output no
    longer has z's sign)"""
    derivative[0] = <floating>1 if z > 0 else (slope if z <= 0 else z)
    return leaky_relu(z, slope)


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


cdef inline floating elu_and_derivative(floating z, floating alpha,
                                        floating* derivative) noexcept nogil:
    """f(z), and f'(z) = 1 if z > 0 else alpha exp(z) = f(z) + alpha (alpha <
    0: the output no longer has z's sign)"""
    cdef floating below = alpha * v_expm1(z)
    derivative[0] = <floating>1 if z > 0 else below + alpha
    return z if z > 0 else below


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
    return z * (<floating>0.5 * (<floating>1 + v_erf(z * <floating>SQRT1_2)))


cdef inline floating gelu_and_derivative(floating z, floating* derivative) noexcept nogil:
    """f(z), and f'(z) = Phi(z) + z phi(z), phi(z) = exp(-z**2 / 2) /
    sqrt(2 pi): one erf call gives Phi and phi (and the same erf as gelu's)"""
    cdef floating gauss
    cdef floating cdf = <floating>0.5 * (<floating>1 + v_erf_gauss(z * <floating>SQRT1_2, &gauss))
    derivative[0] = cdf + z * (<floating>INV_SQRT_2PI * gauss)
    return z * cdf


cdef inline floating _gelu_tanh_inner(floating z) noexcept nogil:
    """tanh(sqrt(2 / pi) (z + 0.044715 z**3))"""
    return v_tanh(<floating>SQRT_2_PI * (z + <floating>0.044715 * (z * z * z)))


cdef inline floating gelu_tanh(floating z) noexcept nogil:
    """f(z) = z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z**3))) / 2"""
    return <floating>0.5 * z * (<floating>1 + _gelu_tanh_inner(z))


cdef inline floating gelu_tanh_and_derivative(floating z,
                                              floating* derivative) noexcept nogil:
    """f(z), and f'(z) = (1 + t) / 2 + z (1 - t**2) sqrt(2 / pi) (1 + 3
    0.044715 z**2) / 2, t = tanh(sqrt(2 / pi) (z + 0.044715 z**3)). The
    second term is 0 wherever |z| > 8 (t rounds to +-1): z is held within 1e4
    in it, so that z**2 cannot overflow into 0 * inf."""
    cdef floating t = _gelu_tanh_inner(z)
    cdef floating held = <floating>1e4 if z > <floating>1e4 else z
    held = <floating>-1e4 if held < <floating>-1e4 else held
    derivative[0] = (<floating>0.5 * (<floating>1 + t)
                     + <floating>0.5 * held * (<floating>1 - t * t) * <floating>SQRT_2_PI
                     * (<floating>1 + <floating>(3 * 0.044715) * (held * held)))
    return <floating>0.5 * z * (<floating>1 + t)


cdef inline floating silu(floating z) noexcept nogil:
    """f(z) = z / (1 + exp(-z)) = z logistic(z)"""
    return z * v_logistic(z)


cdef inline floating silu_and_derivative(floating z, floating* derivative) noexcept nogil:
    """f(z), and f'(z) = s (1 + z (1 - s)), s = logistic(z)"""
    cdef floating s = v_logistic(z)
    derivative[0] = s * (<floating>1 + z * (<floating>1 - s))
    return z * s


cdef inline floating softplus_and_derivative(floating z, floating beta, floating threshold,
                                             floating* derivative) noexcept nogil:
    """f(z) = log(1 + exp(beta z)) / beta, or z where beta z > threshold;
    f'(z) = logistic(beta z), or 1 there. With e = exp(-|beta z|):
    log(1 + exp(beta z)) = max(beta z, 0) + log1p(e) and logistic(beta z) =
    (1 if beta z >= 0 else e) / (1 + e), so nothing overflows and one exp
    serves both."""
    cdef floating bz = beta * z
    cdef floating e = v_exp(bz if bz < 0 else -bz)
    cdef floating smooth = ((bz if bz > 0 else <floating>0) + v_log1p(e)) / beta
    derivative[0] = (<floating>1 if bz > threshold
                     else (<floating>1 if bz >= 0 else e) / (<floating>1 + e))
    return z if bz > threshold else smooth


cdef inline floating softplus(floating z, floating beta, floating threshold) noexcept nogil:
    """f(z) = log(1 + exp(beta z)) / beta, or z where beta z > threshold"""
    cdef floating unused
    return softplus_and_derivative(z, beta, threshold, &unused)


cdef void bias_activation(floating* A, const floating* bias,
                          Py_ssize_t n_samples, Py_ssize_t n_units,
                          int activation, const double* params) noexcept nogil

cdef void bias_activation_derivative(floating* A, floating* D, const floating* bias,
                                     Py_ssize_t n_samples, Py_ssize_t n_units,
                                     int activation, const double* params) noexcept nogil

cdef void activation_derivative(floating* delta, const floating* A, const floating* D,
                                Py_ssize_t n_samples, Py_ssize_t n_units,
                                int activation, const double* params) noexcept nogil

cdef void outer_activation_derivative(floating* delta, const floating* d,
                                      const floating* w, const floating* A,
                                      const floating* D,
                                      Py_ssize_t n_samples, Py_ssize_t n_units,
                                      int activation, const double* params) noexcept nogil
