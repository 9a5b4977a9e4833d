# Sparse (CSR) x dense products for the first layer, and the check that makes
# them safe.
from cython cimport floating

cdef int check_csr(const Py_ssize_t* indptr, Py_ssize_t n_pointers,
                   const Py_ssize_t* indices, Py_ssize_t n_indices,
                   Py_ssize_t n_values, Py_ssize_t n_rows,
                   Py_ssize_t n_features) except -1

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
