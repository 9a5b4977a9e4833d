"""batch_norm and dropout on the estimators (issue 13): predictions with
folded batch norm equal the unfolded computation, the running statistics
follow the model through pickling, warm starts, partial_fit, early stopping
and failed calls, fits are reproducible and the same on 1 or 2 threads, and
bad settings are refused naming the parameter."""
import pickle
import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import make_classification, make_regression
from threadpoolctl import threadpool_limits

from fastmlp import MLPClassifier, MLPRegressor

EPS = 1e-5


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def data(n=300, seed=0):
    return make_classification(n, 8, n_informative=5, random_state=seed)


def unfolded_forward(model, X):
    """The network's output with batch norm as training defines it, from the
    running statistics (NumPy, written from the formula)."""
    A = X
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "logistic": expit,
           "identity": lambda z: z}[model.activation]
    for l, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        Z = A @ W + b
        if l == len(model.coefs_) - 1:
            return Z
        bn = model.batch_norm_[l]
        if bn is not None:
            Z = (Z - bn["running_mean"]) / np.sqrt(bn["running_var"] + EPS) * bn["gamma"] \
                + bn["beta"]
        A = act(Z)


@pytest.mark.parametrize("batch_norm", [True, [False, True, True]])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_folded_predictions_equal_the_unfolded_network(batch_norm, solver):
    X, y = make_regression(200, 6, random_state=0)
    model = MLPRegressor(hidden_layer_sizes=(9, 7, 5), activation="tanh", batch_norm=batch_norm,
                         solver=solver, max_iter=15, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict(X), unfolded_forward(model, X)[:, 0], rtol=1e-9,
                               atol=1e-9)
    # an edit in place is seen by the next prediction
    model.batch_norm_[2]["gamma"][:] *= 2
    np.testing.assert_allclose(model.predict(X), unfolded_forward(model, X)[:, 0], rtol=1e-9,
                               atol=1e-9)


def test_lbfgs_running_statistics_are_all_rows_at_the_final_weights():
    X, y = make_regression(120, 5, random_state=1)
    model = MLPRegressor(hidden_layer_sizes=(6,), activation="tanh", batch_norm=True,
                         solver="lbfgs", max_iter=20, random_state=0).fit(X, y)
    Z = X @ model.coefs_[0] + model.intercepts_[0]
    np.testing.assert_allclose(model.batch_norm_[0]["running_mean"], Z.mean(0), rtol=1e-10)
    np.testing.assert_allclose(model.batch_norm_[0]["running_var"], Z.var(0, ddof=1),
                               rtol=1e-10)


def test_without_batch_norm_there_is_no_batch_norm_attribute():
    X, y = data()
    plain = MLPClassifier((8,), max_iter=1, random_state=0).fit(X, y)
    assert not hasattr(plain, "batch_norm_")
    normed = MLPClassifier((8,), max_iter=1, random_state=0, batch_norm=[True]).fit(X, y)
    assert [sorted(d) for d in normed.batch_norm_] == [
        ["beta", "gamma", "running_mean", "running_var"]]


@pytest.mark.parametrize("kwargs", [dict(batch_norm=True), dict(dropout=0.3),
                                    dict(batch_norm=[True, False], dropout=[0.2, 0.0])])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_and_two_threads_fit_the_same_model(kwargs, dtype):
    X, y = data(2000)
    X = X.astype(dtype)
    models = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads):
            models.append(MLPClassifier((64, 32), max_iter=3, random_state=0, batch_size=500,
                                        **kwargs).fit(X, y))
    one, two = models
    for a, b in zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_):
        # bit-identical for a given number of row parts; else to rounding
        np.testing.assert_allclose(a, b, rtol=1e-4 if dtype == np.float32 else 1e-9,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(one.predict_proba(X), two.predict_proba(X),
                               atol=1e-4 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("kwargs", [dict(batch_norm=True, dropout=0.2), dict(dropout=0.5)])
def test_fits_are_reproducible_and_predictions_deterministic(kwargs):
    X, y = data()
    a = MLPClassifier((16, 8), max_iter=5, random_state=3, **kwargs).fit(X, y)
    b = MLPClassifier((16, 8), max_iter=5, random_state=3, **kwargs).fit(X, y)
    np.testing.assert_array_equal(a._params, b._params)
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X))
    c = MLPClassifier((16, 8), max_iter=5, random_state=4, **kwargs).fit(X, y)
    assert not np.array_equal(a._params, c._params)


