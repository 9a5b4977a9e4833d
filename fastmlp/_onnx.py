"""ONNX export (issue 14): `to_onnx`, and the graph of a fitted estimator's
predictions that it and the skl2onnx converter (fastmlp/_onnx_skl2onnx.py)
both write.

The graph is the network predictions run: batch norm folded into the
weights as predict folds it (the same folded arrays), dropout absent, each
layer ``f(A @ W + b)`` in the model's dtype (the dtype it was fitted in),
the output layer's activation the model's ``out_activation_``. Its outputs
follow skl2onnx's conventions for scikit-learn models, so that a graph of
ours reads like skl2onnx's and pipelines chain:

- regressors: ``variable``, shape (n_samples, n_outputs), predict's values
  (one column for a single output, as skl2onnx's regressors give);
- classifiers: ``label`` (predict: classes_ as int64 or strings, or the
  int64 indicator matrix of a multilabel model) and ``probabilities``
  (predict_proba; for the hinge losses, whose outputs are scores,
  decision_function's scores: one column per class, [-s, s] for binary
  targets).

onnx is imported when a graph is built, never when fastmlp is.
"""
import itertools
from numbers import Integral

import numpy as np
from sklearn.exceptions import NotFittedError

from ._base import BaseMultilayerPerceptron
from ._onnx_ops import Graph, hidden_activation, output_activation
from ._parameters import parameter_views

# Opset 13: Softmax over one axis and every operator used here in its
# current form (none changed since, so any later opset gets the same graph).
MIN_OPSET = 13

_INSTALL = "pip install 'fastmlp[onnx]'"


def import_onnx():
    """The onnx package, or an ImportError that says how to get it."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"ONNX export needs the onnx package: {_INSTALL}") from exc
    return onnx


# -- what a model exports --------------------------------------------------------


def check_exportable(model):
    """Refuse what to_onnx cannot export, in the user's terms."""
    if not isinstance(model, BaseMultilayerPerceptron):
        raise TypeError(
            f"to_onnx exports fastmlp's MLPClassifier and MLPRegressor, got "
            f"{type(model).__name__}. For scikit-learn's own estimators and for "
            "pipelines, use skl2onnx.to_onnx (after fastmlp.register_skl2onnx() when "
            "the pipeline holds a fastmlp estimator).")
    if "coefs_" not in model.__dict__:
        raise NotFittedError(
            f"This {type(model).__name__} is not fitted yet: there is no network to "
            "export. Call fit before exporting it to ONNX.")


def exported_network(model):
    """The network predictions run, as arrays: (spec, coefs, intercepts),
    batch norm folded (the same folded arrays predict uses), in the model's
    dtype."""
    network, params = model._inference_engine()
    coefs, intercepts = parameter_views(params, network.spec)
    return network.spec, coefs, intercepts


