"""The theory notes' hand-worked example, reproduced through the public API.

Notes (shared/seeds/001): one input x=1, one hidden sigmoid unit (w11=0.5, b1=0.5),
one linear output (w21=1, b2=1), target 2, squared error 0.5*(y-2)^2.

    forward:   a11 = sigmoid(0.5*1 + 0.5) = 0.731,  y = 0.731*1 + 1 = 1.731
    gradients: dw21 = (y-2)*a11 = -0.1966, db2 = y-2 = -0.269,
               dw11 = db1 = (y-2)*w21*a11*(1-a11)*x = -0.0529
    SGD step at learning rate 0.1, then forward again: y = 1.775

The notes round every intermediate to three decimals; the exact arithmetic gives
1.77444 after the step, so 1.775 is checked to the notes' rounding and the exact
value tightly.
"""

import contextlib
import io
import pathlib
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastmlp import MLPRegressor

X = [[1.0]]
TARGET = [2.0]
LR = 0.1

# Values as printed in the notes, with the precision they are printed to.
NOTES_FORWARD = 1.731
NOTES_GRADS = {"dw21": (-0.1966, 5e-5), "db2": (-0.269, 5e-4), "dw11": (-0.0529, 5e-5), "db1": (-0.0529, 5e-5)}
NOTES_AFTER_STEP = 1.775


def _exact():
    """The example in exact arithmetic (independent of the estimator)."""
    a11 = 1.0 / (1.0 + np.exp(-(0.5 * 1.0 + 0.5)))
    y = a11 * 1.0 + 1.0
    err = y - 2.0
    grads = {"dw21": err * a11, "db2": err, "dw11": err * 1.0 * a11 * (1 - a11) * 1.0}
    grads["db1"] = grads["dw11"]
    w11, b1 = 0.5 - LR * grads["dw11"], 0.5 - LR * grads["db1"]
    w21, b2 = 1.0 - LR * grads["dw21"], 1.0 - LR * grads["db2"]
    y_after = 1.0 / (1.0 + np.exp(-(w11 + b1))) * w21 + b2
    return y, grads, y_after


TOL = {np.float64: 1e-12, np.float32: 1e-6}


def _network(dtype):
    reg = MLPRegressor(
        hidden_layer_sizes=(1,),
        activation="logistic",
        solver="sgd",
        learning_rate_init=LR,
        momentum=0.0,
        alpha=0.0,
        batch_size=1,
        random_state=0,
    )
    reg.partial_fit(np.asarray(X, dtype=dtype), TARGET)  # initialises the weights
    # Set the notes' weights in place: coefs_/intercepts_ are views into the
    # engine's parameter buffer, so the next partial_fit starts from them.
    reg.coefs_[0][0, 0] = 0.5
    reg.intercepts_[0][0] = 0.5
    reg.coefs_[1][0, 0] = 1.0
    reg.intercepts_[1][0] = 1.0
    return reg


