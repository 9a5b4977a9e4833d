"""Every bad input of issue 4, and the awkward-but-valid ones that must work.

Bad input gets a ValueError or TypeError (MemoryError for a network too big
for the machine) whose message names the problem: never a crash, a hang, a
silent NaN or an error from deep inside NumPy or the engine. The README's
"What fastmlp refuses and why" lists the same cases.
"""
import os
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from fastmlp import MLPClassifier, MLPRegressor

RNG = np.random.RandomState(0)
X = RNG.randn(40, 4)
Y_CLASS = np.arange(40) % 3
Y_REG = X @ [1.0, -2.0, 0.5, 0.0]


def _clf(**params):
    return MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0, **params)


def _reg(**params):
    return MLPRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0, **params)


def _with(array, index, value):
    array = np.array(array, dtype=float)
    array[index] = value
    return array


def _fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _clf().fit(X, Y_CLASS)


def _sparse_with_bad_index():
    S = sp.csr_matrix(X)
    return sp.csr_matrix((S.data, S.indices.copy(), S.indptr), shape=S.shape)


def _corrupt(S):
    S.indices[3] = 1000  # a column past n_features: the engine would read outside W
    return S


# (name, call, expected exception, the words its message must contain)
BAD_FIT = [
    ("NaN in X", lambda: _clf().fit(_with(X, (3, 1), np.nan), Y_CLASS), ValueError, "NaN"),
    ("inf in X", lambda: _clf().fit(_with(X, (3, 1), np.inf), Y_CLASS), ValueError, "infinity"),
    ("-inf in X", lambda: _reg().fit(_with(X, (0, 0), -np.inf), Y_REG), ValueError, "infinity"),
    ("NaN in sparse X", lambda: _clf().fit(sp.csr_matrix(_with(X, (3, 1), np.nan)), Y_CLASS),
     ValueError, "NaN"),
    ("NaN in y (regression)", lambda: _reg().fit(X, _with(Y_REG, 5, np.nan)), ValueError, "NaN"),
    ("inf in y (regression)", lambda: _reg().fit(X, _with(Y_REG, 5, np.inf)), ValueError,
     "infinity"),
    ("NaN in y (classification)", lambda: _clf().fit(X, _with(Y_CLASS, 5, np.nan)), ValueError,
     "NaN"),
    ("NaN in sample_weight", lambda: _clf().fit(X, Y_CLASS, sample_weight=_with(np.ones(40), 2, np.nan)),
     ValueError, "NaN"),
    ("inf in sample_weight", lambda: _reg().fit(X, Y_REG, sample_weight=_with(np.ones(40), 2, np.inf)),
     ValueError, "infinity"),
    ("negative sample_weight", lambda: _clf().fit(X, Y_CLASS, sample_weight=_with(np.ones(40), 2, -1)),
     ValueError, "Negative"),
    ("negative sample_weight (lbfgs)",
     lambda: _reg(solver="lbfgs").fit(X, Y_REG, sample_weight=_with(np.ones(40), 2, -1)),
     ValueError, "Negative"),
    ("all-zero sample_weight", lambda: _clf().fit(X, Y_CLASS, sample_weight=np.zeros(40)),
     ValueError, "non-zero"),
    ("all-zero sample_weight (lbfgs)",
     lambda: _reg(solver="lbfgs").fit(X, Y_REG, sample_weight=np.zeros(40)), ValueError, "non-zero"),
    ("a minibatch of zero weights",
     lambda: _reg(batch_size=10, shuffle=False).fit(X, Y_REG, sample_weight=np.r_[np.zeros(10), np.ones(30)]),
     ValueError, "all zero"),
    ("a validation split of zero weights",
     # (random_state=0 draws 4 validation rows of zero weight)
     lambda: _reg(early_stopping=True).fit(X, Y_REG, sample_weight=np.r_[1.0, 1.0, np.zeros(38)]),
     ValueError,
     "all have zero sample weight"),
    ("sample_weight of the wrong length", lambda: _clf().fit(X, Y_CLASS, sample_weight=np.ones(39)),
     ValueError, "sample_weight.shape"),
    ("2-D sample_weight", lambda: _clf().fit(X, Y_CLASS, sample_weight=np.ones((40, 1))),
     ValueError, "1D"),
    ("empty X", lambda: _clf().fit(np.empty((0, 4)), np.empty(0)), ValueError, "0 sample"),
    ("X without features", lambda: _reg().fit(np.empty((40, 0)), Y_REG), ValueError, "0 feature"),
    ("empty sparse X", lambda: _reg().fit(sp.csr_matrix((0, 4)), np.empty(0)), ValueError,
     "0 sample"),
    ("1-D X", lambda: _clf().fit(X[:, 0], Y_CLASS), ValueError, "Expected 2D array"),
    ("3-D X", lambda: _clf().fit(X.reshape(40, 2, 2), Y_CLASS), ValueError, "dim 3"),
    ("scalar X", lambda: _reg().fit(3.0, [1.0]), ValueError, "Expected 2D array"),
    ("X and y of different lengths", lambda: _clf().fit(X, Y_CLASS[:-1]), ValueError,
     "inconsistent numbers of samples"),
    ("X and y of different lengths (regression)", lambda: _reg().fit(X[:-3], Y_REG), ValueError,
     "inconsistent numbers of samples"),
    ("string X", lambda: _clf().fit(X.astype(str), Y_CLASS), TypeError, "strings"),
    ("bytes X", lambda: _clf().fit(X.astype(bytes), Y_CLASS), TypeError, "strings"),
    ("object X holding text", lambda: _clf().fit(np.array([[1.0, "a"]] * 40, dtype=object), Y_CLASS),
     TypeError, "strings"),
    ("object X holding a dict", lambda: _clf().fit(_with_object(X, {"a": 1}), Y_CLASS), TypeError,
     "dict"),
    ("nested lists of text", lambda: _reg().fit([["1", "2"], ["3", "4"]], [1.0, 2.0]), TypeError,
     "strings"),
    ("complex X", lambda: _clf().fit(X.astype(complex), Y_CLASS), ValueError, "Complex"),
    ("ragged X", lambda: _reg().fit([[1.0, 2.0], [3.0]], [1.0, 2.0]), ValueError, "inhomogeneous"),
    ("text y (regression)", lambda: _reg().fit(X, np.array(["a"] * 40)), ValueError, "string"),
    ("a single class", lambda: _clf().fit(X, np.zeros(40, int)), ValueError, "only one class"),
    ("a single class (lbfgs)", lambda: _clf(solver="lbfgs").fit(X, np.full(40, "a")), ValueError,
     "only one class"),
    ("a single class in partial_fit's classes",
     lambda: MLPClassifier().partial_fit(X, np.zeros(40, int), classes=[0]), ValueError,
     "only one class"),
    ("too few rows for the validation split",
     lambda: _reg(early_stopping=True).fit(X[:9], Y_REG[:9]), ValueError, "validation set is too small"),
    ("validation_fraction=0 with early stopping",
     lambda: _reg(early_stopping=True, validation_fraction=0.0).fit(X, Y_REG), ValueError,
     "validation set is too small"),
    ("no training row left by the validation split",
     lambda: _reg(early_stopping=True, validation_fraction=0.99).fit(X[:3], Y_REG[:3]), ValueError,
     "validation set is too small"),
    ("too few rows per class for a stratified split",
     lambda: _clf(early_stopping=True).fit(X[:20], np.r_[np.zeros(19, int), 1]), ValueError,
     "stratified"),
    ("more classes than validation rows",
     lambda: _clf(early_stopping=True).fit(np.tile(X, (2, 1))[:60], np.arange(60) % 12), ValueError,
     "stratified"),
    ("hidden_layer_sizes=0", lambda: MLPClassifier(hidden_layer_sizes=0).fit(X, Y_CLASS), ValueError,
     "hidden_layer_sizes"),
    ("hidden_layer_sizes=(10, 0)", lambda: MLPClassifier(hidden_layer_sizes=(10, 0)).fit(X, Y_CLASS),
     ValueError, "hidden_layer_sizes must be > 0"),
    ("negative hidden_layer_sizes", lambda: MLPRegressor(hidden_layer_sizes=(-3,)).fit(X, Y_REG),
     ValueError, "hidden_layer_sizes must be > 0"),
    ("float hidden_layer_sizes", lambda: MLPRegressor(hidden_layer_sizes=(2.5,)).fit(X, Y_REG),
     TypeError, "2.5 is a float"),
    ("integral float hidden_layer_sizes", lambda: MLPRegressor(hidden_layer_sizes=3.0).fit(X, Y_REG),
     ValueError, "hidden_layer_sizes"),
    ("bool hidden_layer_sizes", lambda: MLPRegressor(hidden_layer_sizes=(True,)).fit(X, Y_REG),
     TypeError, "bool"),
    ("nested hidden_layer_sizes", lambda: MLPRegressor(hidden_layer_sizes=[(3, 4)]).fit(X, Y_REG),
     TypeError, "tuple"),
    ("text hidden_layer_sizes", lambda: MLPRegressor(hidden_layer_sizes="10").fit(X, Y_REG),
     ValueError, "hidden_layer_sizes"),
    ("None hidden_layer_sizes", lambda: MLPRegressor(hidden_layer_sizes=None).fit(X, Y_REG),
     ValueError, "hidden_layer_sizes"),
    ("absurdly large hidden_layer_sizes (10**12)",
     lambda: MLPClassifier(hidden_layer_sizes=(10**12,)).fit(X, Y_CLASS), MemoryError,
     "8,000,000,000,003 parameters"),
    ("hidden_layer_sizes past int64 (2**70)",
     lambda: MLPRegressor(hidden_layer_sizes=(2**70,)).fit(X, Y_REG), MemoryError, "parameters"),
    ("hidden_layer_sizes whose product overflows int64",
     lambda: MLPRegressor(hidden_layer_sizes=(2**40, 2**40)).fit(X, Y_REG), MemoryError, "parameters"),
    ("a network too big for this machine (lbfgs)",
     lambda: MLPRegressor(solver="lbfgs", hidden_layer_sizes=(60_000, 60_000)).fit(X, Y_REG),
     MemoryError, "memory is available"),
    ("batch_size=0", lambda: _clf(batch_size=0).fit(X, Y_CLASS), ValueError, "batch_size"),
    ("negative batch_size", lambda: _reg(batch_size=-5).fit(X, Y_REG), ValueError, "batch_size"),
    ("unknown class in partial_fit",
     lambda: MLPClassifier().partial_fit(X, Y_CLASS, classes=[0, 1, 2]).partial_fit(X, Y_CLASS + 1),
     ValueError, "classes not in"),
    ("y outside partial_fit's classes",
     lambda: MLPClassifier().partial_fit(X, Y_CLASS, classes=[5, 6, 7]), ValueError, "classes not in"),
    ("partial_fit without classes", lambda: MLPClassifier().partial_fit(X, Y_CLASS), ValueError,
     "classes must be passed"),
    ("warm_start with new classes",
     lambda: _clf(warm_start=True).fit(X, Y_CLASS).fit(X, Y_CLASS + 1), ValueError, "same classes"),
    ("warm_start with a different number of features",
     lambda: _clf(warm_start=True).fit(X, Y_CLASS).fit(X[:, :3], Y_CLASS), ValueError, "features"),
    ("partial_fit with a different number of features",
     lambda: _reg().partial_fit(X, Y_REG).partial_fit(X[:, :3], Y_REG), ValueError, "features"),
    ("sparse X with a column index past n_features",
     lambda: _clf().fit(_corrupt(_sparse_with_bad_index()), Y_CLASS), ValueError,
     "not a valid CSR matrix"),
    ("partial_fit with early_stopping",
     lambda: _reg(early_stopping=True).partial_fit(X, Y_REG), ValueError, "early_stopping"),
    # issue 10: the user's mistake named, not the engine's symptom
    ("X that is a string", lambda: _clf().fit("abc", Y_CLASS), TypeError, "X is 'abc'"),
    ("X that is None", lambda: _reg().fit(None, Y_REG), TypeError, "X is None"),
    ("X that is a generator", lambda: _reg().fit((row for row in X), Y_REG), TypeError,
     "a generator"),
    ("a DataFrame column of text", lambda: _clf().fit(_frame_with_text(), Y_CLASS), TypeError,
     "column 'colour' holds strings"),
    ("a DataFrame column of text categories",
     lambda: _clf().fit(_frame_with_text(categorical=True), Y_CLASS), TypeError,
     "column 'colour' holds strings"),
    ("numbers written as text in y (regression)",
     lambda: _reg().fit(X, Y_REG.astype(str)), ValueError, "y holds strings"),
    ("numbers written as text in an object y (regression)",
     lambda: _reg().fit(X, Y_REG.astype(str).astype(object)), ValueError, "y holds strings"),
    ("numbers written as text in a list y (regression)",
     lambda: _reg().fit(X, [str(v) for v in Y_REG]), ValueError, "y holds strings"),
    ("strings in sample_weight",
     lambda: _reg().fit(X, Y_REG, sample_weight=np.full(40, "1")), TypeError,
     "sample_weight holds strings"),
    ("real-valued y for a classifier", lambda: _clf().fit(X, Y_REG), ValueError,
     "holds continuous values"),
    ("real-valued 2-D y for a classifier", lambda: _clf().fit(X, np.c_[Y_REG, Y_REG]), ValueError,
     "use MLPRegressor"),
    ("labels of mixed types",
     lambda: _clf().fit(X, np.array([1, "a"] * 20, dtype=object)), TypeError,
     "mixes labels of different types (int, str)"),
    ("loss='poisson' with negative y (lbfgs)",
     lambda: _reg(loss="poisson", solver="lbfgs").fit(X, Y_REG), ValueError,
     "non-negative targets"),
    ("loss='poisson' with negative y (adam)",
     lambda: _reg(loss="poisson").fit(X, Y_REG), ValueError, "non-negative targets"),
    ("loss='poisson' with negative y in partial_fit",
     lambda: _reg(loss="poisson").partial_fit(X, np.abs(Y_REG)).partial_fit(X, Y_REG), ValueError,
     "non-negative targets"),
    ("sample weights past float32's range with float32 X",
     lambda: _reg().fit(X.astype(np.float32), Y_REG, sample_weight=np.full(40, 1e39)),
     ValueError, "sample_weight is cast to float32"),
    ("sample weights below float32's range with float32 X",
     lambda: _reg().fit(X.astype(np.float32), Y_REG, sample_weight=np.full(40, 1e-50)),
     ValueError, "the cast would turn it into 0"),
    ("sample weights below float32's range with float32 X (lbfgs)",
     lambda: _reg(solver="lbfgs").fit(X.astype(np.float32), Y_REG,
                                       sample_weight=np.r_[1e-50, np.ones(39)]),
     ValueError, "the cast would turn it into 0"),
    ("float32 sample weights whose weighted loss would overflow",
     lambda: _reg().fit(X.astype(np.float32), 100 * Y_REG, sample_weight=np.full(40, 1e36)),
     ValueError, "leaves no room in float32"),
    ("float64 sample weights whose weighted loss would overflow",
     lambda: _reg(solver="lbfgs").fit(X, Y_REG, sample_weight=np.full(40, 1e200)),
     ValueError, "leaves no room in float64"),
    ("loss changed between warm starts",
     lambda: _reg(warm_start=True).fit(X, np.abs(Y_REG)).set_params(loss="poisson")
     .fit(X, np.abs(Y_REG)), ValueError, "fitted with loss='squared_error'"),
    ("loss changed between partial_fit calls",
     lambda: _reg(loss="poisson").partial_fit(X, np.abs(Y_REG)).set_params(loss="squared_error")
     .partial_fit(X, np.abs(Y_REG)), ValueError, "fitted with loss='poisson'"),
    ("hidden_layer_sizes changed between warm starts",
     lambda: _reg(warm_start=True).fit(X, Y_REG).set_params(hidden_layer_sizes=(6,)).fit(X, Y_REG),
     ValueError, "has hidden layers of [5] units"),
    ("partial_fit with y of another width",
     lambda: _reg().partial_fit(X, Y_REG).partial_fit(X, np.c_[Y_REG, Y_REG]), ValueError,
     "y gives 2 outputs"),
    ("warm start with multilabel y on a multiclass model",
     lambda: _clf(warm_start=True).fit(X, Y_CLASS).fit(X, np.eye(3, dtype=int)[Y_CLASS]),
     ValueError, "y is a 2-D indicator matrix, but this model was fitted on multiclass labels"),
    ("partial_fit with multilabel y on a multiclass model",
     lambda: MLPClassifier().partial_fit(X, Y_CLASS, classes=[0, 1, 2])
     .partial_fit(X, np.eye(3, dtype=int)[Y_CLASS]), ValueError, "y is a 2-D indicator matrix"),
    ("warm start with multilabel y on a binary model",
     lambda: _clf(warm_start=True).fit(X, Y_CLASS % 2).fit(X, np.eye(2, dtype=int)[Y_CLASS % 2]),
     ValueError, "fitted on binary labels"),
    ("warm start with labels on a multilabel model",
     lambda: _clf(warm_start=True).fit(X, np.eye(2, dtype=int)[Y_CLASS % 2]).fit(X, Y_CLASS % 2),
     ValueError, "fitted on a multilabel indicator matrix"),
]


