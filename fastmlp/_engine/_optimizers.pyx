"""Optimizer steps over the flat parameter buffer: SGD (momentum, Nesterov),
Adam, AdamW, NAdam and RMSprop, behind one interface (`StepRule`,
`begin_step`, `take_step`), so the epoch loop names no optimizer.

Each step is one loop that also finishes the gradient: the engine's backward
pass leaves the raw sums A.T @ delta, and the step forms
g = (raw + alpha * W) / sw_sum (the L2 term on coefficients only), so every
minibatch reads the buffers once. The loops carry no reduction, so the
compiler vectorises them (sqrt and division included, with -fno-math-errno).

SGD and Adam follow scikit-learn's formulas operation for operation, so the
same gradients give the same parameters. AdamW, NAdam and RMSprop follow
torch.optim's (single-tensor code, epsilon where it adds it), with
weight_decay as torch applies it to every parameter: AdamW shrinks them
(decoupled), NAdam and RMSprop add weight_decay * p to g. scikit-learn's
alpha stays in g as for SGD and Adam, so the two combine as a PyTorch loop
whose loss holds the L2 term and whose optimizer has weight_decay.

A gradient clipped to a global norm (torch.nn.utils.clip_grad_norm_) is
g * c with c = max_norm / (norm + 1e-6) when that is below 1: the step
divides by sw_sum / c instead of sw_sum (`clip_divisor`), and the norm is
`gradient_sumsq` over the summed gradient, which the epoch loop computes
where the minibatch's gradient is complete.
"""
from libc.math cimport sqrt, sqrtf, pow, isfinite, NAN

from ._common cimport all_finite
from ._schedules cimport scheduled_rate, make_schedule, CONSTANT


cdef class StepSettings:
    """An optimizer's settings, as the engine's steps read them.

    Parameters
    ----------
    rule : int
        A `Rule`.
    learning_rate : float
        The base rate of the schedule (SGD: the epoch's rate; Adam:
        learning_rate_init, which each step bias-corrects).
    alpha : float
        L2 penalty on the coefficients.
    momentum, nesterov : float, bool
        SGD's.
    beta_1, beta_2, epsilon : float
        Adam's, AdamW's, NAdam's (epsilon RMSprop's too).
    weight_decay, momentum_decay, rho : float
        AdamW's and NAdam's and RMSprop's; NAdam's; RMSprop's.
    max_grad_norm : float
        Clip each minibatch's gradient to this global 2-norm; 0: never.
    t : int
        Steps taken so far.
    mu_product : float
        NAdam's product of momentum coefficients after t steps.
    decay, warmup, warmup_start, step_size, gamma, t_max, eta_min
        The schedule in steps (`_schedules`); the default keeps the rate.
    """

    def __init__(self, int rule, double learning_rate, double alpha, *,
                 double momentum=0, bint nesterov=False, double beta_1=0,
                 double beta_2=0, double epsilon=0, double weight_decay=0,
                 double momentum_decay=0, double rho=0, double max_grad_norm=0,
                 Py_ssize_t t=0, double mu_product=1.0, int decay=CONSTANT,
                 Py_ssize_t warmup=0, double warmup_start=1.0, Py_ssize_t step_size=1,
                 double gamma=1.0, Py_ssize_t t_max=1, double eta_min=0.0):
        if rule not in (SGD, ADAM, ADAMW, NADAM, RMSPROP):
            raise ValueError(f"unknown optimizer rule {rule}")
        if max_grad_norm < 0 or t < 0:
            raise ValueError("max_grad_norm and t must be >= 0")
        self.rule = StepRule(
            rule, make_schedule(learning_rate, decay, warmup, warmup_start, step_size,
                                gamma, t_max, eta_min),
            momentum, nesterov, beta_1, beta_2, epsilon, weight_decay, momentum_decay,
            rho, alpha, max_grad_norm, t, mu_product)

    @property
    def t(self):
        """Steps taken."""
        return self.rule.t

    @property
    def mu_product(self):
        """NAdam's product of momentum coefficients so far."""
        return self.rule.mu_product

    def begin(self):
        """For the tests: count a step as the engine does; its rate."""
        return begin_step(&self.rule)

    def step(self, double rate, floating[::1] params, const floating[::1] grads,
                  floating[::1] moment_1, floating[::1] moment_2, Py_ssize_t n_coefs,
                  double sw_sum=1.0):
        """For the tests: the rule's step on raw gradient sums, as the
        engine takes it after `begin`."""
        cdef Py_ssize_t n = params.shape[0]
        if not (grads.shape[0] == moment_1.shape[0] == moment_2.shape[0] == n
                and 0 <= n_coefs <= n and n > 0):
            raise ValueError("buffers of different sizes")
        take_step(&self.rule, rate, &params[0], &grads[0], &moment_1[0], &moment_2[0],
                  n_coefs, n, sw_sum)


