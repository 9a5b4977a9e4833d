"""fastmlp.from_sklearn and model.to_sklearn (issue 14): both directions,
every scikit-learn activation and solver, predictions and continued
training compared with scikit-learn's own, and a clear error for every
fastmlp option scikit-learn cannot represent.

Tolerances: a converted model holds the other's weights bit for bit, so a
round trip (scikit-learn -> fastmlp -> scikit-learn, or the other way)
predicts exactly as the original. Across the libraries the forward passes
differ in BLAS's summation order and in fastmlp's own exp/tanh kernels:
labels are equal, outputs agree to a few units in the last place (measured:
at most 3.4e-16 absolute for float64 probabilities, 1.2e-7 for float32).
Training on from the same state sums gradients and moments in another
order: weights stay within a few units in the last place of the other
library's (measured in float64: 1.4e-16 relative after five partial_fit
calls, moments 2.2e-15; in float32, 6e-8 absolute after one), and do not
drift apart.
"""
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import neural_network as sk
from sklearn.exceptions import NotFittedError

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning"),
]

rng = np.random.RandomState(0)
X = rng.randn(50, 4)
LABELS = rng.randint(0, 3, 50)
TARGETS = {
    "binary": LABELS % 2,
    "multiclass": LABELS,
    "strings": np.array(["ant", "bee", "cat"])[LABELS],
    "multilabel": np.column_stack([LABELS % 2, LABELS // 2, (LABELS + 1) % 2]),
}
Y_REAL = X @ rng.randn(4, 2) + 0.1 * rng.randn(50, 2)
# outputs across the libraries: a few units in the last place
OUTPUT_TOL = {np.float64: dict(rtol=1e-13, atol=1e-15), np.float32: dict(rtol=1e-6, atol=1e-6)}
# training on from the same state, across the libraries
STEP_TOL = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=1e-5, atol=1e-6)}


def _copy(model):
    return pickle.loads(pickle.dumps(model))


def _same_weights(a, b):
    return all(u.dtype == v.dtype and u.tobytes() == v.tobytes()
               for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_))


def assert_same_outputs(ours, theirs, X, dtype):
    if hasattr(theirs, "predict_proba"):
        assert_array_equal(ours.predict(X), theirs.predict(X))
        assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), **OUTPUT_TOL[dtype])
    else:
        assert_allclose(ours.predict(X), theirs.predict(X), **OUTPUT_TOL[dtype])


def assert_same_fitted(ours, theirs):
    for name in ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_",
                 "t_", "loss_", "loss_curve_", "best_loss_", "validation_scores_",
                 "best_validation_score_", "_no_improvement_count"):
        assert hasattr(ours, name) == hasattr(theirs, name), name
        if hasattr(theirs, name):
            assert getattr(ours, name) == getattr(theirs, name), name
    if hasattr(theirs, "classes_"):
        assert_array_equal(ours.classes_, theirs.classes_)
        assert ours.classes_.dtype == theirs.classes_.dtype


def assert_steps_alike(a, b, dtype=np.float64):
    """Weights trained on by the two libraries from one state."""
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert u.dtype == v.dtype
        assert_allclose(u, v, **STEP_TOL[dtype])


def _sklearn_classifier(**kwargs):
    kwargs.setdefault("random_state", 0)
    kwargs.setdefault("max_iter", 4)
    return sk.MLPClassifier(hidden_layer_sizes=(5, 4), **kwargs)


