"""scikit-learn's callback API (``sklearn.callback``, scikit-learn 1.9 on):
a callback context per fit or partial_fit call, whose subtasks are the
epochs (lbfgs: its iterations).

An estimator without callbacks gets NO_CALLBACKS, whose hooks do nothing:
such a fit creates no context and computes nothing for callbacks. With
callbacks, what a hook may take (the training rows, their labels, a fitted
copy of the model at the end of an epoch) is handed to the context as a
function, which it calls only when a callback's hook asks for that argument
(sklearn.callback's lazy arguments): a ProgressBar costs no copy of the
model or of the data.

A callback whose on_fit_task_end returns True at the end of an epoch stops
training there; the model is that of the epochs done (with early_stopping,
the best of them, as at any end of training).
"""
import numpy as np
from sklearn.callback import CallbackSupportMixin as _SklearnCallbackSupport
from sklearn.callback import FitCallback

from ._consistency import describe
from ._layer_options import batch_norm_views
from ._parameters import parameter_views

_HOOKS = ("setup", "on_fit_task_begin", "on_fit_task_end", "teardown")


class CallbackSupportMixin(_SklearnCallbackSupport):
    """scikit-learn's callback support, refusing what is not a callback in
    words that say which argument and why."""

    def set_callbacks(self, *callbacks):
        """Set callbacks for the estimator.

        Parameters
        ----------
        *callbacks : callback instances
            Objects following ``sklearn.callback.FitCallback`` (methods
            setup, on_fit_task_begin, on_fit_task_end, teardown), such as
            ``sklearn.callback.ProgressBar()`` or ``ScoringMonitor(...)``.

        Returns
        -------
        self : estimator instance
            The estimator instance itself.
        """
        for i, callback in enumerate(callbacks):
            _check_callback(i, callback)
        return super().set_callbacks(*callbacks)


def _check_callback(i, callback):
    if isinstance(callback, type):
        raise TypeError(
            f"set_callbacks takes callback instances, but argument {i} is the class "
            f"{callback.__name__}: pass {callback.__name__}() instead."
        )
    if not isinstance(callback, FitCallback):
        missing = [name for name in _HOOKS if not callable(getattr(callback, name, None))]
        raise TypeError(
            f"set_callbacks argument {i} is {describe(callback)}, not a callback: it has "
            f"no {', '.join(missing)} method{'s' if len(missing) > 1 else ''}. Callbacks "
            "follow sklearn.callback.FitCallback, e.g. sklearn.callback.ProgressBar()."
        )


class _NoCallbacks:
    """The hooks of a fit without callbacks: nothing to do."""

    def set_data(self, X, Y, sample_weight):
        pass

    def begin_fit(self, rows=None):
        pass

    def begin_epoch(self, task_name="epoch"):
        pass

    def end_epoch(self, params=None, **attributes):
        return False

    def close_epoch(self):
        pass

    def end_fit(self):
        pass


NO_CALLBACKS = _NoCallbacks()


def fit_callbacks(estimator, max_subtasks):
    """The callback context of one fit or partial_fit call, with the
    estimator's callbacks set up; NO_CALLBACKS when it has none.

    Called before the call changes the estimator, so that a failed call,
    which restores the estimator's attributes, keeps the context that
    sklearn's _fit_context tears the callbacks down with.
    """
    if not estimator.__dict__.get("_skl_callbacks"):
        return NO_CALLBACKS
    return FitCallbacks(estimator, estimator._init_callback_context(max_subtasks=max_subtasks))


class FitCallbacks:
    """The hooks of one call of an estimator with callbacks.

    Parameters
    ----------
    estimator : BaseMultilayerPerceptron
    context : sklearn.callback.CallbackContext
        The root context of the call.
    """

    def __init__(self, estimator, context):
        self._estimator = estimator
        self._context = context
        self._epoch = None
        self._source = None
        self._data = None

    def set_data(self, X, Y, sample_weight):
        """The call's training data: validated X, the encoded targets, the
        sample weights the user passed (or None)."""
        self._source = (X, Y, sample_weight, None)

    def begin_fit(self, rows=None):
        """The root task begins; `rows`: the training rows when a validation
        split holds some out (read when a hook asks, in sorted order)."""
        X, Y, sample_weight, _ = self._source
        self._source = (X, Y, sample_weight, rows)
        self._context.call_on_fit_task_begin(
            estimator=self._estimator, X=self._X, y=self._y, metadata=self._metadata)

    def begin_epoch(self, task_name="epoch"):
        self._epoch = self._context.subcontext(task_name=task_name)
        self._epoch.call_on_fit_task_begin(
            estimator=self._estimator, X=self._X, y=self._y, metadata=self._metadata)

    def end_epoch(self, params=None, **attributes):
        """The epoch (or lbfgs iteration) ends with the estimator's current
        parameters, or `params` (lbfgs's iterate) and training records
        `attributes`. Returns whether a callback asks to stop training."""
        return self._epoch.call_on_fit_task_end(
            estimator=self._estimator, X=self._X, y=self._y, metadata=self._metadata,
            reconstruction_attributes=lambda: {**self._snapshot(params), **attributes})

    def close_epoch(self):
        """End an lbfgs iteration begun but never run (the optimizer
        stopped first), as an empty task."""
        self._epoch.call_on_fit_task_end(estimator=self._estimator)

    def end_fit(self):
        self._context.call_on_fit_task_end(
            estimator=self._estimator, X=self._X, y=self._y, metadata=self._metadata,
            reconstruction_attributes={})

    # -- what hooks may ask for, computed at the first request ---------------

    def _training_data(self):
        if self._data is None:
            X, Y, sample_weight, rows = self._source
            if rows is not None:
                rows = np.sort(rows)  # the epochs shuffle them in place
                X, Y = X[rows], Y[rows]
                sample_weight = None if sample_weight is None else sample_weight[rows]
            metadata = None if sample_weight is None else {"sample_weight": sample_weight}
            self._data = (X, self._estimator._labels_of(Y), metadata)
        return self._data

    def _X(self):
        return self._training_data()[0]

    def _y(self):
        return self._training_data()[1]

    def _metadata(self):
        return self._training_data()[2]

    def _snapshot(self, params):
        """Attributes that make a copy of the estimator the model as it is
        now: its parameters copied (training goes on changing the
        estimator's in place) and its training records as they stand."""
        estimator = self._estimator
        live = estimator._params
        flat = live.copy() if params is None else np.asarray(params, dtype=live.dtype).copy()
        coefs, intercepts = parameter_views(flat, estimator._spec)
        attributes = {"_params": flat, "coefs_": coefs, "intercepts_": intercepts,
                      "_param_views": tuple(coefs) + tuple(intercepts)}
        state = estimator.__dict__.get("_bn_state")
        if state is not None:
            # batch norm: gamma and beta in the copied buffer, the running
            # statistics copied too (training goes on updating them)
            state = state.copy()
            views = batch_norm_views(flat, state, estimator._spec)
            attributes.update(_bn_state=state, batch_norm_=views,
                              _param_views=attributes["_param_views"] + tuple(
                                  layer[key] for layer in views if layer is not None
                                  for key in ("gamma", "beta", "running_mean",
                                              "running_var")))
        for name in ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_",
                     "best_validation_loss_"):
            if name in estimator.__dict__:
                attributes[name] = estimator.__dict__[name]
        for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
            value = estimator.__dict__.get(name)
            if isinstance(value, list):
                attributes[name] = list(value)
        return attributes
