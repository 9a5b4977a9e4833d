"""Validation data (issue 12): fit(X, y, X_val=, y_val=, sample_weight_val=),
validation_loss_curve_, early stopping on the validation score or loss.

The validation loss is checked against an independent computation (the
fitted model's predictions through scikit-learn's metrics, plus the L2
term), against loss_curve_ where the two must coincide, and through the
weights early stopping restores. Refusals are checked by their messages.
"""
import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]


def _digits(n=600):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _split(X, y, n_train):
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _l2(est, divisor):
    return 0.5 * est.alpha * sum(float(np.sum(W.astype(np.float64) ** 2))
                                 for W in est.coefs_) / divisor


def _classifier_loss(est, X_val, y_val, sw_val, divisor):
    proba = est.predict_proba(X_val)
    return log_loss(y_val, proba, sample_weight=sw_val, labels=est.classes_) \
        + _l2(est, divisor)


# ------------------------------------------------------ what is recorded


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_validation_loss_is_the_models_loss_on_the_validation_rows(early_stopping, weighted):
    X, y = _digits()
    X_tr, y_tr, X_val, y_val = _split(X, y, 450)
    rng = np.random.RandomState(0)
    sw = rng.uniform(0.5, 2, X_tr.shape[0]) if weighted else None
    sw_val = rng.uniform(0.5, 2, X_val.shape[0]) if weighted else None
    # each epoch's model: max_iter epochs of the same fit (no stopping)
    for k in (1, 4):
        est = MLPClassifier(hidden_layer_sizes=(20,), max_iter=k, random_state=0, alpha=0.01,
                            batch_size=64, early_stopping=early_stopping,
                            n_iter_no_change=1000)
        est.fit(X_tr, y_tr, sample_weight=sw, X_val=X_val, y_val=y_val,
                sample_weight_val=sw_val)
        assert len(est.validation_loss_curve_) == k == est.n_iter_
        n_batches = math.ceil(X_tr.shape[0] / 64)
        divisor = (X_tr.shape[0] if sw is None else sw.sum()) / n_batches
        if early_stopping:
            # the restored model is the best epoch's; the last entry is the
            # last epoch's, which is the best when the loss only falls
            if k == 1 or np.argmax(est.validation_scores_) == k - 1:
                assert_allclose(est.validation_loss_curve_[-1],
                                _classifier_loss(est, X_val, y_val, sw_val, divisor),
                                rtol=1e-10)
        else:
            assert_allclose(est.validation_loss_curve_[-1],
                            _classifier_loss(est, X_val, y_val, sw_val, divisor), rtol=1e-10)
        assert est.best_validation_loss_ == min(est.validation_loss_curve_)


def test_regression_validation_loss_is_half_the_mean_squared_error():
    X, y = make_regression(n_samples=300, n_features=8, n_targets=2, noise=0.5, random_state=0)
    y = y / y.std(axis=0)
    X_tr, y_tr, X_val, y_val = _split(X, y, 200)
    est = MLPRegressor(hidden_layer_sizes=(16,), max_iter=3, random_state=0, alpha=0.0)
    est.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    expected = np.mean(0.5 * np.mean((y_val - est.predict(X_val)) ** 2, axis=1))
    assert_allclose(est.validation_loss_curve_[-1], expected, rtol=1e-10)
    assert est.validation_scores_ is None  # no early stopping: scored only then


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regressor_early_stopping_on_integer_targets(dtype):
    # the split's integer y reached the engine uncast, where an integer
    # column means multiclass class indices: the fit failed in engine words
    X, y = _digits(300)
    fits = [MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=4,
                         random_state=0).fit(X.astype(dtype), target)
            for target in (y, y.astype(dtype))]
    assert y.dtype.kind == "i" and len(fits[0].validation_loss_curve_) == 4
    assert_array_equal(fits[0].validation_loss_curve_, fits[1].validation_loss_curve_)
    assert_array_equal(fits[0].validation_scores_, fits[1].validation_scores_)
    for a, b in zip(fits[0].coefs_, fits[1].coefs_):
        assert_array_equal(a, b)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("weighted", [False, True])
