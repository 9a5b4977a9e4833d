"""Fused array loops over the hidden activations.

One loop per activation, chosen once per call, so the scalar function inlines
into its loop (no function pointer in the hot path).
"""


cdef inline void _bias_relu_row(floating* row, const floating* bias,
                                Py_ssize_t n_units) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n_units):
        row[j] = relu(row[j] + bias[j])


cdef inline void _bias_tanh_row(floating* row, const floating* bias,
                                Py_ssize_t n_units) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n_units):
        row[j] = tanh_(row[j] + bias[j])


cdef inline void _bias_logistic_row(floating* row, const floating* bias,
                                    Py_ssize_t n_units) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n_units):
        row[j] = logistic(row[j] + bias[j])


cdef inline void _bias_identity_row(floating* row, const floating* bias,
                                    Py_ssize_t n_units) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n_units):
        row[j] = identity(row[j] + bias[j])


cdef void bias_activation(floating* Z,             # IN/OUT (n_samples, n_units)
                          const floating* bias,    # IN (n_units,)
                          Py_ssize_t n_samples, Py_ssize_t n_units,
                          int activation) noexcept nogil:
    """Z[i, j] = f(Z[i, j] + bias[j]) in one pass"""
    # one simple row loop per activation: the shape GCC vectorises
    cdef Py_ssize_t i
    if activation == RELU:
        for i in range(n_samples):
            _bias_relu_row(Z + i * n_units, bias, n_units)
    elif activation == TANH:
        for i in range(n_samples):
            _bias_tanh_row(Z + i * n_units, bias, n_units)
    elif activation == LOGISTIC:
        for i in range(n_samples):
            _bias_logistic_row(Z + i * n_units, bias, n_units)
    elif activation == IDENTITY:
        for i in range(n_samples):
            _bias_identity_row(Z + i * n_units, bias, n_units)


cdef void activation_derivative(floating* delta,    # IN/OUT (n_samples, n_units)
                                const floating* A,  # IN (n_samples, n_units)
                                Py_ssize_t n_samples, Py_ssize_t n_units,
                                int activation) noexcept nogil:
    """delta *= f'(z), written from the output A = f(z)"""
    cdef Py_ssize_t i, n = n_samples * n_units
    if activation == RELU:
        for i in range(n):
            delta[i] = relu_derivative(delta[i], A[i])
    elif activation == TANH:
        for i in range(n):
            delta[i] = tanh_derivative(delta[i], A[i])
    elif activation == LOGISTIC:
        for i in range(n):
            delta[i] = logistic_derivative(delta[i], A[i])
    # IDENTITY: f' = 1, delta unchanged


cdef void outer_activation_derivative(floating* delta,     # OUT (n_samples, n_units)
                                      const floating* d,   # IN (n_samples,)
                                      const floating* w,   # IN (n_units,)
                                      const floating* A,   # IN (n_samples, n_units)
                                      Py_ssize_t n_samples, Py_ssize_t n_units,
                                      int activation) noexcept nogil:
    """delta[i, j] = d[i] w[j] f'(z[i, j]), written from A = f(z): the delta of
    a layer under a one-unit layer, whose product d @ w.T is an outer product
    (BLAS would take a call and a zeroing pass for it)"""
    cdef Py_ssize_t i
    if activation == RELU:
        for i in range(n_samples):
            _outer_relu_row(delta + i * n_units, d[i], w, A + i * n_units, n_units)
    elif activation == TANH:
        for i in range(n_samples):
            _outer_tanh_row(delta + i * n_units, d[i], w, A + i * n_units, n_units)
    elif activation == LOGISTIC:
        for i in range(n_samples):
            _outer_logistic_row(delta + i * n_units, d[i], w, A + i * n_units, n_units)
    elif activation == IDENTITY:
        for i in range(n_samples):
            _outer_identity_row(delta + i * n_units, d[i], w, A + i * n_units, n_units)


cdef inline void _outer_relu_row(floating* row, floating di, const floating* w,
                                 const floating* a, Py_ssize_t n_units) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n_units):
        row[j] = relu_derivative(di * w[j], a[j])


cdef inline void _outer_tanh_row(floating* row, floating di, const floating* w,
                                 const floating* a, Py_ssize_t n_units) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n_units):
        row[j] = tanh_derivative(di * w[j], a[j])


cdef inline void _outer_logistic_row(floating* row, floating di, const floating* w,
                                     const floating* a, Py_ssize_t n_units) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n_units):
        row[j] = logistic_derivative(di * w[j], a[j])


cdef inline void _outer_identity_row(floating* row, floating di, const floating* w,
                                     const floating* a, Py_ssize_t n_units) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n_units):
        row[j] = identity_derivative(di * w[j], a[j])
