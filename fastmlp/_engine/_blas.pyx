"""Row-major BLAS level-1 and level-3 kernels for the engine.

C (row-major, m x n) = op(A) @ op(B) is the column-major product
C.T = op(B).T @ op(A).T, so we call column-major ?gemm with the operands and
their transpose flags swapped; no copy is ever made.
"""
from scipy.linalg.cython_blas cimport sgemm, dgemm, sgemv, dgemv, saxpy, daxpy, sdot, ddot


cdef void _gemm(BLAS_Trans ta, BLAS_Trans tb, int m, int n, int k,
                floating alpha, const floating* A, int lda,
                const floating* B, int ldb,
                floating beta, floating* C, int ldc) noexcept nogil:
    """C = alpha * op(A) @ op(B) + beta * C, all row-major.

    A product with one row or one column goes to gemv: gemm's packing costs
    more than the arithmetic there (a one-row prediction, a one-unit output).
    """
    cdef char ta_ = ta
    cdef char tb_ = tb
    if m == 0 or n == 0:
        return
    if m == 1:
        # c = op(B).T @ a, where a (length k) is op(A)'s only row
        if tb == NoTrans:
            _gemv(Trans, k, n, alpha, B, ldb, A, 1 if ta == NoTrans else lda, beta, C, 1)
        else:
            _gemv(NoTrans, n, k, alpha, B, ldb, A, 1 if ta == NoTrans else lda, beta, C, 1)
    elif n == 1:
        # c = op(A) @ b, where b (length k) is op(B)'s only column
        if ta == NoTrans:
            _gemv(NoTrans, m, k, alpha, A, lda, B, ldb if tb == NoTrans else 1, beta, C, ldc)
        else:
            _gemv(Trans, k, m, alpha, A, lda, B, ldb if tb == NoTrans else 1, beta, C, ldc)
    elif floating is float:
        sgemm(&tb_, &ta_, &n, &m, &k, &alpha, <float*>B, &ldb,
              <float*>A, &lda, &beta, C, &ldc)
    else:
        dgemm(&tb_, &ta_, &n, &m, &k, &alpha, <double*>B, &ldb,
              <double*>A, &lda, &beta, C, &ldc)


cdef void _gemv(BLAS_Trans trans, int rows, int cols, floating alpha,
                       const floating* A, int lda, const floating* x, int incx,
                       floating beta, floating* y, int incy) noexcept nogil:
    """y = alpha * op(A) @ x + beta * y, A row-major (rows, cols).

    Row-major A is column-major A.T, so BLAS sees (cols, rows) and the
    opposite transpose flag.
    """
    cdef char t = Trans if trans == NoTrans else NoTrans
    if floating is float:
        sgemv(&t, &cols, &rows, &alpha, <float*>A, &lda, <float*>x, &incx, &beta, y, &incy)
    else:
        dgemv(&t, &cols, &rows, &alpha, <double*>A, &lda, <double*>x, &incx, &beta, y, &incy)


cdef void _axpy(int n, floating alpha, const floating* x, floating* y) noexcept nogil:
    """y += alpha * x"""
    cdef int inc = 1
    if floating is float:
        saxpy(&n, &alpha, <float*>x, &inc, y, &inc)
    else:
        daxpy(&n, &alpha, <double*>x, &inc, y, &inc)


cdef floating _dot(int n, const floating* x, const floating* y) noexcept nogil:
    """x . y"""
    cdef int inc = 1
    if floating is float:
        return sdot(&n, <float*>x, &inc, <float*>y, &inc)
    else:
        return ddot(&n, <double*>x, &inc, <double*>y, &inc)
