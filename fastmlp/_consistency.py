"""Whether what a user changed or handed in agrees with the model (issue 10).

A fitted model's attributes can be assigned (the README allows replacing
``coefs_`` and ``intercepts_``), settings change between warm starts, and
sample weights are cast to the model's dtype. Unchecked, the engine would
then read buffers of the wrong size, or report a symptom in its own words (a
non-finite loss, rows that do not match) instead of the cause. Each check
here runs in Python before the engine and names the user's mistake and what
to do about it.
"""
import math
from numbers import Integral, Real

import numpy as np

from ._registry import ACTIVATION_ALIASES, ACTIVATION_PARAMS, ACTIVATIONS, activation_name

_REFIT = "fit the model again (warm_start=False)"


def describe(value):
    """A short description of a value for an error message: its repr,
    shortened, and its type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    kind = type(value).__name__
    return f"{text} ({'an' if kind[0] in 'aeiou' else 'a'} {kind})"


def _units(n, noun):
    plural = noun[:-1] + "ces" if noun.endswith("ix") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def labels_text(classes):
    """Class labels for an error message, as a plain list (shortened)."""
    text = repr(np.asarray(classes).tolist())
    return text if len(text) <= 60 else text[:56] + "...]"


def _is_count(value):
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def _real_array(name, value, ndim):
    """`value` as an array of real numbers with `ndim` dimensions."""
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{name} is {describe(value)}, not an array of numbers.")
    try:
        array = np.asarray(value)
        if array.dtype.kind == "O":
            array = array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} is not an array of real numbers ({exc}).") from exc
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} has dtype {array.dtype}; weights and intercepts must be real "
            "numbers (float32 or float64)."
        )
    if array.ndim != ndim:
        shape = "(n_inputs, n_units)" if ndim == 2 else "(n_units,)"
        raise ValueError(
            f"{name} has shape {array.shape}; it must be {ndim}-D, of shape {shape}."
        )
    return array


def check_layers(coefs, intercepts):
    """The layers' weights and intercepts as real arrays that chain into one
    network, or a clear error.

    Returns
    -------
    coefs : list of ndarray of shape (n_inputs, n_units)
    intercepts : list of ndarray of shape (n_units,)

    Raises
    ------
    TypeError
        coefs_ or intercepts_ is not a list of arrays of real numbers.
    ValueError
        They are empty, of different lengths, of shapes that do not chain,
        or hold NaN or infinity.
    """
    for name, value in (("coefs_", coefs), ("intercepts_", intercepts)):
        if not isinstance(value, (list, tuple)):
            raise TypeError(
                f"{name} is {describe(value)}; it must be a list of arrays, one per "
                f"layer. Assign a list, or {_REFIT}."
            )
    if len(coefs) == 0:
        raise ValueError(
            "coefs_ is empty; a network needs one weight matrix per layer, of shape "
            f"(n_inputs, n_units). Assign a non-empty list, or {_REFIT}."
        )
    if len(intercepts) != len(coefs):
        raise ValueError(
            f"coefs_ holds {_units(len(coefs), 'weight matrix')} but intercepts_ holds "
            f"{_units(len(intercepts), 'vector')}; each layer needs both."
        )
    coefs = [_real_array(f"coefs_[{i}]", W, 2) for i, W in enumerate(coefs)]
    intercepts = [_real_array(f"intercepts_[{i}]", b, 1) for i, b in enumerate(intercepts)]
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        if 0 in W.shape:
            raise ValueError(
                f"coefs_[{i}] has shape {W.shape}; every layer needs at least one "
                "input and one unit."
            )
        if i and W.shape[0] != coefs[i - 1].shape[1]:
            raise ValueError(
                f"coefs_[{i}] has shape {W.shape}, but coefs_[{i - 1}] has shape "
                f"{coefs[i - 1].shape}: layer {i + 1}'s weights need "
                f"{coefs[i - 1].shape[1]} rows, one per unit of the layer before."
            )
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"intercepts_[{i}] has shape {b.shape}, but coefs_[{i}] gives that "
                f"layer {W.shape[1]} units: it needs shape ({W.shape[1]},)."
            )
    for name, arrays in (("coefs_", coefs), ("intercepts_", intercepts)):
        for i, array in enumerate(arrays):
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise ValueError(non_finite_parameters(f"{name}[{i}]"))
    return coefs, intercepts


def non_finite_parameters(where):
    """The message for a model whose parameters hold NaN or infinity."""
    return (
        f"{where} holds NaN or infinity: the model's weights were set or edited to "
        "non-finite values, from which it can neither predict nor train. Assign "
        f"finite ones, or {_REFIT}."
    )


def first_non_finite(coefs, intercepts):
    """Where the first NaN or infinity among the parameters is ('coefs_[1]'),
    or None."""
    for name, arrays in (("coefs_", coefs), ("intercepts_", intercepts)):
        for i, array in enumerate(arrays):
            if not np.isfinite(array).all():
                return f"{name}[{i}]"
    return None


def check_sizes(coefs, n_features, n_outputs, n_layers, outputs):
    """The fitted sizes agree with the layers.

    Parameters
    ----------
    coefs : list of ndarray, checked by check_layers
    n_features, n_outputs, n_layers : the model's n_features_in_,
        n_outputs_ and n_layers_
    outputs : (int, str)
        The number of outputs the model's targets need and why ('one per
        class in classes_ ...'), or None when n_outputs_ decides.

    Raises
    ------
    TypeError, ValueError
    """
    for name, value, least in (("n_features_in_", n_features, 1), ("n_outputs_", n_outputs, 1),
                               ("n_layers_", n_layers, 2)):
        if not _is_count(value) or value < least:
            raise (ValueError if _is_count(value) else TypeError)(
                f"{name} is {describe(value)}; fit sets it to an int of at least "
                f"{least} and it must not be changed. Set it back, or {_REFIT}."
            )
    if coefs[0].shape[0] != n_features:
        raise ValueError(
            f"coefs_[0] has {_units(coefs[0].shape[0], 'row')}, one per input feature, but the "
            f"model takes {n_features} features (n_features_in_, the width of X at "
            f"fit). Assign a first layer of {n_features} rows, or {_REFIT} on X of "
            f"{coefs[0].shape[0]} features."
        )
    if outputs is not None and n_outputs != outputs[0]:
        raise ValueError(
            f"n_outputs_ is {n_outputs}, but this model has {outputs[0]} outputs "
            f"({outputs[1]}); fit sets n_outputs_ and it must not be changed. Set it "
            f"back to {outputs[0]}, or {_REFIT}."
        )
    width = coefs[-1].shape[1]
    if width != n_outputs:
        why = f"{outputs[1]}" if outputs is not None else "n_outputs_"
        raise ValueError(
            f"coefs_[-1] has {_units(width, 'column')}, one per output, but the model has "
            f"{n_outputs} outputs ({why}). Assign a last layer of shape "
            f"({coefs[-1].shape[0]}, {n_outputs}) with intercepts_[-1] of shape "
            f"({n_outputs},)"
            + (", or set n_outputs_ to match." if outputs is None else ".")
        )
    if n_layers != len(coefs) + 1:
        raise ValueError(
            f"n_layers_ is {n_layers}, but the network has {len(coefs) + 1} layers "
            f"(input and output included; coefs_ holds {len(coefs)} weight matrices). "
            f"Fit sets n_layers_ and it must not be changed: set it back to "
            f"{len(coefs) + 1}."
        )


def check_activation(activation, n_hidden, source):
    """The canonical name of each hidden layer's activation: activation is
    one name the registry has, or a list or tuple of one per hidden layer.

    Parameters
    ----------
    activation : the estimator's activation
    n_hidden : int
        The network's hidden layers.
    source : str
        What fixes their number, for the message ("hidden_layer_sizes=[5, 4]",
        "the fitted network").

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
    """
    if isinstance(activation, (list, tuple)):
        if len(activation) != n_hidden:
            raise ValueError(
                f"activation lists {len(activation)} names, but {source} has "
                f"{_units(n_hidden, 'hidden layer')}: give one name per hidden layer, or "
                "a single name for all of them."
            )
        given = [(f"activation[{i}]", name) for i, name in enumerate(activation)]
    else:
        given = [("activation", activation)]
    for where, name in given:
        if not isinstance(name, str) or activation_name(name) is None:
            names = sorted(ACTIVATIONS) + sorted(ACTIVATION_ALIASES)
            raise ValueError(
                f"{where} is {describe(name)}; "
                f"{'it' if where == 'activation' else 'each name'} must be one of "
                f"{', '.join(map(repr, names))}."
            )
    if isinstance(activation, str):
        return [activation_name(activation)] * n_hidden
    return [activation_name(name) for name in activation]


def check_activation_params(estimator, names):
    """The parameters each activation in `names` reads, as HiddenLayer takes
    them, from the estimator as it now stands.

    fit validates them; an assignment since then (scikit-learn reads
    activation at every predict, and its parameters with it) is checked here,
    so that a value out of range fails naming it rather than as a non-finite
    output or a failed conversion.

    Parameters
    ----------
    estimator : the estimator
    names : list of str
        Canonical activation names, one per hidden layer.

    Returns
    -------
    list of tuple of (str, float)

    Raises
    ------
    ValueError
    """
    checked = {}
    read = {param for name in names for param in ACTIVATIONS[name].params}
    for param in (param for param in ACTIVATION_PARAMS if param in read):
        value = getattr(estimator, param)
        constraint = ACTIVATION_PARAMS[param].constraint
        if not constraint.is_satisfied_by(value):
            raise ValueError(
                f"{param} is {describe(value)}; it must be {constraint}. Set it with "
                "set_params to a valid value."
            )
        checked[param] = float(value)
    return [tuple((param, checked[param]) for param in ACTIVATIONS[name].params)
            for name in names]


def check_layer_count(coefs, n_weight_layers):
    """Assigned coefs_ keep the fitted network's number of layers.

    Parameters
    ----------
    coefs : list of ndarray
    n_weight_layers : int or None
        The fitted network's (None: not known, a model pickled before specs).
    """
    if n_weight_layers is not None and len(coefs) != n_weight_layers:
        raise ValueError(
            f"coefs_ holds {len(coefs)} weight matrices, but this model has "
            f"{n_weight_layers}: assigning coefs_ can change the layers' widths, not "
            "their number (each hidden layer has its own activation). Fit a new model "
            "with the hidden_layer_sizes you want."
        )


def check_output_activation(out_activation, expected, why):
    """out_activation_ is what fit set for this model's targets and loss.

    Parameters
    ----------
    out_activation : the model's out_activation_
    expected : tuple of str
        The output activations this model may have.
    why : str
        What sets it, for the message.
    """
    if not isinstance(out_activation, str) or out_activation not in expected:
        raise ValueError(
            f"out_activation_ is {describe(out_activation)}, but {why}. Fit sets "
            f"out_activation_ and it must not be changed: set it back, or {_REFIT}."
        )


def check_training_state(estimator):
    """The counters and records a warm start or partial_fit goes on from are
    what fit left: numbers and lists, not values assigned since.

    Raises
    ------
    TypeError
    """
    state = estimator.__dict__
    number_or_none = lambda v: v is None or (isinstance(v, Real) and v == v)  # noqa: E731
    expected = {
        "t_": (lambda v: _is_count(v) and v >= 0,
               "a non-negative int (the training samples seen)"),
        "loss_curve_": (lambda v: isinstance(v, list), "a list (one loss per epoch)"),
        "validation_scores_": (lambda v: v is None or isinstance(v, list),
                               "a list of scores, or None"),
        "best_loss_": (number_or_none, "a number, or None"),
        "best_validation_score_": (number_or_none, "a number, or None"),
    }
    for name, (valid, what) in expected.items():
        if name in state and not valid(state[name]):
            raise TypeError(
                f"{name} is {describe(state[name])}, but warm_start and partial_fit go "
                f"on from it and it must be {what}: fit sets it and it must not be "
                f"changed. Set it back, or {_REFIT}."
            )


def check_sample_weight_cast(sample_weight, dtype):
    """Sample weights fit the model's dtype (float32 when X is): none
    becomes zero or subnormal when cast, and their sum leaves room for the
    losses they multiply (at most the square root of the dtype's largest
    number, 1.8e19 for float32), so the weighted loss cannot overflow.

    Parameters
    ----------
    sample_weight : ndarray, finite and non-negative
    dtype : the model's dtype

    Raises
    ------
    ValueError
    """
    info = np.finfo(dtype)
    name = np.dtype(dtype).name
    single = np.dtype(dtype) == np.float32
    cast = (" The model trains in float32 because X is float32, and sample_weight is "
            "cast to float32." if single else "")
    or_float64 = ", or pass X as float64." if single else "."
    # the L2 penalty is divided by the weights' sum (scikit-learn's scaling)
    same_model = " (and alpha by the same factor, to keep the same model)"
    positive = sample_weight[sample_weight > 0]
    if single and positive.size and positive.min() < info.tiny:
        raise ValueError(
            f"sample_weight holds {positive.min():.3g}, less than the smallest normal "
            f"float32 number ({info.tiny:.3g}): the cast would turn it into 0 or "
            f"lose its precision.{cast} Scale sample_weight up{same_model}, drop the "
            f"rows of negligible weight{or_float64}"
        )
    with np.errstate(over="ignore"):
        total = float(np.sum(sample_weight, dtype=np.float64))
    room = math.sqrt(info.max)
    if total > room:
        largest = float(sample_weight.max())
        what = (f"holds {largest:.3g}, more than {name} can hold ({info.max:.3g})"
                if largest > info.max else
                f"sums to {total:.3g}, which leaves no room in {name} (up to "
                f"{info.max:.3g}) for the weighted loss: keep the sum below {room:.2g}")
        raise ValueError(
            f"sample_weight {what}.{cast} Scale sample_weight down{same_model}"
            f"{or_float64}"
        )


def check_numeric_target(y):
    """Refuse regression targets given as text.

    NumPy would parse "1.5" into 1.5 when y is cast to the model's dtype, so
    a target column read from a file without conversion would train
    silently; scikit-learn fails on it part-way into training (str arrays)
    or converts it (object arrays). fastmlp refuses both, as it does for X.

    Raises
    ------
    ValueError
    """
    try:
        # DataFrame columns of mixed dtypes become one object array
        values = np.asarray(y, dtype=object if hasattr(y, "dtypes") else None)
    except (TypeError, ValueError):
        return  # ragged or odd input: scikit-learn's validation says why
    text = values.dtype.kind in ("U", "S") or (values.dtype.kind == "O" and any(
        isinstance(value, (str, bytes)) for value in values.flat))
    if text:
        raise ValueError(
            "y holds strings, but MLPRegressor needs numeric targets. Convert y "
            "explicitly (y.astype(float)) if they are numbers written as text; for "
            "class labels use MLPClassifier."
        )


def check_poisson_target(y):
    """loss='poisson' models counts and rates: y must not be negative.

    Raises
    ------
    ValueError
    """
    smallest = float(y.min())
    if smallest < 0:
        raise ValueError(
            f"loss='poisson' needs non-negative targets (counts or rates), but y holds "
            f"negative values (down to {smallest:.6g}). Use loss='squared_error', or "
            "shift or transform y to be non-negative."
        )


def check_optimizer_state(optimizer, solver, n_params):
    """The optimizer state partial_fit goes on from is one fit left for this
    solver and network: moments of one value per parameter, a step count.

    scikit-learn keeps the first call's optimizer when solver changes
    between partial_fit calls (training an 'sgd' model with Adam's state,
    silently); fastmlp refuses.

    Raises
    ------
    TypeError, ValueError
    """
    from ._optimizer_state import OptimizerState

    if not isinstance(optimizer, OptimizerState):
        raise TypeError(
            f"The optimizer state partial_fit goes on from is {describe(optimizer)}, "
            f"not one fit made: it was changed. Call fit, or {_REFIT}."
        )
    if optimizer.solver != solver:
        raise ValueError(
            f"solver is {solver!r}, but this model's partial_fit calls so far trained "
            f"with solver={optimizer.solver!r}, whose state (moments, step count, "
            f"learning rate) partial_fit goes on from. Set solver={optimizer.solver!r} "
            "back, or call fit to start anew."
        )
    moments = (optimizer.moment_1, optimizer.moment_2)
    sizes = (n_params, n_params if optimizer.moment_2.shape != (1,) else 1)
    if not all(isinstance(m, np.ndarray) and m.shape == (size,) and m.dtype.kind == "f"
               for m, size in zip(moments, sizes)) or not (
            _is_count(optimizer.t) and optimizer.t >= 0):
        raise ValueError(
            "The optimizer state partial_fit goes on from does not fit the network "
            f"of {n_params} parameters (moments of the wrong size or type, or a bad "
            f"step count): it was changed. Call fit to start anew, or {_REFIT}."
        )
