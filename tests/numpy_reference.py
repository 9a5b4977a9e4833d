"""An independent plain-NumPy MLP: the reference the engine's kernels and
passes are tested against. Written from the formulas, not from the engine.
Beside it, the hidden activations as torch.nn.functional has them (TORCH),
for the tests that run where torch is installed."""
import numpy as np
from scipy.special import expit, ndtr, xlogy

from fastmlp._registry import ACTIVATION_PARAMS, ACTIVATIONS

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_K = np.sqrt(2 / np.pi)  # gelu_tanh's sqrt(2 / pi)


def _gelu_tanh_inner(z):
    return np.tanh(_K * (z + 0.044715 * z**3))


# name -> (f(z, p), f'(z, p)), p the activation parameters by estimator name;
# torch.nn.functional's definitions
HIDDEN = {
    "identity": (lambda z, p: z, lambda z, p: np.ones_like(z)),
    "logistic": (lambda z, p: expit(z), lambda z, p: expit(z) * (1 - expit(z))),
    "tanh": (lambda z, p: np.tanh(z), lambda z, p: 1 - np.tanh(z) ** 2),
    # relu propagates NaN; its derivative is scikit-learn's delta[a == 0] = 0,
    # which keeps delta for NaN
    "relu": (lambda z, p: np.where(z <= 0, 0.0, z), lambda z, p: np.where(z <= 0, 0.0, 1.0)),
    "leaky_relu": (lambda z, p: np.where(z > 0, z, p["negative_slope"] * z),
                   lambda z, p: np.where(z > 0, 1.0, p["negative_slope"])),
    "elu": (lambda z, p: np.where(z > 0, z, p["elu_alpha"] * np.expm1(z)),
            lambda z, p: np.where(z > 0, 1.0, p["elu_alpha"] * np.exp(z))),
    "selu": (lambda z, p: _SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(z)),
             lambda z, p: _SELU_SCALE * np.where(z > 0, 1.0, _SELU_ALPHA * np.exp(z))),
    "gelu": (lambda z, p: z * ndtr(z),
             lambda z, p: ndtr(z) + z * np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)),
    "gelu_tanh": (lambda z, p: 0.5 * z * (1 + _gelu_tanh_inner(z)),
                  lambda z, p: 0.5 * (1 + _gelu_tanh_inner(z)) + 0.5 * z
                  * (1 - _gelu_tanh_inner(z) ** 2) * _K * (1 + 3 * 0.044715 * z**2)),
    "silu": (lambda z, p: z * expit(z), lambda z, p: expit(z) * (1 + z * (1 - expit(z)))),
    "softplus": (lambda z, p: np.where(p["softplus_beta"] * z > p["softplus_threshold"], z,
                                       np.logaddexp(0, p["softplus_beta"] * z)
                                       / p["softplus_beta"]),
                 lambda z, p: np.where(p["softplus_beta"] * z > p["softplus_threshold"], 1.0,
                                       expit(p["softplus_beta"] * z))),
}

# name -> (torch, z, p) -> f(z) in torch.nn.functional's own terms
TORCH = {
    "identity": lambda torch, z, p: z,
    "logistic": lambda torch, z, p: torch.sigmoid(z),
    "tanh": lambda torch, z, p: torch.tanh(z),
    "relu": lambda torch, z, p: torch.nn.functional.relu(z),
    "leaky_relu": lambda torch, z, p: torch.nn.functional.leaky_relu(z, p["negative_slope"]),
    "elu": lambda torch, z, p: torch.nn.functional.elu(z, p["elu_alpha"]),
    "selu": lambda torch, z, p: torch.nn.functional.selu(z),
    "gelu": lambda torch, z, p: torch.nn.functional.gelu(z),
    "gelu_tanh": lambda torch, z, p: torch.nn.functional.gelu(z, approximate="tanh"),
    "silu": lambda torch, z, p: torch.nn.functional.silu(z),
    "softplus": lambda torch, z, p: torch.nn.functional.softplus(
        z, p["softplus_beta"], p["softplus_threshold"]),
}

DEFAULT_PARAMS = {name: param.default for name, param in ACTIVATION_PARAMS.items()}


def kinks(name, p):
    """Where f or f' jumps: finite differences are meaningless across them."""
    if name in ("relu", "leaky_relu", "elu", "selu"):
        return [0.0]
    if name == "softplus":
        return [p["softplus_threshold"] / p["softplus_beta"]]
    return []


def hidden_names(activation, n_hidden):
    """One name per hidden layer, from a name or a list (aliases resolved)."""
    names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    return [{"sigmoid": "logistic", "swish": "silu"}.get(n, n) for n in names]


OUTPUT_ACTIVATION = {
    "squared_error": lambda z: z,
    "poisson": np.exp,
    "binary_log_loss": expit,
    "log_loss": lambda z: np.exp(z - z.max(1, keepdims=True))
    / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True),
    # beyond scikit-learn (issue 11): identity outputs
    "absolute_error": lambda z: z,
    "huber": lambda z: z,
    "quantile": lambda z: z,
    "binary_hinge": lambda z: z,
    "binary_squared_hinge": lambda z: z,
    "multiclass_hinge": lambda z: z,
    "multiclass_squared_hinge": lambda z: z,
}

