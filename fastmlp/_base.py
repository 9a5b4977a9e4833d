"""The estimator layer shared by MLPClassifier and MLPRegressor.

Python here validates parameters and data with scikit-learn's own utilities,
handles labels, and orchestrates training once per epoch (loss curve, tol and
n_iter_no_change, early stopping, learning-rate schedules, verbose output).
Every numeric loop runs in the Cython engine: one call per epoch, one per
lbfgs evaluation, one per prediction.

Behaviour is scikit-learn 1.9's, except where scikit-learn has a known bug
(each marked "scikit-learn bug" below and listed in the README).
"""
import functools
import inspect
import math
import operator
import os
import warnings
from abc import ABC, abstractmethod
from dataclasses import replace
from numbers import Integral, Real
from typing import BinaryIO, Self

import numpy as np
from numpy.typing import ArrayLike
import scipy
import scipy.sparse as sp
import scipy.optimize
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.fixes import parse_version
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _inspection
from ._callbacks import NO_CALLBACKS, CallbackSupportMixin, fit_callbacks
from ._checks import (
    FitState,
    check_fit_memory,
    check_hidden_layer_sizes,
    check_numeric_kind,
    check_sparse_structure,
)
from ._consistency import (
    check_activation,
    check_activation_params,
    check_layer_count,
    check_layers,
    check_output_activation,
    check_sample_weight_cast,
    check_sizes,
    check_optimizer_state,
    check_training_state,
    describe,
    first_non_finite,
    non_finite_parameters,
)
from ._docs import DOC_LINK
from ._engine_input import engine_input
from ._layer_options import (
    batch_norm_views,
    check_minibatch_rows,
    fold,
    initial_gamma_beta,
    initial_state,
    layer_options,
    pack_batch_norm,
)
from ._engine._epochs import Epochs
from ._engine._full_batch import loss_gradient
from ._engine._team import on_threads
from ._engine._inference import predict_dense, predict_sparse
from ._engine._network import Network
from ._engine._shuffle import shuffle_rows
from ._optimizer_state import OptimizerState, check_optimizer_settings
from ._parameters import init_parameters, pack_parameters
from ._registry import (
    ACTIVATION_ALIASES,
    ACTIVATION_PARAMS,
    ACTIVATIONS,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    STOCHASTIC_SOLVERS,
    WEIGHT_INITS,
)
from ._spec import HiddenLayer, NetworkSpec
from ._threads import chunk_threads, omp_threads, row_parts, single_threaded_blas
from ._typing import MatrixLike
from ._validation import ValidationSet, check_validation_data, l2_divisor

_STOCHASTIC_SOLVERS = STOCHASTIC_SOLVERS

# Rows per chunk for lbfgs and inference: bounds the work buffer to about
# this many values whatever the number of rows.
_CHUNK_VALUES = 1 << 21
# Rows per chunk of a prediction too big for one chunk, spread over threads:
# 2**19 values (458 rows of a 100-256-256-10 network) predicted 100k rows in
# 250 ms where 2**21 took 265 (float64; float32 the same): smaller products
# stay in cache.
_THREAD_CHUNK_VALUES = 1 << 19

_NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may"
    " contain large values and need to be preprocessed."
)


def _all_finite(out):
    # a one-row prediction is a few microseconds: np.isfinite would add 2
    if out.size <= 16:
        return all(map(math.isfinite, out.ravel().tolist()))
    return bool(np.isfinite(out).all())