# -- scikit-learn -> fastmlp -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_from_sklearn_every_activation_and_solver(activation, solver, dtype):
    Xd = X.astype(dtype)
    y = TARGETS["multiclass"]
    theirs = _sklearn_classifier(activation=activation, solver=solver).fit(Xd, y)
    ours = fastmlp.from_sklearn(theirs)
    assert type(ours) is MLPClassifier
    assert ours.get_params() == theirs.get_params() | {
        name: value for name, value in ours.get_params().items()
        if name not in theirs.get_params()}
    assert _same_weights(ours, theirs)
    assert_same_fitted(ours, theirs)
    assert_same_outputs(ours, theirs, Xd, dtype)
    # back again: the very same scikit-learn model
    back = ours.to_sklearn()
    assert _same_weights(back, theirs)
    assert_array_equal(back.predict_proba(Xd), theirs.predict_proba(Xd))
    if solver != "lbfgs":
        # one call on: both start their stream from random_state
        reference = _copy(theirs).partial_fit(Xd, y)
        assert_steps_alike(ours.partial_fit(Xd, y), reference, dtype)
        assert ours.loss_curve_ == pytest.approx(reference.loss_curve_, rel=1e-6)


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_from_sklearn_classifier_targets(target, solver):
    y = TARGETS[target]
    theirs = _sklearn_classifier(solver=solver, shuffle=False).fit(X, y)
    ours = fastmlp.from_sklearn(theirs)
    assert_same_fitted(ours, theirs)
    assert_same_outputs(ours, theirs, X, np.float64)
    # without shuffling, every later call is the same arithmetic too
    reference = _copy(theirs)
    for _ in range(3):
        reference.partial_fit(X, y)
        ours.partial_fit(X, y)
    assert_steps_alike(ours, reference)
    assert_array_equal(ours.predict(X), reference.predict(X))


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("nesterovs_momentum", [True, False])
def test_from_sklearn_sgd_schedules(learning_rate, nesterovs_momentum):
    y = TARGETS["multiclass"]
    theirs = _sklearn_classifier(solver="sgd", learning_rate=learning_rate,
                                 nesterovs_momentum=nesterovs_momentum, shuffle=False,
                                 n_iter_no_change=1, tol=1.0, learning_rate_init=0.1,
                                 max_iter=6).fit(X, y)
    ours = fastmlp.from_sklearn(theirs)
    assert ours._optimizer.learning_rate == theirs._optimizer.learning_rate
    reference = _copy(theirs)
    for _ in range(2):
        reference.partial_fit(X, y)
        ours.partial_fit(X, y)
    assert_steps_alike(ours, reference)
    assert ours._optimizer.learning_rate == reference._optimizer.learning_rate


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_from_sklearn_regressor(loss, solver, n_outputs):
    y = Y_REAL[:, 0] if n_outputs == 1 else Y_REAL
    if loss == "poisson":
        y = np.abs(y)
    theirs = sk.MLPRegressor(hidden_layer_sizes=(6,), loss=loss, solver=solver,
                             max_iter=4, random_state=0, learning_rate_init=0.01).fit(X, y)
    ours = fastmlp.from_sklearn(theirs)
    assert type(ours) is MLPRegressor
    assert_same_fitted(ours, theirs)
    assert_same_outputs(ours, theirs, X, np.float64)
    if solver != "lbfgs":
        reference = _copy(theirs).partial_fit(X, y)
        assert_steps_alike(ours.partial_fit(X, y), reference)


def test_from_sklearn_warm_start_goes_on_as_sklearn():
    """A warm-started fit goes on from the loss records and no-improvement
    count (without early stopping, where fastmlp fixes a scikit-learn bug)."""
    y = TARGETS["strings"]
    theirs = _sklearn_classifier(solver="sgd", n_iter_no_change=2, tol=0.5,
                                 max_iter=5).fit(X, y)
    ours = fastmlp.from_sklearn(theirs)
    theirs.set_params(warm_start=True)
    ours.set_params(warm_start=True)
    theirs.fit(X, y)
    ours.fit(X, y)
    assert_steps_alike(ours, theirs)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    assert ours._no_improvement_count == theirs._no_improvement_count
    assert ours.loss_curve_ == pytest.approx(theirs.loss_curve_, rel=1e-12)


def test_from_sklearn_keeps_feature_names_and_shares_nothing():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    theirs = _sklearn_classifier().fit(frame, TARGETS["binary"])
    ours = fastmlp.from_sklearn(theirs)
    assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    before = [W.copy() for W in theirs.coefs_]
    ours.partial_fit(frame, TARGETS["binary"])
    assert all((W == V).all() for W, V in zip(theirs.coefs_, before))


