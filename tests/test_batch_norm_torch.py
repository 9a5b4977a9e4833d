"""Batch normalisation against PyTorch's BatchNorm1d in training mode
(issue 13): the same weights and rows give the same loss and gradient, the
same running statistics, and the same parameters after SGD epochs."""
import numpy as np
import pytest

from engine_specs import BN_LOSSES as LOSSES, engine, make_spec, problem, random_params
from test_batch_norm import run_epochs

torch = pytest.importorskip("torch")

TORCH_ACTIVATIONS = {"identity": lambda z: z, "logistic": torch.sigmoid,
                     "tanh": torch.tanh, "relu": torch.relu}


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
