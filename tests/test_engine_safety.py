"""Issue 10: nothing the engine is handed can make it read or write out of
bounds, and nothing hides a network gone bad.

- Every engine entry point (predict_sparse, Epochs, loss_gradient) checks
  the CSR arrays against the network it is handed, so a model whose first
  layer no longer matches its data, or two threads refitting one estimator,
  get errors, never a crash.
- A sparse matrix or array of any scipy format is checked before anything
  converts it.
- A NaN in the weights reaches the output, where predict refuses it.
- Class indices travel as integers, exact in a float32 fit.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import fastmlp._base
from engine_specs import network_spec
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._engine._epochs import Epochs
from fastmlp._engine._full_batch import loss_gradient
from fastmlp._engine._inference import predict_sparse
from fastmlp._engine._network import Network
from fastmlp._engine_input import engine_input

RNG = np.random.RandomState(0)
X = RNG.randn(40, 4)
Y_CLASS = np.arange(40) % 3
Y_MULTILABEL = (RNG.rand(40, 3) > 0.5).astype(int)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ------------------------------------------------ the engine's entry points

N_ROWS, N_FEATURES = 10, 4


def _csr_arrays():
    S = sp.random(N_ROWS, N_FEATURES, density=0.5, format="csr", random_state=1)
    return S.data.copy(), S.indices.astype(np.intp), S.indptr.astype(np.intp)


def _changed(a, index, value):
    a = a.copy()
    a[index] = value
    return a


# (name, change of (data, indices, indptr), words of the engine's error)
BAD_CSR = [
    ("a column index at the first layer's width",
     lambda d, i, p: (d, _changed(i, 3, N_FEATURES), p), "column index 4 for 4 inputs"),
    ("a negative column index", lambda d, i, p: (d, _changed(i, 0, -1), p), "column index -1"),
    ("a huge column index", lambda d, i, p: (d, _changed(i, -1, 2**62), p), "column index"),
    ("row pointers from 1", lambda d, i, p: (d, i, _changed(p, 0, 1)), "row pointers"),
    ("decreasing row pointers", lambda d, i, p: (d, i, _changed(p, 5, p[7])), "row pointers"),
    ("row pointers past the indices", lambda d, i, p: (d, i, _changed(p, -1, p[-1] + 1)),
     "row pointers"),
    ("row pointers short of the indices", lambda d, i, p: (d, i, _changed(p, -1, p[-2])),
     "row pointers"),
    ("fewer values than indices", lambda d, i, p: (d[:-1], i, p), "column indices for"),
    ("more values than indices", lambda d, i, p: (np.r_[d, 1.0], i, p), "column indices for"),
    ("no row pointers", lambda d, i, p: (d, i, p[:0]), "wrong size|row pointers"),
]


def _engine_buffers(n_parts=2, batch_size=4):
    network = Network(network_spec([N_FEATURES, 5, 3], "relu", "log_loss"))
    part_rows = -(-batch_size // n_parts)
    return dict(
        network=network,
        params=RNG.randn(network.n_params),
        grads=np.empty(n_parts * network.n_params),
        work=np.empty(n_parts * network.work_size(part_rows, False)),
        Y=np.eye(3)[np.arange(N_ROWS) % 3],
    )


def _predict_sparse(b, data, indices, indptr):
    out = np.empty((N_ROWS, 3))
    predict_sparse(b["network"], b["params"], data, indices, indptr, out, 3, 2)
    return out


def _epochs(b, data, indices, indptr):
    n = b["network"].n_params
    return Epochs(b["network"], b["params"], b["grads"], np.zeros(n), np.zeros(n), b["work"],
                  np.empty((0, 0)), data, indices, indptr, b["Y"], np.empty(0),
                  np.arange(N_ROWS, dtype=np.intp), 4, False, 2, 2)


def _loss_gradient(b, data, indices, indptr):
    return loss_gradient(b["network"], b["params"], b["grads"], b["work"], np.empty((0, 0)),
                         data, indices, indptr, b["Y"], np.empty(0), 4, 2, 2, 1e-4, 1.0)


ENTRY_POINTS = [_predict_sparse, _epochs, _loss_gradient]


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda f: f.__name__.strip("_"))
def test_engine_entry_points_take_consistent_csr_arrays(entry):
    entry(_engine_buffers(), *_csr_arrays())


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("name, change, words", BAD_CSR, ids=[c[0] for c in BAD_CSR])
def test_engine_entry_points_refuse_csr_arrays_the_network_cannot_read(entry, name, change,
                                                                       words):
    with pytest.raises(ValueError, match=words):
        entry(_engine_buffers(), *change(*_csr_arrays()))


def test_engine_reads_an_all_zero_csr_matrix_without_values():
    data, indices, indptr = np.empty(0), np.empty(0, np.intp), np.zeros(N_ROWS + 1, np.intp)
    b = _engine_buffers()
    out = _predict_sparse(b, data, indices, indptr)
    assert np.isfinite(_loss_gradient(b, data, indices, indptr))
    _epochs(b, data, indices, indptr)
    # every row is the network's output for zeros
    np.testing.assert_allclose(out, out[:1].repeat(N_ROWS, axis=0))


def test_epochs_refuse_dense_rows_read_in_place_that_are_not_consecutive():
    # without gather each part of a minibatch is read as one block of X
    b = _engine_buffers()
    n = b["network"].n_params
    work = np.empty(2 * b["network"].work_size(2, True))
    args = [b["network"], b["params"], b["grads"], np.zeros(n), np.zeros(n), work,
            RNG.randn(N_ROWS, N_FEATURES), np.zeros(1), np.zeros(1, np.intp),
            np.zeros(1, np.intp), b["Y"], np.empty(0)]
    order = np.arange(N_ROWS, dtype=np.intp)
    Epochs(*args, order, 4, False, 2, 2)
    with pytest.raises(ValueError, match="consecutive"):
        Epochs(*args, order[::-1].copy(), 4, False, 2, 2)
    Epochs(*args, order[::-1].copy(), 4, True, 2, 2)   # gathered: any order


@pytest.mark.parametrize("change, words", [
    (dict(chunk_rows=0), "rows per chunk"),
    (dict(n_threads=0), "thread"),
    (dict(Y=np.empty((0, 3))), "no rows"),
])
def test_loss_gradient_refuses_passes_it_cannot_make(change, words):
    b = _engine_buffers()
    kwargs = dict(chunk_rows=4, n_threads=2, Y=b["Y"])
    kwargs.update(change)
    with pytest.raises(ValueError, match=words):
        loss_gradient(b["network"], b["params"], b["grads"], b["work"],
                      RNG.randn(N_ROWS, N_FEATURES), np.zeros(1), np.zeros(1, np.intp),
                      np.zeros(1, np.intp), kwargs["Y"], np.empty(0), kwargs["chunk_rows"],
                      2, kwargs["n_threads"], 1e-4, 1.0)


# ------------------------------------- a model narrower than its data

def test_predict_after_narrowing_the_first_layer_is_refused_on_sparse_and_dense_x():
    # README: assigning coefs_ is supported. A first layer narrower than
    # n_features_in_ made sparse predict read past the weights (SIGSEGV with
    # 2,000,000 columns); the estimator says what is wrong, and the engine
    # itself refuses too.
    n_features = 2_000_000
    Xs = sp.random(30, n_features, density=2e-5, format="csr", random_state=0,
                   dtype=np.float32)
    Xs = Xs + sp.csr_matrix(([1.0], ([0], [n_features - 1])), shape=Xs.shape)
    Xs = Xs.astype(np.float32)
    y = np.arange(30) % 2
    model = _quiet(MLPClassifier(hidden_layer_sizes=(2,), solver="sgd", max_iter=1,
                                 random_state=0).fit, Xs, y)
    model.coefs_ = [model.coefs_[0][:3], model.coefs_[1]]
    for predict in (model.predict, model.predict_proba):
        with pytest.raises(ValueError, match="coefs_\\[0\\] has 3 rows"):
            predict(Xs)
    with pytest.raises(ValueError, match="coefs_\\[0\\] has 3 rows"):
        model.predict(np.zeros((1, n_features), np.float32))
    # the engine, handed that network and X without the estimator's checks
    network = Network(network_spec([3, 2, 1], "relu", "binary_log_loss", "float32"))
    params = np.zeros(network.n_params, np.float32)
    _, data, indices, indptr = engine_input(Xs, np.float32)
    with pytest.raises(ValueError, match="column index"):
        predict_sparse(network, params, data, indices, indptr,
                       np.empty((30, 1), np.float32), 30)


_RACE_SCRIPT = r"""
import sys, threading, time, warnings
import numpy as np, scipy.sparse as sp
from fastmlp import MLPClassifier
warnings.simplefilter("ignore")
rng = np.random.RandomState(0)
X_dense = rng.randn(300, 8)
y_dense = (X_dense[:, 0] > 0).astype(int)
X_sparse = sp.random(300, 5000, density=0.01, format="csr", random_state=rng)
y_sparse = rng.randint(0, 3, 300)
model = MLPClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
stop = time.monotonic() + float(sys.argv[1])
done = [0, 0]