def _chunk_rows(n_samples, spec, chunk_values=_CHUNK_VALUES):
    """Rows per chunk of lbfgs's loss or of a prediction: about chunk_values
    values of the training work layout per chunk."""
    return max(1, min(n_samples, chunk_values // spec.values_per_row))


def _predict(network, params, X, out, chunk_rows, check_input, n_threads):
    """out = the network's output for X (dense or sparse) through the engine;
    False when check_input finds a NaN or an infinity in dense X."""
    if sp.issparse(X):
        _, data, indices, indptr = engine_input(X, params.dtype)
        predict_sparse(network, params, data, indices, indptr, out, chunk_rows, n_threads)
        return True
    return predict_dense(network, params, np.ascontiguousarray(X, dtype=params.dtype),
                         out, chunk_rows, check_input, n_threads)


@functools.cache
def _param_names(cls):
    return BaseEstimator._get_param_names.__func__(cls)


@functools.cache
def _param_values(cls):
    """A function returning an estimator's parameter values, as a tuple."""
    return operator.attrgetter(*_param_names(cls))


class BaseMultilayerPerceptron(CallbackSupportMixin, BaseEstimator, ABC):
    """Base class for MLP classification and regression.

    Warning: This class should not be used directly.
    Use derived classes instead.
    """

    # scikit-learn's HTML repr links an estimator of module _doc_link_module
    # to _doc_link_template (formatted with _doc_link_url_param_generator's
    # fields): fastmlp's README
    _doc_link_module = "fastmlp"
    _doc_link_template = DOC_LINK

    # ... and each parameter and fitted attribute to that link plus
    # "#:~:text=<name>", a text fragment, which needs the page's URL
    # without the section's anchor
    def _get_params_html(self, deep=True, doc_link=""):
        return super()._get_params_html(deep, doc_link.split("#")[0])

    def _get_fitted_attr_html(self, doc_link=""):
        return super()._get_fitted_attr_html(doc_link.split("#")[0])

    @classmethod
    def _get_param_names(cls):
        # Parameter validation reads them at every fit and partial_fit, and
        # scikit-learn inspects __init__'s signature each time (~55 us); a
        # class's signature does not change.
        return list(_param_names(cls))

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        # a list gives one name per hidden layer (_consistency.check_activation)
        "activation": [StrOptions(set(ACTIVATIONS) | set(ACTIVATION_ALIASES)), list, tuple],
        **{name: [param.constraint] for name, param in ACTIVATION_PARAMS.items()},
        "solver": [StrOptions(set(OPTIMIZERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "weight_init": [StrOptions(set(WEIGHT_INITS))],
        "init_scale": [Interval(Real, 0, None, closed="neither")],
        "early_stopping_metric": [StrOptions({"score", "loss"})],
        # a list gives one value per hidden layer (_layer_options.layer_options)
        "batch_norm": ["boolean", list, tuple],
        "batch_norm_momentum": [Interval(Real, 0, 1, closed="both")],
        "dropout": [Interval(Real, 0, 1, closed="left"), list, tuple],
        "weight_decay": [Interval(Real, 0, None, closed="left"), None],
        "momentum_decay": [Interval(Real, 0, None, closed="left")],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "lr_schedule_unit": [StrOptions({"epoch", "step"})],
        "lr_step_size": [Interval(Integral, 1, None, closed="left"), None],
        "lr_gamma": [Interval(Real, 0, None, closed="neither"), None],
        "lr_t_max": [Interval(Integral, 1, None, closed="left"), None],
        "lr_eta_min": [Interval(Real, 0, None, closed="left")],
        "warmup_iters": [Interval(Integral, 0, None, closed="left")],
        "warmup_start_factor": [Interval(Real, 0, 1, closed="right")],
        "plateau_factor": [Interval(Real, 0, 1, closed="neither")],
        "plateau_patience": [Interval(Integral, 0, None, closed="left")],
        "plateau_threshold": [Interval(Real, 0, None, closed="left")],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        loss,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        weight_init,
        init_scale,
        early_stopping_metric,
        negative_slope,
        elu_alpha,
        softplus_beta,
        softplus_threshold,
        batch_norm,
        batch_norm_momentum,
        dropout,
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
        self.batch_norm = batch_norm
        self.batch_norm_momentum = batch_norm_momentum
        self.dropout = dropout
        self.activation = activation
        self.negative_slope = negative_slope
        self.elu_alpha = elu_alpha
        self.softplus_beta = softplus_beta
        self.softplus_threshold = softplus_threshold
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.weight_init = weight_init
        self.init_scale = init_scale
        self.early_stopping_metric = early_stopping_metric
        self.weight_decay = weight_decay
        self.momentum_decay = momentum_decay
        self.rho = rho
        self.max_grad_norm = max_grad_norm
        self.lr_schedule_unit = lr_schedule_unit
        self.lr_step_size = lr_step_size
        self.lr_gamma = lr_gamma
        self.lr_t_max = lr_t_max
        self.lr_eta_min = lr_eta_min
        self.warmup_iters = warmup_iters
        self.warmup_start_factor = warmup_start_factor
        self.plateau_factor = plateau_factor
        self.plateau_patience = plateau_patience
        self.plateau_threshold = plateau_threshold

    # -- the network and its flat parameter buffer --------------------------

    def _layer_units(self):
        return [c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]]

    def _target_type(self):
        """The kind of target the loss applies to (see NetworkSpec)."""
        return "continuous"

    def _hidden_layers(self, units):
        """A HiddenLayer of each width in `units`, with its activation and the
        activation's parameters as set now."""
        names = check_activation(self.activation, len(units), "the network")
        return tuple(HiddenLayer(width, name, params) for width, name, params
                     in zip(units, names, check_activation_params(self, names)))

    def _init_activations(self, spec):
        """The activation each weight layer is initialised for. scikit-learn
        draws every layer, the output layer too, with the factor of its one
        hidden activation; with a list, each layer is drawn for the activation
        of the units it feeds and the output layer for the last hidden one's
        (so a list of one repeated name draws what that name draws)."""
        if isinstance(self.activation, str):
            return check_activation(self.activation, 1, "the network") * spec.n_layers
        names = [layer.activation for layer in spec.hidden]
        # no hidden layer: factor 6, scikit-learn's for all but logistic
        return names + names[-1:] if names else ["identity"]

    def _network_spec(self, layer_units, dtype):
        """The spec of a network of these widths under the current
        hyperparameters."""
        n_hidden = len(layer_units) - 2
        batch_norm = layer_options(self.batch_norm, n_hidden, "batch_norm", "bool")
        dropout = layer_options(self.dropout, n_hidden, "dropout", "rate")
        hidden = tuple(replace(layer, batch_norm=bn, dropout=rate) for layer, bn, rate
                       in zip(self._hidden_layers(layer_units[1:-1]), batch_norm, dropout))
        return NetworkSpec(layer_units[0], hidden, layer_units[-1], self.loss,
                           self._target_type(), self._loss_params(self.loss),
                           dtype=np.dtype(dtype).name,
                           batch_norm_momentum=float(self.batch_norm_momentum))

    def _loss_params(self, loss):
        """(name, value) of each parameter `loss` reads, as set now."""
        return tuple((name, float(getattr(self, name))) for name in LOSSES[loss].params)

    def _fitted_loss(self):
        """The loss the model was fitted with (the spec's; a model pickled
        before specs existed was fitted with its loss parameter)."""
        spec = self.__dict__.get("_spec")
        loss = self.loss if spec is None else spec.loss
        return loss if isinstance(loss, str) else None

    def _engine_key(self):
        # what predictions read from the hyperparameters and attributes (as
        # scikit-learn does, which reads activation at every predict)
        return (self.activation, self.out_activation_)

    def _current_spec(self, dtype, layer_units=None):
        """The spec of the network the parameters describe: the fitted one,
        with the widths of coefs_ (a user may assign other arrays) and the
        activations and output activation set now."""
        spec = self.__dict__.get("_spec")
        layer_units = self._layer_units() if layer_units is None else layer_units
        if spec is None:
            # a model pickled before specs existed
            spec = self._network_spec(layer_units, dtype)
        elif spec.layer_units != layer_units:
            spec = spec.with_units(layer_units)
        # batch norm and dropout are the fitted network's (its parameters are
        # laid out for them); the activations are read now, as scikit-learn
        # reads them
        hidden = tuple(replace(new, batch_norm=old.batch_norm, dropout=old.dropout)
                       for new, old in zip(self._hidden_layers(
                           [layer.units for layer in spec.hidden]), spec.hidden))
        return replace(spec, hidden=hidden, out_activation=self.out_activation_,
                       dtype=np.dtype(dtype).name)

    def _engine(self, dtype=None):
        """The engine's network and the flat parameter buffer, in sync with
        coefs_, intercepts_ and the other fitted attributes.

        When none of the objects the model is made of was reassigned since
        the last call (a few identity checks, cheap enough for predict),
        both are returned as they are. Otherwise the attributes are checked
        (clear errors for a tampered model, issue 10) and the network and
        the buffer are rebuilt from them: after a user replaced arrays,
        after unpickling, or when `dtype` differs from the model's.
        """
        state = self.__dict__
        try:
            key = self._model_key()
        except (KeyError, TypeError, AttributeError):
            key = None  # something is missing or not a list: _check_model says what
        checked = state.get("_checked_key")
        if (key is not None and checked is not None and len(key) == len(checked)
                and all(map(operator.is_, key, checked))
                and (dtype is None or key[0].dtype == dtype)):
            return state["_network"], key[0]
        return self._rebuild_engine(dtype)

    def _model_key(self):
        """The objects the model is made of, compared by identity."""
        state = self.__dict__
        # a list's names too: scikit-learn reads activation at every predict,
        # so an edit in place counts
        names = state["activation"] if isinstance(state["activation"], list) else ()
        return (state["_params"], *state["coefs_"], *state["intercepts_"], state["activation"],
                state["out_activation_"], state["n_outputs_"], state["n_layers_"],
                state["n_features_in_"], *(state[name] for name in ACTIVATION_PARAMS),
                *names, *self._batch_norm_arrays())

    def _batch_norm_arrays(self):
        """The arrays of batch_norm_ (fitted with batch norm), in order."""
        layers = self.__dict__.get("batch_norm_")
        if layers is None:
            return ()
        return tuple(layer[key] for layer in layers if layer is not None
                     for key in ("gamma", "beta", "running_mean", "running_var"))

    def _rebuild_engine(self, dtype):
        coefs, intercepts = self._check_model()
        flat = self.__dict__.get("_params")
        views = self.__dict__.get("_param_views", ())
        arrays = list(self.coefs_) + list(self.intercepts_) + list(self._batch_norm_arrays())
        in_sync = (
            flat is not None
            and (dtype is None or flat.dtype == dtype)
            and len(views) == len(arrays)
            and all(map(operator.is_, views, arrays))
        )
        why = ""
        if dtype is None and in_sync:
            dtype = flat.dtype
        elif dtype is None:
            dtype = np.result_type(coefs[0].dtype, np.float32)
            if dtype not in (np.float32, np.float64):
                dtype = np.float64
            why = ", the dtype the model takes from coefs_[0]"
        else:
            why = f", the dtype the model trains in for X of {np.dtype(dtype).name}"
        layer_units = [W.shape[0] for W in coefs] + [coefs[-1].shape[1]]
        spec = self._current_spec(dtype, layer_units)
        network = self.__dict__.get("_network")
        if network is None or network.spec != spec:
            network = Network(spec)
        self._spec, self._network, self._network_key = spec, network, self._engine_key()
        if not in_sync:
            batch_norm_ = self.__dict__.get("batch_norm_")
            self._set_parameters(*pack_parameters(coefs, intercepts, spec, spec.dtype, why))
            if spec.n_stats:
                self._set_batch_norm(*pack_batch_norm(batch_norm_, self._params, spec))
        self._checked_key = self._model_key()
        return network, self._params

    def _check_model(self):
        """The layers as checked arrays, once every fitted attribute the
        engine relies on is found to agree with them.

        Raises
        ------
        AttributeError, TypeError, ValueError
            Naming the attribute that was changed or removed since fit.
        """
        state = self.__dict__
        for name in ("coefs_", "intercepts_", "n_features_in_", "n_outputs_", "n_layers_",
                     "out_activation_"):
            if name not in state:
                raise AttributeError(
                    f"This {type(self).__name__} has no {name}, which fit sets: it was "
                    "deleted. Fit the model again."
                )
        coefs, intercepts = check_layers(state["coefs_"], state["intercepts_"])
        spec = state.get("_spec")
        check_layer_count(coefs, None if spec is None else spec.n_layers)
        check_activation(self.activation, len(coefs) - 1, "the fitted network")
        check_sizes(coefs, state["n_features_in_"], state["n_outputs_"], state["n_layers_"],
                    self._expected_outputs())
        check_output_activation(self.out_activation_, *self._output_activations())
        return coefs, intercepts

    def _expected_outputs(self):
        """(number of outputs, why) that the targets fix, or None when
        n_outputs_ decides (regression)."""
        return None

    def _output_activations(self):
        """(the out_activation_ values this model may have, why), for
        check_output_activation: those of its kind's losses, for its
        targets (a loss changed since fit may predict with the old one)."""
        target = self._target_type()
        # a classifier's outputs stay probabilities, or scores, as fitted:
        # predict_proba and predict's threshold read them as such
        fitted = self._losses.get(self._fitted_loss())
        outputs = {}
        for name, info in self._losses.items():
            if target in info.outputs and (fitted is None or info.proba == fitted.proba):
                outputs.setdefault(info.outputs[target][1], name)
        choices = " or ".join(f"{out!r} (loss={loss!r})" for out, loss in outputs.items())
        return tuple(outputs), f"for its {target} targets the output layer is {choices}"

    def _set_parameters(self, flat, coefs, intercepts):
        self._params = flat
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self._param_views = tuple(coefs) + tuple(intercepts)
        self.__dict__.pop("batch_norm_", None)
        self.__dict__.pop("_bn_state", None)

    def _set_batch_norm(self, state, views):
        """The running statistics' buffer, and batch_norm_'s views into it
        and into the flat parameters."""
        self._bn_state = state
        self.batch_norm_ = views
        self._param_views = self._param_views + self._batch_norm_arrays()

    def _inference_engine(self):
        """The network and parameters predictions run: with batch norm, a
        network without it and the running statistics folded into the
        weights (_layer_options.fold), computed at each call so that an edit
        of coefs_ or batch_norm_ in place is seen; else _engine()'s."""
        network, params = self._engine()
        spec = network.spec
        if not spec.n_stats:
            return network, params
        inference_spec = spec.without_training_layers()
        cached = self.__dict__.get("_inference_network")
        if cached is None or cached.spec != inference_spec:
            cached = Network(inference_spec)
            self._inference_network = cached
        return cached, fold(spec, params, self._bn_state, inference_spec)

    def save(self, path: str | os.PathLike | BinaryIO) -> None:
        """Save the fitted model to a file that `fastmlp.load` reads.

        The file holds typed arrays and a JSON header of plain values (the
        safetensors layout; see the README's "Saving models and
        scikit-learn interop"): loading it never imports or calls anything
        named in it, and refuses a corrupt, truncated, tampered or
        newer-format file with a clear error. The
        loaded model predicts bit for bit as this one, and partial_fit or a
        warm start go on training it as they would this one (optimizer
        state, schedule, random stream, batch norm statistics and training
        records are saved; callbacks are not).

        Parameters
        ----------
        path : str, path-like or binary file object
            Where to write. An existing file is replaced whole, once the
            new one is written.

        Raises
        ------
        NotFittedError
            When the model is not fitted.
        TypeError
            When a parameter or classes_ holds a value a model file cannot
            hold (it holds numbers, text, booleans, None, lists, tuples and
            dicts of them, and RandomState streams; classes may be str,
            int, float or bool).

        See Also
        --------
        fastmlp.load : Load a saved model.

        Examples
        --------
        >>> import numpy as np, os, tempfile
        >>> import fastmlp
        >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 4.0])
        >>> reg = fastmlp.MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs",
        ...                            random_state=0).fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> reg.save(path)
        >>> bool((fastmlp.load(path).predict(X) == reg.predict(X)).all())
        True
        """
        from ._files import save

        save(self, path)

    def to_sklearn(self) -> BaseEstimator:
        """The scikit-learn estimator of this fitted model.

        scikit-learn's ``MLPClassifier`` or ``MLPRegressor`` with the same
        parameters and fitted network (coefs_, intercepts_, classes_ and
        the label encoder, n_features_in_, feature_names_in_), the training
        records a warm start goes on from (n_iter_, t_, loss_curve_,
        best_loss_, validation_scores_, the no-improvement count) and the
        optimizer state partial_fit goes on from (sgd's velocities and
        learning rate, adam's moments and step count). Its predictions
        equal this model's up to the order in which BLAS sums (about 1e-16
        relative in float64). Training it further follows scikit-learn's
        rules, including the scikit-learn bugs fastmlp fixes (README).

        Returns
        -------
        sklearn.neural_network.MLPClassifier or MLPRegressor

        Raises
        ------
        ValueError
            Naming the option, when scikit-learn cannot represent the model:
            an activation, loss, solver or schedule scikit-learn lacks, one
            activation per layer, batch_norm, dropout, class_weight, a
            weight_init other than 'sklearn', max_grad_norm, warmup_iters,
            or early_stopping_metric='loss'.
        NotFittedError
            When the model is not fitted.

        See Also
        --------
        fastmlp.from_sklearn : The other way.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp import MLPRegressor
        >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 4.0])
        >>> ours = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs",
        ...                     random_state=0).fit(X, y)
        >>> theirs = ours.to_sklearn()
        >>> type(theirs).__module__
        'sklearn.neural_network._multilayer_perceptron'
        >>> bool(np.allclose(theirs.predict(X), ours.predict(X), rtol=1e-12))
        True
        """
        from ._sklearn_interop import to_sklearn

        return to_sklearn(self)

    def __getstate__(self):
        # The views are pickled as arrays of their own; the buffer and the
        # engine's network are rebuilt from them on first use. On Python
        # 3.11+ BaseEstimator.__getstate__ returns the live __dict__: popping
        # from it would detach coefs_ from the buffer the engine trains, under
        # a fit running in another thread too (issue 10). Copy first.
        state = dict(super().__getstate__())
        for name in ("_params", "_param_views", "_network", "_network_key", "_checked_key",
                     "_bn_state", "_inference_network", "_best_bn_state"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        # a model pickled before a parameter existed gets its default, which
        # keeps that model as it was
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if param.default is not param.empty:
                state.setdefault(name, param.default)
        super().__setstate__(state)

    # -- fitting ------------------------------------------------------------

    def _initialize(self, spec):
        # set all attributes, allocate weights etc. for first call
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = spec.n_outputs
        self.n_layers_ = len(spec.layer_units)
        self.out_activation_ = spec.out_activation
        self._spec = spec
        self._network = Network(spec)
        self._network_key = self._engine_key()
        self._set_parameters(*init_parameters(
            spec, self._init_activations(spec), self.weight_init, self.init_scale,
            self._random_state))
        if spec.n_stats:
            initial_gamma_beta(self._params, spec)
            state = initial_state(spec)
            self._set_batch_norm(state, batch_norm_views(self._params, state, spec))
        self._best_params = self._params.copy()
        self._keep_best_state()
        # a new network starts a new optimizer, even in partial_fit (a model
        # whose coefs_ were deleted)
        self.__dict__.pop("_optimizer", None)

        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _fit(self, X, y, sample_weight=None, incremental=False, state=None,
             validation_data=(None, None, None), callbacks=NO_CALLBACKS):
        # A call that fails, for whatever reason (bad input, non-finite
        # parameters, no memory), leaves the model as it was before it.
        state = FitState(self, incremental) if state is None else state
        try:
            return self._fit_checked(X, y, sample_weight, incremental, validation_data,
                                     callbacks)
        except BaseException:
            state.restore()
            raise

    def _fit_checked(self, X, y, sample_weight, incremental, validation_data, callbacks):
        hidden_layer_sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        check_activation(self.activation, len(hidden_layer_sizes),
                         f"hidden_layer_sizes={hidden_layer_sizes}")
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        if not first_pass:
            self._check_goes_on()
        self._check_loss(first_pass)
        check_optimizer_settings(self)

        # before validation, whose conversions trust a sparse matrix's indices
        check_sparse_structure(X)
        check_sparse_structure(y, "y")
        check_numeric_kind(X)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        n_samples, n_features = X.shape
        if sample_weight is not None:
            check_numeric_kind(sample_weight, "sample_weight")
            # negative weights make the loss unbounded below
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True
            )
        callbacks.set_data(X, y, sample_weight)
        sample_weight = self._with_class_weight(y, sample_weight, incremental)
        if sample_weight is not None:
            check_sample_weight_cast(sample_weight, X.dtype)
        validation = check_validation_data(self, *validation_data, X.dtype, y)

        if y.ndim == 1:
            y = y.reshape((-1, 1))
        layer_units = [n_features] + hidden_layer_sizes + [self._n_outputs(y)]
        if first_pass or not hasattr(self, "_spec"):
            spec = self._network_spec(layer_units, X.dtype)
        else:
            spec = self._continued_spec(layer_units, X.dtype)
        if self.solver == "lbfgs" and spec.dropout_layers:
            raise ValueError(
                "dropout is a stochastic regulariser: solver='lbfgs' needs a fixed "
                "objective for its line search, which random masks would change at "
                "every evaluation. Use solver='adam' or 'sgd' with dropout, or set "
                "dropout=0.")
        self._check_memory(spec, X, first_pass)

        # scikit-learn bug: it re-creates RandomState(random_state) on every
        # call, so successive partial_fit calls shuffle in the same order. One
        # stream per model, created on its first pass, avoids that.
        if first_pass or not incremental or not hasattr(self, "_random_state"):
            self._random_state = check_random_state(self.random_state)

        if first_pass:
            self._initialize(spec)
        elif self._layer_units() != layer_units:
            raise ValueError(self._other_network(layer_units))

        network, params = self._engine(X.dtype)
        network = self._training_network(network, spec)
        loss_params = self._loss_params(network.spec.loss)
        if network.spec.loss_params != loss_params:
            # a loss parameter set since fit (huber's delta) applies to the
            # training that goes on, as a new alpha does
            self._spec = replace(network.spec, loss_params=loss_params)
            network = self._network = Network(self._spec)
        # multiclass targets stay integer class indices (MLPClassifier._targets):
        # exact in a float32 fit too
        Y = y
        if y.dtype != np.intp or network.spec.target_type != "multiclass":
            Y = np.ascontiguousarray(y, dtype=X.dtype)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=X.dtype)

        if self.solver in _STOCHASTIC_SOLVERS:
            finite = self._fit_stochastic(
                network, params, X, Y, y, sample_weight, incremental, validation, callbacks
            )
        else:
            finite = self._fit_lbfgs(network, params, X, Y, sample_weight, callbacks)

        # _fit restores the parameters as they were before this call
        if not finite:
            raise ValueError(_NON_FINITE)
        callbacks.end_fit()
        return self

    def _with_class_weight(self, y, sample_weight, incremental):
        """sample_weight with the class weights multiplied in (classifiers)."""
        return sample_weight

    def _labels_of(self, Y):
        """The targets as fit takes them, from the engine's target matrix."""
        return Y.ravel() if Y.ndim == 2 and Y.shape[1] == 1 else Y

    def _continued_spec(self, layer_units, dtype):
        """The fitted spec a warm start or partial_fit goes on training, with
        this call's dropout and momentum; batch norm must stay as fitted (its
        gamma, beta and statistics are the model's)."""
        spec = self._spec
        n_hidden = len(layer_units) - 2
        batch_norm = layer_options(self.batch_norm, n_hidden, "batch_norm", "bool")
        dropout = layer_options(self.dropout, n_hidden, "dropout", "rate")
        fitted = [layer.batch_norm for layer in spec.hidden]
        if n_hidden == len(fitted) and batch_norm != fitted:
            raise ValueError(
                f"batch_norm is {self.batch_norm!r}, but the model that warm_start and "
                f"partial_fit go on training was fitted with batch norm on hidden layers "
                f"{fitted}. Set batch_norm back, or fit a new model (warm_start=False).")
        if n_hidden != len(fitted):
            return replace(spec, dtype=np.dtype(dtype).name)
        hidden = tuple(replace(layer, dropout=rate) for layer, rate in zip(spec.hidden, dropout))
        return replace(spec, hidden=hidden, dtype=np.dtype(dtype).name,
                       batch_norm_momentum=float(self.batch_norm_momentum))

    def _training_network(self, network, spec):
        """The engine's network with this call's dropout and momentum (which
        only training reads); kept as the model's."""
        hidden = tuple(replace(layer, dropout=new.dropout)
                       for layer, new in zip(network.spec.hidden, spec.hidden))
        wanted = replace(network.spec, hidden=hidden,
                         batch_norm_momentum=spec.batch_norm_momentum)
        if wanted != network.spec:
            network = Network(wanted)
            self._spec, self._network = wanted, network
        return network

    def _check_goes_on(self):
        """The model a warm start or partial_fit goes on training is one fit
        could have left: consistent attributes, finite parameters, training
        records of the right types, the loss its output layer was built for.
        """
        _, params = self._engine()
        if not _all_finite(params):
            raise ValueError(
                non_finite_parameters(first_non_finite(self.coefs_, self.intercepts_)))
        check_training_state(self)

    def _check_loss(self, first_pass):
        """Refuse a loss this model cannot train on or, when a fit goes on
        from the current model, one other than it was fitted with (whose
        output layer it was built for).

        scikit-learn keeps the output layer and reports the new loss of
        it; fastmlp ignored the change. Neither trains what was asked.
        """
        losses = self._losses
        if not isinstance(self.loss, str) or self.loss not in losses:
            raise ValueError(
                f"loss is {describe(self.loss)}; {type(self).__name__} trains on "
                f"{' or '.join(map(repr, losses))}."
            )
        if first_pass:
            return
        spec = self.__dict__.get("_spec")
        fitted = self.loss if spec is None else spec.loss
        if self.loss != fitted:
            raise ValueError(
                f"loss is {self.loss!r}, but this model was fitted with loss={fitted!r}, "
                "and warm_start and partial_fit go on training that model, whose output "
                f"layer (out_activation_={self.out_activation_!r}) is built for it. Set "
                f"loss={fitted!r} back, or fit a new model (warm_start=False)."
            )
        implied = losses[self.loss].outputs[self._target_type()][1]
        if self.out_activation_ != implied:
            raise ValueError(
                f"out_activation_ is {self.out_activation_!r}, but loss={self.loss!r} "
                f"trains an output layer {implied!r}. Fit sets out_activation_ and it "
                f"must not be changed: set it back to {implied!r}, or fit a new model "
                "(warm_start=False)."
            )

    def _other_network(self, layer_units):
        """The message for a warm start or partial_fit whose settings or data
        need another network than the model's."""
        current = self._layer_units()
        if current[1:-1] != layer_units[1:-1]:
            return (
                f"hidden_layer_sizes is {self.hidden_layer_sizes!r}, but the model that "
                f"warm_start and partial_fit go on training has hidden layers of "
                f"{current[1:-1]} units. Set hidden_layer_sizes back, or fit a new "
                "model (warm_start=False)."
            )
        return (
            f"y gives {layer_units[-1]} outputs (columns), but the model that "
            f"warm_start and partial_fit go on training has {current[-1]}. Pass y "
            f"of {current[-1]} columns, or fit a new model (warm_start=False)."
        )

    def _batch_rows(self, n_train):
        """Rows per minibatch: 'auto' is min(200, n), others are clipped to n."""
        if self.batch_size == "auto":
            return min(200, n_train)
        return int(np.clip(self.batch_size, 1, n_train))

    def _gathers(self, X, early_stopping):
        """Whether minibatch rows are copied into a batch buffer: unless each
        minibatch is already a contiguous block of X (dense, unshuffled, no
        validation split). Sparse rows are read in place."""
        return not sp.issparse(X) and (self.shuffle or early_stopping)

    def _part_buffers(self, network, rows, gather, dtype):
        """Row parts for chunks of `rows` rows (_threads.row_parts), the
        threads to run them on, and their work and gradient buffers: one
        of each per part, back to back."""
        n_parts = row_parts(network.spec, rows)
        n_threads = min(n_parts, omp_threads())
        part_rows = -(-rows // n_parts)
        work = np.empty(n_parts * network.work_size(part_rows, gather), dtype=dtype)
        grads = np.empty(n_parts * network.n_params, dtype=dtype)
        return n_parts, n_threads, work, grads

    @staticmethod
    def _lbfgs_chunk_rows(n_samples, spec):
        """Rows per chunk of lbfgs's loss: all of them with batch norm, whose
        statistics are over all rows."""
        if spec.n_stats:
            if n_samples < 2:
                check_minibatch_rows(n_samples, n_samples)
            return n_samples
        return _chunk_rows(n_samples, spec)

    def _check_memory(self, spec, X, first_pass):
        """MemoryError, before anything is allocated, when the network's
        buffers would not fit in the memory available."""
        n_samples = X.shape[0]
        if self.solver == "lbfgs":
            rows = self._lbfgs_chunk_rows(n_samples, spec)
            gather = False
        else:
            rows = self._batch_rows(n_samples)
            gather = self._gathers(X, self.early_stopping)
        n_parts = row_parts(spec, rows)
        check_fit_memory(spec, self.solver, rows, gather, not first_pass, self, n_parts)

    def _full_batch_objective(self, network, params, X, Y, sample_weight):
        """The training objective over all rows, as lbfgs evaluates it (and
        loss_gradient reports it).

        Returns
        -------
        objective : callable
            objective() -> the loss of the current params (the weighted mean
            loss plus 0.5 * alpha * ||W||^2 / sum(sample_weight)), writing
            its gradient into `grads`.
        grads : ndarray of shape (n_params,)
        n_threads : int
            Threads the row parts run on; with more than one, BLAS must be
            single-threaded while objective() runs.
        """
        X_dense, data, indices, indptr = engine_input(X, params.dtype)
        no_weight = np.empty(0, dtype=params.dtype)
        sw = no_weight if sample_weight is None else sample_weight
        chunk_rows = self._lbfgs_chunk_rows(X.shape[0], network.spec)
        n_parts, n_threads, work, all_grads = self._part_buffers(
            network, chunk_rows, False, params.dtype)
        # scikit-learn bug #8349: its loss averages the squared error over the
        # outputs but its gradient sums them, n_outputs times too large,
        # which misleads the line search. The engine scales the output delta
        # so that the gradient is the loss's own.
        delta_scale = 1.0
        if network.spec.loss == "squared_error":
            delta_scale = 1.0 / network.spec.n_outputs

        def objective(bn_state=None, bn_momentum=1.0):
            # bn_state: running statistics to update with all rows' (batch norm)
            return loss_gradient(network, params, all_grads, work, X_dense, data, indices,
                                 indptr, Y, sw, chunk_rows, n_parts, n_threads, self.alpha,
                                 delta_scale, bn_state, bn_momentum)

        return objective, all_grads[:params.shape[0]], n_threads

    def _fit_lbfgs(self, network, params, X, Y, sample_weight, callbacks):
        objective, grads, n_threads = self._full_batch_objective(
            network, params, X, Y, sample_weight)

        def loss_and_grad(packed):
            params[...] = packed
            # with batch norm, the statistics of all rows at this point (a
            # callback's copy of an iterate is the model at that iterate)
            loss = objective(self.__dict__.get("_bn_state"), 1.0)
            if reached["loss"] is None:
                reached["loss"] = loss
            return loss, grads.astype(np.float64)

        # The last iterate L-BFGS-B accepted, kept so that Ctrl-C leaves the
        # model there (a line search's trial point may be worse).
        x0 = params.astype(np.float64)
        reached = {"x": x0, "loss": None, "n_iter": 0, "stopped": False}

        def iteration_done(intermediate_result):
            reached["x"] = intermediate_result.x.copy()
            reached["loss"] = intermediate_result.fun
            reached["n_iter"] += 1
            # an iteration is the callbacks' subtask, as LogisticRegression's
            if callbacks.end_epoch(reached["x"], n_iter_=reached["n_iter"],
                                   loss_=reached["loss"]):
                reached["stopped"] = True
                raise StopIteration  # scipy ends the minimization at this iterate
            callbacks.begin_epoch("iteration")

        callbacks.begin_fit()
        callbacks.begin_epoch("iteration")
        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        options = {"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol}
        if parse_version(scipy.__version__) < parse_version("1.15"):
            options["iprint"] = iprint
        try:
            # row parts on threads need BLAS on one thread (_threads.py); the
            # threads wait between gradients on_threads, not in OpenMP's joins
            with single_threaded_blas(n_threads > 1):
                opt_res = on_threads(n_threads, lambda: scipy.optimize.minimize(
                    loss_and_grad,
                    x0,
                    method="L-BFGS-B",
                    jac=True,
                    options=options,
                    callback=iteration_done,
                ))
        except KeyboardInterrupt:
            # as the stochastic solvers do: keep what was reached, warn
            warnings.warn("Training interrupted by user.")
            params[...] = reached["x"]
            self.n_iter_ = reached["n_iter"]
            self.loss_ = np.nan if reached["loss"] is None else reached["loss"]
            return bool(np.isfinite(params).all())
        if reached["stopped"]:
            # a callback's request, not a failure to converge: no warning
            self.n_iter_ = reached["n_iter"]
        else:
            callbacks.close_epoch()
            self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        self.loss_ = opt_res.fun
        params[...] = opt_res.x
        if network.spec.n_stats and np.isfinite(params).all():
            # lbfgs normalises over all rows: the statistics predictions use
            # are those of all rows at the final weights
            with single_threaded_blas(n_threads > 1):
                objective(self._bn_state, 1.0)
        # the stochastic solvers' engine checks every step; L-BFGS-B's
        # iterate (and batch norm's statistics) is checked here
        return bool(np.isfinite(opt_res.fun) and np.isfinite(params).all()
                    and np.isfinite(self.__dict__.get("_bn_state", 0)).all())

    def _fit_stochastic(self, network, params, X, Y, y, sample_weight, incremental,
                        validation, callbacks):
        """The stochastic solvers' fit: the optimizer, the validation data
        (given to fit, or split off), the engine's epochs, then the epoch
        loop. Returns whether the parameters stayed finite."""
        self._incremental = incremental
        optimizer = self._stochastic_optimizer(network, params.dtype, incremental)
        # early_stopping in partial_fit doesn't make sense
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        self._reset_stopping_state(self.early_stopping, incremental)
        order, validation = self._validation_split(X, y, sample_weight, validation)
        self._reset_validation_records(validation, incremental)
        epochs, batch_size, sw = self._epochs(network, params, optimizer, X, Y,
                                              sample_weight, order)
        if validation is not None:
            validation.prepare(network, params, _chunk_rows(validation.Y.shape[0], network.spec),
                               epochs.n_threads > 1, self.alpha,
                               l2_divisor(sample_weight, order, batch_size),
                               self._inference_engine if network.spec.n_stats else None)
        callbacks.begin_fit(order if order.shape[0] < X.shape[0] else None)
        finite = True
        try:
            # minibatches cut into parts need BLAS on one thread (_threads.py);
            # the threads wait between epochs on_threads, not in OpenMP's joins
            with single_threaded_blas(epochs.n_threads > 1):

                def epoch_loop():
                    self.n_iter_ = 0
                    for _ in range(self.max_iter):
                        callbacks.begin_epoch()
                        finite = self._run_epoch(epochs, optimizer, order, batch_size, sw)
                        if not finite or self._end_epoch(optimizer, order.shape[0],
                                                         validation, incremental, callbacks):
                            return finite
                    return True

                finite = on_threads(epochs.n_threads, epoch_loop)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")

        if self.early_stopping and validation is not None and finite:
            # restore best weights, in place so the views stay the model's
            params[...] = self._best_params
            if network.spec.n_stats:
                self._bn_state[...] = self._best_bn_state
        return finite

    def _stochastic_optimizer(self, network, dtype, incremental):
        """The optimizer's state: new for a fit, kept across partial_fit calls."""
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = OptimizerState(self, network.n_params, dtype)
        else:
            check_optimizer_state(self._optimizer, self.solver, network.n_params)
        self._optimizer.astype(dtype)
        return self._optimizer

    def _validation_split(self, X, y, sample_weight, given):
        """The rows to train on (intp, in order) and the validation data:
        the ValidationSet given to fit (X_val), else with early_stopping the
        rows split off as scikit-learn splits them, else None."""
        n_samples = X.shape[0]
        if given is not None or not self.early_stopping:
            return np.arange(n_samples, dtype=np.intp), given
        # train_test_split's sizes, checked before it draws anything
        n_val = math.ceil(self.validation_fraction * n_samples)
        if n_val < 2 or n_samples - n_val < 1:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset. early_stopping needs at least 2 "
                f"validation rows and 1 training row; validation_fraction="
                f"{self.validation_fraction} of {n_samples} rows gives {n_val}."
            )
        try:
            train_idx, val_idx = train_test_split(
                np.arange(n_samples),
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=self._stratify_labels(y),
            )
        except ValueError as exc:
            raise ValueError(
                "early_stopping cannot split a validation set stratified by "
                f"class off these {n_samples} rows: {exc} Increase "
                "'validation_fraction' or the size of your dataset, or set "
                "early_stopping=False."
            ) from exc
        X_val = _safe_indexing(X, val_idx)
        y_val = y[val_idx]
        if is_classifier(self):
            y_val = self._decode_targets(y_val)
        sample_weight_val = None if sample_weight is None else sample_weight[val_idx]
        if sample_weight_val is not None and not sample_weight_val.any():
            raise ValueError(
                f"The {val_idx.shape[0]} validation rows drawn for early stopping "
                "all have zero sample weight, so their score is undefined. "
                "Increase 'validation_fraction', drop the zero-weight rows, or "
                "set early_stopping=False."
            )
        return (train_idx.astype(np.intp),
                ValidationSet(X_val, y_val, sample_weight_val, y[val_idx]))

    def _epochs(self, network, params, optimizer, X, Y, sample_weight, order):
        """The engine's epochs over the rows in `order`, with their buffers;
        the minibatch size and the engine's sample weights."""
        dtype = params.dtype
        n_train = order.shape[0]
        if self.batch_size != "auto" and self.batch_size > n_train:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than "
                "sample size. It is going to be clipped"
            )
        batch_size = self._batch_rows(n_train)
        X_dense, data, indices, indptr = engine_input(X, dtype)
        sw = np.empty(0, dtype=dtype) if sample_weight is None else sample_weight
        gather = self._gathers(X, order.shape[0] < X.shape[0])
        if network.spec.n_stats:
            check_minibatch_rows(n_train, batch_size)
        n_parts, n_threads, work, grads = self._part_buffers(
            network, batch_size, gather, dtype)
        epochs = Epochs(network, params, grads, optimizer.moment_1, optimizer.moment_2,
                        work, X_dense, data, indices, indptr, Y, sw, order,
                        batch_size, gather, n_parts, n_threads,
                        self.__dict__.get("_bn_state"), self._dropout_key(network.spec))
        return epochs, batch_size, sw

    def _dropout_key(self, spec):
        """Dropout's key for this call's masks: drawn from random_state at
        each fit (so a warm start draws new masks), kept across partial_fit
        calls (whose step count goes on); none without dropout, which then
        draws nothing."""
        if not spec.dropout_layers:
            return (0, 0)
        if not self._incremental or "_dropout_seed" not in self.__dict__:
            self._dropout_seed = tuple(
                int(v) for v in self._random_state.randint(0, 2**32, size=2, dtype=np.uint64))
        return self._dropout_seed

    def _run_epoch(self, epochs, optimizer, order, batch_size, sample_weight):
        """Shuffle, then every minibatch of one epoch in the engine. Returns
        whether the parameters stayed finite; re-raises a Ctrl-C that came
        during the epoch, once its steps are kept."""
        if self.shuffle:
            # scikit-learn's sklearn.utils.shuffle shuffles arange(n)
            # and indexes with it: the same swaps made in place
            shuffle_rows(self._random_state, order)
        settings = optimizer.step_settings(self.alpha)
        loss_sum, n_batches, finite, interrupt = epochs.run(settings)
        optimizer.took_steps(settings)
        if interrupt is not None:
            raise interrupt
        if not finite:
            self._check_zero_weight_batch(
                sample_weight, order, (n_batches - 1) * batch_size, batch_size)
            return False
        self.loss_ = loss_sum / order.shape[0]
        return True

    def _end_epoch(self, optimizer, n_train, validation, incremental, callbacks):
        """Everything that happens between epochs, in one place: the loss
        curves, verbose output, the validation score and the best weights,
        tol and n_iter_no_change, the learning-rate schedule, the callbacks.
        Returns whether training stops."""
        self.n_iter_ += 1
        self.t_ += n_train
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))

        # update no_improvement_count based on training loss or
        # validation score (or loss) according to early_stopping
        self._update_no_improvement_count(validation)

        # for learning rate that needs to be updated at iteration end; a
        # plateau is watched on what the stopping rule watches
        if not (self.early_stopping and validation is not None):
            optimizer.iteration_ends(self.t_, self.loss_curve_[-1])
        elif self.early_stopping_metric == "loss":
            optimizer.iteration_ends(self.t_, self.validation_loss_curve_[-1])
        else:
            optimizer.iteration_ends(self.t_, self.validation_scores_[-1], True)

        stop = incremental
        if self._no_improvement_count > self.n_iter_no_change:
            # not better than last `n_iter_no_change` iterations by tol
            # stop or decrease learning rate
            if self.early_stopping and validation is not None:
                msg = (
                    "Validation %s did not improve more than "
                    "tol=%f for %d consecutive epochs."
                    % (self.early_stopping_metric, self.tol, self.n_iter_no_change)
                )
            else:
                msg = (
                    "Training loss did not improve more than tol=%f"
                    " for %d consecutive epochs."
                    % (self.tol, self.n_iter_no_change)
                )
            if optimizer.trigger_stopping(msg, self.verbose):
                stop = True
            else:
                self._no_improvement_count = 0

        # a callback asking to stop ends training after this epoch
        stop = callbacks.end_epoch() or stop
        if not stop and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) "
                "reached and the optimization hasn't converged yet."
                % self.max_iter,
                ConvergenceWarning,
            )
        return stop

    @staticmethod
    def _check_zero_weight_batch(sample_weight, order, start, batch_size):
        """Name the cause when the minibatch at `start` went non-finite
        because its sample weights are all zero: its gradient is divided by
        the batch's weight sum (scikit-learn's scaling), 0 / 0."""
        if sample_weight.shape[0] == 0:
            return
        rows = order[start:start + batch_size]
        if rows.shape[0] and not sample_weight[rows].any():
            raise ValueError(
                f"A minibatch of {rows.shape[0]} rows has sample weights that are "
                "all zero, so its gradient (divided by the batch's weight sum) is "
                "undefined. Drop the zero-weight rows, or use a larger batch_size."
            )

    def _reset_stopping_state(self, early_stopping, incremental):
        """Make the stopping state match this call's early_stopping setting.

        scikit-learn bug: with warm_start it keeps the previous fit's best
        validation score and best weights, so a later fit can "restore"
        weights that are not its best (or crash when early_stopping was
        switched on between fits). Each fit with early stopping starts its
        own record here.
        """
        if not hasattr(self, "loss_curve_"):
            self.loss_curve_ = []
        if not hasattr(self, "_no_improvement_count"):
            self._no_improvement_count = 0
        if early_stopping and not incremental:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
            self._no_improvement_count = 0
            self._best_params = self._params.copy()
            self._keep_best_state()
        elif not early_stopping and getattr(self, "best_loss_", None) is None:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _keep_best_state(self):
        """Early stopping's best running statistics, beside its best weights."""
        state = self.__dict__.get("_bn_state")
        if state is not None:
            self._best_bn_state = state.copy()

    def _n_outputs(self, y):
        """Width of the output layer for the target matrix y."""
        return y.shape[1]

    def _stratify_labels(self, y):
        """Labels to stratify the validation split by, or None."""
        return None

    def _reset_validation_records(self, validation, incremental):
        """validation_loss_curve_ and best_validation_loss_: new records for
        a fit with validation data, None for one without; partial_fit keeps
        what the fit before it recorded."""
        if validation is not None:
            self.validation_loss_curve_ = []
            self.best_validation_loss_ = np.inf
        elif not incremental or "validation_loss_curve_" not in self.__dict__:
            self.validation_loss_curve_ = None
            self.best_validation_loss_ = None

    def _update_no_improvement_count(self, validation):
        by_loss = self.early_stopping_metric == "loss"
        if validation is not None:
            # the engine's loss of the validation rows (can be NaN or inf)
            val_loss = validation.loss()
            self.validation_loss_curve_.append(val_loss)
            if self.verbose and (by_loss or validation.given):
                print("Validation loss: %f" % val_loss)
            best_loss = self.best_validation_loss_
            if val_loss < best_loss:
                self.best_validation_loss_ = val_loss
        if self.early_stopping and validation is not None:
            # compute validation score (can be NaN), use that for stopping
            val_score = self._score(validation.X, validation.y,
                                    sample_weight=validation.sample_weight)

            self.validation_scores_.append(val_score)

            if self.verbose:
                print("Validation score: %f" % self.validation_scores_[-1])
            # update best parameters
            # use validation_scores_, not loss_curve_
            last_valid_score = self.validation_scores_[-1]
            if by_loss:
                # NaN is no improvement
                improved = val_loss < best_loss - self.tol
                best = val_loss < best_loss
            else:
                improved = not last_valid_score < (self.best_validation_score_ + self.tol)
                best = last_valid_score > self.best_validation_score_
            if last_valid_score > self.best_validation_score_:
                self.best_validation_score_ = last_valid_score
            if improved:
                self._no_improvement_count = 0
            else:
                self._no_improvement_count += 1
            if best:
                np.copyto(self._best_params, self._params)
                self._keep_best_state()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
            X_val: MatrixLike | None = None, y_val: ArrayLike | None = None,
            sample_weight_val: ArrayLike | None = None) -> Self:
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        X_val : ndarray or sparse matrix of shape (n_val, n_features), default=None
            Validation inputs (stochastic solvers), used instead of the
            ``validation_fraction`` split: with early_stopping each epoch is
            scored on them (and stopped on their score or loss, see
            ``early_stopping_metric``); always their loss is recorded in
            ``validation_loss_curve_``. In a Pipeline, transform them as X
            with ``Pipeline(..., transform_input=["X_val"])`` (metadata
            routing, with ``set_fit_request(X_val=True, y_val=True)``).

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Validation targets, required with X_val; a classifier's must be
            classes of y.

        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows. class_weight does not apply to
            them (as in HistGradientBoostingClassifier); it does apply to
            the rows early_stopping splits off X, as to all of X.

        Returns
        -------
        self : object
            Returns a trained MLP model.
        """
        callbacks = fit_callbacks(
            self, self.max_iter + 1 if self.solver == "lbfgs" else self.max_iter)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         validation_data=(X_val, y_val, sample_weight_val),
                         callbacks=callbacks)

    def _check_changed_params(self):
        """Validate the parameters when one changed since they last were.

        scikit-learn's _fit_context skips validation in partial_fit once the
        model is fitted, to keep the call cheap; a parameter set in between
        (alpha="high", activation="swish") would then reach the engine. The
        values are compared by identity: a few microseconds.
        """
        values = _param_values(type(self))(self)
        seen = self.__dict__.get("_validated_params")
        if seen is None or not all(map(operator.is_, values, seen)):
            self._validate_params()
            self._validated_params = values

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    # -- prediction ---------------------------------------------------------

    def _forward_pass_fast(self, X, check_input=True):
        """The network's output for X, computed by the engine.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        check_input : bool, default=True
            Perform input data validation or not.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_outputs)
            The output layer's activations, in the model's dtype.
        """
        network, params = self._inference_engine()
        dtype = params.dtype
        check_output = check_input
        if check_input and not self._is_engine_ready(X, dtype):
            check_sparse_structure(X)
            check_numeric_kind(X)
            X = validate_data(
                self, X, accept_sparse=["csr", "csc"], reset=False, dtype=dtype
            )
            check_input = False
        out = np.empty((X.shape[0], self.n_outputs_), dtype=dtype)
        chunk_rows = _chunk_rows(X.shape[0], network.spec)
        if X.shape[0] <= chunk_rows:
            # one chunk (a one-row predict among them): nothing to spread
            finite = _predict(network, params, X, out, chunk_rows, check_input, 1)
        else:
            chunk_rows = _chunk_rows(X.shape[0], network.spec, _THREAD_CHUNK_VALUES)
            n_threads = chunk_threads(network.spec, X.shape[0], chunk_rows)
            with single_threaded_blas(n_threads > 1):
                finite = _predict(network, params, X, out, chunk_rows, check_input,
                                  n_threads)
        if not finite:
            # the fast path met a NaN or an infinity: let validation say so
            validate_data(self, X, reset=False, dtype=dtype)
            raise ValueError("Input X contains NaN or infinity.")
        if check_output and not _all_finite(out):
            # never hand back NaN silently; name the cause: weights edited to
            # NaN in place (issue 10), or finite X that overflows a layer
            where = first_non_finite(self.coefs_, self.intercepts_)
            if where is not None:
                raise ValueError(non_finite_parameters(where))
            largest = max(float(np.abs(W).max()) for W in self.coefs_ + self.intercepts_)
            raise ValueError(
                "The network's output is not finite for some rows of X: their "
                "values are too large for the model's weights (a layer overflowed "
                f"{np.finfo(dtype).max:.3g}; the largest weight is {largest:.3g}). "
                "Scale X as the training data was scaled."
            )
        return out

    # -- inspection ---------------------------------------------------------

    def loss_gradient(
        self, X: ArrayLike | sp.spmatrix | sp.sparray, y: ArrayLike,
        sample_weight: ArrayLike | None = None,
    ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """The training objective on (X, y) and its gradient.

        The objective is the one the solver minimises, as the fit computes
        it: with sample weights s_i (1 when not given; for a classifier
        with ``class_weight``, multiplied by the class weights as fit
        multiplies them, "balanced" counting the classes of this y) and
        n = sum_i s_i::

            loss = sum_i s_i * loss_i / n  +  alpha / (2 n) * sum_l ||coefs_[l]||^2

        a weighted mean of the per-sample loss plus the L2 term
        (intercepts are not penalised). loss_i is that of the model's loss,
        scikit-learn's: for squared_error ``0.5 * mean_k (y_ik - p_ik)**2``
        (a mean over the outputs), for poisson ``sum_k (y_ik log(y_ik /
        p_ik) - y_ik + p_ik)``, for the log-loss ``-sum_k y_ik log p_ik``
        (with 1 - p for binary and multilabel outputs; probabilities
        clipped to [eps, 1 - eps] of the model's dtype). This is the value
        solver="lbfgs" minimises and reports in ``loss_``; with full
        batches it is what ``loss_curve_`` reports (each minibatch's loss
        divides the L2 term by that minibatch's weight sum instead).

        The gradient is the exact gradient of that loss, computed by
        back-propagation in the engine (the full-batch pass lbfgs runs), in
        the model's dtype. (For squared_error with several outputs, sgd and
        adam take the data term's gradient n_outputs times, as
        scikit-learn's do, and the L2 term's once.) At a kink
        of a loss the subgradient taken is 0; at an activation's kink, z = 0,
        the derivative taken is that of the side z <= 0: 0 for relu
        (scikit-learn's), ``negative_slope`` for leaky_relu, the left
        derivative for elu and selu; softplus at its threshold takes
        ``sigmoid(softplus_beta * z)``.

        The objective is the training one: layer options that behave
        differently in training and at prediction enter it as the
        full-batch (lbfgs) pass runs them. Nothing in the model changes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data, validated as for predict and cast to the
            model's dtype.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets, as fit takes them: for a classifier, labels among
            ``classes_`` (a 0/1 indicator matrix for multilabel models).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights, not all zero.

        Returns
        -------
        loss : float
            The objective above.

        coef_grads : list of ndarray
            d loss / d coefs_[l], shaped like ``coefs_``, in the model's dtype.

        intercept_grads : list of ndarray
            d loss / d intercepts_[l], shaped like ``intercepts_``.

        See Also
        --------
        forward_pass : Every layer's pre-activations and activations.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp import MLPRegressor
        >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 4.0])
        >>> reg = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs",
        ...                    random_state=0).fit(X, y)
        >>> loss, coef_grads, intercept_grads = reg.loss_gradient(X, y)
        >>> [g.shape for g in coef_grads]
        [(1, 3), (3, 1)]
        >>> bool(np.isclose(loss, reg.loss_))
        True
        """
        if "coefs_" not in self.__dict__:
            check_is_fitted(self)
        return _inspection.loss_gradient(self, X, y, sample_weight)

    def forward_pass(self, X: ArrayLike | sp.spmatrix | sp.sparray) -> _inspection.ForwardPass:
        """Every layer's pre-activations and activations for X.

        With A_0 = X, layer l computes ``Z_l = A_{l-1} @ coefs_[l-1] +
        intercepts_[l-1]`` and ``A_l = f_l(Z_l)``: f_l the hidden layer's
        activation (``activation``, one per layer when it is a list), and
        for the output layer its ``out_activation_``. Computed by the
        engine with the products and kernels predictions use, so A_L is
        what predict_proba returns (its positive-class column for a binary
        classifier) or, for a regressor, predict. The network is the one
        predict runs (inference mode: layer options that act only in
        training are off). Values are returned as computed, NaN and
        infinities included (predict refuses them), so an overflowing layer
        can be found. Nothing in the model changes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data, validated as for predict.

        Returns
        -------
        result : ForwardPass
            A named tuple ``(pre_activations, activations)``:
            ``pre_activations`` the list Z_1, ..., Z_L and ``activations``
            the list A_0, ..., A_L, with A_0 the validated X (in the model's
            dtype) and each other array of shape (n_samples, units of its
            layer), in the model's dtype.

        See Also
        --------
        loss_gradient : The training objective and its gradient.

        Examples
        --------
        >>> import numpy as np
        >>> from fastmlp import MLPClassifier
        >>> X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), [0, 1, 2]
        >>> clf = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs",
        ...                     random_state=0).fit(X, y)
        >>> Z, A = clf.forward_pass(X)
        >>> [z.shape for z in Z]
        [(3, 4), (3, 3)]
        >>> bool(np.allclose(A[-1], clf.predict_proba(X)))
        True
        """
        if "coefs_" not in self.__dict__:
            check_is_fitted(self)
        return _inspection.forward_pass(self, X)

    def _is_engine_ready(self, X, dtype):
        """Whether X can go to the engine as it is (a fast path for small
        predictions: full validation costs tens of microseconds, a one-row
        forward pass one). The engine still checks that X is finite."""
        return (
            type(X) is np.ndarray
            and X.dtype == dtype
            and X.ndim == 2
            and X.flags.c_contiguous
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and "feature_names_in_" not in self.__dict__
        )

    def _score_with_function(self, X, y, sample_weight, score_function):
        """Private score method without input validation."""
        # Input validation would remove feature names, so we disable it
        y_pred = self._predict(X, check_input=False)

        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan

        return score_function(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
