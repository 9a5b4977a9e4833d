"""Batch normalisation and dropout as the estimators see them (issue 13).

- ``batch_norm`` and ``dropout`` take one value for every hidden layer or a
  list of one per hidden layer; `layer_options` checks them.
- gamma and beta are parameter groups of the flat buffer (after the
  intercepts, see `NetworkSpec.parameter_groups`); the running means and
  variances live in a float64 state buffer. ``batch_norm_`` exposes both as
  views, one dict per hidden layer (None where the layer is not normalised).
- Predictions fold the running statistics into the weights and intercepts
  (`fold`), so a prediction is one product per layer, as without batch norm.
"""
from numbers import Real

import numpy as np

# PyTorch's "Expected more than 1 value per channel when training": a
# one-row minibatch has no variance to normalise by
_ONE_ROW = (
    "batch_norm needs minibatches of at least 2 rows (a single row has no variance to "
    "normalise by; PyTorch's BatchNorm1d raises 'Expected more than 1 value per "
    "channel when training' and so does fastmlp). "
)


def layer_options(value, n_hidden, name, kind):
    """One value per hidden layer from a scalar or a list of n_hidden.

    Parameters
    ----------
    value : bool, float, or list of them
    n_hidden : int
    name : str
        The parameter, for the messages.
    kind : {"bool", "rate"}

    Returns
    -------
    list
        bools, or rates as floats in [0, 1).
    """
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n_hidden
    if len(values) != n_hidden:
        raise ValueError(
            f"{name} has {len(values)} values for {n_hidden} hidden layers: give one "
            f"value for every hidden layer, or one per hidden layer (hidden_layer_sizes "
            f"has {n_hidden}).")
    checked = []
    for v in values:
        if kind == "bool":
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool or a list of bools (one per "
                                f"hidden layer), got {v!r}.")
            checked.append(bool(v))
        else:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, Real) \
                    or not 0 <= v < 1:
                raise ValueError(f"{name} must be a rate in [0, 1) or a list of rates (one "
                                 f"per hidden layer), got {v!r}.")
            checked.append(float(v))
    return checked


def check_minibatch_rows(n_rows, batch_rows):
    """Refuse batch norm over a minibatch of one row: the batch of batch_rows
    rows, or the short last one of n_rows."""
    if batch_rows < 2:
        raise ValueError(_ONE_ROW + f"batch_size gives minibatches of {batch_rows} row; "
                         "use batch_size >= 2.")
    if n_rows % batch_rows == 1:
        raise ValueError(_ONE_ROW + f"{n_rows} training rows in minibatches of "
                         f"{batch_rows} leave a last minibatch of 1 row; choose another "
                         "batch_size, or drop a row.")


def initial_state(spec):
    """Running means 0 and variances 1 (PyTorch's), float64."""
    return np.concatenate([np.zeros(spec.n_stats), np.ones(spec.n_stats)])


def initial_gamma_beta(flat, spec):
    """gamma 1, beta 0 (PyTorch's), in place."""
    for group in spec.parameter_groups:
        if group.kind == "gamma":
            flat[group.start:group.stop] = 1
        elif group.kind == "beta":
            flat[group.start:group.stop] = 0


def batch_norm_views(flat, state, spec):
    """Per hidden layer, None or the dict of its gamma, beta (views into the
    flat parameters) and running_mean, running_var (views into state)."""
    views = [None] * len(spec.hidden)
    gammas = {g.layer: g for g in spec.groups("gamma")}
    betas = {g.layer: g for g in spec.groups("beta")}
    n_stats = spec.n_stats
    for layer, start in enumerate(spec.stat_offsets()):
        if start < 0:
            continue
        stop = start + spec.hidden[layer].units
        views[layer] = {
            "gamma": flat[gammas[layer].start:gammas[layer].stop],
            "beta": flat[betas[layer].start:betas[layer].stop],
            "running_mean": state[start:stop],
            "running_var": state[n_stats + start:n_stats + stop],
        }
    return views


def pack_batch_norm(batch_norm_, flat, spec):
    """A new state buffer and views after a rebuild of the flat buffer: the
    values of a model's batch_norm_ (unpickled, or arrays assigned by a
    user) copied into `flat` (gamma, beta) and the state."""
    state = initial_state(spec)
    views = batch_norm_views(flat, state, spec)
    if not isinstance(batch_norm_, list) or len(batch_norm_) != len(views):
        raise ValueError("batch_norm_ must be the list fit set, one entry per hidden layer.")
    for layer, (old, new) in enumerate(zip(batch_norm_, views)):
        if new is None:
            continue
        if not isinstance(old, dict):
            raise ValueError(f"batch_norm_[{layer}] must be the dict fit set (gamma, beta, "
                             "running_mean, running_var).")
        for key, view in new.items():
            value = np.asarray(old.get(key), dtype=np.float64)
            if value.shape != view.shape or not np.isfinite(value).all():
                raise ValueError(f"batch_norm_[{layer}][{key!r}] must be {view.shape[0]} "
                                 "finite values.")
            view[...] = value
    if (state[spec.n_stats:] < 0).any():
        raise ValueError("batch_norm_'s running_var must not be negative.")
    return state, views


def fold(spec, flat, state, inference_spec):
    """The parameters of `inference_spec` (spec without batch norm): each
    normalised layer's running statistics and gamma, beta folded into its
    weights and intercept,

        W' = W s,  b' = (b - running_mean) s + beta,  s = gamma / sqrt(running_var + eps),

    so that A @ W' + b' is what training's normalisation gives with the
    running statistics."""
    out = np.empty(inference_spec.n_params, dtype=flat.dtype)
    groups = {(g.kind, g.layer): g for g in spec.parameter_groups}
    for g in inference_spec.parameter_groups:
        src = groups[g.kind, g.layer]
        out[g.start:g.stop] = flat[src.start:src.stop]
    n_stats = spec.n_stats
    for layer, start in enumerate(spec.stat_offsets()):
        if start < 0:
            continue
        n = spec.hidden[layer].units
        mean = state[start:start + n]
        var = state[n_stats + start:n_stats + start + n]
        gamma = flat[groups["gamma", layer].start:groups["gamma", layer].stop].astype(np.float64)
        beta = flat[groups["beta", layer].start:groups["beta", layer].stop].astype(np.float64)
        s = gamma / np.sqrt(var + spec.batch_norm_eps)
        coef = inference_spec.groups("coef")[layer]
        intercept = inference_spec.groups("intercept")[layer]
        W = out[coef.start:coef.stop].reshape(coef.shape)
        W[...] = W * s
        b = out[intercept.start:intercept.stop]
        b[...] = (b - mean) * s + beta
    return out
