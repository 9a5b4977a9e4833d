"""The public surface of scikit-learn 1.9's MLPClassifier / MLPRegressor (issue 2).

Parameters, methods and fitted attributes are compared against the installed
scikit-learn's; behaviour that is ours (dtype preservation, parameters as views
into one flat buffer) is checked against a plain-NumPy forward pass.
"""

import copy
import inspect
import numbers
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn import neural_network as sk
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import (
    load_iris,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TWINS = {MLPClassifier: sk.MLPClassifier, MLPRegressor: sk.MLPRegressor}
ESTIMATORS = [MLPClassifier, MLPRegressor]


# ---------------------------------------------------------------------- data


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


TARGETS = {
    # name: (estimator, X, y)
    "binary": lambda: (MLPClassifier, *make_classification(n_samples=80, n_features=5, random_state=0)),
    "multiclass": lambda: (MLPClassifier, *_iris()),
    "multilabel": lambda: (
        MLPClassifier,
        *make_multilabel_classification(n_samples=80, n_features=6, n_classes=4, random_state=0),
    ),
    "string-labels": lambda: (
        MLPClassifier,
        _iris()[0],
        np.array(["setosa", "versicolor", "virginica"], dtype=object)[_iris()[1]],
    ),
    "binary-strings": lambda: (
        MLPClassifier,
        make_classification(n_samples=80, n_features=5, random_state=1)[0],
        np.array(["no", "yes"])[make_classification(n_samples=80, n_features=5, random_state=1)[1]],
    ),
    "int-labels": lambda: (MLPClassifier, _iris()[0], np.array([-5, 2, 40])[_iris()[1]]),
    "regression": lambda: (MLPRegressor, *make_regression(n_samples=80, n_features=5, random_state=0)),
    "multioutput-regression": lambda: (
        MLPRegressor,
        *make_regression(n_samples=80, n_features=5, n_targets=3, random_state=0),
    ),
}


def _data_for(Est):
    if Est is MLPClassifier:
        return _iris()
    X, y = make_regression(n_samples=80, n_features=5, noise=1.0, random_state=0)
    return StandardScaler().fit_transform(X), y / y.std()


# ----------------------------------------------------------- reference forward


def _forward(est, X):
    """Plain-NumPy forward pass from the estimator's current coefs_/intercepts_."""
    hidden = {
        "identity": lambda z: z,
        "logistic": expit,
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0),
    }[est.activation]
    a = np.asarray(X, dtype=np.float64)
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        a = a @ np.asarray(W, dtype=np.float64) + np.asarray(b, dtype=np.float64)
        if i < len(est.coefs_) - 1:
            a = hidden(a)
    if est.out_activation_ == "softmax":
        a = np.exp(a - a.max(axis=1, keepdims=True))
        return a / a.sum(axis=1, keepdims=True)
    if est.out_activation_ == "logistic":
        return expit(a)
    if est.out_activation_ == "exp":
        return np.exp(a)
    return a


def _proba_or_values(est, X):
    if is_classifier(est):
        return est.predict_proba(X)
    return est.predict(X).reshape(X.shape[0], -1)


def _reference_proba_or_values(est, X):
    out = _forward(est, X)
    if is_classifier(est) and out.shape[1] == 1:
        out = np.hstack([1 - out, out])
    return out


# ------------------------------------------------------- parameters and methods


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_constructor_signature_and_defaults_are_sklearns(Est):
    # scikit-learn's parameters first, in its order, with its defaults; then
    # fastmlp's own, keyword-only, each documented in the README's "Beyond
    # scikit-learn" table
    ours = inspect.signature(Est.__init__).parameters
    theirs = inspect.signature(TWINS[Est].__init__).parameters
    assert list(ours)[:len(theirs)] == list(theirs)
    for name, p in theirs.items():
        assert ours[name].default == p.default, name
        assert ours[name].kind == p.kind, name
    extra = list(ours)[len(theirs):]
    assert all(ours[name].kind == inspect.Parameter.KEYWORD_ONLY for name in extra)
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    beyond = readme[readme.index("## Beyond scikit-learn"):]
    for name in extra:
        assert f"`{name}" in beyond, name
    ours_params, theirs_params = Est().get_params(), TWINS[Est]().get_params()
    assert {k: ours_params[k] for k in theirs_params} == theirs_params


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_public_methods_are_sklearns(Est, solver):
    def public(est):
        return {n for n in dir(est) if not n.startswith("_") and callable(getattr(est, n, None))}

    theirs, ours = public(TWINS[Est](solver=solver)), public(Est(solver=solver))
    if Est is MLPRegressor and solver == "lbfgs":
        theirs.discard("partial_fit")  # fix (c), test_sklearn_fixes.py
        assert "partial_fit" not in ours
    assert theirs <= ours
    assert is_classifier(Est()) == (Est is MLPClassifier)
    assert is_regressor(Est()) == (Est is MLPRegressor)


@pytest.mark.parametrize(
    "params",
    [
        dict(hidden_layer_sizes=0),
        dict(hidden_layer_sizes=(4, 0)),
        dict(activation="softmax"),
        dict(solver="newton"),
        dict(alpha=-1.0),
        dict(batch_size=0),
        dict(learning_rate="cyclic"),
        dict(learning_rate_init=0.0),
        dict(max_iter=0),
        dict(momentum=1.5),
        dict(validation_fraction=1.0),
        dict(beta_1=1.0),
        dict(epsilon=0.0),
        dict(n_iter_no_change=0),
        dict(max_fun=0),
    ],
)
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_invalid_parameters_are_rejected_like_sklearn(Est, params):
    X, y = _data_for(Est)
    with pytest.raises(ValueError) as theirs:
        TWINS[Est](**params).fit(X, y)
    with pytest.raises(type(theirs.value)):
        Est(**params).fit(X, y)


