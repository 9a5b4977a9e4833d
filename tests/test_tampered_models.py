"""A fitted model whose attributes were changed (issue 10).

The README lets users replace ``coefs_`` and ``intercepts_``, and nothing
stops them from assigning any other fitted attribute or changing settings
between warm starts. Whatever was changed, every method either gives the
right answer for the model as it now stands (checked against a plain-NumPy
forward pass) or refuses with a ValueError, TypeError or AttributeError
naming what was changed: never a crash, an engine error ("buffers of the
wrong size"), an IndexError from deep inside, or a silent wrong answer.

FASTMLP_TAMPER_EXAMPLES sets the number of hypothesis examples (default 300).
"""
import copy
import os
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import accuracy_score, r2_score

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._registry import ACTIVATION_PARAMS, activation_name
from numpy_reference import HIDDEN, OUTPUT_ACTIVATION

N_EXAMPLES = int(os.environ.get("FASTMLP_TAMPER_EXAMPLES", "300"))

RNG = np.random.RandomState(0)
X = RNG.randn(30, 4)
Y = {
    "binary": np.arange(30) % 2,
    "multiclass": np.array(["a", "b", "c"])[np.arange(30) % 3],
    "multilabel": (RNG.rand(30, 3) > 0.5).astype(int),
    "regression": X @ [1.0, -2.0, 0.5, 0.0],
    "regression2": np.c_[X @ [1.0, -2.0, 0.5, 0.0], X[:, 0]],
    "poisson": RNG.poisson(2.0, size=30).astype(float),
}
KINDS = list(Y)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _fitted(kind, hidden=(3,), dtype=np.float64):
    params = dict(hidden_layer_sizes=hidden, max_iter=5, random_state=0)
    if kind in ("binary", "multiclass", "multilabel"):
        model = MLPClassifier(**params)
    else:
        model = MLPRegressor(loss="poisson" if kind == "poisson" else "squared_error", **params)
    return _quiet(model.fit, X.astype(dtype), Y[kind])


MODELS = {(kind, hidden): _fitted(kind, hidden) for kind in KINDS for hidden in [(3,), (3, 2)]}


# --------------------------------------------------------------- reference

_OUTPUT = {"identity": OUTPUT_ACTIVATION["squared_error"],
           "exp": OUTPUT_ACTIVATION["poisson"],
           "logistic": OUTPUT_ACTIVATION["binary_log_loss"],
           "softmax": OUTPUT_ACTIVATION["log_loss"]}


def _reference(model, X_in):
    """The output layer for X_in, from the model's attributes as they now
    are, in float64 NumPy."""
    A = np.asarray(X_in, dtype=np.float64)
    coefs, intercepts = list(model.coefs_), list(model.intercepts_)
    names = ([model.activation] * (len(coefs) - 1) if isinstance(model.activation, str)
             else list(model.activation))
    p = {name: getattr(model, name) for name in ACTIVATION_PARAMS}
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = A @ np.asarray(W, dtype=np.float64) + np.asarray(b, dtype=np.float64)
        A = HIDDEN[activation_name(names[i])][0](Z, p) if i < len(coefs) - 1 else Z
    return _OUTPUT[model.out_activation_](A)


def _tolerance(model):
    return 1e-4 if np.asarray(model.coefs_[0]).dtype == np.float32 else 1e-9


def _assert_outputs_are_the_models(model, out):
    """out (predict's or predict_proba's) is what the model computes."""
    reference = _reference(model, X)
    rtol = _tolerance(model)
    if isinstance(model, MLPRegressor):
        assert_allclose(out.reshape(reference.shape), reference, rtol=rtol, atol=rtol)
        return
    if reference.shape[1] == 1:
        reference = np.hstack([1 - reference, reference])
    assert_allclose(out, reference, rtol=rtol, atol=rtol)


def _labels_from(model, proba):
    classes = model._label_binarizer.classes_
    kind = model._label_binarizer.y_type_
    if kind == "multiclass":
        return classes[proba.argmax(axis=1)]
    if kind == "binary":
        return classes[(proba[:, 1] > 0.5).astype(int)]
    return (proba > 0.5).astype(int)