def _frame_with_text(categorical=False):
    import pandas as pd

    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    colour = np.array(["red", "blue"] * 20, dtype=object)
    frame["colour"] = pd.Categorical(colour) if categorical else colour
    return frame


def _overflowing(model, X_big):
    # positive weights make the first layer's sum overflow to inf for
    # finite X, and the output layer then holds inf - inf: NaN
    import copy

    model = copy.deepcopy(model)
    model.coefs_[0][...] = 1.0
    model.coefs_[1][...] = [1.0, -1.0, 0.0]  # inf - inf
    return model.predict_proba(np.abs(X_big))


def _with_object(X, value):
    X = X.astype(object)
    X[0, 0] = value
    return X


BAD_PREDICT = [
    ("predict with fewer features", lambda m: m.predict(X[:, :3]), ValueError, "3 features"),
    ("predict with more features", lambda m: m.predict(np.hstack([X, X])), ValueError, "8 features"),
    ("predict_proba with fewer features", lambda m: m.predict_proba(X[:, :3]), ValueError, "3 features"),
    ("sparse predict with fewer features", lambda m: m.predict(sp.csr_matrix(X[:, :3])), ValueError,
     "3 features"),
    ("predict with one row of fewer features", lambda m: m.predict(X[:1, :3]), ValueError, "3 features"),
    ("predict with NaN", lambda m: m.predict(_with(X, (2, 2), np.nan)), ValueError, "NaN"),
    ("predict with one row holding NaN", lambda m: m.predict(_with(X[:1], (0, 2), np.nan)), ValueError,
     "NaN"),
    ("predict with inf", lambda m: m.predict_proba(_with(X, (2, 2), np.inf)), ValueError, "infinity"),
    ("predict with NaN in sparse X", lambda m: m.predict(sp.csr_matrix(_with(X, (2, 2), np.nan))),
     ValueError, "NaN"),
    ("predict with empty X", lambda m: m.predict(np.empty((0, 4))), ValueError, "0 sample"),
    ("predict with 1-D X", lambda m: m.predict(X[0]), ValueError, "Expected 2D array"),
    ("predict with 3-D X", lambda m: m.predict(X.reshape(40, 2, 2)), ValueError, "dim 3"),
    ("predict with string X", lambda m: m.predict(X.astype(str)), TypeError, "strings"),
    ("predict with complex X", lambda m: m.predict(X.astype(complex)), ValueError, "Complex"),
    ("predict with values that overflow the network", lambda m: _overflowing(m, X * 1e307),
     ValueError, "not finite"),
    ("predict one row whose values overflow the network",
     lambda m: _overflowing(m, X[:1] * 1e307), ValueError, "not finite"),
    ("predict with a malformed sparse X", lambda m: m.predict(_corrupt(_sparse_with_bad_index())),
     ValueError, "not a valid CSR matrix"),
    ("predict on a string", lambda m: m.predict("abc"), TypeError, "X is 'abc'"),
    ("predict on bytes", lambda m: m.predict(b"abc"), TypeError, "X is b'abc'"),
    ("predict on None", lambda m: m.predict_proba(None), TypeError, "X is None"),
    ("predict on a dict", lambda m: m.predict({"a": 1.0}), TypeError, "a dict"),
    ("predict on a generator", lambda m: m.predict(row for row in X), TypeError, "a generator"),
]


