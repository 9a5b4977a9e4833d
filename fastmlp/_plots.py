"""Pictures of a fitted network, in scikit-learn's Display style.

A Display holds the numbers it draws (built by ``from_estimator`` or given
to its constructor) and draws them with ``plot(ax=None, **kwargs)``, keeping
the matplotlib artists it made (``line_``, ``surface_``, ...) with ``ax_``
and ``figure_``, as ``sklearn.metrics.RocCurveDisplay`` does. matplotlib is
imported only when something is drawn: it is the optional extra
``fastmlp[plots]``. This module itself is imported at the first use of a
Display (fastmlp's ``__getattr__``), since scikit-learn's inspection module
it builds on is slow to import.

- ``LossCurveDisplay``: ``loss_curve_`` per epoch (lbfgs keeps none: its
  loss per iteration, recorded by a callback), the validation loss and
  score per epoch when the fit had validation data, and the epoch early
  stopping restored.
- ``DecisionRegionsDisplay``: scikit-learn's ``DecisionBoundaryDisplay`` for
  a classifier of two features, which also refuses multilabel models (whose
  outputs are not one class per point) and can draw the training points in
  their classes' colours.
"""
import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _num_features, _num_samples, check_is_fitted

_RESPONSE_METHODS = ("auto", "predict_proba", "decision_function", "predict")