def _assert_model_is_right(model):
    """Every prediction method agrees with the model's attributes."""
    if isinstance(model, MLPClassifier) and not hasattr(model, "predict_proba"):
        # loss set to a hinge after a log_loss fit: the outputs stay the
        # fitted probabilities, predict reads them so, decision_function
        # (scores) refuses, naming the loss
        with pytest.raises(ValueError, match="fitted with loss='log_loss'"):
            model.decision_function(X)
        reference = _reference(model, X)
        if reference.shape[1] == 1:
            reference = np.hstack([1 - reference, reference])
        assert_array_equal(model.predict(X), _labels_from(model, reference))
    elif isinstance(model, MLPClassifier):
        proba = model.predict_proba(X)
        _assert_outputs_are_the_models(model, proba)
        assert_array_equal(model.predict(X), _labels_from(model, proba))
        assert np.isfinite(proba).all()
    else:
        out = model.predict(X)
        _assert_outputs_are_the_models(model, out)
        assert np.isfinite(out).all()


# -------------------------------------------- each change, and what it says


def _set(**attributes):
    def tamper(model):
        for name, value in attributes.items():
            setattr(model, name, value)
    return tamper


def _edit(fn):
    def tamper(model):
        fn(model)
    return tamper


def _delete(name):
    def tamper(model):
        delattr(model, name)
    return tamper


def _predict(model):
    return model.predict(X)


def _proba(model):
    return model.predict_proba(X)


def _sparse_predict(model):
    return model.predict(sp.csr_matrix(X))


def _partial_fit(kind):
    def call(model):
        return _quiet(model.partial_fit, X, Y[kind])
    return call


def _warm_fit(kind):
    def call(model):
        model.set_params(warm_start=True)
        return _quiet(model.fit, X, Y[kind])
    return call


def _pickled_predict(model):
    return pickle.loads(pickle.dumps(model)).predict(X)


def _add_identity_layer(model):
    model.coefs_.insert(1, np.eye(3))
    model.intercepts_.insert(1, np.zeros(3))
    model.n_layers_ += 1


