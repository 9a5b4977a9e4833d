"""Issue 10: nothing the engine is handed can make it read or write out of
bounds, and nothing hides a network gone bad.

- A NaN in the weights reaches the output, where predict refuses it.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from fastmlp import MLPClassifier, MLPRegressor

RNG = np.random.RandomState(0)
X = RNG.randn(40, 4)
Y_CLASS = np.arange(40) % 3


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ------------------------------------------------------ NaN in the weights

@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_predict_with_a_nan_weight_is_refused(activation, sparse):
    # relu turned the NaN into 0, so predict returned finite garbage where
    # the README promises a ValueError (scikit-learn returns NaN)
    model = _quiet(MLPClassifier(hidden_layer_sizes=(6,), activation=activation,
                                 max_iter=5, random_state=0).fit, X, Y_CLASS)
    model.coefs_[0][1, 2] = np.nan   # in place: the model's own buffer
    X_test = sp.csr_matrix(X) if sparse else X
    for predict in (model.predict, model.predict_proba):
        with pytest.raises(ValueError, match="NaN or infinity"):
            predict(X_test)


def test_regressor_with_a_nan_hidden_intercept_is_refused():
    model = _quiet(MLPRegressor(hidden_layer_sizes=(6, 3), max_iter=5, random_state=0).fit,
                   X, X[:, 0])
    model.intercepts_[1][0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.predict(X[:1])
