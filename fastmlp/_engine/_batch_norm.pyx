"""Batch normalisation (Ioffe & Szegedy 2015; PyTorch's BatchNorm1d in
training mode): Y = gamma X^ + beta with X^ = (Z - mean) / sqrt(var + eps),
mean and (biased) var over the minibatch's rows, per unit.

A minibatch is cut into row parts (see _common.pxd), so its statistics are
combined from the parts': each part's mean and sum of squared deviations
(M2, two passes over its rows: no cancellation, unlike sums of Z and Z**2),
merged in part order by Chan et al.'s update, so the result depends on the
number of parts, never on the threads. Backward, with G = dLoss/dY:

    dLoss/dZ = gamma / sqrt(var + eps) (G - sum(G) / n - X^ sum(G X^) / n)

where the sums over the minibatch's rows are again the parts' sums added
in part order; sum(G) and sum(G X^) are also beta's and gamma's gradients.

Statistics are unweighted: sample weights weigh each row's loss (and so its
G), not the batch's mean and variance (PyTorch has no sample weights).
Statistics are in float64 whatever the model's dtype.
"""
from libc.math cimport sqrt


cdef void part_moments(const floating* Z,   # IN (n_rows, n_units)
                       Py_ssize_t n_rows, Py_ssize_t n_units,
                       double* mean, double* m2) noexcept nogil:   # OUT (n_units,)
    """mean = sum_r Z[r] / n_rows; m2 = sum_r (Z[r] - mean)**2"""
    cdef Py_ssize_t r, j
    cdef const floating* z
    cdef double d
    for j in range(n_units):
        mean[j] = 0
        m2[j] = 0
    if n_rows == 0:
        return
    for r in range(n_rows):
        z = Z + r * n_units
        for j in range(n_units):
            mean[j] += z[j]
    for j in range(n_units):
        mean[j] /= n_rows
    for r in range(n_rows):
        z = Z + r * n_units
        for j in range(n_units):
            d = z[j] - mean[j]
            m2[j] += d * d


cdef void combine_moments(const Layer* layer,
                          const double* part_stats,  # IN per part (stride apart):
                                                     # means at [stat], M2 at [n_stats + stat]
                          Py_ssize_t stride, Py_ssize_t n_stats, Py_ssize_t n_parts,
                          Py_ssize_t n_rows,         # the minibatch's, in parts as
                                                     # part_range cuts them
                          double eps, Batch* batch) noexcept nogil:  # OUT mean, var, invstd
    """The minibatch's mean, biased variance and 1 / sqrt(var + eps) of the
    layer's units, from the parts' moments in part order (Chan et al.)"""
    cdef Py_ssize_t q, j, n_units = layer.n_out, stat = layer.stat
    cdef Py_ssize_t part_rows = (n_rows + n_parts - 1) // n_parts
    cdef Py_ssize_t nq, n_seen = 0
    cdef double* mean = batch.mean + stat
    cdef double* m2 = batch.var + stat   # M2 until the end
    cdef const double* pm
    cdef const double* pm2
    cdef double delta, n_new
    for q in range(n_parts):
        nq = min(part_rows, n_rows - min(q * part_rows, n_rows))
        if nq <= 0:
            continue
        pm = part_stats + q * stride + stat
        pm2 = part_stats + q * stride + n_stats + stat
        if n_seen == 0:
            for j in range(n_units):
                mean[j] = pm[j]
                m2[j] = pm2[j]
        else:
            n_new = n_seen + nq
            for j in range(n_units):
                delta = pm[j] - mean[j]
                mean[j] += delta * nq / n_new
                m2[j] += pm2[j] + delta * delta * (<double>n_seen * nq / n_new)
        n_seen += nq
    for j in range(n_units):
        m2[j] = m2[j] / n_rows
        batch.invstd[stat + j] = 1 / sqrt(m2[j] + eps)


cdef void update_running(const Layer* layer, const Batch* batch, Py_ssize_t n_stats,
                         double momentum,
                         double* running) noexcept nogil:  # IN/OUT means, then variances
    """running = (1 - momentum) running + momentum batch statistic, the
    variance unbiased (n / (n - 1)), as PyTorch's; a one-row minibatch has
    no variance to count (the estimators refuse them)"""
    cdef Py_ssize_t j, stat = layer.stat
    cdef double n = batch.n_rows
    if batch.n_rows < 2:
        return
    for j in range(stat, stat + layer.n_out):
        running[j] = (1 - momentum) * running[j] + momentum * batch.mean[j]
        running[n_stats + j] = (1 - momentum) * running[n_stats + j] \
            + momentum * batch.var[j] * n / (n - 1)


