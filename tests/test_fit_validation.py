"""fit's fast path for plain arrays (fastmlp/_checks.py, validate_fit_data)
gives what scikit-learn's validate_data gives: the same arrays, the same
recorded attributes, the same errors and warnings."""
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.utils.validation import validate_data

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._checks import validate_fit_data

CHECK_PARAMS = dict(accept_sparse=["csr", "csc"], multi_output=True,
                    dtype=(np.float64, np.float32))
SPECIAL = [np.nan, np.inf, -np.inf, 1e308]


def _outcome(validate, estimator, X, y, reset, **params):
    """What a validation returns, records, raises and warns."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = validate(estimator, X, y, reset=reset, **CHECK_PARAMS, **params)
            error = None
        except (ValueError, TypeError) as exc:
            out, error = None, (type(exc), str(exc))
    return dict(
        out=out,
        error=error,
        warnings=[(w.category, str(w.message)) for w in caught],
        n_features_in_=getattr(estimator, "n_features_in_", None),
        has_names=hasattr(estimator, "feature_names_in_"),
    )


def _assert_same(a, b):
    assert a["error"] == b["error"]
    assert a["warnings"] == b["warnings"]
    assert a["n_features_in_"] == b["n_features_in_"]
    assert a["has_names"] == b["has_names"]
    if a["out"] is not None:
        for x, y in zip(a["out"], b["out"]):
            assert x.dtype == y.dtype and x.shape == y.shape
            assert_array_equal(x, y)
            assert x.flags.c_contiguous == y.flags.c_contiguous


@st.composite
def fit_data(draw):
    """Mostly arrays the fast path takes (so it is exercised), the rest with
    one thing wrong or unusual."""
    odd = draw(st.sampled_from([None] * 4 + [
        "empty_rows", "empty_cols", "special_X", "dtype_X", "fortran", "1d_X",
        "3d_X", "length", "special_y", "str_y", "object_y", "3d_y", "empty_y_cols"]))
    n_rows = 0 if odd == "empty_rows" else draw(st.integers(1, 6))
    n_cols = 0 if odd == "empty_cols" else draw(st.integers(1, 4))
    X = np.arange(n_rows * n_cols, dtype=float).reshape(n_rows, n_cols) / 3
    if odd == "special_X" and X.size:
        X.flat[draw(st.integers(0, X.size - 1))] = draw(st.sampled_from(SPECIAL))
    x_dtypes = ["float64", "float32"]
    if odd == "dtype_X":
        x_dtypes = [">f8", "int64", "float16", "bool"]
    with np.errstate(over="ignore", invalid="ignore"):
        X = X.astype(draw(st.sampled_from(x_dtypes)))
    if odd == "fortran":
        X = np.asfortranarray(X)
    elif odd == "1d_X":
        X = X[:, 0]
    elif odd == "3d_X":
        X = X[:, None, :]
    n_y = n_rows + (1 if odd == "length" else 0)
    y = np.arange(n_y) % 2
    y = y.astype(draw(st.sampled_from(["int64", "int8", "float64", "float32", "bool"])))
    if draw(st.booleans()):
        y = np.c_[y, 1 - y][:, :1 + draw(st.integers(0, 1))]
    if odd == "special_y" and n_y:
        y = y.astype(float)
        y.flat[0] = draw(st.sampled_from(SPECIAL))
    elif odd == "str_y":
        y = np.array(["a", "b"] * n_y)[:n_y]
    elif odd == "object_y":
        y = y.astype(object)
    elif odd == "3d_y":
        y = y.reshape(n_y, 1, -1)
    elif odd == "empty_y_cols":
        y = y.reshape(n_y, -1)[:, :0]
    return X, y


@settings(max_examples=300, deadline=None)
@given(data=fit_data(), Est=st.sampled_from([MLPClassifier, MLPRegressor]),
       fitted_with=st.sampled_from([None, 2, 3, "names"]), reset=st.booleans())
def test_fast_path_matches_validate_data(data, Est, fitted_with, reset):
    X, y = data
    params = dict(y_numeric=True) if Est is MLPRegressor else {}
    results = []
    for validate in (validate_fit_data, validate_data):
        est = Est()
        if fitted_with == "names":
            # a model fitted on a dataframe: plain arrays warn, or fail on
            # their width
            est.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)
            est.n_features_in_ = 3
        elif fitted_with is not None:
            est.n_features_in_ = fitted_with
        results.append(_outcome(validate, est, X, y, reset, **params))
    _assert_same(*results)


def test_fast_path_keeps_float32_and_does_not_copy():
    X = np.random.RandomState(0).rand(20, 3).astype(np.float32)
    y = np.arange(20) % 2
    est = MLPClassifier()
    est.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)
    Xv, yv = validate_fit_data(est, X, y, reset=True, **CHECK_PARAMS)
    assert Xv is X and yv is y
    assert est.n_features_in_ == 3 and not hasattr(est, "feature_names_in_")


def test_dataframes_still_record_their_feature_names():
    X = pd.DataFrame({"u": [0.0, 1, 2, 3], "v": [1.0, 0, 1, 0]})
    est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, [0, 1, 0, 1])
    assert list(est.feature_names_in_) == ["u", "v"]
