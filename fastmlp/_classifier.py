"""MLPClassifier: labels in, the engine trains on their binary indicator."""
from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._base import BaseMultilayerPerceptron
from ._callbacks import fit_callbacks
from ._checks import FitState, check_sparse_structure, validate_fit_data
from ._class_weight import class_sample_weight
from ._consistency import describe, labels_text
from ._docs import (
    ATTRIBUTES,
    CLASS_WEIGHT,
    NOTES,
    OPTIMIZER_PARAMETERS,
    OWN_PARAMETERS,
    PARAMETERS,
    loss_doc,
)
from ._registry import CLASSIFIER_LOSSES
from ._typing import MatrixLike


def _fitted_label_binarizer(y):
    """``LabelBinarizer().fit(y)``, in a few microseconds when y is a 1-D
    array of integers or booleans.

    LabelBinarizer.fit runs type_of_target's generic checks (~0.5 ms, a third
    of the fixed cost of a small fit); for such a y its type follows from the
    number of distinct values alone (at most 2: binary, else multiclass), and
    the fitted attributes are set as fit sets them.
    """
    if (isinstance(y, np.ndarray) and y.ndim == 1 and y.shape[0] > 0
            and y.dtype.kind in "biu"):
        binarizer = LabelBinarizer()
        binarizer.classes_ = np.unique(y)
        binarizer.y_type_ = "binary" if binarizer.classes_.shape[0] <= 2 else "multiclass"
        binarizer.sparse_input_ = False
        return binarizer
    return LabelBinarizer().fit(y)


_TARGET_KINDS = ("binary", "multiclass", "multilabel-indicator")


def _same_labels(classes, fitted):
    """Whether classes_ holds the fitted classes, in order and of their dtype."""
    if classes is fitted:
        return True
    try:
        classes = np.asarray(classes)
        return (classes.dtype == fitted.dtype and classes.shape == fitted.shape
                and bool(np.all(classes == fitted)))
    except (TypeError, ValueError):
        return False


