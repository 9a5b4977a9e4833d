"""fastmlp's documented fixes of scikit-learn 1.9 MLP bugs, tested as our behaviour.

(a) lbfgs, multi-output squared error: scikit-learn's gradient is n_outputs times too
    large for its loss (scikit-learn #8349). Ours is the true gradient of the reported
    loss, 0.5 * mean over outputs of the weighted-mean squared error + L2 term.
(b) partial_fit keeps one random stream across calls; scikit-learn re-seeds on every
    call, so with an int random_state every call shuffles in the same order.
(c) MLPRegressor(solver="lbfgs") has no partial_fit, like the classifier.
(d) warm_start + early_stopping: each fit restores the best weights of that fit,
    scored on its own validation split.
(e) multiclass early stopping splits stratified by class (binary: as scikit-learn).
"""

import copy
import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import neural_network as sk
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _assert_same_params(a, b, rtol=1e-7, atol=1e-9):
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert_allclose(x, y, rtol=rtol, atol=atol)


# ------------------------------------------- (a) lbfgs multi-output squared error


def _regression(n_outputs, seed=0):
    X, Y = make_regression(
        n_samples=60, n_features=4, n_targets=n_outputs, noise=5.0, random_state=seed
    )
    X = StandardScaler().fit_transform(X)
    return X, Y / Y.std(axis=0)


def _reference_loss(X, Y, coefs, intercepts, activation, alpha, sample_weight=None):
    """0.5 * mean over outputs of the weighted-mean squared error + L2, in NumPy."""
    a = X
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        a = a @ W + b
        if i < len(coefs) - 1:
            a = {"tanh": np.tanh, "identity": lambda z: z}[activation](a)
    Y = Y.reshape(len(X), -1)
    sw = np.ones(len(X)) if sample_weight is None else sample_weight
    data = 0.5 * np.average((a - Y) ** 2, weights=sw, axis=0).mean()
    return data + 0.5 * alpha * sum((W**2).sum() for W in coefs) / sw.sum()


def test_lbfgs_multioutput_linear_model_is_ridge_with_alpha_times_n_outputs():
    # With no hidden layer the loss is convex: 0.5/(n*K) * sum_k ||y_k - X w_k - b_k||^2
    # + 0.5*alpha/n * ||W||^2, whose minimiser is ridge regression with penalty
    # alpha*K (intercepts unpenalised). scikit-learn's inflated gradient aims at
    # ridge with penalty alpha instead, at a higher value of its own loss.
    X, Y = _regression(n_outputs=3)
    alpha, K = 3.0, Y.shape[1]
    params = dict(
        hidden_layer_sizes=(), solver="lbfgs", alpha=alpha, tol=1e-12, max_iter=10_000, random_state=0
    )
    ours = MLPRegressor(**params).fit(X, Y)
    ridge = Ridge(alpha=alpha * K).fit(X, Y)
    # L-BFGS-B also stops on a relative loss decrease below ~2e-9 (scipy's ftol),
    # which leaves ~1e-5 in the weights; scikit-learn's are ~5e-2 off.
    assert_allclose(ours.coefs_[0], ridge.coef_.T, rtol=0, atol=1e-4)
    assert_allclose(ours.intercepts_[0], ridge.intercept_, rtol=0, atol=1e-4)

    optimum = _reference_loss(X, Y, [ridge.coef_.T], [ridge.intercept_], "identity", alpha)
    assert_allclose(ours.loss_, optimum, rtol=1e-7)  # ftol again

    theirs = sk.MLPRegressor(**params).fit(X, Y)
    assert ours.loss_ <= theirs.loss_
    assert ours.loss_ < theirs.loss_ - 1e-4  # a real difference on this data