def test_regressor_loss_parameter():
    X, y = _data_for(MLPRegressor)
    assert MLPRegressor().loss == "squared_error"
    assert MLPRegressor(max_iter=5).fit(X, y).out_activation_ == "identity"
    assert MLPRegressor(loss="poisson", max_iter=5).fit(X, np.abs(y)).out_activation_ == "exp"
    # scikit-learn's regressor refuses absolute_error; fastmlp's trains it
    # (issue 11, test_losses.py), and refuses a name it has no loss for
    with pytest.raises(ValueError, match="'loss' parameter of MLPRegressor"):
        MLPRegressor(loss="hinge").fit(X, y)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_clone_get_set_params(Est):
    est = Est(hidden_layer_sizes=(7, 3), alpha=0.3, random_state=2)
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    cloned.set_params(alpha=0.5, hidden_layer_sizes=5)
    assert cloned.alpha == 0.5 and cloned.hidden_layer_sizes == 5
    assert est.alpha == 0.3
    X, y = _data_for(Est)
    est.set_params(max_iter=3).fit(X, y)
    assert not hasattr(clone(est), "coefs_")


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_metadata_routing_requests_are_sklearns(Est):
    import sklearn

    with sklearn.config_context(enable_metadata_routing=True):
        ours = Est().set_fit_request(sample_weight=True).set_score_request(sample_weight=False)
        theirs = TWINS[Est]().set_fit_request(sample_weight=True).set_score_request(sample_weight=False)
        ours.set_partial_fit_request(sample_weight=True)
        theirs.set_partial_fit_request(sample_weight=True)
        routing = ours.get_metadata_routing()
        # fit's validation data (issue 12), unrequested by default as in
        # HistGradientBoosting
        for name in VALIDATION_DATA:
            assert routing.fit.requests.pop(name) is None
        assert str(routing) == str(theirs.get_metadata_routing())


# ------------------------------------------------------------ target types