def test_validation_loss_compares_with_loss_curve(solver, weighted):
    # one full-batch step per epoch: loss_curve_[k + 1] is the training loss
    # at the weights epoch k ended with, which the validation loss of the
    # training rows themselves is, L2 term included
    X, y = _digits(300)
    sw = np.random.RandomState(1).uniform(0.5, 2, 300) if weighted else None
    est = MLPClassifier(hidden_layer_sizes=(10,), solver=solver, batch_size=300, shuffle=False,
                        max_iter=6, alpha=0.5, random_state=0, learning_rate_init=0.01)
    est.fit(X, y, sample_weight=sw, X_val=X, y_val=y, sample_weight_val=sw)
    assert_allclose(est.validation_loss_curve_[:-1], est.loss_curve_[1:], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_early_stopping_split_records_its_validation_loss(dtype):
    X, y = _digits()
    est = MLPClassifier(hidden_layer_sizes=(15,), max_iter=5, random_state=0,
                        early_stopping=True).fit(X.astype(dtype), y)
    assert len(est.validation_loss_curve_) == len(est.validation_scores_) == est.n_iter_
    assert all(np.isfinite(est.validation_loss_curve_))
    no_split = MLPClassifier(hidden_layer_sizes=(15,), max_iter=5, random_state=0).fit(X, y)
    assert no_split.validation_loss_curve_ is None and no_split.best_validation_loss_ is None


def test_sample_weight_val_weights_the_validation_rows():
    X, y = _digits()
    X_tr, y_tr, X_val, y_val = _split(X, y, 450)
    sw_val = np.zeros(X_val.shape[0])
    sw_val[::3] = 2.0   # a constant factor changes neither mean
    params = dict(hidden_layer_sizes=(12,), max_iter=4, random_state=0, early_stopping=True,
                  n_iter_no_change=100)
    weighted = MLPClassifier(**params).fit(X_tr, y_tr, X_val=X_val, y_val=y_val,
                                           sample_weight_val=sw_val)
    subset = MLPClassifier(**params).fit(X_tr, y_tr, X_val=X_val[::3], y_val=y_val[::3])
    assert_allclose(weighted.validation_loss_curve_, subset.validation_loss_curve_, rtol=1e-12)
    assert_allclose(weighted.validation_scores_, subset.validation_scores_, rtol=1e-12)
    assert_array_equal(weighted.coefs_[0], subset.coefs_[0])


def test_x_val_replaces_the_split():
    # all of X trains: the same minibatches as a fit without early stopping
    X, y = _digits()
    X_tr, y_tr, X_val, y_val = _split(X, y, 450)
    params = dict(hidden_layer_sizes=(12,), max_iter=3, random_state=0, n_iter_no_change=100)
    given = MLPClassifier(early_stopping=True, **params).fit(X_tr, y_tr, X_val=X_val,
                                                             y_val=y_val)
    plain = MLPClassifier(**params).fit(X_tr, y_tr)
    assert_array_equal(given.loss_curve_, plain.loss_curve_)
    assert given.t_ == plain.t_ == 3 * 450


@pytest.mark.parametrize("metric", ["score", "loss"])
def test_early_stopping_restores_the_best_epoch_by_its_metric(metric):
    X, y = _digits()
    X_tr, y_tr, X_val, y_val = _split(X, y, 400)
    est = MLPClassifier(hidden_layer_sizes=(30,), max_iter=60, random_state=0, alpha=0.0,
                        learning_rate_init=0.02, early_stopping=True, n_iter_no_change=5,
                        early_stopping_metric=metric).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert est.n_iter_ < 60  # stopped early
    n_batches = math.ceil(400 / 200)
    if metric == "loss":
        best = int(np.argmin(est.validation_loss_curve_))
        assert est.best_validation_loss_ == est.validation_loss_curve_[best]
        assert_allclose(_classifier_loss(est, X_val, y_val, None, 400 / n_batches),
                        est.best_validation_loss_, rtol=1e-10)
        # stopped n_iter_no_change + 1 epochs after the best loss
        assert est.n_iter_ == best + 1 + est.n_iter_no_change + 1
    else:
        assert est.score(X_val, y_val) == est.best_validation_score_ \
            == max(est.validation_scores_)
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_early_stopping_on_loss_stops_on_the_loss_not_the_score():
    # the two metrics stop at different epochs on the same fit
    X, y = _digits()
    X_tr, y_tr, X_val, y_val = _split(X, y, 400)
    params = dict(hidden_layer_sizes=(30,), max_iter=80, random_state=0, alpha=0.0,
                  learning_rate_init=0.02, early_stopping=True, n_iter_no_change=3)
    by_loss = MLPClassifier(early_stopping_metric="loss", **params).fit(
        X_tr, y_tr, X_val=X_val, y_val=y_val)
    by_score = MLPClassifier(**params).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    n = min(by_loss.n_iter_, by_score.n_iter_)
    # the same epochs up to the earlier stop
    assert_array_equal(by_loss.validation_loss_curve_[:n], by_score.validation_loss_curve_[:n])
    curve = by_loss.validation_loss_curve_
    best = int(np.argmin(curve))
    assert all(not (v < curve[best] - by_loss.tol) for v in curve[best + 1:])


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_monitoring_without_early_stopping_keeps_the_last_epoch(Est):
    X, y = _digits()
    if Est is MLPRegressor:
        y = y / 9.0
    X_tr, y_tr, X_val, y_val = _split(X, y, 450)
    params = dict(hidden_layer_sizes=(12,), max_iter=5, random_state=0)
    monitored = Est(**params).fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    plain = Est(**params).fit(X_tr, y_tr)
    assert_array_equal(monitored.coefs_[0], plain.coefs_[0])
    assert monitored.loss_curve_ == plain.loss_curve_
    assert len(monitored.validation_loss_curve_) == 5


def test_warm_start_and_partial_fit_keep_records_straight():
    X, y = _digits()
    X_tr, y_tr, X_val, y_val = _split(X, y, 450)
    est = MLPClassifier(hidden_layer_sizes=(12,), max_iter=3, random_state=0, warm_start=True)
    est.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    first = list(est.validation_loss_curve_)
    est.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert len(est.validation_loss_curve_) == 3 and est.validation_loss_curve_ != first
    est.partial_fit(X_tr, y_tr)   # no validation data: the fit's record stays
    assert len(est.validation_loss_curve_) == 3
    est.fit(X_tr, y_tr)           # a fit without validation data has none
    assert est.validation_loss_curve_ is None


@pytest.mark.parametrize("kind", ["sparse", "multilabel", "regression_multi", "float32",
                                  "binary_strings"])
def test_x_val_of_every_kind_of_fit(kind):
    rng = np.random.RandomState(0)
    if kind == "multilabel":
        X, y = make_multilabel_classification(n_samples=200, n_features=8, n_classes=3,
                                              random_state=0)
        est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                            early_stopping=True)
    elif kind == "regression_multi":
        X, y = make_regression(n_samples=200, n_features=8, n_targets=3, random_state=0)
        y = y / y.std(axis=0)
        est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                           early_stopping=True)
    else:
        X, y = _digits(300)
        if kind == "binary_strings":
            y = np.where(y > 4, "big", "small")
        est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                            early_stopping=True)
        if kind == "sparse":
            X = sp.csc_matrix(np.where(rng.rand(*X.shape) > 0.5, X, 0))
        if kind == "float32":
            X = X.astype(np.float32)
    X_tr, y_tr, X_val, y_val = _split(X, y, 150)
    est.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert len(est.validation_loss_curve_) == len(est.validation_scores_) == est.n_iter_
    assert all(np.isfinite(est.validation_loss_curve_))
    assert max(est.validation_scores_) == est.best_validation_score_


