# Products with a narrow side (a first layer on a few features), in our own
# loops instead of BLAS.
from cython cimport floating


cdef inline bint is_narrow(Py_ssize_t n_in, Py_ssize_t n_units) noexcept nogil:
    """Whether a layer's products take narrow_product and narrow_gradient:
    measured on make_classification fits, they beat BLAS up to 4 inputs and
    128 weights (2 x 64, 3 x 32, 4 x 16 and 4 x 32 within 2%), and lose
    beyond (4 x 64 by 20%)"""
    return n_in <= 4 and n_in * n_units <= 128


cdef void narrow_product(const floating* A, const floating* W, floating* Z,
                         Py_ssize_t n_samples, Py_ssize_t n_in,
                         Py_ssize_t n_units) noexcept nogil

cdef void narrow_gradient(const floating* A, const floating* D, floating* dW,
                          Py_ssize_t n_samples, Py_ssize_t n_in, Py_ssize_t n_units,
                          bint accumulate) noexcept nogil
