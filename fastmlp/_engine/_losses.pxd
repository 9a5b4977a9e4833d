# Output layers: the output activation fused with its loss and the output delta.
from cython cimport floating

cpdef enum Output:
    SQUARED_ERROR = 0    # identity output, half squared error
    POISSON = 1          # exp output, half Poisson deviance
    BINARY_LOG_LOSS = 2  # logistic output per column (binary, multilabel)
    LOG_LOSS = 3         # softmax output (multiclass)


cdef double output_loss_delta(floating* Z, const floating* bias,
                              const floating* Y, const floating* sample_weight,
                              Py_ssize_t n_samples, Py_ssize_t n_outputs,
                              Py_ssize_t n_targets, int output, floating delta_scale,
                              floating* delta) noexcept nogil

cdef void output_activation(floating* Z, const floating* bias,
                            Py_ssize_t n_samples, Py_ssize_t n_outputs,
                            int output) noexcept nogil
