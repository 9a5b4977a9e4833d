# Output layers: the output activation fused with its loss and the output delta.
from cython cimport floating

from ._common cimport Loss, SQUARED_ERROR, POISSON, BINARY_LOG_LOSS, LOG_LOSS, \
    ABSOLUTE_ERROR, HUBER, QUANTILE, BINARY_HINGE, BINARY_SQUARED_HINGE, \
    MULTICLASS_HINGE, MULTICLASS_SQUARED_HINGE, \
    OutActivation, OUT_IDENTITY, OUT_EXP, OUT_LOGISTIC, OUT_SOFTMAX


cdef double output_loss_delta(floating* Z, const floating* bias,
                              const floating* Y, const Py_ssize_t* classes,
                              const Py_ssize_t* rows, const floating* sample_weight,
                              Py_ssize_t n_samples, Py_ssize_t n_outputs,
                              int loss, double loss_param, floating delta_scale,
                              floating* delta) noexcept nogil

cdef void output_activation(floating* Z, const floating* bias,
                            Py_ssize_t n_samples, Py_ssize_t n_outputs,
                            int out_activation) noexcept nogil
