"""The losses beyond scikit-learn (issue 11 section 3): the engine's losses
and deltas against torch.nn.functional, and the estimators that train on
them (robustness, coverage, margins, availability of the methods, errors,
pickling, warm starts).

The kernels against the NumPy reference, and finite differences of the
full-batch loss, are in test_kernels.py and test_gradients.py.
"""
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from engine_specs import LOSS_CODES
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._registry import CLASSIFIER_LOSSES, LOSS_PARAMETERS, REGRESSOR_LOSSES
from numpy_reference import LOSS_PARAM

torch = pytest.importorskip("torch")
F = torch.nn.functional

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _engine_loss_delta(output, Z, Y, sw=None):
    """The engine's weighted mean loss over rows and d(that)/dZ."""
    from kernel_twins import _output_loss_delta_memview  # skips where a wheel lacks it

    dtype = Z.dtype
    Z = Z.copy()
    delta = np.empty_like(Z)
    w = np.ones(Z.shape[0], dtype) if sw is None else sw.astype(dtype)
    total = _output_loss_delta_memview(Z, np.zeros(Z.shape[1], dtype), Y,
                                       np.empty(0, dtype) if sw is None else w,
                                       LOSS_CODES[output], 1.0 / w.sum(), delta,
                                       loss_param=LOSS_PARAM.get(output, 0.0))
    return total / w.sum(), delta


def _torch_loss_grad(fn, Z, *args):
    z = torch.tensor(Z.astype(np.float64), requires_grad=True)
    loss = fn(z, *args)
    loss.backward()
    return loss.item(), z.grad.numpy()


def _check(output, Z, Y, fn, *args, sw=None):
    loss, delta = _engine_loss_delta(output, Z, Y, sw)
    expected_loss, expected_grad = _torch_loss_grad(fn, Z, *args)
    rtol = RTOL[Z.dtype.type]
    np.testing.assert_allclose(loss, expected_loss, rtol=rtol * 10, atol=rtol)
    np.testing.assert_allclose(delta, expected_grad, rtol=rtol * 10, atol=rtol)


