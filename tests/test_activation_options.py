"""The estimators' hidden-activation options beyond scikit-learn's (issue 11,
section 2): one name or one per layer, aliases, the activations' parameters,
what each layer keeps for the backward pass, and the stochastic path's step
against the NumPy reference's gradient."""
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._registry import ACTIVATION_PARAMS, ACTIVATIONS, activation_name
from fastmlp._spec import HiddenLayer, NetworkSpec
from numpy_reference import HIDDEN, OUTPUT_ACTIVATION, loss as reference_loss

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [MLPClassifier, MLPRegressor]


def _data(Est, n_rows=60, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_rows, 4)
    if Est is MLPClassifier:
        return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return X, X[:, 0] - 0.5 * X[:, 1] ** 2


def _params(model):
    return model.coefs_ + model.intercepts_


def _assert_same_model(a, b):
    for x, y in zip(_params(a), _params(b)):
        assert_array_equal(x, y)
    assert a.loss_ == b.loss_


# -- one name or one per layer ---------------------------------------------------


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("name", ["logistic", "relu", "gelu", "elu"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_list_of_one_repeated_name_is_that_name(Est, name, solver):
    # the same layers, and the same initial draws (logistic's factor 2 too)
    X, y = _data(Est)
    kw = dict(hidden_layer_sizes=(6, 5), solver=solver, max_iter=5, random_state=0)
    _assert_same_model(Est(activation=[name, name], **kw).fit(X, y),
                       Est(activation=name, **kw).fit(X, y))


# the two, named here so that the registry cannot drop them
@pytest.mark.parametrize("alias, name", [("sigmoid", "logistic"), ("swish", "silu")])
def test_aliases_are_their_activation(alias, name):
    X, y = _data(MLPClassifier)
    kw = dict(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    a = MLPClassifier(activation=alias, **kw).fit(X, y)
    _assert_same_model(a, MLPClassifier(activation=name, **kw).fit(X, y))
    _assert_same_model(MLPClassifier(activation=[alias, name], hidden_layer_sizes=(6, 3),
                                     max_iter=5, random_state=0).fit(X, y),
                       MLPClassifier(activation=name, hidden_layer_sizes=(6, 3),
                                     max_iter=5, random_state=0).fit(X, y))


def test_leaky_relu_with_slope_0_is_relu():
    X, y = _data(MLPRegressor)
    kw = dict(hidden_layer_sizes=(8, 4), max_iter=5, random_state=0)
    _assert_same_model(MLPRegressor(activation="leaky_relu", negative_slope=0.0, **kw).fit(X, y),
                       MLPRegressor(activation="relu", **kw).fit(X, y))


def test_a_mixed_list_gives_each_layer_its_activation():
    # the fitted model's predictions are the NumPy forward pass with each
    # layer's own activation
    X, y = _data(MLPRegressor)
    names = ["gelu", "tanh", "softplus"]
    model = MLPRegressor(hidden_layer_sizes=(5, 4, 3), activation=names, softplus_beta=2.0,
                         max_iter=5, random_state=0).fit(X, y)
    assert_allclose(model.predict(X), _forward(model, X)[:, 0], rtol=1e-12, atol=1e-12)
    assert [layer.activation for layer in model._spec.hidden] == names


def test_initial_draws_follow_the_units_each_layer_feeds():
    model = MLPRegressor(hidden_layer_sizes=(6, 5), activation=["logistic", "relu"])
    spec = model._network_spec([4, 6, 5, 3], np.float64)
    # logistic's factor 2 for the first layer; relu's 6 for the second and
    # the output layer (the last hidden layer's)
    assert model._init_activations(spec) == ["logistic", "relu", "relu"]
    assert MLPRegressor(activation="logistic")._init_activations(spec) == ["logistic"] * 3
    no_hidden = MLPRegressor(hidden_layer_sizes=(), activation=[])
    assert no_hidden._init_activations(no_hidden._network_spec([4, 3], np.float64)) == [
        "identity"]


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("activation, hidden, message", [
    (["relu"], (5, 4), r"activation lists 1 names, but hidden_layer_sizes=\[5, 4\] has 2"),
    (["relu", "tanh", "gelu"], (5, 4), "activation lists 3 names"),
    (["relu", "softmax"], (5, 4), r"activation\[1\] is 'softmax' \(a str\); each name"),
    (["relu", 3], (5, 4), r"activation\[1\] is 3 \(an int\); each name must be one of"),
    ([], (5,), "activation lists 0 names"),
])
def test_bad_activation_lists_are_refused_naming_activation(Est, activation, hidden, message):
    X, y = _data(Est)
    model = Est(hidden_layer_sizes=hidden, activation=activation, max_iter=2)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)
    assert not hasattr(model, "coefs_")


@pytest.mark.parametrize("activation", ["softmax", 3, None, {"relu"}])
def test_activations_that_are_neither_a_name_nor_a_list_are_refused(activation):
    X, y = _data(MLPClassifier)
    with pytest.raises(InvalidParameterError, match="'activation' parameter"):
        MLPClassifier(activation=activation).fit(X, y)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("param, value", [
    (name, value) for name in ACTIVATION_PARAMS for value in (np.nan, np.inf, "0.1", None)
] + [("softplus_beta", 0.0), ("softplus_beta", -1.0)])
def test_activation_parameters_are_validated_naming_them(Est, param, value):
    X, y = _data(Est)
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        Est(**{param: value}).fit(X, y)


def test_changing_activation_after_a_fit_changes_predictions_as_in_sklearn():
    # scikit-learn reads activation at every predict; its parameters too
    X, y = _data(MLPRegressor)
    model = MLPRegressor(hidden_layer_sizes=(6,), activation="leaky_relu", max_iter=5,
                         random_state=0).fit(X, y)
    before = model.predict(X)
    model.set_params(negative_slope=0.5)
    assert_allclose(model.predict(X), _forward(model, X)[:, 0], rtol=1e-12, atol=1e-12)
    assert not np.allclose(model.predict(X), before)
    model.set_params(activation=["gelu"])
    assert_allclose(model.predict(X), _forward(model, X)[:, 0], rtol=1e-12, atol=1e-12)
    # edited in place: seen too
    model.activation[0] = "elu"
    assert_allclose(model.predict(X), _forward(model, X)[:, 0], rtol=1e-12, atol=1e-12)
    model.set_params(activation=["gelu", "relu"])
    with pytest.raises(ValueError, match="activation lists 2 names"):
        model.predict(X)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_list_activation_and_parameters_survive_pickling(Est):
    X, y = _data(Est)
    model = Est(hidden_layer_sizes=(5, 3), activation=["elu", "softplus"], elu_alpha=-0.5,
                softplus_beta=2.0, max_iter=3, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    assert copy.activation == ["elu", "softplus"] and copy.elu_alpha == -0.5
    out = model.predict_proba(X) if Est is MLPClassifier else model.predict(X)
    out_copy = copy.predict_proba(X) if Est is MLPClassifier else copy.predict(X)
    assert_array_equal(out_copy, out)
    copy.fit(X, y)
    _assert_same_model(copy, model)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_a_model_pickled_before_the_activation_parameters_existed_loads(Est):
    X, y = _data(Est)
    model = Est(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    state = model.__getstate__()
    for name in ACTIVATION_PARAMS:
        del state[name]
    old = Est.__new__(Est)
    old.__setstate__(state)
    assert {name: getattr(old, name) for name in ACTIVATION_PARAMS} == {
        name: param.default for name, param in ACTIVATION_PARAMS.items()}
    out = model.predict_proba(X) if Est is MLPClassifier else model.predict(X)
    assert_array_equal(old.predict_proba(X) if Est is MLPClassifier else old.predict(X), out)


# -- every activation through the estimators ----------------------------------------


def _forward(model, X):
    """The NumPy reference's forward pass with the model's weights,
    activations and parameters (as set now)."""
    p = {name: getattr(model, name) for name in ACTIVATION_PARAMS}
    n_hidden = len(model.coefs_) - 1
    names = ([model.activation] * n_hidden if isinstance(model.activation, str)
             else list(model.activation))
    names = [activation_name(n) for n in names]
    a = np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        a = a @ W + b
        if i < n_hidden:
            a = HIDDEN[names[i]][0](a, p)
    output = {"identity": "squared_error", "exp": "poisson", "logistic": "binary_log_loss",
              "softmax": "log_loss"}[model.out_activation_]
    return OUTPUT_ACTIVATION[output](a)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_activation_predicts_its_forward_pass(Est, name, dtype):
    X, y = _data(Est)
    X = X.astype(dtype)
    model = Est(hidden_layer_sizes=(7, 5), activation=name, max_iter=5, random_state=0).fit(X, y)
    out = model.predict_proba(X) if Est is MLPClassifier else model.predict(X)[:, None]
    expected = _forward(model, X)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(out, expected, rtol=rtol, atol=rtol)


def _numeric_gradient(model, X, Y, sw, act_params):
    """Central differences of the NumPy reference's loss at the model's
    parameters, flat in the engine's order (coefficients, then intercepts)."""
    units = [model.coefs_[0].shape[0]] + [W.shape[1] for W in model.coefs_]
    flat = np.concatenate([a.ravel() for a in _params(model)]).astype(np.float64)
    output = "squared_error" if isinstance(model, MLPRegressor) else "binary_log_loss"
    args = (units, model.activation, output, X, Y, sw, model.alpha, act_params)
    grad = np.empty_like(flat)
    h = 1e-6
    for i in range(flat.shape[0]):
        step = np.zeros_like(flat)
        step[i] = h
        grad[i] = (reference_loss(flat + step, *args)
                   - reference_loss(flat - step, *args)) / (2 * h)
    return flat, grad


@pytest.mark.parametrize("activation, act_params", [
    # every derivative source and the outer-product delta (one output unit)
    (["gelu", "softplus"], dict(softplus_beta=2.0)),
    (["elu", "silu"], dict(elu_alpha=-0.5)),
    (["leaky_relu", "gelu_tanh"], dict(negative_slope=-0.3)),
    (["selu", "elu"], {}),
])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_one_sgd_step_follows_the_reference_gradient(activation, act_params, sparse, shuffle):
    # one minibatch of all rows, plain SGD: the step is -lr times the
    # gradient, which must be the NumPy reference loss's, whichever layers
    # keep f'(z) and however the minibatch's rows are read
    rng = np.random.RandomState(3)
    X = rng.randn(30, 4)
    y = X[:, 0] - X[:, 1] * X[:, 2]
    sw = rng.uniform(0.5, 2, 30)
    Xfit = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0)) if sparse else X
    Xref = Xfit.toarray() if sparse else X
    lr = 1e-2
    model = MLPRegressor(hidden_layer_sizes=(5, 4), activation=activation, solver="sgd",
                         momentum=0.0, learning_rate_init=lr, batch_size=30,
                         shuffle=shuffle, alpha=0.1, max_iter=1, random_state=0,
                         **act_params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(Xfit, y, sample_weight=sw)
        before, grad = _numeric_gradient(model, Xref, y[:, None], sw, act_params)
        model.set_params(warm_start=True).fit(Xfit, y, sample_weight=sw)
    after = np.concatenate([a.ravel() for a in _params(model)])
    assert_allclose(after, before - lr * grad, rtol=1e-7, atol=1e-9)


# -- what each layer keeps ----------------------------------------------------------


def _spec(hidden):
    return NetworkSpec(4, tuple(hidden), 1, "squared_error", "continuous")


def test_only_layers_whose_derivative_needs_z_keep_it():
    relu, gelu = HiddenLayer(6, "relu"), HiddenLayer(5, "gelu")
    leaky_up = HiddenLayer(3, "leaky_relu", (("negative_slope", 0.01),))
    leaky_down = HiddenLayer(3, "leaky_relu", (("negative_slope", -0.3),))
    columns = _spec([relu, gelu, leaky_up, leaky_down]).work_columns(False)
    assert columns.pre_cols == (-1, 0, -1, 5, -1)
    assert columns.delta - columns.pre == 5 + 3
    # a network of activations that need no z has today's layout
    plain = _spec([relu, HiddenLayer(5, "tanh")]).work_columns(False)
    assert plain.delta == plain.pre
    for name, info in ACTIVATIONS.items():
        defaults = {p: ACTIVATION_PARAMS[p].default for p in info.params}
        layer = HiddenLayer(4, name, tuple(defaults.items()))
        assert layer.keeps_z == (name in ("gelu", "gelu_tanh", "silu", "softplus"))


def test_memory_estimate_counts_the_kept_pre_activations():
    relu = _spec([HiddenLayer(64, "relu"), HiddenLayer(32, "relu")])
    gelu = _spec([HiddenLayer(64, "gelu"), HiddenLayer(32, "relu")])
    _, work_relu = relu.fit_bytes("adam", 200, True, 1, False)
    _, work_gelu = gelu.fit_bytes("adam", 200, True, 1, False)
    assert work_gelu - work_relu == 200 * 64 * 8


# -- every path of a fit ---------------------------------------------------------------


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_partial_fit_and_warm_start_keep_each_layers_activation(Est):
    # three partial_fit calls, or three warm-started fits of one epoch, are
    # three epochs of one fit (plain SGD, no shuffling): the continued
    # network keeps each layer's activation and parameter, including the
    # layers that keep f'(z)
    X, y = _data(Est)
    kw = dict(hidden_layer_sizes=(5, 4, 3), activation=["gelu", "leaky_relu", "tanh"],
              negative_slope=-0.2, solver="sgd", momentum=0.0, shuffle=False,
              random_state=0)
    full = Est(max_iter=3, **kw).fit(X, y)
    incremental = Est(**kw)
    first = dict(classes=np.unique(y)) if Est is MLPClassifier else {}
    for _ in range(3):
        incremental.partial_fit(X, y, **first)
        first = {}
    _assert_same_model(incremental, full)
    warm = Est(max_iter=1, warm_start=True, **kw)
    for _ in range(3):
        warm.fit(X, y)
    _assert_same_model(warm, full)
    assert [layer.activation for layer in warm._spec.hidden] == kw["activation"]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_lbfgs_trains_with_every_activation(name):
    # the full-batch path: the loss lbfgs reports is the NumPy reference's
    # at the parameters it returns, and it went down
    X, y = _data(MLPRegressor)
    kw = dict(hidden_layer_sizes=(6, 4), activation=[name, "tanh"], solver="lbfgs",
              random_state=0, elu_alpha=0.7, negative_slope=0.05, softplus_beta=1.5)
    short = MLPRegressor(max_iter=1, **kw).fit(X, y)
    model = MLPRegressor(max_iter=30, **kw).fit(X, y)
    units = [4, 6, 4, 1]
    flat = np.concatenate([a.ravel() for a in _params(model)])
    p = {param: getattr(model, param) for param in ACTIVATION_PARAMS}
    expected = reference_loss(flat, units, model.activation, "squared_error", X, y[:, None],
                              None, model.alpha, p)
    assert model.loss_ == pytest.approx(expected, rel=1e-10)
    assert model.loss_ < 0.9 * short.loss_
