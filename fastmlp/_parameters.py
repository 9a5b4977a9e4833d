"""The flat parameter buffer and the per-layer views users see.

All coefficients and intercepts live in one contiguous array, laid out by
the network's spec (`NetworkSpec.parameter_groups`), so `coefs_` and
`intercepts_` are lists of views into it and an in-place edit by a user is
seen by the engine. If a user replaces the arrays instead, the buffer is
rebuilt from them before the next use.
"""
import numpy as np

from ._registry import ACTIVATIONS, WEIGHT_INITS


def parameter_views(flat, spec):
    """Per-layer coefficient and intercept views into `flat`.

    Parameters
    ----------
    flat : ndarray of shape (n_params,)
        The flat parameter (or gradient) buffer.
    spec : fastmlp._spec.NetworkSpec

    Returns
    -------
    coefs : list of ndarray of shape (fan_in, fan_out)
    intercepts : list of ndarray of shape (fan_out,)
    """
    coefs = [flat[g.start:g.stop].reshape(g.shape) for g in spec.groups("coef")]
    intercepts = [flat[g.start:g.stop] for g in spec.groups("intercept")]
    return coefs, intercepts


def init_parameters(spec, activations, weight_init, init_scale, random_state):
    """Draw a network's initial parameters from `random_state`.

    Per layer, the coefficients then the intercepts are drawn in float64 by
    the named scheme (`WEIGHT_INITS`) and cast to the spec's dtype; with
    "sklearn" the same random_state gives scikit-learn's initial network.

    Parameters
    ----------
    spec : NetworkSpec
    activations : list of str
        The activation whose properties each weight layer is drawn with
        (scikit-learn draws every layer, the output layer too, with the
        hidden activation's factor).
    weight_init : str
        A name in `WEIGHT_INITS`.
    init_scale : float
        The scale of the "normal" scheme.
    random_state : RandomState

    Returns
    -------
    flat : ndarray of shape (n_params,)
    coefs, intercepts : lists of views into `flat`
    """
    flat = np.empty(spec.n_params, dtype=spec.dtype)
    coefs, intercepts = parameter_views(flat, spec)
    draw = WEIGHT_INITS[weight_init].draw
    for activation, coef, intercept in zip(activations, coefs, intercepts):
        fan_in, fan_out = coef.shape
        coef[...], intercept[...] = draw(random_state, fan_in, fan_out,
                                         ACTIVATIONS[activation], init_scale)
    return flat, coefs, intercepts


def pack_parameters(coefs, intercepts, spec, dtype, why=""):
    """Copy per-layer arrays into a new flat buffer, checking their shapes
    and that their (finite) values survive the cast to `dtype`.

    Parameters
    ----------
    why : str
        Why the model has this dtype, for the error message.

    Returns
    -------
    flat : ndarray of shape (n_params,)
    coefs, intercepts : lists of views into `flat`
    """
    expected_coefs = [g.shape for g in spec.groups("coef")]
    expected_intercepts = [g.shape for g in spec.groups("intercept")]
    got_coefs = [np.shape(c) for c in coefs]
    got_intercepts = [np.shape(b) for b in intercepts]
    if got_coefs != expected_coefs or got_intercepts != expected_intercepts:
        raise ValueError(
            "coefs_ and intercepts_ do not match the network: expected coefficient "
            f"shapes {expected_coefs} and intercept shapes {expected_intercepts}, got "
            f"{got_coefs} and {got_intercepts}. With warm_start or partial_fit, "
            "hidden_layer_sizes and the number of features and outputs must not change."
        )
    flat = np.empty(spec.n_params, dtype=dtype)
    views = parameter_views(flat, spec)
    names = [f"coefs_[{i}]" for i in range(len(coefs))] + [
        f"intercepts_[{i}]" for i in range(len(intercepts))]
    for name, view, array in zip(names, views[0] + views[1], list(coefs) + list(intercepts)):
        with np.errstate(over="ignore"):
            view[...] = array
        if not np.isfinite(view).all():
            largest = float(np.abs(np.asarray(array, dtype=np.float64)).max())
            raise ValueError(
                f"{name} holds values up to {largest:.3g}, beyond the range of "
                f"{np.dtype(dtype).name} ({np.finfo(dtype).max:.3g}){why}. Scale the "
                "weights down, or give the model float64 weights and data."
            )
    return (flat,) + views
