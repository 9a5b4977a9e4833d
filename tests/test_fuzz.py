"""Fuzz the estimators with hypothesis: shapes, dtypes, memory layouts,
sparse formats and index widths, parameters and call sequences (issue 4).

Each example either fits, and then predicts finite values of the right
shape that do not depend on X's layout, or is refused with a ValueError or
TypeError from the documented list. The suite runs against the debug build
too (.ci/run), whose bounds checking turns an out-of-bounds access in the
engine into an IndexError here instead of silent memory corruption.

FASTMLP_FUZZ_EXAMPLES sets the number of examples (default 500).
"""
import os
import warnings

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._registry import ACTIVATION_ALIASES, ACTIVATIONS

N_EXAMPLES = int(os.environ.get("FASTMLP_FUZZ_EXAMPLES", "500"))

# What a valid-looking random problem may legitimately be refused for.
ALLOWED_REFUSALS = (
    "validation set is too small",     # early stopping on few rows
    "stratified",                      # a class too small to stratify
    "only one class",                  # the rows drawn hold one class
    "all zero",                        # a minibatch of zero weights
    "all have zero sample weight",     # so is the validation split
    "non-finite parameter weights",    # a large rate on large values
)

LAYOUTS = ["C", "F", "strided", "readonly", "csr", "csr64", "csc", "csc64"]
DTYPES = [np.float64, np.float32, np.float16, np.int32, np.bool_]
TARGETS = ["binary", "multiclass", "multilabel", "regression", "regression2", "poisson"]


def _layout(X, layout):
    if layout == "C":
        return np.ascontiguousarray(X)
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "strided":
        return np.repeat(X, 2, axis=1)[:, ::2]
    if layout == "readonly":
        X = X.copy()
        X.setflags(write=False)
        return X
    S = (sp.csr_matrix if layout.startswith("csr") else sp.csc_matrix)(X)
    if layout.endswith("64"):
        S.indices = S.indices.astype(np.int64)
        S.indptr = S.indptr.astype(np.int64)
    return S


@st.composite
def problems(draw):
    n_samples = draw(st.integers(1, 40))
    n_features = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    scale = draw(st.sampled_from([1.0, 1e-3, 1e3]))
    X = rng.randn(n_samples, n_features) * scale
    if draw(st.booleans()):
        X[rng.rand(n_samples, n_features) < 0.5] = 0  # sparse-ish, whole zero rows too
    dtype = draw(st.sampled_from(DTYPES))
    X = (X > 0) if dtype is np.bool_ else X.astype(dtype)

    target = draw(st.sampled_from(TARGETS))
    if target == "binary":
        y = rng.randint(2, size=n_samples)
    elif target == "multiclass":
        y = np.array(["a", "b", "c", "d"])[rng.randint(draw(st.integers(2, 4)), size=n_samples)]
    elif target == "multilabel":
        y = rng.randint(2, size=(n_samples, draw(st.integers(2, 3))))
    elif target == "regression":
        y = rng.randn(n_samples)
    elif target == "regression2":
        y = rng.randn(n_samples, 2)
    else:
        y = rng.poisson(2.0, size=n_samples).astype(float)

    hidden = tuple(draw(st.lists(st.integers(1, 8), max_size=3)))
    # every activation and alias, one for all layers or one per layer, with
    # parameter values that change what a layer keeps for the backward pass
    names = sorted(ACTIVATIONS) + sorted(ACTIVATION_ALIASES)
    params = dict(
        hidden_layer_sizes=hidden,
        activation=(draw(st.sampled_from(names)) if draw(st.booleans())
                    else [draw(st.sampled_from(names)) for _ in hidden]),
        negative_slope=draw(st.sampled_from([0.01, -0.5, 2.0])),
        elu_alpha=draw(st.sampled_from([1.0, -1.0])),
        softplus_beta=draw(st.sampled_from([1.0, 3.0])),
        softplus_threshold=draw(st.sampled_from([20.0, 0.5])),
        solver=draw(st.sampled_from(["adam", "sgd", "lbfgs"])),
        alpha=draw(st.sampled_from([0.0, 1e-4, 1.0])),
        max_iter=draw(st.integers(1, 3)),
        random_state=draw(st.integers(0, 100)),
    )
    if params["solver"] != "lbfgs":
        params.update(
            batch_size=draw(st.one_of(st.just("auto"), st.integers(1, n_samples + 5))),
            shuffle=draw(st.booleans()),
            early_stopping=draw(st.booleans()),
            learning_rate_init=draw(st.sampled_from([1e-3, 0.1])),
        )
        if params["solver"] == "sgd":
            params.update(
                momentum=draw(st.sampled_from([0.0, 0.9])),
                nesterovs_momentum=draw(st.booleans()),
                learning_rate=draw(st.sampled_from(["constant", "invscaling", "adaptive"])),
            )
    if target == "poisson":
        params["loss"] = "poisson"

    weights = draw(st.sampled_from(["none", "positive", "some zero"]))
    sample_weight = None
    if weights == "positive":
        sample_weight = rng.uniform(0.1, 3.0, n_samples)
    elif weights == "some zero":
        sample_weight = rng.uniform(0.1, 3.0, n_samples) * (rng.rand(n_samples) < 0.7)
        sample_weight[0] = 1.0

    layout = draw(st.sampled_from(LAYOUTS))
    if dtype is np.float16 and layout not in ("C", "F", "strided", "readonly"):
        layout = "C"  # scipy.sparse has no float16
    sequence = draw(st.sampled_from(["fit", "fit+warm", "partial"]))
    return X, y, target, params, sample_weight, layout, sequence


