"""Fused array loops over the hidden activations.

One loop per activation, chosen once per call, so the scalar function inlines
into its loop (no function pointer in the hot path). A layer's parameters
arrive as its doubles and are cast to the dtype once per call.

A layer whose derivative is written from its output overwrites Z with
A = f(Z) in place (`bias_activation`) and differentiates from A; a layer that
keeps Z writes both (`bias_activation_keep`) and differentiates from Z.
"""

# The activations each derivative source has kernels for (forward and
# backward); Network checks every layer against them, so the loops below
# never meet a code they lack.
DERIVATIVE_FROM_OUTPUT = frozenset(int(code) for code in (
    IDENTITY, LOGISTIC, TANH, RELU, LEAKY_RELU, ELU, SELU))
DERIVATIVE_FROM_Z = frozenset(int(code) for code in (
    LEAKY_RELU, ELU, GELU, GELU_TANH, SILU, SOFTPLUS))


cdef void bias_activation(floating* Z,             # IN/OUT (n_samples, n_units)
                          const floating* bias,    # IN (n_units,)
                          Py_ssize_t n_samples, Py_ssize_t n_units,
                          int activation,
                          const double* params) noexcept nogil:   # IN (2,)
    """Z[i, j] = f(Z[i, j] + bias[j]) in one pass"""
    # one simple row loop per activation: the shape GCC vectorises
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef floating p0 = <floating>params[0]
    cdef floating p1 = <floating>params[1]
    if activation == RELU:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = relu(row[j] + bias[j])
    elif activation == TANH:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = tanh_(row[j] + bias[j])
    elif activation == LOGISTIC:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = logistic(row[j] + bias[j])
    elif activation == IDENTITY:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = identity(row[j] + bias[j])
    elif activation == LEAKY_RELU:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = leaky_relu(row[j] + bias[j], p0)
    elif activation == ELU:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = elu(row[j] + bias[j], p0)
    elif activation == SELU:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = selu(row[j] + bias[j])
    elif activation == GELU:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = gelu(row[j] + bias[j])
    elif activation == GELU_TANH:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = gelu_tanh(row[j] + bias[j])
    elif activation == SILU:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = silu(row[j] + bias[j])
    elif activation == SOFTPLUS:
        for i in range(n_samples):
            row = Z + i * n_units
            for j in range(n_units):
                row[j] = softplus(row[j] + bias[j], p0, p1)


cdef void bias_activation_keep(floating* Z,            # IN Z - bias, OUT Z
                               floating* A,            # OUT f(Z)
                               const floating* bias,   # IN (n_units,)
                               Py_ssize_t n_samples, Py_ssize_t n_units,
                               int activation,
                               const double* params) noexcept nogil:  # IN (2,)
    """Z[i, j] += bias[j] and A[i, j] = f(Z[i, j]) in one pass, for a layer
    that keeps Z for its derivative (DERIVATIVE_FROM_Z)"""
    cdef Py_ssize_t i, j
    cdef floating* zrow
    cdef floating* arow
    cdef floating z
    cdef floating p0 = <floating>params[0]
    cdef floating p1 = <floating>params[1]
    if activation == GELU:
        for i in range(n_samples):
            zrow = Z + i * n_units
            arow = A + i * n_units
            for j in range(n_units):
                z = zrow[j] + bias[j]
                zrow[j] = z
                arow[j] = gelu(z)
    elif activation == SILU:
        for i in range(n_samples):
            zrow = Z + i * n_units
            arow = A + i * n_units
            for j in range(n_units):
                z = zrow[j] + bias[j]
                zrow[j] = z
                arow[j] = silu(z)
    elif activation == GELU_TANH:
        for i in range(n_samples):
            zrow = Z + i * n_units
            arow = A + i * n_units
            for j in range(n_units):
                z = zrow[j] + bias[j]
                zrow[j] = z
                arow[j] = gelu_tanh(z)
    elif activation == SOFTPLUS:
        for i in range(n_samples):
            zrow = Z + i * n_units
            arow = A + i * n_units
            for j in range(n_units):
                z = zrow[j] + bias[j]
                zrow[j] = z
                arow[j] = softplus(z, p0, p1)
    elif activation == LEAKY_RELU:
        for i in range(n_samples):
            zrow = Z + i * n_units
            arow = A + i * n_units
            for j in range(n_units):
                z = zrow[j] + bias[j]
                zrow[j] = z
                arow[j] = leaky_relu(z, p0)
    elif activation == ELU:
        for i in range(n_samples):
            zrow = Z + i * n_units
            arow = A + i * n_units
            for j in range(n_units):
                z = zrow[j] + bias[j]
                zrow[j] = z
                arow[j] = elu(z, p0)