# The elementwise passes take their per-unit coefficients from stack
# buffers of _UNITS units at a time, computed once per part in float64 and
# rounded to the model's dtype: no division and no float64 conversion per
# element, so the loops vectorise at the dtype's width.
cdef enum:
    _UNITS = 256


cdef void normalize(floating* Z,            # IN Z, OUT gamma X^ (beta is added with
                                            # the activation)
                    floating* X_hat,        # OUT X^
                    const floating* gamma,
                    Py_ssize_t n_rows, Py_ssize_t n_units,
                    const double* mean, const double* invstd) noexcept nogil:
    """X^ = (Z - mean) invstd; Z = gamma X^"""
    cdef Py_ssize_t r, j, j0, nj
    cdef floating m[_UNITS]
    cdef floating s[_UNITS]
    cdef floating* z
    cdef floating* x
    cdef const floating* gm
    j0 = 0
    while j0 < n_units:
        nj = min(<Py_ssize_t>_UNITS, n_units - j0)
        for j in range(nj):
            m[j] = <floating>mean[j0 + j]
            s[j] = <floating>invstd[j0 + j]
        gm = gamma + j0
        for r in range(n_rows):
            z = Z + r * n_units + j0
            x = X_hat + r * n_units + j0
            for j in range(nj):
                x[j] = (z[j] - m[j]) * s[j]
                z[j] = gm[j] * x[j]
        j0 += _UNITS


cdef void part_delta_sums(const floating* G, const floating* X_hat,  # IN (n_rows, n_units)
                          Py_ssize_t n_rows, Py_ssize_t n_units,
                          double* sum_g, double* sum_gx) noexcept nogil:  # OUT (n_units,)
    """sum_g = sum_r G[r]; sum_gx = sum_r G[r] X^[r]"""
    cdef Py_ssize_t r, j
    cdef const floating* g
    cdef const floating* x
    for j in range(n_units):
        sum_g[j] = 0
        sum_gx[j] = 0
    for r in range(n_rows):
        g = G + r * n_units
        x = X_hat + r * n_units
        for j in range(n_units):
            sum_g[j] += g[j]
            sum_gx[j] += <double>g[j] * x[j]


cdef void combine_delta_sums(const Layer* layer,
                             const double* part_stats,  # IN per part: sums of G at
                                                        # [2 n_stats + stat], of G X^ at
                                                        # [3 n_stats + stat]
                             Py_ssize_t stride, Py_ssize_t n_stats, Py_ssize_t n_parts,
                             Batch* batch) noexcept nogil:  # OUT sum_g, sum_gx
    """The minibatch's sums of G and G X^, added in part order"""
    cdef Py_ssize_t q, j, stat = layer.stat
    cdef const double* p
    for j in range(layer.n_out):
        batch.sum_g[stat + j] = 0
        batch.sum_gx[stat + j] = 0
    for q in range(n_parts):
        p = part_stats + q * stride
        for j in range(layer.n_out):
            batch.sum_g[stat + j] += p[2 * n_stats + stat + j]
            batch.sum_gx[stat + j] += p[3 * n_stats + stat + j]


cdef void finish_delta(floating* G,           # IN dLoss/dY, OUT dLoss/dZ
                       const floating* X_hat, const floating* gamma,
                       Py_ssize_t n_rows, Py_ssize_t n_units,
                       const double* invstd, const double* sum_g, const double* sum_gx,
                       Py_ssize_t n_batch) noexcept nogil:
    """G = gamma invstd (G - sum_g / n - X^ sum_gx / n), n the minibatch's rows"""
    cdef Py_ssize_t r, j, j0, nj
    cdef floating scale[_UNITS]
    cdef floating mean_g[_UNITS]
    cdef floating mean_gx[_UNITS]
    cdef floating* g
    cdef const floating* x
    j0 = 0
    while j0 < n_units:
        nj = min(<Py_ssize_t>_UNITS, n_units - j0)
        for j in range(nj):
            scale[j] = <floating>(gamma[j0 + j] * invstd[j0 + j])
            mean_g[j] = <floating>(sum_g[j0 + j] / n_batch)
            mean_gx[j] = <floating>(sum_gx[j0 + j] / n_batch)
        for r in range(n_rows):
            g = G + r * n_units + j0
            x = X_hat + r * n_units + j0
            for j in range(nj):
                g[j] = scale[j] * (g[j] - mean_g[j] - x[j] * mean_gx[j])
        j0 += _UNITS
