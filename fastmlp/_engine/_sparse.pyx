"""Products of selected CSR rows with dense matrices.

The rows are X[rows[r]] for r < n_rows, or X[row_start + r] when rows is NULL
(a contiguous chunk), so minibatches are taken straight from the CSR arrays
without building a sparse copy per batch.

The products index the weights with the column indices and the arrays with
the row pointers, unchecked: every entry point that takes CSR arrays passes
them through check_csr first (issue 10).
"""
from ._blas cimport _axpy


cdef int check_csr(const Py_ssize_t* indptr, Py_ssize_t n_pointers,
                   const Py_ssize_t* indices, Py_ssize_t n_indices,
                   Py_ssize_t n_values, Py_ssize_t n_rows,
                   Py_ssize_t n_features) except -1:
    """Raise ValueError unless the CSR arrays hold n_rows rows of n_features
    columns: n_rows + 1 row pointers from 0 to n_indices, never decreasing,
    as many values as indices, and every index in [0, n_features). One pass
    over each array (NULL arrays are empty)."""
    cdef Py_ssize_t i
    cdef bint pointers_ok = True, indices_ok = True
    if n_rows < 0 or n_pointers != n_rows + 1:
        raise ValueError(f"CSR X has {n_pointers} row pointers for {n_rows} rows")
    if n_indices != n_values:
        raise ValueError(f"CSR X has {n_indices} column indices for {n_values} values")
    with nogil:
        pointers_ok = indptr[0] == 0 and indptr[n_rows] == n_indices
        for i in range(n_rows):
            pointers_ok &= indptr[i] <= indptr[i + 1]
        # one unsigned comparison tests both bounds (negatives wrap high)
        for i in range(n_indices):
            indices_ok &= <size_t>indices[i] < <size_t>n_features
    if not pointers_ok:
        raise ValueError(f"CSR X's row pointers do not rise from 0 to its "
                         f"{n_indices} indices")
    if not indices_ok:
        for i in range(n_indices):
            if not 0 <= indices[i] < n_features:
                raise ValueError(f"CSR X has column index {indices[i]} for "
                                 f"{n_features} inputs")
    return 0


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
