"""MLPClassifier's class_weight (issue 12): multiplied into sample_weight
with scikit-learn's compute_sample_weight semantics, so a fit with
class_weight is bit for bit the fit with those sample weights."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits, make_multilabel_classification
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from fastmlp import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digits(n=300, n_classes=10):
    X, y = load_digits(n_class=n_classes, return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _same_model(a, b):
    for Wa, Wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(Wa, Wb)
    assert a.loss_curve_ == b.loss_curve_


def _params(**extra):
    return dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, **extra)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 5), st.data(), st.booleans(), st.sampled_from(["sgd", "adam", "lbfgs"]))
def test_class_weight_is_compute_sample_weight(n_classes, data, with_sample_weight, solver):
    X, y = _digits(200, n_classes)
    labels = np.array([f"c{k}" for k in range(n_classes)])[y]  # labels of any kind
    named = data.draw(st.lists(st.sampled_from(sorted(set(labels))), unique=True))
    weights = data.draw(st.lists(st.floats(0.1, 5), min_size=len(named), max_size=len(named)))
    class_weight = dict(zip(named, weights))
    sw = np.random.RandomState(len(named)).uniform(0.5, 2, 200) if with_sample_weight else None
    expected_sw = compute_sample_weight(class_weight, labels) * (1 if sw is None else sw)
    ours = MLPClassifier(**_params(solver=solver, class_weight=class_weight)).fit(
        X, labels, sample_weight=sw)
    reference = MLPClassifier(**_params(solver=solver)).fit(X, labels, sample_weight=expected_sw)
    for Wa, Wb in zip(ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_):
        assert_array_equal(Wa, Wb)


@pytest.mark.parametrize("n_classes", [2, 5])
def test_balanced_is_compute_sample_weights_balanced(n_classes):
    X, y = _digits(250, n_classes)
    y = y.copy()
    y[: 150] = 0   # imbalanced
    ours = MLPClassifier(**_params(class_weight="balanced")).fit(X, y)
    reference = MLPClassifier(**_params()).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y))
    _same_model(ours, reference)


@pytest.mark.parametrize("class_weight", [
    "balanced",
    [{0: 1.0, 1: 3.0}, {1: 0.5}, {0: 2.0}],
])
def test_multilabel_class_weight(class_weight):
    X, Y = make_multilabel_classification(n_samples=150, n_features=6, n_classes=3,
                                          random_state=0)
    ours = MLPClassifier(**_params(class_weight=class_weight)).fit(X, Y)
    reference = MLPClassifier(**_params()).fit(
        X, Y, sample_weight=compute_sample_weight(class_weight, Y))
    _same_model(ours, reference)


def test_early_stopping_split_rows_carry_their_class_weights():
    # as HistGradientBoostingClassifier: weights over all of y, then split,
    # so the held-out rows are scored with them
    X, y = _digits()
    cw = {0: 5.0, 3: 0.2}
    ours = MLPClassifier(**_params(class_weight=cw, early_stopping=True)).fit(X, y)
    reference = MLPClassifier(**_params(early_stopping=True)).fit(
        X, y, sample_weight=compute_sample_weight(cw, y))
    _same_model(ours, reference)
    assert ours.validation_scores_ == reference.validation_scores_
    unweighted = MLPClassifier(**_params(early_stopping=True)).fit(X, y)
    assert ours.validation_scores_ != unweighted.validation_scores_


def test_x_val_rows_carry_sample_weight_val_alone():
    X, y = _digits()
    cw = {0: 5.0, 3: 0.2}
    val = dict(X_val=X[200:], y_val=y[200:], sample_weight_val=np.linspace(1, 2, 100))
    ours = MLPClassifier(**_params(class_weight=cw, early_stopping=True)).fit(
        X[:200], y[:200], **val)
    reference = MLPClassifier(**_params(early_stopping=True)).fit(
        X[:200], y[:200], sample_weight=compute_sample_weight(cw, y[:200]), **val)
    _same_model(ours, reference)
    assert ours.validation_scores_ == reference.validation_scores_
    assert ours.validation_loss_curve_ == reference.validation_loss_curve_


def test_partial_fit_with_a_dict_weights_each_batch():
    X, y = _digits()
    cw = {1: 4.0, 7: 0.5}
    ours = MLPClassifier(**_params(class_weight=cw))
    reference = MLPClassifier(**_params())
    classes = np.unique(y)
    for batch in np.array_split(np.arange(300), 3):
        # a batch may lack classes the dict names
        rows = batch[np.isin(y[batch], [1, 7], invert=True)] if batch[0] == 0 else batch
        ours.partial_fit(X[rows], y[rows], classes=classes)
        # (compute_sample_weight would refuse a dict naming classes the
        # batch lacks when others are unnamed: its semantics, per class)
        reference.partial_fit(X[rows], y[rows], classes=classes,
                              sample_weight=np.array([cw.get(c, 1.0) for c in y[rows]]))
    _same_model(ours, reference)


def test_partial_fit_refuses_balanced_as_sgdclassifier_does():
    X, y = _digits()
    clf = MLPClassifier(**_params(class_weight="balanced"))
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported by "
                                         "partial_fit.*compute_class_weight"):
        clf.partial_fit(X, y, classes=np.unique(y))
    assert not hasattr(clf, "coefs_")
    # what the message says to do works
    weights = compute_class_weight("balanced", classes=np.unique(y), y=y)
    clf.set_params(class_weight=dict(zip(np.unique(y), weights))).partial_fit(
        X, y, classes=np.unique(y))
    # and after a fit, partial_fit refuses it too
    fitted = MLPClassifier(**_params(class_weight="balanced")).fit(X, y)
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        fitted.partial_fit(X, y)


def test_warm_start_weighs_each_fit_by_its_own_y():
    X, y = _digits()
    ours = MLPClassifier(**_params(class_weight="balanced", warm_start=True))
    reference = MLPClassifier(**_params(warm_start=True))
    for rows in (slice(0, 300), slice(100, 300)):
        ours.fit(X[rows], y[rows])
        reference.fit(X[rows], y[rows],
                      sample_weight=compute_sample_weight("balanced", y[rows]))
    _same_model(ours, reference)


@pytest.mark.parametrize("class_weight, message", [
    ({0: 1.0, 12: 2.0}, r"class_weight names 12, which is not a class of y: the classes "
                        r"are \[0, 1, 2"),
    ({"a": 1.0, "b": 2.0}, r"names 'a', 'b', which are not classes of y"),
    ([{0: 1.0}], "y holds one label per row: pass a dict"),
    ({0: -1.0}, r"class_weight\[0\] is -1.0 .* finite numbers >= 0"),
    ({0: np.nan}, r"class_weight\[0\] is nan"),
    ({0: "heavy"}, r"class_weight\[0\] is 'heavy'"),
])
def test_bad_class_weight_is_refused_naming_it(class_weight, message):
    X, y = _digits()
    clf = MLPClassifier(**_params(class_weight=class_weight))
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


@pytest.mark.parametrize("class_weight, message", [
    ({0: 1.0}, "multilabel indicator matrix: pass a list of 3 dicts"),
    ([{0: 1.0}], "a list of 1 entries, but y has 3 label columns"),
    ([{0: 1.0}, {2: 1.0}, {}], r"class_weight\[1\] names 2, but a multilabel column's "
                               "classes are 0 and 1"),
    ([{0: 1.0}, "x", {}], r"class_weight\[1\] is 'x'"),
])
def test_bad_multilabel_class_weight_is_refused(class_weight, message):
    X, Y = make_multilabel_classification(n_samples=60, n_features=5, n_classes=3,
                                          random_state=0)
    with pytest.raises(ValueError, match=message):
        MLPClassifier(**_params(class_weight=class_weight)).fit(X, Y)


def test_class_weight_of_another_type_is_refused_by_parameter_validation():
    X, y = _digits()
    with pytest.raises(ValueError, match="class_weight"):
        MLPClassifier(class_weight="uniform").fit(X, y)
