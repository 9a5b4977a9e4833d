"""Model files: ``model.save(path)`` and ``fastmlp.load(path)`` (issue 14).

A model file is a safetensors container (`_safetensors.py`): typed arrays
and one JSON header of plain values, under the metadata key "fastmlp"::

    format, format_version, fastmlp_version, estimator   what and who wrote it
    params       get_params(), each value a JSON value or a tagged one
                 ({"float": "inf"}, {"tuple": [...]}, {"dict": [[k, v], ...]},
                 {"ndarray": [...], "dtype": ...}, {"random_state": ...})
    network      the fitted network: widths, activations and their
                 parameters, batch norm, dropout, loss, output, dtype
    attributes   n_iter_, t_, loss_, best_loss_, the early-stopping records,
                 the no-improvement count, feature_names_in_
    labels       (classifiers) the kind of target, classes_ as text or
                 as the array "classes_"
    optimizer    the stochastic solver's state: step count, schedule
                 clock and rate, plateau record, settings
    random       the training random stream's position; dropout's key

Arrays: ``coefs_.{l}``, ``intercepts_.{l}`` and ``batch_norm_.{l}.gamma`` /
``.beta`` in the model's dtype; ``batch_norm_.{l}.running_mean`` /
``.running_var``, the loss and validation curves in float64;
``optimizer.moment_1`` / ``.moment_2`` in the model's dtype;
``random.key`` (and ``random_state.key`` when the random_state parameter
is a RandomState of its own), MT19937's 624 uint32 words.

Loading trusts nothing in the file: the container's sizes are checked
first; the estimator is looked up among fastmlp's own two classes and
every name (activation, loss, solver, schedule) in fastmlp's registries;
nothing named in the file is imported or called. Every array's dtype and
shape must be what the network (widths chaining from the input to the
output) says, before anything is built; values are checked (finite
parameters, non-negative variances, sorted classes); then the estimator's
own consistency checks run. Any problem raises ModelFileError, a
ValueError naming it.

Carried, so that partial_fit and a warm start go on exactly as they would
have: parameters, batch norm's running statistics, the optimizer's moments
and step count (dropout's masks are drawn from its key and the step
count), the learning-rate schedule's state, the training random stream
(shuffling, dropout keys of later fits), the loss records and
no-improvement counters. Not carried: callbacks (set_callbacks), and
early stopping's best weights, which a fit with early stopping has
already restored into the model and the next fit starts anew.
"""
import json
import math
import os
import secrets
from typing import BinaryIO, NoReturn

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.validation import check_is_fitted

from ._base import BaseMultilayerPerceptron
from ._consistency import check_training_state, describe
from ._layer_options import pack_batch_norm
from ._optimizer_state import OptimizerState
from ._parameters import pack_parameters
from ._registry import (
    ACTIVATIONS,
    LOSSES,
    OPTIMIZERS,
    OUT_ACTIVATIONS,
    SCHEDULES,
)
from ._safetensors import MAX_HEADER_BYTES, ContainerError, read_container, write_container
from ._spec import HiddenLayer, NetworkSpec

FORMAT = "fastmlp.model"
FORMAT_VERSION = 1
MAX_LAYERS = 1024
_MAX_DEPTH = 8
_MAX_COUNT = 2**53
_ARRAY_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "float16", "float32", "float64")
_TARGET_KINDS = ("binary", "multiclass", "multilabel-indicator")
_SCALARS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_",
            "best_validation_loss_", "_no_improvement_count")
_CURVES = ("loss_curve_", "validation_scores_", "validation_loss_curve_")
_INCONSISTENT = (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError,
                 RecursionError)
# the random_state parameter is the training stream itself
_SHARED = object()
_BN_KEYS = ("gamma", "beta", "running_mean", "running_var")
# the optimizer buffer that holds a running average of squared gradients
_SQUARES = {"adam": "moment_2", "adamw": "moment_2", "nadam": "moment_2",
            "rmsprop": "moment_1"}


class ModelFileError(ValueError):
    """A model file that fastmlp cannot load: corrupt, truncated, tampered
    with, or written in a newer format. The message names the problem."""


