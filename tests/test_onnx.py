"""ONNX export (issue 14): `fastmlp.to_onnx` and the skl2onnx registration.

Every variant runs in onnxruntime and is compared with predict, predict_proba
or decision_function: each activation graph against the engine's kernel,
then fitted networks of every activation, loss and output type, batch norm
and dropout, in float32 and float64, then pipelines through skl2onnx.

Tolerances: rtol 1e-5 (float32) and 1e-12 (float64), with an atol of rtol
times the largest |value| compared. The atol is for outputs near 0: such an
output is a sum of larger terms whose rounding depends on the order the
products are summed in, which differs between onnxruntime's MatMul and BLAS
(about 1 ulp of the largest term).
"""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, to_onnx
from fastmlp._engine._common import Activation
from fastmlp._onnx import _standalone_graph, class_labels
from fastmlp._onnx_ops import ERF_LARGE, ERF_MIDDLE, ERF_MIDDLE_C, ERF_MIDDLE_X0, ERF_SMALL, \
    hidden_activation, output_activation
from fastmlp._registry import ACTIVATION_PARAMS, ACTIVATIONS, CLASSIFIER_LOSSES, \
    OUT_ACTIVATIONS, REGRESSOR_LOSSES

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
DEFAULTS = {name: param.default for name, param in ACTIVATION_PARAMS.items()}
# parameter values that move where a piece of an activation ends
VARIANTS = {"leaky_relu": [{"negative_slope": -0.3}],
            "elu": [{"elu_alpha": -0.5}, {"elu_alpha": 0.7}],
            "softplus": [{"softplus_beta": 2.0, "softplus_threshold": 1.0}]}
ACTIVATION_CASES = [
    pytest.param(name, {**DEFAULTS, **changed},
                 id="-".join([name] + [f"{k}={v}" for k, v in changed.items()]))
    for name in ACTIVATIONS for changed in [{}] + VARIANTS.get(name, [])]


def _session(model):
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])


def _run(model, X):
    """Every output of `model` for X, by name."""
    session = _session(model)
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X})))


def assert_close(got, expected):
    """rtol of expected's dtype, atol rtol times its largest |value|."""
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    rtol = RTOL[expected.dtype]
    assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def _X(dtype, n_samples=40, n_features=4, seed=0):
    # wide enough that the units' pre-activations reach every piece of the
    # activations (erf's three, softplus's threshold, exp's left tail)
    return (2.5 * np.random.default_rng(seed).normal(size=(n_samples, n_features))
            ).astype(dtype)


# -- each function's graph against the engine's kernel ------------------------------


def _function_graph(dtype, build):
    """An ONNX model of one elementwise function z -> build(graph, z)."""
    from onnx import helper

    g, nodes, initializers = _standalone_graph(dtype)
    out = build(g, "z")
    nodes.append(helper.make_node("Identity", [out], ["y"]))
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    graph = helper.make_graph(nodes, "f",
                              [helper.make_tensor_value_info("z", elem, [None, None])],
                              [helper.make_tensor_value_info("y", elem, [None, None])],
                              initializers)
    opsets = [helper.make_opsetid("", 13)]
    return helper.make_model(graph, opset_imports=opsets,
                             ir_version=helper.find_min_ir_version_for(opsets))


def _grid(dtype):
    """Both signs of every piece: erf's (0.75, 1.5, 6 in z / sqrt(2)),
    expm1's and log1p's near 0, exp's left tail, and 0."""
    z = np.concatenate([np.linspace(-12, 12, 241), [0.0, 1e-30, -1e-30, 1e-9, -1e-9,
                                                    1e-3, -1e-3, 50.0, -50.0, -800.0]])
    return z.reshape(-1, 1).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, params", ACTIVATION_CASES)