def refit(i, X, y):
    r = np.random.RandomState(i)
    while time.monotonic() < stop:
        try:
            model.set_params(solver=["adam", "sgd", "lbfgs"][r.randint(3)],
                             warm_start=bool(r.randint(2)))
            if r.randint(2):
                model.fit(X, y)
            else:
                model.partial_fit(X, y, classes=np.unique(y))
            model.predict(X)
        except Exception:
            pass   # errors are allowed: the two fits disagree about everything
        done[i] += 1

threads = [threading.Thread(target=refit, args=(0, X_dense, y_dense)),
           threading.Thread(target=refit, args=(1, X_sparse, y_sparse))]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(min(done))
"""


def test_two_threads_refitting_one_estimator_on_sparse_and_dense_x_never_crash():
    # One thread's fit could hand the engine the other's network: sparse
    # column indices past its first layer (a segfault within seconds). In a
    # subprocess, so that a crash is this test's failure, not pytest's.
    result = subprocess.run([sys.executable, "-c", _RACE_SCRIPT, "4"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert int(result.stdout) >= 5   # both threads kept going


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


# ------------------------------------- sparse formats, checked before conversion

def _dok_set(S, key, value):
    # scipy >= 1.13 keeps the entries in _dict; older DOKs are the dict
    store = getattr(S, "_dict", None)
    if store is not None:
        store[key] = value
    else:
        dict.__setitem__(S, key, value)


def _coords(S):
    return S.coords if hasattr(S, "coords") else (S.row, S.col)


def _set_attr(S, name, value):
    setattr(S, name, value)
    return S


# (format, name, corruption of a valid matrix of that format). Each one
# crashed, read uninitialised memory or was silently trained on before.
CORRUPTIONS = [
    ("csr", "a negative column index", lambda S: _changed_attr(S, "indices", 0, -5)),
    ("csr", "decreasing row pointers", lambda S: _changed_attr(S, "indptr", 3, 10**6)),
    ("csc", "a row index past the rows", lambda S: _changed_attr(S, "indices", 0, 10**6)),
    ("coo", "a negative row index", lambda S: _changed_tuple(S, 0, 2, -10**6)),
    ("coo", "a column index past the columns", lambda S: _changed_tuple(S, 1, 2, 10**6)),
    ("coo", "fewer values than indices", lambda S: _set_attr(S, "data", S.data[:-3])),
    ("bsr", "row pointers past the blocks", lambda S: _changed_attr(S, "indptr", -1, 10**6)),
    ("bsr", "a negative block index", lambda S: _changed_attr(S, "indices", 1, -10**6)),
    ("dia", "a diagonal outside the shape", lambda S: _changed_attr(S, "offsets", 0, 10**6)),
    ("dia", "more diagonals than offsets",
     lambda S: _set_attr(S, "offsets", S.offsets[:-1].copy())),
    ("lil", "fewer rows than the shape", lambda S: _set_attr(S, "rows", S.rows[:-5])),
    ("lil", "a negative column index", lambda S: _lil_index(S, -10**6)),
    ("dok", "a key past the rows", lambda S: _dok_key(S, (10**6, 1))),
    ("dok", "a negative key", lambda S: _dok_key(S, (-10**6, 1))),
]


def _changed_attr(S, name, index, value):
    a = getattr(S, name).copy()
    a[index] = value
    setattr(S, name, a)
    return S


def _changed_tuple(S, axis, index, value):
    coords = [c.copy() for c in _coords(S)]
    coords[axis][index] = value
    if hasattr(S, "coords"):
        S.coords = tuple(coords)
    else:
        S.row, S.col = coords
    return S


def _lil_index(S, value):
    S.rows[2] = [value] + S.rows[2][1:]
    return S


def _dok_key(S, key):
    _dok_set(S, key, 1.0)
    return S


def _corrupted(fmt, container, corruption, dense):
    kwargs = dict(blocksize=(2, 2)) if fmt == "bsr" else {}
    return corruption(getattr(sp, f"{fmt}_{container}")(dense, **kwargs))


CALLS = {
    "fit": lambda S: _quiet(MLPClassifier(max_iter=2).fit, S, Y_CLASS),
    "partial_fit": lambda S: MLPClassifier().partial_fit(S, Y_CLASS, classes=[0, 1, 2]),
    "predict": lambda S: _fitted().predict(S),
    "predict_proba": lambda S: _fitted().predict_proba(S),
    "score": lambda S: _fitted().score(S, Y_CLASS),
    "lbfgs": lambda S: _quiet(MLPRegressor(solver="lbfgs", max_iter=2).fit, S, X[:, 0]),
}


def _fitted():
    return _quiet(MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit,
                  X, Y_CLASS)


def _sparse_dense():
    D = X.copy()
    D[np.abs(D) < 0.5] = 0
    return D


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("container", ["matrix", "array"])
@pytest.mark.parametrize("fmt, name, corruption", CORRUPTIONS,
                         ids=[f"{c[0]}: {c[1]}" for c in CORRUPTIONS])
def test_corrupted_sparse_x_of_every_format_is_refused_before_conversion(
        fmt, name, corruption, container, call):
    S = _corrupted(fmt, container, corruption, _sparse_dense())
    with pytest.raises(ValueError, match=f"X is not a valid {fmt.upper()} {container}"):
        CALLS[call](S)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "bsr", "dia", "lil", "dok"])
@pytest.mark.parametrize("container", ["matrix", "array"])
def test_valid_sparse_x_of_every_format_gives_the_dense_model(fmt, container):
    D = _sparse_dense()
    S = getattr(sp, f"{fmt}_{container}")(D)
    dense = _quiet(MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit,
                   D, Y_CLASS)
    sparse = _quiet(MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit,
                    S, Y_CLASS)
    for a, b in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sparse.predict_proba(S), dense.predict_proba(D), rtol=1e-8)


@pytest.mark.parametrize("call", ["fit", "partial_fit", "score"])
def test_corrupted_sparse_y_is_refused_before_conversion(call):
    Y = sp.coo_matrix(Y_MULTILABEL)
    _changed_tuple(Y, 0, 2, -10**6)
    model = _quiet(MLPClassifier(hidden_layer_sizes=(5,), max_iter=2).fit, X, Y_MULTILABEL)
    with pytest.raises(ValueError, match="y is not a valid COO matrix"):
        if call == "fit":
            model.fit(X, Y)
        elif call == "partial_fit":
            MLPClassifier().partial_fit(X, Y, classes=[0, 1])
        else:
            model.score(X, Y)


@pytest.mark.parametrize("call", ["fit", "predict"])
def test_sparse_x_of_strings_is_refused(call):
    # scipy holds str values, and scikit-learn's validation parses "1.5"
    # into 1.5: refused as for dense X of strings
    S = sp.csr_matrix(_sparse_dense())
    S.data = S.data.astype("U5")
    with pytest.raises(TypeError, match="sparse matrix of strings"):
        CALLS[call](S)


def test_sparse_x_with_float_indices_is_refused():
    # scipy only warns, then truncates (and a NaN index becomes INT_MIN)
    S = sp.csr_matrix(_sparse_dense())
    S.indices = S.indices.astype(float)
    with pytest.raises(ValueError, match="float64, not integers"):
        _fitted().predict(S)


def test_the_check_leaves_the_users_matrix_as_it_was():
    # scipy's check_format prunes and recasts in place; fastmlp's reads only
    S = sp.csr_matrix(_sparse_dense())
    indices = np.r_[S.indices, 0, 1].astype(np.int64)
    data = np.r_[S.data, 5.0, 5.0]   # past the last row pointer: unused
    S = sp.csr_matrix((data, indices, S.indptr.astype(np.int64)), shape=S.shape)
    S.indices, S.data = indices, data
    model = _fitted()
    expected = model.predict_proba(S.toarray())
    np.testing.assert_allclose(model.predict_proba(S), expected, rtol=1e-12)
    assert S.indices is indices and S.data is data and S.indices.dtype == np.int64


# ------------------------------------------- class indices stay integers

def test_float32_multiclass_targets_reach_the_engine_as_integer_class_indices(monkeypatch):
    # as float32 the indices of classes past 2**24 round to their
    # neighbours' (tests/test_kernels.py shows the softmax loss exact there)
    seen = []

    def spy(engine_call):
        def call(*args):
            seen.append(args[10] if engine_call is Epochs else args[8])
            return engine_call(*args)
        return call

    monkeypatch.setattr(fastmlp._base, "Epochs", spy(Epochs))
    monkeypatch.setattr(fastmlp._base, "loss_gradient", spy(loss_gradient))
    X32 = X.astype(np.float32)
    for solver in ("adam", "lbfgs"):
        model = _quiet(MLPClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=2,
                                     random_state=0).fit, X32, Y_CLASS + 10)
        assert model.coefs_[0].dtype == np.float32
    assert seen and all(Y.dtype == np.intp for Y in seen)
    np.testing.assert_array_equal(seen[0].ravel(), Y_CLASS)