def _label_error(y, exc):
    """What LabelBinarizer's error `exc` on y means, in a user's terms: the
    two mistakes it names least clearly (real-valued targets, labels of
    mixed types) get their own message; others keep scikit-learn's."""
    if isinstance(exc, TypeError) and "not supported between" in str(exc):
        kinds = sorted({type(v).__name__ for v in np.asarray(y, dtype=object).ravel()})
        return TypeError(
            f"y mixes labels of different types ({', '.join(kinds)}), which cannot be "
            "sorted into classes. Convert them to one type, e.g. y.astype(str)."
        )
    if type_of_target(y).startswith("continuous"):
        example = np.asarray(y, dtype=float).ravel()
        example = example[example != np.round(example)][:1]
        return ValueError(
            "Unknown label type: y holds continuous values"
            + (f" (such as {example[0]:.6g})" if example.size else "")
            + ", but MLPClassifier needs class labels. For real-valued targets use "
            "MLPRegressor; to classify, turn y into labels first."
        )
    return exc


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    __doc__ = f"""Multi-layer Perceptron classifier.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    the same parameters, attributes and numbers, with training and inference
    in a compiled engine. It optimizes the log-loss function (beyond
    scikit-learn, a hinge loss) using LBFGS or stochastic gradient descent.

    Parameters
    ----------{PARAMETERS}{CLASS_WEIGHT}{OWN_PARAMETERS}
{loss_doc(CLASSIFIER_LOSSES, "log_loss")}{OPTIMIZER_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.
{ATTRIBUTES}
    See Also
    --------
    MLPRegressor : Multi-layer Perceptron regressor.
    sklearn.neural_network.MLPClassifier : The scikit-learn original.

{NOTES}
    Examples
    --------
    >>> from fastmlp import MLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y,
    ...                                                     random_state=1)
    >>> clf = MLPClassifier(random_state=1, max_iter=300).fit(X_train, y_train)
    >>> clf.predict_proba(X_test[:1]).shape
    (1, 2)
    >>> clf.score(X_test, y_test) > 0.8
    True
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, list, None],
        "loss": [StrOptions(set(CLASSIFIER_LOSSES))],
    }
    _losses = CLASSIFIER_LOSSES

    def __init__(
        self,
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
        class_weight=None,
        early_stopping_metric="score",
        negative_slope=0.01,
        elu_alpha=1.0,
        softplus_beta=1.0,
        softplus_threshold=20.0,
        batch_norm=False,
        batch_norm_momentum=0.1,
        dropout=0.0,
        loss="log_loss",
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
        self.class_weight = class_weight

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_fit_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        # classes_ is (re)defined on a fresh fit (a warm start without coefs_
        # is one too); warm_start must keep the same classes, and partial_fit
        # may only see known ones.
        if (not hasattr(self, "classes_")) or (reset and not incremental):
            try:
                self._label_binarizer = _fitted_label_binarizer(y)
            except (TypeError, ValueError) as exc:
                raise _label_error(y, exc) from exc
            self.classes_ = self._label_binarizer.classes_
        else:
            self._check_target_kind(y)
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )

        if (self._label_binarizer.y_type_ != "multilabel-indicator"
                and len(self.classes_) < 2):
            raise ValueError(
                "MLPClassifier needs samples of at least 2 classes to learn from, "
                f"but the data has only one class: {self.classes_.tolist()[0]!r}. (With "
                "partial_fit, pass every class in `classes`.)"
            )

        return X, self._targets(y, X.dtype)

    def _check_target_kind(self, y):
        """A warm start or partial_fit gives targets of the kind the model
        was fitted on: 1-D labels, or a 2-D indicator matrix for multilabel."""
        multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        if (y.ndim == 2) != multilabel:
            fitted = ("a multilabel indicator matrix (one 0/1 column per label)" if multilabel
                      else f"{self._label_binarizer.y_type_} labels (one per row)")
            given = ("a 2-D indicator matrix" if y.ndim == 2
                     else "1-D labels (one per row)")
            raise ValueError(
                f"y is {given}, but this model was fitted on {fitted}, and warm_start "
                "and partial_fit go on training that model. Pass y of the same kind, "
                "or fit a new model (warm_start=False)."
            )

    def _targets(self, y, dtype):
        """The targets the network trains on: LabelBinarizer's indicator
        matrix in X's dtype for binary and multilabel y; for multiclass y, a
        column of intp class indices (never an (n_samples, n_classes) array:
        that would be the largest array of a big fit after X itself; and
        integers, which float32 would round above 2**24).
        """
        y_type = self._label_binarizer.y_type_
        if y_type == "multilabel-indicator":
            return np.ascontiguousarray(self._label_binarizer.transform(y), dtype=dtype)
        if y_type == "binary":
            return (np.asarray(y) == self.classes_[1]).astype(dtype).reshape(-1, 1)
        # multiclass: one column of class indices, which the engine's
        # softmax loss reads in place of the one-hot matrix
        return np.searchsorted(self.classes_, y).astype(np.intp, copy=False).reshape(-1, 1)

    def _target_type(self):
        return self._label_binarizer.y_type_

    def _with_class_weight(self, y, sample_weight, incremental):
        weights = class_sample_weight(self.class_weight, self._label_binarizer, y,
                                      incremental)
        if weights is None:
            return sample_weight
        return weights if sample_weight is None else sample_weight * weights

    def _labels_of(self, Y):
        return self._decode_targets(Y)

    def _validation_targets(self, y_val, dtype, n_outputs, name="y_val", source="y"):
        """y_val checked against the classes fit learns (labels, for the
        score) and as the engine takes it (its target matrix); errors name
        it `name` and the fit's targets `source`."""
        y_val = check_array(y_val, ensure_2d=False, dtype=None, input_name=name)
        multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        if y_val.ndim == 2 and y_val.shape[1] == 1 and not multilabel:
            y_val = y_val.ravel()
        if multilabel:
            if y_val.ndim != 2 or y_val.shape[1] != len(self.classes_) \
                    or not np.isin(y_val, (0, 1)).all():
                raise ValueError(
                    f"{name} must be a 0/1 indicator matrix of {len(self.classes_)} "
                    f"columns, as {source} is; got {y_val.ndim}-D {name} of shape "
                    f"{y_val.shape}."
                )
        else:
            if y_val.ndim != 1:
                raise ValueError(
                    f"{name} has shape {y_val.shape}, but {source} holds one label per "
                    "row: pass one label per row."
                )
            labels = np.unique(y_val.astype(object) if y_val.dtype.kind == "O" else y_val)
            unseen = labels[~np.isin(labels, self.classes_)]
            if unseen.size:
                raise ValueError(
                    f"{name} has labels that are not classes of {source}: "
                    f"{labels_text(unseen)}. The model learns the classes of {source}, "
                    f"{labels_text(self.classes_)}; drop the rows of other classes."
                )
        return y_val, self._targets(y_val, dtype)

    def _model_key(self):
        state = self.__dict__
        binarizer = state["_label_binarizer"]
        return (*super()._model_key(), binarizer, binarizer.y_type_, binarizer.classes_,
                state["classes_"])

    def _check_labels(self):
        """The label encoder fit set, and classes_ that agree with it."""
        binarizer = self.__dict__.get("_label_binarizer")
        if not (isinstance(binarizer, LabelBinarizer)
                and getattr(binarizer, "y_type_", None) in _TARGET_KINDS
                and isinstance(getattr(binarizer, "classes_", None), np.ndarray)):
            raise ValueError(
                "The model's label encoder (_label_binarizer, which fit sets) was "
                "changed, so its outputs cannot be turned into labels. Fit the model "
                "again."
            )
        if "classes_" not in self.__dict__:
            raise AttributeError(
                "This MLPClassifier has no classes_, which fit sets: it was deleted. "
                "Fit the model again."
            )
        if not _same_labels(self.classes_, binarizer.classes_):
            raise ValueError(
                f"classes_ is {describe(self.classes_)}, but the model was fitted on "
                f"the classes {labels_text(binarizer.classes_)}, in that order: fit sets classes_ "
                "and it must not be changed. To rename the classes, map the "
                "predictions; to learn other classes, fit the model again."
            )
        return binarizer

    def _expected_outputs(self):
        binarizer = self._check_labels()
        classes = binarizer.classes_
        if binarizer.y_type_ == "binary":
            return 1, f"one for the second of the binary classes_ {labels_text(classes)}"
        if binarizer.y_type_ == "multiclass":
            return len(classes), f"one per class in classes_ {labels_text(classes)}"
        return len(classes), "one per label column of the multilabel y it was fitted on"

    def _n_outputs(self, y):
        if self._label_binarizer.y_type_ == "multiclass":
            return len(self.classes_)
        return y.shape[1]

    def _decode_targets(self, y):
        """Labels of the rows of a target matrix made by _targets."""
        if self._label_binarizer.y_type_ == "multiclass":
            return self.classes_.take(y[:, 0].astype(np.intp))
        return self._label_binarizer.inverse_transform(y)

    def _stratify_labels(self, y):
        # scikit-learn bug: it stratifies only when there is one output
        # column, so multiclass validation splits were not stratified.
        # Multilabel targets have no single label to stratify by.
        if self._label_binarizer.y_type_ == "multiclass":
            return y[:, 0]
        if self._label_binarizer.y_type_ == "binary":
            return y[:, 0]
        return None

    def _labels(self, y_pred):
        """Labels from the network's output: LabelBinarizer.inverse_transform's
        rules (argmax for multiclass, threshold 0.5 otherwise) without its
        validation overhead, which would dominate a one-row prediction;
        scores (an identity output: the hinge losses) are thresholded at 0.
        The labels are the label encoder's classes, as in scikit-learn (the
        model check makes sure classes_ equals them)."""
        binarizer = self._label_binarizer
        if binarizer.y_type_ == "multiclass":
            return binarizer.classes_.take(y_pred.argmax(axis=1), mode="clip")
        threshold = 0.5 if self.out_activation_ == "logistic" else 0.0
        indicator = (y_pred > threshold).astype(int)
        if binarizer.y_type_ == "binary":
            return binarizer.classes_[indicator.ravel()]
        return indicator

    def predict(self, X: MatrixLike) -> np.ndarray:
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        if "coefs_" not in self.__dict__:
            check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        """Private predict method with optional input validation"""
        return self._labels(self._forward_pass_fast(X, check_input=check_input))

    def _score(self, X, y, sample_weight=None):
        return super()._score_with_function(
            X, y, sample_weight=sample_weight, score_function=accuracy_score
        )

    def score(self, X: MatrixLike, y: ArrayLike,
              sample_weight: ArrayLike | None = None) -> float:
        # the metric converts a sparse y: check its structure first
        check_sparse_structure(y, "y")
        return super().score(X, y, sample_weight=sample_weight)

    score.__doc__ = ClassifierMixin.score.__doc__

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> Self:
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit.
            Can be obtained via `np.unique(y_all)`, where y_all is the
            target vector of the entire dataset.
            This argument is required for the first call to partial_fit
            and can be omitted in the subsequent calls.
            Note that y doesn't need to contain all labels in `classes`.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._check_changed_params()
        callbacks = fit_callbacks(self, 1)
        # type_of_target below converts a sparse y: check it first
        check_sparse_structure(y, "y")
        # a failed call leaves the model as it was, classes_ included
        state = FitState(self, incremental=True)
        try:
            # classes_ decides whether this is a first call: check the model
            # (classes_ included) before reading it
            if "coefs_" in self.__dict__:
                self._engine()
            elif "classes_" in self.__dict__:
                self._check_labels()
            if _check_partial_fit_first_call(self, classes):
                multilabel = type_of_target(y).startswith("multilabel")
                self._label_binarizer = _fitted_label_binarizer(y if multilabel else classes)
        except BaseException:
            state.restore()
            raise

        return self._fit(X, y, sample_weight=sample_weight, incremental=True, state=state,
                         callbacks=callbacks)

    def _loss_info(self):
        """The registry's entry of the loss parameter, or None."""
        return CLASSIFIER_LOSSES.get(self.loss) if isinstance(self.loss, str) else None

    def _check_proba(self):
        """predict_proba exists unless the loss gives scores (SGDClassifier's rule)."""
        info = self._loss_info()
        if info is not None and not info.proba:
            raise AttributeError(
                f"probability estimates are not available for loss={self.loss!r}, whose "
                "outputs are scores: use decision_function, or loss='log_loss'.")
        return True

    def _check_scores(self):
        """decision_function exists for the losses whose outputs are scores;
        scikit-learn's MLPClassifier (log_loss) has none."""
        info = self._loss_info()
        if info is None or info.proba:
            raise AttributeError(
                f"decision_function is not available for loss={self.loss!r}: it gives "
                "the scores of loss='hinge' or 'squared_hinge'; with log_loss use "
                "predict_proba.")
        return True

    def _fitted_output(self, proba, method):
        """The network's output for `method`, after checking that the model
        was fitted with a loss of that kind (the loss parameter may have been
        set since)."""
        if "coefs_" not in self.__dict__:
            check_is_fitted(self)
        fitted = self._fitted_loss()
        info = CLASSIFIER_LOSSES.get(fitted)
        if info is not None and info.proba != proba:
            raise ValueError(
                f"{method} needs a model fitted with loss={self.loss!r}, but this one was "
                f"fitted with loss={fitted!r}, whose outputs are "
                f"{'probabilities' if info.proba else 'scores'}. Set loss={fitted!r} "
                "back, or fit the model again.")

    @available_if(_check_scores)
    def decision_function(self, X: MatrixLike) -> np.ndarray:
        """The network's scores, for the hinge losses.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The output layer's values: for binary targets one score per
            sample (positive: ``classes_[1]``); else one per class or label
            (predict takes the largest class, or the labels scored above 0).
        """
        self._fitted_output(False, "decision_function")
        scores = self._forward_pass_fast(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    @available_if(_check_proba)
    def predict_log_proba(self, X: MatrixLike) -> np.ndarray:
        """Return the log of probability estimates.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            The predicted log-probability of the sample for each class
            in the model, where classes are ordered as they are in
            `self.classes_`. Equivalent to `log(predict_proba(X))`.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    @available_if(_check_proba)
    def predict_proba(self, X: MatrixLike) -> np.ndarray:
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of the sample for each class in the
            model, where classes are ordered as they are in `self.classes_`.
        """
        self._fitted_output(True, "predict_proba")
        y_pred = self._forward_pass_fast(X)

        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()

        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        else:
            return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