def _estimators():
    # the only classes a file may name; imported here, not at module import,
    # because the estimators import this module
    from ._classifier import MLPClassifier
    from ._regressor import MLPRegressor

    return {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


def _fail(problem: str) -> NoReturn:
    raise ModelFileError(f"Cannot load the model file: {problem}.")


# -- saving ------------------------------------------------------------------


def save(estimator: BaseMultilayerPerceptron, path: str | os.PathLike | BinaryIO) -> None:
    """Write a fitted estimator to `path` (see `BaseMultilayerPerceptron.save`)."""
    data = to_bytes(estimator)
    if hasattr(path, "write"):
        path.write(data)
        return
    path = os.fspath(path)
    # a new file replaces the old one whole: a failed write leaves no
    # truncated model behind (created by open, so the umask sets its mode)
    tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def to_bytes(estimator: BaseMultilayerPerceptron) -> bytes:
    """The model file's bytes for a fitted estimator."""
    from . import __version__

    if type(estimator) not in _estimators().values():
        raise TypeError(f"save takes a fastmlp MLPClassifier or MLPRegressor, got "
                        f"{describe(estimator)}.")
    check_is_fitted(estimator)
    # the parameters as the engine runs them: arrays a user assigned are
    # checked and packed first
    estimator._validate_params()
    network, params = estimator._engine()
    spec = network.spec
    state = estimator.__dict__
    arrays: dict[str, np.ndarray] = {}
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "fastmlp_version": __version__,
        "estimator": type(estimator).__name__,
        "params": _save_params(estimator, arrays),
        "network": _network_record(spec),
        "attributes": _attributes_record(state, arrays),
    }
    for l, (W, b) in enumerate(zip(estimator.coefs_, estimator.intercepts_)):
        arrays[f"coefs_.{l}"] = W
        arrays[f"intercepts_.{l}"] = b
    for l, layer in enumerate(state.get("batch_norm_") or ()):
        if layer is not None:
            for key in _BN_KEYS:
                arrays[f"batch_norm_.{l}.{key}"] = layer[key]
    if "_label_binarizer" in state:
        header["labels"] = _labels_record(estimator, arrays)
    optimizer = state.get("_optimizer")
    if optimizer is not None:
        values, moments = optimizer.record()
        header["optimizer"] = {key: _encode(value, "the optimizer state")
                               for key, value in values.items()}
        for key, value in moments.items():
            arrays[f"optimizer.{key}"] = value
    header["random"] = _random_record(estimator, arrays)
    text = json.dumps(header, separators=(",", ":"), allow_nan=False)
    if len(text.encode("utf-8")) > MAX_HEADER_BYTES - 64:
        # load would refuse it: say so now, not when the file is needed
        raise ValueError(
            f"The model's header (parameters, feature names, class labels) takes "
            f"{len(text)} bytes, more than the {MAX_HEADER_BYTES} a model file allows. "
            "Shorten the feature names or class labels, or use pickle.")
    return write_container(arrays, {"fastmlp": text})


