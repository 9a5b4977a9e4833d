# Sparse (CSR) x dense products for the first layer.
from cython cimport floating

cdef void csr_rows_dot(const floating* data, const Py_ssize_t* indices,
                       const Py_ssize_t* indptr, const Py_ssize_t* rows,
                       Py_ssize_t row_start, Py_ssize_t n_rows,
                       const floating* W, Py_ssize_t n_units,
                       floating* out) noexcept nogil

cdef void csr_rows_T_dot(const floating* data, const Py_ssize_t* indices,
                         const Py_ssize_t* indptr, const Py_ssize_t* rows,
                         Py_ssize_t row_start, Py_ssize_t n_rows,
                         const floating* delta, Py_ssize_t n_units,
                         floating* out) noexcept nogil