# The parameter the tests give a loss (huber's delta, the quantile): not
# the defaults, so that a kernel reading the wrong value fails.
LOSS_PARAM = {"huber": 0.7, "quantile": 0.3}

# Outputs whose targets are one class per row (one-hot here, class indices
# for the engine).
MULTICLASS = {"log_loss", "multiclass_hinge", "multiclass_squared_hinge"}


def _margins(Y, P):
    """Multiclass hinge margins f_k - f_t + 1 of the wrong classes (0 at t)."""
    f_t = (P * Y).sum(axis=1, keepdims=True)
    return np.where(Y == 1, 0.0, P - f_t + 1)


def per_sample_loss(output, Y, P):
    """Per-sample losses: scikit-learn's, with its clipping of probabilities,
    then the mean over outputs of the losses beyond scikit-learn."""
    eps = np.finfo(P.dtype).eps
    R = P - Y
    S = 2 * Y - 1
    param = LOSS_PARAM.get(output)
    if output == "squared_error":
        return 0.5 * ((Y - P) ** 2).mean(axis=1)
    if output == "poisson":
        return (xlogy(Y, Y / P) - Y + P).sum(axis=1)
    if output == "absolute_error":
        return np.abs(R).mean(axis=1)
    if output == "huber":
        return np.where(np.abs(R) <= param, 0.5 * R**2,
                        param * (np.abs(R) - 0.5 * param)).mean(axis=1)
    if output == "quantile":
        return np.maximum(-param * R, (1 - param) * R).mean(axis=1)
    if output == "binary_hinge":
        return np.maximum(0, 1 - S * P).mean(axis=1)
    if output == "binary_squared_hinge":
        return (np.maximum(0, 1 - S * P) ** 2).mean(axis=1)
    if output == "multiclass_hinge":
        return np.maximum(0, _margins(Y, P)).mean(axis=1)
    if output == "multiclass_squared_hinge":
        return (np.maximum(0, _margins(Y, P)) ** 2).mean(axis=1)
    Pc = np.clip(P, eps, 1 - eps)
    if output == "binary_log_loss":
        return -(xlogy(Y, Pc) + xlogy(1 - Y, 1 - Pc)).sum(axis=1)
    return -xlogy(Y, Pc).sum(axis=1)


def output_delta(output, Y, P):
    """d per_sample_loss / d z of each output (the subgradient 0 at a kink);
    scikit-learn's canonical pairs give p - y (its squared error's 1 /
    n_outputs is left to the caller's delta_scale, as in the engine)."""
    n_outputs = P.shape[1]
    R = P - Y
    S = 2 * Y - 1
    param = LOSS_PARAM.get(output)
    if output == "absolute_error":
        return np.sign(R) / n_outputs
    if output == "huber":
        return np.clip(R, -param, param) / n_outputs
    if output == "quantile":
        return np.where(R > 0, 1 - param, np.where(R < 0, -param, 0.0)) / n_outputs
    if output == "binary_hinge":
        return np.where(1 - S * P > 0, -S, 0.0) / n_outputs
    if output == "binary_squared_hinge":
        return -2 * S * np.maximum(0, 1 - S * P) / n_outputs
    if output in ("multiclass_hinge", "multiclass_squared_hinge"):
        M = _margins(Y, P)
        D = (M > 0) * (1.0 if output == "multiclass_hinge" else 2 * M)
        return (D - Y * D.sum(axis=1, keepdims=True)) / n_outputs
    return P - Y


def kink_distance(output, Y, P):
    """How far the loss's argument is from a kink (where the gradient
    jumps): inf for the smooth losses. Finite differences across a kink
    say nothing about the gradient."""
    R = P - Y
    if output in ("absolute_error", "quantile"):
        return np.abs(R).min()
    if output == "huber":
        return np.abs(np.abs(R) - LOSS_PARAM["huber"]).min()
    if output in ("binary_hinge", "binary_squared_hinge"):
        return np.abs(1 - (2 * Y - 1) * P).min()
    if output in ("multiclass_hinge", "multiclass_squared_hinge"):
        M = _margins(Y, P)
        return np.abs(M[Y != 1]).min() if (Y != 1).any() else np.inf
    return np.inf


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


def forward(params, layer_units, activation, output, X, act_params=None):
    """Output probabilities/values and the hidden pre-activations; activation
    is one name or one per hidden layer, act_params the activations'
    parameters by estimator name (defaults otherwise)."""
    p = {**DEFAULT_PARAMS, **(act_params or {})}
    coefs, intercepts = unpack(params, layer_units)
    names = hidden_names(activation, len(coefs) - 1)
    A, pre = X, []
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = A @ W + b
        if i < len(coefs) - 1:
            pre.append(Z)
            A = HIDDEN[names[i]][0](Z, p)
    return OUTPUT_ACTIVATION[output](Z), pre


def loss(params, layer_units, activation, output, X, Y, sample_weight, alpha,
         act_params=None):
    """Weighted mean per-sample loss plus 0.5 alpha ||W||^2 / sum(sw)."""
    P, _ = forward(params, layer_units, activation, output, X, act_params)
    sw = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    coefs, _ = unpack(params, layer_units)
    l2 = sum((W.astype(np.float64) ** 2).sum() for W in coefs)
    return (sw * per_sample_loss(output, Y, P)).sum() / sw.sum() + 0.5 * alpha * l2 / sw.sum()