# (name, model kind, change, call, expected exception, words of its message)
TAMPERED = [
    ("coefs_ of another output width", "multiclass",
     _set(coefs_=[np.ones((4, 3)), np.ones((3, 2))], intercepts_=[np.ones(3), np.ones(2)]),
     _predict, ValueError, "coefs_[-1] has 2 columns, one per output, but the model has 3"),
    ("coefs_ of another output width, predict_proba", "binary",
     _set(coefs_=[np.ones((4, 3)), np.ones((3, 2))], intercepts_=[np.ones(3), np.ones(2)]),
     _proba, ValueError, "coefs_[-1] has 2 columns"),
    ("n_outputs_ changed (classifier)", "multiclass", _set(n_outputs_=2), _predict, ValueError,
     "n_outputs_ is 2, but this model has 3 outputs (one per class in classes_ ['a', 'b', 'c'])"),
    ("n_outputs_ changed (regressor)", "regression", _set(n_outputs_=2), _predict, ValueError,
     "coefs_[-1] has 1 column, one per output, but the model has 2 outputs (n_outputs_)"),
    ("n_outputs_ changed, then partial_fit", "regression", _set(n_outputs_=2),
     _partial_fit("regression"), ValueError, "n_outputs_"),
    ("coefs_ = []", "binary", _set(coefs_=[]), _predict, ValueError, "coefs_ is empty"),
    ("coefs_ = [], then pickled", "binary", _set(coefs_=[]), _pickled_predict, ValueError,
     "coefs_ is empty"),
    ("coefs_ = None", "regression", _set(coefs_=None), _predict, TypeError,
     "coefs_ is None (a NoneType); it must be a list of arrays"),
    ("coefs_ a 2-D array", "regression", _edit(lambda m: setattr(m, "coefs_", m.coefs_[0])),
     _predict, TypeError, "it must be a list of arrays"),
    ("intercepts_ one short", "multiclass", _edit(lambda m: m.intercepts_.pop()), _predict,
     ValueError, "coefs_ holds 2 weight matrices but intercepts_ holds 1 vector;"),
    ("coefs_ that do not chain", "regression",
     _edit(lambda m: m.coefs_.__setitem__(1, np.ones((4, 1)))), _predict, ValueError,
     "coefs_[1] has shape (4, 1), but coefs_[0] has shape (4, 3)"),
    ("an intercept of the wrong length", "regression",
     _edit(lambda m: m.intercepts_.__setitem__(0, np.ones(4))), _predict, ValueError,
     "intercepts_[0] has shape (4,), but coefs_[0] gives that layer 3 units"),
    ("a 1-D weight matrix", "regression",
     _edit(lambda m: m.coefs_.__setitem__(1, np.ones(3))), _predict, ValueError,
     "coefs_[1] has shape (3,); it must be 2-D"),
    ("weights of text", "binary",
     _edit(lambda m: m.coefs_.__setitem__(0, np.full((4, 3), "1.5"))), _predict, TypeError,
     "coefs_[0] has dtype <U3; weights and intercepts must be real numbers"),
    ("complex weights", "binary",
     _edit(lambda m: m.coefs_.__setitem__(0, m.coefs_[0] + 1j)), _predict, TypeError,
     "coefs_[0] has dtype complex128"),
    ("weights of objects that are not numbers", "binary",
     _edit(lambda m: m.coefs_.__setitem__(0, np.array([[{}] * 3] * 4, dtype=object))),
     _predict, TypeError,
     "coefs_[0] is not an array of real numbers"),
    ("NaN output weights, assigned", "multiclass",
     _edit(lambda m: m.coefs_.__setitem__(1, np.full((3, 3), np.nan))), _predict, ValueError,
     "coefs_[1] holds NaN or infinity"),
    ("NaN output weights, edited in place", "multiclass",
     _edit(lambda m: m.coefs_[1].__setitem__((0, 0), np.nan)), _proba, ValueError,
     "coefs_[1] holds NaN or infinity: the model's weights were set or edited"),
    ("an infinite output intercept, edited in place", "regression",
     _edit(lambda m: m.intercepts_[1].__setitem__(0, np.inf)), _predict, ValueError,
     "intercepts_[1] holds NaN or infinity"),
    ("NaN hidden weights under tanh, edited in place", "regression",
     _edit(lambda m: (m.set_params(activation="tanh"), m.coefs_[0].__setitem__((0, 0), np.nan))),
     _predict, ValueError, "coefs_[0] holds NaN or infinity"),
    ("NaN weights, then a warm start", "regression",
     _edit(lambda m: m.coefs_[0].__setitem__((0, 0), np.nan)), _warm_fit("regression"),
     ValueError, "coefs_[0] holds NaN or infinity"),
    ("NaN weights, then partial_fit", "multiclass",
     _edit(lambda m: m.intercepts_[1].__setitem__(0, np.nan)), _partial_fit("multiclass"),
     ValueError, "intercepts_[1] holds NaN or infinity"),
    ("a first layer narrower than the features", "binary",
     _set(coefs_=[np.ones((3, 3)), np.ones((3, 1))]), _predict, ValueError,
     "coefs_[0] has 3 rows, one per input feature, but the model takes 4 features"),
    ("a first layer narrower than the features, sparse X", "binary",
     _set(coefs_=[np.ones((3, 3)), np.ones((3, 1))]), _sparse_predict, ValueError,
     "coefs_[0] has 3 rows"),
    ("n_features_in_ changed", "regression", _set(n_features_in_=3), _predict, ValueError,
     "but the model takes 3 features (n_features_in_"),
    ("n_features_in_ as text", "regression", _set(n_features_in_="4"), _predict, TypeError,
     "n_features_in_ is '4' (a str); fit sets it to an int"),
    ("n_outputs_ negative", "regression", _set(n_outputs_=-1), _predict, ValueError,
     "n_outputs_ is -1 (an int); fit sets it to an int of at least 1"),
    ("n_layers_ changed", "multiclass", _set(n_layers_=5), _predict, ValueError,
     "n_layers_ is 5, but the network has 3 layers"),
    ("a layer added", "regression", _add_identity_layer, _predict, ValueError,
     "coefs_ holds 3 weight matrices, but this model has 2: assigning coefs_ can change the "
     "layers' widths, not their number"),
    ("an unknown activation", "binary", _set(activation="softmax"), _predict, ValueError,
     "activation is 'softmax' (a str); it must be one of"),
    ("an activation list one longer", "binary", _set(activation=["relu", "tanh"]), _predict,
     ValueError, "activation lists 2 names, but the fitted network has 1 hidden layer"),
    ("an activation list one longer, then partial_fit", "regression",
     _set(activation=["relu", "tanh"]), _partial_fit("regression"), ValueError,
     "activation lists 2 names, but hidden_layer_sizes=[3] has 1 hidden layer"),
    ("an unknown name in an activation list", "regression", _set(activation=["softmax"]),
     _predict, ValueError, "activation[0] is 'softmax' (a str); each name must be one of"),
    ("an activation list edited in place", "regression",
     _edit(lambda m: (m.set_params(activation=["gelu"]), m.activation.append("relu"))),
     _predict, ValueError, "activation lists 2 names"),
    ("an activation parameter out of range", "regression",
     _set(activation="softplus", softplus_beta=-1.0), _predict, ValueError,
     "softplus_beta is -1.0 (a float); it must be a float in the range (0.0, inf)"),
    ("an activation parameter as text", "binary",
     _set(activation="leaky_relu", negative_slope="0.1"), _proba, ValueError,
     "negative_slope is '0.1' (a str)"),
    ("out_activation_ of a regressor on a classifier", "multiclass",
     _set(out_activation_="identity"), _proba, ValueError,
     "out_activation_ is 'identity' (a str), but for its multiclass targets the output layer "
     "is 'softmax' (loss='log_loss')"),
    ("an unknown out_activation_", "regression", _set(out_activation_="softplus"), _predict,
     ValueError, "the output layer is 'identity' (loss='squared_error') or 'exp' "
     "(loss='poisson')"),
    ("out_activation_ changed, then partial_fit", "regression", _set(out_activation_="exp"),
     _partial_fit("regression"), ValueError,
     "out_activation_ is 'exp', but loss='squared_error' trains an output layer 'identity'"),
    ("out_activation_ deleted", "regression", _delete("out_activation_"), _predict,
     AttributeError, "This MLPRegressor has no out_activation_, which fit sets"),
    ("classes_ shortened", "multiclass", _edit(lambda m: setattr(m, "classes_", m.classes_[:2])),
     _predict, ValueError, "classes_ is array(['a', 'b']"),
    ("classes_ renamed", "multiclass", _set(classes_=np.array(["x", "y", "z"])), _predict,
     ValueError, "To rename the classes, map the predictions"),
    ("classes_ = None", "binary", _set(classes_=None), _predict, ValueError, "classes_ is None"),
    ("classes_ = None, then partial_fit", "binary", _set(classes_=None), _partial_fit("binary"),
     ValueError, "classes_ is None"),
    ("the label encoder replaced", "binary", _set(_label_binarizer=None), _predict, ValueError,
     "label encoder"),
    ("float32 model given float64 weights beyond float32's range", "binary float32",
     _edit(lambda m: m.coefs_.__setitem__(1, np.full((3, 1), 1e300))),
     lambda m: m.predict(X.astype(np.float32)), ValueError,
     "coefs_[1] holds values up to 1e+300, beyond the range of float32"),
    ("t_ as text, then partial_fit", "regression", _set(t_="many"), _partial_fit("regression"),
     TypeError, "t_ is 'many' (a str)"),
    ("loss_curve_ = None, then a warm start", "regression", _set(loss_curve_=None),
     _warm_fit("regression"), TypeError, "loss_curve_ is None"),
    ("best_loss_ as text, then partial_fit", "regression", _set(best_loss_="low"),
     _partial_fit("regression"), TypeError, "best_loss_ is 'low'"),
    ("loss changed on a classifier", "binary", _set(loss="squared_error"), _warm_fit("binary"),
     ValueError, "The 'loss' parameter of MLPClassifier must be a str among"),
    ("loss switched to hinge on a log_loss classifier", "binary", _set(loss="hinge"),
     _warm_fit("binary"), ValueError,
     "loss is 'hinge', but this model was fitted with loss='log_loss'"),
    ("loss switched to hinge, then decision_function", "multiclass", _set(loss="hinge"),
     lambda m: m.decision_function(X), ValueError,
     "decision_function needs a model fitted with loss='hinge', but this one was fitted "
     "with loss='log_loss', whose outputs are probabilities"),
    ("the binary output layer switched to scores", "binary",
     _set(out_activation_="identity"), _predict, ValueError,
     "for its binary targets the output layer is 'logistic' (loss='log_loss')"),
]


