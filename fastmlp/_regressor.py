"""MLPRegressor: squared error, Poisson deviance, absolute error, Huber or
quantile loss on real targets."""
from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._base import BaseMultilayerPerceptron
from ._callbacks import fit_callbacks
from ._checks import check_numeric_kind, check_sparse_structure, validate_fit_data
from ._consistency import check_numeric_target, check_poisson_target
from ._docs import (
    ATTRIBUTES,
    NOTES,
    OPTIMIZER_PARAMETERS,
    OWN_PARAMETERS,
    PARAMETERS,
    loss_doc,
    loss_parameters_doc,
)
from ._registry import LOSS_PARAMETERS, REGRESSOR_LOSSES
from ._typing import MatrixLike


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    __doc__ = f"""Multi-layer Perceptron regressor.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    the same parameters, attributes and numbers, with training and inference
    in a compiled engine. It optimizes the squared error (or the Poisson
    deviance; beyond scikit-learn, the absolute error, Huber's loss or the
    quantile loss) using LBFGS or stochastic gradient descent.

    Parameters
    ----------
{loss_doc(REGRESSOR_LOSSES, "squared_error")}{PARAMETERS}{OWN_PARAMETERS}
{loss_parameters_doc(REGRESSOR_LOSSES)}{OPTIMIZER_PARAMETERS}
    Attributes
    ----------{ATTRIBUTES}
    See Also
    --------
    MLPClassifier : Multi-layer Perceptron classifier.
    sklearn.neural_network.MLPRegressor : The scikit-learn original.

{NOTES}
    Examples
    --------
    >>> from fastmlp import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_regression(n_samples=200, n_features=20, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=1)
    >>> regr = MLPRegressor(random_state=1, max_iter=2000, tol=0.1)
    >>> regr = regr.fit(X_train, y_train)
    >>> regr.predict(X_test[:2]).shape
    (2,)
    >>> regr.score(X_test, y_test) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions(set(REGRESSOR_LOSSES))],
        **{name: [LOSS_PARAMETERS[name].constraint]
           for info in REGRESSOR_LOSSES.values() for name in info.params},
    }
    _losses = REGRESSOR_LOSSES

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        weight_init="sklearn",
        init_scale=0.01,
        early_stopping_metric="score",
        negative_slope=0.01,
        elu_alpha=1.0,
        softplus_beta=1.0,
        softplus_threshold=20.0,
        batch_norm=False,
        batch_norm_momentum=0.1,
        dropout=0.0,
        delta=1.0,
        quantile=0.5,
        weight_decay=None,
        momentum_decay=4e-3,
        rho=0.99,
        max_grad_norm=None,
        lr_schedule_unit="epoch",
        lr_step_size=None,
        lr_gamma=None,
        lr_t_max=None,
        lr_eta_min=0.0,
        warmup_iters=0,
        warmup_start_factor=1 / 3,
        plateau_factor=0.1,
        plateau_patience=10,
        plateau_threshold=1e-4,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            negative_slope=negative_slope,
            elu_alpha=elu_alpha,
            softplus_beta=softplus_beta,
            softplus_threshold=softplus_threshold,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            weight_init=weight_init,
            init_scale=init_scale,
            early_stopping_metric=early_stopping_metric,
            batch_norm=batch_norm,
            batch_norm_momentum=batch_norm_momentum,
            dropout=dropout,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            rho=rho,
            max_grad_norm=max_grad_norm,
            lr_schedule_unit=lr_schedule_unit,
            lr_step_size=lr_step_size,
            lr_gamma=lr_gamma,
            lr_t_max=lr_t_max,
            lr_eta_min=lr_eta_min,
            warmup_iters=warmup_iters,
            warmup_start_factor=warmup_start_factor,
            plateau_factor=plateau_factor,
            plateau_patience=plateau_patience,
            plateau_threshold=plateau_threshold,
        )
        self.delta = delta
        self.quantile = quantile

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        if "coefs_" not in self.__dict__:
            check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        """Private predict method with optional input validation"""
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, X, y, sample_weight=None):
        return super()._score_with_function(
            X, y, sample_weight=sample_weight, score_function=r2_score
        )

    def score(self, X: MatrixLike, y: ArrayLike,
              sample_weight: ArrayLike | None = None) -> float:
        # the metric converts a sparse y: check its structure first
        check_sparse_structure(y, "y")
        return super().score(X, y, sample_weight=sample_weight)

    score.__doc__ = RegressorMixin.score.__doc__

    def _validate_input(self, X, y, incremental, reset):
        check_numeric_target(y)
        X, y = validate_fit_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson":
            check_poisson_target(y)
        return X, y

    def _validation_targets(self, y_val, dtype, n_outputs, name="y_val", source="y"):
        """y_val checked against the n_outputs outputs of the fit's targets
        (`source`): as the score takes it, and as the engine does (one
        column per output); errors name it `name`."""
        check_numeric_kind(y_val, name)
        y_val = check_array(y_val, ensure_2d=False, dtype=dtype, input_name=name)
        if y_val.ndim == 2 and y_val.shape[1] == 1 and n_outputs == 1:
            y_val = y_val.ravel()
        if (n_outputs == 1 and y_val.ndim != 1) or (
                n_outputs > 1 and (y_val.ndim != 2 or y_val.shape[1] != n_outputs)):
            raise ValueError(
                f"{name} has shape {y_val.shape}, but {source} has {n_outputs} output"
                f"{'s' if n_outputs > 1 else ''} per row: pass {name} of the same kind."
            )
        if self.loss == "poisson" and y_val.size and y_val.min() < 0:
            raise ValueError(
                f"{name} holds negative values (down to {y_val.min():.6g}), but "
                f"loss='poisson' models non-negative targets: pass targets as {source} "
                "was given."
            )
        return y_val, y_val.reshape(-1, n_outputs)

    # scikit-learn bug: its lambda returns the bound method (always truthy)
    # instead of calling it, so MLPRegressor(solver='lbfgs') had partial_fit.
    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: MatrixLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> Self:
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._check_changed_params()
        callbacks = fit_callbacks(self, 1)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                         callbacks=callbacks)