def _encode(value, where):
    """A JSON value for `value`; Python and NumPy scalars, lists, tuples,
    dicts and 1-D numeric arrays only."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, where) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.name in _ARRAY_DTYPES:
        return {"ndarray": _encode(value.tolist(), where), "dtype": value.dtype.name}
    raise TypeError(
        f"{where} is {describe(value)}, which a model file cannot hold (it holds numbers, "
        "text, booleans, None, and lists, tuples and dicts of them). Set it to such a "
        "value, or use pickle.")


def _save_params(estimator, arrays):
    params = estimator.get_params(deep=False)
    random_state = params.pop("random_state")
    encoded = {name: _encode(value, f"the parameter {name}") for name, value in params.items()}
    if isinstance(random_state, np.random.RandomState):
        shared = random_state is estimator.__dict__.get("_random_state")
        encoded["random_state"] = {"random_state": "shared" if shared else "own"}
        if not shared:
            encoded_state = _random_state_record(random_state, "random_state", arrays)
            encoded["random_state"]["state"] = encoded_state
    else:
        encoded["random_state"] = _encode(random_state, "the parameter random_state")
    return encoded


def _network_record(spec):
    hidden = [dict(units=layer.units, activation=layer.activation,
                   activation_params=[[n, float(v)] for n, v in layer.activation_params],
                   batch_norm=bool(layer.batch_norm), dropout=float(layer.dropout))
              for layer in spec.hidden]
    return dict(n_features=spec.n_features, hidden=hidden, n_outputs=spec.n_outputs,
                loss=spec.loss, target_type=spec.target_type,
                loss_params=[[n, float(v)] for n, v in spec.loss_params], dtype=spec.dtype,
                out_activation=spec.out_activation,
                batch_norm_momentum=float(spec.batch_norm_momentum),
                batch_norm_eps=float(spec.batch_norm_eps))


def _attributes_record(state, arrays):
    record = {name: _encode(state[name], name) for name in _SCALARS if name in state}
    curves = {}
    for name in _CURVES:
        if name in state:
            curve = state[name]
            curves[name] = None if curve is None else "array"
            if curve is not None:
                arrays[name] = np.asarray(curve, dtype=np.float64).reshape(-1)
    record["curves"] = curves
    names = state.get("feature_names_in_")
    if names is not None:
        record["feature_names_in_"] = [str(name) for name in names]
    return record


def _labels_record(estimator, arrays):
    binarizer = estimator._check_labels()
    classes = binarizer.classes_
    record = {"y_type": binarizer.y_type_, "sparse_input": bool(binarizer.sparse_input_)}
    if classes.dtype.name in _ARRAY_DTYPES:
        record["classes"] = {"kind": "array"}
        arrays["classes_"] = classes
    elif classes.dtype.kind == "U":
        record["classes"] = {"kind": "str", "chars": classes.dtype.itemsize // 4,
                             "values": classes.tolist()}
    elif classes.dtype.kind == "O":
        kinds = {type(v) for v in classes}
        if len(kinds) != 1 or next(iter(kinds)) not in (str, int, float, bool):
            raise TypeError(
                f"classes_ holds labels of type {', '.join(sorted(k.__name__ for k in kinds))}"
                ": a model file holds str, int, float or bool labels. Fit the model on y "
                "of such labels (e.g. y.astype(str)), or use pickle.")
        kind = next(iter(kinds)).__name__
        record["classes"] = {"kind": "object", "type": kind,
                             "values": _encode(classes.tolist(), "classes_")}
    else:
        raise TypeError(f"classes_ of dtype {classes.dtype} cannot be saved: a model file "
                        "holds str, int, float or bool labels.")
    return record


def _random_state_record(random_state, name, arrays):
    state = random_state.get_state(legacy=True)
    if not isinstance(state, tuple) or state[0] != "MT19937":
        raise TypeError(f"the random stream {name} is not a legacy MT19937 RandomState, "
                        "which a model file cannot hold; use pickle.")
    arrays[f"{name}.key"] = state[1]
    return {"pos": int(state[2]), "has_gauss": int(state[3]),
            "cached_gaussian": _encode(float(state[4]), name)}


def _random_record(estimator, arrays):
    state = estimator.__dict__
    record = {}
    stream = state.get("_random_state")
    if stream is not None:
        record["stream"] = _random_state_record(stream, "random", arrays)
    seed = state.get("_dropout_seed")
    if seed is not None:
        record["dropout_seed"] = [int(v) for v in seed]
    return record


# -- loading -----------------------------------------------------------------


def load(file: str | os.PathLike | BinaryIO) -> BaseMultilayerPerceptron:
    """Load a model saved by ``model.save``.

    Parameters
    ----------
    file : str, path-like or binary file object
        The model file.

    Returns
    -------
    model : MLPClassifier or MLPRegressor
        The fitted model, as it was saved: its predictions are those of the
        saved model bit for bit, and partial_fit or a warm start go on
        training it exactly as they would have gone on training the saved
        one.

    Raises
    ------
    ModelFileError
        (a ValueError) When the file is not a model file this fastmlp can
        load: corrupt, truncated, tampered with, or written in a newer
        format. Nothing named in the file is imported or called.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import fastmlp
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1]
    >>> clf = fastmlp.MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs",
    ...                             random_state=0).fit(X, y)
    >>> f = io.BytesIO()
    >>> clf.save(f)
    >>> _ = f.seek(0)
    >>> loaded = fastmlp.load(f)
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    if hasattr(file, "read"):
        data = file.read()
    else:
        with open(os.fspath(file), "rb") as f:
            data = f.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load reads bytes, but the file object gave {describe(data)}: open "
                        "the file in binary mode ('rb').")
    return from_bytes(data)


def from_bytes(data: bytes | bytearray | memoryview) -> BaseMultilayerPerceptron:
    """The estimator a model file's bytes hold (see `load`)."""
    try:
        metadata, arrays = read_container(data)
    except ContainerError as exc:
        _fail(str(exc))
    try:
        header = _header(metadata)
        return _build(_estimators()[header["estimator"]], header, arrays)
    except ModelFileError:
        raise
    except _INCONSISTENT as exc:
        # the estimator's own checks (or, as a last resort, a value of the
        # wrong type that the checks above missed) refused what it holds
        _fail(f"the model it describes is inconsistent ({exc})")


