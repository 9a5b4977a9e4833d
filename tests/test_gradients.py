"""The engine's loss and gradient, checked by property-based tests.

For random architectures, activations (mixed per layer, with their
parameters), losses, dtypes, weights and L2 strengths, dense and sparse X:
the engine's loss equals an independent NumPy forward pass, and its analytic
gradient equals central finite differences of its own loss; the loss without
the backward pass (validation data's) equals it.
"""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine_specs import OUTPUT_LOSSES as OUTPUTS, network_spec
from fastmlp._engine._full_batch import forward_loss, loss_gradient
from fastmlp._engine._network import Network
from fastmlp._engine._team import on_threads
from fastmlp._engine_input import engine_input
from fastmlp._registry import ACTIVATIONS
from numpy_reference import MULTICLASS, forward, hidden_names, kink_distance, kinks, \
    loss as reference_loss


def engine_loss_grad(layer_units, activation, output, params, X, Y, sw, alpha, chunk_rows,
                     n_parts=1, act_params=None):
    network = Network(network_spec(layer_units, activation, output, act_params=act_params))
    dtype = params.dtype
    grads = np.full(n_parts * params.shape[0], np.nan, dtype=dtype)
    part_rows = -(-chunk_rows // n_parts)
    work = np.empty(n_parts * network.work_size(part_rows, False), dtype=dtype)
    # lbfgs's scaling: the gradient of the reported squared-error loss
    scale = 1.0 / layer_units[-1] if output == "squared_error" else 1.0
    # class indices (intp) go as they are, other targets in the model's
    # dtype; the multiclass hinges take class indices only
    if output.startswith("multiclass") and Y.dtype != np.intp:
        Y = Y.argmax(axis=1).astype(np.intp).reshape(-1, 1)
    Y = Y if Y.dtype == np.intp else np.ascontiguousarray(Y, dtype=dtype)
    loss = loss_gradient(network, params, grads, work, *engine_input(X, dtype), Y,
                         np.empty(0, dtype) if sw is None else sw.astype(dtype),
                         chunk_rows, n_parts, min(n_parts, 2), alpha, scale)
    return loss, grads[:params.shape[0]]


@st.composite
def problems(draw):
    n_hidden = draw(st.integers(0, 3))
    hidden = [draw(st.integers(1, 8)) for _ in range(n_hidden)]
    n_features = draw(st.integers(1, 6))
    output = draw(st.sampled_from(list(OUTPUTS)))
    n_outputs = draw(st.integers(2 if output in MULTICLASS else 1, 4))
    n_samples = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    layer_units = [n_features] + hidden + [n_outputs]
    n_params = sum(a * b for a, b in zip(layer_units[:-1], layer_units[1:])) + sum(layer_units[1:])
    params = rng.uniform(-1, 1, n_params)
    X = rng.randn(n_samples, n_features)
    if draw(st.booleans()):
        X[rng.rand(*X.shape) < 0.5] = 0
        X = sp.csr_matrix(X)
    if output in MULTICLASS:
        Y = np.eye(n_outputs)[rng.randint(n_outputs, size=n_samples)]
    elif output in ("binary_log_loss", "binary_hinge", "binary_squared_hinge"):
        Y = (rng.rand(n_samples, n_outputs) > 0.5).astype(float)
    elif output == "poisson":
        Y = rng.poisson(1.5, (n_samples, n_outputs)).astype(float)
    else:
        Y = rng.randn(n_samples, n_outputs)
    sw = rng.uniform(0.2, 3, n_samples) if draw(st.booleans()) else None
    names = sorted(ACTIVATIONS)
    # one name for all layers, or one per layer
    activation = (draw(st.sampled_from(names)) if draw(st.booleans())
                  else [draw(st.sampled_from(names)) for _ in hidden])
    return dict(
        layer_units=layer_units,
        activation=activation,
        # the values that change which layers keep f'(z) (negative), and where
        # softplus's pieces meet
        act_params=dict(negative_slope=draw(st.sampled_from([0.01, -0.3, 1.5])),
                        elu_alpha=draw(st.sampled_from([1.0, 0.5, -0.5])),
                        softplus_beta=draw(st.sampled_from([1.0, 2.0])),
                        softplus_threshold=draw(st.sampled_from([20.0, 1.0]))),
        output=output,
        params=params,
        X=X,
        Y=Y,
        sw=sw,
        alpha=draw(st.sampled_from([0.0, 0.3])),
        chunk_rows=draw(st.integers(1, n_samples)),
        # row parts on threads (more parts than rows leaves some empty)
        n_parts=draw(st.integers(1, 3)),
    )


def _dense(X):
    return X.toarray() if sp.issparse(X) else X


def _away_from_kinks(p, margin):
    """Whether every hidden pre-activation is at least `margin` from its
    layer's kinks (where f or f' jumps), and the loss's argument from the
    loss's kinks."""
    P, pre = forward(p["params"], p["layer_units"], p["activation"], p["output"],
                     _dense(p["X"]), p["act_params"])
    names = hidden_names(p["activation"], len(pre))
    return kink_distance(p["output"], p["Y"], P) > margin and all(
        np.abs(Z - kink).min() > margin
        for Z, name in zip(pre, names) for kink in kinks(name, p["act_params"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_gradient_matches_finite_differences(p):
    # finite differences are meaningless across a kink
    assume(_away_from_kinks(p, 1e-4))
    if p["output"] in ("log_loss", "binary_log_loss"):
        # the loss clips probabilities to [eps, 1 - eps] (as scikit-learn's
        # does) while the gradient is p - y: they agree only off the clip
        P, _ = forward(p["params"], p["layer_units"], p["activation"], p["output"],
                       _dense(p["X"]), p["act_params"])
        assume(np.all((P > 1e-9) & (P < 1 - 1e-9)))
        if p["output"] == "binary_log_loss":
            # log(1 - p) for y = 0 carries 1 - p's rounding, eps / (1 - p)
            # relative, which central differences magnify by 1 / h
            assume(np.all(P[p["Y"] == 0] < 0.99))
    args = (p["layer_units"], p["activation"], p["output"])
    rest = (p["X"], p["Y"], p["sw"], p["alpha"], p["chunk_rows"], p["n_parts"],
            p["act_params"])
    loss, grad = engine_loss_grad(*args, p["params"].copy(), *rest)

    expected = reference_loss(p["params"], *args, _dense(p["X"]), p["Y"], p["sw"], p["alpha"],
                              p["act_params"])
    np.testing.assert_allclose(loss, expected, rtol=1e-10, atol=1e-12)

    h = 1e-6
    numeric = np.empty_like(grad)
    for i in range(grad.shape[0]):
        step = np.zeros_like(p["params"])
        step[i] = h
        plus, _ = engine_loss_grad(*args, p["params"] + step, *rest)
        minus, _ = engine_loss_grad(*args, p["params"] - step, *rest)
        numeric[i] = (plus - minus) / (2 * h)
    # central differences resolve no better than the loss's rounding over h
    # (~2e-10 |loss|): deep identity nets under the Poisson loss reach 1e6
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7 + 1e-8 * abs(loss))


@settings(max_examples=150, deadline=None)
@given(problems())
def test_float32_matches_float64(p):
    if p["output"] in ("log_loss", "binary_log_loss"):
        # each dtype clips probabilities at its own eps (scikit-learn's rule):
        # float32 at 1.2e-7, so the losses part where probabilities go below
        P, _ = forward(p["params"], p["layer_units"], p["activation"], p["output"],
                       _dense(p["X"]), p["act_params"])
        assume(np.all((P > 1e-6) & (P < 1 - 1e-6)))
    # each dtype decides for itself which side of softplus's threshold z is, or
    # of a kink of the loss
    assume(_away_from_kinks(p, 1e-3))
    args = (p["layer_units"], p["activation"], p["output"])
    rest = (p["X"], p["Y"], p["sw"], p["alpha"], p["chunk_rows"], p["n_parts"],
            p["act_params"])
    loss64, grad64 = engine_loss_grad(*args, p["params"].copy(), *rest)
    loss32, grad32 = engine_loss_grad(*args, p["params"].astype(np.float32), *rest)
    assert grad32.dtype == np.float32
    np.testing.assert_allclose(loss32, loss64, rtol=1e-4, atol=1e-5)
    # an entry summed from terms as large as the largest entry carries their
    # float32 rounding (1.2e-7 each): entries of 50 beside 1e6 differ by 0.2
    np.testing.assert_allclose(grad32, grad64, rtol=1e-3,
                               atol=1e-4 + 1e-5 * np.abs(grad64).max())


@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize("n_parts", [1, 2, 3])
def test_chunking_does_not_change_loss_or_gradient(output, n_parts):
    rng = np.random.RandomState(0)
    units = [5, 7, 3]
    params = rng.uniform(-1, 1, 5 * 7 + 7 * 3 + 10)
    X = rng.randn(50, 5)
    Y = (rng.rand(50, 3) > 0.5).astype(float) if output not in MULTICLASS else np.eye(3)[rng.randint(3, size=50)]
    whole = engine_loss_grad(units, "tanh", output, params, X, Y, None, 0.1, 50)
    # chunks of 7 rows, each cut into row parts (on threads)
    chunked = engine_loss_grad(units, "tanh", output, params, X, Y, None, 0.1, 7, n_parts)
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-13)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
def test_class_index_targets_give_the_one_hot_loss_and_gradient(dtype, sparse):
    rng = np.random.RandomState(0)
    units = [5, 6, 4]
    params = rng.uniform(-1, 1, 5 * 6 + 6 * 4 + 10).astype(dtype)
    X = rng.randn(30, 5)
    X = sp.csr_matrix(X * (X > 0)) if sparse else X
    labels = rng.randint(4, size=30)
    sw = rng.uniform(0.5, 2, 30)
    one_hot = engine_loss_grad(units, "relu", "log_loss", params, X, np.eye(4)[labels],
                               sw, 0.1, 7, n_parts=2)
    by_index = engine_loss_grad(units, "relu", "log_loss", params, X,
                                labels.reshape(-1, 1).astype(np.intp), sw, 0.1, 7,
                                n_parts=2)
    assert by_index[0] == one_hot[0]
    np.testing.assert_array_equal(by_index[1], one_hot[1])


@pytest.mark.parametrize("bad, message", [
    (np.array(4), "class index 4 out of range"),
    (np.array(-1), "class index -1 out of range"),
    (np.array(2**62), "out of range"),
    # class indices are integers: a float column is a one-column target
    (np.array(1.5), "1 columns for 4 outputs"),
    (np.array(np.nan), "1 columns for 4 outputs"),
])
def test_class_index_targets_out_of_range_are_refused(bad, message):
    rng = np.random.RandomState(0)
    labels = rng.randint(4, size=10).astype(bad.dtype).reshape(-1, 1)
    labels[3] = bad
    if labels.dtype.kind == "i":
        labels = labels.astype(np.intp)
    with pytest.raises(ValueError, match=message):
        engine_loss_grad([5, 4], "relu", "log_loss", rng.uniform(-1, 1, 24),
                         rng.randn(10, 5), labels, None, 0.0, 10)


@pytest.mark.parametrize("output", ["binary_log_loss", "binary_hinge", "huber"])
def test_class_index_targets_are_for_the_multiclass_losses_only(output):
    rng = np.random.RandomState(0)
    labels = rng.randint(2, size=(10, 1)).astype(np.intp)
    with pytest.raises(ValueError, match="multiclass losses only"):
        engine_loss_grad([5, 1], "relu", output, rng.uniform(-1, 1, 6),
                         rng.randn(10, 5), labels, None, 0.0, 10)


def engine_forward_loss(layer_units, activation, output, params, X, Y, sw, alpha, chunk_rows,
                        n_parts=1, n_threads=None, l2_divisor=None, act_params=None):
    """forward_loss as the validation data's loss runs it; l2_divisor
    defaults to the weights' sum (lbfgs's L2 term)."""
    network = Network(network_spec(layer_units, activation, output, act_params=act_params))
    dtype = params.dtype
    part_rows = -(-chunk_rows // n_parts)
    work = np.empty(n_parts * network.work_size(part_rows, False), dtype=dtype)
    if l2_divisor is None:
        # in row order, as the engine adds them (np.sum's pairwise order
        # differs in the last bit from 8 weights on)
        l2_divisor = float(np.cumsum(sw.astype(dtype), dtype=np.float64)[-1]) if sw is not None \
            else X.shape[0]
    if output.startswith("multiclass") and Y.dtype != np.intp:
        Y = Y.argmax(axis=1).astype(np.intp).reshape(-1, 1)
    Y = Y if Y.dtype == np.intp else np.ascontiguousarray(Y, dtype=dtype)
    return forward_loss(network, params, work, *engine_input(X, dtype), Y,
                        np.empty(0, dtype) if sw is None else sw.astype(dtype),
                        chunk_rows, n_parts, min(n_parts, 2) if n_threads is None else n_threads,
                        alpha, l2_divisor)


@settings(max_examples=200, deadline=None)
@given(problems(), st.sampled_from([np.float32, np.float64]))
def test_forward_loss_is_lbfgs_loss_without_the_backward_pass(p, dtype):
    # the validation data's loss: the same chunks, parts and sums as
    # loss_gradient's loss, so the same number bit for bit, on any number of
    # threads (a team of on_threads or threads of its own), for targets as
    # floats or (softmax) class indices, and the parameters untouched
    params = p["params"].astype(dtype)
    before = params.copy()
    args = (p["layer_units"], p["activation"], p["output"])
    targets = [p["Y"]]
    if p["output"] == "log_loss":
        targets.append(np.argmax(p["Y"], axis=1).astype(np.intp).reshape(-1, 1))
    for Y in targets:
        rest = (p["X"], Y, p["sw"], p["alpha"], p["chunk_rows"], p["n_parts"])
        expected, _ = engine_loss_grad(*args, params.copy(), *rest,
                                       act_params=p["act_params"])
        kw = dict(act_params=p["act_params"])
        assert engine_forward_loss(*args, params, *rest, **kw) == expected
        assert engine_forward_loss(*args, params, *rest, n_threads=1, **kw) == expected
        assert on_threads(2, lambda: engine_forward_loss(*args, params, *rest, **kw)) == expected
    np.testing.assert_array_equal(params, before)


def test_forward_loss_divides_the_l2_term_as_asked():
    rng = np.random.RandomState(0)
    units = [4, 5, 3]
    params = rng.uniform(-1, 1, 4 * 5 + 5 * 3 + 8)
    X, Y = rng.randn(20, 4), rng.randn(20, 3)
    data_loss = engine_forward_loss(units, "tanh", "squared_error", params, X, Y, None, 0.0, 20)
    n_coefs = 4 * 5 + 5 * 3
    penalty = 0.5 * 0.3 * np.sum(params[:n_coefs] ** 2) / 7.0
    np.testing.assert_allclose(
        engine_forward_loss(units, "tanh", "squared_error", params, X, Y, None, 0.3, 20,
                            l2_divisor=7.0),
        data_loss + penalty, rtol=1e-14)


def test_forward_loss_checks_its_buffers():
    rng = np.random.RandomState(0)
    network = Network(network_spec([3, 4, 2], "relu", "squared_error"))
    params = rng.uniform(-1, 1, network.n_params)
    X, Y = rng.randn(6, 3), rng.randn(6, 2)
    work = np.empty(2 * network.work_size(3, False))
    args = dict(X=X, data=np.zeros(1), indices=np.zeros(1, np.intp),
                indptr=np.zeros(1, np.intp), Y=Y, sw=np.empty(0))

    def call(work=work, params=params, n_parts=2, **change):
        a = {**args, **change}
        return forward_loss(network, params, work, a["X"], a["data"], a["indices"],
                            a["indptr"], a["Y"], a["sw"], 6, n_parts, 1, 0.0, 1.0)

    assert np.isfinite(call())
    for change, message in [
        (dict(work=work[:-1]), "wrong size"),
        (dict(params=params[:-1]), "wrong size"),
        (dict(X=X[:5]), "numbers of rows"),
        (dict(X=rng.randn(6, 4)), "columns for 3 inputs"),
        (dict(sw=np.ones(5)), "numbers of rows"),
        (dict(Y=rng.randn(6, 3)), "columns"),
        (dict(Y=np.empty((0, 2)), X=np.empty((0, 3))), "no rows"),
    ]:
        with pytest.raises(ValueError, match=message):
            call(**change)


@pytest.mark.parametrize("output", ["multiclass_hinge", "multiclass_squared_hinge"])
def test_multiclass_hinge_targets_are_class_indices_only(output):
    # a one-hot float matrix would be read as nothing: the engine refuses it
    rng = np.random.RandomState(0)
    network = Network(network_spec([5, 3], "relu", output))
    Y = np.eye(3)[rng.randint(3, size=10)]
    grads = np.empty(18)
    with pytest.raises(ValueError, match="take class indices"):
        loss_gradient(network, rng.uniform(-1, 1, 18), grads,
                      np.empty(network.work_size(10, False)), *engine_input(rng.randn(10, 5),
                                                                            np.float64),
                      Y, np.empty(0), 10, 1, 1, 0.0, 1.0)