def _check_matplotlib(caller_name):
    """scikit-learn's check_matplotlib_support, naming fastmlp's extra."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib: pip install \"fastmlp[plots]\" "
            "(or pip install matplotlib)."
        ) from exc


def _curve(values, name):
    """A 1-D float array of a curve, or None."""
    if values is None:
        return None
    curve = np.asarray(values, dtype=float)
    if curve.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers; got shape {curve.shape}.")
    return curve


class LossCurveDisplay:
    """Training loss per epoch (or iteration), with the validation loss and score.

    Build it with :meth:`from_estimator` from a fitted ``MLPClassifier`` or
    ``MLPRegressor`` (any estimator with a ``loss_curve_``), or from curves
    of your own; all parameters are stored as attributes.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        The training loss after each epoch (``loss_curve_``), drawn at
        epochs ``1 ... n_epochs``; or lbfgs's loss after each iteration,
        recorded by a callback (lbfgs keeps no ``loss_curve_``: see
        :meth:`from_estimator`).

    validation_loss_curve : array-like of shape (n_val,), default=None
        The validation data's loss after each epoch
        (``validation_loss_curve_``).

    validation_scores : array-like of shape (n_val,), default=None
        The validation data's score after each epoch (``validation_scores_``:
        accuracy or R²), drawn on a second y-axis.

    validation_epochs : array-like of shape (n_val,), default=None
        The epochs the validation values belong to. None: the last ``n_val``
        epochs of ``loss_curve`` (a warm start's validation record covers
        that fit's epochs only).

    best_epoch : int, default=None
        The epoch whose weights the model kept (early stopping restores
        them), marked on the curve ``monitor`` names.

    monitor : {"loss", "score"}, default="loss"
        Which validation curve ``best_epoch`` was chosen on.

    unit : str, default="epoch"
        What the x-axis counts (``"iteration"`` for lbfgs).

    score_name : str, default="score"
        The score's name on its axis and in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The training loss.

    validation_line_ : matplotlib Line2D or None
        The validation loss.

    score_line_ : matplotlib Line2D or None
        The validation score, on ``score_ax_``.

    best_marker_ : matplotlib Line2D or None
        The marker at ``best_epoch``.

    ax_ : matplotlib Axes
        The axes of the losses.

    score_ax_ : matplotlib Axes or None
        The axes of the validation score (a twin of ``ax_``).

    figure_ : matplotlib Figure
        The figure holding ``ax_``.

    See Also
    --------
    LossCurveDisplay.from_estimator : Plot a fitted model's curves.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from fastmlp import LossCurveDisplay, MLPClassifier
    >>> X, y = make_moons(200, noise=0.2, random_state=0)
    >>> clf = MLPClassifier((16,), early_stopping=True, max_iter=300,
    ...                     random_state=0).fit(X, y)
    >>> display = LossCurveDisplay.from_estimator(clf)
    >>> display.best_epoch == 1 + int(np.argmax(clf.validation_scores_))
    True
    """

    def __init__(self, *, loss_curve, validation_loss_curve=None, validation_scores=None,
                 validation_epochs=None, best_epoch=None, monitor="loss", unit="epoch",
                 score_name="score"):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.validation_epochs = validation_epochs
        self.best_epoch = best_epoch
        self.monitor = monitor
        self.unit = unit
        self.score_name = score_name

    def _curves(self):
        """The curves as arrays with their x values, checked against each other."""
        loss = _curve(self.loss_curve, "loss_curve")
        if loss is None or loss.shape[0] == 0:
            raise ValueError("loss_curve is empty: there is nothing to plot.")
        val_loss = _curve(self.validation_loss_curve, "validation_loss_curve")
        scores = _curve(self.validation_scores, "validation_scores")
        lengths = {c.shape[0] for c in (val_loss, scores) if c is not None}
        if len(lengths) > 1:
            raise ValueError(
                "validation_loss_curve and validation_scores must have one value per "
                f"validation epoch each; got {val_loss.shape[0]} and {scores.shape[0]}.")
        n_val = lengths.pop() if lengths else 0
        if self.validation_epochs is None:
            if n_val > loss.shape[0]:
                raise ValueError(
                    f"{n_val} validation values for {loss.shape[0]} training "
                    f"{self.unit}s: pass validation_epochs to place them.")
            val_epochs = np.arange(loss.shape[0] - n_val, loss.shape[0]) + 1
        else:
            val_epochs = _curve(self.validation_epochs, "validation_epochs")
            if val_epochs.shape[0] != n_val:
                raise ValueError(
                    f"validation_epochs has {val_epochs.shape[0]} values for {n_val} "
                    "validation values.")
        if self.monitor not in ("loss", "score"):
            raise ValueError(f"monitor must be 'loss' or 'score'; got {self.monitor!r}.")
        return loss, val_loss, scores, val_epochs

    def plot(self, ax=None, *, name=None, score_ax=None, **kwargs):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw the losses on; None: a new figure's.

        name : str, default=None
            A name put before each legend entry (to tell models apart on
            one axes).

        score_ax : matplotlib Axes, default=None
            Axes for the validation score; None: a twin of ``ax`` (made only
            when there are scores).

        **kwargs : dict
            Keyword arguments of the training loss's ``ax.plot`` (color,
            linewidth, ...). The validation curves take its colour, dashed
            (loss) and dotted (score).

        Returns
        -------
        display : LossCurveDisplay
            This display, with the artists drawn.
        """
        _check_matplotlib("LossCurveDisplay.plot")
        import matplotlib.pyplot as plt

        loss, val_loss, scores, val_epochs = self._curves()
        best = self._best_index(val_epochs)
        if ax is None:
            _, ax = plt.subplots()
        prefix = "" if name is None else f"{name}: "
        line_kwargs = {"label": f"{prefix}training loss", **kwargs}
        (self.line_,) = ax.plot(np.arange(1, loss.shape[0] + 1), loss, **line_kwargs)
        color = self.line_.get_color()

        self.validation_line_ = self.score_line_ = self.score_ax_ = None
        if val_loss is not None:
            (self.validation_line_,) = ax.plot(
                val_epochs, val_loss, color=color, linestyle="--",
                label=f"{prefix}validation loss")
        if scores is not None:
            self.score_ax_ = ax.twinx() if score_ax is None else score_ax
            (self.score_line_,) = self.score_ax_.plot(
                val_epochs, scores, color=color, linestyle=":",
                label=f"{prefix}validation {self.score_name}")
            self.score_ax_.set_ylabel(f"validation {self.score_name}")

        self.best_marker_ = None
        if best is not None:
            watched_ax, watched = ((ax, val_loss) if self.monitor == "loss"
                                   else (self.score_ax_, scores))
            (self.best_marker_,) = watched_ax.plot(
                [val_epochs[best]], [watched[best]], marker="*", markersize=14,
                color=color, markeredgecolor="black", linestyle="none",
                label=f"{prefix}restored ({self.unit} {self.best_epoch})")

        ax.set_xlabel(self.unit)
        ax.set_ylabel("loss")
        handles, labels = ax.get_legend_handles_labels()
        if self.score_ax_ is not None:
            more = self.score_ax_.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
            # a twin is drawn over its axes, and would cover ax's legend
            ax.set_zorder(self.score_ax_.get_zorder() + 1)
            ax.patch.set_visible(False)
        ax.legend(handles, labels)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _best_index(self, val_epochs):
        """best_epoch's position among the validation epochs, or None."""
        if self.best_epoch is None:
            return None
        curve = self.validation_loss_curve if self.monitor == "loss" else self.validation_scores
        where = np.flatnonzero(val_epochs == self.best_epoch)
        if curve is None or where.shape[0] == 0:
            raise ValueError(
                f"best_epoch={self.best_epoch} is not an epoch of the validation "
                f"{self.monitor} (monitor={self.monitor!r}).")
        return int(where[0])

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot a fitted network's loss curves.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            A fitted model (any estimator with a ``loss_curve_``). Its
            ``validation_loss_curve_`` and ``validation_scores_`` are drawn
            when the fit recorded them (validation data given as ``X_val`` or
            split off by ``early_stopping``), and with early stopping the
            epoch whose weights it restored (the best validation score, or
            loss for ``early_stopping_metric="loss"``) is marked.

        ax : matplotlib Axes, default=None
            Axes to draw on; None: a new figure's.

        name : str, default=None
            A name put before each legend entry.

        **kwargs : dict
            Keyword arguments of the training loss's ``ax.plot``.

        Returns
        -------
        display : LossCurveDisplay
            The display, drawn.
        """
        _check_matplotlib("LossCurveDisplay.from_estimator")
        check_is_fitted(estimator)
        loss_curve = getattr(estimator, "loss_curve_", None)
        if loss_curve is None:
            if getattr(estimator, "solver", None) == "lbfgs":
                raise ValueError(
                    "solver='lbfgs' keeps no loss_curve_ (as in scikit-learn). Record its "
                    "loss per iteration with a callback and pass it as loss_curve: "
                    "monitor = ScoringMonitor(scoring={'loss': lambda est, X, y: "
                    "est.loss_}); model.set_callbacks(monitor).fit(X, y); then "
                    "LossCurveDisplay(loss_curve=[row['loss'] for row in "
                    "monitor.get_logs().data if row['task_name'] == 'iteration'], "
                    "unit='iteration').plot().")
            raise ValueError(
                f"{type(estimator).__name__} has no loss_curve_ to plot: it was not "
                "trained by epochs (fit an MLPClassifier or MLPRegressor).")
        val_loss, scores = _last_fit_validation(estimator)
        monitor = getattr(estimator, "early_stopping_metric", "score")
        best_epoch = None
        if getattr(estimator, "early_stopping", False) and scores:
            watched = np.asarray(val_loss if monitor == "loss" else scores, dtype=float)
            # the first best value is the one kept (a later equal one is no
            # improvement); NaN never is
            if not np.isnan(watched).all():
                at = np.nanargmin(watched) if monitor == "loss" else np.nanargmax(watched)
                best_epoch = len(loss_curve) - len(scores) + 1 + int(at)
        display = cls(
            loss_curve=loss_curve,
            validation_loss_curve=val_loss,
            validation_scores=scores,
            best_epoch=best_epoch,
            monitor=monitor if monitor in ("loss", "score") else "score",
            score_name="accuracy" if is_classifier(estimator) else "R²",
        )
        return display.plot(ax=ax, name=name, **kwargs)


def _last_fit_validation(estimator):
    """validation_loss_curve_ and validation_scores_ when they belong to the
    last epochs of loss_curve_, else None and None.

    Each fit starts new validation records, while a warm start's loss_curve_
    goes on from the fit before: the records cover the last n_iter_ epochs.
    partial_fit records no validation values but keeps the last fit's, so
    after it they cannot be placed and are left out, with a warning.
    """
    val_loss = getattr(estimator, "validation_loss_curve_", None)
    scores = getattr(estimator, "validation_scores_", None)
    n_val = max(len(c) for c in (val_loss, scores, ()) if c is not None)
    if n_val and n_val != getattr(estimator, "n_iter_", n_val):
        warnings.warn(
            "The validation records belong to a fit before the last partial_fit, whose "
            "epochs they cannot be placed on: only the training loss is plotted.",
            UserWarning)
        return None, None
    return val_loss, scores


class DecisionRegionsDisplay(DecisionBoundaryDisplay):
    """The decision regions of a classifier of two features.

    scikit-learn's :class:`~sklearn.inspection.DecisionBoundaryDisplay`
    (same parameters, attributes and drawing), which also refuses multilabel
    and multi-output models, names the reason when a response method is
    missing (a hinge model has no ``predict_proba``, a log-loss one no
    ``decision_function``), and draws the training points in their classes'
    colours when given ``y``.

    Parameters
    ----------
    xx0, xx1, n_classes, response, multiclass_colors, xlabel, ylabel
        As in ``DecisionBoundaryDisplay``.

    X : array-like of shape (n_samples, 2), default=None
        Points drawn over the regions (with ``y``).

    y : array-like of shape (n_samples,), default=None
        The points' labels.

    classes : array-like of shape (n_classes,), default=None
        The classifier's ``classes_``, to colour ``y``; None: y's labels.

    positive_class : object, default=None
        For a response of one value per point (binary, or
        ``class_of_interest``): the class drawn in the colormap's high end.

    Attributes
    ----------
    surface_, multiclass_colors_, ax_, figure_
        As in ``DecisionBoundaryDisplay``.

    scatter_ : matplotlib PathCollection or None
        The points, when ``X`` and ``y`` are given.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from fastmlp import DecisionRegionsDisplay, MLPClassifier
    >>> X, y = make_moons(200, noise=0.2, random_state=0)
    >>> clf = MLPClassifier((16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> display = DecisionRegionsDisplay.from_estimator(
    ...     clf, X, y, response_method="predict_proba", alpha=0.6)
    >>> display.response.shape
    (100, 100)
    """

    def __init__(self, *, xx0, xx1, n_classes, response, multiclass_colors=None,
                 xlabel=None, ylabel=None, X=None, y=None, classes=None,
                 positive_class=None):
        super().__init__(xx0=xx0, xx1=xx1, n_classes=n_classes, response=response,
                         multiclass_colors=multiclass_colors, xlabel=xlabel, ylabel=ylabel)
        self.X = X
        self.y = y
        self.classes = classes
        self.positive_class = positive_class

    def plot(self, plot_method="contourf", ax=None, xlabel=None, ylabel=None, *,
             scatter_kwargs=None, **kwargs):
        """Draw the regions, and the points if the display holds them.

        Parameters
        ----------
        plot_method, ax, xlabel, ylabel, **kwargs
            As in ``DecisionBoundaryDisplay.plot``.

        scatter_kwargs : dict, default=None
            Keyword arguments of the points' ``ax.scatter`` (``s``,
            ``edgecolors``, ``marker``, ...).

        Returns
        -------
        display : DecisionRegionsDisplay
            This display, drawn.
        """
        _check_matplotlib("DecisionRegionsDisplay.plot")
        super().plot(plot_method=plot_method, ax=ax, xlabel=xlabel, ylabel=ylabel, **kwargs)
        self.scatter_ = None
        if self.X is not None and self.y is not None:
            self.scatter_ = self._plot_points(scatter_kwargs)
        return self

    def _plot_points(self, scatter_kwargs):
        """Each point in its class's colour: the class's own colour when the
        regions show every class, else the colormap's high end for the
        positive class and its low end for the others."""
        X = np.asarray(self.X, dtype=float)
        y = np.asarray(self.y)
        classes = np.unique(y) if self.classes is None else np.asarray(self.classes)
        index = np.searchsorted(classes, y) if _is_sorted(classes) else np.array(
            [np.flatnonzero(classes == label)[0] for label in y], dtype=np.intp)
        if self.n_classes > 2:
            colors = self.multiclass_colors_[index]
        else:
            positive = classes[-1] if self.positive_class is None else self.positive_class
            surfaces = self.surface_ if isinstance(self.surface_, list) else [self.surface_]
            cmap = surfaces[0].get_cmap()
            colors = np.where((y == positive)[:, None],
                              np.asarray(cmap(1.0))[None, :], np.asarray(cmap(0.0))[None, :])
        style = {"edgecolors": "black", "s": 20, **(scatter_kwargs or {})}
        return self.ax_.scatter(X[:, 0], X[:, 1], c=colors, **style)

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, grid_resolution=100, eps=1.0,
                       plot_method="contourf", response_method="auto",
                       class_of_interest=None, multiclass_colors=None, xlabel=None,
                       ylabel=None, ax=None, scatter_kwargs=None, **kwargs):
        """Plot a fitted classifier's decision regions over two features.

        Parameters
        ----------
        estimator : MLPClassifier
            A fitted classifier of two features (any scikit-learn
            classifier); not multilabel.

        X : array-like of shape (n_samples, 2)
            Data whose range (widened by ``eps``) the grid covers: usually
            the training data.

        y : array-like of shape (n_samples,), default=None
            X's labels: when given, X's points are drawn over the regions in
            their classes' colours.

        grid_resolution, eps, plot_method, response_method, class_of_interest, \
multiclass_colors, xlabel, ylabel, ax, **kwargs
            As in ``DecisionBoundaryDisplay.from_estimator``.

        scatter_kwargs : dict, default=None
            Keyword arguments of the points' ``ax.scatter``.

        Returns
        -------
        display : DecisionRegionsDisplay
            The display, drawn.
        """
        _check_matplotlib("DecisionRegionsDisplay.from_estimator")
        check_is_fitted(estimator)
        _check_classifier(estimator)
        _check_two_features(estimator, X)
        _check_response_method(estimator, response_method)
        if y is not None:
            y = _check_points(estimator, X, y)
        display = super().from_estimator(
            estimator, X, grid_resolution=grid_resolution, eps=eps, plot_method=plot_method,
            response_method=response_method, class_of_interest=class_of_interest,
            multiclass_colors=multiclass_colors, xlabel=xlabel, ylabel=ylabel, ax=ax,
            **kwargs)
        display.classes = estimator.classes_
        if display.n_classes == 2 or class_of_interest is not None:
            display.positive_class = (estimator.classes_[1] if class_of_interest is None
                                      else class_of_interest)
        if y is not None:
            display.X = np.column_stack([_safe_indexing(X, 0, axis=1),
                                         _safe_indexing(X, 1, axis=1)])
            display.y = y
            display.scatter_ = display._plot_points(scatter_kwargs)
        return display


def _is_sorted(values):
    return values.dtype != object and bool(np.all(values[:-1] <= values[1:]))


def _check_classifier(estimator):
    if not is_classifier(estimator):
        raise ValueError(
            f"DecisionRegionsDisplay draws a classifier's regions; "
            f"{type(estimator).__name__} is not a classifier. For a regressor's "
            "response surface use sklearn.inspection.DecisionBoundaryDisplay.")
    binarizer = getattr(estimator, "_label_binarizer", None)
    multilabel = getattr(binarizer, "y_type_", "").startswith("multilabel")
    classes = estimator.classes_
    if multilabel or (len(classes) and np.ndim(classes[0]) > 0):
        raise ValueError(
            "DecisionRegionsDisplay shows one class per point, but this model was "
            "fitted on multilabel (or multi-output) targets, whose labels are "
            "independent: plot each label's model, or its predict_proba column, "
            "separately.")


def _check_two_features(estimator, X):
    n_features = _num_features(X)
    if n_features != 2:
        raise ValueError(
            f"DecisionRegionsDisplay draws a plane, so X must have 2 features; got "
            f"{n_features}. Select two columns and fit the model on them.")
    fitted = getattr(estimator, "n_features_in_", 2)
    if fitted != 2:
        raise ValueError(
            f"The model was fitted on {fitted} features; DecisionRegionsDisplay needs a "
            "model of 2 features (the plane it draws).")


def _check_response_method(estimator, response_method):
    if response_method not in _RESPONSE_METHODS:
        raise ValueError(
            f"response_method must be one of {', '.join(map(repr, _RESPONSE_METHODS))}; "
            f"got {response_method!r}.")
    if response_method == "auto":
        return
    try:
        getattr(estimator, response_method)
    except AttributeError as exc:
        # available_if's message names the method; its cause says why
        reason = exc.__cause__ if exc.__cause__ is not None else exc
        raise ValueError(
            f"response_method={response_method!r} is not available: {reason}") from exc


def _check_points(estimator, X, y):
    y = np.asarray(y)
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"y must be one class label per point; got {kind} targets. Multilabel "
            "models have no decision regions to draw.")
    if y.shape[0] != _num_samples(X):
        raise ValueError(f"X has {_num_samples(X)} rows but y has {y.shape[0]} labels.")
    unknown = np.setdiff1d(np.unique(y), estimator.classes_)
    if unknown.shape[0]:
        raise ValueError(
            f"y holds labels the model was not fitted on: {unknown.tolist()} "
            f"(classes_: {estimator.classes_.tolist()}).")
    return y