def test_dropout_changes_training_not_the_initial_network():
    X, y = data()
    plain = MLPClassifier((16,), max_iter=3, random_state=0).fit(X, y)
    dropped = MLPClassifier((16,), max_iter=3, random_state=0, dropout=0.5).fit(X, y)
    assert not np.allclose(plain.coefs_[0], dropped.coefs_[0])


def test_pickle_keeps_batch_norm():
    X, y = data()
    model = MLPClassifier((16, 8), max_iter=5, random_state=0, batch_norm=True).fit(X, y)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict_proba(X), model.predict_proba(X))
    for ours, theirs in zip(model.batch_norm_, clone.batch_norm_):
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs[key])
    # the clone trains on from there, its views live
    clone.partial_fit(X, y)
    assert not np.array_equal(clone.batch_norm_[0]["running_mean"],
                              model.batch_norm_[0]["running_mean"])
    np.testing.assert_allclose(clone.predict_proba(X)[:, 1], expit(unfolded_forward(clone, X)[:, 0]),
                               rtol=1e-9)


def test_warm_start_and_partial_fit_go_on_from_the_running_statistics():
    X, y = data()
    model = MLPClassifier((16,), max_iter=3, random_state=0, batch_norm=True,
                          warm_start=True).fit(X, y)
    before = model.batch_norm_[0]["running_mean"].copy()
    model.fit(X, y)
    after_warm = model.batch_norm_[0]["running_mean"].copy()
    assert not np.array_equal(before, after_warm)
    # the same as one fit of 6 epochs? No: the optimizer restarts; but the
    # statistics went on from the first fit's, not from zeros
    fresh = MLPClassifier((16,), max_iter=3, random_state=0, batch_norm=True).fit(X, y)
    assert not np.array_equal(fresh.batch_norm_[0]["running_mean"], after_warm)
    model.partial_fit(X, y)
    assert not np.array_equal(model.batch_norm_[0]["running_mean"], after_warm)


def test_changing_batch_norm_on_a_warm_start_is_refused():
    X, y = data()
    model = MLPClassifier((16,), max_iter=2, random_state=0, batch_norm=True,
                          warm_start=True).fit(X, y)
    model.batch_norm = False
    with pytest.raises(ValueError, match="batch_norm is False, but the model"):
        model.fit(X, y)


def test_early_stopping_restores_the_best_running_statistics():
    X, y = data(400)
    model = MLPClassifier((16,), max_iter=40, random_state=0, batch_norm=True,
                          early_stopping=True, n_iter_no_change=3, tol=0.05).fit(X, y)
    assert len(model.validation_scores_) < 40
    # the statistics kept are the best epoch's, not the last one's
    np.testing.assert_array_equal(model._bn_state, model._best_bn_state)
    np.testing.assert_array_equal(model._params, model._best_params)
    assert np.isfinite(model._bn_state).all()


def _validation_loss(model, X_val, y_val, divisor):
    """The validation loss as predictions define it: log_loss of
    predict_proba plus the L2 term of the model's (unfolded) weights."""
    from sklearn.metrics import log_loss
    l2 = 0.5 * model.alpha * sum(float(np.sum(W.astype(np.float64) ** 2))
                                 for W in model.coefs_) / divisor
    return log_loss(y_val, model.predict_proba(X_val), labels=model.classes_) + l2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_validation_loss_with_batch_norm_is_the_loss_of_predictions(dtype):
    # the validation pass runs the network predict runs: batch norm folded
    # with the running statistics, dropout off
    X, y = data(500)
    X = X.astype(dtype)
    X_tr, y_tr, X_val, y_val = X[:400], y[:400], X[400:], y[400:]
    for k in (1, 3):
        model = MLPClassifier((16, 8), max_iter=k, random_state=0, alpha=0.01, batch_size=50,
                              batch_norm=True, dropout=0.2, n_iter_no_change=1000)
        model.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
        expected = _validation_loss(model, X_val, y_val, 400 / 8)
        np.testing.assert_allclose(model.validation_loss_curve_[-1], expected,
                                   rtol=1e-10 if dtype == np.float64 else 2e-5)