def test_activation_graph_matches_the_engine(dtype, name, params):
    from kernel_twins import _bias_activation_memview  # skips where a wheel lacks it

    z = _grid(dtype)
    expected = z.copy()
    values = [params[p] for p in ACTIVATIONS[name].params] + [0.0, 0.0]
    _bias_activation_memview(expected, np.zeros(1, dtype), Activation[name.upper()],
                             *values[:2])
    active = tuple((p, params[p]) for p in ACTIVATIONS[name].params)
    got = _run(_function_graph(dtype, lambda g, x: hidden_activation(g, x, name, active)),
               z)["y"]
    rtol = RTOL[np.dtype(dtype)]
    # relative, except gelu's and gelu_tanh's left tails: z (1 + erf(z / sqrt(2))) / 2
    # cancels in the engine's formula too, which leaves its result a few ulp of
    # 1 off, not of itself
    atol = rtol if name.startswith("gelu") else 0.0
    assert_allclose(got, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(OUT_ACTIVATIONS))
def test_output_activation_graph_matches_the_engine(dtype, name):
    from kernel_twins import _output_activation_memview  # skips where a wheel lacks it

    z = np.random.default_rng(0).normal(scale=8.0, size=(30, 4)).astype(dtype)
    z[0] = [-700.0, 0.0, 3.0, 1e-9]
    expected = z.copy()
    if name == "exp":
        expected = z.clip(None, 50.0)
        z = expected.copy()
    _output_activation_memview(expected, np.zeros(4, dtype), OUT_ACTIVATIONS[name])
    got = _run(_function_graph(dtype, lambda g, x: output_activation(g, x, name)), z)["y"]
    # relative, however small the value: log(predict_proba) keeps its digits
    assert_allclose(got, expected, rtol=RTOL[np.dtype(dtype)], atol=0)


def test_float64_erf_is_the_engines():
    # the graph evaluates vmath.h's polynomials: its coefficients must be
    # the ones tools/vmath_coefficients.py wrote there
    header = Path(fastmlp.__file__).parent / "_engine" / "vmath.h"
    if not header.exists():
        pytest.skip("vmath.h is not installed with the package")
    defined = dict(re.findall(r"#define (VM_ERF\w*) (\S+)", header.read_text()))

    def table(prefix):
        keys = sorted((k for k in defined if re.fullmatch(prefix + r"\d+", k)),
                      key=lambda k: int(k[len(prefix):]))
        return tuple(defined[k] for k in keys)

    assert table("VM_ERF_D") == ERF_SMALL
    assert table("VM_ERFC_D") == ERF_LARGE
    assert table("VM_ERFM_D") == ERF_MIDDLE
    assert (defined["VM_ERFM_C"], defined["VM_ERFM_X0"]) == (ERF_MIDDLE_C, ERF_MIDDLE_X0)


# -- fitted networks -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, params", ACTIVATION_CASES)
def test_every_activation(dtype, name, params):
    X = _X(dtype)
    y = X @ np.array([1.0, -2.0, 0.5, 1.0], dtype) + np.sin(X[:, 0])
    model = MLPRegressor(hidden_layer_sizes=(6, 5), activation=name, max_iter=40, random_state=0,
                         **params).fit(X, y)
    got = _run(to_onnx(model), X)["variable"]
    assert got.shape == (len(X), 1)
    assert_close(got.ravel(), model.predict(X))


@pytest.mark.parametrize("dtype", DTYPES)
def test_an_activation_and_its_parameters_per_layer(dtype):
    X = _X(dtype)
    y = np.sin(X[:, 0]) + X[:, 1]
    model = MLPRegressor(hidden_layer_sizes=(5, 6, 4, 3),
                         activation=["gelu", "softplus", "elu", "leaky_relu"],
                         softplus_beta=2.0, softplus_threshold=1.5, elu_alpha=-0.4,
                         negative_slope=0.2, max_iter=40, random_state=0).fit(X, y)
    assert_close(_run(to_onnx(model), X)["variable"].ravel(), model.predict(X))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden_layer_sizes", [(), (1,), (3, 1, 4)])