cdef inline double _nadam_mu(double beta_1, double momentum_decay,
                             Py_ssize_t t) noexcept nogil:
    """NAdam's momentum coefficient of step t (1-based)"""
    return beta_1 * (1.0 - 0.5 * pow(0.96, t * momentum_decay))


cdef double begin_step(StepRule* rule) noexcept nogil:
    """Count the step; its scheduled rate"""
    cdef double rate = scheduled_rate(&rule.schedule, rule.t)
    rule.t += 1
    if rule.rule == NADAM:
        rule.mu_product *= _nadam_mu(rule.beta_1, rule.momentum_decay, rule.t)
    return rate


cdef void take_step(const StepRule* rule, double rate,
                    floating* params,          # IN/OUT (n,)
                    const floating* grads,     # IN raw gradient sums (n,)
                    floating* moment_1, floating* moment_2,  # IN/OUT (n,)
                    Py_ssize_t n_coefs, Py_ssize_t n, double sw_sum) noexcept nogil:
    """The rule's step at `rate` (begin_step's) over n parameters whose
    first n_coefs are coefficients (the L2 penalty's)"""
    cdef Py_ssize_t t = rule.t
    cdef double b1 = rule.beta_1, b2 = rule.beta_2, mu, mu_next
    if rule.rule == ADAM:
        adam_step(params, grads, moment_1, moment_2, n_coefs, n, rule.alpha, sw_sum,
                  adam_learning_rate(rate, b1, b2, t), b1, b2, rule.epsilon)
    elif rule.rule == SGD:
        sgd_step(params, grads, moment_1, n_coefs, n, rule.alpha, sw_sum, rate,
                 rule.momentum, rule.nesterov)
    elif rule.rule == ADAMW:
        _adamw_range(params, grads, moment_1, moment_2, 0, n_coefs, rule.alpha, sw_sum,
                     rate, b1, b2, rule.epsilon, rule.weight_decay, t)
        _adamw_range(params, grads, moment_1, moment_2, n_coefs, n, 0, sw_sum,
                     rate, b1, b2, rule.epsilon, rule.weight_decay, t)
    elif rule.rule == NADAM:
        mu = _nadam_mu(b1, rule.momentum_decay, t)
        mu_next = _nadam_mu(b1, rule.momentum_decay, t + 1)
        _nadam_range(params, grads, moment_1, moment_2, 0, n_coefs, rule.alpha, sw_sum,
                     rate, b1, b2, rule.epsilon, rule.weight_decay, t, mu, mu_next,
                     rule.mu_product)
        _nadam_range(params, grads, moment_1, moment_2, n_coefs, n, 0, sw_sum,
                     rate, b1, b2, rule.epsilon, rule.weight_decay, t, mu, mu_next,
                     rule.mu_product)
    elif rule.rule == RMSPROP:
        _rmsprop_range(params, grads, moment_1, 0, n_coefs, rule.alpha, sw_sum, rate,
                       rule.rho, rule.epsilon, rule.weight_decay)
        _rmsprop_range(params, grads, moment_1, n_coefs, n, 0, sw_sum, rate,
                       rule.rho, rule.epsilon, rule.weight_decay)


