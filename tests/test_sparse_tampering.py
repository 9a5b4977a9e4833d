"""Sparse input tampered with at random (issue 10): a clear error or the
right answer, never a crash.

Hypothesis builds a valid sparse X in one of scipy's formats (matrix or
array), then changes what scipy lets anyone change after construction: an
index, a row pointer, an offset or a key (to a value in or out of range, of
another dtype, or dropped or added), the values' length or dtype, the shape.
Each call (fit, partial_fit, predict, predict_proba, an lbfgs fit) must then
either raise a ValueError or TypeError (MemoryError for a network too big
to train) that says what is wrong with X in the
user's terms (never the engine's words, which would mean the estimator let
the matrix through to the engine), or give what the same call gives on the
dense matrix the tampered one stands for.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fastmlp import MLPClassifier, MLPRegressor

N_ROWS, N_FEATURES = 12, 4
FORMATS = ["csr", "csc", "coo", "bsr", "dia", "lil", "dok"]
# what the engine says when it refuses arrays: the estimator must have said
# something first
ENGINE_WORDS = ["buffers of the wrong size", "buffer of the wrong size", "CSR X",
                "Buffer dtype mismatch", "different numbers of rows", "class index"]

Y_CLASS = np.arange(N_ROWS) % 3
RNG = np.random.RandomState(0)
X_FIT = RNG.randn(30, N_FEATURES)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


MODEL = _quiet(MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit,
               X_FIT, np.arange(30) % 3)


def _classifier():
    return MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0)


def _params(model):
    return model.coefs_ + model.intercepts_


CALLS = {
    "fit": lambda X: _params(_quiet(_classifier().fit, X, Y_CLASS[:_rows(X)])),
    "partial_fit": lambda X: _params(_classifier().partial_fit(X, Y_CLASS[:_rows(X)],
                                                               classes=[0, 1, 2])),
    "predict": lambda X: [MODEL.predict(X)],
    "predict_proba": lambda X: [MODEL.predict_proba(X)],
    "lbfgs": lambda X: _params(_quiet(
        MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=3, random_state=0).fit,
        X, np.linspace(-1, 1, N_ROWS)[:_rows(X)])),
}


def _rows(X):
    # y follows X's rows when a tampered shape changed them (validation
    # then compares the two; a shape that is no shape is refused anyway)
    try:
        return min(int(X.shape[0]), N_ROWS)
    except (TypeError, ValueError, IndexError):
        return N_ROWS


# ------------------------------------------------------------ tampering

INDEX_VALUES = [-1, -2**40, 0, 1, 2, 3, 4, 5, 11, 12, 13, 2**31, 2**62]
INDEX_DTYPES = [np.int8, np.int32, np.uint32, np.uint64, np.float64, np.bool_, object]
DATA_DTYPES = [np.int64, np.float32, np.bool_, np.complex128, object, "U3"]


def _index_arrays(S):
    """(name, getter, setter) of each 1-D integer array of S's structure."""
    fmt = S.format
    if fmt in ("csr", "csc", "bsr"):
        names = ["indices", "indptr"]
    elif fmt == "dia":
        names = ["offsets"]
    elif fmt == "coo":
        return [(f"coords[{axis}]", lambda S, a=axis: _coords(S)[a],
                 lambda S, v, a=axis: _set_coords(S, a, v)) for axis in (0, 1)]
    else:
        return []
    return [(name, lambda S, n=name: getattr(S, n), lambda S, v, n=name: setattr(S, n, v))
            for name in names]


def _coords(S):
    return S.coords if hasattr(S, "coords") else (S.row, S.col)


def _set_coords(S, axis, value):
    coords = list(_coords(S))
    coords[axis] = value
    if hasattr(S, "coords"):
        S.coords = tuple(coords)
    else:
        S.row, S.col = coords


def _tamper_index(S, draw):
    arrays = _index_arrays(S)
    assume(arrays)
    _, get, set_ = draw(st.sampled_from(arrays))
    a = np.array(get(S))
    how = draw(st.sampled_from(["value", "dtype", "drop", "add", "swap"]))
    if how == "value":
        assume(a.shape[0] > 0)
        i = draw(st.integers(0, a.shape[0] - 1))
        value = draw(st.sampled_from(INDEX_VALUES))
        a = a.astype(np.int64)
        a[i] = value
    elif how == "dtype":
        with np.errstate(all="ignore"):
            a = a.astype(draw(st.sampled_from(INDEX_DTYPES)))
    elif how == "drop":
        assume(a.shape[0] > 0)
        a = np.delete(a, draw(st.integers(0, a.shape[0] - 1)))
    elif how == "add":
        a = np.insert(a, draw(st.integers(0, a.shape[0])), draw(st.sampled_from(INDEX_VALUES)))
    else:
        assume(a.shape[0] > 1)
        i, j = draw(st.integers(0, a.shape[0] - 1)), draw(st.integers(0, a.shape[0] - 1))
        a[[i, j]] = a[[j, i]]
    set_(S, a)