def test_no_hidden_layer_and_one_unit_layers(dtype, hidden_layer_sizes):
    # one-unit layers take the engine's narrow products (_engine/_narrow.pyx)
    X = _X(dtype)
    model = MLPClassifier(hidden_layer_sizes=hidden_layer_sizes, activation="silu",
                          max_iter=30, random_state=0)
    model.fit(X, _classification_targets("multiclass", X))
    out = _run(to_onnx(model), X)
    assert_array_equal(out["label"], model.predict(X))
    assert_close(out["probabilities"], model.predict_proba(X))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", list(REGRESSOR_LOSSES))
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_every_regression_loss(dtype, loss, n_outputs):
    X = _X(dtype)
    Y = np.exp(0.3 * X[:, :n_outputs]) if loss == "poisson" else X[:, :n_outputs] ** 2
    model = MLPRegressor(hidden_layer_sizes=(6,), loss=loss, activation="tanh", max_iter=40,
                         random_state=0).fit(X, Y.ravel() if n_outputs == 1 else Y)
    got = _run(to_onnx(model), X)["variable"]
    # one column per output: never flattened (sklearn-onnx #474)
    assert got.shape == (len(X), n_outputs)
    assert_close(got, model.predict(X).reshape(len(X), n_outputs))
    if loss == "poisson":
        assert (got > 0).all()   # the exp is there


def _classification_targets(kind, X):
    if kind == "binary":
        return np.where(X[:, 0] + X[:, 1] > 0, 7, -3)
    if kind == "multiclass":
        return np.digitize(X[:, 0] - X[:, 2], [-1.0, 0.5])
    if kind == "strings":
        return np.array(["cat", "dog", "emu"])[np.digitize(X[:, 0], [-1.0, 0.5])]
    n_labels = 2 if kind == "two-labels" else 3
    return (X[:, :n_labels] > 0).astype(int)


CLASSIFICATION = ["binary", "multiclass", "strings", "multilabel", "two-labels"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", list(CLASSIFIER_LOSSES))
@pytest.mark.parametrize("kind", CLASSIFICATION)
def test_every_classification_loss_and_target(dtype, loss, kind):
    X = _X(dtype)
    y = _classification_targets(kind, X)
    model = MLPClassifier(hidden_layer_sizes=(6,), loss=loss, activation="relu", max_iter=40,
                          random_state=0).fit(X, y)
    out = _run(to_onnx(model), X)
    assert_array_equal(out["label"], model.predict(X))
    assert out["label"].shape == model.predict(X).shape
    if CLASSIFIER_LOSSES[loss].proba:
        assert_close(out["probabilities"], model.predict_proba(X))
        return
    scores = model.decision_function(X)
    if scores.ndim == 1:
        # one column per class, as skl2onnx gives a binary linear model's scores
        scores = np.stack([-scores, scores], axis=1)
    assert_close(out["probabilities"], scores)


@pytest.mark.parametrize("classes", [[False, True], [3.0, 5.0], [-4, 0, 9]],
                         ids=["bool", "integral-floats", "ints"])
def test_labels_become_int64(classes):
    X = _X(np.float64)
    y = np.asarray(classes)[np.arange(len(X)) % len(classes)]
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0).fit(X, y)
    label = _run(to_onnx(model), X)["label"]
    assert label.dtype == np.int64
    assert_array_equal(label, model.predict(X).astype(np.int64))


@pytest.mark.parametrize("classes, match", [
    (np.array([0.5, 1.5]), "integers or strings"),
    (np.array([1, "a"], dtype=object), "integers or strings"),
    (np.array([0, 2**63], dtype=np.uint64), "above 2[*][*]63 - 1")])
def test_labels_onnx_cannot_hold_are_refused(classes, match):
    # a classifier fits none of the first two, but classes_ is the user's to edit
    with pytest.raises(ValueError, match=match):
        class_labels(classes)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_norm, dropout",
                         [(True, 0.0), ([True, False], [0.0, 0.4]), (False, 0.3)])
