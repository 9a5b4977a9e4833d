"""Inspecting a fitted network, for people who study or debug one (issue 11):
the training objective and its gradient for given data, and every layer's
pre-activations and activations.

Both run in the engine, as the fit and predictions do: the objective is the
full-batch pass lbfgs minimises (`_engine/_full_batch.pyx`, loss_gradient),
the layers the products and kernels of a prediction (`_engine/_inference.pyx`,
forward_layers). Nothing here writes to the model.
"""
from typing import NamedTuple

import numpy as np
from sklearn.utils.validation import _check_sample_weight, check_consistent_length, \
    validate_data

from ._checks import check_numeric_kind, check_sparse_structure
from ._consistency import check_sample_weight_cast
from ._engine._inference import forward_layers
from ._engine_input import engine_input
from ._parameters import parameter_views
from ._threads import single_threaded_blas


class ForwardPass(NamedTuple):
    """Every layer of a forward pass (MLPClassifier.forward_pass,
    MLPRegressor.forward_pass).

    Attributes
    ----------
    pre_activations : list of ndarray
        Z_1, ..., Z_L: layer l's ``A_{l-1} @ coefs_[l-1] + intercepts_[l-1]``,
        of shape (n_samples, units of layer l); Z_L is the output layer's.
    activations : list of ndarray or sparse matrix
        A_0, ..., A_L: A_0 is X as validated (in the model's dtype, sparse X
        as CSR or CSC), A_l = f_l(Z_l) for the hidden layers and A_L the
        output layer's activation (what predict_proba or predict return,
        before any reshaping).
    """

    pre_activations: list
    activations: list


def validated_input(estimator, X, dtype):
    """X checked as predict checks it (width, NaN, sparse structure), in the
    model's dtype."""
    check_sparse_structure(X)
    check_numeric_kind(X)
    return validate_data(estimator, X, accept_sparse=["csr", "csc"], reset=False,
                         dtype=dtype)


def forward_pass(estimator, X):
    """The body of forward_pass (see the estimators' docstring)."""
    # inference mode: batch norm folded with its running statistics (a
    # normalised layer's Z is then gamma * z_hat + beta), dropout off
    network, params = estimator._inference_engine()
    dtype = params.dtype
    X = validated_input(estimator, X, dtype)
    spec = network.spec
    n_samples = X.shape[0]
    widths = spec.layer_units[1:]
    Z = np.empty(n_samples * sum(widths), dtype=dtype)
    A = np.empty_like(Z)
    from ._base import _chunk_rows  # here: _base imports this module

    # chunks bound BLAS's int dimensions, as a prediction's do
    chunk_rows = _chunk_rows(n_samples, spec)
    forward_layers(network, params, *engine_input(X, dtype), Z, A, chunk_rows)
    bounds = np.cumsum([0] + [n_samples * width for width in widths])
    pre = [Z[lo:hi].reshape(n_samples, width)
           for lo, hi, width in zip(bounds[:-1], bounds[1:], widths)]
    post = [A[lo:hi].reshape(n_samples, width)
            for lo, hi, width in zip(bounds[:-1], bounds[1:], widths)]
    return ForwardPass(pre, [X] + post)


def loss_gradient(estimator, X, y, sample_weight):
    """The body of loss_gradient (see the estimators' docstring)."""
    # inference mode: batch norm folded with its running statistics (a
    # normalised layer's Z is then gamma * z_hat + beta), dropout off
    network, params = estimator._inference_engine()
    dtype = params.dtype
    X = validated_input(estimator, X, dtype)
    check_sparse_structure(y, "y")
    _, Y = estimator._validation_targets(
        y, dtype, estimator.n_outputs_, name="y", source="the y the model was fitted on")
    check_consistent_length(X, Y)
    if sample_weight is not None:
        check_numeric_kind(sample_weight, "sample_weight")
        sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
    # class_weight enters the objective as fit puts it there
    sample_weight = estimator._with_class_weight(Y, sample_weight, False)
    if sample_weight is not None:
        check_sample_weight_cast(sample_weight, dtype)
        sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
    # multiclass class indices (softmax and the multiclass hinges) stay intp
    # (exact in float32)
    if Y.dtype != np.intp:
        Y = np.ascontiguousarray(Y, dtype=dtype)
    objective, grads, n_threads = estimator._full_batch_objective(
        network, params, X, Y, sample_weight)
    with single_threaded_blas(n_threads > 1):
        loss = objective()
    coefs, intercepts = parameter_views(grads.copy(), network.spec)
    return float(loss), coefs, intercepts
