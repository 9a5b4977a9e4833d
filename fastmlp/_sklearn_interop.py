"""Fitted models to and from scikit-learn's MLP (issue 14):
`fastmlp.from_sklearn(model)` and ``model.to_sklearn()``.

Both directions carry the fitted network (coefs_, intercepts_ and the
attributes describing it: classes_ and the label encoder, n_features_in_,
feature_names_in_, out_activation_), the training records (n_iter_, t_,
loss_, loss_curve_, best_loss_, validation_scores_,
best_validation_score_ and the no-improvement count, which a warm start
goes on from), and the stochastic solver's state (scikit-learn's
``_optimizer``: sgd's velocities and current learning rate, adam's
moments and step count), so that partial_fit goes on from where the
other library left off.

Not carried: scikit-learn re-creates its random stream from
``random_state`` at every fit and partial_fit call, fastmlp keeps one
stream per model (a documented fix); a converted model starts from
``random_state`` as scikit-learn's next call would, so one partial_fit
after a conversion shuffles as the other library would, and later ones
follow each library's own rule. fastmlp's step count for sgd (which
scikit-learn does not keep) starts at 0; nothing scikit-learn can
represent reads it. fastmlp-only records (validation_loss_curve_) are
dropped going to scikit-learn.

A fastmlp model converts to scikit-learn only when scikit-learn can
represent every setting that shapes it: its activation, loss, solver and
schedule must be among scikit-learn's (read from scikit-learn's own
parameter constraints), and every fastmlp option scikit-learn lacks (batch
norm, dropout, class_weight, a weight initialisation, clipping, warm-up,
...) must be at the default that is scikit-learn's behaviour, or unused by
the settings in force. Otherwise a ValueError names the option.
"""
import copy

import numpy as np
from sklearn import neural_network as sk
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import BaseMultilayerPerceptron
from ._consistency import describe
from ._optimizer_state import OptimizerState
from ._parameters import parameter_views
from ._registry import (
    ACTIVATION_ALIASES,
    ACTIVATION_PARAMS,
    LOSS_PARAMETERS,
    OPTIMIZERS,
    SCHEDULES,
)

# fitted attributes both libraries' estimators hold, with the same meaning
_RECORDS = ("n_iter_", "t_", "loss_", "loss_curve_", "best_loss_", "validation_scores_",
            "best_validation_score_", "_no_improvement_count")
_SCHEDULE_PARAMS = {name for info in SCHEDULES.values() for name in info.params}


def _twins():
    from ._classifier import MLPClassifier
    from ._regressor import MLPRegressor

    return {sk.MLPClassifier: MLPClassifier, sk.MLPRegressor: MLPRegressor}


# -- scikit-learn -> fastmlp ------------------------------------------------------


def from_sklearn(model: sk.MLPClassifier | sk.MLPRegressor) -> BaseMultilayerPerceptron:
    """The fastmlp estimator of a fitted scikit-learn MLP.

    Parameters
    ----------
    model : sklearn.neural_network.MLPClassifier or MLPRegressor
        A fitted model. It is not changed; the result shares no array
        with it.

    Returns
    -------
    fastmlp.MLPClassifier or fastmlp.MLPRegressor
        The same parameters and fitted network: its predictions equal
        scikit-learn's up to the order in which BLAS sums (about 1e-16
        relative in float64), and partial_fit (or a warm start) goes on
        from scikit-learn's optimizer state and training records.

    Raises
    ------
    TypeError
        When `model` is not one of scikit-learn's MLP estimators.
    NotFittedError
        When it is not fitted.

    See Also
    --------
    MLPClassifier.to_sklearn, MLPRegressor.to_sklearn : The other way.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPClassifier
    >>> import fastmlp
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1]
    >>> theirs = MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs",
    ...                        random_state=0).fit(X, y)
    >>> ours = fastmlp.from_sklearn(theirs)
    >>> bool((ours.predict(X) == theirs.predict(X)).all())
    True
    """
    twins = _twins()
    if type(model) not in twins:
        raise TypeError(
            f"from_sklearn takes a fitted sklearn.neural_network.MLPClassifier or "
            f"MLPRegressor, got {describe(model)}.")
    check_is_fitted(model)
    params = copy.deepcopy(model.get_params(deep=False))
    estimator = twins[type(model)](**params)
    state = model.__dict__
    _copy_inputs_and_labels(model, estimator)
    coefs = [np.array(W) for W in model.coefs_]
    intercepts = [np.array(b) for b in model.intercepts_]
    layer_units = [W.shape[0] for W in coefs] + [coefs[-1].shape[1]]
    estimator.n_outputs_ = model.n_outputs_
    estimator.n_layers_ = model.n_layers_
    estimator.out_activation_ = model.out_activation_
    estimator.coefs_, estimator.intercepts_ = coefs, intercepts
    estimator._spec = estimator._network_spec(layer_units, coefs[0].dtype)
    # packs coefs_ and intercepts_ into the engine's buffer, checking that
    # every attribute agrees with them
    _, params_ = estimator._engine()
    estimator._best_params = params_.copy()
    for name in _RECORDS:
        if name in state:
            value = state[name]
            setattr(estimator, name, list(value) if isinstance(value, list) else value)
    if "loss_curve_" in state:
        estimator.validation_loss_curve_ = None
        estimator.best_validation_loss_ = None
    # scikit-learn's next call would start from random_state
    estimator._random_state = check_random_state(estimator.random_state)
    optimizer = state.get("_optimizer")
    if optimizer is not None:
        estimator._optimizer = _optimizer_from_sklearn(optimizer, estimator, params_)
    return estimator


