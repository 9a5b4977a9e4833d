"""Network specs for the tests that drive the engine directly, named by the
NumPy reference's outputs (numpy_reference.OUTPUT_ACTIVATION)."""
import numpy as np

from fastmlp._engine._common import Loss, OutActivation
from fastmlp._registry import ACTIVATIONS, LOSSES
from fastmlp._engine._full_batch import loss_gradient
from fastmlp._engine._network import Network
from fastmlp._spec import HiddenLayer, NetworkSpec
from numpy_reference import DEFAULT_PARAMS, LOSS_PARAM, hidden_names

# the reference's output names -> (loss, kind of target)
OUTPUT_LOSSES = {
    "squared_error": ("squared_error", "continuous"),
    "poisson": ("poisson", "continuous"),
    "binary_log_loss": ("log_loss", "multilabel-indicator"),
    "log_loss": ("log_loss", "multiclass"),
    "absolute_error": ("absolute_error", "continuous"),
    "huber": ("huber", "continuous"),
    "quantile": ("quantile", "continuous"),
    "binary_hinge": ("hinge", "multilabel-indicator"),
    "binary_squared_hinge": ("squared_hinge", "multilabel-indicator"),
    "multiclass_hinge": ("hinge", "multiclass"),
    "multiclass_squared_hinge": ("squared_hinge", "multiclass"),
}

# the engine's codes for the same names
LOSS_CODES = {
    "squared_error": Loss.SQUARED_ERROR,
    "poisson": Loss.POISSON,
    "binary_log_loss": Loss.BINARY_LOG_LOSS,
    "log_loss": Loss.LOG_LOSS,
    "absolute_error": Loss.ABSOLUTE_ERROR,
    "huber": Loss.HUBER,
    "quantile": Loss.QUANTILE,
    "binary_hinge": Loss.BINARY_HINGE,
    "binary_squared_hinge": Loss.BINARY_SQUARED_HINGE,
    "multiclass_hinge": Loss.MULTICLASS_HINGE,
    "multiclass_squared_hinge": Loss.MULTICLASS_SQUARED_HINGE,
}
OUT_ACTIVATION_CODES = {
    "squared_error": OutActivation.OUT_IDENTITY,
    "poisson": OutActivation.OUT_EXP,
    "binary_log_loss": OutActivation.OUT_LOGISTIC,
    "log_loss": OutActivation.OUT_SOFTMAX,
    **{name: OutActivation.OUT_IDENTITY for name in [
        "absolute_error", "huber", "quantile", "binary_hinge", "binary_squared_hinge",
        "multiclass_hinge", "multiclass_squared_hinge"]},
}


def network_spec(layer_units, activation, output, dtype="float64", act_params=None):
    """The spec of a network of these widths, one activation for every hidden
    layer (or a list, one per layer; act_params: their parameters by
    estimator name, defaults otherwise), and the reference's `output`."""
    loss, target_type = OUTPUT_LOSSES[output]
    p = {**DEFAULT_PARAMS, **(act_params or {})}
    names = hidden_names(activation, len(layer_units) - 2)
    hidden = tuple(
        HiddenLayer(units, name, tuple((param, p[param]) for param in ACTIVATIONS[name].params))
        for units, name in zip(layer_units[1:-1], names))
    loss_params = tuple((name, LOSS_PARAM[output]) for name in LOSSES[loss].params)
    return NetworkSpec(layer_units[0], hidden, layer_units[-1], loss, target_type,
                       loss_params, dtype=dtype)


# -- networks with batch norm and dropout (issue 13) --------------------------

BN_LOSSES = {"squared_error": ("squared_error", "continuous"),
          "log_loss": ("log_loss", "multiclass")}


def make_spec(units, batch_norm, activation="tanh", loss="squared_error", dtype="float64",
              momentum=0.1, dropout=None):
    dropout = dropout or [0.0] * len(batch_norm)
    hidden = tuple(HiddenLayer(u, activation, (), bool(bn), float(rate))
                   for u, bn, rate in zip(units[1:-1], batch_norm, dropout))
    name, target = BN_LOSSES[loss]
    return NetworkSpec(units[0], hidden, units[-1], name, target, dtype=dtype,
                       batch_norm_momentum=momentum)


def random_params(spec, rng):
    params = rng.uniform(-1, 1, spec.n_params)
    for group in spec.groups("gamma"):
        params[group.start:group.stop] = rng.uniform(0.5, 1.5, group.stop - group.start)
    return params.astype(spec.dtype)


def engine(spec, params, X, Y, sw=None, alpha=0.0, n_parts=1, running=None, momentum=1.0,
           dropout_key=None, step=0):
    network = Network(spec)
    dtype = params.dtype
    n = X.shape[0]
    grads = np.full(n_parts * spec.n_params, np.nan, dtype)
    work = np.empty(n_parts * network.work_size(-(-n // n_parts), False), dtype)
    Y = Y if Y.dtype == np.intp else np.ascontiguousarray(Y, dtype=dtype)
    scale = 1.0 / spec.n_outputs if spec.loss == "squared_error" else 1.0
    loss = loss_gradient(network, params, grads, work, np.ascontiguousarray(X, dtype=dtype),
                         np.empty(0, dtype), np.empty(0, np.intp), np.empty(0, np.intp), Y,
                         np.empty(0, dtype) if sw is None else sw.astype(dtype), n,
                         n_parts, min(n_parts, 2), alpha, scale, running, momentum,
                         dropout_key, step)
    return loss, grads[:spec.n_params]


def problem(rng, n_rows, units, loss):
    X = rng.randn(n_rows, units[0])
    if loss == "log_loss":
        Y = rng.randint(units[-1], size=(n_rows, 1)).astype(np.intp)
    else:
        Y = rng.randn(n_rows, units[-1])
    return X, Y
