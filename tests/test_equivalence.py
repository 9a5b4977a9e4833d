"""Numerical equivalence with the installed scikit-learn (issue 2, the drop-in promise).

Same settings and random_state, float64 throughout:

- after ``max_iter=1`` (and a few epochs for the learning-rate schedules) with adam
  and with sgd (momentum, with and without Nesterov), ``coefs_``/``intercepts_`` equal
  scikit-learn's to rtol 1e-7, atol 1e-9;
- after a full default fit, predictions agree on >= 99% of rows and ``loss_curve_``
  agrees to rtol 1e-4 for the first 10 epochs;
- lbfgs with ``max_iter=20`` agrees to rtol 1e-5.

The only differences are the documented fixes, tested in test_sklearn_fixes.py; the
cases here avoid them (lbfgs is single-output for squared error, multiclass early
stopping is not used, partial_fit is called once or without shuffling).
"""

import functools

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import neural_network as sk
from sklearn.datasets import (
    load_digits,
    load_iris,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # batch_size > n_samples is clipped with a UserWarning, as in scikit-learn
    pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning"),
]

# Differences come only from BLAS summation order (~1e-16 per operation).
RTOL, ATOL = 1e-7, 1e-9
LBFGS_RTOL = 1e-5

TWINS = {MLPClassifier: sk.MLPClassifier, MLPRegressor: sk.MLPRegressor}


# --------------------------------------------------------------------- datasets
# Small on purpose: the whole file should run in well under a minute.


@functools.lru_cache(maxsize=None)
def _data(name):
    rng = np.random.RandomState(42)
    if name == "binary":
        X, y = make_classification(
            n_samples=120, n_features=6, n_informative=4, random_state=0
        )
    elif name == "iris":
        X, y = load_iris(return_X_y=True)
    elif name == "iris_strings":
        iris = load_iris()
        X, y = iris.data, iris.target_names[iris.target].astype(object)
    elif name == "int_labels":
        X, y = load_iris(return_X_y=True)
        y = np.array([-3, 7, 10])[y]
    elif name == "digits":
        X, y = load_digits(return_X_y=True)
        X, y = X[:300] / 16.0, y[:300]
    elif name == "multilabel":
        X, y = make_multilabel_classification(
            n_samples=100, n_features=8, n_classes=3, random_state=0
        )
    elif name == "regression":
        X, y = make_regression(
            n_samples=120, n_features=6, noise=0.5, random_state=0
        )
        y = y / y.std()
    elif name == "regression_multi":
        X, y = make_regression(
            n_samples=120, n_features=6, n_targets=3, noise=0.5, random_state=0
        )
        y = y / y.std(axis=0)
    elif name == "regression_large":
        X, y = make_regression(
            n_samples=400, n_features=10, noise=1.0, random_state=0
        )
        y = y / y.std()
    elif name == "poisson":
        X = rng.uniform(-1, 1, size=(120, 4))
        y = rng.poisson(np.exp(X @ np.array([0.5, -0.3, 0.8, 0.1]) + 0.5))
        y = y.astype(np.float64)
    elif name == "poisson_multi":
        X = rng.uniform(-1, 1, size=(120, 4))
        W = np.array([[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1], [0.1, 0.4]])
        y = rng.poisson(np.exp(X @ W + 0.3)).astype(np.float64)
    else:  # pragma: no cover
        raise KeyError(name)
    if name != "digits":
        X = StandardScaler().fit_transform(X)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _sparse(X, fmt):
    """X with about half of its entries zeroed, as a sparse matrix."""
    X = np.where(np.random.RandomState(0).rand(*X.shape) < 0.5, 0.0, X)
    return sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)


def _sample_weight(n):
    return np.random.RandomState(1).uniform(0.2, 3.0, size=n)


# ---------------------------------------------------------------------- helpers


def _fit_both(Est, params, X, y, **fit_params):
    ours = Est(**params).fit(X, y, **fit_params)
    theirs = TWINS[Est](**params).fit(X, y, **fit_params)
    return ours, theirs


def _assert_same_params(ours, theirs, rtol=RTOL, atol=ATOL):
    assert len(ours.coefs_) == len(theirs.coefs_)
    assert len(ours.intercepts_) == len(theirs.intercepts_)
    for i, (a, b) in enumerate(zip(ours.coefs_, theirs.coefs_)):
        assert a.shape == b.shape
        assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"coefs_[{i}]")
    for i, (a, b) in enumerate(zip(ours.intercepts_, theirs.intercepts_)):
        assert a.shape == b.shape
        assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"intercepts_[{i}]")


