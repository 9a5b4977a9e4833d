"""The flat parameter buffer and the per-layer views users see.

All coefficients and intercepts live in one contiguous array, in the order
scikit-learn packs them for lbfgs (every coefficient matrix, then every
intercept vector). `coefs_` and `intercepts_` are lists of views into it, so
an in-place edit by a user is seen by the engine. If a user replaces the
arrays instead, the buffer is rebuilt from them before the next use.
"""
import numpy as np


def parameter_views(flat, network):
    """Per-layer coefficient and intercept views into `flat`.

    Parameters
    ----------
    flat : ndarray of shape (n_params,)
        The flat parameter (or gradient) buffer.
    network : fastmlp._engine._network.Network
        Where each layer lives in the buffer.

    Returns
    -------
    coefs : list of ndarray of shape (fan_in, fan_out)
    intercepts : list of ndarray of shape (fan_out,)
    """
    coefs = [flat[start:stop].reshape(shape) for start, stop, shape in network.coef_slices()]
    intercepts = [flat[start:stop] for start, stop in network.intercept_slices()]
    return coefs, intercepts


def init_parameters(network, activation, dtype, random_state):
    """Glorot-uniform initialisation, drawn exactly as scikit-learn draws it.

    Per layer, the weights then the intercepts come from
    ``uniform(-bound, bound)`` in float64 with
    ``bound = sqrt(factor / (fan_in + fan_out))``, factor 2 for the logistic
    activation and 6 otherwise, then cast to `dtype`; the same random_state
    therefore gives the same initial network as scikit-learn.

    Returns
    -------
    flat : ndarray of shape (n_params,)
    coefs, intercepts : lists of views into `flat`
    """
    flat = np.empty(network.n_params, dtype=dtype)
    coefs, intercepts = parameter_views(flat, network)
    factor = 2.0 if activation == "logistic" else 6.0
    for coef, intercept in zip(coefs, intercepts):
        fan_in, fan_out = coef.shape
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef[...] = random_state.uniform(-bound, bound, (fan_in, fan_out))
        intercept[...] = random_state.uniform(-bound, bound, fan_out)
    return flat, coefs, intercepts


def pack_parameters(coefs, intercepts, network, dtype):
    """Copy per-layer arrays into a new flat buffer, checking their shapes.

    Returns
    -------
    flat : ndarray of shape (n_params,)
    coefs, intercepts : lists of views into `flat`
    """
    expected_coefs = [shape for _, _, shape in network.coef_slices()]
    expected_intercepts = [(stop - start,) for start, stop in network.intercept_slices()]
    got_coefs = [np.shape(c) for c in coefs]
    got_intercepts = [np.shape(b) for b in intercepts]
    if got_coefs != expected_coefs or got_intercepts != expected_intercepts:
        raise ValueError(
            "coefs_ and intercepts_ do not match the network: expected coefficient "
            f"shapes {expected_coefs} and intercept shapes {expected_intercepts}, got "
            f"{got_coefs} and {got_intercepts}. With warm_start or partial_fit, "
            "hidden_layer_sizes and the number of features and outputs must not change."
        )
    flat = np.empty(network.n_params, dtype=dtype)
    views = parameter_views(flat, network)
    for view, array in zip(views[0] + views[1], list(coefs) + list(intercepts)):
        view[...] = array
    return (flat,) + views
