"""Batch normalisation in the engine (issue 13): the loss and gradient of a
network with batch-normalised layers equal PyTorch's BatchNorm1d in training
mode on the same weights and rows, equal central finite differences of the
engine's own loss, and do not depend on how the rows are cut into parts
beyond rounding; the running statistics follow PyTorch's."""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fastmlp._engine._epochs import Epochs
from fastmlp._engine._full_batch import loss_gradient
from fastmlp._engine._network import Network
from fastmlp._engine._optimizers import Rule, StepSettings
from fastmlp._spec import HiddenLayer, NetworkSpec

TORCH_ACTIVATIONS = {"identity": lambda z: z, "logistic": torch.sigmoid,
                     "tanh": torch.tanh, "relu": torch.relu}
LOSSES = {"squared_error": ("squared_error", "continuous"),
          "log_loss": ("log_loss", "multiclass")}


def make_spec(units, batch_norm, activation="tanh", loss="squared_error", dtype="float64",
              momentum=0.1, dropout=None):
    dropout = dropout or [0.0] * len(batch_norm)
    hidden = tuple(HiddenLayer(u, activation, (), bool(bn), float(rate))
                   for u, bn, rate in zip(units[1:-1], batch_norm, dropout))
    name, target = LOSSES[loss]
    return NetworkSpec(units[0], hidden, units[-1], name, target, dtype=dtype,
                       batch_norm_momentum=momentum)


def random_params(spec, rng):
    params = rng.uniform(-1, 1, spec.n_params)
    for group in spec.groups("gamma"):
        params[group.start:group.stop] = rng.uniform(0.5, 1.5, group.stop - group.start)
    return params.astype(spec.dtype)


