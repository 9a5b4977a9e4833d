"""weight_init: every scheme draws what its registry entry says, from
random_state, and "sklearn" (the default) stays scikit-learn's draws."""
import numpy as np
import pytest
from scipy import stats
from sklearn import neural_network as sk

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._registry import WEIGHT_INITS

# scheme -> (coefficient distribution for fan_in, fan_out; intercepts zero?)
DISTRIBUTIONS = {
    "glorot_uniform": (lambda i, o: stats.uniform(-np.sqrt(6 / (i + o)),
                                                  2 * np.sqrt(6 / (i + o))), True),
    "glorot_normal": (lambda i, o: stats.norm(0, np.sqrt(2 / (i + o))), True),
    "he_uniform": (lambda i, o: stats.uniform(-np.sqrt(6 / i), 2 * np.sqrt(6 / i)), True),
    "he_normal": (lambda i, o: stats.norm(0, np.sqrt(2 / i)), True),
    "lecun_normal": (lambda i, o: stats.norm(0, np.sqrt(1 / i)), True),
    "normal": (lambda i, o: stats.norm(0, 0.05), False),
    "uniform": (lambda i, o: stats.uniform(-1, 2), False),
}


def _initial_model(weight_init, hidden=(300, 40), n_features=200, dtype=np.float64,
                   seed=0, **params):
    X = np.random.RandomState(1).randn(50, n_features).astype(dtype)
    y = np.arange(50) % 3
    # one epoch with a zero learning rate keeps the initial draws
    model = MLPClassifier(hidden, weight_init=weight_init, learning_rate_init=1e-300,
                          max_iter=1, random_state=seed, **params)
    with pytest.warns(Warning):
        return model.fit(X, y)


def test_every_scheme_is_tested():
    assert set(DISTRIBUTIONS) | {"sklearn"} == set(WEIGHT_INITS)


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_coefficients_follow_the_scheme(name):
    model = _initial_model(name, init_scale=0.05)
    distribution, zero_intercepts = DISTRIBUTIONS[name]
    for coef, intercept in zip(model.coefs_, model.intercepts_):
        fan_in, fan_out = coef.shape
        # a fixed seed: the test cannot fail by chance from one run to the next
        assert stats.kstest(coef.ravel(), distribution(fan_in, fan_out).cdf).pvalue > 1e-3
        if zero_intercepts:
            assert np.abs(intercept).max() < 1e-290  # zero, but for the tiny step
        else:
            assert stats.kstest(intercept, distribution(fan_in, fan_out).cdf).pvalue > 1e-3


@pytest.mark.parametrize("name", sorted(WEIGHT_INITS))
def test_draws_come_from_random_state(name):
    first = _initial_model(name, hidden=(8,), n_features=5, seed=0)
    again = _initial_model(name, hidden=(8,), n_features=5, seed=0)
    other = _initial_model(name, hidden=(8,), n_features=5, seed=1)
    np.testing.assert_array_equal(first.coefs_[0], again.coefs_[0])
    assert not np.array_equal(first.coefs_[0], other.coefs_[0])


def test_float32_models_draw_in_float64_and_cast():
    # the same draws, rounded: a float32 model starts where the float64 one does
    single = _initial_model("he_normal", hidden=(8,), n_features=5, dtype=np.float32)
    double = _initial_model("he_normal", hidden=(8,), n_features=5, dtype=np.float64)
    assert single.coefs_[0].dtype == np.float32
    np.testing.assert_array_equal(single.coefs_[0], double.coefs_[0].astype(np.float32))


def test_sklearn_is_the_default_and_scikit_learns_draws():
    X = np.random.RandomState(0).randn(30, 4)
    y = X[:, 0] > 0
    ours = MLPClassifier((6,), activation="logistic", max_iter=1, random_state=3,
                         learning_rate_init=1e-300)
    theirs = sk.MLPClassifier((6,), activation="logistic", max_iter=1, random_state=3,
                              learning_rate_init=1e-300)
    with pytest.warns(Warning):
        ours.fit(X, y)
    with pytest.warns(Warning):
        theirs.fit(X, y)
    assert ours.weight_init == "sklearn"
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_warm_start_and_partial_fit_do_not_draw_again():
    X = np.random.RandomState(0).randn(40, 3)
    y = X[:, 0] > 0
    model = MLPRegressor(hidden_layer_sizes=(5,), weight_init="uniform", max_iter=2,
                         random_state=0)
    with pytest.warns(Warning):
        model.fit(X, y)
    before = [c.copy() for c in model.coefs_]
    model.set_params(warm_start=True, learning_rate_init=1e-300)
    with pytest.warns(Warning):
        model.fit(X, y)
    model.partial_fit(X, y)
    for a, b in zip(before, model.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("params, match", [
    (dict(weight_init="xavier"), "weight_init"),
    (dict(weight_init=None), "weight_init"),
    (dict(init_scale=0.0), "init_scale"),
    (dict(init_scale=-1.0), "init_scale"),
    (dict(init_scale="small"), "init_scale"),
])
def test_bad_weight_init_is_refused_by_name(Est, params, match):
    X = np.random.RandomState(0).randn(10, 3)
    with pytest.raises((ValueError, TypeError), match=match):
        Est(**params).fit(X, np.arange(10) % 2)


@pytest.mark.parametrize("name", sorted(WEIGHT_INITS))
def test_every_scheme_trains(name):
    X = np.random.RandomState(0).randn(200, 4)
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = MLPClassifier((16,), weight_init=name, max_iter=200, random_state=0,
                          activation="tanh", solver="lbfgs").fit(X, y)
    assert model.score(X, y) > 0.9
