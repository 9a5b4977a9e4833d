"""Batch normalisation in the engine (issue 13): the loss and gradient of a
network with batch-normalised layers equal central finite differences of the
engine's own loss, float32 agrees with float64, and results do not depend on
how the rows are cut into parts beyond rounding, nor on the threads.
PyTorch's BatchNorm1d is the reference in test_batch_norm_torch.py."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine_specs import BN_LOSSES as LOSSES, engine, make_spec, problem, random_params
from fastmlp._engine._epochs import Epochs
from fastmlp._engine._network import Network
from fastmlp._engine._optimizers import Rule, StepSettings


def test_normalised_layers_intercepts_have_zero_gradient():
    rng = np.random.RandomState(0)
    spec = make_spec([3, 5, 4, 2], [True, False])
    X, Y = problem(rng, 10, [3, 5, 4, 2], "squared_error")
    _, grad = engine(spec, random_params(spec, rng), X, Y, n_parts=2)
    b0 = spec.groups("intercept")[0]
    b1 = spec.groups("intercept")[1]
    assert np.all(grad[b0.start:b0.stop] == 0)
    assert np.all(grad[b1.start:b1.stop] != 0)


@st.composite
def bn_problems(draw):
    n_hidden = draw(st.integers(1, 3))
    hidden = [draw(st.integers(1, 6)) for _ in range(n_hidden)]
    batch_norm = [draw(st.booleans()) for _ in range(n_hidden)]
    if not any(batch_norm):
        batch_norm[draw(st.integers(0, n_hidden - 1))] = True
    loss = draw(st.sampled_from(list(LOSSES)))
    units = [draw(st.integers(1, 5))] + hidden + [draw(st.integers(2, 3))]
    n_rows = draw(st.integers(2, 14))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    X, Y = problem(rng, n_rows, units, loss)
    return dict(
        spec=make_spec(units, batch_norm, draw(st.sampled_from(["tanh", "logistic",
                                                                  "identity"])), loss),
        rng=rng, X=X, Y=Y,
        sw=rng.uniform(0.2, 3, n_rows) if draw(st.booleans()) else None,
        alpha=draw(st.sampled_from([0.0, 0.2])),
        n_parts=draw(st.integers(1, 3)),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bn_problems())
def test_gradient_with_batch_norm_matches_finite_differences(p):
    spec = p["spec"]
    params = random_params(spec, p["rng"])
    args = (p["X"], p["Y"], p["sw"], p["alpha"], p["n_parts"])
    loss, grad = engine(spec, params.copy(), *args)
    # a unit whose values barely vary over the rows is normalised by eps:
    # its x^ amplifies rounding beyond what central differences resolve
    h = 1e-6
    numeric = np.empty_like(grad)
    for i in range(grad.shape[0]):
        step = np.zeros_like(params)
        step[i] = h
        numeric[i] = (engine(spec, params + step, *args)[0]
                      - engine(spec, params - step, *args)[0]) / (2 * h)
    assume(np.isfinite(loss))
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6 + 1e-8 * abs(loss))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bn_problems())
def test_float32_batch_norm_matches_float64(p):
    spec = p["spec"]
    params = random_params(spec, p["rng"])
    args = (p["X"], p["Y"], p["sw"], p["alpha"], p["n_parts"])
    loss64, grad64 = engine(spec, params, *args)
    spec32 = make_spec(spec.layer_units, [h.batch_norm for h in spec.hidden],
                       spec.hidden[0].activation, spec.loss if spec.loss != "log_loss"
                       else "log_loss", "float32")
    loss32, grad32 = engine(spec32, params.astype(np.float32), *args)
    assert grad32.dtype == np.float32
    np.testing.assert_allclose(loss32, loss64, rtol=1e-4, atol=1e-5)
    # a unit of small batch variance divides by sqrt(var + eps): float32's
    # rounding of Z is magnified there
    np.testing.assert_allclose(grad32, grad64, rtol=2e-3,
                               atol=1e-3 * (1 + np.abs(grad64).max()))


@pytest.mark.parametrize("n_parts", [1, 2, 3])
def test_row_parts_change_only_rounding(n_parts):
    rng = np.random.RandomState(5)
    units = [6, 9, 7, 3]
    spec = make_spec(units, [True, True], "tanh", "log_loss")
    params = random_params(spec, rng)
    X, Y = problem(rng, 40, units, "log_loss")
    whole = engine(spec, params, X, Y, n_parts=1)
    cut = engine(spec, params, X, Y, n_parts=n_parts)
    np.testing.assert_allclose(cut[0], whole[0], rtol=1e-13)
    np.testing.assert_allclose(cut[1], whole[1], rtol=1e-10, atol=1e-14)


# -- the stochastic epochs -----------------------------------------------------

def run_epochs(spec, params, X, Y, batch_size, n_parts, n_threads, n_epochs=1,
               running=None, lr=0.1, key=(0, 0), max_grad_norm=0.0):
    network = Network(spec)
    dtype = params.dtype
    n = spec.n_params
    part_rows = -(-batch_size // n_parts)
    running = np.concatenate([np.zeros(spec.n_stats), np.ones(spec.n_stats)]) \
        if running is None else running
    epochs = Epochs(network, params, np.empty(n_parts * n, dtype), np.zeros(n, dtype),
                    np.zeros(n, dtype), np.empty(n_parts * network.work_size(part_rows, True),
                                                 dtype),
                    np.ascontiguousarray(X, dtype=dtype), np.empty(0, dtype),
                    np.empty(0, np.intp), np.empty(0, np.intp),
                    Y if Y.dtype == np.intp else np.ascontiguousarray(Y, dtype=dtype),
                    np.empty(0, dtype), np.arange(X.shape[0], dtype=np.intp), batch_size,
                    True, n_parts, n_threads, running, key)
    t = 0
    for _ in range(n_epochs):
        settings = StepSettings(Rule.SGD, lr, 0.0, momentum=0.0, t=t,
                                max_grad_norm=max_grad_norm)
        loss_sum, n_batches, finite, _ = epochs.run(settings)
        t = settings.t
        assert finite
    return params, running, loss_sum


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_parts", [2, 3])
def test_thread_count_does_not_change_the_model(dtype, n_parts):
    rng = np.random.RandomState(2)
    units = [6, 12, 10, 4]
    spec = make_spec(units, [True, True], "relu", "log_loss", dtype=np.dtype(dtype).name,
                     dropout=[0.3, 0.2])
    params = random_params(spec, rng)
    X, Y = problem(rng, 90, units, "log_loss")
    one = run_epochs(spec, params.copy(), X, Y, 32, n_parts, 1, n_epochs=3, key=(5, 9))
    two = run_epochs(spec, params.copy(), X, Y, 32, n_parts, 2, n_epochs=3, key=(5, 9))
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert one[2] == two[2]


# -- with clipping (max_grad_norm) ---------------------------------------------
# Clipping needs the summed gradient's norm, so a minibatch of a big network
# takes its stages' rounds, then a round of slices that measure, then one of
# slices that step; a small network's last stage's close does all three.

BIG_UNITS = [10, 48, 40, 3]   # over 2048 parameters: stepped in slices
SMALL_UNITS = [6, 12, 10, 4]


def _clipped_spec(units, dtype="float64"):
    spec = make_spec(units, [True, True], "relu", "log_loss", dtype=dtype,
                     dropout=[0.3, 0.2])
    assert (spec.n_params >= 2048) == (units == BIG_UNITS)
    return spec


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_parts", [2, 3])
def test_clipped_big_network_does_not_depend_on_the_threads(dtype, n_parts):
    rng = np.random.RandomState(4)
    spec = _clipped_spec(BIG_UNITS, np.dtype(dtype).name)
    params = random_params(spec, rng)
    X, Y = problem(rng, 90, BIG_UNITS, "log_loss")
    kwargs = dict(n_epochs=3, key=(5, 9), max_grad_norm=0.5)
    one = run_epochs(spec, params.copy(), X, Y, 32, n_parts, 1, **kwargs)
    two = run_epochs(spec, params.copy(), X, Y, 32, n_parts, 2, **kwargs)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert one[2] == two[2]
    # the clipping was active: without it the model is another
    unclipped = run_epochs(spec, params.copy(), X, Y, 32, n_parts, 2, n_epochs=3,
                           key=(5, 9))
    assert not np.array_equal(unclipped[0], one[0])


@pytest.mark.parametrize("units", [SMALL_UNITS, BIG_UNITS])
@pytest.mark.parametrize("n_parts, n_threads", [(1, 1), (2, 2), (3, 2)])
@pytest.mark.parametrize("max_norm", [0.05, 1e30])
def test_a_clipped_batch_norm_step_respects_the_norm(units, n_parts, n_threads, max_norm):
    # one minibatch of every row: the step is the full-batch gradient (under
    # the step's dropout masks) scaled as clip_grad_norm_ scales it
    rng = np.random.RandomState(6)
    spec = _clipped_spec(units)
    params = random_params(spec, rng)
    X, Y = problem(rng, 40, units, "log_loss")
    _, g = engine(spec, params.copy(), X, Y, n_parts=n_parts, dropout_key=(5, 9), step=0)
    norm = np.sqrt(np.sum(g * g))
    scale = min(1.0, max_norm / (norm + 1e-6))
    lr = 0.1
    got, _, _ = run_epochs(spec, params.copy(), X, Y, 40, n_parts, n_threads, lr=lr,
                           key=(5, 9), max_grad_norm=max_norm)
    np.testing.assert_allclose(got, params - lr * scale * g, rtol=1e-10, atol=1e-13)
    step_norm = np.sqrt(np.sum((params - got) ** 2)) / lr
    if max_norm < norm:
        np.testing.assert_allclose(step_norm, max_norm, rtol=1e-6)
    else:
        np.testing.assert_allclose(step_norm, norm, rtol=1e-10)
