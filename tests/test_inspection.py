"""The public inspection API: loss_gradient and forward_pass (issue 11, section 5).

The gradient is checked through the public API alone: central finite
differences of loss_gradient's loss, the weights edited in place through
coefs_ and intercepts_, equal its gradient, for random architectures, every
activation (mixed per layer, with their parameters), every loss, both dtypes,
L2 strengths, sample weights, dense and sparse X. forward_pass is checked
against predict and against the NumPy reference.
"""
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._registry import ACTIVATION_ALIASES, ACTIVATIONS, LOSSES as REGISTRY_LOSSES
from numpy_reference import HIDDEN, LOSS_PARAM, OUTPUT_ACTIVATION, forward, hidden_names, kinks
from numpy_reference import kink_distance
from numpy_reference import loss as reference_loss

# every loss on main, as (estimator, loss, kind of target); the reference's
# name for its output
LOSSES = {
    "squared_error": (MLPRegressor, "squared_error", "continuous"),
    "poisson": (MLPRegressor, "poisson", "continuous"),
    "binary_log_loss": (MLPClassifier, "log_loss", "binary"),
    "multilabel_log_loss": (MLPClassifier, "log_loss", "multilabel"),
    "log_loss": (MLPClassifier, "log_loss", "multiclass"),
    "absolute_error": (MLPRegressor, "absolute_error", "continuous"),
    "huber": (MLPRegressor, "huber", "continuous"),
    "quantile": (MLPRegressor, "quantile", "continuous"),
    "binary_hinge": (MLPClassifier, "hinge", "binary"),
    "binary_squared_hinge": (MLPClassifier, "squared_hinge", "binary"),
    "multilabel_hinge": (MLPClassifier, "hinge", "multilabel"),
    "multilabel_squared_hinge": (MLPClassifier, "squared_hinge", "multilabel"),
    "multiclass_hinge": (MLPClassifier, "hinge", "multiclass"),
    "multiclass_squared_hinge": (MLPClassifier, "squared_hinge", "multiclass"),
}
REFERENCE_OUTPUT = {"multilabel_log_loss": "binary_log_loss",
                    "multilabel_hinge": "binary_hinge",
                    "multilabel_squared_hinge": "binary_squared_hinge"}


def test_the_gradient_tests_cover_every_loss_and_kind_of_target():
    # a loss added to the registry must join LOSSES (and the reference)
    kinds = {"multilabel": "multilabel-indicator"}
    covered = {(loss, kinds.get(kind, kind)) for _, loss, kind in LOSSES.values()}
    assert covered == {(name, kind) for name, info in REGISTRY_LOSSES.items()
                       for kind in info.outputs}


