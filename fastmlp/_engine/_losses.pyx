"""Output activation + loss + output delta in one pass over the output layer.

scikit-learn's pairings are canonical (identity/squared error, exp/Poisson,
logistic/binary log-loss, softmax/log-loss), so d loss / d z = p - y and the
output delta needs no derivative of the activation. Their loss values follow
scikit-learn's definitions exactly, including its clipping of probabilities
to [eps, 1 - eps] before the log, so that loss curves agree.

The losses beyond scikit-learn (absolute error, Huber, quantile, the hinge
losses: issue 11) have an identity output, so the delta is d loss / d f
itself. Each reports the mean over the outputs (a multiclass hinge: over the
classes, as torch.nn.functional.multi_margin_loss) and its delta is the exact
gradient of that mean. Where a loss has a kink (absolute error at f = y, the
quantile loss at f = y, a hinge at margin 1) the subgradient taken is 0.
"""
from libc.math cimport exp, log, expf, fabs
from libc.float cimport DBL_EPSILON, FLT_EPSILON

from ._activations cimport logistic


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline double _clip(double p, double eps) noexcept nogil:
    """clip(p, eps, 1 - eps): scikit-learn's guard against log(0)"""
    if p < eps:
        return eps
    if p > 1 - eps:
        return 1 - eps
    return p


cdef inline double _clipped_log(double p, double eps) noexcept nogil:
    """log(clip(p, eps, 1 - eps))"""
    return log(_clip(p, eps))


# -sum log(q) over many clipped probabilities q, as the log of products of
# up to 16 of them: a log costs more than the rest of a row of a narrow
# output layer, and 16 factors >= DBL_EPSILON stay above the smallest double
# (2.2e-16**16 = 3e-251). The result differs from the sum of logs by rounding.
cdef struct _LogSum:
    double product
    int n_factors
    double total


cdef inline void _log_sum_factor(_LogSum* s, double q) noexcept nogil:
    s.product *= q
    s.n_factors += 1
    if s.n_factors == 16:
        s.total -= log(s.product)
        s.product = 1
        s.n_factors = 0


cdef inline void _softmax_row(floating* z, Py_ssize_t n) noexcept nogil:
    """z = exp(z - max z) / sum: subtracting the max keeps exp finite"""
    cdef Py_ssize_t k
    cdef floating zmax = z[0], total = 0
    for k in range(1, n):
        if z[k] > zmax:
            zmax = z[k]
    for k in range(n):
        z[k] = _exp(z[k] - zmax)
        total += z[k]
    for k in range(n):
        z[k] = z[k] / total


cdef inline floating _sign(floating r) noexcept nogil:
    """sign(r), 0 at r = 0: the subgradient 0 at a kink"""
    return <floating>((r > 0) - (r < 0))


cdef inline double _huber(floating r, floating delta, floating* g) noexcept nogil:
    """r = f - y: r**2 / 2 where |r| <= delta, else delta (|r| - delta / 2);
    g = dL/dr"""
    cdef floating a = fabs(r)
    if a <= delta:
        g[0] = r
        return 0.5 * r * r
    g[0] = delta * _sign(r)
    return delta * (a - 0.5 * delta)


cdef inline double _pinball(floating r, floating q, floating* g) noexcept nogil:
    """r = f - y: (1 - q) r above the target, -q r below; g = dL/dr (0 at r = 0)"""
    cdef floating one = 1
    if r > 0:
        g[0] = one - q
        return (one - q) * <double>r
    if r < 0:
        g[0] = -q
        return -q * <double>r
    g[0] = 0
    return 0


cdef inline double _hinge(floating y, floating f, bint squared, floating* g) noexcept nogil:
    """max(0, 1 - s f) (squared: its square) with s = 2y - 1, -1 or +1 for a
    0/1 target; g = dL/df (0 at margin 1)"""
    cdef floating s = 2 * y - 1
    cdef floating m = 1 - s * f
    if m <= 0:
        g[0] = 0
        return 0
    if squared:
        g[0] = -2 * s * m
        return <double>m * m
    g[0] = -s
    return m


cdef inline double _binary_log_loss(floating y, floating p, double eps) noexcept nogil:
    """-(y log p + (1 - y) log(1 - p)), one log for the usual 0/1 targets"""
    if y == 1:
        return -_clipped_log(p, eps)
    if y == 0:
        return -_clipped_log(1 - p, eps)
    return -(y * _clipped_log(p, eps) + (1 - y) * _clipped_log(1 - p, eps))