def test_from_sklearn_refuses_other_objects():
    with pytest.raises(TypeError, match="from_sklearn takes"):
        fastmlp.from_sklearn(MLPClassifier())
    with pytest.raises(NotFittedError):
        fastmlp.from_sklearn(sk.MLPClassifier())


# -- fastmlp -> scikit-learn -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_to_sklearn_every_activation_and_solver(activation, solver, dtype):
    Xd = X.astype(dtype)
    y = TARGETS["multiclass"]
    ours = MLPClassifier(hidden_layer_sizes=(5, 4), activation=activation, solver=solver,
                         max_iter=4, random_state=0, shuffle=False).fit(Xd, y)
    theirs = ours.to_sklearn()
    assert type(theirs) is sk.MLPClassifier
    assert theirs.get_params() == {name: value for name, value in ours.get_params().items()
                                   if name in theirs.get_params()}
    assert _same_weights(ours, theirs)
    assert_same_fitted(ours, theirs)
    assert_same_outputs(ours, theirs, Xd, dtype)
    back = fastmlp.from_sklearn(theirs)
    assert _same_weights(back, ours)
    assert_array_equal(back.predict_proba(Xd), ours.predict_proba(Xd))
    if solver != "lbfgs":
        reference = _copy(ours)
        for _ in range(2):
            reference.partial_fit(Xd, y)
            theirs.partial_fit(Xd, y)
        assert_steps_alike(reference, theirs, dtype)


@pytest.mark.parametrize("target", list(TARGETS))
def test_to_sklearn_classifier_targets(target):
    y = TARGETS[target]
    ours = MLPClassifier(hidden_layer_sizes=(5,), solver="adam", max_iter=4, random_state=0,
                         shuffle=False).fit(X, y)
    theirs = ours.to_sklearn()
    assert_same_fitted(ours, theirs)
    assert_same_outputs(ours, theirs, X, np.float64)
    reference = _copy(ours)
    reference.partial_fit(X, y)
    theirs.partial_fit(X, y)
    assert_steps_alike(reference, theirs)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_to_sklearn_regressor(loss, solver):
    y = np.abs(Y_REAL) if loss == "poisson" else Y_REAL
    ours = MLPRegressor(hidden_layer_sizes=(6,), loss=loss, solver=solver, max_iter=4,
                        random_state=0, shuffle=False, learning_rate_init=0.01).fit(X, y)
    theirs = ours.to_sklearn()
    assert type(theirs) is sk.MLPRegressor
    assert_same_fitted(ours, theirs)
    assert_same_outputs(ours, theirs, X, np.float64)
    if solver != "lbfgs":
        reference = _copy(ours).partial_fit(X, y)
        assert_steps_alike(reference, theirs.partial_fit(X, y))


@pytest.mark.parametrize("params", [
    dict(activation="sigmoid"),                       # scikit-learn's 'logistic'
    dict(activation=["tanh", "tanh"]),                # one name for every layer
    dict(negative_slope=0.3, elu_alpha=2.0),          # read by activations not in use
    dict(solver="sgd", weight_decay=None, rho=0.5, momentum_decay=0.1),
    dict(solver="sgd", lr_step_size=3, plateau_patience=2, warmup_start_factor=0.5),
    dict(init_scale=0.5, batch_norm_momentum=0.5, early_stopping_metric="loss"),
])
def test_to_sklearn_accepts_options_that_change_nothing(params):
    ours = MLPClassifier(hidden_layer_sizes=(5, 4), max_iter=3, random_state=0,
                         **params).fit(X, TARGETS["multiclass"])
    theirs = ours.to_sklearn()
    assert_same_outputs(ours, theirs, X, np.float64)
    if "activation" in params:
        assert theirs.activation in ("logistic", "tanh")