cdef bint state_finite(const StepRule* rule, const floating* moment_1,
                       const floating* moment_2, Py_ssize_t n_params) noexcept nogil:
    """Whether the rule's state is finite: an overflowed second moment
    leaves the parameters finite but frozen (m / sqrt(inf) = 0 at every
    later step), divergence all the same"""
    if rule.rule == SGD:
        return True
    if rule.rule == RMSPROP:
        return all_finite(moment_1, n_params)
    return all_finite(moment_1, n_params) and all_finite(moment_2, n_params)


cdef double gradient_sumsq(const floating* params,   # IN (n,)
                           const floating* grads,    # IN raw gradient sums (n,)
                           Py_ssize_t n_coefs, Py_ssize_t n,
                           double alpha) noexcept nogil:
    """sum((raw + alpha W)**2) over the coefficients plus sum(raw**2) over
    the rest: the squared norm of the finished gradient times sw_sum**2,
    each term formed in the parameters' precision as the step forms it"""
    cdef Py_ssize_t i
    cdef floating a = <floating>alpha
    cdef double acc[_N_SUMS]
    _zero_sums(acc)
    _add_squares(params, grads, a, 0, n_coefs, acc)
    _add_squares(params, grads, 0, n_coefs, n, acc)
    cdef double total = 0
    for i in range(_N_SUMS):
        total += acc[i]
    return total


# Sums of squares run on _N_SUMS independent accumulators, term i into
# i % _N_SUMS: one accumulator is a chain of dependent additions (a step's
# worth of latency per parameter) that the compiler may not reorder, eight
# fill the vector units; the order is still fixed, whatever the threads.
cdef enum:
    _N_SUMS = 8

cdef inline void _zero_sums(double* acc) noexcept nogil:
    cdef int k
    for k in range(_N_SUMS):
        acc[k] = 0


cdef inline void _add_squares(const floating* params, const floating* grads,
                              floating a, Py_ssize_t start, Py_ssize_t stop,
                              double* acc) noexcept nogil:   # IN/OUT [_N_SUMS]
    """acc[i % _N_SUMS] += (grads[i] + a params[i])**2 over [start, stop)"""
    cdef Py_ssize_t i = start, j
    cdef int k
    cdef floating g
    while i < stop and i % _N_SUMS:
        g = grads[i] + a * params[i]
        acc[i % _N_SUMS] += <double>g * g
        i += 1
    while i + _N_SUMS <= stop:
        for k in range(_N_SUMS):
            g = grads[i + k] + a * params[i + k]
            acc[k] += <double>g * g
        i += _N_SUMS
    for j in range(i, stop):
        g = grads[j] + a * params[j]
        acc[j % _N_SUMS] += <double>g * g


cdef double clip_divisor(double sw_sum, double sumsq, double max_grad_norm) noexcept nogil:
    """What the step divides the raw gradient by so that it is clipped as
    clip_grad_norm_ clips: sw_sum / c, c = max_norm / (norm + 1e-6) when
    below 1. A non-finite norm gives NaN, as torch's clip does (the
    parameters then become NaN and the fit stops on them)."""
    cdef double norm = sqrt(sumsq) / sw_sum
    cdef double coef
    if not isfinite(norm):
        return NAN
    coef = max_grad_norm / (norm + 1e-6)
    return sw_sum / coef if coef < 1 else sw_sum