def _assert_same_stochastic_fit(ours, theirs, X, rtol=RTOL, atol=ATOL):
    """Weights, bookkeeping and outputs of two stochastic-solver fits match."""
    _assert_same_params(ours, theirs, rtol, atol)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol, atol=atol)
    assert_allclose(ours.loss_, theirs.loss_, rtol=rtol, atol=atol)
    if isinstance(ours, MLPClassifier):
        assert_array_equal(ours.classes_, theirs.classes_)
        assert_array_equal(ours.predict(X), theirs.predict(X))
        assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol, atol)
    else:
        assert_allclose(ours.predict(X), theirs.predict(X), rtol=rtol, atol=atol)


# -------------------------------------------- one epoch, every target type/option

STOCHASTIC = {
    "adam": dict(solver="adam"),
    "sgd-momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False),
    "sgd-nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
}

# (id, estimator, dataset, extra parameters, input format, with sample_weight)
ONE_EPOCH_CASES = [
    ("binary", MLPClassifier, "binary", {}, "dense", False),
    ("multiclass-iris", MLPClassifier, "iris", {}, "dense", False),
    ("multiclass-digits", MLPClassifier, "digits", dict(hidden_layer_sizes=(16, 8)), "dense", False),
    ("multilabel", MLPClassifier, "multilabel", {}, "dense", False),
    ("string-labels", MLPClassifier, "iris_strings", {}, "dense", False),
    ("int-labels", MLPClassifier, "int_labels", {}, "dense", False),
    ("regression", MLPRegressor, "regression", {}, "dense", False),
    ("regression-multioutput", MLPRegressor, "regression_multi", {}, "dense", False),
    ("poisson", MLPRegressor, "poisson", dict(loss="poisson"), "dense", False),
    ("poisson-multioutput", MLPRegressor, "poisson_multi", dict(loss="poisson"), "dense", False),
    ("sample-weight-clf", MLPClassifier, "iris", {}, "dense", True),
    ("sample-weight-reg", MLPRegressor, "regression_multi", {}, "dense", True),
    ("no-shuffle", MLPClassifier, "iris", dict(shuffle=False), "dense", False),
    ("alpha", MLPRegressor, "regression", dict(alpha=0.5), "dense", False),
    ("alpha-clf", MLPClassifier, "digits", dict(alpha=0.1), "dense", False),
    # 120 = 3 * 32 + 24 and 150 = 21 * 7 + 3: the last batch is partial.
    ("partial-batch-reg", MLPRegressor, "regression", dict(batch_size=32), "dense", False),
    ("partial-batch-clf", MLPClassifier, "iris", dict(batch_size=7), "dense", False),
    ("batch-larger-than-n", MLPClassifier, "binary", dict(batch_size=500), "dense", False),
    ("batch-auto", MLPClassifier, "digits", dict(batch_size="auto"), "dense", False),  # 200 + 100
    ("batch-size-1", MLPRegressor, "regression", dict(batch_size=1), "dense", False),
    ("no-hidden-layer", MLPClassifier, "iris", dict(hidden_layer_sizes=()), "dense", False),
    ("three-hidden-layers", MLPRegressor, "regression", dict(hidden_layer_sizes=(9, 7, 5)), "dense", False),
    ("sparse-csr-clf", MLPClassifier, "binary", {}, "csr", False),
    ("sparse-csr-reg", MLPRegressor, "regression_multi", {}, "csr", False),
    ("sparse-csc", MLPClassifier, "iris", {}, "csc", False),
    ("sparse-csr-weighted", MLPRegressor, "regression", dict(batch_size=32), "csr", True),
]


@pytest.mark.parametrize("solver", list(STOCHASTIC), ids=list(STOCHASTIC))
@pytest.mark.parametrize(
    "Est, data, extra, fmt, weighted",
    [c[1:] for c in ONE_EPOCH_CASES],
    ids=[c[0] for c in ONE_EPOCH_CASES],
)
def test_one_epoch_matches_sklearn(solver, Est, data, extra, fmt, weighted):
    X, y = _data(data)
    if fmt != "dense":
        X = _sparse(X, fmt)
    fit_params = {"sample_weight": _sample_weight(X.shape[0])} if weighted else {}
    # batch_size=32 gives several optimizer steps per epoch and a partial last
    # batch on every dataset here (100, 120, 150, 300 rows).
    params = dict(
        hidden_layer_sizes=(12, 7), max_iter=1, batch_size=32, random_state=0, **STOCHASTIC[solver]
    )
    params.update(extra)
    ours, theirs = _fit_both(Est, params, X, y, **fit_params)
    _assert_same_stochastic_fit(ours, theirs, X)