@pytest.mark.parametrize("name, kind, tamper, call, error, words", TAMPERED,
                         ids=[case[0] for case in TAMPERED])
def test_a_changed_model_is_refused_in_the_users_terms(name, kind, tamper, call, error, words):
    if kind.endswith(" float32"):
        model = _fitted(kind.split()[0], dtype=np.float32)
    else:
        model = copy.deepcopy(MODELS[kind, (3,)])
    tamper(model)
    with pytest.raises(error) as info:
        call(model)
    assert words in str(info.value), str(info.value)


# ------------------------------------------------------ changes that work


def _widen_outputs(model):
    model.coefs_[-1] = np.hstack([model.coefs_[-1], -model.coefs_[-1]])
    model.intercepts_[-1] = np.r_[model.intercepts_[-1], 0.5]
    model.n_outputs_ = 2


VALID = [
    ("coefs_ as a tuple", "multiclass", lambda m: setattr(m, "coefs_", tuple(m.coefs_))),
    ("coefs_ as nested lists", "regression",
     lambda m: setattr(m, "coefs_", [W.tolist() for W in m.coefs_])),
    ("integer weights", "binary",
     lambda m: setattr(m, "coefs_", [np.round(W * 3).astype(int) for W in m.coefs_])),
    ("float32 weights on a float64 model", "multilabel",
     lambda m: setattr(m, "coefs_", [W.astype(np.float32) for W in m.coefs_])),
    ("another activation", "regression", lambda m: m.set_params(activation="tanh")),
    ("an activation list", "multiclass", lambda m: m.set_params(activation=["gelu"])),
    ("an activation and its parameter", "regression",
     lambda m: m.set_params(activation=("elu",), elu_alpha=-0.5)),
    ("a wider output, with n_outputs_", "regression", _widen_outputs),
    ("classes_ as a list of the same classes", "multiclass",
     lambda m: setattr(m, "classes_", list(m.classes_))),
    ("the output layer switched to Poisson's", "regression",
     lambda m: setattr(m, "out_activation_", "exp")),
]


