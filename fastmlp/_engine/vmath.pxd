# Elementwise transcendental functions that vectorise (vmath.h, where the
# method and the accuracy are described): a loop calling them compiles to
# packed instructions, one calling libm's runs one element at a time. The
# v_ wrappers take either dtype and pick its version at compile time.
from cython cimport floating

cdef extern from "vmath.h" nogil:
    float vm_expf(float x) noexcept
    double vm_exp(double x) noexcept
    float vm_expm1f(float x) noexcept
    double vm_expm1(double x) noexcept
    float vm_log1pf(float x) noexcept
    double vm_log1p(double x) noexcept
    float vm_tanhf(float x) noexcept
    double vm_tanh(double x) noexcept
    float vm_erff(float x) noexcept
    double vm_erf(double x) noexcept
    float vm_erf_gaussf(float x, float* gauss) noexcept
    double vm_erf_gauss(double x, double* gauss) noexcept
    float vm_logisticf(float x) noexcept
    double vm_logistic(double x) noexcept
    float vm_softplusf(float x) noexcept
    double vm_softplus(double x) noexcept


cdef inline floating v_exp(floating x) noexcept nogil:
    """e^x"""
    if floating is float:
        return vm_expf(x)
    else:
        return vm_exp(x)


cdef inline floating v_expm1(floating x) noexcept nogil:
    """e^x - 1, accurate near 0"""
    if floating is float:
        return vm_expm1f(x)
    else:
        return vm_expm1(x)


cdef inline floating v_log1p(floating x) noexcept nogil:
    """log(1 + x), accurate near 0"""
    if floating is float:
        return vm_log1pf(x)
    else:
        return vm_log1p(x)


cdef inline floating v_tanh(floating x) noexcept nogil:
    """tanh(x)"""
    if floating is float:
        return vm_tanhf(x)
    else:
        return vm_tanh(x)


cdef inline floating v_erf(floating x) noexcept nogil:
    """erf(x)"""
    if floating is float:
        return vm_erff(x)
    else:
        return vm_erf(x)


cdef inline floating v_erf_gauss(floating x, floating* gauss) noexcept nogil:
    """erf(x), and e^-(x^2) in gauss[0] (GELU's derivative needs both)"""
    if floating is float:
        return vm_erf_gaussf(x, gauss)
    else:
        return vm_erf_gauss(x, gauss)


cdef inline floating v_logistic(floating x) noexcept nogil:
    """1 / (1 + e^-x), never overflowing"""
    if floating is float:
        return vm_logisticf(x)
    else:
        return vm_logistic(x)


cdef inline floating v_softplus(floating x) noexcept nogil:
    """log(1 + e^x), never overflowing"""
    if floating is float:
        return vm_softplusf(x)
    else:
        return vm_softplus(x)