@pytest.mark.parametrize("solver", list(STOCHASTIC), ids=list(STOCHASTIC))
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("Est, data", [(MLPClassifier, "iris"), (MLPRegressor, "regression_multi")])
def test_every_activation_matches_sklearn(solver, activation, Est, data):
    X, y = _data(data)
    params = dict(
        hidden_layer_sizes=(10, 6),
        activation=activation,
        max_iter=2,
        batch_size=16,
        random_state=3,
        **STOCHASTIC[solver],
    )
    ours, theirs = _fit_both(Est, params, X, y)
    _assert_same_stochastic_fit(ours, theirs, X)


# --------------------------------------------------------- learning-rate schedules

SCHEDULE_SOLVERS = {
    "sgd-momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False),
    "sgd-nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
    "sgd-plain": dict(solver="sgd", momentum=0.0),
}


@pytest.mark.parametrize("solver", list(SCHEDULE_SOLVERS), ids=list(SCHEDULE_SOLVERS))
@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("Est, data", [(MLPClassifier, "iris"), (MLPRegressor, "regression")])
def test_learning_rate_schedules_match_sklearn(solver, learning_rate, Est, data):
    # A huge tol makes every epoch after the first count as "no improvement":
    # with n_iter_no_change=1 the adaptive rate is divided by 5 at epochs 3, 5
    # and 7, while constant/invscaling stop at epoch 3.
    X, y = _data(data)
    params = dict(
        hidden_layer_sizes=(10,),
        learning_rate=learning_rate,
        learning_rate_init=0.05,
        power_t=0.6,
        max_iter=7,
        tol=1e6,
        n_iter_no_change=1,
        batch_size=25,
        random_state=1,
        **SCHEDULE_SOLVERS[solver],
    )
    ours, theirs = _fit_both(Est, params, X, y)
    _assert_same_stochastic_fit(ours, theirs, X)
    if learning_rate == "adaptive":
        assert ours.n_iter_ == 7
    else:
        assert ours.n_iter_ == 3


@pytest.mark.parametrize("Est, data", [(MLPClassifier, "iris"), (MLPRegressor, "regression")])
@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
def test_several_epochs_match_sklearn(Est, data, learning_rate):
    # Without the huge tol: ordinary multi-epoch training, invscaling decaying
    # the rate epoch by epoch.
    X, y = _data(data)
    params = dict(
        hidden_layer_sizes=(10,),
        solver="sgd",
        learning_rate=learning_rate,
        learning_rate_init=0.02,
        max_iter=10,
        batch_size=20,
        random_state=2,
    )
    ours, theirs = _fit_both(Est, params, X, y)
    _assert_same_stochastic_fit(ours, theirs, X)


@pytest.mark.parametrize("Est, data", [(MLPClassifier, "digits"), (MLPRegressor, "regression_multi")])
def test_adam_hyperparameters_match_sklearn(Est, data):
    X, y = _data(data)
    params = dict(
        hidden_layer_sizes=(10,),
        learning_rate_init=0.003,
        beta_1=0.8,
        beta_2=0.95,
        epsilon=1e-6,
        max_iter=5,
        batch_size=40,
        random_state=4,
    )
    ours, theirs = _fit_both(Est, params, X, y)
    _assert_same_stochastic_fit(ours, theirs, X)


# ------------------------------------------------------------------ early stopping


@pytest.mark.parametrize("solver", list(STOCHASTIC), ids=list(STOCHASTIC))
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_early_stopping_binary_matches_sklearn(solver, weighted):
    # Binary (one output column): the split is stratified like scikit-learn's.
    X, y = _data("binary")
    fit_params = {"sample_weight": _sample_weight(X.shape[0])} if weighted else {}
    params = dict(
        hidden_layer_sizes=(8,),
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        tol=1e-3,
        max_iter=30,
        batch_size=16,
        random_state=5,
        **STOCHASTIC[solver],
    )
    ours, theirs = _fit_both(MLPClassifier, params, X, y, **fit_params)
    _assert_same_stochastic_fit(ours, theirs, X)
    assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)
    assert ours.best_loss_ is None


