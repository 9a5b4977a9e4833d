"""Products with a narrow side: a first layer on a few features.

make_moons' first layer is 2 x 16: a minibatch part's products there are
3,200 multiply-adds, and BLAS's ?gemm spent more than that on its call, its
packing and its buffer pool, whose lock the threads' parts contended for (a
futex sleep or wake about once a minibatch). These loops do the arithmetic
alone: four output units at a time in registers, the short inner loop over
the inputs. A make_moons epoch went from 72 to 62 us (float64).
"""


cdef void narrow_product(const floating* A,   # IN (n_samples, n_in)
                         const floating* W,   # IN (n_in, n_units)
                         floating* Z,         # OUT (n_samples, n_units)
                         Py_ssize_t n_samples, Py_ssize_t n_in,
                         Py_ssize_t n_units) noexcept nogil:
    """Z = A @ W, summed in input order"""
    cdef Py_ssize_t i, k, j
    cdef floating* z
    cdef const floating* a
    cdef const floating* w
    cdef floating ak, s0, s1, s2, s3
    for i in range(n_samples):
        z = Z + i * n_units
        a = A + i * n_in
        j = 0
        while j + 4 <= n_units:
            ak = a[0]
            s0 = ak * W[j]
            s1 = ak * W[j + 1]
            s2 = ak * W[j + 2]
            s3 = ak * W[j + 3]
            for k in range(1, n_in):
                ak = a[k]
                w = W + k * n_units + j
                s0 = s0 + ak * w[0]
                s1 = s1 + ak * w[1]
                s2 = s2 + ak * w[2]
                s3 = s3 + ak * w[3]
            z[j] = s0
            z[j + 1] = s1
            z[j + 2] = s2
            z[j + 3] = s3
            j += 4
        while j < n_units:
            s0 = a[0] * W[j]
            for k in range(1, n_in):
                s0 = s0 + a[k] * W[k * n_units + j]
            z[j] = s0
            j += 1


cdef void narrow_gradient(const floating* A,   # IN (n_samples, n_in)
                          const floating* D,   # IN (n_samples, n_units)
                          floating* dW,        # OUT (or +=) (n_in, n_units)
                          Py_ssize_t n_samples, Py_ssize_t n_in, Py_ssize_t n_units,
                          bint accumulate) noexcept nogil:
    """dW (+)= A.T @ D, summed in row order"""
    cdef Py_ssize_t i, k, j
    cdef floating ak, s0, s1, s2, s3
    cdef const floating* d
    cdef floating* out
    for k in range(n_in):
        out = dW + k * n_units
        j = 0
        while j + 4 <= n_units:
            s0 = s1 = s2 = s3 = 0
            for i in range(n_samples):
                ak = A[i * n_in + k]
                d = D + i * n_units + j
                s0 = s0 + ak * d[0]
                s1 = s1 + ak * d[1]
                s2 = s2 + ak * d[2]
                s3 = s3 + ak * d[3]
            if accumulate:
                s0 = s0 + out[j]
                s1 = s1 + out[j + 1]
                s2 = s2 + out[j + 2]
                s3 = s3 + out[j + 3]
            out[j] = s0
            out[j + 1] = s1
            out[j + 2] = s2
            out[j + 3] = s3
            j += 4
        while j < n_units:
            s0 = 0
            for i in range(n_samples):
                s0 = s0 + A[i * n_in + k] * D[i * n_units + j]
            if accumulate:
                s0 = s0 + out[j]
            out[j] = s0
            j += 1