@pytest.mark.parametrize("name, kind, change", VALID, ids=[case[0] for case in VALID])
def test_a_consistent_change_gives_the_changed_models_answers(name, kind, change):
    model = copy.deepcopy(MODELS[kind, (3,)])
    change(model)
    _assert_model_is_right(model)
    _assert_model_is_right(pickle.loads(pickle.dumps(model)))
    # coefs_ are views of the model again, so in-place edits count
    model.coefs_[-1][...] *= 2
    _assert_model_is_right(model)


# ---------------------------------------------------- random changes


def _layer_variants(array, output_layer):
    """Ways to replace one weight matrix or intercept vector."""
    variants = {
        "transposed": lambda a: a.T.copy(),
        "extra row": lambda a: np.concatenate([a, a[:1]]),
        "extra column": lambda a: np.concatenate([a, a[..., :1]], axis=-1),
        "flattened": lambda a: a.ravel().copy(),
        "3-D": lambda a: a[None].copy(),
        "int": lambda a: np.round(a * 4).astype(np.int32),
        "float16": lambda a: a.astype(np.float16),
        "float32": lambda a: a.astype(np.float32),
        "bool": lambda a: a > 0,
        "complex": lambda a: a.astype(complex),
        "text": lambda a: a.astype(str),
        "objects": lambda a: a.astype(object),
        "NaN": lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.nan, a),
        "inf": lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.inf, a),
        "huge": lambda a: a * 1e300,
        "nested lists": lambda a: a.tolist(),
        "None": lambda a: None,
        "a string": lambda a: "weights",
        "a number": lambda a: 3.0,
        "empty": lambda a: a[:0],
    }
    if output_layer:
        # hidden NaN under relu is the engine's to report (activations that
        # propagate NaN); an output layer's NaN always reaches the output
        variants["NaN in place"] = "in place"
    return variants