@pytest.mark.parametrize("estimator, params, option", [
    (MLPClassifier, dict(activation="elu"), "activation"),
    (MLPClassifier, dict(activation=["relu", "tanh"]), "activation"),
    (MLPClassifier, dict(batch_norm=True), "batch_norm"),
    (MLPClassifier, dict(batch_norm=[False, True]), "batch_norm"),
    (MLPClassifier, dict(dropout=0.2), "dropout"),
    (MLPClassifier, dict(dropout=[0.0, 0.1]), "dropout"),
    (MLPClassifier, dict(loss="hinge"), "loss"),
    (MLPRegressor, dict(loss="huber"), "loss"),
    (MLPRegressor, dict(loss="quantile"), "loss"),
    (MLPClassifier, dict(solver="adamw"), "solver"),
    (MLPClassifier, dict(solver="nadam"), "solver"),
    (MLPRegressor, dict(solver="rmsprop"), "solver"),
    (MLPClassifier, dict(solver="sgd", learning_rate="cosine", lr_t_max=4), "learning_rate"),
    (MLPClassifier, dict(solver="sgd", learning_rate="plateau"), "learning_rate"),
    (MLPClassifier, dict(warmup_iters=2), "warmup_iters"),
    (MLPClassifier, dict(max_grad_norm=1.0), "max_grad_norm"),
    (MLPClassifier, dict(class_weight="balanced"), "class_weight"),
    (MLPClassifier, dict(weight_init="he_normal"), "weight_init"),
    (MLPClassifier, dict(weight_init="normal", init_scale=0.1), "weight_init"),
    (MLPClassifier, dict(early_stopping=True, early_stopping_metric="loss"),
     "early_stopping_metric"),
])
def test_to_sklearn_names_what_sklearn_lacks(estimator, params, option):
    y = Y_REAL if estimator is MLPRegressor else TARGETS["multiclass"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = estimator(hidden_layer_sizes=(5, 4), max_iter=3, random_state=0,
                         **params).fit(X, y)
    with pytest.raises(ValueError, match=f"to_sklearn cannot convert a model with {option}="):
        ours.to_sklearn()


def test_to_sklearn_refuses_settings_changed_since_fit():
    """Settings training would go on with count too: a loss set since fit,
    an optimizer state partial_fit made with another solver."""
    ours = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, Y_REAL)
    ours.set_params(loss="huber")
    with pytest.raises(ValueError, match="with loss='huber'"):
        ours.to_sklearn()
    ours = MLPRegressor(hidden_layer_sizes=(4,), solver="adamw", random_state=0)
    ours.partial_fit(X, Y_REAL)
    ours.set_params(solver="adam")
    with pytest.raises(ValueError, match="with solver='adamw'"):
        ours.to_sklearn()


def test_to_sklearn_needs_a_fitted_model():
    with pytest.raises(NotFittedError):
        MLPClassifier().to_sklearn()


def test_to_sklearn_warm_start_goes_on_as_fastmlp():
    ours = MLPRegressor(hidden_layer_sizes=(6,), solver="sgd", max_iter=4, random_state=0,
                        n_iter_no_change=2, tol=0.5).fit(X, Y_REAL)
    theirs = ours.to_sklearn()
    ours.set_params(warm_start=True)
    theirs.set_params(warm_start=True)
    ours.fit(X, Y_REAL)
    theirs.fit(X, Y_REAL)
    assert_steps_alike(ours, theirs)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    assert ours.loss_curve_ == pytest.approx(theirs.loss_curve_, rel=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_records_both_ways(solver):
    y = TARGETS["binary"]
    theirs = _sklearn_classifier(solver=solver, early_stopping=True, max_iter=5).fit(X, y)
    ours = fastmlp.from_sklearn(theirs)
    assert_same_fitted(ours, theirs)
    assert ours.validation_scores_ == theirs.validation_scores_
    back = ours.to_sklearn()
    assert_same_fitted(back, theirs)
    assert_array_equal(back.predict_proba(X), theirs.predict_proba(X))
    assert_array_equal(pickle.loads(pickle.dumps(back)).predict(X), theirs.predict(X))
