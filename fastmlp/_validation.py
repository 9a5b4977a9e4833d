"""Validation data of a stochastic fit: rows held out by early_stopping's
split, or given to fit as X_val, y_val (and sample_weight_val).

Each epoch they give a score (scikit-learn's, with early_stopping) and a
loss computed by the engine: one forward pass without backward, in chunks
over threads as lbfgs's loss (fastmlp/_engine/_full_batch.pyx,
forward_loss).

The validation loss is the sample-weighted mean loss over the validation
rows plus the L2 term loss_curve_ carries, 0.5 * alpha * ||W||^2 divided by
a minibatch's weight sum (scikit-learn's scaling: its batch losses carry
it; the training rows' weight sum over the number of minibatches here). With
the same term on both, loss_curve_ and validation_loss_curve_ differ by the
data terms alone: the gap between them is the generalisation gap.
"""
import math

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _num_features, check_array, validate_data

from ._checks import check_numeric_kind
from ._consistency import check_sample_weight_cast, describe
from ._engine._full_batch import forward_loss
from ._engine_input import engine_input
from ._threads import omp_threads, row_parts


class ValidationSet:
    """Validation rows and what the engine needs to compute their loss.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_val, n_features), the model's dtype
    y : ndarray
        The targets as scoring takes them (labels for a classifier).
    sample_weight : ndarray of shape (n_val,) or None
    Y : ndarray of shape (n_val, n_columns)
        The targets as the engine trains on them.
    given : bool
        The rows were given to fit (X_val), not split off X.
    """

    def __init__(self, X, y, sample_weight, Y, given=False):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight
        self.Y = Y
        self.given = given
        self.n_threads = 1

    def prepare(self, network, params, chunk_rows, may_thread, alpha, l2_divisor,
                inference=None):
        """Allocate the loss pass's buffers, once per fit: chunks of
        chunk_rows rows, cut into row parts as lbfgs cuts its chunks, run on
        threads when `may_thread` (BLAS is then held to one thread).

        With batch norm, `inference` returns the network predictions run
        and its parameters (the running statistics folded in, dropout off)
        at the current weights: the loss is that network's, as the score is
        predict's; its L2 term stays of the model's weights in `params`."""
        dtype = params.dtype
        self._params, self._inference = params, inference
        if inference is not None:
            network = inference()[0]
        self._network = network
        self._X = engine_input(self.X, dtype)
        # the multiclass losses' class indices stay intp (exact in float32);
        # any other target is cast, as fit casts it (a regressor's integer y)
        class_indices = self.Y.dtype == np.intp and network.spec.target_type == "multiclass"
        self._Y = (np.ascontiguousarray(self.Y) if class_indices
                   else np.ascontiguousarray(self.Y, dtype=dtype))
        self._sw = (np.empty(0, dtype=dtype) if self.sample_weight is None
                    else np.ascontiguousarray(self.sample_weight, dtype=dtype))
        self._chunk_rows = chunk_rows
        self._n_parts = row_parts(network.spec, chunk_rows)
        self.n_threads = min(self._n_parts, omp_threads()) if may_thread else 1
        part_rows = -(-chunk_rows // self._n_parts)
        self._work = np.empty(self._n_parts * network.work_size(part_rows, False), dtype=dtype)
        self._alpha, self._l2_divisor = alpha, l2_divisor

    def loss(self):
        """The validation loss of the current parameters (see the module's
        docstring)."""
        network, params = self._network, self._params
        if self._inference is not None:
            network, params = self._inference()
        return forward_loss(network, params, self._work, *self._X, self._Y,
                            self._sw, self._chunk_rows, self._n_parts, self.n_threads,
                            self._alpha, self._l2_divisor, self._params)


def check_validation_data(estimator, X_val, y_val, sample_weight_val, dtype, y):
    """The validation data given to fit, checked against the training data
    (y, as _validate_input returned it) and what validating it recorded
    (n_features_in_, classes_), or None when none was given.

    Raises
    ------
    ValueError, TypeError
        Naming the argument that is wrong and what to do.
    """
    if X_val is None and y_val is None:
        if sample_weight_val is not None:
            raise ValueError(
                "sample_weight_val is given without X_val and y_val: it weights the "
                "rows of X_val. Pass X_val and y_val too, or drop sample_weight_val."
            )
        return None
    if y_val is None:
        raise ValueError(
            "X_val is given without y_val: pass the validation targets as y_val too."
        )
    if X_val is None:
        raise ValueError(
            "y_val is given without X_val: pass the validation inputs as X_val too."
        )
    if estimator.solver == "lbfgs":
        raise ValueError(
            "X_val and y_val are for the stochastic solvers: each epoch of 'sgd' or "
            "'adam' is scored on them (early_stopping) and their loss recorded "
            "(validation_loss_curve_). solver='lbfgs' runs no epochs and, as in "
            "scikit-learn, no early stopping. Use solver='adam' or 'sgd', or score "
            "the lbfgs model on X_val after fit."
        )
    check_numeric_kind(X_val, "X_val")
    n_features = estimator.n_features_in_
    try:
        given = _num_features(X_val)
    except TypeError:
        given = None  # validation below says what is wrong with it
    if given is not None and given != n_features:
        raise ValueError(
            f"X_val has {given} features (columns), but X has {n_features}: the "
            "validation rows must have the training data's columns, in its order."
        )
    # feature names as fit recorded them; then the array, named in errors
    validate_data(estimator, X_val, reset=False, skip_check_array=True)
    X_val = check_array(X_val, accept_sparse=["csr", "csc"], dtype=dtype, input_name="X_val")
    if sp.issparse(X_val):
        X_val = X_val.tocsr()
    n_val = X_val.shape[0]
    y_val, Y_val = estimator._validation_targets(
        y_val, dtype, 1 if y.ndim == 1 else y.shape[1])
    if y_val.shape[0] != n_val:
        raise ValueError(
            f"X_val has {n_val} rows but y_val has {y_val.shape[0]}: give one target "
            "per validation row."
        )
    if sample_weight_val is not None:
        sample_weight_val = _check_weights(sample_weight_val, n_val, dtype)
    return ValidationSet(X_val, y_val, sample_weight_val, Y_val, given=True)


def _check_weights(sample_weight_val, n_val, dtype):
    check_numeric_kind(sample_weight_val, "sample_weight_val")
    weights = np.asarray(sample_weight_val)
    if weights.ndim == 0:
        weights = np.full(n_val, weights)
    if weights.dtype.kind not in "biuf":
        raise TypeError(
            f"sample_weight_val is {describe(sample_weight_val)}; it needs real numbers, "
            "one per row of X_val."
        )
    weights = weights.astype(np.float64)
    if weights.shape != (n_val,):
        raise ValueError(
            f"sample_weight_val has shape {weights.shape}, but X_val has {n_val} rows: "
            "give one weight per validation row."
        )
    if not np.isfinite(weights).all():
        raise ValueError("sample_weight_val contains NaN or infinity.")
    if (weights < 0).any():
        raise ValueError(
            f"sample_weight_val has negative values (down to {weights.min():.6g}); "
            "weights are >= 0."
        )
    if not weights.any():
        raise ValueError(
            "sample_weight_val is zero for every validation row, so the validation "
            "score and loss are undefined. Give some rows a positive weight."
        )
    check_sample_weight_cast(weights, dtype)
    return weights


def l2_divisor(sample_weight, order, batch_size):
    """What the validation loss divides its L2 term by: the training rows'
    weight sum over the number of minibatches (a minibatch's mean weight
    sum; its size without sample weights), as scikit-learn divides each
    batch loss's L2 term by the batch's weight sum."""
    n_batches = math.ceil(order.shape[0] / batch_size)
    total = order.shape[0] if sample_weight is None else float(
        np.sum(sample_weight[order], dtype=np.float64))
    return total / n_batches