def _fitted(Est, X, y, **params):
    """A fitted model (one epoch: its weights are set by the caller)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Est(max_iter=1, random_state=0, **params).fit(X, y)


def _flat(est):
    """The model's parameters as the reference takes them: every coefficient,
    then every intercept."""
    return np.concatenate([W.ravel() for W in est.coefs_]
                          + [b.ravel() for b in est.intercepts_]).astype(np.float64)


def _targets(kind, rng, n_samples, n_outputs):
    """(y as fit takes it, Y as the reference takes it)."""
    if kind == "continuous":
        Y = rng.randn(n_samples, n_outputs)
        return (Y[:, 0] if n_outputs == 1 else Y), Y
    if kind == "poisson":
        Y = rng.poisson(1.5, (n_samples, n_outputs)).astype(float)
        return (Y[:, 0] if n_outputs == 1 else Y), Y
    if kind == "binary":
        labels = np.arange(n_samples) % 2   # both classes present
        rng.shuffle(labels)
        return np.array(["no", "yes"])[labels], labels.reshape(-1, 1).astype(float)
    if kind == "multilabel":
        Y = (rng.rand(n_samples, n_outputs) > 0.5).astype(int)
        Y[0], Y[1] = 0, 1   # every column has both values
        return Y, Y.astype(float)
    labels = np.arange(n_samples) % n_outputs  # every class present
    rng.shuffle(labels)
    return labels * 10, np.eye(n_outputs)[labels]


@st.composite
def problems(draw):
    name = draw(st.sampled_from(sorted(LOSSES)))
    Est, loss, kind = LOSSES[name]
    n_hidden = draw(st.integers(0, 3))
    hidden = [draw(st.integers(1, 6)) for _ in range(n_hidden)]
    n_features = draw(st.integers(1, 5))
    n_outputs = {"binary": 1, "multiclass": draw(st.integers(3, 4)),
                 "multilabel": draw(st.integers(2, 3))}.get(kind, draw(st.integers(1, 3)))
    n_samples = draw(st.integers(max(4, n_outputs), 10))
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    y, Y = _targets("poisson" if loss == "poisson" else kind, rng, n_samples, n_outputs)
    X = rng.randn(n_samples, n_features)
    sparse = draw(st.booleans())
    if sparse:
        X[rng.rand(*X.shape) < 0.5] = 0
    names = sorted(ACTIVATIONS) + sorted(ACTIVATION_ALIASES)
    activation = (draw(st.sampled_from(names)) if draw(st.booleans()) or not hidden
                  else [draw(st.sampled_from(names)) for _ in hidden])
    act_params = dict(negative_slope=draw(st.sampled_from([0.01, -0.3, 1.5])),
                      elu_alpha=draw(st.sampled_from([1.0, 0.5, -0.5])),
                      softplus_beta=draw(st.sampled_from([1.0, 2.0])),
                      softplus_threshold=draw(st.sampled_from([20.0, 1.0])))
    return dict(
        name=name, Est=Est, loss=loss, hidden=hidden, activation=activation,
        act_params=act_params, X=X, sparse=sparse, y=y, Y=Y,
        sw=rng.uniform(0.2, 3, n_samples) if draw(st.booleans()) else None,
        alpha=draw(st.sampled_from([0.0, 0.3])),
        dtype=draw(st.sampled_from([np.float64, np.float32])),
        weights=rng.uniform(-1, 1, 10_000),
    )


def _model(p):
    """The problem's model, fitted, with its weights set to p's draws."""
    X = p["X"].astype(p["dtype"])
    params = dict(hidden_layer_sizes=p["hidden"] or (), activation=p["activation"],
                  alpha=p["alpha"], **p["act_params"])
    params["loss"] = p["loss"]
    if p["loss"] in LOSS_PARAM:   # the reference's delta or quantile
        params["delta" if p["loss"] == "huber" else "quantile"] = LOSS_PARAM[p["loss"]]
    if not p["hidden"]:
        params["hidden_layer_sizes"] = []
    est = _fitted(p["Est"], X, p["y"], **params)
    start = 0
    for array in est.coefs_ + est.intercepts_:
        array[...] = p["weights"][start:start + array.size].reshape(array.shape)
        start += array.size
    return est


def _input(p):
    X = p["X"].astype(p["dtype"])
    return sp.csr_matrix(X) if p["sparse"] else X


def _reference_loss(p, est):
    output = REFERENCE_OUTPUT.get(p["name"], p["name"])
    units = [p["X"].shape[1]] + list(p["hidden"]) + [est.n_outputs_]
    return reference_loss(_flat(est), units, p["activation"], output, p["X"], p["Y"],
                          p["sw"], p["alpha"], p["act_params"])


def _away_from_kinks(est, p, margin):
    """Every hidden pre-activation, as forward_pass gives it, at least
    `margin` from its layer's kinks."""
    Z, _ = est.forward_pass(_input(p))
    names = hidden_names(p["activation"], len(Z) - 1)
    return all(np.abs(z.astype(np.float64) - kink).min() > margin
               for z, name in zip(Z[:-1], names) for kink in kinks(name, p["act_params"]))


def _away_from_loss_kinks(est, p, margin):
    """The outputs at least `margin` from the loss's kinks (hinge margins,
    absolute and quantile residuals at 0, huber's switch)."""
    _, A = est.forward_pass(_input(p))
    output = REFERENCE_OUTPUT.get(p["name"], p["name"])
    return kink_distance(output, p["Y"], A[-1].astype(np.float64)) > margin


def _off_the_clip(est, p):
    """Probabilities where the clipped log-loss and its gradient p - y agree
    (and where 1 - p keeps enough digits for central differences)."""
    if est.__class__ is not MLPClassifier or p["loss"] != "log_loss":
        return True
    _, A = est.forward_pass(_input(p))
    P = A[-1].astype(np.float64)
    if not np.all((P > 1e-6) & (P < 1 - 1e-6)):
        return False
    return p["name"] == "log_loss" or bool(np.all(P[p["Y"] == 0] < 0.99))