@pytest.mark.parametrize("name, call, error, words", BAD_FIT, ids=[c[0] for c in BAD_FIT])
def test_bad_fit_input_is_refused_clearly(name, call, error, words):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error) as info:
            call()
    assert words in str(info.value), str(info.value)


@pytest.mark.parametrize("name, call, error, words", BAD_PREDICT, ids=[c[0] for c in BAD_PREDICT])
def test_bad_predict_input_is_refused_clearly(name, call, error, words):
    model = _fitted()
    before = model.predict_proba(X)
    with pytest.raises(error) as info:
        call(model)
    assert words in str(info.value), str(info.value)
    assert_array_equal(model.predict_proba(X), before)


def test_memory_is_checked_before_allocating(monkeypatch):
    # The estimate must refuse without touching the memory it asks about:
    # were anything the size of the network allocated first, this would
    # take minutes or be killed, not raise at once.
    import fastmlp._checks as checks

    monkeypatch.setattr(checks, "available_memory", lambda: 100 << 20)
    units = [4, 3000, 3000, 3]
    est = MLPClassifier(hidden_layer_sizes=units[1:-1])
    tracemalloc.start()  # NumPy reports its buffers to tracemalloc
    try:
        with pytest.raises(MemoryError, match="100.0 MiB of memory is available") as info:
            est.fit(X, Y_CLASS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # the parameters alone would be 72 MB
    n_params = sum(a * b + b for a, b in zip(units[:-1], units[1:]))
    assert f"{n_params:,} parameters" in str(info.value)
    assert not hasattr(est, "coefs_")
    # the same network fits when the memory is there
    monkeypatch.setattr(checks, "available_memory", lambda: 1 << 40)
    est.set_params(max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, Y_CLASS)
    assert est.coefs_[1].shape == (3000, 3000)


# --------------------------------------------------------- what must work


def _same_model(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(p, q)


def _fit_both(make, X_c, X_odd, y, **fit_params):
    """Fit on C-ordered X_c and on X_odd (the same values): the same model."""
    assert X_c.flags.c_contiguous and X_c.flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = make().fit(X_c, y, **fit_params)
        odd = make().fit(X_odd, y, **fit_params)
    _same_model(odd, reference)
    return odd


def _readonly(A):
    A = A.copy()
    A.setflags(write=False)
    return A


def _memmap(A, tmp_path, mode="r"):
    path = os.path.join(tmp_path, f"X{len(os.listdir(tmp_path))}.dat")
    m = np.memmap(path, dtype=A.dtype, mode="w+", shape=A.shape)
    m[...] = A
    m.flush()
    del m
    return np.memmap(path, dtype=A.dtype, mode=mode, shape=A.shape)


def _int64_sparse(A, fmt):
    S = sp.csr_matrix(A) if fmt == "csr" else sp.csc_matrix(A)
    S.indices = S.indices.astype(np.int64)
    S.indptr = S.indptr.astype(np.int64)
    assert S.indices.dtype == np.int64
    return S


LAYOUTS = {
    "Fortran-ordered": lambda A, tmp: np.asfortranarray(A),
    "non-contiguous columns": lambda A, tmp: np.repeat(A, 2, axis=1)[:, ::2],
    "non-contiguous rows": lambda A, tmp: np.repeat(A, 2, axis=0)[::2],
    "negative strides": lambda A, tmp: A[::-1, ::-1][::-1, ::-1],
    "read-only": lambda A, tmp: _readonly(A),
    "read-only Fortran": lambda A, tmp: _readonly(np.asfortranarray(A)),
    "memory-mapped read-only": lambda A, tmp: _memmap(A, tmp, "r"),
    "memory-mapped copy-on-write": lambda A, tmp: _memmap(A, tmp, "c"),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unusual_dense_layouts_give_the_same_model(layout, solver, dtype, tmp_path):
    A = X.astype(dtype)
    odd = LAYOUTS[layout](A, str(tmp_path))
    assert odd.dtype == dtype
    assert_array_equal(odd, A)
    make = lambda: MLPClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=4, random_state=0)
    model = _fit_both(make, A, odd, Y_CLASS, sample_weight=np.linspace(0.5, 2, 40))
    reference = _fitted_on(make, A)
    assert_array_equal(model.predict_proba(odd), reference.predict_proba(A))
    assert_array_equal(model.predict(LAYOUTS[layout](A[:1], str(tmp_path))), reference.predict(A[:1]))
    # partial_fit on the same layout
    if solver != "lbfgs":
        a = MLPRegressor(hidden_layer_sizes=(3,), random_state=0).partial_fit(odd, Y_REG)
        b = MLPRegressor(hidden_layer_sizes=(3,), random_state=0).partial_fit(A, Y_REG)
        _same_model(a, b)


def _fitted_on(make, A):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make().fit(A, Y_CLASS, sample_weight=np.linspace(0.5, 2, 40))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_int64_index_sparse_matrices_give_the_same_model(fmt, solver):
    A = np.where(np.abs(X) > 0.7, X, 0.0)
    S64 = _int64_sparse(A, fmt)
    S32 = sp.csr_matrix(A)
    assert S32.indices.dtype == np.int32
    make = lambda: MLPRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b, c = make().fit(S64, Y_REG), make().fit(S32, Y_REG), make().fit(A, Y_REG)
    _same_model(a, b)
    for p, q in zip(a.coefs_, c.coefs_):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)
    assert_array_equal(a.predict(S64), b.predict(S32))


def test_sparse_with_unsorted_and_duplicate_indices_is_summed_like_scipy():
    # scipy's meaning of a duplicate entry is the sum; the engine must agree
    rows, cols = np.array([0, 0, 1, 1, 1]), np.array([3, 1, 0, 0, 2])
    vals = np.array([1.0, 2.0, 3.0, 4.0, -1.0])
    S = sp.csr_matrix((vals, (rows, cols)), shape=(2, 4))
    S_raw = sp.csr_matrix((vals, cols, np.array([0, 2, 5])), shape=(2, 4))
    assert not S_raw.has_canonical_format
    model = _fitted()
    np.testing.assert_allclose(model.predict_proba(S_raw), model.predict_proba(S.toarray()),
                               rtol=1e-14)


@pytest.mark.parametrize(
    "make_X",
    [
        lambda: X > 0,                   # bool: 0/1, as scikit-learn
        lambda: X.astype(np.float16),    # float16: upcast to float64, exactly
        lambda: X.astype(object),        # numbers held as objects
        lambda: (X * 10).astype(np.int8),
        lambda: (X * 10).astype(np.int64),
    ],
    ids=["bool", "float16", "object numbers", "int8", "int64"],
)
def test_numeric_dtypes_are_converted_to_float64_like_sklearn(make_X):
    Xo = make_X()
    X64 = np.asarray(Xo, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = _reg().fit(Xo, Y_REG)
        b = _reg().fit(X64, Y_REG)
    assert a.coefs_[0].dtype == np.float64
    _same_model(a, b)
    assert_array_equal(a.predict(Xo), b.predict(X64))


def test_batch_size_larger_than_the_data_warns_and_clips_like_sklearn():
    with pytest.warns(UserWarning, match="batch_size"):
        a = _reg(batch_size=1000).fit(X, Y_REG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = _reg(batch_size=40).fit(X, Y_REG)
    _same_model(a, b)


def test_some_zero_weights_are_fine_when_no_minibatch_is_all_zero():
    sw = np.ones(40)
    sw[::3] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _reg(batch_size=10).fit(X, Y_REG, sample_weight=sw)
    assert np.isfinite(model.predict(X)).all()


def test_partial_fit_may_see_a_subset_of_classes():
    model = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    model.partial_fit(X[Y_CLASS == 0], Y_CLASS[Y_CLASS == 0], classes=[0, 1, 2])
    model.partial_fit(X, Y_CLASS)
    assert set(model.predict(X)) <= {0, 1, 2}


def test_a_refused_call_leaves_a_fitted_model_as_it_was():
    model = _clf(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, Y_CLASS)
    state = {k: v for k, v in vars(model).items() if not k.startswith("_")}
    proba = model.predict_proba(X)
    for call in (
        lambda: model.fit(X, np.zeros(40, int)),                        # single class
        lambda: model.fit(X[:, :3], Y_CLASS),                           # features
        lambda: model.fit(X, Y_CLASS, sample_weight=-np.ones(40)),      # weights
        lambda: model.set_params(hidden_layer_sizes=(2.5,)).fit(X, Y_CLASS),
    ):
        with pytest.raises((ValueError, TypeError)):
            call()
        model.set_params(hidden_layer_sizes=(5,))
        assert_array_equal(model.predict_proba(X), proba)
        assert list(model.classes_) == [0, 1, 2]
        assert model.n_features_in_ == 4
        assert model.loss_curve_ == state["loss_curve_"]


def test_a_refused_first_partial_fit_leaves_the_model_unfitted():
    model = MLPClassifier()
    with pytest.raises(ValueError):
        model.partial_fit(X, Y_CLASS, classes=[0])
    assert not hasattr(model, "classes_")
    model.partial_fit(X, Y_CLASS, classes=[0, 1, 2])  # and it can start over
    assert list(model.classes_) == [0, 1, 2]