def _weights(reg):
    return {
        "w11": float(reg.coefs_[0][0, 0]),
        "b1": float(reg.intercepts_[0][0]),
        "w21": float(reg.coefs_[1][0, 0]),
        "b2": float(reg.intercepts_[1][0]),
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_pass_gives_1_731(dtype):
    reg = _network(dtype)
    y_exact, _, _ = _exact()
    pred = reg.predict(np.asarray(X, dtype=dtype))
    assert pred.shape == (1,)
    assert round(float(pred[0]), 3) == NOTES_FORWARD
    assert_allclose(pred[0], y_exact, rtol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_sgd_step_uses_the_notes_gradients(dtype):
    reg = _network(dtype)
    before = _weights(reg)
    assert before == {"w11": 0.5, "b1": 0.5, "w21": 1.0, "b2": 1.0}

    reg.partial_fit(np.asarray(X, dtype=dtype), TARGET)
    after = _weights(reg)

    y_exact, grads_exact, y_after_exact = _exact()
    # new = old - lr * gradient, so the gradient the step used is:
    used = {
        "d" + name: (before[name] - after[name]) / LR for name in ("w11", "b1", "w21", "b2")
    }
    for name, (value, precision) in NOTES_GRADS.items():
        assert abs(used[name] - value) <= precision, (name, used[name], value)
        # float32 weights near 1 lose ~1e-7 absolute, i.e. ~1e-6 after / LR
        assert_allclose(used[name], grads_exact[name], rtol=0, atol=10 * TOL[dtype])

    # The loss reported for the step is the squared error before it.
    assert_allclose(reg.loss_, 0.5 * (y_exact - 2.0) ** 2, rtol=10 * TOL[dtype])

    pred = float(reg.predict(np.asarray(X, dtype=dtype))[0])
    assert abs(pred - NOTES_AFTER_STEP) < 1e-3  # the notes' three-decimal rounding
    assert_allclose(pred, y_after_exact, rtol=TOL[dtype])
    assert abs(pred - 2.0) < abs(y_exact - 2.0)  # the step moved towards the target


def test_notes_rounded_weights_forward_to_1_775():
    # The notes' second forward pass uses their rounded updated weights.
    reg = _network(np.float64)
    reg.coefs_[0][0, 0] = 0.505
    reg.intercepts_[0][0] = 0.505
    reg.coefs_[1][0, 0] = 1.020
    reg.intercepts_[1][0] = 1.027
    assert round(float(reg.predict(X)[0]), 3) == NOTES_AFTER_STEP


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_fit_takes_the_same_step():
    # fit(warm_start=True, max_iter=1) from the same weights is the same one step.
    reg = _network(np.float64)
    reg.set_params(warm_start=True, max_iter=1)
    reg.fit(X, TARGET)
    _, _, y_after_exact = _exact()
    assert_allclose(reg.predict(X)[0], y_after_exact, rtol=1e-12)
    assert reg.n_iter_ == 1


# -- the same example through the inspection API (README, "Inspecting a network")

def _notes_network(relu_unit, dtype=np.float64):
    """The notes' network with their weights: sigmoid unit then relu unit as
    two hidden layers under a linear output of weight 1 and bias 0, or (the
    relu passing 1.731 unchanged) one sigmoid layer under a linear output.
    Weights are set in place, so a float32 model stays float32."""
    X = np.asarray([[1.0]], dtype=dtype)
    if relu_unit:
        reg = MLPRegressor(hidden_layer_sizes=(1, 1), activation=["logistic", "relu"],
                           alpha=0.0).partial_fit(X, TARGET)
        weights, biases = [0.5, 1.0, 1.0], [0.5, 1.0, 0.0]
    else:
        reg = MLPRegressor(hidden_layer_sizes=(1,), activation="logistic",
                           alpha=0.0).partial_fit(X, TARGET)
        weights, biases = [0.5, 1.0], [0.5, 1.0]
    for W, b, w_value, b_value in zip(reg.coefs_, reg.intercepts_, weights, biases):
        W[...], b[...] = w_value, b_value
    return reg, X


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("relu_unit", [True, False])
def test_loss_gradient_gives_the_notes_gradients(relu_unit, dtype):
    reg, X = _notes_network(relu_unit, dtype)
    y_exact, grads, _ = _exact()
    Z, A = reg.forward_pass(X)
    assert_allclose(A[1][0, 0], 1 / (1 + np.exp(-1.0)), rtol=TOL[dtype])
    assert_allclose(A[-1][0, 0], y_exact, rtol=TOL[dtype])
    assert round(float(A[-1][0, 0]), 3) == NOTES_FORWARD
    assert_allclose(Z[0][0, 0], 1.0, rtol=TOL[dtype])   # x w11 + b1
    loss, coef_grads, intercept_grads = reg.loss_gradient(X, TARGET)
    assert coef_grads[0].dtype == dtype
    assert_allclose(loss, 0.5 * (y_exact - 2) ** 2, rtol=10 * TOL[dtype])
    got = {"dw11": coef_grads[0][0, 0], "db1": intercept_grads[0][0],
           "dw21": coef_grads[1][0, 0], "db2": intercept_grads[1][0]}
    for name, (value, precision) in NOTES_GRADS.items():
        assert abs(got[name] - value) <= precision, (name, got[name], value)
        assert_allclose(got[name], grads[name], rtol=10 * TOL[dtype])
    assert_allclose(got["dw11"], -0.0528770928, rtol=1e-9 if dtype == np.float64 else 1e-6)


def test_the_readme_example_prints_what_the_readme_says():
    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("### Inspecting a network"):]
    code, printed = re.search(r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```",
                              section, re.S).groups()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})
    assert out.getvalue() == printed
    assert "y = 1.731059" in printed and "dJ/dw11 = -0.052877" in printed