cdef double adam_learning_rate(double learning_rate_init, double beta_1,
                               double beta_2, Py_ssize_t t) noexcept nogil:
    """lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t): bias correction
    folded into the step size, as scikit-learn does"""
    return learning_rate_init * sqrt(1 - pow(beta_2, t)) / (1 - pow(beta_1, t))


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline void _adam_range(floating* params, const floating* grads,
                             floating* m, floating* v, Py_ssize_t start,
                             Py_ssize_t stop, floating alpha, floating sw_sum,
                             floating lr, floating b1, floating b2,
                             floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating g, c1 = 1 - b1, c2 = 1 - b2
    for i in range(start, stop):
        g = (grads[i] + alpha * params[i]) / sw_sum
        m[i] = b1 * m[i] + c1 * g
        v[i] = b2 * v[i] + c2 * (g * g)
        if floating is float:
            params[i] += -lr * m[i] / (sqrtf(v[i]) + eps)
        else:
            params[i] += -lr * m[i] / (sqrt(v[i]) + eps)


cdef void adam_step(floating* params,        # IN/OUT (n_params,)
                    const floating* grads,   # IN raw gradient sums (n_params,)
                    floating* m,             # IN/OUT first moments
                    floating* v,             # IN/OUT second moments
                    Py_ssize_t n_coefs, Py_ssize_t n_params,
                    double alpha, double sw_sum,
                    double learning_rate, double beta_1, double beta_2,
                    double epsilon) noexcept nogil:
    """g = (raw + alpha W) / sw_sum; m = b1 m + (1 - b1) g;
    v = b2 v + (1 - b2) g**2; p -= lr_t m / (sqrt(v) + eps), eps added to the
    uncorrected sqrt(v)"""
    _adam_range(params, grads, m, v, 0, n_coefs, <floating>alpha, <floating>sw_sum,
                <floating>learning_rate, <floating>beta_1, <floating>beta_2,
                <floating>epsilon)
    _adam_range(params, grads, m, v, n_coefs, n_params, 0, <floating>sw_sum,
                <floating>learning_rate, <floating>beta_1, <floating>beta_2,
                <floating>epsilon)


cdef void _adamw_range(floating* params,        # IN/OUT
                       const floating* grads,   # IN raw gradient sums
                       floating* m, floating* v,  # IN/OUT moments
                       Py_ssize_t start, Py_ssize_t stop, double alpha, double sw_sum,
                       double lr, double beta_1, double beta_2, double epsilon,
                       double weight_decay, Py_ssize_t t) noexcept nogil:
    """AdamW (torch.optim.AdamW): p *= 1 - lr wd; m += (1 - b1) (g - m);
    v = b2 v + (1 - b2) g**2; p -= lr / (1 - b1**t) * m / (sqrt(v) /
    sqrt(1 - b2**t) + eps), eps added to the corrected sqrt(v)"""
    cdef Py_ssize_t i
    cdef floating a = <floating>alpha, sw = <floating>sw_sum, g
    cdef floating b1 = <floating>beta_1, b2 = <floating>beta_2, eps = <floating>epsilon
    cdef floating c1 = <floating>(1 - beta_1), c2 = <floating>(1 - beta_2)
    cdef floating shrink = <floating>(1 - lr * weight_decay)
    cdef floating step_size = <floating>(lr / (1 - pow(beta_1, t)))
    cdef floating bc2_sqrt = <floating>sqrt(1 - pow(beta_2, t))
    for i in range(start, stop):
        g = (grads[i] + a * params[i]) / sw
        params[i] *= shrink
        m[i] += c1 * (g - m[i])
        v[i] = b2 * v[i] + c2 * (g * g)
        params[i] -= step_size * (m[i] / (_sqrt(v[i]) / bc2_sqrt + eps))


cdef void _nadam_range(floating* params,        # IN/OUT
                       const floating* grads,   # IN raw gradient sums
                       floating* m, floating* v,  # IN/OUT moments
                       Py_ssize_t start, Py_ssize_t stop, double alpha, double sw_sum,
                       double lr, double beta_1, double beta_2, double epsilon,
                       double weight_decay, Py_ssize_t t, double mu, double mu_next,
                       double mu_product) noexcept nogil:
    """NAdam (torch.optim.NAdam): g += wd p; m += (1 - b1) (g - m);
    v = b2 v + (1 - b2) g**2; d = sqrt(v / (1 - b2**t)) + eps;
    p += -lr (1 - mu) / (1 - prod mu) g / d - lr mu' / (1 - prod mu mu') m / d"""
    cdef Py_ssize_t i
    cdef floating a = <floating>alpha, sw = <floating>sw_sum, wd = <floating>weight_decay
    cdef floating g, d
    cdef floating b2 = <floating>beta_2, eps = <floating>epsilon
    cdef floating c1 = <floating>(1 - beta_1), c2 = <floating>(1 - beta_2)
    cdef floating bc2 = <floating>(1 - pow(beta_2, t))
    cdef floating step_g = <floating>(-lr * (1.0 - mu) / (1.0 - mu_product))
    cdef floating step_m = <floating>(-lr * mu_next / (1.0 - mu_product * mu_next))
    for i in range(start, stop):
        g = (grads[i] + a * params[i]) / sw + wd * params[i]
        m[i] += c1 * (g - m[i])
        v[i] = b2 * v[i] + c2 * (g * g)
        d = _sqrt(v[i] / bc2) + eps
        params[i] += step_g * (g / d)
        params[i] += step_m * (m[i] / d)


cdef void _rmsprop_range(floating* params,        # IN/OUT
                         const floating* grads,   # IN raw gradient sums
                         floating* v,             # IN/OUT square averages
                         Py_ssize_t start, Py_ssize_t stop, double alpha, double sw_sum,
                         double lr, double rho, double epsilon,
                         double weight_decay) noexcept nogil:
    """RMSprop (torch.optim.RMSprop, no momentum, not centered): g += wd p;
    v = rho v + (1 - rho) g**2; p -= lr g / (sqrt(v) + eps)"""
    cdef Py_ssize_t i
    cdef floating a = <floating>alpha, sw = <floating>sw_sum, wd = <floating>weight_decay
    cdef floating g, r = <floating>rho, c = <floating>(1 - rho), eps = <floating>epsilon
    cdef floating neg_lr = <floating>(-lr)
    for i in range(start, stop):
        g = (grads[i] + a * params[i]) / sw + wd * params[i]
        v[i] = r * v[i] + c * (g * g)
        params[i] += neg_lr * (g / (_sqrt(v[i]) + eps))


cdef inline void _sgd_range(floating* params, const floating* grads,
                            floating* velocity, Py_ssize_t start, Py_ssize_t stop,
                            floating alpha, floating sw_sum, floating lr,
                            floating mu, bint nesterov) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating g
    if nesterov:
        for i in range(start, stop):
            g = (grads[i] + alpha * params[i]) / sw_sum
            velocity[i] = mu * velocity[i] - lr * g
            params[i] += mu * velocity[i] - lr * g
    else:
        for i in range(start, stop):
            g = (grads[i] + alpha * params[i]) / sw_sum
            velocity[i] = mu * velocity[i] - lr * g
            params[i] += velocity[i]


cdef void sgd_step(floating* params,        # IN/OUT (n_params,)
                   const floating* grads,   # IN raw gradient sums (n_params,)
                   floating* velocity,      # IN/OUT (n_params,)
                   Py_ssize_t n_coefs, Py_ssize_t n_params,
                   double alpha, double sw_sum,
                   double learning_rate, double momentum,
                   bint nesterov) noexcept nogil:
    """g = (raw + alpha W) / sw_sum; v = mu v - lr g; p += v, or
    p += mu v - lr g with Nesterov's momentum"""
    _sgd_range(params, grads, velocity, 0, n_coefs, <floating>alpha,
               <floating>sw_sum, <floating>learning_rate, <floating>momentum, nesterov)
    _sgd_range(params, grads, velocity, n_coefs, n_params, 0, <floating>sw_sum,
               <floating>learning_rate, <floating>momentum, nesterov)