def test_early_stopping_regression_matches_sklearn():
    X, y = _data("regression")
    params = dict(
        hidden_layer_sizes=(8,),
        early_stopping=True,
        n_iter_no_change=2,
        max_iter=25,
        batch_size=20,
        random_state=6,
    )
    ours, theirs = _fit_both(MLPRegressor, params, X, y)
    _assert_same_stochastic_fit(ours, theirs, X)
    assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=RTOL)
    assert_allclose(ours.best_validation_score_, theirs.best_validation_score_, rtol=RTOL)


# ----------------------------------------------------- stopping on training loss


@pytest.mark.parametrize("Est, data", [(MLPClassifier, "iris"), (MLPRegressor, "regression")])
def test_tol_stopping_matches_sklearn(Est, data):
    X, y = _data(data)
    params = dict(
        hidden_layer_sizes=(6,), tol=1e-2, n_iter_no_change=2, max_iter=300, random_state=7
    )
    ours, theirs = _fit_both(Est, params, X, y)
    assert theirs.n_iter_ < 300  # the tolerance, not max_iter, stopped it
    _assert_same_stochastic_fit(ours, theirs, X)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=RTOL)


# ------------------------------------------------ random_state, warm start, partial_fit


def test_random_state_instance_matches_sklearn():
    X, y = _data("iris")
    params = dict(hidden_layer_sizes=(10,), max_iter=3)
    ours = MLPClassifier(random_state=np.random.RandomState(11), **params).fit(X, y)
    theirs = sk.MLPClassifier(random_state=np.random.RandomState(11), **params).fit(X, y)
    _assert_same_stochastic_fit(ours, theirs, X)


@pytest.mark.parametrize("Est, data", [(MLPClassifier, "iris"), (MLPRegressor, "regression")])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_matches_sklearn(Est, data, solver):
    # The second fit continues from the first one's weights (and, as in
    # scikit-learn, starts a fresh optimizer).
    X, y = _data(data)
    params = dict(hidden_layer_sizes=(10,), solver=solver, max_iter=2, warm_start=True, random_state=8)
    ours, theirs = _fit_both(Est, params, X, y)
    ours.set_params(max_iter=3)
    theirs.set_params(max_iter=3)
    ours.fit(X, y)
    theirs.fit(X, y)
    _assert_same_stochastic_fit(ours, theirs, X)


@pytest.mark.parametrize("solver", list(STOCHASTIC), ids=list(STOCHASTIC))
def test_first_partial_fit_matches_sklearn(solver):
    X, y = _data("iris")
    params = dict(hidden_layer_sizes=(10,), random_state=9, batch_size=30, **STOCHASTIC[solver])
    ours = MLPClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    theirs = sk.MLPClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    _assert_same_stochastic_fit(ours, theirs, X)


@pytest.mark.parametrize("Est, data", [(MLPClassifier, "iris"), (MLPRegressor, "regression_multi")])
def test_unshuffled_partial_fit_calls_match_sklearn(Est, data):
    # Without shuffling no random draw happens after initialisation, so every
    # partial_fit call (and the optimizer state carried between them) matches.
    X, y = _data(data)
    params = dict(hidden_layer_sizes=(10,), shuffle=False, batch_size=32, random_state=10)
    ours, theirs = Est(**params), TWINS[Est](**params)
    extra = {"classes": np.unique(y)} if Est is MLPClassifier else {}
    for start in (0, 40, 80, 0):
        Xb, yb = X[start : start + 60], y[start : start + 60]
        ours.partial_fit(Xb, yb, **extra)
        theirs.partial_fit(Xb, yb, **extra)
    _assert_same_stochastic_fit(ours, theirs, X)


# ------------------------------------------------------------------------- lbfgs