def engine(spec, params, X, Y, sw=None, alpha=0.0, n_parts=1, running=None, momentum=1.0,
           dropout_key=None, step=0):
    network = Network(spec)
    dtype = params.dtype
    n = X.shape[0]
    grads = np.full(n_parts * spec.n_params, np.nan, dtype)
    work = np.empty(n_parts * network.work_size(-(-n // n_parts), False), dtype)
    Y = Y if Y.dtype == np.intp else np.ascontiguousarray(Y, dtype=dtype)
    scale = 1.0 / spec.n_outputs if spec.loss == "squared_error" else 1.0
    loss = loss_gradient(network, params, grads, work, np.ascontiguousarray(X, dtype=dtype),
                         np.empty(0, dtype), np.empty(0, np.intp), np.empty(0, np.intp), Y,
                         np.empty(0, dtype) if sw is None else sw.astype(dtype), n,
                         n_parts, min(n_parts, 2), alpha, scale, running, momentum,
                         dropout_key, step)
    return loss, grads[:spec.n_params]


def torch_model(spec, params, momentum=0.1):
    """PyTorch's layers holding the same weights: Linear, then BatchNorm1d
    where the spec has batch norm, then the activation."""
    p = torch.tensor(np.asarray(params, dtype=np.float64))
    layers = []
    coefs = spec.groups("coef")
    intercepts = spec.groups("intercept")
    gammas = {g.layer: g for g in spec.groups("gamma")}
    betas = {g.layer: g for g in spec.groups("beta")}
    for l in range(spec.n_layers):
        W = p[coefs[l].start:coefs[l].stop].reshape(coefs[l].shape)
        linear = torch.nn.Linear(*coefs[l].shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(W.T)
            linear.bias.copy_(p[intercepts[l].start:intercepts[l].stop])
        layers.append(linear)
        if l in gammas:
            bn = torch.nn.BatchNorm1d(coefs[l].shape[1], eps=spec.batch_norm_eps,
                                      momentum=momentum, dtype=torch.float64)
            with torch.no_grad():
                bn.weight.copy_(p[gammas[l].start:gammas[l].stop])
                bn.bias.copy_(p[betas[l].start:betas[l].stop])
            layers.append(bn)
        if l < spec.n_layers - 1:
            layers.append(TORCH_ACTIVATIONS[spec.hidden[l].activation])
    return layers


def torch_forward(layers, X):
    out = torch.tensor(X, dtype=torch.float64)
    for layer in layers:
        out = layer(out)
    return out


def torch_loss(spec, layers, X, Y, sw, alpha):
    """scikit-learn's loss, as the engine computes it, on PyTorch's output."""
    Z = torch_forward(layers, X)
    n = X.shape[0]
    w = torch.ones(n, dtype=torch.float64) if sw is None else torch.tensor(sw)
    if spec.loss == "squared_error":
        per_row = 0.5 * ((Z - torch.tensor(Y)) ** 2).mean(1)
    else:
        per_row = torch.nn.functional.cross_entropy(
            Z, torch.tensor(Y[:, 0], dtype=torch.long), reduction="none")
    l2 = sum((layer.weight ** 2).sum() for layer in layers
             if isinstance(layer, torch.nn.Linear))
    return (w * per_row).sum() / w.sum() + 0.5 * alpha * l2 / w.sum()


def torch_flat_grad(spec, layers):
    """PyTorch's gradients in the engine's flat layout."""
    linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
    norms = [m for m in layers if isinstance(m, torch.nn.BatchNorm1d)]
    out = np.empty(spec.n_params)
    for group in spec.groups("coef"):
        out[group.start:group.stop] = linears[group.layer].weight.grad.T.numpy().ravel()
    for group in spec.groups("intercept"):
        out[group.start:group.stop] = linears[group.layer].bias.grad.numpy()
    for i, group in enumerate(spec.groups("gamma")):
        out[group.start:group.stop] = norms[i].weight.grad.numpy()
    for i, group in enumerate(spec.groups("beta")):
        out[group.start:group.stop] = norms[i].bias.grad.numpy()
    return out


def problem(rng, n_rows, units, loss):
    X = rng.randn(n_rows, units[0])
    if loss == "log_loss":
        Y = rng.randint(units[-1], size=(n_rows, 1)).astype(np.intp)
    else:
        Y = rng.randn(n_rows, units[-1])
    return X, Y


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic", "identity"])
@pytest.mark.parametrize("n_parts", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_and_gradient_equal_pytorch_batchnorm1d(loss, activation, n_parts, weighted):
    rng = np.random.RandomState(n_parts + 7 * weighted)
    units = [4, 6, 5, 3]
    spec = make_spec(units, [True, True], activation, loss)
    params = random_params(spec, rng)
    X, Y = problem(rng, 23, units, loss)
    sw = rng.uniform(0.2, 3, 23) if weighted else None
    ours, grad = engine(spec, params, X, Y, sw, 0.3, n_parts)

    layers = torch_model(spec, params)
    theirs = torch_loss(spec, layers, X, Y, sw, 0.3)
    theirs.backward()
    np.testing.assert_allclose(ours, theirs.item(), rtol=1e-12)
    expected = torch_flat_grad(spec, layers)
    # the intercepts of normalised layers: zero exactly (the normalisation
    # cancels them), PyTorch's rounding of zero
    np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12)


def test_normalised_layers_intercepts_have_zero_gradient():
    rng = np.random.RandomState(0)
    spec = make_spec([3, 5, 4, 2], [True, False])
    X, Y = problem(rng, 10, [3, 5, 4, 2], "squared_error")
    _, grad = engine(spec, random_params(spec, rng), X, Y, n_parts=2)
    b0 = spec.groups("intercept")[0]
    b1 = spec.groups("intercept")[1]
    assert np.all(grad[b0.start:b0.stop] == 0)
    assert np.all(grad[b1.start:b1.stop] != 0)


@pytest.mark.parametrize("n_parts", [1, 2, 4])
def test_running_statistics_equal_pytorch_after_a_batch(n_parts):
    rng = np.random.RandomState(3)
    units = [5, 7, 4, 2]
    spec = make_spec(units, [True, True], "relu")
    params = random_params(spec, rng)
    X, Y = problem(rng, 17, units, "squared_error")
    running = np.concatenate([np.full(spec.n_stats, 0.3), np.full(spec.n_stats, 2.0)])
    engine(spec, params, X, Y, n_parts=n_parts, running=running, momentum=0.25)
    layers = torch_model(spec, params, momentum=0.25)
    norms = [m for m in layers if isinstance(m, torch.nn.BatchNorm1d)]
    with torch.no_grad():
        for bn in norms:
            bn.running_mean.fill_(0.3)
            bn.running_var.fill_(2.0)
        torch_forward(layers, X)
    expected_mean = np.concatenate([bn.running_mean.numpy() for bn in norms])
    expected_var = np.concatenate([bn.running_var.numpy() for bn in norms])
    np.testing.assert_allclose(running[:spec.n_stats], expected_mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(running[spec.n_stats:], expected_var, rtol=1e-12)


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
               running=None, lr=0.1, key=(0, 0)):
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
        settings = StepSettings(Rule.SGD, lr, 0.0, momentum=0.0, t=t)
        loss_sum, n_batches, finite, _ = epochs.run(settings)
        t = settings.t
        assert finite
    return params, running, loss_sum


@pytest.mark.parametrize("n_parts", [1, 2, 3])
def test_sgd_epoch_equals_pytorch_training_loop(n_parts):
    rng = np.random.RandomState(11)
    units = [5, 8, 6, 3]
    # log_loss: the stochastic solvers' squared-error gradient is scikit-learn's,
    # n_outputs times its loss's (#8349)
    spec = make_spec(units, [True, True], "tanh", "log_loss", momentum=0.1)
    params = random_params(spec, rng)
    X, Y = problem(rng, 50, units, "log_loss")
    layers = torch_model(spec, params, momentum=0.1)
    ours, running, _ = run_epochs(spec, params.copy(), X, Y, 16, n_parts, 2, n_epochs=2)

    torch_params = [q for m in layers if isinstance(m, torch.nn.Module)
                    for q in m.parameters()]
    optimizer = torch.optim.SGD(torch_params, lr=0.1)
    for _ in range(2):
        for start in range(0, 50, 16):
            optimizer.zero_grad()
            rows = slice(start, start + 16)
            loss = torch_loss(spec, layers, X[rows], Y[rows], None, 0.0)
            loss.backward()
            # the engine's intercepts of normalised layers do not move (their
            # gradient is zero); PyTorch's move by its rounding of zero
            optimizer.step()
    expected = np.empty(spec.n_params)
    for group, values in zip(spec.parameter_groups, _torch_groups(spec, layers)):
        expected[group.start:group.stop] = values
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)
    norms = [m for m in layers if isinstance(m, torch.nn.BatchNorm1d)]
    np.testing.assert_allclose(
        running, np.concatenate([bn.running_mean.detach().numpy() for bn in norms]
                                + [bn.running_var.detach().numpy() for bn in norms]),
        rtol=1e-10, atol=1e-12)


def _torch_groups(spec, layers):
    linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
    norms = iter([m for m in layers if isinstance(m, torch.nn.BatchNorm1d)])
    out = []
    for group in spec.parameter_groups:
        if group.kind == "coef":
            out.append(linears[group.layer].weight.detach().T.numpy().ravel())
        elif group.kind == "intercept":
            out.append(linears[group.layer].bias.detach().numpy())
        elif group.kind == "gamma":
            bn = next(norms)
            out.append(bn.weight.detach().numpy())
        else:
            out.append(bn.bias.detach().numpy())
    return out


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