cdef void activation_derivative(floating* delta,    # IN/OUT (n_samples, n_units)
                                const floating* A,  # IN (n_samples, n_units)
                                const floating* Z,  # IN (n_samples, n_units) or NULL
                                Py_ssize_t n_samples, Py_ssize_t n_units,
                                int activation,
                                const double* params) noexcept nogil:  # IN (2,)
    """delta *= f'(z), written from the output A = f(z), or from Z when the
    layer keeps it (Z not NULL)"""
    cdef Py_ssize_t i, n = n_samples * n_units
    cdef floating p0 = <floating>params[0]
    cdef floating p1 = <floating>params[1]
    if Z == NULL:
        if activation == RELU:
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
    elif activation == GELU:
        for i in range(n):
            delta[i] = gelu_derivative(delta[i], Z[i])
    elif activation == SILU:
        for i in range(n):
            delta[i] = silu_derivative(delta[i], Z[i])
    elif activation == GELU_TANH:
        for i in range(n):
            delta[i] = gelu_tanh_derivative(delta[i], Z[i])
    elif activation == SOFTPLUS:
        for i in range(n):
            delta[i] = softplus_derivative(delta[i], Z[i], p0, p1)
    elif activation == LEAKY_RELU:
        for i in range(n):
            delta[i] = leaky_relu_derivative(delta[i], Z[i], p0)
    elif activation == ELU:
        for i in range(n):
            delta[i] = elu_derivative_z(delta[i], Z[i], p0)


cdef void outer_activation_derivative(floating* delta,     # OUT (n_samples, n_units)
                                      const floating* d,   # IN (n_samples,)
                                      const floating* w,   # IN (n_units,)
                                      const floating* A,   # IN (n_samples, n_units)
                                      const floating* Z,   # IN (n_samples, n_units) or NULL
                                      Py_ssize_t n_samples, Py_ssize_t n_units,
                                      int activation,
                                      const double* params) noexcept nogil:  # IN (2,)
    """delta[i, j] = d[i] w[j] f'(z[i, j]), written from A = f(z), or from Z
    when the layer keeps it (Z not NULL): the delta of a layer under a
    one-unit layer, whose product d @ w.T is an outer product (BLAS would
    take a call and a zeroing pass for it)"""
    cdef Py_ssize_t i, j
    cdef floating* row
    cdef const floating* x
    cdef floating di
    cdef floating p0 = <floating>params[0]
    cdef floating p1 = <floating>params[1]
    if Z == NULL:
        if activation == RELU:
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
    elif activation == GELU:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, Z + i * n_units, d[i]
            for j in range(n_units):
                row[j] = gelu_derivative(di * w[j], x[j])
    elif activation == SILU:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, Z + i * n_units, d[i]
            for j in range(n_units):
                row[j] = silu_derivative(di * w[j], x[j])
    elif activation == GELU_TANH:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, Z + i * n_units, d[i]
            for j in range(n_units):
                row[j] = gelu_tanh_derivative(di * w[j], x[j])
    elif activation == SOFTPLUS:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, Z + i * n_units, d[i]
            for j in range(n_units):
                row[j] = softplus_derivative(di * w[j], x[j], p0, p1)
    elif activation == LEAKY_RELU:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, Z + i * n_units, d[i]
            for j in range(n_units):
                row[j] = leaky_relu_derivative(di * w[j], x[j], p0)
    elif activation == ELU:
        for i in range(n_samples):
            row, x, di = delta + i * n_units, Z + i * n_units, d[i]
            for j in range(n_units):
                row[j] = elu_derivative_z(di * w[j], x[j], p0)