def _tamper_data(S, draw):
    assume(S.format not in ("lil", "dok"))
    data = S.data
    how = draw(st.sampled_from(["drop", "add", "dtype"]))
    if how == "drop":
        assume(data.shape[0] > 0)
        S.data = data[:-draw(st.integers(1, data.shape[0]))]
    elif how == "add":
        S.data = np.concatenate([data, data[:1] if data.shape[0] else
                                 np.ones((1,) + data.shape[1:], data.dtype)])
    else:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")   # complex -> real, say
            S.data = data.astype(draw(st.sampled_from(DATA_DTYPES)))


def _tamper_shape(S, draw):
    r, c = S.shape
    S._shape = draw(st.sampled_from([(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1),
                                     (0, c), (r, 0), (-1, c), (r, 2**40), (r,), (r, c, 1),
                                     (float(r), c)]))


def _tamper_lil(S, draw):
    assume(S.format == "lil")
    how = draw(st.sampled_from(["value", "length", "rows", "type"]))
    i = draw(st.integers(0, S.shape[0] - 1))
    if how == "value":
        S.rows[i] = sorted(set(S.rows[i][:-1] + [draw(st.sampled_from(INDEX_VALUES))]))
        S.data[i] = [1.0] * len(S.rows[i])
    elif how == "length":
        S.rows[i] = S.rows[i] + [0]
    elif how == "rows":
        S.rows = S.rows[:draw(st.integers(0, S.shape[0]))]
    else:
        S.rows[i] = [float(j) + 0.5 for j in S.rows[i]] or [0.5]
        S.data[i] = [1.0] * len(S.rows[i])


def _tamper_dok(S, draw):
    assume(S.format == "dok")
    key = draw(st.sampled_from([(0, N_FEATURES), (N_ROWS, 0), (-1, 0), (0, -1), (2**40, 0),
                                (0.5, 1), (1, 2), (0,), (0, 1, 2)]))
    store = getattr(S, "_dict", None)
    if store is not None:
        store[key] = 2.0
    else:
        dict.__setitem__(S, key, 2.0)


TAMPERINGS = [_tamper_index, _tamper_data, _tamper_shape, _tamper_lil, _tamper_dok]


@st.composite
def tampered_sparse(draw):
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    D = np.round(rng.randn(N_ROWS, N_FEATURES), 3) * (rng.rand(N_ROWS, N_FEATURES) < 0.5)
    fmt = draw(st.sampled_from(FORMATS))
    container = draw(st.sampled_from(["matrix", "array"]))
    kwargs = dict(blocksize=(2, 2)) if fmt == "bsr" else {}
    S = getattr(sp, f"{fmt}_{container}")(D, **kwargs)
    for tamper in draw(st.lists(st.sampled_from(TAMPERINGS), max_size=3)):
        try:
            tamper(S, draw)
        except (ValueError, TypeError, IndexError, OverflowError, AttributeError):
            assume(False)   # scipy refused to hold it: nothing to check
    return S


def _dense(X):
    """X.toarray(), for the index and value dtypes scipy's own routines do
    not take (fastmlp casts them; validation makes object values float64)."""
    X = X.astype(np.float64) if X.dtype == object else X.copy()
    for name, get, set_ in _index_arrays(X):
        set_(X, get(X).astype(np.int64))
    return X.toarray()


@pytest.mark.parametrize("call", list(CALLS))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(X=tampered_sparse())
def test_tampered_sparse_x_gets_a_clear_error_or_the_dense_answer(call, X):
    try:
        got = CALLS[call](X)
    except (ValueError, TypeError, MemoryError) as exc:
        # (MemoryError: a valid matrix of 2**40 columns needs a network that big)
        message = str(exc)
        assert not any(words in message for words in ENGINE_WORDS), message
        return
    # accepted: X is a valid matrix, and must mean what its dense form means
    expected = CALLS[call](_dense(X))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        if a.dtype.kind == "f":
            # sparse and dense first layers add in different orders
            tol = 1e-5 if a.dtype == np.float32 else 1e-9
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(a, b)