def _optimizer_from_sklearn(optimizer, estimator, params):
    """fastmlp's optimizer state holding scikit-learn's."""
    solver = "adam" if isinstance(optimizer, AdamOptimizer) else "sgd"
    # the settings the optimizer was made with (a set_params since does not
    # change them, in scikit-learn as in fastmlp)
    settings = type(estimator)(**estimator.get_params(deep=False))
    settings.set_params(solver=solver, learning_rate_init=optimizer.learning_rate_init)
    if solver == "sgd":
        settings.set_params(learning_rate=optimizer.lr_schedule, momentum=optimizer.momentum,
                            nesterovs_momentum=optimizer.nesterov, power_t=optimizer.power_t)
    else:
        settings.set_params(beta_1=optimizer.beta_1, beta_2=optimizer.beta_2,
                            epsilon=optimizer.epsilon)
    state = OptimizerState(settings, params.shape[0], params.dtype)
    if solver == "sgd":
        state.moment_1[...] = _flat(optimizer.velocities)
        state.learning_rate = float(optimizer.learning_rate)
    else:
        state.moment_1[...] = _flat(optimizer.ms)
        state.moment_2[...] = _flat(optimizer.vs)
        state.t = int(optimizer.t)
    return state


def _flat(arrays):
    """Per-layer arrays in scikit-learn's order (coefs, then intercepts),
    which is the flat buffer's."""
    return np.concatenate([np.ravel(a) for a in arrays])


# -- fastmlp -> scikit-learn ------------------------------------------------------


def to_sklearn(estimator: BaseMultilayerPerceptron) -> sk.MLPClassifier | sk.MLPRegressor:
    """scikit-learn's estimator of a fitted fastmlp model (see
    `BaseMultilayerPerceptron.to_sklearn`)."""
    check_is_fitted(estimator)
    _, flat = estimator._engine()
    twin = {v: k for k, v in _twins().items()}[type(estimator)]
    params = _sklearn_params(estimator, twin)
    model = twin(**copy.deepcopy(params))
    state = estimator.__dict__
    _copy_inputs_and_labels(estimator, model)
    model.coefs_ = [W.copy() for W in estimator.coefs_]
    model.intercepts_ = [b.copy() for b in estimator.intercepts_]
    model._best_coefs = [W.copy() for W in estimator.coefs_]
    model._best_intercepts = [b.copy() for b in estimator.intercepts_]
    model.n_outputs_ = estimator.n_outputs_
    model.n_layers_ = estimator.n_layers_
    model.out_activation_ = estimator.out_activation_
    for name in _RECORDS:
        if name in state:
            value = state[name]
            setattr(model, name, list(value) if isinstance(value, list) else value)
    model._random_state = check_random_state(model.random_state)
    optimizer = state.get("_optimizer")
    if optimizer is not None:
        model._optimizer = _optimizer_to_sklearn(optimizer, estimator, flat)
    return model


def _sklearn_params(estimator, twin):
    """The estimator's parameters as scikit-learn's `twin` takes them.

    Raises
    ------
    ValueError
        Naming the first setting scikit-learn cannot represent.
    """
    params = estimator.get_params(deep=False)
    constraints = twin._parameter_constraints
    activation = params["activation"]
    names = activation if isinstance(activation, (list, tuple)) else [activation]
    names = {ACTIVATION_ALIASES.get(name, name) for name in names}
    allowed = constraints["activation"][0].options
    if len(names) != 1 or not names <= allowed:
        raise ValueError(_unrepresentable(
            "activation", activation,
            f"scikit-learn's MLP has one activation for every hidden layer, one of "
            f"{_listed(allowed)}"))
    params["activation"] = names.pop()
    for name, words in [("solver", "solvers"), ("learning_rate", "learning-rate schedules")]:
        allowed = constraints[name][0].options
        if params[name] not in allowed:
            raise ValueError(_unrepresentable(
                name, params[name], f"scikit-learn's {words} are {_listed(allowed)}"))
    # the loss the network was fitted with, and the one training goes on with
    allowed = constraints["loss"][0].options if "loss" in constraints else {"log_loss"}
    for loss in (estimator._spec.loss, params["loss"]):
        if loss not in allowed:
            raise ValueError(_unrepresentable(
                "loss", loss, f"scikit-learn's {twin.__name__} trains on {_listed(allowed)}"))
    if estimator._spec.n_stats:
        raise ValueError(_unrepresentable(
            "batch_norm", [layer.batch_norm for layer in estimator._spec.hidden],
            "scikit-learn's MLP has no batch normalisation"))
    defaults = type(estimator)().get_params(deep=False)
    # options that refine another come after it, so the error names the root
    refining = ("init_scale", "warmup_start_factor", "lr_schedule_unit", "batch_norm_momentum")
    for name in sorted(set(params) - set(twin().get_params(deep=False)),
                       key=lambda name: (name in refining, name)):
        if _unused(name, params):
            continue
        value, default = params[name], defaults[name]
        if not _is_default(value, default):
            raise ValueError(_unrepresentable(
                name, value, f"scikit-learn's MLP has no {name}: it behaves as "
                f"{name}={default!r}"))
    sklearn_params = {name: params[name] for name in twin().get_params(deep=False)}
    return sklearn_params