def test_x_val_goes_through_a_pipeline_with_metadata_routing():
    # scikit-learn's way (HistGradientBoosting, 1.7): transform_input turns
    # X_val as X is turned, and the estimator requests it
    X, y = _digits()
    X = X * 16.0 + 3.0
    X_tr, y_tr, X_val, y_val = _split(X, y, 450)
    params = dict(hidden_layer_sizes=(12,), max_iter=3, random_state=0, early_stopping=True)
    with config_context(enable_metadata_routing=True):
        mlp = MLPClassifier(**params).set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)],
                        transform_input=["X_val"])
        pipe.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    scaler = StandardScaler().fit(X_tr)
    direct = MLPClassifier(**params).fit(scaler.transform(X_tr), y_tr,
                                         X_val=scaler.transform(X_val), y_val=y_val)
    assert_array_equal(pipe[-1].validation_loss_curve_, direct.validation_loss_curve_)
    assert_array_equal(pipe[-1].validation_scores_, direct.validation_scores_)


# -------------------------------------------------------------- refusals


def _fit(est=None, **kwargs):
    X, y = _digits(200)
    est = est or MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0,
                               early_stopping=True)
    fit_kwargs = dict(X_val=X[:20], y_val=y[:20])
    fit_kwargs.update(kwargs)
    return est.fit(X, y, **fit_kwargs)