@pytest.mark.parametrize("metric", ["score", "loss"])
def test_early_stopping_restores_the_best_epochs_model_with_its_statistics(metric):
    # the restored model scores (and loses) on the validation rows what its
    # best epoch did: weights and running statistics are that epoch's
    X, y = data(600)
    X_tr, y_tr, X_val, y_val = X[:450], y[:450], X[450:], y[450:]
    model = MLPClassifier((16,), max_iter=60, random_state=0, alpha=0.0, batch_size=50,
                          learning_rate_init=0.02, batch_norm=True, early_stopping=True,
                          n_iter_no_change=4, early_stopping_metric=metric)
    model.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert model.n_iter_ < 60
    best = (int(np.argmin(model.validation_loss_curve_)) if metric == "loss"
            else int(np.argmax(model.validation_scores_)))
    assert best < model.n_iter_ - 1   # the last epoch is not the best
    assert model.score(X_val, y_val) == model.validation_scores_[best]
    np.testing.assert_allclose(_validation_loss(model, X_val, y_val, 450 / 9),
                               model.validation_loss_curve_[best], rtol=1e-10)


def test_a_failed_call_restores_the_running_statistics():
    X, y = data()
    model = MLPClassifier((16,), max_iter=2, random_state=0, batch_norm=True).fit(X, y)
    state = model._bn_state.copy()
    params = model._params.copy()
    bad = X.copy()
    bad[5, 0] = 1e300      # overflows a layer: the fit fails, non-finite
    model.learning_rate_init = 1e10
    with pytest.raises(ValueError):
        model.partial_fit(bad, y)
    np.testing.assert_array_equal(model._bn_state, state)
    np.testing.assert_array_equal(model._params, params)


@pytest.mark.parametrize("kwargs, message", [
    (dict(dropout=1.0), "dropout"),
    (dict(dropout=-0.1), "dropout"),
    (dict(dropout=[0.1, 1.5]), "dropout must be a rate in"),
    (dict(dropout=[0.1]), "dropout has 1 values for 2 hidden layers"),
    (dict(dropout=[0.1, "a"]), "dropout must be a rate"),
    (dict(batch_norm=[True]), "batch_norm has 1 values for 2 hidden layers"),
    (dict(batch_norm=True, batch_size=1), "Expected more than 1 value per channel"),
    (dict(batch_norm=True, batch_size=100), "last minibatch of 1 row"),
    (dict(dropout=0.2, solver="lbfgs"), "solver='lbfgs' needs a fixed objective"),
    (dict(batch_norm_momentum=1.5), "batch_norm_momentum"),
])
def test_bad_settings_are_refused_naming_the_parameter(kwargs, message):
    X, y = data(301)
    with pytest.raises(ValueError, match=message):
        MLPClassifier((8, 4), max_iter=2, **kwargs).fit(X, y)


def test_a_non_bool_batch_norm_is_refused():
    X, y = data()
    with pytest.raises(TypeError, match="batch_norm must be a bool"):
        MLPClassifier((8, 4), max_iter=2, batch_norm=[True, 1]).fit(X, y)


def test_one_row_with_batch_norm_under_lbfgs_is_refused():
    with pytest.raises(ValueError, match="at least 2 rows"):
        MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", batch_norm=True).fit(
            [[1.0, 2.0]], [1.0])


def test_parameters_never_go_non_finite_with_batch_norm():
    # identical rows: every unit's batch variance is zero, normalised by eps
    X, y = data()
    X[:] = X[0]
    model = MLPClassifier((8,), max_iter=10, random_state=0, batch_norm=True).fit(X, y)
    assert np.isfinite(model._params).all() and np.isfinite(model._bn_state).all()
    assert np.isfinite(model.predict_proba(X)).all()