def test_batch_norm_folded_and_dropout_dropped(dtype, batch_norm, dropout):
    X = _X(dtype, n_samples=64)
    y = np.digitize(X[:, 0] + X[:, 1], [-1.0, 1.0])
    model = MLPClassifier(hidden_layer_sizes=(7, 5), batch_norm=batch_norm, dropout=dropout,
                          activation="selu", batch_size=16, max_iter=15,
                          random_state=0).fit(X, y)
    exported = to_onnx(model)
    ops = {node.op_type for node in exported.graph.node}
    assert "Dropout" not in ops and "BatchNormalization" not in ops
    # one product per layer: the running statistics are in the weights
    assert sum(node.op_type == "MatMul" for node in exported.graph.node) == 3
    out = _run(exported, X)
    assert_array_equal(out["label"], model.predict(X))
    assert_close(out["probabilities"], model.predict_proba(X))


@pytest.mark.parametrize("model_dtype, io_dtype", [(np.float32, np.float64),
                                                   (np.float64, np.float32)])
def test_dtype_sets_the_input_and_the_network_keeps_the_models(model_dtype, io_dtype):
    X = _X(model_dtype)
    model = MLPRegressor(hidden_layer_sizes=(6,), activation="gelu", max_iter=30,
                         random_state=0).fit(X, np.sin(X[:, 0]))
    exported = to_onnx(model, dtype=io_dtype)
    X_io = X.astype(io_dtype)
    got = _run(exported, X_io)["variable"].ravel()
    assert got.dtype == io_dtype
    # predict casts X to the model's dtype, and so does the graph; the
    # output is then cast to io_dtype
    assert_close(got.astype(np.float32), model.predict(X_io).astype(np.float32))


def test_a_later_opset_gives_the_same_predictions():
    X = _X(np.float64)
    model = MLPClassifier(hidden_layer_sizes=(5,), activation="softplus", max_iter=20,
                          random_state=0).fit(X, _classification_targets("multiclass", X))
    latest = min(onnx.defs.onnx_opset_version(), 21)
    exported = to_onnx(model, target_opset=latest)
    assert [o.version for o in exported.opset_import if o.domain == ""] == [latest]
    assert [o.version for o in to_onnx(model).opset_import] == [13]
    assert_close(_run(exported, X)["probabilities"], model.predict_proba(X))


# -- refusals -------------------------------------------------------------------------


def test_an_unfitted_model_is_refused():
    with pytest.raises(NotFittedError, match="not fitted yet.*Call fit before exporting"):
        to_onnx(MLPClassifier())


def test_other_estimators_are_refused():
    X = _X(np.float64)
    model = SklearnMLPClassifier(hidden_layer_sizes=(3,), max_iter=5).fit(X, X[:, 0] > 0)
    with pytest.raises(TypeError, match="skl2onnx.to_onnx"):
        to_onnx(model)


@pytest.mark.parametrize("kwargs, match", [({"dtype": np.int64}, "dtype must be"),
                                           ({"dtype": "float16"}, "dtype must be"),
                                           ({"target_opset": 12}, "target_opset must be"),
                                           ({"target_opset": 10**4}, "target_opset must be"),
                                           ({"target_opset": 13.0}, "target_opset must be")])
def test_bad_options_are_refused(kwargs, match):
    X = _X(np.float64)
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, X[:, 0])
    with pytest.raises(ValueError, match=match):
        to_onnx(model, **kwargs)


def test_fastmlp_does_not_import_onnx():
    code = ("import sys, fastmlp; "
            "assert not {'onnx', 'onnxruntime', 'skl2onnx'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_missing_onnx_says_how_to_install_it(monkeypatch):
    X = _X(np.float64)
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, X[:, 0])
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"fastmlp\[onnx\]"):
        to_onnx(model)


