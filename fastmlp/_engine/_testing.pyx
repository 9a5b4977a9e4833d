"""Python-callable twins of the engine's kernels, for the tests only.

The engine never imports this module; keeping the twins here keeps Cython's
memoryview machinery out of the kernel modules, which the engine loads.
"""
import numpy as np
from cython cimport floating

from ._blas cimport BLAS_Trans, Trans, _gemm, _axpy, _dot
from ._activations cimport bias_activation, bias_activation_derivative, \
    activation_derivative, outer_activation_derivative
from ._losses cimport output_loss_delta, output_activation, MULTICLASS_HINGE, \
    MULTICLASS_SQUARED_HINGE
from ._optimizers cimport adam_step, sgd_step, adam_learning_rate
from ._sparse cimport csr_rows_dot, csr_rows_T_dot
from ._narrow cimport narrow_product, narrow_gradient
from .vmath cimport v_exp, v_expm1, v_log1p, v_tanh, v_erf, v_erf_gauss, \
    v_logistic, v_softplus


# _blas

def _gemm_memview(BLAS_Trans ta, BLAS_Trans tb, double alpha,
                  const floating[:, ::1] A, const floating[:, ::1] B,
                  double beta, floating[:, ::1] C):
    """C = alpha * op(A) @ op(B) + beta * C on C-contiguous 2-D arrays."""
    cdef int m = C.shape[0]
    cdef int n = C.shape[1]
    cdef int k = A.shape[0] if ta == Trans else A.shape[1]
    # test shapes are never empty; lda/ldb are the row lengths
    with nogil:
        _gemm(ta, tb, m, n, k, <floating>alpha, &A[0, 0], A.shape[1],
              &B[0, 0], B.shape[1], <floating>beta, &C[0, 0], n)


def _axpy_memview(double alpha, const floating[::1] x, floating[::1] y):
    """y += alpha * x"""
    _axpy(x.shape[0], <floating>alpha, &x[0], &y[0])


def _dot_memview(const floating[::1] x, const floating[::1] y):
    """x . y"""
    return _dot(x.shape[0], &x[0], &y[0])



# _narrow

def _narrow_product_memview(const floating[:, ::1] A, const floating[:, ::1] W,
                            floating[:, ::1] Z):
    """Z = A @ W"""
    narrow_product(&A[0, 0], &W[0, 0], &Z[0, 0], A.shape[0], A.shape[1], W.shape[1])


def _narrow_gradient_memview(const floating[:, ::1] A, const floating[:, ::1] D,
                             floating[:, ::1] dW, bint accumulate):
    """dW (+)= A.T @ D"""
    narrow_gradient(&A[0, 0], &D[0, 0], &dW[0, 0], A.shape[0], A.shape[1], D.shape[1],
                    accumulate)


# _activations

def _bias_activation_memview(floating[:, ::1] A, const floating[::1] bias, int activation,
                             double p0=0, double p1=0):
    """A = f(A + bias) in place; p0, p1: the activation's parameters."""
    cdef double params[2]
    params[0], params[1] = p0, p1
    bias_activation(&A[0, 0], &bias[0], A.shape[0], A.shape[1], activation, params)


def _bias_activation_derivative_memview(floating[:, ::1] A, floating[:, ::1] D,
                                        const floating[::1] bias, int activation,
                                        double p0=0, double p1=0):
    """z = A + bias; A = f(z), D = f'(z)."""
    cdef double params[2]
    params[0], params[1] = p0, p1
    bias_activation_derivative(&A[0, 0], &D[0, 0], &bias[0], A.shape[0], A.shape[1],
                               activation, params)


def _activation_derivative_memview(floating[:, ::1] delta, const floating[:, ::1] A,
                                   const floating[:, ::1] D, int activation,
                                   double p0=0, double p1=0):
    """delta *= f'(z) in place: D unless it is None, else from A = f(z)."""
    cdef double params[2]
    cdef const floating* d = NULL
    params[0], params[1] = p0, p1
    if D is not None:
        d = &D[0, 0]
    activation_derivative(&delta[0, 0], &A[0, 0], d, delta.shape[0], delta.shape[1],
                          activation, params)


def _outer_activation_derivative_memview(floating[:, ::1] delta, const floating[::1] d,
                                         const floating[::1] w, const floating[:, ::1] A,
                                         const floating[:, ::1] D, int activation,
                                         double p0=0, double p1=0):
    """delta = outer(d, w) * f'(z): D unless it is None, else from A = f(z)."""
    cdef double params[2]
    cdef const floating* kept = NULL
    params[0], params[1] = p0, p1
    if D is not None:
        kept = &D[0, 0]
    outer_activation_derivative(&delta[0, 0], &d[0], &w[0], &A[0, 0], kept, delta.shape[0],
                                delta.shape[1], activation, params)


