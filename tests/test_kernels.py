"""Each engine kernel against a NumPy one-liner, for both dtypes (the
activations' in test_activations.py)."""
import numpy as np
import pytest
import scipy.sparse as sp

from engine_specs import LOSS_CODES as OUTPUTS, OUT_ACTIVATION_CODES
from fastmlp._engine._common import Activation, Loss, OutActivation
from kernel_twins import (
    _adam_step_memview,
    _csr_rows_T_dot_memview,
    _csr_rows_dot_memview,
    _narrow_gradient_memview,
    _narrow_product_memview,
    _output_activation_memview,
    _output_loss_delta_memview,
    _sgd_step_memview,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy_reference import (
    HIDDEN,
    LOSS_PARAM,
    MULTICLASS,
    OUTPUT_ACTIVATION,
    output_delta,
    per_sample_loss,
)

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-5, np.float64: 1e-12}


def _data(dtype, shape=(13, 7), scale=3.0, seed=0):
    return (scale * np.random.RandomState(seed).randn(*shape)).astype(dtype)


# NaN, the infinities, signed zeros, and values whose activations saturate
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -1.5, 1e30, -1e30])


def test_every_activation_and_output_has_a_numpy_reference():
    # the NaN and infinity tests (here and in test_activations.py) cover
    # each one as soon as it exists
    assert {a.name.lower() for a in Activation} == set(HIDDEN)
    assert set(OUTPUTS.values()) == set(Loss)
    assert set(OUT_ACTIVATION_CODES.values()) == set(OutActivation)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", list(OUTPUTS))
def test_output_activations_propagate_nan_and_take_infinities_as_numpy(dtype, output):
    Z = np.column_stack([SPECIAL, np.full_like(SPECIAL, 0.5), np.full_like(SPECIAL, -0.5)])
    Z = Z.astype(dtype)
    with np.errstate(all="ignore"):
        expected = OUTPUT_ACTIVATION[output](Z.astype(np.float64))
    _output_activation_memview(Z, np.zeros(3, dtype), OUT_ACTIVATION_CODES[output])
    np.testing.assert_allclose(Z, expected, rtol=RTOL[dtype] * 10, atol=RTOL[dtype])
    assert np.isnan(Z[0, 0])