def _header(metadata):
    from . import __version__

    if set(metadata) != {"fastmlp"}:
        _fail("it is not a fastmlp model file (its metadata has no 'fastmlp' entry)")
    try:
        header = json.loads(metadata["fastmlp"], parse_constant=_no_constant,
                            object_pairs_hook=_no_duplicates)
    except RecursionError:
        _fail("its fastmlp header nests too deeply")
    except ValueError as exc:
        _fail(f"its fastmlp header is not valid JSON ({exc})")
    _need(isinstance(header, dict), "its fastmlp header is not a JSON object")
    _need(header.get("format") == FORMAT, "it is not a fastmlp model file (format "
          f"{describe(header.get('format'))}, not {FORMAT!r})")
    version = header.get("format_version")
    _need(_is_count(version) and version >= 1,
          f"its format_version is {describe(version)}, not a positive integer")
    if version > FORMAT_VERSION:
        _fail(f"it was written in format version {version} (by fastmlp "
              f"{describe(header.get('fastmlp_version'))}), newer than version "
              f"{FORMAT_VERSION}, the newest this fastmlp ({__version__}) reads. Upgrade "
              "fastmlp to load it")
    _need(isinstance(header.get("fastmlp_version"), str),
          "its fastmlp_version is not text")
    expected = {"format", "format_version", "fastmlp_version", "estimator", "params",
                "network", "attributes", "random"}
    optional = {"labels", "optimizer"}
    keys = set(header)
    _need(expected <= keys <= expected | optional,
          f"its header has the sections {sorted(keys)}, not {sorted(expected)} (with "
          f"{' and '.join(sorted(optional))} where they apply)")
    _need(isinstance(header["estimator"], str) and header["estimator"] in _estimators(),
          f"it names the estimator {describe(header['estimator'])}, not one of fastmlp's "
          f"{', '.join(_estimators())}")
    _need(("labels" in header) == (header["estimator"] == "MLPClassifier"),
          "its labels section does not match its estimator")
    return header


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs):
    # a key given twice would read differently in different JSON readers
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a key is repeated")
    return result


def _need(condition, problem):
    if not condition:
        _fail(problem)


def _is_count(value, low=0):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < _MAX_COUNT


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value):
    return _is_number(value) and math.isfinite(value)


def _fields(record, names, where):
    _need(isinstance(record, dict) and set(record) == set(names),
          f"{where} has the fields {sorted(map(str, record))}, not {sorted(names)}"
          if isinstance(record, dict) else f"{where} is {describe(record)}, not a record")
    return record


