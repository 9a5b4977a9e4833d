"""The BLAS shim against NumPy, over every transpose pair and both dtypes."""
import numpy as np
import pytest

from fastmlp._engine._blas import BLAS_Trans
from kernel_twins import _axpy_memview, _dot_memview, _gemm_memview

RTOL = {np.float32: 1e-5, np.float64: 1e-12}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta", [BLAS_Trans.NoTrans, BLAS_Trans.Trans])
@pytest.mark.parametrize("tb", [BLAS_Trans.NoTrans, BLAS_Trans.Trans])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (1, 9, 4), (6, 1, 5), (1, 7, 1), (5, 8, 1), (3, 5, 7), (17, 2, 33), (64, 31, 9)])
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_gemm_row_major(dtype, ta, tb, m, n, k, beta):
    rng = np.random.RandomState(m * 100 + n * 10 + k)
    A = rng.randn(*((k, m) if ta == BLAS_Trans.Trans else (m, k))).astype(dtype)
    B = rng.randn(*((n, k) if tb == BLAS_Trans.Trans else (k, n))).astype(dtype)
    C = rng.randn(m, n).astype(dtype)
    opA = A.T if ta == BLAS_Trans.Trans else A
    opB = B.T if tb == BLAS_Trans.Trans else B
    # beta 0 must ignore C entirely, even NaN in it
    if beta == 0:
        C[...] = np.nan
    expected = 0.5 * opA.astype(np.float64) @ opB + (beta * C if beta else 0)
    _gemm_memview(ta, tb, 0.5, A, B, beta, C)
    np.testing.assert_allclose(C, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_and_dot(dtype):
    rng = np.random.RandomState(0)
    x, y = rng.randn(37).astype(dtype), rng.randn(37).astype(dtype)
    expected = y + 3 * x
    np.testing.assert_allclose(_dot_memview(x, y), x.astype(np.float64) @ y,
                               rtol=RTOL[dtype] * 10)
    _axpy_memview(dtype(3), x, y)
    np.testing.assert_allclose(y, expected, rtol=RTOL[dtype])