def test_lbfgs_multioutput_stops_at_a_stationary_point_of_its_loss():
    # With a hidden layer: the reported loss is the reference loss at the fitted
    # weights, and its finite-difference gradient vanishes there (scikit-learn's
    # line search stalls with ~5e-3 left, because its gradient is not that of
    # its loss).
    X, Y = _regression(n_outputs=3)
    sw = np.random.RandomState(0).uniform(0.5, 2.0, size=len(X))
    alpha = 0.5
    params = dict(
        hidden_layer_sizes=(5,), activation="tanh", solver="lbfgs", alpha=alpha,
        tol=1e-10, max_iter=5000, random_state=0,
    )
    ours = MLPRegressor(**params).fit(X, Y, sample_weight=sw)
    shapes = [c.shape for c in ours.coefs_ + ours.intercepts_]
    theta = np.concatenate([p.ravel() for p in ours.coefs_ + ours.intercepts_])
    n_layers = len(ours.coefs_)

    def loss(theta):
        parts, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            parts.append(theta[start : start + size].reshape(shape))
            start += size
        return _reference_loss(X, Y, parts[:n_layers], parts[n_layers:], "tanh", alpha, sw)

    assert_allclose(ours.loss_, loss(theta), rtol=1e-10)
    h = 1e-6
    grad = np.array([(loss(theta + h * e) - loss(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    # ~1e-5 is left where scipy's ftol stops L-BFGS-B; scikit-learn's is ~4e-3.
    assert np.abs(grad).max() < 1e-4

    theirs = sk.MLPRegressor(**params).fit(X, Y, sample_weight=sw)
    assert ours.loss_ <= theirs.loss_


@pytest.mark.parametrize("hidden", [(), (6,)])
def test_lbfgs_single_output_equals_sklearn(hidden):
    X, Y = _regression(n_outputs=1)
    params = dict(hidden_layer_sizes=hidden, solver="lbfgs", alpha=1.0, max_iter=200, random_state=0)
    ours = MLPRegressor(**params).fit(X, Y)
    theirs = sk.MLPRegressor(**params).fit(X, Y)
    assert ours.n_iter_ == theirs.n_iter_
    assert_allclose(ours.loss_, theirs.loss_, rtol=1e-5)
    _assert_same_params(ours, theirs, rtol=1e-5, atol=1e-8)


def test_lbfgs_single_output_linear_model_is_ridge():
    X, Y = _regression(n_outputs=1)
    ours = MLPRegressor(
        hidden_layer_sizes=(), solver="lbfgs", alpha=1.0, tol=1e-12, max_iter=10_000, random_state=0
    ).fit(X, Y)
    ridge = Ridge(alpha=1.0).fit(X, Y)
    assert_allclose(ours.coefs_[0].ravel(), ridge.coef_, rtol=0, atol=1e-4)
    assert_allclose(ours.intercepts_[0], [ridge.intercept_], rtol=0, atol=1e-4)


# -------------------------------------------------------- (b) partial_fit stream

# A linear model trained by plain SGD one sample at a time: the weights after an
# epoch identify the order in which the 5 samples were visited.
_rng = np.random.RandomState(0)
X_STREAM, Y_STREAM = _rng.randn(5, 2), _rng.randn(5)
LR = 0.2
PERMUTATIONS = list(itertools.permutations(range(5)))


def _sgd_epoch(W, b, order):
    W, b = W.copy(), b.copy()
    for i in order:
        x = X_STREAM[i : i + 1]
        err = x @ W + b - Y_STREAM[i]
        W -= LR * x.T @ err
        b -= LR * err.ravel()
    return W, b


def _visit_order(before, after):
    """The one permutation that turns `before` weights into `after` weights."""
    dist = np.array(
        [
            max(np.abs(W - after[0]).max(), np.abs(b - after[1]).max())
            for W, b in (_sgd_epoch(*before, p) for p in PERMUTATIONS)
        ]
    )
    best, second = np.sort(dist)[:2]
    assert best < 1e-10 and second > 1e-6, (best, second)
    return PERMUTATIONS[int(np.argmin(dist))]


def _stream_model(Est, random_state):
    return Est(
        hidden_layer_sizes=(), solver="sgd", learning_rate_init=LR, momentum=0.0,
        alpha=0.0, batch_size=1, random_state=random_state,
    )


def _orders(reg, n_calls):
    orders = []
    for _ in range(n_calls):
        before = (reg.coefs_[0].copy(), reg.intercepts_[0].copy())
        reg.partial_fit(X_STREAM, Y_STREAM)
        orders.append(_visit_order(before, (reg.coefs_[0], reg.intercepts_[0])))
    return orders


def test_partial_fit_calls_shuffle_in_different_orders():
    ours = _stream_model(MLPRegressor, random_state=0).partial_fit(X_STREAM, Y_STREAM)
    theirs = _stream_model(sk.MLPRegressor, random_state=0).partial_fit(X_STREAM, Y_STREAM)
    _assert_same_params(ours, theirs)  # the first call is scikit-learn's

    their_orders = _orders(theirs, 5)
    assert len(set(their_orders)) == 1  # the detector sees scikit-learn's repetition
    our_orders = _orders(ours, 5)
    assert len(set(our_orders)) > 1
    assert any(a != b for a, b in itertools.pairwise(our_orders))


def test_partial_fit_stream_is_one_random_state_continued():
    # One stream across calls is what scikit-learn does when handed a RandomState
    # instance (it is consumed, not re-seeded): an int seed must behave the same.
    ours = _stream_model(MLPRegressor, random_state=3)
    theirs = _stream_model(sk.MLPRegressor, random_state=np.random.RandomState(3))
    for _ in range(4):
        ours.partial_fit(X_STREAM, Y_STREAM)
        theirs.partial_fit(X_STREAM, Y_STREAM)
        _assert_same_params(ours, theirs)


def test_partial_fit_stream_is_reproducible():
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    models = [MLPClassifier(hidden_layer_sizes=(7,), batch_size=10, random_state=4) for _ in range(2)]
    for m in models:
        for _ in range(4):
            m.partial_fit(X, y, classes=[0, 1])
    _assert_same_params(*models, rtol=0, atol=0)


def test_partial_fit_classifier_calls_differ_from_sklearn_after_the_first():
    X, y = make_classification(n_samples=60, n_features=5, random_state=1)
    params = dict(hidden_layer_sizes=(7,), solver="sgd", batch_size=5, random_state=5)
    ours = MLPClassifier(**params).partial_fit(X, y, classes=[0, 1])
    theirs = sk.MLPClassifier(**params).partial_fit(X, y, classes=[0, 1])
    _assert_same_params(ours, theirs)
    ours.partial_fit(X, y)
    theirs.partial_fit(X, y)
    diff = max(np.abs(a - b).max() for a, b in zip(ours.coefs_, theirs.coefs_))
    assert diff > 1e-6


# ------------------------------------------------- (c) lbfgs has no partial_fit


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_lbfgs_has_no_partial_fit(Est):
    est = Est(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        est.partial_fit
    for solver in ("sgd", "adam"):
        assert hasattr(Est(solver=solver), "partial_fit")
    # it follows the current parameter, not the one at construction
    est.set_params(solver="adam")
    assert hasattr(est, "partial_fit")
    est.set_params(solver="lbfgs")
    assert not hasattr(est, "partial_fit")


# -------------------------------------------- (d) warm_start with early stopping


def _es_data():
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, class_sep=2.0, random_state=0
    )
    # Same inputs with shuffled labels: nothing in the second fit scores as well
    # as the first fit did.
    return X, y, np.random.RandomState(0).permutation(y)


def _validation_split(X, y, seed, fraction):
    # The second (warm) fit draws no weights, so its first random draw is the
    # split, exactly as scikit-learn's train_test_split(random_state=seed).
    _, X_val, _, y_val = train_test_split(X, y, random_state=seed, test_size=fraction, stratify=y)
    return X_val, y_val


ES_PARAMS = dict(
    hidden_layer_sizes=(10,), early_stopping=True, validation_fraction=0.2,
    n_iter_no_change=50, max_iter=8, learning_rate_init=0.01, random_state=0,
    warm_start=True,
)


def _assert_restored_best_of_this_fit(model, X, y):
    """The weights are the best of the last fit on its own validation split.

    Returns the (1-based) epoch at which that fit first reached its best score.
    """
    scores = np.asarray(model.validation_scores_[-model.n_iter_ :])
    assert model.n_iter_ == 8
    assert model.best_validation_score_ == pytest.approx(scores.max())
    X_val, y_val = _validation_split(X, y, 0, 0.2)
    assert model.score(X_val, y_val) == pytest.approx(scores.max())
    return int(np.argmax(scores)) + 1


def test_warm_start_early_stopping_restores_best_of_this_fit():
    X, y, y_shuffled = _es_data()
    model = MLPClassifier(**ES_PARAMS).fit(X, y)
    first_fit_best = model.best_validation_score_
    first_fit_coefs = [c.copy() for c in model.coefs_]
    before_second = copy.deepcopy(model)

    model.fit(X, y_shuffled)
    first_best = _assert_restored_best_of_this_fit(model, X, y_shuffled)
    assert model.best_validation_score_ < first_fit_best
    assert not all(np.array_equal(a, b) for a, b in zip(first_fit_coefs, model.coefs_))

    # The second fit's epochs are scikit-learn's (same start, split and
    # shuffles); only what is restored at the end differs.
    theirs = sk.MLPClassifier(**ES_PARAMS).fit(X, y)
    theirs.fit(X, y_shuffled)
    assert_allclose(model.validation_scores_[-8:], theirs.validation_scores_[-8:])

    # Stopping after the best epoch restores the same weights: they are the
    # weights after that epoch.
    shorter = copy.deepcopy(before_second).set_params(max_iter=first_best)
    shorter.fit(X, y_shuffled)
    _assert_same_params(model, shorter)


def test_warm_start_early_stopping_after_fit_without_it():
    # scikit-learn raises AttributeError here ('NoneType' has no 'append').
    X, y, y_shuffled = _es_data()
    model = MLPClassifier(**{**ES_PARAMS, "early_stopping": False}).fit(X, y)
    model.set_params(early_stopping=True)
    model.fit(X, y_shuffled)
    assert len(model.validation_scores_) >= model.n_iter_
    assert model.best_loss_ is None
    _assert_restored_best_of_this_fit(model, X, y_shuffled)


def test_warm_start_without_early_stopping_after_fit_with_it():
    # The reverse switch: scikit-learn raises TypeError (best_loss_ is None).
    X, y, _ = _es_data()
    model = MLPClassifier(**ES_PARAMS).fit(X, y)
    model.set_params(early_stopping=False)
    model.fit(X, y)
    assert model.n_iter_ == 8
    assert np.isfinite(model.best_loss_)
    assert model.best_loss_ == pytest.approx(min(model.loss_curve_[-8:]))


def test_warm_start_early_stopping_regressor_restores_best_of_this_fit():
    X, y = make_regression(n_samples=150, n_features=5, noise=1.0, random_state=0)
    y = y / y.std()
    model = MLPRegressor(**{**ES_PARAMS, "max_iter": 40}).fit(X, y)
    assert model.best_validation_score_ > 0.8
    y_noise = np.random.RandomState(1).randn(len(y))
    model.set_params(max_iter=6).fit(X, y_noise)
    assert model.best_validation_score_ < 0
    scores = np.asarray(model.validation_scores_[-model.n_iter_ :])
    assert model.best_validation_score_ == pytest.approx(scores.max())
    _, X_val, _, y_val = train_test_split(X, y_noise, random_state=0, test_size=0.2)
    assert model.score(X_val, y_val) == pytest.approx(scores.max())


# --------------------------------------- (e) stratified multiclass early stopping


def _constant_input_counts(y, seed, labels):
    """Validation scores of a model that cannot tell samples apart.

    With all inputs equal the network predicts one class for every sample, so a
    validation score is (count of that class in the validation split) / n_val.
    """
    X = np.ones((len(y), 2))
    model = MLPClassifier(
        hidden_layer_sizes=(3,), early_stopping=True, validation_fraction=0.2,
        max_iter=10, n_iter_no_change=100, random_state=seed,
    ).fit(X, labels[y])
    return model, np.rint(np.asarray(model.validation_scores_) * 20).astype(int)


@pytest.mark.parametrize("labels", [np.array([0, 1, 2]), np.array(["cat", "dog", "eel"], dtype=object)])
def test_multiclass_early_stopping_split_is_stratified(labels):
    # 50/30/20 samples, 20 in validation: stratified means exactly 10/6/4.
    y = np.repeat([0, 1, 2], [50, 30, 20])
    stratified = {labels[0]: 10, labels[1]: 6, labels[2]: 4}
    for seed in range(6):
        model, counts = _constant_input_counts(y, seed, labels)
        assert set(counts) <= set(stratified.values()), (seed, counts)
        predicted = model.predict(np.ones((1, 2)))[0]
        assert model.best_validation_score_ == pytest.approx(stratified[predicted] / 20)


def test_binary_early_stopping_split_is_sklearns():
    y = np.repeat([0, 1], [60, 40])
    X = np.ones((100, 2))
    for seed in range(3):
        params = dict(
            hidden_layer_sizes=(3,), early_stopping=True, validation_fraction=0.2,
            max_iter=5, n_iter_no_change=100, random_state=seed,
        )
        ours = MLPClassifier(**params).fit(X, y)
        theirs = sk.MLPClassifier(**params).fit(X, y)
        assert_array_equal(ours.validation_scores_, theirs.validation_scores_)
        assert set(np.rint(np.asarray(ours.validation_scores_) * 20).astype(int)) <= {12, 8}
        _assert_same_params(ours, theirs)


def test_multilabel_early_stopping_still_works():
    # Several output columns of 0/1 are not classes to stratify by.
    X, _ = make_classification(n_samples=100, n_features=5, random_state=0)
    Y = (np.random.RandomState(0).rand(100, 3) < 0.5).astype(int)
    model = MLPClassifier(
        hidden_layer_sizes=(4,), early_stopping=True, max_iter=5, random_state=0
    ).fit(X, Y)
    assert len(model.validation_scores_) == model.n_iter_
