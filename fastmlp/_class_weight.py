"""MLPClassifier's class_weight: a weight per class, multiplied into
sample_weight with scikit-learn's ``compute_sample_weight`` semantics.

- a dict ``{class: weight}`` weights the rows of each named class; classes
  it does not name keep weight 1. For multilabel y, a list of one such dict
  per label column (keys 0 and 1), whose weights multiply.
- ``'balanced'`` gives class c the weight ``n_samples / (n_classes *
  count(c))`` over the y of the call (per label column for multilabel y),
  counting rows, not their sample weights, as compute_sample_weight does.

The weights are computed from the encoded targets the engine trains on
(class indices, or 0/1 indicator columns), which give the same numbers as
the labels and need no second pass over them. Keys are matched to
``classes_`` by equality; a key naming no class is refused (scikit-learn's
compute_class_weight ignores it when every class is named, and otherwise
reports the classes it did not name, neither of which says what is wrong).
"""
import math
from numbers import Real

import numpy as np

from ._consistency import describe, labels_text


def class_sample_weight(class_weight, binarizer, Y, incremental):
    """Each row's weight from class_weight, or None when class_weight is
    None.

    Parameters
    ----------
    class_weight : None, 'balanced', dict or list of dicts
    binarizer : the model's fitted LabelBinarizer (classes_ and kind of y)
    Y : ndarray of shape (n_samples, n_columns)
        The encoded targets: one column of class indices (multiclass) or of
        0/1 (binary), or the 0/1 indicator matrix (multilabel).
    incremental : bool
        The call is a partial_fit.

    Returns
    -------
    weights : ndarray of shape (n_samples,) of float64, or None
    """
    if class_weight is None:
        return None
    multilabel = binarizer.y_type_ == "multilabel-indicator"
    if isinstance(class_weight, str):
        if incremental:
            # SGDClassifier refuses it too: one minibatch's class frequencies
            # are not the data's
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: each call "
                "sees one batch, whose class frequencies are not those of the data. "
                "Compute the weights once, e.g. sklearn.utils.class_weight."
                "compute_class_weight('balanced', classes=classes, y=y_sample) on "
                "a large enough sample of the targets, and pass them as a dict "
                "{class: weight}."
            )
        columns = Y.astype(np.intp, copy=False)
        return np.prod([_balanced(columns[:, k]) for k in range(columns.shape[1])],
                       axis=0, dtype=np.float64)
    if multilabel:
        tables = _label_tables(class_weight, Y.shape[1])
    else:
        tables = [_class_table(class_weight, binarizer.classes_)]
    weights = np.ones(Y.shape[0], dtype=np.float64)
    for k, table in enumerate(tables):
        weights *= table.take(Y[:, k].astype(np.intp))
    return weights


def _balanced(column):
    """compute_sample_weight('balanced') for one column of class indices:
    n / (n_present_classes * count) for each row's class."""
    counts = np.bincount(column)
    present = np.count_nonzero(counts)
    table = np.zeros(counts.shape[0], dtype=np.float64)
    table[counts > 0] = column.shape[0] / (present * counts[counts > 0])
    return table[column]


def _class_table(class_weight, classes):
    """The weight of each class of `classes` (in order) from a dict."""
    if not isinstance(class_weight, dict):
        raise ValueError(
            f"class_weight is {describe(class_weight)}, but y holds one label per row: "
            "pass a dict {class: weight} or 'balanced' (a list of dicts is for "
            "multilabel y)."
        )
    index = {label: i for i, label in enumerate(classes.tolist())}
    unknown = [key for key in class_weight if _find(index, key) is None]
    if unknown:
        raise ValueError(
            f"class_weight names {_keys_text(unknown)}, which "
            f"{'is not a class' if len(unknown) == 1 else 'are not classes'} of y: "
            f"the classes are {labels_text(classes)}. Name only those classes in "
            "class_weight (classes it leaves out keep weight 1)."
        )
    table = np.ones(len(classes), dtype=np.float64)
    for key, weight in class_weight.items():
        table[_find(index, key)] = _check_weight(weight, f"class_weight[{key!r}]")
    return table


def _label_tables(class_weight, n_labels):
    """The 0/1 weights of each label column from a list of dicts."""
    if not isinstance(class_weight, (list, tuple)):
        raise ValueError(
            f"class_weight is {describe(class_weight)}, but y is a multilabel indicator "
            f"matrix: pass a list of {n_labels} dicts, one per label column, each "
            "{0: weight, 1: weight}, or 'balanced'."
        )
    if len(class_weight) != n_labels:
        raise ValueError(
            f"class_weight is a list of {len(class_weight)} entries, but y has "
            f"{n_labels} label columns: pass one dict {{0: weight, 1: weight}} per column."
        )
    tables = []
    for k, entry in enumerate(class_weight):
        if not isinstance(entry, dict):
            raise ValueError(
                f"class_weight[{k}] is {describe(entry)}; for multilabel y each entry "
                "is a dict {0: weight, 1: weight} for that label column."
            )
        unknown = [key for key in entry if _find({0: 0, 1: 1}, key) is None]
        if unknown:
            raise ValueError(
                f"class_weight[{k}] names {_keys_text(unknown)}, but a multilabel "
                "column's classes are 0 and 1: name only those."
            )
        table = np.ones(2, dtype=np.float64)
        for key, weight in entry.items():
            table[_find({0: 0, 1: 1}, key)] = _check_weight(
                weight, f"class_weight[{k}][{key!r}]")
        tables.append(table)
    return tables


def _find(index, key):
    """index[key], or None when key is no class (or cannot be one: a list,
    an array)."""
    try:
        return index.get(key.item() if isinstance(key, np.generic) else key)
    except TypeError:
        return None


def _check_weight(weight, name):
    if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, Real) \
            or not math.isfinite(weight) or weight < 0:
        raise ValueError(
            f"{name} is {describe(weight)}; class weights are finite numbers >= 0."
        )
    return float(weight)


def _keys_text(keys):
    return ", ".join(repr(key) for key in keys)