# -- skl2onnx -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def skl2onnx():
    module = pytest.importorskip("skl2onnx")
    fastmlp.register_skl2onnx()
    fastmlp.register_skl2onnx()   # again: nothing changes
    return module


@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
def test_a_pipeline_converts_with_skl2onnx(skl2onnx, loss):
    X = _X(np.float64)
    y = _classification_targets("strings", X)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        (6, 4), activation="gelu", loss=loss, batch_norm=True, batch_size=10,
        max_iter=15, random_state=0)).fit(X, y)
    out = _run(skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False}), X)
    assert_array_equal(out["label"], pipe.predict(X))
    expected = (pipe.predict_proba(X) if loss == "log_loss" else pipe.decision_function(X))
    assert_close(out["probabilities"], expected)


def test_a_float32_pipeline_with_zipmap(skl2onnx):
    X = _X(np.float64)
    y = _classification_targets("binary", X)
    pipe = make_pipeline(StandardScaler(),
                         MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0))
    pipe.fit(X, y)
    X32 = X.astype(np.float32)
    out = _run(skl2onnx.to_onnx(pipe, X32[:1]), X32)
    # skl2onnx's scaler computes in float32: labels agree, probabilities
    # to float32's rounding
    assert_array_equal(out["output_label"], pipe.predict(X))
    proba = np.array([[row[c] for c in pipe.classes_] for row in out["output_probability"]])
    assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_a_regression_pipeline_keeps_its_outputs(skl2onnx, n_outputs):
    X = _X(np.float64)
    Y = np.exp(0.3 * X[:, :n_outputs])
    pipe = make_pipeline(StandardScaler(), MLPRegressor(
        hidden_layer_sizes=(5,), loss="poisson", max_iter=20, random_state=0))
    pipe.fit(X, Y.ravel() if n_outputs == 1 else Y)
    got = _run(skl2onnx.to_onnx(pipe, X[:1]), X)["variable"]
    assert got.shape == (len(X), n_outputs)
    assert_close(got, pipe.predict(X).reshape(len(X), n_outputs))


def test_two_labels_stay_multilabel_in_skl2onnx(skl2onnx):
    X = _X(np.float32)
    Y = _classification_targets("two-labels", X)
    model = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, Y)
    out = _run(skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}), X)
    assert_array_equal(out["label"], model.predict(X))
    assert_close(out["probabilities"], model.predict_proba(X))


def test_skl2onnx_integer_input(skl2onnx):
    from skl2onnx.common.data_types import Int64TensorType

    X = np.random.default_rng(0).integers(-3, 4, size=(40, 4))
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    model.fit(X, np.sin(X[:, 0]))
    exported = skl2onnx.to_onnx(model, initial_types=[("X", Int64TensorType([None, 4]))])
    got = _run(exported, X)["variable"]
    # skl2onnx's rule: float32 outputs for a non-float input; the network
    # computes in float64, as predict does
    assert got.dtype == np.float32
    assert_close(got.ravel(), model.predict(X).astype(np.float32))


def test_skl2onnx_class_indices(skl2onnx):
    X = _X(np.float32)
    model = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    model.fit(X, _classification_targets("strings", X))
    out = _run(skl2onnx.to_onnx(model, X[:1], options={"zipmap": False, "nocl": True}), X)
    assert_array_equal(model.classes_[out["label"]], model.predict(X))


def test_skl2onnx_refuses_an_unfitted_model(skl2onnx):
    X = _X(np.float32)
    pipe = make_pipeline(StandardScaler().fit(X), MLPRegressor())
    with pytest.raises(NotFittedError, match="Call fit before exporting"):
        skl2onnx.to_onnx(pipe, X[:1])


def test_skl2onnx_refuses_an_opset_before_13(skl2onnx):
    X = _X(np.float32)
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, X[:, 0])
    with pytest.raises(RuntimeError, match="opset 13 or later"):
        skl2onnx.to_onnx(model, X[:1], target_opset=12)