def _sequence_variants(model):
    return {
        "None": lambda: None,
        "[]": lambda: [],
        "tuple": lambda: tuple(model.coefs_),
        "one short": lambda: list(model.coefs_)[:-1],
        "one more": lambda: list(model.coefs_) + [np.ones((1, 1))],
        "an array": lambda: np.asarray(model.coefs_[0]),
        "a dict": lambda: dict(enumerate(model.coefs_)),
    }


@st.composite
def changes(draw, model):
    """A list of (description, names the error may give, change function)."""
    moves = []
    for _ in range(draw(st.integers(1, 3))):
        move = draw(st.sampled_from(["layer", "list", "count", "out_activation_", "activation",
                                     "activation parameter", "labels", "loss", "hidden_layer_sizes", "delete",
                                     "training state"]))
        if move == "layer":
            name = draw(st.sampled_from(["coefs_", "intercepts_"]))
            index = draw(st.integers(0, len(model.coefs_) - 1))
            variants = _layer_variants(None, index == len(model.coefs_) - 1)
            variant = draw(st.sampled_from(sorted(variants)))

            def change(m, name=name, index=index, variant=variant, variants=variants):
                arrays = getattr(m, name)
                if not isinstance(arrays, list) or index >= len(arrays):
                    return
                if variants[variant] == "in place":
                    np.asarray(arrays[index]).ravel()[:1] = np.nan
                else:
                    arrays[index] = variants[variant](np.asarray(arrays[index]))
            # weights so large that the output overflows are reported as
            # such, or as training's non-finite parameters
            words = ("coefs_", "intercepts_") + (
                ("not finite", "non-finite") if variant == "huge" else ())
            moves.append((f"{name}[{index}] {variant}", words, change))
        elif move == "list":
            name = draw(st.sampled_from(["coefs_", "intercepts_"]))
            variant = draw(st.sampled_from(sorted(_sequence_variants(model))))

            def change(m, name=name, variant=variant):
                source = copy.copy(m)
                source.coefs_ = getattr(m, name)
                setattr(m, name, _sequence_variants(source)[variant]())
            moves.append((f"{name} {variant}", ("coefs_", "intercepts_"), change))
        elif move == "count":
            name = draw(st.sampled_from(["n_outputs_", "n_layers_", "n_features_in_"]))
            value = draw(st.sampled_from([-1, 0, 1, 2, 3, 5, "3", None, 2.0, "same",
                                          "same as numpy int"]))

            def change(m, name=name, value=value):
                current = getattr(m, name)
                setattr(m, name, current if value == "same" else np.int64(current)
                        if value == "same as numpy int" else value)
            moves.append((f"{name} = {value!r}", (name,), change))
        elif move == "out_activation_":
            value = draw(st.sampled_from(["identity", "exp", "logistic", "softmax", "foo", None]))
            moves.append((f"out_activation_ = {value!r}", ("out_activation_",),
                          lambda m, value=value: setattr(m, "out_activation_", value)))
        elif move == "activation":
            value = draw(st.sampled_from(["identity", "logistic", "tanh", "relu", "foo", None, 3,
                                          "sigmoid", "softplus", "leaky_relu", ["gelu"],
                                          ["silu", "elu"], ("tanh",), ["relu", "foo"], []]))
            moves.append((f"activation = {value!r}", ("activation",),
                          lambda m, value=value: setattr(m, "activation", value)))
        elif move == "activation parameter":
            name = draw(st.sampled_from(sorted(ACTIVATION_PARAMS)))
            value = draw(st.sampled_from([0.5, -0.5, 0.0, np.nan, np.inf, "1", None]))
            moves.append((f"{name} = {value!r}", (name,),
                          lambda m, name=name, value=value: setattr(m, name, value)))
        elif move == "labels" and isinstance(model, MLPClassifier):
            variant = draw(st.sampled_from(["shorter", "longer", "reversed", "as text",
                                            "as float", "None", "list", "no encoder",
                                            "encoder kind"]))

            def change(m, variant=variant):
                classes = m.classes_
                if variant == "no encoder":
                    m._label_binarizer = None
                elif variant == "encoder kind":
                    m._label_binarizer = copy.copy(m._label_binarizer)
                    m._label_binarizer.y_type_ = "multiclass"
                else:
                    m.classes_ = {
                        "shorter": lambda: classes[:-1], "longer": lambda: np.r_[classes, classes[:1]],
                        "reversed": lambda: classes[::-1], "as text": lambda: classes.astype(str),
                        "as float": lambda: classes.astype(float) if classes.dtype.kind in "iub"
                        else classes, "None": lambda: None, "list": lambda: list(classes),
                    }[variant]()
            moves.append((f"classes {variant}", ("classes_", "label encoder", "out_activation_",
                                                  "n_outputs_"), change))
        elif move == "loss":
            value = draw(st.sampled_from(["poisson", "squared_error", "log_loss", "foo",
                                          "hinge", "squared_hinge", "huber", "quantile",
                                          "absolute_error"]))
            moves.append((f"loss = {value!r}", ("loss",),
                          lambda m, value=value: setattr(m, "loss", value)))
        elif move == "hidden_layer_sizes":
            value = draw(st.sampled_from([(3,), (3, 2), (4,), (), "3", (0,)]))
            moves.append((f"hidden_layer_sizes = {value!r}", ("hidden_layer_sizes",),
                          lambda m, value=value: setattr(m, "hidden_layer_sizes", value)))
        elif move == "delete":
            name = draw(st.sampled_from(["intercepts_", "n_outputs_", "n_layers_", "out_activation_",
                                         "n_features_in_", "coefs_"]))
            moves.append((f"del {name}", (name, "not fitted"),
                          lambda m, name=name: delattr(m, name) if hasattr(m, name) else None))
        elif move == "training state":
            name = draw(st.sampled_from(["t_", "loss_curve_", "best_loss_"]))
            value = draw(st.sampled_from([None, "text", -1, 2.5, ()]))
            moves.append((f"{name} = {value!r}", (name,),
                          lambda m, name=name, value=value: setattr(m, name, value)))
    return moves