# float64: central differences at 1e-6 resolve the gradient to ~1e-7 of the
# loss; float32 rounds the loss at 1.2e-7 relative, so steps of 1e-2 and
# tolerances of a few percent (the truncation error is h**2 f''' / 6)
FD = {np.float64: dict(h=1e-6, rtol=1e-5, atol=1e-7, margin=1e-4),
      np.float32: dict(h=1e-2, rtol=5e-2, atol=2e-3, margin=5e-2)}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_public_gradient_matches_finite_differences_of_the_public_loss(p):
    est = _model(p)
    fd = FD[p["dtype"]]
    assume(_away_from_kinks(est, p, fd["margin"]))
    assume(_off_the_clip(est, p))
    assume(_away_from_loss_kinks(est, p, fd["margin"]))
    X = _input(p)
    loss, coef_grads, intercept_grads = est.loss_gradient(X, p["y"], sample_weight=p["sw"])
    assert isinstance(loss, float)
    assert [g.shape for g in coef_grads] == [W.shape for W in est.coefs_]
    assert [g.shape for g in intercept_grads] == [b.shape for b in est.intercepts_]
    assert all(g.dtype == p["dtype"] for g in coef_grads + intercept_grads)
    # the loss is the documented objective (the NumPy reference's)
    np.testing.assert_allclose(loss, _reference_loss(p, est),
                               rtol=1e-10 if p["dtype"] == np.float64 else 1e-4,
                               atol=1e-12 if p["dtype"] == np.float64 else 1e-5)
    h = fd["h"]
    for array, grads in zip(est.coefs_ + est.intercepts_, coef_grads + intercept_grads):
        flat, numeric = array.reshape(-1), np.empty(array.size)
        for i in range(array.size):
            value = flat[i]
            flat[i] = value + h
            plus = est.loss_gradient(X, p["y"], sample_weight=p["sw"])[0]
            flat[i] = value - h
            minus = est.loss_gradient(X, p["y"], sample_weight=p["sw"])[0]
            flat[i] = value
            numeric[i] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(grads.reshape(-1), numeric, rtol=fd["rtol"],
                                   atol=fd["atol"] * (1 + abs(loss)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_forward_pass_is_predict_and_the_reference(p):
    est = _model(p)
    X = _input(p)
    Z, A = est.forward_pass(X)
    L = len(est.coefs_)
    assert len(Z) == L and len(A) == L + 1
    assert A[0] is X or (A[0] != X).nnz == 0 if p["sparse"] else np.array_equal(A[0], X)
    assert all(a.shape == (X.shape[0], W.shape[1]) and a.dtype == p["dtype"]
               for a, W in zip(A[1:], est.coefs_))
    tol = dict(rtol=1e-12, atol=1e-12) if p["dtype"] == np.float64 else dict(rtol=1e-4,
                                                                             atol=1e-5)
    with warnings.catch_warnings():
        # predict refuses non-finite outputs; forward_pass returns them
        warnings.simplefilter("ignore")
        finite = np.isfinite(A[-1]).all()
    if finite:
        if isinstance(est, MLPClassifier) and p["loss"] != "log_loss":
            expected = est.decision_function(X).reshape(A[-1].shape)   # scores
        elif isinstance(est, MLPClassifier):
            proba = est.predict_proba(X)
            expected = proba[:, 1:] if A[-1].shape[1] == 1 else proba
        else:
            expected = est.predict(X).reshape(A[-1].shape)
        np.testing.assert_allclose(A[-1], expected, **tol)
    # the reference from the model's weights, in float64
    output = REFERENCE_OUTPUT.get(p["name"], p["name"])
    units = [p["X"].shape[1]] + list(p["hidden"]) + [est.n_outputs_]
    X64 = X.toarray() if sp.issparse(X) else X
    P, pre = forward(_flat(est), units, p["activation"], output, X64.astype(np.float64),
                     p["act_params"])
    names = hidden_names(p["activation"], L - 1)
    activated = [HIDDEN[name][0](z, {**p["act_params"]}) for z, name in zip(pre, names)]
    logits = (activated[-1] if activated else X64) @ est.coefs_[-1].astype(np.float64) \
        + est.intercepts_[-1]
    tol = dict(rtol=1e-10, atol=1e-10) if p["dtype"] == np.float64 else dict(rtol=1e-3,
                                                                             atol=1e-3)
    for got, want in zip(Z, pre + [logits]):
        np.testing.assert_allclose(got, want, **tol)
    for got, want in zip(A[1:], activated + [P]):
        np.testing.assert_allclose(got, want, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_one_full_batch_sgd_step_is_the_public_gradient(dtype, n_outputs):
    # the objective is the one the solver minimises: one SGD step of a full
    # batch (no momentum) moves the weights by -learning_rate * gradient,
    # and loss_curve_ reports its loss; for several squared-error outputs
    # the stochastic step takes the data term's gradient n_outputs times
    # (scikit-learn's scaling), the L2 term's once
    rng = np.random.RandomState(0)
    X = rng.randn(30, 4).astype(dtype)
    y = rng.randn(30, n_outputs).astype(dtype)
    y = y[:, 0] if n_outputs == 1 else y
    sw = rng.uniform(0.5, 2, 30)
    reg = MLPRegressor(hidden_layer_sizes=(5, 3), activation=["tanh", "gelu"], solver="sgd", momentum=0.0,
                       learning_rate_init=0.1, batch_size=30, shuffle=False, alpha=0.2,
                       random_state=0)
    reg.partial_fit(X, y, sample_weight=sw)
    before = [a.copy() for a in reg.coefs_ + reg.intercepts_]
    loss, coef_grads, intercept_grads = reg.loss_gradient(X, y, sample_weight=sw)
    reg.partial_fit(X, y, sample_weight=sw)
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(reg.loss_curve_[-1], loss, rtol=rtol)
    l2 = [0.2 * W / sw.sum() for W in before[:len(coef_grads)]]
    l2 += [0.0] * len(intercept_grads)
    for old, new, grad, penalty in zip(before, reg.coefs_ + reg.intercepts_,
                                       coef_grads + intercept_grads, l2):
        step = n_outputs * (grad - penalty) + penalty
        np.testing.assert_allclose(new, old - 0.1 * step, rtol=rtol,
                                   atol=1e-12 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("Est, y", [(MLPRegressor, [0.0, 0.1, 0.4, 0.9, 0.3, 0.1]),
                                    (MLPClassifier, ["a", "b", "c", "a", "b", "c"])])
def test_lbfgs_reports_the_public_loss(Est, y):
    X = np.arange(12.0).reshape(6, 2) / 10
    est = Est(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=500, tol=1e-10,
              random_state=0).fit(X, y)
    # loss_ is the objective at the last iterate: the same pass, bit for bit
    assert est.loss_gradient(X, y)[0] == est.loss_


def test_class_weight_enters_the_objective_as_fit_puts_it():
    rng = np.random.RandomState(0)
    X = rng.randn(20, 3)
    y = np.array(["a", "b", "c", "d"] * 5)
    weighted = _fitted(MLPClassifier, X, y, hidden_layer_sizes=(4,),
                       class_weight={"a": 3.0, "c": 0.5})
    plain = _fitted(MLPClassifier, X, y, hidden_layer_sizes=(4,))
    for W, V in zip(plain.coefs_ + plain.intercepts_, weighted.coefs_ + weighted.intercepts_):
        W[...] = V
    by_class = weighted.loss_gradient(X, y)
    by_sample = plain.loss_gradient(X, y, sample_weight=np.select(
        [y == "a", y == "c"], [3.0, 0.5], 1.0))
    assert by_class[0] == by_sample[0]
    for a, b in zip(by_class[1] + by_class[2], by_sample[1] + by_sample[2]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("Est, y", [(MLPRegressor, np.arange(8.0)),
                                    (MLPClassifier, np.arange(8) % 3)])
def test_inspection_leaves_the_model_as_it_was_and_works_after_pickling(Est, y):
    rng = np.random.RandomState(0)
    X = rng.randn(8, 3)
    est = _fitted(Est, X, y, hidden_layer_sizes=(5,))
    before = pickle.dumps(est)
    params = [a.copy() for a in est.coefs_ + est.intercepts_]
    result = est.loss_gradient(X, y)
    Z, A = est.forward_pass(X)
    assert pickle.dumps(est) == before
    for a, b in zip(est.coefs_ + est.intercepts_, params):
        np.testing.assert_array_equal(a, b)
    copy = pickle.loads(before)
    again = copy.loss_gradient(X, y)
    assert again[0] == result[0]
    for a, b in zip(again[1] + again[2], result[1] + result[2]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(copy.forward_pass(X).activations, A):
        np.testing.assert_array_equal(a, b)
    # the gradient is the caller's: editing it changes nothing in the model
    result[1][0][...] = 7
    np.testing.assert_array_equal(est.coefs_[0], params[0])


@pytest.mark.parametrize("Est", [MLPRegressor, MLPClassifier])
def test_unfitted_models_are_refused(Est):
    with pytest.raises(NotFittedError):
        Est().loss_gradient([[1.0]], [1])
    with pytest.raises(NotFittedError):
        Est().forward_pass([[1.0]])


def _classifier():
    X = np.random.RandomState(0).randn(9, 3)
    return _fitted(MLPClassifier, X, ["a", "b", "c"] * 3, hidden_layer_sizes=(4,)), X


def _regressor():
    X = np.random.RandomState(0).randn(9, 3)
    return _fitted(MLPRegressor, X, np.arange(9.0), hidden_layer_sizes=(4,)), X


@pytest.mark.parametrize("make", [_classifier, _regressor])
def test_bad_input_is_refused_in_the_users_terms(make):
    est, X = make()
    y = ["a", "b", "c"] * 3 if isinstance(est, MLPClassifier) else np.arange(9.0)
    X_nan = X.copy()
    X_nan[2, 1] = np.nan
    for call in (lambda X: est.forward_pass(X), lambda X: est.loss_gradient(X, y)):
        with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3"):
            call(X[:, :2])
        with pytest.raises(ValueError, match="Input X contains NaN"):
            call(X_nan)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.loss_gradient(X, y[:5])
    with pytest.raises(ValueError, match="(?i)negative"):
        est.loss_gradient(X, y, sample_weight=-np.ones(9))
    with pytest.raises(ValueError, match="at least one non-zero"):
        est.loss_gradient(X, y, sample_weight=np.zeros(9))


def test_the_classifier_refuses_labels_it_was_not_fitted_on():
    est, X = _classifier()
    with pytest.raises(ValueError, match=r"y has labels that are not classes of .*'z'"):
        est.loss_gradient(X, ["a", "b", "z"] * 3)


def test_the_regressor_refuses_targets_of_another_shape_or_nan():
    est, X = _regressor()
    with pytest.raises(ValueError, match=r"y has shape \(9, 2\), but .* has 1 output"):
        est.loss_gradient(X, np.ones((9, 2)))
    with pytest.raises(ValueError, match="NaN"):
        est.loss_gradient(X, np.full(9, np.nan))


def test_forward_pass_returns_what_predict_refuses():
    # an inspection tool shows where a layer overflowed
    est, X = _regressor()
    est.coefs_[0][...] = 1e308
    est.intercepts_[0][...] = 1e308
    Z, A = est.forward_pass(X)
    assert not np.isfinite(Z[0]).all()
    with pytest.raises(ValueError, match="not finite"):
        est.predict(X)


@pytest.mark.parametrize("activation, z, expected", [
    ("relu", 0.0, 0.0),
    ("leaky_relu", 0.0, 0.01),
    ("elu", 0.0, 0.5),
])
def test_the_derivative_at_a_kink_is_the_documented_side(activation, z, expected):
    # one hidden unit whose pre-activation is exactly z, the output its
    # activation: d loss / d b_1 = (y_pred - y) * f'(z)
    reg = _fitted(MLPRegressor, [[0.0], [1.0]], [0.0, 1.0], hidden_layer_sizes=(1,),
                  activation=activation, elu_alpha=0.5, alpha=0.0)
    reg.coefs_[0][...] = 0.0
    reg.intercepts_[0][...] = z
    reg.coefs_[1][...] = 1.0
    reg.intercepts_[1][...] = 0.0
    _, _, intercept_grads = reg.loss_gradient([[1.0]], [-1.0])
    assert intercept_grads[0][0] == pytest.approx((0.0 + 1.0) * expected)


def test_forward_pass_of_a_batch_norm_network_is_predicts():
    # inference mode: running statistics folded in, dropout off
    from sklearn.datasets import load_iris
    from fastmlp import MLPClassifier
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((8, 6), batch_norm=True, dropout=0.2, max_iter=30,
                        random_state=0).fit(X, y)
    passed = clf.forward_pass(X)
    np.testing.assert_allclose(passed.activations[-1], clf.predict_proba(X), rtol=1e-12)
    again = clf.forward_pass(X)
    for a, b in zip(passed.activations, again.activations):
        np.testing.assert_array_equal(a, b)
