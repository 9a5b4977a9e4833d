"""Fused array loops over the hidden activations.

One loop per activation, chosen once per call, so the scalar function inlines
into its loop (no function pointer in the hot path). A layer's parameters
arrive as its doubles and are cast to the dtype once per call.

A layer whose derivative is written from its output overwrites the product
with A = f(Z) in place (`bias_activation`) and differentiates from A. A layer
whose derivative cannot be written from its output also writes D = f'(Z)
(`bias_activation_derivative`), evaluated from the same exp, erf or tanh as
f(Z), and its backward pass multiplies by D.
"""

import os
from importlib import import_module

cdef extern from *:
    """
    /* 0 for the baseline build of this module; setup.py compiles it again
       for wider vectors with FASTMLP_ISA_BUILD 1 (AVX2) and 2 (AVX-512) */
    #ifndef FASTMLP_ISA_BUILD
    #define FASTMLP_ISA_BUILD 0
    #endif
    /* the widest of those builds this CPU (and its OS) runs */
    static int fastmlp_isa_level(void) {
    #if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
                && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
            return 2;
        if (__builtin_cpu_supports("avx2"))
            return 1;
    #endif
        return 0;
    }
    """
    const int ISA_BUILD "FASTMLP_ISA_BUILD"
    int isa_level "fastmlp_isa_level"() noexcept nogil

_ISA_NAMES = ("baseline", "avx2", "avx512")


def _widest_build():
    """The name of the widest build of these loops that this CPU runs and
    setup.py built, and its module (None: this one). FASTMLP_ISA
    ("baseline", "avx2", "avx512") caps it, to compare builds."""
    cap = os.environ.get("FASTMLP_ISA", "avx512")
    level = min(isa_level(), _ISA_NAMES.index(cap) if cap in _ISA_NAMES else 0)
    for level in range(level, 0, -1):
        try:
            return _ISA_NAMES[level], import_module(f"{__package__}._activations_"
                                                    f"{_ISA_NAMES[level]}")
        except ImportError:   # not built for this platform
            continue
    return "baseline", None


# Modules that cimport the loops below read them from __pyx_capi__ when they
# are imported, after this: the baseline build hands out the widest build's.
if ISA_BUILD == 0:
    ISA, _build = _widest_build()
    if _build is not None:
        globals()["__pyx_capi__"].update(_build.__pyx_capi__)
else:
    ISA = _ISA_NAMES[ISA_BUILD]

# The activations each derivative source has kernels for; Network checks
# every layer against them, so the loops below never meet a code they lack.
DERIVATIVE_FROM_OUTPUT = frozenset(int(code) for code in (
    IDENTITY, LOGISTIC, TANH, RELU, LEAKY_RELU, ELU, SELU))
DERIVATIVE_IN_FORWARD = frozenset(int(code) for code in (
    LEAKY_RELU, ELU, GELU, GELU_TANH, SILU, SOFTPLUS))


cdef void bias_activation(floating* A,             # IN Z - bias, OUT f(Z) (n_samples, n_units)
                          const floating* bias,    # IN (n_units,)
                          Py_ssize_t n_samples, Py_ssize_t n_units,
                          int activation,
                          const double* params) noexcept nogil:   # IN (2,)
    """A[i, j] = f(A[i, j] + bias[j]) in one pass"""
    # one simple row loop per activation: the shape GCC vectorises
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating p0 = <floating>params[0]
    cdef floating p1 = <floating>params[1]
    if activation == RELU:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = relu(row[j] + bias[j])
    elif activation == TANH:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = tanh_(row[j] + bias[j])
    elif activation == LOGISTIC:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = logistic(row[j] + bias[j])
    elif activation == IDENTITY:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = identity(row[j] + bias[j])
    elif activation == LEAKY_RELU:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = leaky_relu(row[j] + bias[j], p0)
    elif activation == ELU:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = elu(row[j] + bias[j], p0)
    elif activation == SELU:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = selu(row[j] + bias[j])
    elif activation == GELU:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = gelu(row[j] + bias[j])
    elif activation == GELU_TANH:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = gelu_tanh(row[j] + bias[j])
    elif activation == SILU:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = silu(row[j] + bias[j])
    elif activation == SOFTPLUS:
        for i in range(n_samples):
            row = A + i * n_units
            for j in range(n_units):
                row[j] = softplus(row[j] + bias[j], p0, p1)


