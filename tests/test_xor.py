"""XOR is not linearly separable (theory notes 002).

Without a hidden layer (or with only identity hidden units) the network's logit is
an affine function f of x, and for the four XOR corners
f(0,0) + f(1,1) = f(0,1) + f(1,0), so the two class-0 corners cannot both be
negative while the two class-1 corners are both positive: at most 3 of 4 are right.
A non-linear hidden layer fits XOR exactly.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import logit

from fastmlp import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([0, 1, 1, 0])


def _assert_linear_cannot_fit(clf):
    clf.fit(X_XOR, Y_XOR)
    assert clf.score(X_XOR, Y_XOR) <= 0.75
    # The reason: the logit is affine in x.
    f = logit(clf.predict_proba(X_XOR)[:, 1])
    assert_allclose(f[0] + f[3], f[1] + f[2], rtol=1e-6, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(
    solver=st.sampled_from(["lbfgs", "adam", "sgd"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_no_hidden_layer_cannot_fit_xor(solver, seed):
    clf = MLPClassifier(
        hidden_layer_sizes=(), solver=solver, learning_rate_init=0.05, max_iter=300, random_state=seed
    )
    _assert_linear_cannot_fit(clf)
    assert clf.n_layers_ == 2
    assert [c.shape for c in clf.coefs_] == [(2, 1)]


@settings(max_examples=10, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 8), min_size=1, max_size=3).map(tuple),
    seed=st.integers(0, 2**31 - 1),
)
def test_identity_hidden_layers_cannot_fit_xor(hidden, seed):
    # A stack of linear layers is still linear.
    clf = MLPClassifier(
        hidden_layer_sizes=hidden, activation="identity", solver="lbfgs", max_iter=300, random_state=seed
    )
    _assert_linear_cannot_fit(clf)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
def test_hidden_layer_fits_xor(activation, seed):
    clf = MLPClassifier(
        hidden_layer_sizes=(8,), activation=activation, solver="lbfgs", max_iter=2000, random_state=seed
    )
    clf.fit(X_XOR, Y_XOR)
    assert clf.score(X_XOR, Y_XOR) == 1.0
    proba = clf.predict_proba(X_XOR)[:, 1]
    assert np.all(proba[[1, 2]] > 0.5) and np.all(proba[[0, 3]] < 0.5)
    # The fitted function is genuinely non-affine on the corners.
    f = logit(np.clip(proba, 1e-12, 1 - 1e-12))
    assert abs((f[0] + f[3]) - (f[1] + f[2])) > 1.0


@pytest.mark.parametrize("seed", range(3))
def test_hidden_layer_fits_xor_with_adam(seed):
    clf = MLPClassifier(
        hidden_layer_sizes=(8,), activation="tanh", learning_rate_init=0.05, max_iter=2000, random_state=seed
    )
    clf.fit(X_XOR, Y_XOR)
    assert clf.score(X_XOR, Y_XOR) == 1.0