def _decode(value, where, depth=0):
    """The value `_encode` wrote, from the tagged forms only."""
    _need(depth <= _MAX_DEPTH, f"{where} nests too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, where, depth + 1) for v in value]
    _need(isinstance(value, dict) and len(value) in (1, 2), f"{where} is not a value fastmlp "
          "writes")
    keys = set(value)
    if keys == {"float"} and value["float"] in ("nan", "inf", "-inf"):
        return float(value["float"])
    if keys == {"tuple"} and isinstance(value["tuple"], list):
        return tuple(_decode(value["tuple"], where, depth + 1))
    if keys == {"dict"} and isinstance(value["dict"], list):
        pairs = _decode(value["dict"], where, depth + 1)
        _need(all(isinstance(p, list) and len(p) == 2 and isinstance(
            p[0], (str, int, float, bool, type(None))) for p in pairs),
            f"{where} is not a list of key-value pairs")
        return {k: v for k, v in pairs}
    if keys == {"ndarray", "dtype"} and value["dtype"] in _ARRAY_DTYPES:
        items = _decode(value["ndarray"], where, depth + 1)
        _need(isinstance(items, list) and all(_is_number(v) or isinstance(v, bool)
                                              for v in items),
              f"{where} is not a list of numbers")
        try:
            return np.array(items, dtype=value["dtype"])
        except (OverflowError, ValueError):
            _fail(f"{where} does not fit its dtype {value['dtype']}")
    _fail(f"{where} is not a value fastmlp writes")


def _build(cls, header, arrays):
    spec = _load_network(header["network"], cls)
    expected = _expected_arrays(spec, header)
    _need(set(arrays) == set(expected),
          f"it holds the arrays {_names(set(arrays) - set(expected))} that its header does "
          f"not describe, and lacks {_names(set(expected) - set(arrays))}"
          if set(arrays) - set(expected) else
          f"it lacks the arrays {_names(set(expected) - set(arrays))}")
    for name, (dtype, shape) in expected.items():
        array = arrays[name]
        _need((shape is None or array.shape == shape) and (dtype is None or array.dtype == dtype),
              f"array {name!r} is {array.dtype} of shape {array.shape}, but the network "
              f"needs {dtype or 'a numeric array'} of shape {shape}")
    params = _load_params(cls, header["params"], arrays)
    shared = params.get("random_state") is _SHARED
    if shared:
        params["random_state"] = None  # the training stream, once it is loaded
    estimator = cls()
    estimator.set_params(**params)
    try:
        estimator._validate_params()
    except ValueError as exc:  # scikit-learn's InvalidParameterError
        _fail(f"its parameters are not valid: {exc}")
    if "labels" in header:
        _load_labels(estimator, header["labels"], arrays, spec)
    _load_parameters(estimator, spec, arrays)
    _load_attributes(estimator, header["attributes"], arrays, spec)
    if "optimizer" in header:
        _load_optimizer(estimator, header["optimizer"], arrays, spec)
    _load_random(estimator, header["random"], arrays, shared)
    # the estimator's own checks: every attribute agrees with the network
    try:
        estimator._engine()
        check_training_state(estimator)
    except (ValueError, TypeError, AttributeError) as exc:
        _fail(f"the model it describes is inconsistent: {exc}")
    return estimator


def _names(names):
    names = sorted(names)
    text = ", ".join(describe(n).rsplit(" (", 1)[0] for n in names[:8])
    return (text + (f" and {len(names) - 8} more" if len(names) > 8 else "")) or "none"


def _load_params(cls, record, arrays):
    _need(isinstance(record, dict), "its params are not a JSON object")
    known = set(cls._get_param_names())
    unknown = set(record) - known
    _need(not unknown, f"it sets parameters {_names(unknown)}, which {cls.__name__} does "
          "not have")
    params = {}
    for name, value in record.items():
        if name == "random_state" and isinstance(value, dict) and "random_state" in value:
            params[name] = _load_random_state_param(value, arrays)
        else:
            params[name] = _decode(value, f"the parameter {name}")
    return params


def _load_random_state_param(value, arrays):
    kind = value.get("random_state")
    if kind == "shared":
        _fields(value, ("random_state",), "the parameter random_state")
        return _SHARED
    _need(kind == "own", "the parameter random_state is not a value fastmlp writes")
    _fields(value, ("random_state", "state"), "the parameter random_state")
    return _random_stream(value["state"], arrays.get("random_state.key"), "random_state")


def _load_network(record, cls):
    record = _fields(record, ("n_features", "hidden", "n_outputs", "loss", "target_type",
                              "loss_params", "dtype", "out_activation",
                              "batch_norm_momentum", "batch_norm_eps"), "its network")
    _need(_is_count(record["n_features"], 1) and _is_count(record["n_outputs"], 1),
          "its network's n_features and n_outputs are not positive integers")
    _need(isinstance(record["hidden"], list) and len(record["hidden"]) <= MAX_LAYERS,
          f"its network's hidden layers are not a list of at most {MAX_LAYERS}")
    hidden = tuple(_hidden_layer(layer, i) for i, layer in enumerate(record["hidden"]))
    loss = record["loss"]
    _need(isinstance(loss, str) and loss in cls._losses,
          f"its network's loss {describe(loss)} is not one of {cls.__name__}'s "
          f"{', '.join(cls._losses)}")
    info = LOSSES[loss]
    target = record["target_type"]
    _need(isinstance(target, str) and target in info.outputs,
          f"its network's target_type {describe(target)} does not apply to loss {loss!r}")
    loss_params = _named_values(record["loss_params"], info.params, "the loss")
    _need(record["dtype"] in ("float32", "float64"),
          f"its network's dtype {describe(record['dtype'])} is not float32 or float64")
    out = record["out_activation"]
    _need(isinstance(out, str) and out in OUT_ACTIVATIONS,
          f"its network's out_activation {describe(out)} is not one of "
          f"{', '.join(OUT_ACTIVATIONS)}")
    momentum, eps = record["batch_norm_momentum"], record["batch_norm_eps"]
    _need(_is_finite(momentum) and 0 <= momentum <= 1 and _is_finite(eps) and eps > 0,
          "its network's batch norm momentum or eps is out of range")
    return NetworkSpec(record["n_features"], hidden, record["n_outputs"], loss, target,
                       loss_params, record["dtype"], out, float(momentum), float(eps))


def _hidden_layer(record, i):
    where = f"its hidden layer {i}"
    record = _fields(record, ("units", "activation", "activation_params", "batch_norm",
                              "dropout"), where)
    activation = record["activation"]
    _need(_is_count(record["units"], 1), f"{where} has {describe(record['units'])} units")
    _need(isinstance(activation, str) and activation in ACTIVATIONS,
          f"{where}'s activation {describe(activation)} is not one of "
          f"{', '.join(ACTIVATIONS)}")
    params = _named_values(record["activation_params"], ACTIVATIONS[activation].params, where)
    dropout = record["dropout"]
    _need(isinstance(record["batch_norm"], bool), f"{where}'s batch_norm is not a bool")
    _need(_is_finite(dropout) and 0 <= dropout < 1, f"{where}'s dropout is not in [0, 1)")
    return HiddenLayer(record["units"], activation, params, record["batch_norm"],
                       float(dropout))


def _named_values(record, names, where):
    """((name, float), ...) in the registry's order."""
    _need(isinstance(record, list) and [p[0] if isinstance(p, list) and p else None
                                         for p in record] == list(names)
          and all(len(p) == 2 and _is_finite(p[1]) for p in record),
          f"{where}'s parameters are not {list(names)} with finite values")
    return tuple((name, float(value)) for name, value in record)


def _expected_arrays(spec, header):
    """Every array the header implies: name -> (dtype, shape); None where
    any is accepted here and its loader checks it."""
    dtype = np.dtype(spec.dtype)
    units = spec.layer_units
    expected = {}
    for l in range(spec.n_layers):
        expected[f"coefs_.{l}"] = (dtype, (units[l], units[l + 1]))
        expected[f"intercepts_.{l}"] = (dtype, (units[l + 1],))
    for l in spec.batch_norm_layers:
        for key in _BN_KEYS:
            expected[f"batch_norm_.{l}.{key}"] = (
                dtype if key in ("gamma", "beta") else np.dtype(np.float64), (units[l + 1],))
    curves = header["attributes"].get("curves") if isinstance(
        header["attributes"], dict) else None
    _need(isinstance(curves, dict) and set(curves) <= set(_CURVES)
          and all(v in (None, "array") for v in curves.values()),
          "its attributes' curves are not a record of loss curves")
    for name, kind in curves.items():
        if kind == "array":
            expected[name] = (np.dtype(np.float64), None)  # any length
    labels = header.get("labels")
    if isinstance(labels, dict) and isinstance(labels.get("classes"), dict) \
            and labels["classes"].get("kind") == "array":
        expected["classes_"] = (None, None)
    optimizer = header.get("optimizer")
    if optimizer is not None:
        solver = optimizer.get("solver") if isinstance(optimizer, dict) else None
        _need(isinstance(solver, str) and solver in OPTIMIZERS
              and OPTIMIZERS[solver].stochastic,
              f"its optimizer's solver {describe(solver)} is not a stochastic solver")
        n_params = spec.n_params
        two = OPTIMIZERS[solver].state_buffers > 1
        expected["optimizer.moment_1"] = (dtype, (n_params,))
        expected["optimizer.moment_2"] = (dtype, (n_params if two else 1,))
    random = header["random"]
    _need(isinstance(random, dict), "its random section is not a JSON object")
    if "stream" in random:
        expected["random.key"] = (np.dtype(np.uint32), (624,))
    param = header["params"].get("random_state") if isinstance(header["params"], dict) else None
    if isinstance(param, dict) and param.get("random_state") == "own":
        expected["random_state.key"] = (np.dtype(np.uint32), (624,))
    return expected


def _load_labels(estimator, record, arrays, spec):
    record = _fields(record, ("y_type", "sparse_input", "classes"), "its labels")
    y_type = record["y_type"]
    _need(y_type in _TARGET_KINDS, f"its labels' kind {describe(y_type)} is not one of "
          f"{', '.join(_TARGET_KINDS)}")
    _need(y_type == spec.target_type, f"its labels are {y_type} but its network was "
          f"built for {spec.target_type} targets")
    _need(isinstance(record["sparse_input"], bool), "its labels' sparse_input is not a bool")
    classes = _load_classes(record["classes"], arrays)
    _need(classes.ndim == 1 and classes.shape[0] >= (1 if y_type == _TARGET_KINDS[2] else 2),
          "its classes_ are not a list of at least two classes")
    try:
        ordered = bool(np.all(classes[1:] > classes[:-1]))
    except TypeError:
        ordered = False
    _need(ordered, "its classes_ are not sorted and distinct, as fit leaves them")
    binarizer = LabelBinarizer()
    binarizer.classes_ = classes
    binarizer.y_type_ = y_type
    binarizer.sparse_input_ = record["sparse_input"]
    estimator._label_binarizer = binarizer
    estimator.classes_ = classes


def _load_classes(record, arrays):
    _need(isinstance(record, dict) and "kind" in record, "its classes_ are not described")
    kind = record["kind"]
    if kind == "array":
        _fields(record, ("kind",), "its classes_")
        classes = arrays["classes_"]
        _need(classes.dtype.name in _ARRAY_DTYPES and classes.ndim == 1,
              "its classes_ array is not 1-D numbers or booleans")
        _need(classes.dtype.kind != "f" or bool(np.isfinite(classes).all()),
              "its classes_ are not finite")
        return classes
    if kind == "str":
        _fields(record, ("kind", "chars", "values"), "its classes_")
        values, chars = record["values"], record["chars"]
        _need(_is_count(chars, 1) and chars <= 1 << 20 and isinstance(values, list)
              and all(isinstance(v, str) and len(v) <= chars for v in values),
              "its classes_ are not text of the length it states")
        return np.array(values, dtype=f"<U{chars}")
    if kind == "object":
        _fields(record, ("kind", "type", "values"), "its classes_")
        types = {"str": str, "int": int, "float": float, "bool": bool}
        kind = types.get(record["type"]) if isinstance(record["type"], str) else None
        values = _decode(record["values"], "its classes_")
        _need(kind is not None and isinstance(values, list)
              and all(type(v) is kind for v in values),
              "its classes_ are not all labels of the type it states")
        _need(kind is not float or all(math.isfinite(v) for v in values),
              "its classes_ are not finite")
        classes = np.empty(len(values), dtype=object)
        classes[:] = values
        return classes
    _fail(f"its classes_ are of kind {describe(kind)}, not one fastmlp writes")


def _load_parameters(estimator, spec, arrays):
    coefs = [arrays[f"coefs_.{l}"] for l in range(spec.n_layers)]
    intercepts = [arrays[f"intercepts_.{l}"] for l in range(spec.n_layers)]
    for name, array in [(f"coefs_.{l}", a) for l, a in enumerate(coefs)] + [
            (f"intercepts_.{l}", a) for l, a in enumerate(intercepts)]:
        _need(bool(np.isfinite(array).all()), f"array {name!r} holds NaN or infinity")
    estimator._spec = spec
    estimator.n_features_in_ = spec.n_features
    estimator.n_outputs_ = spec.n_outputs
    estimator.n_layers_ = spec.n_layers + 1
    estimator.out_activation_ = spec.out_activation
    estimator._set_parameters(*pack_parameters(coefs, intercepts, spec, spec.dtype))
    if spec.n_stats:
        batch_norm = [None] * len(spec.hidden)
        for l in spec.batch_norm_layers:
            batch_norm[l] = {key: arrays[f"batch_norm_.{l}.{key}"] for key in _BN_KEYS}
        estimator._set_batch_norm(*pack_batch_norm(batch_norm, estimator._params, spec))
    estimator._best_params = estimator._params.copy()
    estimator._keep_best_state()


def _load_attributes(estimator, record, arrays, spec):
    _need(isinstance(record, dict), "its attributes are not a JSON object")
    _need(set(record) <= set(_SCALARS) | {"curves", "feature_names_in_"},
          f"its attributes include {_names(set(record) - set(_SCALARS) - {'curves', 'feature_names_in_'})}"
          ", which fastmlp does not write")
    for name in _SCALARS:
        if name in record:
            value = _decode(record[name], name)
            counts = ("n_iter_", "t_", "_no_improvement_count")
            valid = _is_count(value) if name in counts else (
                value is None or _is_number(value))
            _need(valid, f"its {name} is {describe(value)}, not "
                  f"{'a count' if name in counts else 'a number'}")
            setattr(estimator, name, value)
    for name, kind in record["curves"].items():
        setattr(estimator, name, None if kind is None else arrays[name].tolist())
        _need(kind is None or arrays[name].ndim == 1, f"its {name} is not 1-D")
    names = record.get("feature_names_in_")
    if names is not None:
        _need(isinstance(names, list) and len(names) == spec.n_features
              and all(isinstance(n, str) for n in names),
              f"its feature_names_in_ are not {spec.n_features} names")
        estimator.feature_names_in_ = np.array(names, dtype=object)


def _load_optimizer(estimator, record, arrays, spec):
    _need(isinstance(record, dict), "its optimizer state is not a JSON object")
    values = {key: _decode(value, "its optimizer state") for key, value in record.items()}
    values = _fields(values, ("solver", "hyper", "t", "mu_product", "lr_schedule",
                              "learning_rate_init", "learning_rate", "power_t", "unit",
                              "clock", "epoch", "plateau"), "its optimizer state")
    hyper = _fields(values["hyper"], ("momentum", "nesterov", "beta_1", "beta_2", "epsilon",
                                      "weight_decay", "momentum_decay", "rho",
                                      "max_grad_norm"), "its optimizer settings")
    _need(all(_is_finite(v) and v >= 0 for k, v in hyper.items() if k != "nesterov")
          and isinstance(hyper["nesterov"], bool),
          "its optimizer settings are not non-negative numbers")
    _need(isinstance(values["lr_schedule"], str) and values["lr_schedule"] in SCHEDULES
          and values["unit"] in ("epoch", "step"),
          f"its learning-rate schedule {describe(values['lr_schedule'])} is not one of "
          f"{', '.join(SCHEDULES)}")
    _need(_is_count(values["t"]) and _is_count(values["epoch"]),
          "its optimizer's step and epoch counts are not counts")
    for name in ("mu_product", "learning_rate", "learning_rate_init", "power_t"):
        _need(_is_finite(values[name]) and values[name] >= 0,
              f"its optimizer's {name} is not a non-negative number")
    clock = _fields(values["clock"], ("warmup", "warmup_start", "step_size", "gamma",
                                      "t_max", "eta_min"), "its schedule's clock")
    _need(_is_count(clock["warmup"]) and _is_count(clock["step_size"], 1)
          and _is_count(clock["t_max"], 1)
          and all(_is_finite(clock[k]) and clock[k] >= 0
                  for k in ("warmup_start", "gamma", "eta_min")),
          "its schedule's clock is out of range")
    plateau = _fields(values["plateau"], ("factor", "patience", "threshold", "best",
                                          "n_bad"), "its plateau record")
    _need(_is_finite(plateau["factor"]) and _is_count(plateau["patience"])
          and _is_finite(plateau["threshold"]) and _is_count(plateau["n_bad"])
          and (plateau["best"] is None or _is_number(plateau["best"])),
          "its plateau record is out of range")
    moments = {key: arrays[f"optimizer.{key}"] for key in ("moment_1", "moment_2")}
    _need(all(np.isfinite(m).all() for m in moments.values()),
          "its optimizer's moments hold NaN or infinity")
    squares = _SQUARES.get(values["solver"])
    _need(squares is None or not (moments[squares] < 0).any(),
          "its optimizer's average of squared gradients is negative")
    estimator._optimizer = OptimizerState.from_record(values, moments["moment_1"],
                                                      moments["moment_2"])


def _random_stream(record, key, name):
    record = _fields(record, ("pos", "has_gauss", "cached_gaussian"), f"its {name} stream")
    gauss = _decode(record["cached_gaussian"], name)
    _need(key is not None and _is_count(record["pos"]) and record["pos"] <= 624
          and record["has_gauss"] in (0, 1) and _is_finite(gauss),
          f"its {name} stream's position is out of range")
    stream = np.random.RandomState()
    try:
        stream.set_state(("MT19937", key, record["pos"], record["has_gauss"], float(gauss)))
    except (ValueError, TypeError, IndexError) as exc:
        _fail(f"its {name} stream is not a valid MT19937 state ({exc})")
    return stream


def _load_random(estimator, record, arrays, shared):
    _need(set(record) <= {"stream", "dropout_seed"},
          "its random section has fields fastmlp does not write")
    if "stream" in record:
        estimator._random_state = _random_stream(record["stream"], arrays["random.key"],
                                                 "random")
    if shared:
        _need("_random_state" in estimator.__dict__,
              "its random_state parameter shares a stream the file does not hold")
        estimator.random_state = estimator._random_state
    seed = record.get("dropout_seed")
    if seed is not None:
        _need(isinstance(seed, list) and len(seed) == 2
              and all(_is_count(v) and v < 2**32 for v in seed),
              "its dropout key is not two 32-bit integers")
        estimator._dropout_seed = tuple(seed)