def _is_default(value, default):
    """Whether a value of a per-layer option (a scalar or a list of one per
    hidden layer) is the default for every layer."""
    if isinstance(value, (list, tuple)) and not isinstance(default, (list, tuple)):
        return all(v == default for v in value)
    return value == default if value is not None or default is None else False


def _unused(name, params):
    """Whether fastmlp option `name` is read by none of the settings in
    force (those checked to be scikit-learn's)."""
    if name in ACTIVATION_PARAMS or name in LOSS_PARAMETERS:
        return True  # scikit-learn's activations and losses read none
    if name == "batch_norm_momentum":
        return not any(np.atleast_1d(params["batch_norm"]))
    if name in ("weight_decay", "momentum_decay", "rho"):
        return name not in OPTIMIZERS[params["solver"]].params
    if name in _SCHEDULE_PARAMS:
        return name not in SCHEDULES[params["learning_rate"]].params
    if name == "warmup_start_factor":
        return params["warmup_iters"] == 0
    if name == "lr_schedule_unit":
        return params["warmup_iters"] == 0
    if name == "init_scale":
        return params["weight_init"] != "normal"
    if name == "early_stopping_metric":
        return not params["early_stopping"]
    return False


def _listed(options):
    return ", ".join(repr(option) for option in sorted(options))


def _unrepresentable(name, value, why):
    return (f"to_sklearn cannot convert a model with {name}={value!r}: {why}. Fit a "
            f"fastmlp model with settings scikit-learn has to convert it, or keep using "
            f"fastmlp (model.save keeps every option).")


def _optimizer_to_sklearn(optimizer, estimator, flat):
    """scikit-learn's optimizer holding fastmlp's state."""
    if optimizer.solver not in ("sgd", "adam"):
        raise ValueError(_unrepresentable(
            "solver", optimizer.solver, "this model's partial_fit calls trained with it, "
            "and partial_fit goes on from its state, which scikit-learn's sgd and adam "
            "cannot hold"))
    spec = estimator._spec
    coefs, intercepts = parameter_views(optimizer.moment_1.copy(), spec)
    params = [W.copy() for W in estimator.coefs_] + [b.copy() for b in estimator.intercepts_]
    if optimizer.solver == "sgd":
        result = SGDOptimizer(params, optimizer.learning_rate_init, optimizer.lr_schedule,
                              optimizer.hyper["momentum"], optimizer.hyper["nesterov"],
                              optimizer.power_t)
        result.velocities = coefs + intercepts
        result.learning_rate = optimizer.learning_rate
        return result
    hyper = optimizer.hyper
    result = AdamOptimizer(params, optimizer.learning_rate_init, hyper["beta_1"],
                           hyper["beta_2"], hyper["epsilon"])
    result.ms = coefs + intercepts
    v_coefs, v_intercepts = parameter_views(optimizer.moment_2.copy(), spec)
    result.vs = v_coefs + v_intercepts
    result.t = int(optimizer.t)
    if result.t:
        # the rate scikit-learn's last step used (its next one recomputes it)
        result.learning_rate = (optimizer.learning_rate_init
                                * np.sqrt(1 - hyper["beta_2"] ** result.t)
                                / (1 - hyper["beta_1"] ** result.t))
    return result


def _copy_inputs_and_labels(source, target):
    """What both libraries' estimators record of the input and the labels:
    n_features_in_, feature_names_in_, the label binarizer and classes_."""
    state = source.__dict__
    target.n_features_in_ = source.n_features_in_
    if "feature_names_in_" in state:
        target.feature_names_in_ = source.feature_names_in_.copy()
    if "_label_binarizer" in state:
        target._label_binarizer = copy.deepcopy(source._label_binarizer)
        target.classes_ = target._label_binarizer.classes_