ACTIONS = ["predict", "predict_proba", "score", "partial_fit", "warm fit", "pickle"]


def _act(model, kind, action):
    if action == "predict":
        return model.predict(X)
    if action == "predict_proba":
        return model.predict_proba(X) if isinstance(model, MLPClassifier) else model.predict(X)
    if action == "score":
        return model.score(X, Y[kind])
    if action == "partial_fit":
        return _quiet(model.partial_fit, X, Y[kind])
    if action == "warm fit":
        model.set_params(warm_start=True)
        return _quiet(model.fit, X, Y[kind])
    return pickle.loads(pickle.dumps(model))


@settings(max_examples=N_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_randomly_changed_model_is_right_or_refused_clearly(data):
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    hidden = data.draw(st.sampled_from([(3,), (3, 2)]), label="hidden")
    model = copy.deepcopy(MODELS[kind, hidden])
    moves = data.draw(changes(model), label="changes")
    action = data.draw(st.sampled_from(ACTIONS), label="action")
    for _, _, change in moves:
        try:
            change(model)
        except (AttributeError, TypeError, ValueError, IndexError):
            pass  # an earlier change left nothing this one applies to
    names = {name for _, words, _ in moves for name in words}
    try:
        result = _act(model, kind, action)
        if action == "pickle":
            model = result
            result = _act(model, kind, "predict")
    except (ValueError, TypeError, AttributeError) as exc:
        # a clear refusal names something that was changed (a method that
        # available_if hides says why in its cause)
        message = f"{exc} {exc.__cause__ or ''}"
        assert any(name in message for name in names), (
            [description for description, _, _ in moves], action, repr(exc))
        event(f"refused: {type(exc).__name__}")
        return
    event(f"accepted: {action}")
    # accepted: the model as it now stands answers, and answers right
    _assert_model_is_right(model)
    if action == "score":
        truth = accuracy_score if isinstance(model, MLPClassifier) else r2_score
        assert result == pytest.approx(truth(Y[kind], model.predict(X)))
