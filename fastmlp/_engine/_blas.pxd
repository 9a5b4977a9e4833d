# The one BLAS shim: fused float/double kernels over scipy.linalg.cython_blas,
# row-major by swapping operands (never by copying).
from cython cimport floating

cpdef enum BLAS_Trans:
    NoTrans = 110  # ord('n')
    Trans = 116    # ord('t')

cdef void _gemm(BLAS_Trans ta, BLAS_Trans tb, int m, int n, int k,
                floating alpha, const floating* A, int lda,
                const floating* B, int ldb,
                floating beta, floating* C, int ldc) noexcept nogil

cdef void _gemv(BLAS_Trans trans, int rows, int cols, floating alpha,
                const floating* A, int lda, const floating* x, int incx,
                floating beta, floating* y, int incy) noexcept nogil

cdef void _axpy(int n, floating alpha, const floating* x, floating* y) noexcept nogil

cdef floating _dot(int n, const floating* x, const floating* y) noexcept nogil