cdef double output_loss_delta(floating* Z,               # IN z - bias, OUT p = f(z)
                              const floating* bias,      # IN (n_outputs,)
                              const floating* Y,         # IN (n_samples, n_outputs)
                              const Py_ssize_t* classes,  # IN class indices, or NULL
                              const Py_ssize_t* rows,    # IN (n_samples,) or NULL
                              const floating* sample_weight,  # IN (n_samples,) or NULL
                              Py_ssize_t n_samples, Py_ssize_t n_outputs,
                              int loss, double loss_param, floating delta_scale,
                              floating* delta) noexcept nogil:  # OUT (n_samples, n_outputs)
    """p = f(z + bias); delta = d loss_i / d z * sw * delta_scale; return
    sum_i sw_i loss_i

    loss_i is scikit-learn's per-sample loss: 0.5 * mean_k (y - p)**2,
    sum_k (y log(y / p) - y + p), -sum_k (y log p + (1 - y) log(1 - p)), or
    -sum_k y log p (their delta: (p - y) * sw * delta_scale); or, beyond
    scikit-learn, mean_k of |p - y|, Huber's loss (delta = loss_param), the
    pinball loss (quantile = loss_param), the binary hinge max(0, 1 - s p) or
    its square (s = 2y - 1), or sum_{k != t} max(0, p_k - p_t + 1) or its
    squares. Y has a column per output, except for the multiclass losses when
    classes is given: row i's class is then classes[rows[i]] (classes[i]
    when rows is NULL), an integer, exact whatever the dtype (a float32
    index would round above 2**24), and Y is not read. The multiclass hinge
    losses take classes only (check_data makes sure).
    """
    cdef Py_ssize_t i, k, c
    cdef floating one = 1  # a typed 1: a bare literal would promote float32 to double
    cdef floating* z
    cdef const floating* y
    cdef floating* d
    cdef floating w = 1, p, yk, g, scale, margin, sum_d
    cdef floating param = <floating>loss_param
    cdef double inv_n = 1.0 / n_outputs
    cdef bint squared
    cdef double loss_i, total = 0
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef double half_mean = 0.5 / n_outputs
    cdef _LogSum logs = _LogSum(1, 0, 0)

    # the switch is outside the row loop, so each loop body is straight code
    if loss == LOG_LOSS and classes != NULL:
        # class indices in place of the one-hot matrix, which never exists
        # (n_samples x n_classes values saved on a big fit)
        for i in range(n_samples):
            z, d = Z + i * n_outputs, delta + i * n_outputs
            c = classes[rows[i]] if rows != NULL else classes[i]
            if sample_weight != NULL:
                w = sample_weight[i]
            for k in range(n_outputs):
                z[k] = z[k] + bias[k]
            _softmax_row(z, n_outputs)
            for k in range(n_outputs):
                d[k] = z[k] * w * delta_scale
            d[c] = (z[c] - one) * w * delta_scale
            if sample_weight != NULL:
                total += w * -_clipped_log(z[c], eps)
            else:
                _log_sum_factor(&logs, _clip(z[c], eps))
    elif loss == LOG_LOSS:
        for i in range(n_samples):
            z, y, d = Z + i * n_outputs, Y + i * n_outputs, delta + i * n_outputs
            if sample_weight != NULL:
                w = sample_weight[i]
            for k in range(n_outputs):
                z[k] = z[k] + bias[k]
            _softmax_row(z, n_outputs)
            loss_i = 0
            for k in range(n_outputs):
                if sample_weight == NULL and y[k] == 1:
                    _log_sum_factor(&logs, _clip(z[k], eps))
                elif y[k] != 0:
                    loss_i -= y[k] * _clipped_log(z[k], eps)
                d[k] = (z[k] - y[k]) * w * delta_scale
            total += w * loss_i
    elif loss == BINARY_LOG_LOSS:
        for i in range(n_samples):
            z, y, d = Z + i * n_outputs, Y + i * n_outputs, delta + i * n_outputs
            if sample_weight != NULL:
                w = sample_weight[i]
            loss_i = 0
            for k in range(n_outputs):
                p = logistic(z[k] + bias[k])
                z[k] = p
                yk = y[k]
                # 0/1 labels (| not or: one branch, always taken, instead of
                # one on each label): the probability of the label,
                # |1 - y - p|, is p or 1 - p exactly (in double, as the log
                # takes it), with no branch on the label
                if (sample_weight == NULL) & ((yk == 0) | (yk == 1)):
                    _log_sum_factor(&logs, _clip(fabs((1 - <double>yk) - p), eps))
                else:
                    loss_i += _binary_log_loss(yk, p, eps)
                d[k] = (p - yk) * w * delta_scale
            total += w * loss_i
    elif loss == POISSON:
        for i in range(n_samples):
            z, y, d = Z + i * n_outputs, Y + i * n_outputs, delta + i * n_outputs
            if sample_weight != NULL:
                w = sample_weight[i]
            loss_i = 0
            for k in range(n_outputs):
                z[k] = z[k] + bias[k]
                p = _exp(z[k])
                # y log(y / p) written as y (log y - z): no overflow from y / p
                if y[k] != 0:
                    loss_i += y[k] * (log(y[k]) - z[k])
                loss_i += p - y[k]
                z[k] = p
                d[k] = (p - y[k]) * w * delta_scale
            total += w * loss_i
    elif loss == SQUARED_ERROR:
        for i in range(n_samples):
            z, y, d = Z + i * n_outputs, Y + i * n_outputs, delta + i * n_outputs
            if sample_weight != NULL:
                w = sample_weight[i]
            loss_i = 0
            for k in range(n_outputs):
                p = z[k] + bias[k]
                z[k] = p
                loss_i += (y[k] - p) * (y[k] - p)
                d[k] = (p - y[k]) * w * delta_scale
            total += w * (loss_i * half_mean)
    elif loss == ABSOLUTE_ERROR:
        for i in range(n_samples):
            z, y, d = Z + i * n_outputs, Y + i * n_outputs, delta + i * n_outputs
            if sample_weight != NULL:
                w = sample_weight[i]
            scale = w * delta_scale * inv_n
            loss_i = 0
            for k in range(n_outputs):
                p = z[k] + bias[k]
                z[k] = p
                loss_i += fabs(p - y[k])
                d[k] = _sign(p - y[k]) * scale
            total += w * (loss_i * inv_n)
    elif loss == HUBER:
        for i in range(n_samples):
            z, y, d = Z + i * n_outputs, Y + i * n_outputs, delta + i * n_outputs
            if sample_weight != NULL:
                w = sample_weight[i]
            scale = w * delta_scale * inv_n
            loss_i = 0
            for k in range(n_outputs):
                p = z[k] + bias[k]
                z[k] = p
                loss_i += _huber(p - y[k], param, &g)
                d[k] = g * scale
            total += w * (loss_i * inv_n)
    elif loss == QUANTILE:
        for i in range(n_samples):
            z, y, d = Z + i * n_outputs, Y + i * n_outputs, delta + i * n_outputs
            if sample_weight != NULL:
                w = sample_weight[i]
            scale = w * delta_scale * inv_n
            loss_i = 0
            for k in range(n_outputs):
                p = z[k] + bias[k]
                z[k] = p
                loss_i += _pinball(p - y[k], param, &g)
                d[k] = g * scale
            total += w * (loss_i * inv_n)
    elif loss == BINARY_HINGE or loss == BINARY_SQUARED_HINGE:
        squared = loss == BINARY_SQUARED_HINGE
        for i in range(n_samples):
            z, y, d = Z + i * n_outputs, Y + i * n_outputs, delta + i * n_outputs
            if sample_weight != NULL:
                w = sample_weight[i]
            scale = w * delta_scale * inv_n
            loss_i = 0
            for k in range(n_outputs):
                p = z[k] + bias[k]
                z[k] = p
                loss_i += _hinge(y[k], p, squared, &g)
                d[k] = g * scale
            total += w * (loss_i * inv_n)
    elif (loss == MULTICLASS_HINGE or loss == MULTICLASS_SQUARED_HINGE) and classes != NULL:
        squared = loss == MULTICLASS_SQUARED_HINGE
        for i in range(n_samples):
            z, d = Z + i * n_outputs, delta + i * n_outputs
            c = classes[rows[i]] if rows != NULL else classes[i]
            if sample_weight != NULL:
                w = sample_weight[i]
            scale = w * delta_scale * inv_n
            for k in range(n_outputs):
                z[k] = z[k] + bias[k]
            loss_i = 0
            sum_d = 0
            for k in range(n_outputs):
                margin = z[k] - z[c] + one
                # margin 0 is the kink: subgradient 0
                if k == c or margin <= 0:
                    d[k] = 0
                elif squared:
                    loss_i += <double>margin * margin
                    d[k] = 2 * margin * scale
                else:
                    loss_i += margin
                    d[k] = scale
                sum_d += d[k]
            # f_t enters every term with the opposite sign
            d[c] = -sum_d
            total += w * (loss_i * inv_n)
    return total + logs.total - log(logs.product)


cdef void output_activation(floating* Z,           # IN z - bias, OUT p = f(z)
                            const floating* bias,  # IN (n_outputs,)
                            Py_ssize_t n_samples, Py_ssize_t n_outputs,
                            int out_activation) noexcept nogil:
    """p = f(z + bias) in place, for inference"""
    cdef Py_ssize_t i, k
    cdef floating* z
    if out_activation == OUT_SOFTMAX:
        for i in range(n_samples):
            z = Z + i * n_outputs
            for k in range(n_outputs):
                z[k] = z[k] + bias[k]
            _softmax_row(z, n_outputs)
    elif out_activation == OUT_LOGISTIC:
        for i in range(n_samples):
            z = Z + i * n_outputs
            for k in range(n_outputs):
                z[k] = logistic(z[k] + bias[k])
    elif out_activation == OUT_EXP:
        for i in range(n_samples):
            z = Z + i * n_outputs
            for k in range(n_outputs):
                z[k] = _exp(z[k] + bias[k])
    elif out_activation == OUT_IDENTITY:
        for i in range(n_samples):
            z = Z + i * n_outputs
            for k in range(n_outputs):
                z[k] = z[k] + bias[k]
