"""Network specs for the tests that drive the engine directly, named by the
NumPy reference's outputs (numpy_reference.OUTPUT_ACTIVATION)."""
from fastmlp._engine._common import Loss, OutActivation
from fastmlp._registry import ACTIVATIONS
from fastmlp._spec import HiddenLayer, NetworkSpec
from numpy_reference import DEFAULT_PARAMS, hidden_names

# the reference's output names -> (loss, kind of target)
OUTPUT_LOSSES = {
    "squared_error": ("squared_error", "continuous"),
    "poisson": ("poisson", "continuous"),
    "binary_log_loss": ("log_loss", "multilabel-indicator"),
    "log_loss": ("log_loss", "multiclass"),
}

# the engine's codes for the same names
LOSS_CODES = {
    "squared_error": Loss.SQUARED_ERROR,
    "poisson": Loss.POISSON,
    "binary_log_loss": Loss.BINARY_LOG_LOSS,
    "log_loss": Loss.LOG_LOSS,
}
OUT_ACTIVATION_CODES = {
    "squared_error": OutActivation.OUT_IDENTITY,
    "poisson": OutActivation.OUT_EXP,
    "binary_log_loss": OutActivation.OUT_LOGISTIC,
    "log_loss": OutActivation.OUT_SOFTMAX,
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
    return NetworkSpec(layer_units[0], hidden, layer_units[-1], loss, target_type,
                       dtype=dtype)
