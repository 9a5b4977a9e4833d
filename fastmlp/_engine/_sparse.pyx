"""Products of selected CSR rows with dense matrices.

The rows are X[rows[r]] for r < n_rows, or X[row_start + r] when rows is NULL
(a contiguous chunk), so minibatches are taken straight from the CSR arrays
without building a sparse copy per batch.
"""
from ._blas cimport _axpy


cdef inline Py_ssize_t _row(const Py_ssize_t* rows, Py_ssize_t row_start,
                            Py_ssize_t r) noexcept nogil:
    return rows[r] if rows != NULL else row_start + r


cdef void csr_rows_dot(const floating* data, const Py_ssize_t* indices,
                       const Py_ssize_t* indptr, const Py_ssize_t* rows,
                       Py_ssize_t row_start, Py_ssize_t n_rows,
                       const floating* W,     # IN (n_features, n_units)
                       Py_ssize_t n_units,
                       floating* out) noexcept nogil:  # OUT (n_rows, n_units)
    """out = X[rows] @ W"""
    cdef Py_ssize_t r, j, row, p
    cdef floating* o
    for r in range(n_rows):
        o = out + r * n_units
        for j in range(n_units):
            o[j] = 0
        row = _row(rows, row_start, r)
        for p in range(indptr[row], indptr[row + 1]):
            _axpy(<int>n_units, data[p], W + indices[p] * n_units, o)


cdef void csr_rows_T_dot(const floating* data, const Py_ssize_t* indices,
                         const Py_ssize_t* indptr, const Py_ssize_t* rows,
                         Py_ssize_t row_start, Py_ssize_t n_rows,
                         const floating* delta,  # IN (n_rows, n_units)
                         Py_ssize_t n_units,
                         floating* out) noexcept nogil:  # IN/OUT (n_features, n_units)
    """out += X[rows].T @ delta"""
    cdef Py_ssize_t r, row, p
    for r in range(n_rows):
        row = _row(rows, row_start, r)
        for p in range(indptr[row], indptr[row + 1]):
            _axpy(<int>n_units, data[p], delta + r * n_units, out + indices[p] * n_units)