@pytest.mark.parametrize("change, error, message", [
    (dict(X_val=np.ones((20, 63))), ValueError, "X_val has 63 features .* but X has 64"),
    (dict(X_val=np.full((20, 64), np.nan)), ValueError, "X_val contains NaN"),
    (dict(X_val=np.full((20, 64), np.inf)), ValueError, "X_val contains infinity"),
    (dict(y_val=np.r_[np.arange(10), [11, 12], np.zeros(8, int)]), ValueError,
     r"y_val has labels that are not classes of y: \[11, 12\]"),
    (dict(y_val=np.r_[np.nan, np.zeros(19)]), ValueError, "y_val contains NaN"),
    (dict(y_val=np.zeros(19)), ValueError, "X_val has 20 rows but y_val has 19"),
    (dict(y_val=np.zeros((20, 2))), ValueError, "y_val has shape"),
    (dict(y_val=None), ValueError, "X_val is given without y_val"),
    (dict(X_val=None), ValueError, "y_val is given without X_val"),
    (dict(X_val=None, y_val=None, sample_weight_val=np.ones(20)), ValueError,
     "sample_weight_val is given without X_val"),
    (dict(sample_weight_val=np.ones(19)), ValueError, "sample_weight_val has shape"),
    (dict(sample_weight_val=-np.ones(20)), ValueError, "sample_weight_val has negative"),
    (dict(sample_weight_val=np.zeros(20)), ValueError, "sample_weight_val is zero"),
    (dict(sample_weight_val=np.r_[np.nan, np.ones(19)]), ValueError,
     "sample_weight_val contains NaN"),
    (dict(sample_weight_val=["a"] * 20), TypeError, "sample_weight_val holds strings"),
    (dict(X_val="abc"), TypeError, "X_val is 'abc'"),
])
def test_bad_validation_data_is_refused_by_name(change, error, message):
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0,
                        early_stopping=True)
    with pytest.raises(error, match=message):
        _fit(est, **change)
    assert not hasattr(est, "coefs_")  # a failed first fit leaves it unfitted


def test_lbfgs_refuses_x_val():
    with pytest.raises(ValueError, match="solver='lbfgs' runs no epochs"):
        _fit(MLPClassifier(solver="lbfgs", max_iter=2))


def test_regressor_refuses_bad_y_val():
    X, y = make_regression(n_samples=50, n_features=4, n_targets=2, random_state=0)
    est = MLPRegressor(max_iter=2)
    with pytest.raises(ValueError, match="y_val has shape"):
        est.fit(X, y, X_val=X, y_val=y[:, 0])
    with pytest.raises(TypeError, match="y_val holds strings"):
        MLPRegressor(max_iter=2).fit(X, y[:, 0], X_val=X, y_val=["1"] * 50)
    with pytest.raises(ValueError, match="y_val holds negative values"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, np.abs(y[:, 0]), X_val=X,
                                                     y_val=y[:, 0])


def test_multilabel_y_val_must_match_the_label_columns():
    X, y = make_multilabel_classification(n_samples=60, n_features=5, n_classes=3,
                                          random_state=0)
    with pytest.raises(ValueError, match="0/1 indicator matrix of 3 columns"):
        MLPClassifier(max_iter=2).fit(X, y, X_val=X, y_val=y[:, :2])


def test_x_val_with_other_feature_names_is_refused():
    pd = pytest.importorskip("pandas")
    X, y = _digits(100)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(64)])
    other = frame.rename(columns={"f0": "g0"})
    with pytest.raises(ValueError, match="feature names"):
        MLPClassifier(max_iter=2).fit(frame, y, X_val=other, y_val=y)


@pytest.mark.parametrize("value", ["val_loss", None, 1])
def test_early_stopping_metric_is_validated(value):
    X, y = _digits(100)
    with pytest.raises(ValueError, match="early_stopping_metric"):
        MLPClassifier(early_stopping_metric=value, max_iter=2).fit(X, y)


# ------------------------------------------------- explored by hypothesis


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 3), st.booleans(), st.integers(0, 2**16))
def test_validation_loss_matches_the_reference_for_random_splits(n_val, n_epochs, weighted,
                                                                  seed):
    rng = np.random.RandomState(seed)
    X, y = _digits(200)
    order = rng.permutation(200)
    X_tr, y_tr = X[order[40:]], y[order[40:]]
    X_val, y_val = X[order[:n_val]], y[order[:n_val]]
    keep = np.isin(y_val, np.unique(y_tr))
    X_val, y_val = X_val[keep], y_val[keep]
    if X_val.shape[0] == 0:
        return
    sw_val = rng.uniform(0.1, 3, X_val.shape[0]) if weighted else None
    batch_size = int(rng.randint(16, 161))
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=n_epochs, batch_size=batch_size,
                        random_state=seed, alpha=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_tr, y_tr, X_val=X_val, y_val=y_val, sample_weight_val=sw_val)
    divisor = 160 / math.ceil(160 / batch_size)
    assert_allclose(est.validation_loss_curve_[-1],
                    _classifier_loss(est, X_val, y_val, sw_val, divisor), rtol=1e-9)