def _scores(dtype, shape=(40, 3), seed=0):
    return (2 * np.random.RandomState(seed).randn(*shape)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_absolute_error_is_torchs_l1_loss(dtype):
    Z, Y = _scores(dtype), _scores(dtype, seed=1)
    _check("absolute_error", Z, Y, lambda z: F.l1_loss(z, torch.tensor(Y, dtype=z.dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_huber_is_torchs_huber_loss(dtype):
    Z, Y = _scores(dtype), _scores(dtype, seed=1)
    _check("huber", Z, Y, lambda z: F.huber_loss(z, torch.tensor(Y, dtype=z.dtype),
                                                 delta=LOSS_PARAM["huber"]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_quantile_is_the_pinball_loss(dtype):
    # torch has no pinball loss: written in torch, from its definition
    Z, Y = _scores(dtype), _scores(dtype, seed=1)
    q = LOSS_PARAM["quantile"]

    def pinball(z):
        r = torch.tensor(Y, dtype=z.dtype) - z
        return torch.maximum(q * r, (q - 1) * r).mean()
    _check("quantile", Z, Y, pinball)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1, 2])
def test_multiclass_hinge_is_torchs_multi_margin_loss(dtype, p):
    # torch divides each row's sum over the wrong classes by the number of
    # classes, as fastmlp's mean over outputs does: the same numbers
    Z = _scores(dtype, (40, 5))
    t = np.random.RandomState(1).randint(5, size=40)
    output = "multiclass_hinge" if p == 1 else "multiclass_squared_hinge"
    _check(output, Z, t.astype(np.intp),
           lambda z: F.multi_margin_loss(z, torch.tensor(t), p=p, margin=1.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_multiclass_hinge_weights_are_torchs_mean_of_weighted_rows(dtype):
    # torch's per-class weight is not a sample weight: weight the rows'
    # unreduced losses instead, normalised by the weights' sum
    Z = _scores(dtype, (30, 4))
    t = np.random.RandomState(1).randint(4, size=30)
    sw = np.random.RandomState(2).uniform(0.1, 3, 30)

    def weighted(z):
        rows = F.multi_margin_loss(z, torch.tensor(t), reduction="none")
        w = torch.tensor(sw, dtype=z.dtype)
        return (w * rows).sum() / w.sum()
    _check("multiclass_hinge", Z, t.astype(np.intp), weighted, sw=sw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1, 2])
def test_binary_hinge_is_multi_margin_loss_on_the_pair_zero_and_the_score(dtype, p):
    # torch has no binary hinge of this margin (hinge_embedding_loss is
    # another loss). On the two scores [0, f], multi_margin_loss's one wrong
    # class gives max(0, 1 - s f)**p / 2 for the target class (s + 1) / 2.
    Z = _scores(dtype, (40, 1))
    y = (np.random.RandomState(1).rand(40, 1) > 0.5).astype(dtype)
    t = torch.tensor(y[:, 0].astype(np.int64))
    output = "binary_hinge" if p == 1 else "binary_squared_hinge"
    _check(output, Z, y, lambda z: 2 * F.multi_margin_loss(
        torch.cat([torch.zeros_like(z), z], dim=1), t, p=p))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["absolute_error", "quantile", "binary_hinge",
                                    "multiclass_hinge"])
def test_the_subgradient_at_a_kink_is_zero(dtype, output):
    if output == "binary_hinge":
        Z, Y = np.array([[1.0], [-1.0]], dtype), np.array([[1.0], [0.0]], dtype)
    elif output == "multiclass_hinge":
        # class 0 scores 1 above class 1 and 2 above class 2: margins 0 and -1
        Z, Y = np.array([[1.0, 0.0, -1.0]], dtype), np.array([0], np.intp)
    else:
        Z = np.array([[0.5, -2.0]], dtype)
        Y = Z.copy()
    loss, delta = _engine_loss_delta(output, Z, Y)
    assert loss == 0
    np.testing.assert_array_equal(delta, 0)


# ------------------------------------------------------------------ estimators


def _regression(n=400, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (n, 2))
    y = X @ [2.0, -1.0] + 0.3 * rng.randn(n)
    return X, y


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("loss", ["absolute_error", "huber"])
def test_robust_losses_are_not_dragged_by_outliers(solver, loss):
    X, y = _regression()
    y_bad = y.copy()
    y_bad[:8] += 300  # 2% of the rows, far off
    params = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=400, random_state=0,
                  learning_rate_init=0.01)
    X_test, y_test = _regression(200, seed=1)
    robust = _quiet(MLPRegressor(loss=loss, **params).fit, X, y_bad)
    squared = _quiet(MLPRegressor(**params).fit, X, y_bad)
    robust_error = np.abs(robust.predict(X_test) - X_test @ [2.0, -1.0]).mean()
    squared_error = np.abs(squared.predict(X_test) - X_test @ [2.0, -1.0]).mean()
    assert robust_error < 0.3 < squared_error


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_quantile_covers_its_share_of_the_training_targets(quantile):
    X, y = _regression(1000)
    model = _quiet(MLPRegressor(loss="quantile", quantile=quantile, hidden_layer_sizes=(8,),
                                solver="lbfgs", max_iter=500, random_state=0).fit, X, y)
    covered = np.mean(y <= model.predict(X))
    assert abs(covered - quantile) < 0.04


def _separable(n_classes, n=300, seed=0):
    rng = np.random.RandomState(seed)
    centers = 4 * np.eye(n_classes, 2 if n_classes == 2 else n_classes)
    y = rng.randint(n_classes, size=n)
    return centers[y] + 0.3 * rng.randn(n, centers.shape[1]), y


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_hinge_classifies_a_separable_set(loss, n_classes, solver):
    X, y = _separable(n_classes)
    model = _quiet(MLPClassifier(loss=loss, hidden_layer_sizes=(6,), solver=solver,
                                 max_iter=300, random_state=0).fit, X, y)
    assert model.score(X, y) == 1.0
    scores = model.decision_function(X)
    if n_classes == 2:
        assert scores.shape == (X.shape[0],)
        np.testing.assert_array_equal(model.predict(X), model.classes_[(scores > 0) * 1])
        if solver == "lbfgs":
            # a converged hinge fit pushes the margins to 1 or past (most rows)
            assert np.mean(np.where(y == 1, scores, -scores) >= 0.99) > 0.9
    else:
        assert scores.shape == (X.shape[0], n_classes)
        np.testing.assert_array_equal(model.predict(X), model.classes_[scores.argmax(1)])


def test_multilabel_hinge_is_per_label():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 3)
    Y = np.c_[X[:, 0] > 0, X[:, 1] + X[:, 2] > 0].astype(int)
    model = _quiet(MLPClassifier(loss="hinge", hidden_layer_sizes=(8,), solver="lbfgs",
                                 max_iter=300, random_state=0).fit, X, Y)
    scores = model.decision_function(X)
    assert scores.shape == (300, 2)
    np.testing.assert_array_equal(model.predict(X), (scores > 0).astype(int))
    assert (model.predict(X) == Y).mean() > 0.97


def test_probabilities_and_scores_are_each_available_with_their_losses():
    X, y = _separable(3)
    for loss, info in CLASSIFIER_LOSSES.items():
        model = MLPClassifier(loss=loss)
        # before fit too: estimator checks and meta-estimators ask first
        assert hasattr(model, "predict_proba") == info.proba
        assert hasattr(model, "predict_log_proba") == info.proba
        assert hasattr(model, "decision_function") == (not info.proba)
    # scikit-learn's MLPClassifier has no decision_function: nor has log_loss's
    assert not hasattr(MLPClassifier(), "decision_function")
    with pytest.raises(AttributeError) as info:
        MLPClassifier(loss="hinge").predict_proba(X)
    assert "loss='hinge', whose outputs are scores: use decision_function" in str(
        info.value.__cause__)


def test_a_loss_set_after_fit_does_not_reinterpret_the_outputs():
    X, y = _separable(3)
    model = _quiet(MLPClassifier(loss="hinge", max_iter=20, random_state=0).fit, X, y)
    model.set_params(loss="log_loss")
    with pytest.raises(ValueError, match="fitted with loss='hinge', whose outputs are scores"):
        model.predict_proba(X)
    model.set_params(loss="hinge")
    assert model.decision_function(X).shape == (X.shape[0], 3)


@pytest.mark.parametrize("loss, kwargs", [("huber", {"delta": 0.5}),
                                          ("quantile", {"quantile": 0.8}),
                                          ("absolute_error", {})])
def test_regression_losses_survive_pickling(loss, kwargs):
    X, y = _regression(100)
    model = _quiet(MLPRegressor(loss=loss, max_iter=5, random_state=0, **kwargs).fit, X, y)
    again = pickle.loads(pickle.dumps(model))
    assert again._spec.loss == loss
    assert again._spec.loss_params == tuple(
        (name, float(kwargs.get(name, LOSS_PARAMETERS[name].default)))
        for name in REGRESSOR_LOSSES[loss].params)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    # and training goes on with it, as it would have in the original
    _quiet(again.partial_fit, X, y)
    _quiet(model.partial_fit, X, y)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


def test_hinge_classifier_survives_pickling():
    X, y = _separable(2)
    model = _quiet(MLPClassifier(loss="squared_hinge", max_iter=5, random_state=0).fit, X, y)
    again = pickle.loads(pickle.dumps(model))
    assert again._spec.loss == "squared_hinge"
    np.testing.assert_array_equal(again.decision_function(X), model.decision_function(X))


@pytest.mark.parametrize("Est, loss, other", [(MLPRegressor, "huber", "squared_error"),
                                              (MLPRegressor, "squared_error", "quantile"),
                                              (MLPClassifier, "hinge", "squared_hinge"),
                                              (MLPClassifier, "log_loss", "hinge")])
def test_warm_start_and_partial_fit_refuse_another_loss(Est, loss, other):
    X, y = _separable(2) if Est is MLPClassifier else _regression(100)
    model = _quiet(Est(loss=loss, max_iter=5, random_state=0).fit, X, y)
    model.set_params(loss=other, warm_start=True)
    with pytest.raises(ValueError, match=f"fitted with loss='{loss}'"):
        model.fit(X, y)
    with pytest.raises(ValueError, match=f"fitted with loss='{loss}'"):
        model.partial_fit(X, y)


def test_a_new_delta_applies_to_the_training_that_goes_on():
    X, y = _regression(100)
    base = _quiet(MLPRegressor(loss="huber", delta=0.1, max_iter=5, random_state=0).fit, X, y)
    same = pickle.loads(pickle.dumps(base))
    changed = pickle.loads(pickle.dumps(base))
    changed.set_params(delta=5.0)
    _quiet(same.partial_fit, X, y)
    _quiet(changed.partial_fit, X, y)
    assert changed._spec.loss_params == (("delta", 5.0),)
    assert not np.array_equal(changed.predict(X), same.predict(X))
    # delta 5 covers every residual here: the loss is half the squared error
    # (one output), which the fit's loss_ says
    residual = changed.predict(X) - y
    assert np.abs(residual).max() < 5


@pytest.mark.parametrize("name, value", [("delta", 0.0), ("delta", -1.0),
                                         ("quantile", 0.0), ("quantile", 1.0),
                                         ("quantile", 1.5), ("delta", "big")])
def test_loss_parameters_are_validated(name, value):
    X, y = _regression(50)
    with pytest.raises(ValueError, match=f"The '{name}' parameter of MLPRegressor"):
        MLPRegressor(**{name: value}).fit(X, y)


@pytest.mark.parametrize("loss", sorted(REGRESSOR_LOSSES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sparse", [False, True])
def test_sample_weight_is_repetition_for_every_regression_loss(loss, dtype, sparse):
    # weight 2 on a row is the row twice: same lbfgs loss and model
    X, y = _regression(60)
    y = np.abs(y) if loss == "poisson" else y
    X = X.astype(dtype)
    w = np.random.RandomState(0).randint(1, 3, 60)
    X_rep, y_rep = np.repeat(X, w, axis=0), np.repeat(y, w)
    if sparse:
        X, X_rep = sp.csr_matrix(X), sp.csr_matrix(X_rep)
    params = dict(loss=loss, hidden_layer_sizes=(4,), solver="lbfgs", max_iter=15,
                  random_state=0)
    weighted = _quiet(MLPRegressor(**params).fit, X, y, sample_weight=w)
    repeated = _quiet(MLPRegressor(**params).fit, X_rep, y_rep)
    rtol = 1e-4 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(weighted.loss_, repeated.loss_, rtol=rtol)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=rtol * 10,
                               atol=rtol)


@pytest.mark.parametrize("loss", sorted(CLASSIFIER_LOSSES))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sample_weight_is_repetition_for_every_classifier_loss(loss, n_classes):
    X, y = _separable(n_classes, 60)
    w = np.random.RandomState(0).randint(1, 3, 60)
    params = dict(loss=loss, hidden_layer_sizes=(4,), solver="lbfgs", max_iter=15,
                  random_state=0)
    weighted = _quiet(MLPClassifier(**params).fit, X, y, sample_weight=w)
    repeated = _quiet(MLPClassifier(**params).fit, np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.loss_, repeated.loss_, rtol=1e-8)


@pytest.mark.parametrize("loss", ["absolute_error", "huber", "quantile"])
def test_loss_curve_is_the_mean_loss_plus_the_l2_term(loss):
    # one full-batch sgd epoch with a zero rate: the epoch's loss is the
    # initial model's, which NumPy computes from the formulas
    X, y = _regression(50)
    model = _quiet(MLPRegressor(loss=loss, hidden_layer_sizes=(3,), solver="sgd",
                                learning_rate_init=1e-300, momentum=0, batch_size=50,
                                max_iter=1, alpha=0.1, shuffle=False, random_state=0).fit,
                   X, y)
    r = model.predict(X) - y
    q, d = model.quantile, model.delta
    per_row = {"absolute_error": np.abs(r),
               "huber": np.where(np.abs(r) <= d, r**2 / 2, d * (np.abs(r) - d / 2)),
               "quantile": np.maximum((1 - q) * r, -q * r)}[loss]
    l2 = 0.1 * sum((W**2).sum() for W in model.coefs_) / 2 / 50
    np.testing.assert_allclose(model.loss_curve_[0], per_row.mean() + l2, rtol=1e-10)