def _targets(output, dtype, shape):
    rng = np.random.RandomState(5)
    if output in MULTICLASS:
        return np.eye(shape[1], dtype=dtype)[rng.randint(shape[1], size=shape[0])]
    if output in ("binary_log_loss", "binary_hinge", "binary_squared_hinge"):
        return (rng.rand(*shape) > 0.5).astype(dtype)
    if output == "poisson":
        return rng.poisson(2.0, shape).astype(dtype)
    return rng.randn(*shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize("weighted", [False, True])
def test_output_loss_delta(dtype, output, weighted):
    Z, b = _data(dtype, scale=1.0), _data(dtype, (7,), scale=1.0, seed=1)
    Y = _targets(output, dtype, Z.shape)
    sw = np.random.RandomState(3).uniform(0.1, 2, 13).astype(dtype) if weighted else None
    P = OUTPUT_ACTIVATION[output](Z.astype(np.float64) + b)
    w = np.ones(13) if sw is None else sw
    expected_loss = (w * per_sample_loss(output, Y, P)).sum()
    delta = np.empty_like(Z)
    # the multiclass hinges take class indices only
    targets = Y.argmax(axis=1).astype(np.intp) if output.startswith("multiclass") else Y
    got = _output_loss_delta_memview(
        Z, b, targets, np.empty(0, dtype) if sw is None else sw, OUTPUTS[output],
        dtype(0.5), delta, loss_param=LOSS_PARAM.get(output, 0.0)
    )
    np.testing.assert_allclose(got, expected_loss, rtol=RTOL[dtype] * 10)
    np.testing.assert_allclose(Z, P, rtol=RTOL[dtype] * 10, atol=RTOL[dtype])
    np.testing.assert_allclose(delta, 0.5 * output_delta(output, Y, P) * w[:, None],
                               rtol=RTOL[dtype] * 10, atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["binary_log_loss", "log_loss"])
def test_log_loss_of_clipped_probabilities_does_not_underflow(dtype, output):
    # every probability of the true class at the clip, eps: the loss takes
    # logs of products of 16 of them, which must stay above the smallest double
    n_rows, n_outputs = 1000, 3
    Y = np.zeros((n_rows, n_outputs), dtype)
    Y[:, 0] = 1
    Z = np.zeros((n_rows, n_outputs), dtype)
    Z[:, 0] = -1e4
    if output == "binary_log_loss":
        Z[:, 1:] = -1e4
        Y[:, 1:] = 1
    eps = np.finfo(dtype).eps
    delta = np.empty_like(Z)
    got = _output_loss_delta_memview(Z, np.zeros(n_outputs, dtype), Y, np.empty(0, dtype),
                                     OUTPUTS[output], dtype(1), delta)
    n_clipped = n_rows * (n_outputs if output == "binary_log_loss" else 1)
    np.testing.assert_allclose(got, -n_clipped * np.log(np.float64(eps)), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", list(OUTPUTS))
def test_output_activation(dtype, output):
    Z, b = _data(dtype, scale=1.0), _data(dtype, (7,), seed=1)
    expected = OUTPUT_ACTIVATION[output](Z.astype(np.float64) + b)
    _output_activation_memview(Z, b, OUT_ACTIVATION_CODES[output])
    np.testing.assert_allclose(Z, expected, rtol=RTOL[dtype] * 10, atol=RTOL[dtype])


@pytest.mark.parametrize("output", ["log_loss", "binary_log_loss"])
def test_log_losses_stay_finite_for_extreme_logits(output):
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 700.0]])
    Y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    delta = np.empty_like(Z)
    loss = _output_loss_delta_memview(Z, np.zeros(3), Y, np.empty(0), OUTPUTS[output], 1.0, delta)
    assert np.isfinite(loss) and np.isfinite(Z).all() and np.isfinite(delta).all()
    # a confidently wrong prediction costs -log(eps) per wrong unit, as in scikit-learn
    assert loss >= -np.log(np.finfo(np.float64).eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_step(dtype):
    rng = np.random.RandomState(0)
    p, g = rng.randn(50).astype(dtype), rng.randn(50).astype(dtype)
    m, v = rng.randn(50).astype(dtype), rng.rand(50).astype(dtype)
    lr, b1, b2, eps, t = 0.01, 0.9, 0.999, 1e-8, 7
    m_exp = b1 * m + (1 - b1) * g
    v_exp = b2 * v + (1 - b2) * g**2
    lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
    p_exp = p - lr_t * m_exp / (np.sqrt(v_exp) + eps)
    # raw gradient sums are finished inside the step: g = (raw + alpha p) / sw_sum
    alpha, sw_sum = 0.3, 7.0
    _adam_step_memview(p, g * sw_sum - alpha * p, m, v, lr, b1, b2, eps, t, alpha, sw_sum)
    for got, exp in [(m, m_exp), (v, v_exp), (p, p_exp)]:
        np.testing.assert_allclose(got, exp, rtol=RTOL[dtype] * 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_step(dtype, nesterov):
    rng = np.random.RandomState(1)
    p, g, vel = (rng.randn(50).astype(dtype) for _ in range(3))
    lr, mu = 0.1, 0.9
    vel_exp = mu * vel - lr * g
    p_exp = p + (mu * vel_exp - lr * g if nesterov else vel_exp)
    alpha, sw_sum = 0.3, 7.0
    _sgd_step_memview(p, g * sw_sum - alpha * p, vel, lr, mu, nesterov, alpha, sw_sum)
    np.testing.assert_allclose(vel, vel_exp, rtol=RTOL[dtype] * 10)
    np.testing.assert_allclose(p, p_exp, rtol=RTOL[dtype] * 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_csr_rows_products(dtype):
    rng = np.random.RandomState(0)
    X = sp.random(20, 15, density=0.2, format="csr", random_state=rng, dtype=dtype)
    rows = np.array([3, 0, 19, 3, 7], dtype=np.intp)
    W = rng.randn(15, 6).astype(dtype)
    delta = rng.randn(5, 6).astype(dtype)
    args = (X.data, X.indices.astype(np.intp), X.indptr.astype(np.intp), rows)
    out = np.empty((5, 6), dtype)
    _csr_rows_dot_memview(*args, W, out)
    np.testing.assert_allclose(out, X[rows].toarray() @ W, rtol=RTOL[dtype] * 10,
                               atol=RTOL[dtype])
    acc = np.ones((15, 6), dtype)
    _csr_rows_T_dot_memview(*args, delta, acc)
    np.testing.assert_allclose(acc, 1 + X[rows].toarray().T @ delta,
                               rtol=RTOL[dtype] * 10, atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss_with_class_index_targets_equals_one_hot(dtype, weighted):
    Z, b = _data(dtype, scale=2.0), _data(dtype, (7,), seed=1)
    Y = _targets("log_loss", dtype, Z.shape)
    sw = (np.random.RandomState(3).uniform(0.1, 2, 13).astype(dtype) if weighted
          else np.empty(0, dtype))
    Z1, d1, Z2, d2 = Z.copy(), np.empty_like(Z), Z.copy(), np.empty_like(Z)
    one_hot = _output_loss_delta_memview(Z1, b, Y, sw, Loss.LOG_LOSS, 0.5, d1)
    indices = Y.argmax(axis=1).astype(np.intp)
    by_index = _output_loss_delta_memview(Z2, b, indices, sw, Loss.LOG_LOSS, 0.5, d2)
    assert by_index == one_hot
    np.testing.assert_array_equal(Z2, Z1)
    np.testing.assert_array_equal(d2, d1)
    # rows select each row's class: row i of the minibatch is row rows[i] of Y
    rows = np.random.RandomState(4).permutation(Z.shape[0]).astype(np.intp)
    Z3, d3 = Z.copy(), np.empty_like(Z)
    inverse = np.argsort(rows)
    through_rows = _output_loss_delta_memview(Z3, b, indices[inverse], sw, Loss.LOG_LOSS,
                                              0.5, d3, rows)
    assert through_rows == one_hot
    np.testing.assert_array_equal(d3, d1)


def test_log_loss_class_indices_are_exact_past_float32_integers():
    # issue 10: 2**24 + 1 has no float32, so an index carried in the
    # model's dtype trained class 2**24 instead
    n_classes = 2**24 + 2
    Z = np.zeros((1, n_classes), np.float32)
    delta = np.empty_like(Z)
    _output_loss_delta_memview(Z, np.zeros(n_classes, np.float32),
                               np.array([n_classes - 1], np.intp), np.empty(0, np.float32),
                               Loss.LOG_LOSS, 1.0, delta)
    # p - y: every probability is 1 / n_classes, y is 1 at the last class only
    assert delta[0, -1] < -0.99
    assert 0 < delta[0, -2] < 1e-6


@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from(DTYPES), n_samples=st.integers(1, 40),
       n_in=st.integers(1, 4), n_units=st.integers(1, 37), seed=st.integers(0, 1000))
def test_narrow_product_and_gradient(dtype, n_samples, n_in, n_units, seed):
    # every width mod 4 (the kernels take four units at a time, then the rest)
    A = _data(dtype, (n_samples, n_in), seed=seed)
    W = _data(dtype, (n_in, n_units), seed=seed + 1)
    D = _data(dtype, (n_samples, n_units), seed=seed + 2)
    tol = dict(rtol=RTOL[dtype], atol=RTOL[dtype] * 10 * n_samples)
    Z = np.full((n_samples, n_units), np.nan, dtype)
    _narrow_product_memview(A, W, Z)
    np.testing.assert_allclose(Z, A.astype(np.float64) @ W, **tol)
    dW = np.full((n_in, n_units), np.nan, dtype)
    _narrow_gradient_memview(A, D, dW, False)
    expected = A.T.astype(np.float64) @ D
    np.testing.assert_allclose(dW, expected, **tol)
    _narrow_gradient_memview(A, D, dW, True)
    np.testing.assert_allclose(dW, 2 * expected, **tol)