def _attribute_kind(value):
    """A comparable description of a fitted attribute's type and shape."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.kind, value.shape)
    if isinstance(value, list):
        return ("list", len(value), tuple(_attribute_kind(v) for v in value[:1]) if value else ())
    return type(value).__name__


# fitted attributes of fastmlp's own (issue 12), each in the README's
# "Beyond scikit-learn" table
BEYOND_ATTRIBUTES = ("validation_loss_curve_", "best_validation_loss_")
VALIDATION_DATA = ("X_val", "y_val", "sample_weight_val")


def _fitted_attributes(est, ignore=()):
    return {
        name: _attribute_kind(getattr(est, name))
        for name in dir(est)
        if name.endswith("_") and not name.startswith("_") and hasattr(est, name)
        and name not in ignore
    }


def test_attributes_and_fit_arguments_of_our_own_are_documented():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    beyond = readme[readme.index("## Beyond scikit-learn"):readme.index("## Differences")]
    for name in BEYOND_ATTRIBUTES + VALIDATION_DATA:
        assert f"`{name}" in beyond or f"{name}=" in beyond, name


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam"),
        dict(solver="sgd"),
        dict(solver="lbfgs"),
        dict(solver="adam", early_stopping=True),
    ],
    ids=["adam", "sgd", "lbfgs", "early-stopping"],
)
def test_fitted_attributes_are_sklearns(target, params):
    Est, X, y = TARGETS[target]()
    full = dict(hidden_layer_sizes=(6, 4), max_iter=5, random_state=0, **params)
    ours = Est(**full).fit(X, y)
    theirs = TWINS[Est](**full).fit(X, y)

    assert _fitted_attributes(ours, BEYOND_ATTRIBUTES) == _fitted_attributes(theirs)
    for name in ("n_layers_", "n_outputs_", "n_features_in_", "out_activation_", "n_iter_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    if is_classifier(ours):
        assert_array_equal(ours.classes_, theirs.classes_)
        assert ours.classes_.dtype == theirs.classes_.dtype
    if hasattr(theirs, "t_"):
        assert ours.t_ == theirs.t_

    pred, their_pred = ours.predict(X), theirs.predict(X)
    assert pred.shape == their_pred.shape
    assert pred.dtype == their_pred.dtype
    if is_classifier(ours):
        assert ours.score(X, y) == pytest.approx(accuracy_score(y, pred))
    else:
        assert ours.score(X, y) == pytest.approx(r2_score(y, pred))


def test_unfitted_estimator_raises_not_fitted():
    X, _ = _iris()
    for Est in ESTIMATORS:
        with pytest.raises(NotFittedError):
            Est().predict(X)
    with pytest.raises(NotFittedError):
        MLPClassifier().predict_proba(X)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_wrong_number_of_features_raises(Est):
    X, y = _data_for(Est)
    est = Est(max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :-1])


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_non_finite_input_raises(Est):
    X, y = _data_for(Est)
    X = X.copy()
    X[3, 1] = np.nan
    with pytest.raises(ValueError):
        Est(max_iter=3).fit(X, y)


def test_non_finite_weights_raise_sklearns_error():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    msg = "Solver produced non-finite parameter weights"
    with pytest.raises(ValueError, match=msg), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPRegressor().fit(X, y)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_prints_sklearns_progress(capsys, early_stopping):
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)  # binary
    params = dict(max_iter=3, verbose=True, early_stopping=early_stopping, random_state=0)
    MLPClassifier(**params).fit(X, y)
    ours = capsys.readouterr().out
    sk.MLPClassifier(**params).fit(X, y)
    theirs = capsys.readouterr().out
    assert "Iteration 3, loss = " in ours
    assert ("Validation score: " in ours) == early_stopping
    assert ours == theirs


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_convergence_warning_at_max_iter(Est):
    X, y = _data_for(Est)
    with pytest.warns(ConvergenceWarning):
        Est(max_iter=2, random_state=0).fit(X, y)


# -------------------------------------------------------------------- pandas


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_pandas_input_sets_feature_names(Est, early_stopping):
    pd = pytest.importorskip("pandas")
    X, y = _data_for(Est)
    columns = [f"col_{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=columns)
    target = pd.Series(y, name="target")
    est = Est(max_iter=5, random_state=0, early_stopping=early_stopping)
    with warnings.catch_warnings():
        # no "X has feature names" warning while scoring the validation split
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(df, target)
    assert_array_equal(est.feature_names_in_, columns)
    assert est.feature_names_in_.dtype == object
    assert est.n_features_in_ == X.shape[1]
    with pytest.warns(UserWarning, match="feature names"):
        from_array = _proba_or_values(est, X)
    assert_allclose(_proba_or_values(est, df), from_array)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df[columns[::-1]])

    if early_stopping and Est is MLPClassifier:
        return  # multiclass: our split is stratified, scikit-learn's is not (fix e)
    theirs = TWINS[Est](max_iter=5, random_state=0, early_stopping=early_stopping).fit(df, target)
    assert_allclose(_proba_or_values(est, df), _proba_or_values(theirs, df), rtol=1e-7, atol=1e-9)


def test_pandas_string_labels_series():
    pd = pytest.importorskip("pandas")
    X, y = _iris()
    labels = pd.Series(np.array(["a", "b", "c"], dtype=object)[y])
    clf = MLPClassifier(max_iter=5, random_state=0).fit(pd.DataFrame(X), labels)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert set(clf.predict(X)) <= {"a", "b", "c"}


# ------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize(
    "dtype, expected",
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64), (np.float16, np.float64)],
)
def test_dtype_is_preserved(Est, solver, dtype, expected):
    X, y = _data_for(Est)
    X = (X * 4).astype(dtype)
    est = Est(hidden_layer_sizes=(6, 4), solver=solver, max_iter=5, random_state=0).fit(X, y)
    assert all(c.dtype == expected for c in est.coefs_)
    assert all(b.dtype == expected for b in est.intercepts_)
    if is_classifier(est):
        assert est.predict_proba(X).dtype == expected
        assert est.predict_log_proba(X).dtype == expected
    else:
        assert est.predict(X).dtype == expected


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_float32_sparse_and_partial_fit_keep_float32(Est):
    X, y = _data_for(Est)
    X32 = X.astype(np.float32)
    est = Est(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(sp.csr_matrix(X32), y)
    assert est.coefs_[0].dtype == np.float32
    assert _proba_or_values(est, sp.csr_matrix(X32)).dtype == np.float32
    extra = {"classes": np.unique(y)} if Est is MLPClassifier else {}
    est = Est(hidden_layer_sizes=(5,), random_state=0)
    for _ in range(2):
        est.partial_fit(X32, y, **extra)
    assert all(c.dtype == np.float32 for c in est.coefs_ + est.intercepts_)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_float32_fit_is_close_to_sklearns_float32_fit(Est, solver):
    X, y = _data_for(Est)
    X32 = X.astype(np.float32)
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=2, batch_size=20, random_state=0)
    ours = Est(**params).fit(X32, y)
    theirs = TWINS[Est](**params).fit(X32, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.dtype == b.dtype == np.float32
        assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_float32_and_float64_models_agree():
    # scikit-learn's test_mlp_classifier_dtypes_casting, on our estimator.
    X, y = _iris()
    params = dict(alpha=1e-5, hidden_layer_sizes=(5, 3), random_state=1, max_iter=100, tol=1e-1)
    m64 = MLPClassifier(**params).fit(X, y)
    m32 = MLPClassifier(**params).fit(X.astype(np.float32), y)
    assert_array_equal(m64.predict(X), m32.predict(X.astype(np.float32)))
    assert_allclose(m64.predict_proba(X), m32.predict_proba(X.astype(np.float32)), rtol=1e-2)


# ---------------------------------------------------------------- probabilities


@pytest.mark.parametrize("target", ["binary", "multiclass", "string-labels", "binary-strings"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_predict_proba_rows_sum_to_one(target, solver):
    _, X, y = TARGETS[target]()
    clf = MLPClassifier(hidden_layer_sizes=(6,), solver=solver, max_iter=30, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(clf.classes_))
    assert np.all((proba >= 0) & (proba <= 1))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    with np.errstate(divide="ignore"):  # lbfgs may saturate a probability to 0
        assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-12)
    assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])
    assert_allclose(proba, _reference_proba_or_values(clf, X), rtol=1e-10, atol=1e-12)


def test_predict_proba_multilabel():
    _, X, Y = TARGETS["multilabel"]()
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape
    assert np.all((proba > 0) & (proba < 1))
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent logistic units
    assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-12)
    assert_allclose(proba, _forward(clf, X), rtol=1e-10, atol=1e-12)


def test_score_is_accuracy_and_r2():
    X, y = _iris()
    clf = MLPClassifier(max_iter=20, random_state=0).fit(X, y)
    assert clf.score(X, y) == pytest.approx(accuracy_score(y, clf.predict(X)))
    X, y = _data_for(MLPRegressor)
    reg = MLPRegressor(max_iter=20, random_state=0).fit(X, y)
    assert reg.score(X, y) == pytest.approx(r2_score(y, reg.predict(X)))


# ------------------------------------------------------------------ partial_fit


def test_partial_fit_with_classes():
    X, y = _iris()
    clf = MLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    with pytest.raises(ValueError):
        clf.partial_fit(X, y)  # classes are required on the first call
    first = y < 2  # the first batch has only two of the three classes
    clf.partial_fit(X[first], y[first], classes=[2, 0, 1])
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.out_activation_ == "softmax"
    assert clf.predict_proba(X).shape == (len(X), 3)
    clf.partial_fit(X[~first], y[~first])
    assert clf.t_ == len(X)
    assert clf.n_iter_ == 1
    with pytest.raises(ValueError):
        clf.partial_fit(X[:3], [0, 1, 7])  # a class not in classes_


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_partial_fit_accumulates_and_continues_after_fit(Est):
    X, y = _data_for(Est)
    extra = {"classes": np.unique(y)} if Est is MLPClassifier else {}
    est = Est(hidden_layer_sizes=(5,), random_state=0)
    for k in range(1, 4):
        est.partial_fit(X, y, **extra)
        assert est.t_ == k * len(X)
        assert len(est.loss_curve_) == k
    # partial_fit after fit continues from the fitted weights
    fitted = Est(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, y)
    before = [c.copy() for c in fitted.coefs_]
    fitted.partial_fit(X, y)
    assert fitted.t_ == 21 * len(X)
    step = max(np.abs(a - b).max() for a, b in zip(before, fitted.coefs_))
    assert 0 < step < 0.1


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_partial_fit_rejects_early_stopping(Est):
    X, y = _data_for(Est)
    est = Est(early_stopping=True, max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        est.partial_fit(X, y)


def test_partial_fit_held_coefs_are_updated_in_place():
    # As in scikit-learn, partial_fit updates the arrays a user already holds.
    X, y = _iris()
    clf = MLPClassifier(hidden_layer_sizes=(5,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    held = clf.coefs_[0]
    snapshot = held.copy()
    clf.partial_fit(X, y)
    assert not np.array_equal(held, snapshot)
    assert_array_equal(held, clf.coefs_[0])


# ------------------------------------------------------------------ warm_start


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_warm_start(Est, solver):
    X, y = _data_for(Est)
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=5, random_state=0)
    cold = Est(**params).fit(X, y)
    cold_again = Est(**params).fit(X, y).fit(X, y)  # warm_start=False: refit from scratch
    for a, b in zip(cold.coefs_, cold_again.coefs_):
        assert_allclose(a, b, rtol=1e-12)

    warm = Est(warm_start=True, **params).fit(X, y).fit(X, y)
    assert warm.n_iter_ == 5  # sklearn#24764: counts this fit's iterations
    theirs = TWINS[Est](warm_start=True, **params).fit(X, y).fit(X, y)
    for a, b in zip(warm.coefs_ + warm.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert_allclose(a, b, rtol=1e-5, atol=1e-8)
    assert not np.allclose(warm.coefs_[0], cold.coefs_[0])


def test_warm_start_rejects_different_classes():
    X, y = _iris()
    clf = MLPClassifier(warm_start=True, max_iter=3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X[y < 2], y[y < 2])


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_warm_start_from_user_replaced_weights_matches_sklearn(Est):
    X, y = _data_for(Est)
    params = dict(hidden_layer_sizes=(6,), max_iter=1, warm_start=True, random_state=0)
    ours = Est(**params).fit(X, y)
    theirs = TWINS[Est](**params).fit(X, y)
    rng = np.random.RandomState(5)
    coefs = [rng.uniform(-0.5, 0.5, c.shape) for c in ours.coefs_]
    intercepts = [rng.uniform(-0.5, 0.5, b.shape) for b in ours.intercepts_]
    ours.coefs_ = [c.copy() for c in coefs]
    ours.intercepts_ = [b.copy() for b in intercepts]
    theirs.coefs_ = [c.copy() for c in coefs]
    theirs.intercepts_ = [b.copy() for b in intercepts]
    ours.fit(X, y)
    theirs.fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert_allclose(a, b, rtol=1e-7, atol=1e-9)


# ------------------------------------------------------------- early stopping


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_early_stopping_attributes(Est):
    if Est is MLPClassifier:  # binary: the split is scikit-learn's stratified one
        X, y = make_classification(n_samples=150, n_features=5, random_state=3)
    else:
        X, y = _data_for(Est)
    est = Est(
        hidden_layer_sizes=(6,), early_stopping=True, n_iter_no_change=3, max_iter=60, random_state=0
    ).fit(X, y)
    assert isinstance(est.validation_scores_, list)
    assert len(est.validation_scores_) == est.n_iter_ == len(est.loss_curve_)
    assert est.best_validation_score_ == pytest.approx(max(est.validation_scores_))
    assert est.best_loss_ is None
    # the restored weights are the best ones on the validation split
    _, X_val, _, y_val = train_test_split(
        X, y, random_state=_split_state(est, X), test_size=0.1,
        stratify=y if Est is MLPClassifier else None,
    )
    assert est.score(X_val, y_val) == pytest.approx(est.best_validation_score_)


def _split_state(est, X):
    """random_state=0 after the weight draws, where the validation split is drawn."""
    rs = np.random.RandomState(0)
    layer_units = [X.shape[1], *est.hidden_layer_sizes, est.n_outputs_]
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        rs.uniform(size=(fan_in, fan_out))  # weights, then intercepts
        rs.uniform(size=fan_out)
    return rs


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_no_early_stopping_attributes(Est):
    X, y = _data_for(Est)
    est = Est(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, y)
    assert est.validation_scores_ is None
    assert est.best_validation_score_ is None
    assert est.best_loss_ == pytest.approx(min(est.loss_curve_))
    assert est.loss_ == pytest.approx(est.loss_curve_[-1])


def test_early_stopping_with_sample_weight_of_ones_is_unweighted():
    # scikit-learn's test_mlp_sample_weight_with_early_stopping
    X, y = make_regression(n_samples=100, n_features=2, n_informative=2, random_state=42)
    params = dict(
        hidden_layer_sizes=10, early_stopping=True, tol=1e-2, learning_rate_init=0.01,
        batch_size=10, random_state=42,
    )
    m1 = MLPRegressor(**params).fit(X, y, sample_weight=np.ones_like(y))
    m2 = MLPRegressor(**params).fit(X, y)
    assert_allclose(m1.predict(X), m2.predict(X))


def test_validation_set_too_small():
    X, y = make_regression(n_samples=2, n_features=5, random_state=0)
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor(early_stopping=True, random_state=0).fit(X, y)


# ------------------------------------------------------------- view semantics


def _root(a):
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_parameters_are_views_into_one_buffer(Est, solver):
    X, y = _data_for(Est)
    est = Est(hidden_layer_sizes=(6, 4), solver=solver, max_iter=5, random_state=0).fit(X, y)
    arrays = est.coefs_ + est.intercepts_
    roots = {id(_root(a)) for a in arrays}
    assert len(roots) == 1
    assert all(a.base is not None for a in arrays)
    # disjoint pieces: editing one leaves the others alone
    snapshot = [a.copy() for a in arrays]
    est.coefs_[1][...] = 123.0
    for a, s in zip(arrays, snapshot):
        if a is not est.coefs_[1]:
            assert_array_equal(a, s)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_in_place_edits_change_predictions(Est):
    X, y = _data_for(Est)
    est = Est(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, y)
    before = _proba_or_values(est, X).copy()

    est.coefs_[0][0, 0] = 5.0
    after_one = _proba_or_values(est, X)
    assert not np.allclose(after_one, before)
    assert_allclose(after_one, _reference_proba_or_values(est, X), rtol=1e-10, atol=1e-12)

    est.coefs_[0][:] = 0  # hidden units no longer depend on x: all rows equal
    out = _proba_or_values(est, X)
    assert_allclose(out, np.broadcast_to(out[0], out.shape), rtol=1e-12)
    assert_allclose(out, _reference_proba_or_values(est, X), rtol=1e-10, atol=1e-12)

    est.intercepts_[-1] += 1.0
    assert_allclose(_proba_or_values(est, X), _reference_proba_or_values(est, X), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_replacing_parameter_lists_changes_predictions(Est):
    X, y = _data_for(Est)
    est = Est(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, y)
    rng = np.random.RandomState(1)
    est.coefs_ = [rng.randn(*c.shape) for c in est.coefs_]
    est.intercepts_ = [rng.randn(*b.shape) for b in est.intercepts_]
    assert_allclose(_proba_or_values(est, X), _reference_proba_or_values(est, X), rtol=1e-10, atol=1e-12)
    # and edits through the attribute keep working afterwards
    est.coefs_[0][1, 2] = -4.0
    assert est.coefs_[0][1, 2] == -4.0
    assert_allclose(_proba_or_values(est, X), _reference_proba_or_values(est, X), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_replacing_one_layer_changes_predictions(Est):
    # coefs_ is a list, as in scikit-learn: assigning one element is an edit too.
    X, y = _data_for(Est)
    est = Est(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, y)
    theirs = TWINS[Est](hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, y)
    new = np.random.RandomState(2).randn(*est.coefs_[1].shape)
    est.coefs_[1] = new.copy()
    theirs.coefs_[1] = new.copy()
    assert_allclose(_proba_or_values(est, X), _proba_or_values(theirs, X), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_in_place_edits_are_trained_from(Est):
    X, y = _data_for(Est)
    extra = {"classes": np.unique(y)} if Est is MLPClassifier else {}
    params = dict(hidden_layer_sizes=(6,), solver="sgd", shuffle=False, random_state=0)
    ours = Est(**params).partial_fit(X, y, **extra)
    theirs = TWINS[Est](**params).partial_fit(X, y, **extra)
    for est in (ours, theirs):
        est.coefs_[0][:] = 0.1
        est.intercepts_[0][0] = -1.0
    ours.partial_fit(X, y)
    theirs.partial_fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert_allclose(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("how", ["list", "item"])
def test_replaced_weights_are_trained_from(Est, how):
    X, y = _data_for(Est)
    extra = {"classes": np.unique(y)} if Est is MLPClassifier else {}
    params = dict(hidden_layer_sizes=(6,), solver="sgd", shuffle=False, random_state=0)
    ours = Est(**params).partial_fit(X, y, **extra)
    theirs = TWINS[Est](**params).partial_fit(X, y, **extra)
    new = [np.random.RandomState(i).randn(*c.shape) for i, c in enumerate(ours.coefs_)]
    for est in (ours, theirs):
        if how == "list":
            est.coefs_ = [c.copy() for c in new]
        else:
            est.coefs_[0] = new[0].copy()
    ours.partial_fit(X, y)
    theirs.partial_fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert_allclose(a, b, rtol=1e-7, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 6), min_size=0, max_size=3).map(tuple),
    activation=st.sampled_from(["identity", "logistic", "tanh", "relu"]),
    target=st.sampled_from(["binary", "multiclass", "multilabel", "regression", "multioutput-regression"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    edit=st.tuples(st.integers(0, 10**6), st.floats(-3, 3)),
)
def test_predictions_follow_edited_weights(hidden, activation, target, dtype, edit):
    Est, X, y = TARGETS[target]()
    X = StandardScaler().fit_transform(X).astype(dtype)
    if Est is MLPRegressor:
        y = y / np.std(y, axis=0)
    est = Est(hidden_layer_sizes=hidden, activation=activation, max_iter=3, random_state=0).fit(X, y)
    layer = edit[0] % len(est.coefs_)
    flat = est.coefs_[layer].reshape(-1)  # a view of the view
    flat[edit[0] % flat.size] = edit[1]
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert_allclose(_proba_or_values(est, X), _reference_proba_or_values(est, X), **tol)


# ----------------------------------------------------------------- pickling


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_pickle_round_trip(Est, solver):
    X, y = _data_for(Est)
    est = Est(hidden_layer_sizes=(6, 3), solver=solver, max_iter=10, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    assert type(loaded) is Est
    assert_array_equal(_proba_or_values(loaded, X), _proba_or_values(est, X))
    if is_classifier(est):
        assert_array_equal(loaded.predict(X), est.predict(X))
    # the loaded parameters are still views the model reads
    loaded.coefs_[0][:] = 0
    assert_allclose(_proba_or_values(loaded, X), _reference_proba_or_values(loaded, X), rtol=1e-10, atol=1e-12)
    assert not np.allclose(_proba_or_values(est, X), _proba_or_values(loaded, X))  # independent copy


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_pickled_model_continues_training_identically(Est):
    X, y = _data_for(Est)
    extra = {"classes": np.unique(y)} if Est is MLPClassifier else {}
    est = Est(hidden_layer_sizes=(6,), random_state=0)
    est.partial_fit(X, y, **extra)
    loaded = pickle.loads(pickle.dumps(est))
    deep = copy.deepcopy(est)
    for m in (est, loaded, deep):
        m.partial_fit(X, y)
        m.partial_fit(X, y)
    for other in (loaded, deep):
        for a, b in zip(est.coefs_ + est.intercepts_, other.coefs_ + other.intercepts_):
            assert_allclose(a, b, rtol=1e-12, atol=0)
        assert other.t_ == est.t_
        assert other.loss_curve_ == pytest.approx(est.loss_curve_, rel=1e-12)


def test_joblib_loaded_model_fine_tunes():
    # scikit-learn's test_mlp_loading_from_joblib_partial_fit (#19626)
    import io

    import joblib

    est = MLPRegressor(hidden_layer_sizes=(42,), random_state=42, learning_rate_init=0.01, max_iter=200)
    est.fit([[2]], [4])
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    for _ in range(200):
        loaded.partial_fit([[2]], [1])
    assert_allclose(loaded.predict([[2]]), [1], rtol=1e-4)


# -------------------------------------------------------------- sparse input


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_sparse_input_matches_dense(Est, solver, container):
    X, y = _data_for(Est)
    X = np.where(np.random.RandomState(0).rand(*X.shape) < 0.4, 0.0, X)
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=10, batch_size=32, random_state=0)
    dense = Est(**params).fit(X, y)
    sparse = Est(**params).fit(container(X), y)
    for a, b in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert_allclose(_proba_or_values(sparse, container(X)), _proba_or_values(dense, X), rtol=1e-9, atol=1e-11)
    assert_allclose(_proba_or_values(dense, container(X)), _proba_or_values(dense, X), rtol=1e-12, atol=1e-14)


def _quirky_csr(X):
    """X as CSR with unsorted column indices, duplicate entries, explicit zeros
    and 64-bit index arrays: legal CSR that canonical-format code can trip on."""
    rows, cols = np.nonzero(X)
    vals = X[rows, cols]
    # split every value into two duplicate entries and add explicit zeros
    rows = np.concatenate([rows, rows, np.arange(X.shape[0])])
    cols = np.concatenate([cols, cols, np.zeros(X.shape[0], dtype=int)])
    vals = np.concatenate([0.25 * vals, 0.75 * vals, np.zeros(X.shape[0])])
    order = np.lexsort((-cols, rows))  # row-major, columns descending
    rows, cols, vals = rows[order], cols[order], vals[order]
    indptr = np.searchsorted(rows, np.arange(X.shape[0] + 1)).astype(np.int64)
    M = sp.csr_matrix((vals, cols.astype(np.int64), indptr), shape=X.shape)
    assert not M.has_sorted_indices or M.nnz > np.count_nonzero(X)
    return M


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_non_canonical_csr_matches_dense(Est, solver):
    X, y = _data_for(Est)
    X = np.where(np.random.RandomState(1).rand(*X.shape) < 0.4, 0.0, X)
    quirky = _quirky_csr(X)
    assert_allclose(quirky.toarray(), X, rtol=1e-15)
    params = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=10, batch_size=32, random_state=0)
    dense = Est(**params).fit(X, y)
    sparse = Est(**params).fit(quirky, y)
    for a, b in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert_allclose(_proba_or_values(dense, _quirky_csr(X)), _proba_or_values(dense, X), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_very_sparse_wide_input_with_empty_rows_matches_dense(Est):
    rng = np.random.RandomState(0)
    X = sp.random(120, 60, density=0.03, random_state=rng).toarray()
    X[:, :5] = 0.0  # empty columns too
    Xs = sp.csr_matrix(X)
    assert (Xs.getnnz(axis=1) == 0).any() and (Xs.getnnz(axis=0) == 0).any()
    y = (X.sum(axis=1) > np.median(X.sum(axis=1))).astype(int) if Est is MLPClassifier else X.sum(axis=1)
    params = dict(hidden_layer_sizes=(8,), max_iter=5, batch_size=16, random_state=0)
    dense = Est(**params).fit(X, y)
    sparse = Est(**params).fit(Xs, y)
    for a, b in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-11)


# --------------------------------------------------------- hidden_layer_sizes


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize(
    "hidden, units",
    [((), []), (5, [5]), ((5,), [5]), ([4, 3], [4, 3]), (np.array([4, 3]), [4, 3])],
    ids=["empty", "int", "tuple", "list", "ndarray"],
)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_hidden_layer_sizes_forms(Est, hidden, units, solver):
    X, y = _data_for(Est)
    est = Est(hidden_layer_sizes=hidden, solver=solver, max_iter=5, random_state=0).fit(X, y)
    n_out = est.n_outputs_
    sizes = [X.shape[1], *units, n_out]
    assert est.n_layers_ == len(sizes)
    assert [c.shape for c in est.coefs_] == list(zip(sizes[:-1], sizes[1:]))
    assert [b.shape for b in est.intercepts_] == [(s,) for s in sizes[1:]]
    theirs = TWINS[Est](hidden_layer_sizes=hidden, solver=solver, max_iter=5, random_state=0).fit(X, y)
    for a, b in zip(est.coefs_, theirs.coefs_):
        assert_allclose(a, b, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------ n_iter_no_change


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_n_iter_no_change_inf_runs_max_iter(Est, solver, early_stopping):
    # A huge tol makes every epoch a "no improvement" one; with inf patience
    # training still runs all max_iter epochs.
    X, y = _data_for(Est)
    est = Est(
        hidden_layer_sizes=(4,), solver=solver, tol=1e9, n_iter_no_change=np.inf,
        max_iter=40, early_stopping=early_stopping, random_state=0,
    ).fit(X, y)
    assert est.n_iter_ == 40
    assert len(est.loss_curve_) == 40
    finite = Est(
        hidden_layer_sizes=(4,), solver=solver, tol=1e9, n_iter_no_change=5,
        max_iter=40, early_stopping=early_stopping, random_state=0,
    ).fit(X, y)
    assert finite.n_iter_ == 7  # stops once 6 > 5 epochs did not improve


# ----------------------------------------------------- layouts, sizes, weights


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_memory_layout_does_not_change_results(Est):
    X, y = _data_for(Est)
    params = dict(hidden_layer_sizes=(6,), max_iter=5, batch_size=16, random_state=0)
    c_order = Est(**params).fit(np.ascontiguousarray(X), y)
    f_order = Est(**params).fit(np.asfortranarray(X), y)
    wide = np.repeat(X, 2, axis=1)[:, ::2]  # a strided, non-contiguous view of X
    strided = Est(**params).fit(wide, y)
    for other in (f_order, strided):
        for a, b in zip(c_order.coefs_ + c_order.intercepts_, other.coefs_ + other.intercepts_):
            assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert_allclose(_proba_or_values(c_order, wide), _proba_or_values(c_order, X), rtol=1e-12)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_prediction_of_many_rows_matches_reference(Est):
    # More rows than any reasonable inference chunk, and not a multiple of one.
    X, y = _data_for(Est)
    est = Est(hidden_layer_sizes=(7, 5), max_iter=5, random_state=0).fit(X, y)
    big = np.random.RandomState(0).randn(20_011, X.shape[1])
    assert_allclose(_proba_or_values(est, big), _reference_proba_or_values(est, big), rtol=1e-10, atol=1e-12)
    assert_allclose(_proba_or_values(est, big[-3:]), _proba_or_values(est, big)[-3:], rtol=1e-12)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_integer_sample_weight_equals_repeated_rows_with_lbfgs(Est):
    X, y = _data_for(Est)
    weights = np.random.RandomState(0).randint(0, 4, size=len(X))
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=30, random_state=0)
    weighted = Est(**params).fit(X, y, sample_weight=weights)
    repeated = Est(**params).fit(np.repeat(X, weights, axis=0), np.repeat(y, weights, axis=0))
    assert_allclose(weighted.loss_, repeated.loss_, rtol=1e-6)
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, repeated.coefs_ + repeated.intercepts_):
        assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_batch_size_larger_than_data_is_clipped_with_warning(Est):
    X, y = _data_for(Est)
    with pytest.warns(UserWarning, match="batch_size"):
        big = Est(hidden_layer_sizes=(5,), solver="sgd", batch_size=1000, max_iter=2, random_state=0).fit(X, y)
    full = Est(hidden_layer_sizes=(5,), solver="sgd", batch_size=len(X), max_iter=2, random_state=0).fit(X, y)
    for a, b in zip(big.coefs_, full.coefs_):
        assert_allclose(a, b, rtol=1e-12)


def test_column_vector_target_is_raveled_with_warning():
    from sklearn.exceptions import DataConversionWarning

    X, y = _iris()
    with pytest.warns(DataConversionWarning):
        clf = MLPClassifier(max_iter=3, random_state=0).fit(X, y.reshape(-1, 1))
    assert clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    assert clf.predict(X).shape == (len(X),)


# ------------------------------------------- documented differences (README)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("model_dtype, input_dtype", [(np.float32, np.float64), (np.float64, np.float32)])
def test_prediction_inputs_are_cast_to_the_model_dtype(Est, model_dtype, input_dtype):
    # README: "prediction inputs are cast to it" (scikit-learn promotes instead).
    X, y = _data_for(Est)
    est = Est(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X.astype(model_dtype), y)
    out = _proba_or_values(est, X.astype(input_dtype))
    assert out.dtype == model_dtype
    assert_array_equal(out, _proba_or_values(est, X.astype(input_dtype).astype(model_dtype)))


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_training_on_another_dtype_moves_the_model_to_it(Est, how):
    # README: "The model's dtype is the training data's".
    X, y = _data_for(Est)
    extra = {"classes": np.unique(y)} if (Est is MLPClassifier and how == "partial_fit") else {}
    est = Est(hidden_layer_sizes=(6,), max_iter=3, warm_start=True, random_state=0)
    if how == "partial_fit":
        est.partial_fit(X.astype(np.float32), y, **extra)
        start = [c.astype(np.float64) for c in est.coefs_]
        est.partial_fit(X, y)
    else:
        est.fit(X.astype(np.float32), y)
        start = [c.astype(np.float64) for c in est.coefs_]
        est.fit(X, y)
    assert all(a.dtype == np.float64 for a in est.coefs_ + est.intercepts_)
    assert _proba_or_values(est, X).dtype == np.float64
    # training went on from the float32 weights
    step = max(np.abs(a - b).max() for a, b in zip(start, est.coefs_))
    assert 0 < step < 0.5


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_non_finite_update_raises_and_keeps_previous_parameters(how):
    # README: the fit stops where parameters become non-finite, raises
    # scikit-learn's error and leaves the parameters as before the call.
    X, y = _data_for(MLPRegressor)
    est = MLPRegressor(hidden_layer_sizes=(6,), solver="sgd", max_iter=3, warm_start=True, random_state=0)
    est.fit(X, y) if how == "warm_start" else est.partial_fit(X, y)
    before = [a.copy() for a in est.coefs_ + est.intercepts_]
    pred_before = est.predict(X)
    huge = np.full_like(X, np.finfo(np.float64).max / 10)
    with pytest.raises(ValueError, match="non-finite parameter weights"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "warm_start":
            est.fit(huge, y)
        else:
            est.partial_fit(huge, y)
    for a, b in zip(est.coefs_ + est.intercepts_, before):
        assert_array_equal(a, b)
    assert_array_equal(est.predict(X), pred_before)


@settings(max_examples=80, deadline=None)
@given(dtype=st.sampled_from(["bool", "int8", "uint8", "int32", "int64", "uint64"]),
       n_distinct=st.integers(1, 5), n=st.integers(1, 40), data=st.data())
def test_label_binarizer_fast_path_fits_as_labelbinarizer_does(dtype, n_distinct, n, data):
    # integer and boolean labels skip LabelBinarizer.fit's generic checks;
    # the result must be the binarizer fit would have made
    from sklearn.preprocessing import LabelBinarizer

    from fastmlp._classifier import _fitted_label_binarizer

    values = [False, True] if dtype == "bool" else list(range(3, 3 + 2 * n_distinct, 2))
    y = np.asarray(data.draw(st.lists(st.sampled_from(values), min_size=n, max_size=n)),
                   dtype=dtype)
    ours, theirs = _fitted_label_binarizer(y), LabelBinarizer().fit(y)
    assert ours.y_type_ == theirs.y_type_
    assert ours.sparse_input_ == theirs.sparse_input_
    assert ours.classes_.dtype == theirs.classes_.dtype
    assert_array_equal(ours.classes_, theirs.classes_)
    assert_array_equal(ours.transform(y), theirs.transform(y))
    assert_array_equal(ours.inverse_transform(theirs.transform(y)),
                       theirs.inverse_transform(theirs.transform(y)))


def test_parameter_names_of_subclasses_are_their_own():
    # the names are cached per class (fastmlp/_base.py): a subclass with its
    # own parameter must still list, clone and validate it
    class Wider(MLPClassifier):
        def __init__(self, width=3, **kwargs):
            self.width = width
            super().__init__(hidden_layer_sizes=(width,), **kwargs)

    assert "width" in Wider().get_params()
    assert "width" not in MLPClassifier().get_params()
    assert sorted(MLPRegressor().get_params()) == sorted(
        inspect.signature(MLPRegressor.__init__).parameters.keys() - {"self"})
    assert clone(Wider(width=5)).width == 5
    names = MLPClassifier._get_param_names()
    names.append("mutated")
    assert "mutated" not in MLPClassifier._get_param_names()


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_the_docstring_describes_every_parameter_in_the_signatures_order(Est):
    documented = re.findall(r"^    (\w+) : ", Est.__doc__.split("    Attributes\n")[0], re.M)
    assert documented == [name for name in inspect.signature(Est.__init__).parameters
                          if name != "self"]