cdef void bias_activation_derivative(floating* A,          # IN Z - bias, OUT f(Z)
                                     floating* D,          # OUT f'(Z)
                                     const floating* bias,  # IN (n_units,)
                                     Py_ssize_t n_samples, Py_ssize_t n_units,
                                     int activation,
                                     const double* params) noexcept nogil:  # IN (2,)
    """z = A[i, j] + bias[j], A[i, j] = f(z) and D[i, j] = f'(z) in one pass,
    for a layer whose derivative cannot be written from its output
    (DERIVATIVE_IN_FORWARD)"""
    cdef Py_ssize_t i, j
    cdef floating* arow
    cdef floating* drow
    cdef floating p0 = <floating>params[0]
    cdef floating p1 = <floating>params[1]
    if activation == GELU:
        for i in range(n_samples):
            arow, drow = A + i * n_units, D + i * n_units
            for j in range(n_units):
                arow[j] = gelu_and_derivative(arow[j] + bias[j], &drow[j])
    elif activation == SILU:
        for i in range(n_samples):
            arow, drow = A + i * n_units, D + i * n_units
            for j in range(n_units):
                arow[j] = silu_and_derivative(arow[j] + bias[j], &drow[j])
    elif activation == GELU_TANH:
        for i in range(n_samples):
            arow, drow = A + i * n_units, D + i * n_units
            for j in range(n_units):
                arow[j] = gelu_tanh_and_derivative(arow[j] + bias[j], &drow[j])
    elif activation == SOFTPLUS:
        for i in range(n_samples):
            arow, drow = A + i * n_units, D + i * n_units
            for j in range(n_units):
                arow[j] = softplus_and_derivative(arow[j] + bias[j], p0, p1, &drow[j])
    elif activation == LEAKY_RELU:
        for i in range(n_samples):
            arow, drow = A + i * n_units, D + i * n_units
            for j in range(n_units):
                arow[j] = leaky_relu_and_derivative(arow[j] + bias[j], p0, &drow[j])
    elif activation == ELU:
        for i in range(n_samples):
            arow, drow = A + i * n_units, D + i * n_units
            for j in range(n_units):
                arow[j] = elu_and_derivative(arow[j] + bias[j], p0, &drow[j])


cdef void activation_derivative(floating* delta,    # IN/OUT (n_samples, n_units)
                                const floating* A,  # IN (n_samples, n_units)
                                const floating* D,  # IN f'(Z) (n_samples, n_units) or NULL
                                Py_ssize_t n_samples, Py_ssize_t n_units,
                                int activation,
                                const double* params) noexcept nogil:  # IN (2,)
    """delta *= f'(z): D where the forward pass kept it (D not NULL), else
    written from the output A = f(z)"""
    cdef Py_ssize_t i, n = n_samples * n_units
    cdef floating p0 = <floating>params[0]
    if D != NULL:
        for i in range(n):
            delta[i] = delta[i] * D[i]
    elif activation == RELU:
        for i in range(n):
            delta[i] = relu_derivative(delta[i], A[i])
    elif activation == TANH:
        for i in range(n):
            delta[i] = tanh_derivative(delta[i], A[i])
    elif activation == LOGISTIC:
        for i in range(n):
            delta[i] = logistic_derivative(delta[i], A[i])
    elif activation == LEAKY_RELU:
        for i in range(n):
            delta[i] = leaky_relu_derivative(delta[i], A[i], p0)
    elif activation == ELU:
        for i in range(n):
            delta[i] = elu_derivative(delta[i], A[i], p0)
    elif activation == SELU:
        for i in range(n):
            delta[i] = selu_derivative(delta[i], A[i])
    # IDENTITY: f' = 1, delta unchanged


cdef void outer_activation_derivative(floating* delta,     # OUT (n_samples, n_units)
                                      const floating* d,   # IN (n_samples,)
                                      const floating* w,   # IN (n_units,)
                                      const floating* A,   # IN (n_samples, n_units)
                                      const floating* D,   # IN f'(Z) (n_samples, n_units) or NULL
                                      Py_ssize_t n_samples, Py_ssize_t n_units,
                                      int activation,
                                      const double* params) noexcept nogil:  # IN (2,)
    """delta[i, j] = d[i] w[j] f'(z[i, j]), from D where the forward pass
    kept it (D not NULL), else written from A = f(z): the delta of a layer
    under a one-unit layer, whose product d @ w.T is an outer product (BLAS
    would take a call and a zeroing pass for it)"""
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef const floating* x
    cdef floating di
    cdef floating p0 = <floating>params[0]
    if D != NULL:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, D + i * n_units, d[i]
            for j in range(n_units):
                row[j] = di * w[j] * x[j]
    elif activation == RELU:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, A + i * n_units, d[i]
            for j in range(n_units):
                row[j] = relu_derivative(di * w[j], x[j])
    elif activation == TANH:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, A + i * n_units, d[i]
            for j in range(n_units):
                row[j] = tanh_derivative(di * w[j], x[j])
    elif activation == LOGISTIC:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, A + i * n_units, d[i]
            for j in range(n_units):
                row[j] = logistic_derivative(di * w[j], x[j])
    elif activation == IDENTITY:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, A + i * n_units, d[i]
            for j in range(n_units):
                row[j] = identity_derivative(di * w[j], x[j])
    elif activation == LEAKY_RELU:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, A + i * n_units, d[i]
            for j in range(n_units):
                row[j] = leaky_relu_derivative(di * w[j], x[j], p0)
    elif activation == ELU:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, A + i * n_units, d[i]
            for j in range(n_units):
                row[j] = elu_derivative(di * w[j], x[j], p0)
    elif activation == SELU:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, A + i * n_units, d[i]
            for j in range(n_units):
                row[j] = selu_derivative(di * w[j], x[j])
