"""fastmlp's estimators registered with skl2onnx (issue 14), so that
``skl2onnx.to_onnx`` converts a Pipeline holding one.

The converter writes the graph `fastmlp._onnx.to_onnx` writes (the same
function builds both), into skl2onnx's container. A classifier goes through
skl2onnx's own classifier parser (registered by declaring the zipmap
option), so its options work as for scikit-learn's classifiers: ``zipmap``
(True, False or "columns"), ``nocl`` (labels as class indices) and
``output_class_labels``. The float outputs are float64 for a float64 input,
else float32, as skl2onnx's converters give (ONNX's ZipMap reads float32);
the network computes in the model's dtype whatever the input's type, as
predict does.

skl2onnx's own MLP converter is not used: it flattens multi-output
regression to one column (sklearn-onnx #474), knows neither poisson's exp
nor fastmlp's activations, and takes a two-label multilabel model for a
binary one.
"""
import numpy as np

from ._classifier import MLPClassifier
from ._onnx import MIN_OPSET, add_prediction, check_exportable, class_labels, \
    exported_network, label_type, output_widths
from ._onnx_ops import Graph
from ._regressor import MLPRegressor

ALIASES = {MLPClassifier: "FastmlpMLPClassifier", MLPRegressor: "FastmlpMLPRegressor"}
CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [False, True],
                      "output_class_labels": [False, True]}


def _input_dtype(variable):
    """The element type of an operator's input, as a numpy dtype."""
    from onnx.helper import tensor_dtype_to_np_dtype
    from skl2onnx.common.data_types import guess_proto_type

    return np.dtype(tensor_dtype_to_np_dtype(guess_proto_type(variable.type)))


def _io_dtype(variable):
    """The float type of the outputs: skl2onnx's guess_tensor_type, float64
    for a float64 input and float32 for any other."""
    return np.dtype(np.float64 if _input_dtype(variable) == np.float64 else np.float32)


def _tensor_type(dtype):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    return DoubleTensorType if dtype == np.float64 else FloatTensorType


def calculate_output_shapes(operator):
    """The output types and shapes of a fastmlp estimator's operator."""
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    model = operator.raw_operator
    check_exportable(model)
    spec, _, _ = exported_network(model)
    n_rows = operator.inputs[0].get_first_dimension()
    floats = _tensor_type(_io_dtype(operator.inputs[0]))
    label_columns, widths = output_widths(model)
    if spec.target_type == "continuous":
        operator.outputs[0].type = floats([n_rows, widths])
        return
    nocl = operator.scope_inst.get_options(model, dict(nocl=False))["nocl"]
    if label_columns is not None:
        operator.outputs[0].type = Int64TensorType([n_rows, label_columns])
    elif label_type(model) == "string" and not nocl:
        operator.outputs[0].type = StringTensorType([n_rows])
    else:
        operator.outputs[0].type = Int64TensorType([n_rows])
    operator.outputs[1].type = floats([n_rows, widths])


def convert(scope, operator, container):
    """Write a fastmlp estimator's prediction graph into skl2onnx's container."""
    from onnx import TensorProto, numpy_helper

    model = operator.raw_operator
    opset = container.target_opset
    if opset is not None and opset < MIN_OPSET:
        raise RuntimeError(
            f"fastmlp's ONNX graphs need opset {MIN_OPSET} or later; target_opset is "
            f"{opset}.")
    spec, _, _ = exported_network(model)
    if spec.target_type != "continuous":
        class_labels(model.classes_)   # refuse labels ONNX cannot hold, first

    def add_node(op_type, inputs, outputs, attrs):
        container.add_node(op_type, inputs, outputs,
                           name=scope.get_unique_operator_name(op_type), **attrs)

    def add_initializer(name, array):
        if array.dtype == object:
            container.add_initializer(name, TensorProto.STRING, list(array.shape),
                                      [s.encode("utf-8") for s in array.ravel()])
        else:
            container.add_initializer(name, None, None, numpy_helper.from_array(array, name))

    g = Graph(spec.dtype, scope.get_unique_variable_name, add_node, add_initializer)
    nocl = False
    if spec.target_type != "continuous":
        nocl = container.get_options(model, dict(nocl=False))["nocl"]
    X = operator.inputs[0]
    add_prediction(g, model, X.full_name, _input_dtype(X), _io_dtype(X),
                   [output.full_name for output in operator.outputs], class_indices=nocl)


def register_skl2onnx():
    """Register fastmlp's MLPClassifier and MLPRegressor with skl2onnx.

    Afterwards ``skl2onnx.to_onnx`` converts them, alone or as a step of a
    Pipeline (or any other composition skl2onnx converts), with the graph
    `to_onnx` writes. Registering again changes nothing. Needs skl2onnx
    (``pip install 'fastmlp[onnx]'``).

    A classifier takes skl2onnx's classifier options: ``zipmap`` (True,
    False or "columns"), ``nocl`` and ``output_class_labels``. The float
    outputs are float64 for a float64 input, else float32, as skl2onnx's
    converters give (ONNX's ZipMap reads float32); the network computes in
    the model's dtype, as predict does.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastmlp import MLPClassifier, register_skl2onnx
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    >>> pipe = make_pipeline(StandardScaler(), MLPClassifier(
    ...     hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)).fit(X, [0, 1, 1, 0])
    >>> register_skl2onnx()                                     # doctest: +SKIP
    >>> import skl2onnx                                         # doctest: +SKIP
    >>> onx = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})  # doctest: +SKIP
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:
        raise ImportError("Registering fastmlp with skl2onnx needs skl2onnx: "
                          "pip install 'fastmlp[onnx]'") from exc
    # declaring zipmap makes skl2onnx parse the classifier with its own
    # classifier parser: outputs label and probabilities, then its ZipMap
    update_registered_converter(MLPClassifier, ALIASES[MLPClassifier],
                                calculate_output_shapes, convert,
                                options=CLASSIFIER_OPTIONS)
    update_registered_converter(MLPRegressor, ALIASES[MLPRegressor],
                                calculate_output_shapes, convert)
