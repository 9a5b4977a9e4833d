"""An independent plain-NumPy MLP: the reference the engine's kernels and
passes are tested against. Written from the formulas, not from the engine."""
import numpy as np
from scipy.special import expit, xlogy

HIDDEN = {
    "identity": (lambda z: z, lambda a: np.ones_like(a)),
    "logistic": (expit, lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a**2),
    # scikit-learn's delta[a == 0] = 0 (a relu output is never negative)
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a != 0).astype(a.dtype)),
}

OUTPUT_ACTIVATION = {
    "squared_error": lambda z: z,
    "poisson": np.exp,
    "binary_log_loss": expit,
    "log_loss": lambda z: np.exp(z - z.max(1, keepdims=True))
    / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True),
}


def per_sample_loss(output, Y, P):
    """scikit-learn's per-sample losses, with its clipping of probabilities."""
    eps = np.finfo(P.dtype).eps
    if output == "squared_error":
        return 0.5 * ((Y - P) ** 2).mean(axis=1)
    if output == "poisson":
        return (xlogy(Y, Y / P) - Y + P).sum(axis=1)
    Pc = np.clip(P, eps, 1 - eps)
    if output == "binary_log_loss":
        return -(xlogy(Y, Pc) + xlogy(1 - Y, 1 - Pc)).sum(axis=1)
    return -xlogy(Y, Pc).sum(axis=1)


def unpack(params, layer_units):
    """Split a flat buffer (all coefficients, then all intercepts) per layer."""
    coefs, intercepts, start = [], [], 0
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        coefs.append(params[start:start + fan_in * fan_out].reshape(fan_in, fan_out))
        start += fan_in * fan_out
    for fan_out in layer_units[1:]:
        intercepts.append(params[start:start + fan_out])
        start += fan_out
    return coefs, intercepts


def forward(params, layer_units, activation, output, X):
    """Output probabilities/values and the hidden pre-activations."""
    coefs, intercepts = unpack(params, layer_units)
    A, pre = X, []
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = A @ W + b
        if i < len(coefs) - 1:
            pre.append(Z)
            A = HIDDEN[activation][0](Z)
    return OUTPUT_ACTIVATION[output](Z), pre


def loss(params, layer_units, activation, output, X, Y, sample_weight, alpha):
    """Weighted mean per-sample loss plus 0.5 alpha ||W||^2 / sum(sw)."""
    P, _ = forward(params, layer_units, activation, output, X)
    sw = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    coefs, _ = unpack(params, layer_units)
    l2 = sum((W.astype(np.float64) ** 2).sum() for W in coefs)
    return (sw * per_sample_loss(output, Y, P)).sum() / sw.sum() + 0.5 * alpha * l2 / sw.sum()