# _losses

def _output_loss_delta_memview(floating[:, ::1] Z, const floating[::1] bias, Y,
                               const floating[::1] sample_weight,
                               int output, double delta_scale, floating[:, ::1] delta,
                               const Py_ssize_t[::1] rows=None, double loss_param=0):
    """Returns sum_i sw_i loss_i; Z becomes p, delta (p - y) sw scale. Y has
    a column per output, or is an intp vector of class indices (read at
    rows[i] when rows is given)."""
    cdef const floating[:, ::1] Y_values
    cdef const Py_ssize_t[::1] classes
    cdef const floating* y = NULL
    cdef const Py_ssize_t* c = NULL
    if Y.dtype == np.intp:
        classes = Y
        c = &classes[0]
    elif output in (MULTICLASS_HINGE, MULTICLASS_SQUARED_HINGE):
        raise ValueError("the multiclass hinge losses take class indices")
    else:
        Y_values = Y
        y = &Y_values[0, 0]
    return output_loss_delta(&Z[0, 0], &bias[0], y, c,
                             &rows[0] if rows is not None else NULL,
                             &sample_weight[0] if sample_weight.shape[0] else NULL,
                             Z.shape[0], Z.shape[1], output, loss_param,
                             <floating>delta_scale,
                             &delta[0, 0])


def _output_activation_memview(floating[:, ::1] Z, const floating[::1] bias, int output):
    """Z = f(Z + bias) in place."""
    output_activation(&Z[0, 0], &bias[0], Z.shape[0], Z.shape[1], output)


# _optimizers

def _adam_step_memview(floating[::1] params, const floating[::1] grads,
                       floating[::1] m, floating[::1] v, double learning_rate_init,
                       double beta_1, double beta_2, double epsilon, Py_ssize_t t,
                       double alpha=0.0, double sw_sum=1.0):
    """One Adam step at time step t (1-based) on raw gradient sums."""
    adam_step(&params[0], &grads[0], &m[0], &v[0], params.shape[0], params.shape[0],
              alpha, sw_sum, adam_learning_rate(learning_rate_init, beta_1, beta_2, t),
              beta_1, beta_2, epsilon)


def _sgd_step_memview(floating[::1] params, const floating[::1] grads,
                      floating[::1] velocity, double learning_rate, double momentum,
                      bint nesterov, double alpha=0.0, double sw_sum=1.0):
    """One SGD step on raw gradient sums."""
    sgd_step(&params[0], &grads[0], &velocity[0], params.shape[0], params.shape[0],
             alpha, sw_sum, learning_rate, momentum, nesterov)


# _sparse

def _csr_rows_dot_memview(const floating[::1] data, const Py_ssize_t[::1] indices,
                          const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] rows,
                          const floating[:, ::1] W, floating[:, ::1] out):
    """out = X[rows] @ W"""
    csr_rows_dot(&data[0], &indices[0], &indptr[0], &rows[0], 0, rows.shape[0],
                 &W[0, 0], W.shape[1], &out[0, 0])


def _csr_rows_T_dot_memview(const floating[::1] data, const Py_ssize_t[::1] indices,
                            const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] rows,
                            const floating[:, ::1] delta, floating[:, ::1] out):
    """out += X[rows].T @ delta"""
    csr_rows_T_dot(&data[0], &indices[0], &indptr[0], &rows[0], 0, rows.shape[0],
                   &delta[0, 0], delta.shape[1], &out[0, 0])


# vmath.h: y = f(x) elementwise, through the same fused wrappers and the
# same simple loop as the engine's (so GCC vectorises it as it does there)

def _vmath_memview(str name, const floating[::1] x, floating[::1] y):
    """y = f(x) for f named exp, expm1, log1p, tanh, erf, logistic, softplus,
    or gauss (e^-(x^2), from v_erf_gauss)."""
    cdef Py_ssize_t i, n = x.shape[0]
    cdef floating gauss
    if y.shape[0] != n:
        raise ValueError("x and y differ in length")
    if name == "exp":
        for i in range(n):
            y[i] = v_exp(x[i])
    elif name == "expm1":
        for i in range(n):
            y[i] = v_expm1(x[i])
    elif name == "log1p":
        for i in range(n):
            y[i] = v_log1p(x[i])
    elif name == "tanh":
        for i in range(n):
            y[i] = v_tanh(x[i])
    elif name == "erf":
        for i in range(n):
            y[i] = v_erf(x[i])
    elif name == "gauss":
        for i in range(n):
            v_erf_gauss(x[i], &gauss)
            y[i] = gauss
    elif name == "logistic":
        for i in range(n):
            y[i] = v_logistic(x[i])
    elif name == "softplus":
        for i in range(n):
            y[i] = v_softplus(x[i])
    else:
        raise ValueError(f"unknown vmath function {name!r}")