def _refused(exc):
    return isinstance(exc, (ValueError, TypeError)) and any(
        words in str(exc) for words in ALLOWED_REFUSALS
    )


@settings(max_examples=N_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(problems())
def test_fuzz_fit_predict(problem):
    X, y, target, params, sample_weight, layout, sequence = problem
    Est = MLPRegressor if target.startswith("regression") or target == "poisson" else MLPClassifier
    if Est is MLPClassifier:
        params.pop("loss", None)
    model = Est(**params)
    X_in = _layout(X, layout)
    if sequence == "partial" and params["solver"] == "lbfgs":
        sequence = "fit"
    if sequence == "partial":
        model.set_params(early_stopping=False)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if sequence == "partial":
                extra = {}
                if Est is MLPClassifier:  # a multilabel target's classes are its columns
                    extra["classes"] = np.arange(y.shape[1]) if y.ndim == 2 else np.unique(y)
                model.partial_fit(X_in, y, sample_weight=sample_weight, **extra)
                model.partial_fit(X_in, y, sample_weight=sample_weight)
            else:
                model.fit(X_in, y, sample_weight=sample_weight)
                if sequence == "fit+warm":
                    model.set_params(warm_start=True)
                    model.fit(X_in, y, sample_weight=sample_weight)
        except (ValueError, TypeError) as exc:
            assert _refused(exc), repr(exc)
            event(f"refused: {next(w for w in ALLOWED_REFUSALS if w in str(exc))}")
            return
    event(f"fitted ({layout}, {sequence})")

    assert all(np.isfinite(a).all() for a in model.coefs_ + model.intercepts_)
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    assert model.coefs_[0].dtype == dtype

    # predictions: finite, the right shape, the same whatever X's layout
    X_dense = np.ascontiguousarray(X, dtype=dtype)
    try:
        out = model.predict_proba(X_dense) if Est is MLPClassifier else model.predict(X_dense)
    except ValueError as exc:
        # a last step too large for the data (Poisson's exp, say) leaves finite
        # weights whose output overflows: refused, never returned as inf/NaN
        assert "not finite" in str(exc), repr(exc)
        event("prediction refused: output overflows")
        return
    assert np.isfinite(out).all()
    assert out.shape[0] == X.shape[0]
    out_layout = model.predict_proba(X_in) if Est is MLPClassifier else model.predict(X_in)
    # sparse and dense products sum in different orders: the rounding is
    # relative to the largest outputs (terms cancel), not to each one
    eps = 1e-5 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(out_layout, out, rtol=eps, atol=eps * max(1, np.abs(out).max()))
    labels = model.predict(X_in)
    assert labels.shape[0] == X.shape[0]
    # one row at a time (the fast path) agrees with the batch
    for row in range(min(3, X.shape[0])):
        one = model.predict(X_dense[row:row + 1])
        assert np.array_equal(one, labels[row:row + 1]) or Est is MLPRegressor