# (id, estimator, dataset, extra parameters, input format, with sample_weight).
# Squared error stays single-output: multi-output is fix (a).
LBFGS_CASES = [
    ("binary", MLPClassifier, "binary", {}, "dense", False),
    ("multiclass-iris", MLPClassifier, "iris", {}, "dense", False),
    ("multiclass-digits", MLPClassifier, "digits", {}, "dense", False),
    ("multilabel", MLPClassifier, "multilabel", {}, "dense", False),
    ("string-labels", MLPClassifier, "iris_strings", {}, "dense", False),
    ("regression", MLPRegressor, "regression", {}, "dense", False),
    ("poisson", MLPRegressor, "poisson", dict(loss="poisson"), "dense", False),
    # The Poisson loss sums over outputs, so its gradient was always consistent.
    ("poisson-multioutput", MLPRegressor, "poisson_multi", dict(loss="poisson"), "dense", False),
    ("sample-weight-clf", MLPClassifier, "iris", {}, "dense", True),
    ("sample-weight-reg", MLPRegressor, "regression", {}, "dense", True),
    ("alpha", MLPRegressor, "regression", dict(alpha=1.0), "dense", False),
    ("no-hidden-layer", MLPClassifier, "iris", dict(hidden_layer_sizes=()), "dense", False),
    ("two-hidden-layers", MLPClassifier, "binary", dict(hidden_layer_sizes=(8, 5)), "dense", False),
    ("sparse-csr-clf", MLPClassifier, "binary", {}, "csr", False),
    ("sparse-csr-reg", MLPRegressor, "regression", {}, "csr", True),
    ("sparse-csc", MLPClassifier, "iris", {}, "csc", False),
]


def _assert_same_lbfgs_fit(ours, theirs, X):
    assert ours.n_iter_ == theirs.n_iter_
    assert_allclose(ours.loss_, theirs.loss_, rtol=LBFGS_RTOL)
    _assert_same_params(ours, theirs, rtol=LBFGS_RTOL, atol=1e-8)
    if isinstance(ours, MLPClassifier):
        assert_array_equal(ours.predict(X), theirs.predict(X))
        assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=LBFGS_RTOL, atol=1e-8)
    else:
        assert_allclose(ours.predict(X), theirs.predict(X), rtol=LBFGS_RTOL, atol=1e-8)


@pytest.mark.parametrize(
    "Est, data, extra, fmt, weighted",
    [c[1:] for c in LBFGS_CASES],
    ids=[c[0] for c in LBFGS_CASES],
)
def test_lbfgs_matches_sklearn(Est, data, extra, fmt, weighted):
    X, y = _data(data)
    if fmt != "dense":
        X = _sparse(X, fmt)
    fit_params = {"sample_weight": _sample_weight(X.shape[0])} if weighted else {}
    params = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=20, random_state=0)
    params.update(extra)
    ours, theirs = _fit_both(Est, params, X, y, **fit_params)
    _assert_same_lbfgs_fit(ours, theirs, X)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("Est, data", [(MLPClassifier, "iris"), (MLPRegressor, "regression")])
def test_lbfgs_every_activation_matches_sklearn(activation, Est, data):
    X, y = _data(data)
    params = dict(
        hidden_layer_sizes=(8, 4), activation=activation, solver="lbfgs", max_iter=20, random_state=1
    )
    ours, theirs = _fit_both(Est, params, X, y)
    _assert_same_lbfgs_fit(ours, theirs, X)


def test_lbfgs_max_fun_matches_sklearn():
    X, y = _data("iris")
    params = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=200, max_fun=7, random_state=2)
    ours, theirs = _fit_both(MLPClassifier, params, X, y)
    assert theirs.n_iter_ < 200  # max_fun stopped it
    _assert_same_lbfgs_fit(ours, theirs, X)


# --------------------------------------------------------------- full default fit


def _assert_full_fit_agrees(ours, theirs, X):
    assert_allclose(ours.loss_curve_[:10], theirs.loss_curve_[:10], rtol=1e-4)
    assert len(ours.loss_curve_) >= 10


def test_full_default_fit_classifier_agrees():
    X, y = _data("digits")
    ours, theirs = _fit_both(MLPClassifier, dict(random_state=0), X, y)
    _assert_full_fit_agrees(ours, theirs, X)
    assert np.mean(ours.predict(X) == theirs.predict(X)) >= 0.99


def test_full_default_fit_regressor_agrees():
    X, y = _data("regression_large")
    ours, theirs = _fit_both(MLPRegressor, dict(random_state=0), X, y)
    _assert_full_fit_agrees(ours, theirs, X)
    close = np.isclose(ours.predict(X), theirs.predict(X), rtol=1e-4, atol=1e-6)
    assert np.mean(close) >= 0.99


def test_full_default_fit_multilabel_agrees():
    X, y = _data("multilabel")
    ours, theirs = _fit_both(MLPClassifier, dict(random_state=0), X, y)
    _assert_full_fit_agrees(ours, theirs, X)
    rows_equal = np.all(ours.predict(X) == theirs.predict(X), axis=1)
    assert np.mean(rows_equal) >= 0.99