def class_labels(classes):
    """classes_ as an ONNX label tensor's values: int64 for integer (or
    boolean, or integral float) labels, else strings; skl2onnx's rule."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        if classes.dtype.kind == "u" and classes.size and classes.max() > np.iinfo(np.int64).max:
            raise ValueError("ONNX labels are int64: classes_ holds integers above "
                             "2**63 - 1. Fit with smaller labels, or string labels.")
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if np.all(np.isfinite(classes)) and np.all(classes == np.round(classes)) \
                and np.all(np.abs(classes) < 2.0**63):
            return classes.astype(np.int64)
        raise ValueError(
            f"ONNX class labels are integers or strings (as skl2onnx's), but classes_ "
            f"holds the floats {classes.tolist()}. Fit with integer or string labels.")
    values = classes.tolist()
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    raise ValueError(
        f"ONNX class labels are integers or strings, but classes_ holds "
        f"{sorted({type(v).__name__ for v in values})}. Fit with integer or string labels.")


def check_dtype(dtype, model_dtype):
    """The input and output float type asked for (None: the model's)."""
    if dtype is None:
        return np.dtype(model_dtype)
    try:
        checked = np.dtype(dtype)
    except TypeError:
        checked = None
    if checked not in (np.float32, np.float64):
        raise ValueError(f"dtype must be None (the model's), numpy.float32 or "
                         f"numpy.float64, got {dtype!r}.")
    return checked


def check_opset(target_opset):
    """The main opset asked for (None: MIN_OPSET)."""
    onnx = import_onnx()
    latest = onnx.defs.onnx_opset_version()
    if target_opset is None:
        return MIN_OPSET
    if isinstance(target_opset, bool) or not isinstance(target_opset, Integral) \
            or not MIN_OPSET <= target_opset <= latest:
        raise ValueError(
            f"target_opset must be an integer from {MIN_OPSET} to {latest} (the installed "
            f"onnx's latest), got {target_opset!r}.")
    return int(target_opset)


# -- the prediction graph --------------------------------------------------------


def network_output(g, spec, coefs, intercepts, X):
    """The output layer's activations for the rows X (in g's dtype): each
    layer f(A @ W + b), as the engine adds b after the product."""
    A = X
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = g.op("Add", g.op("MatMul", A, g.constant(W)), g.constant(b))
        if layer < len(spec.hidden):
            hidden = spec.hidden[layer]
            A = hidden_activation(g, Z, hidden.activation, hidden.activation_params)
        else:
            A = output_activation(g, Z, spec.out_activation)
    return A


def _output(g, name, dtype, output):
    """The graph output `output`: the value `name` cast to dtype (an Identity
    where the type stays)."""
    from onnx.helper import np_dtype_to_tensor_dtype

    if dtype == g.dtype:
        return g.op("Identity", name, output=output)
    return g.op("Cast", name, output=output, to=np_dtype_to_tensor_dtype(np.dtype(dtype)))


def add_prediction(g, model, X, X_dtype, io_dtype, outputs, class_indices=False):
    """Nodes that compute `model`'s predictions from the input X.

    Parameters
    ----------
    g : Graph
        In the model's dtype.
    model : fitted fastmlp estimator
    X : str
        The input, cast to the model's dtype first, as predict casts X.
    X_dtype : numpy dtype
        X's element type.
    io_dtype : numpy dtype
        The type of the float outputs.
    outputs : list of str
        The names to give the outputs: [variable] for a regressor, [label,
        probabilities] for a classifier.
    class_indices : bool
        Labels as class indices instead of classes_ (skl2onnx's nocl).
    """
    from onnx import TensorProto
    from onnx.helper import np_dtype_to_tensor_dtype

    spec, coefs, intercepts = exported_network(model)
    if X_dtype != g.dtype:
        X = g.op("Cast", X, to=np_dtype_to_tensor_dtype(g.dtype))
    output = network_output(g, spec, coefs, intercepts, X)
    if spec.target_type == "continuous":
        _output(g, output, io_dtype, outputs[0])
        return
    label, probabilities = outputs
    if spec.target_type == "multiclass":
        index = g.op("ArgMax", output, axis=1, keepdims=0)
        scores = output
    else:
        # LabelBinarizer's threshold: 0.5 for probabilities, 0 for scores
        threshold = 0.5 if spec.out_activation == "logistic" else 0.0
        index = g.op("Cast", g.greater(output, threshold), to=TensorProto.INT64)
        if spec.target_type == "binary":
            index = g.op("Reshape", index, g.constant([-1], np.int64))
            other = (g.sub(1.0, output) if spec.out_activation == "logistic"
                     else g.op("Neg", output))
            scores = g.op("Concat", other, output, axis=1)
        else:
            scores = output
    if spec.target_type == "multilabel-indicator" or class_indices:
        g.op("Identity", index, output=label)
    else:
        labels = class_labels(model.classes_)
        g.op("Gather", g.constant(labels, labels.dtype), index, axis=0, output=label)
    _output(g, scores, io_dtype, probabilities)


def label_type(model):
    """"int64" or "string": the element type of a classifier's label output."""
    if model._label_binarizer.y_type_ == "multilabel-indicator":
        return "int64"
    return "string" if class_labels(model.classes_).dtype == object else "int64"


def output_widths(model):
    """(label columns or None for a vector, probabilities' columns) of a
    classifier; (None, n_outputs) of a regressor."""
    spec, _, _ = exported_network(model)
    if spec.target_type == "continuous":
        return None, spec.n_outputs
    if spec.target_type == "binary":
        return None, 2
    if spec.target_type == "multiclass":
        return None, spec.n_outputs
    return spec.n_outputs, spec.n_outputs


# -- to_onnx ---------------------------------------------------------------------


def _standalone_graph(dtype):
    """A Graph that keeps its nodes and initializers in two lists."""
    from onnx import helper, numpy_helper

    nodes, initializers = [], []
    counter = itertools.count()

    def new_name(hint):
        return f"{hint}_{next(counter)}"

    def add_node(op_type, inputs, outputs, attrs):
        nodes.append(helper.make_node(op_type, inputs, outputs, name=new_name(op_type),
                                      **attrs))

    def add_initializer(name, array):
        initializers.append(numpy_helper.from_array(array, name))

    return Graph(dtype, new_name, add_node, add_initializer), nodes, initializers


def to_onnx(model, *, dtype=None, target_opset=None):
    """Export a fitted fastmlp estimator as an ONNX model.

    The graph computes what ``predict`` (and ``predict_proba`` or
    ``decision_function``) compute, in the model's dtype: the same weights
    (batch norm folded as predictions fold it, dropout absent), every
    activation with its parameters, the output layer of the loss. Needs the
    onnx package (``pip install 'fastmlp[onnx]'``); run it with
    onnxruntime, for example.

    Parameters
    ----------
    model : fitted MLPClassifier or MLPRegressor
    dtype : {None, numpy.float32, numpy.float64}, default=None
        The type of the input ``X`` and of the float outputs; None: the
        model's (the dtype it was fitted in). The graph computes in the
        model's dtype whatever this is, casting X as ``predict`` casts it.
    target_opset : int, default=None
        The ONNX opset (13 or later); None: 13, which runtimes from
        onnxruntime 1.7 on run.

    Returns
    -------
    onnx.ModelProto
        Input ``X`` of shape (n_samples, n_features). A regressor's output
        ``variable`` is of shape (n_samples, n_outputs). A classifier's
        outputs are ``label`` (predict's labels: int64 for integer
        classes_, else strings; for a multilabel model the int64 indicator
        matrix) and ``probabilities`` (predict_proba's; with
        loss='hinge' or 'squared_hinge', decision_function's scores, one
        column per class, [-s, s] for binary targets), as skl2onnx names a
        classifier's outputs with ``zipmap=False``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmlp import MLPClassifier, to_onnx
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    >>> clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs",
    ...                     random_state=0).fit(X, [0, 1, 1, 0])
    >>> onx = to_onnx(clf)                                  # doctest: +SKIP
    >>> import onnxruntime                                  # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession(onx.SerializeToString())  # doctest: +SKIP
    >>> label, proba = session.run(None, {"X": X})          # doctest: +SKIP
    """
    onnx = import_onnx()
    from onnx import helper

    check_exportable(model)
    spec, _, _ = exported_network(model)
    if spec.target_type != "continuous":
        class_labels(model.classes_)   # refuse labels ONNX cannot hold, first
    model_dtype = np.dtype(spec.dtype)
    io_dtype = check_dtype(dtype, model_dtype)
    opset = check_opset(target_opset)

    g, nodes, initializers = _standalone_graph(model_dtype)
    io_type = helper.np_dtype_to_tensor_dtype(io_dtype)
    inputs = [helper.make_tensor_value_info("X", io_type, [None, spec.n_features])]
    label_columns, widths = output_widths(model)
    if spec.target_type == "continuous":
        names = ["variable"]
        outputs = [helper.make_tensor_value_info("variable", io_type, [None, widths])]
    else:
        names = ["label", "probabilities"]
        label_elem = (onnx.TensorProto.STRING if label_type(model) == "string"
                      else onnx.TensorProto.INT64)
        label_shape = [None] if label_columns is None else [None, label_columns]
        outputs = [helper.make_tensor_value_info("label", label_elem, label_shape),
                   helper.make_tensor_value_info("probabilities", io_type, [None, widths])]
    add_prediction(g, model, "X", io_dtype, io_dtype, names)

    graph = helper.make_graph(nodes, type(model).__name__, inputs, outputs, initializers)
    opset_ids = [helper.make_opsetid("", opset)]
    from . import __version__

    return helper.make_model(
        graph, opset_imports=opset_ids, producer_name="fastmlp",
        producer_version=__version__,
        ir_version=helper.find_min_ir_version_for(opset_ids),
        doc_string=f"fastmlp {type(model).__name__}: {_describe(spec)}")


def _describe(spec):
    """One line: the layers and the loss."""
    layers = ", ".join(f"{layer.units} {layer.activation}" for layer in spec.hidden)
    return (f"{spec.n_features} inputs, hidden layers [{layers}], {spec.n_outputs} "
            f"{spec.out_activation} outputs (loss={spec.loss!r}, {spec.dtype})")
