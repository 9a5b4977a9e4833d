"""Refusing what the engine cannot train on, before it runs (issue 4).

Compiled code turns a mistake that Python would report into a crash, a hang
or silent garbage, so everything the engine trusts is checked here first:
the layer widths (as Python integers, before any buffer is sized from them),
the memory a fit will need (against what the machine has free, before
anything is allocated), the kind of data in X, and the structure of sparse
matrices (the engine indexes the weights with their column indices).
scikit-learn's own validation does the rest; see the README, "What fastmlp
refuses and why".
"""
import collections
import copy
import functools
import itertools
import operator
from numbers import Integral, Number

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from ._consistency import describe

# Reading /proc/meminfo costs tens of microseconds; a fit needing less than
# this is not worth asking about (partial_fit may be called per minibatch).
_SMALL_FIT_BYTES = 64 << 20


def check_hidden_layer_sizes(hidden_layer_sizes):
    """The hidden widths as a list of Python ints, or a clear error.

    The parameter constraints let any array-like through; widths that are
    floats, booleans, nested sequences or not positive are refused here.

    Raises
    ------
    TypeError
        A width is not an integer.
    ValueError
        A width is not positive.
    """
    sizes = hidden_layer_sizes
    if isinstance(sizes, np.ndarray):
        sizes = sizes.tolist()
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    for size in sizes:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, Integral):
            raise TypeError(
                "hidden_layer_sizes must be a positive int or a sequence of "
                f"positive ints, got {hidden_layer_sizes!r}: {size!r} is a "
                f"{type(size).__name__}, not an int."
            )
    if any(size <= 0 for size in sizes):
        raise ValueError("hidden_layer_sizes must be > 0, got %s." % sizes)
    return [int(size) for size in sizes]


def check_numeric_kind(X, name="X"):
    """Refuse strings where numbers are expected, and what is not an array.

    NumPy would parse "1.5" into 1.5, so a column of text read from a file
    without conversion would be trained on silently; scikit-learn refuses
    string arrays for dtype="numeric" and so does fastmlp, for text in
    object arrays and in DataFrame columns too. None, a string, a dict or a
    generator would reach NumPy as a 0-D object array and fail in its words.
    Complex values and non-numeric objects are refused by scikit-learn's
    validation.

    Raises
    ------
    TypeError
        X holds strings or bytes, or is not array-like at all.
    """
    if sp.issparse(X):
        # the values are what may be text (scipy holds str values, and
        # scikit-learn's validation would parse them)
        if X.dtype.kind in ("U", "S"):
            raise TypeError(
                f"{name} is a sparse matrix of strings (dtype {X.dtype}); fastmlp "
                f"needs numbers. Convert its values explicitly, e.g. "
                f"{name}.astype(float)."
            )
        return
    if X is None or isinstance(X, (str, bytes, dict, set)) or not (
            isinstance(X, Number) or hasattr(X, "__len__") or hasattr(X, "__array__")):
        raise TypeError(
            f"{name} is {describe(X)}; fastmlp needs an array-like of numbers"
            + (" of shape (n_samples, n_features), e.g. a 2-D NumPy array." if name == "X"
               else ".")
        )
    encode = ", or encode categories (sklearn.preprocessing.OneHotEncoder)" \
        if name == "X" else ""
    if hasattr(X, "columns") and hasattr(X, "dtypes"):
        _check_text_columns(X, name, encode)
        return
    kind = getattr(getattr(X, "dtype", None), "kind", None)
    if kind is None and isinstance(X, (list, tuple)):
        try:
            kind = np.asarray(X).dtype.kind
        except (ValueError, TypeError):
            return  # ragged or odd input: scikit-learn's validation says why
    if kind in ("U", "S"):
        raise TypeError(
            f"{name} holds strings (dtype {np.asarray(X).dtype}); fastmlp needs "
            f"numbers. Convert {name} explicitly, e.g. {name}.astype(float){encode}."
        )
    if kind == "O":
        # object arrays are converted value by value anyway; this is as cheap
        value = _first_text(np.asarray(X, dtype=object).flat)
        if value is not None:
            raise TypeError(
                f"{name} is an object array holding strings (e.g. {value!r}); "
                f"fastmlp needs numbers. Convert {name} explicitly{encode}."
            )


def _first_text(values):
    """The first str or bytes among `values`, or None."""
    return next((v for v in values if isinstance(v, (str, bytes))), None)


def _check_text_columns(frame, name, encode):
    """Refuse a DataFrame column of text (object, string or categorical
    columns of strings), naming it."""
    for column, dtype in frame.dtypes.items():
        if getattr(dtype, "name", None) == "category":
            value = _first_text(dtype.categories)
        elif getattr(dtype, "kind", None) in ("O", "U", "S"):
            value = _first_text(frame[column].array)
        else:
            continue
        if value is not None:
            raise TypeError(
                f"{name}'s column {column!r} holds strings (e.g. {value!r}); fastmlp "
                f"needs numbers. Convert the column explicitly{encode}."
            )


def validate_fit_data(estimator, X, y, reset, **check_params):
    """``validate_data(estimator, X, y, reset=reset, **check_params)`` for fit
    and partial_fit, with a fast path for what most calls pass.

    scikit-learn's validation takes ~0.2 ms whatever the data (dataframe
    detection, parameter dictionaries, generic checks), a tenth of a small
    fit and more than a partial_fit minibatch. A float32 or float64 ndarray
    X with a numeric ndarray y of the same length, both finite, passes all of
    its checks unchanged; for those this does only the checks and what
    validation records (n_features_in_, no feature_names_in_), and anything
    else goes to scikit-learn's own.

    Returns
    -------
    X, y : the validated arrays
    """
    if _plain_fit_arrays(estimator, X, y, reset):
        if reset:
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
            estimator.n_features_in_ = X.shape[1]
        return X, y
    return validate_data(estimator, X, y, reset=reset, **check_params)


_FIT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def _plain_fit_arrays(estimator, X, y, reset):
    """Whether validate_data would accept X and y as they are and record
    nothing but the number of features."""
    if not (type(X) is np.ndarray and X.ndim == 2 and X.dtype in _FIT_DTYPES
            and X.shape[0] >= 1 and X.shape[1] >= 1):
        return False
    if not (type(y) is np.ndarray and y.dtype.kind in "biuf" and y.dtype.isnative
            and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] >= 1))
            and y.shape[0] == X.shape[0]):
        return False
    if not reset and (hasattr(estimator, "feature_names_in_")
                      or getattr(estimator, "n_features_in_", X.shape[1]) != X.shape[1]):
        return False   # validation's warning or error says what is wrong
    # a sum is finite only if every value is (or it overflows: then the
    # full check decides)
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(X.sum())) and (
            y.dtype.kind != "f" or bool(np.isfinite(y.sum())))


def check_sparse_structure(X, name="X"):
    """Refuse a sparse matrix or array, in any scipy format, whose structure
    is inconsistent, before anything converts or reads it.

    scipy checks little when a matrix is built from its arrays, or when
    they are assigned afterwards, and its conversions (COO, BSR, DIA or LIL
    to CSR, run by scikit-learn's validation) index memory with them
    unchecked: a corrupted index crashes the process there, before the
    engine (which checks the CSR arrays it is given) is reached. The checks
    read the arrays and change nothing (scipy's check_format would prune
    and recast them in place). Dense input passes through.

    Raises
    ------
    ValueError
        The structure is inconsistent, saying where.
    TypeError
        A sparse format fastmlp does not know.
    """
    if not sp.issparse(X):
        return
    kind = f"{X.format.upper()} {'array' if _is_sparse_array(X) else 'matrix'}"
    check = _FORMAT_CHECKS.get(X.format)
    if check is None:
        raise TypeError(
            f"{name} is a sparse {kind}, a format fastmlp cannot check; convert it "
            f"with {name}.tocsr()."
        )
    shape = getattr(X, "_shape", None)
    if not (isinstance(shape, tuple) and len(shape) == 2
            and all(isinstance(n, Integral) and n >= 0 for n in shape)):
        problem = (f"its shape {shape!r} is not two non-negative integers"
                   " (fastmlp takes 2-D sparse matrices and arrays)")
    else:
        try:
            problem = check(X, int(shape[0]), int(shape[1]))
        except (TypeError, ValueError, AttributeError) as exc:
            problem = f"its arrays cannot be read ({exc})"
    if problem is not None:
        raise ValueError(
            f"{name} is not a valid {kind}: {problem}. Its arrays were changed "
            "or built inconsistently; build it again from valid data, e.g. "
            f"scipy.sparse.csr_matrix(dense) or {name}.tocsr() of a valid matrix."
        )


def _is_sparse_array(X):
    sparray = getattr(sp, "sparray", None)
    return sparray is not None and isinstance(X, sparray)


def _index_problem(a, what):
    """Why `a` cannot be an index array, or None."""
    if not isinstance(a, np.ndarray):
        return f"its {what} are a {type(a).__name__}, not an array"
    if a.ndim != 1:
        return f"its {what} are a {a.ndim}-D array, not 1-D"
    if a.dtype.kind not in "iu":
        return f"its {what} are {a.dtype}, not integers"
    return None


def _range_problem(indices, stop, what):
    """Why an index of `indices` (into `stop` things called `what`) is
    outside [0, stop), or None."""
    if indices.shape[0] == 0:
        return None
    low, high = indices.min(), indices.max()
    if low < 0:
        return f"it has a negative {what} index ({low})"
    if high >= stop:
        return f"it has {what} index {high}, but {stop} {what}{'' if stop == 1 else 's'}"
    return None


def _compressed_problem(indptr, indices, n_values, n_major, n_minor, major, minor):
    """Why CSR-like arrays (one pointer per `major` line plus one, `minor`
    indices) are inconsistent, or None."""
    problem = _index_problem(indptr, "index pointers") or _index_problem(
        indices, f"{minor} indices")
    if problem:
        return problem
    if indptr.shape[0] != n_major + 1:
        return f"it has {indptr.shape[0]} index pointers for {n_major} {major}s"
    if indptr[0] != 0:
        return f"its first index pointer is {indptr[0]}, not 0"
    if indices.shape[0] != n_values:
        return f"it has {indices.shape[0]} {minor} indices for {n_values} values"
    if indptr[-1] > indices.shape[0]:
        return (f"its last index pointer, {indptr[-1]}, is past its "
                f"{indices.shape[0]} entries")
    if (indptr[1:] < indptr[:-1]).any():
        return "its index pointers decrease"
    return _range_problem(indices[:indptr[-1]], n_minor, minor)


def _values_problem(data, ndim):
    if not isinstance(data, np.ndarray):
        return f"its values are a {type(data).__name__}, not an array"
    if data.ndim != ndim:
        return f"its values are a {data.ndim}-D array, not {ndim}-D"
    return None


def _csr_problem(X, n_rows, n_cols):
    return _values_problem(X.data, 1) or _compressed_problem(
        X.indptr, X.indices, X.data.shape[0], n_rows, n_cols, "row", "column")


def _csc_problem(X, n_rows, n_cols):
    return _values_problem(X.data, 1) or _compressed_problem(
        X.indptr, X.indices, X.data.shape[0], n_cols, n_rows, "column", "row")


def _bsr_problem(X, n_rows, n_cols):
    problem = _values_problem(X.data, 3)
    if problem:
        return problem
    block_rows, block_cols = X.data.shape[1:]
    if block_rows < 1 or block_cols < 1 or n_rows % block_rows or n_cols % block_cols:
        return (f"its blocks of {block_rows} x {block_cols} do not tile its "
                f"shape ({n_rows}, {n_cols})")
    return _compressed_problem(X.indptr, X.indices, X.data.shape[0],
                               n_rows // block_rows, n_cols // block_cols,
                               "block row", "block column")


def _coo_problem(X, n_rows, n_cols):
    coords = X.coords if hasattr(X, "coords") else (X.row, X.col)
    problem = _values_problem(X.data, 1)
    if problem:
        return problem
    if len(coords) != 2:
        return f"it has {len(coords)} index arrays for 2 dimensions"
    for indices, what, stop in zip(coords, ("row", "column"), (n_rows, n_cols)):
        problem = _index_problem(indices, f"{what} indices")
        if problem:
            return problem
        if indices.shape[0] != X.data.shape[0]:
            return f"it has {indices.shape[0]} {what} indices for {X.data.shape[0]} values"
        problem = _range_problem(indices, stop, what)
        if problem:
            return problem
    return None


def _dia_problem(X, n_rows, n_cols):
    problem = _values_problem(X.data, 2) or _index_problem(X.offsets, "offsets")
    if problem:
        return problem
    offsets = X.offsets
    if offsets.shape[0] != X.data.shape[0]:
        return f"it has {offsets.shape[0]} offsets for {X.data.shape[0]} diagonals"
    if offsets.shape[0] == 0:
        return None
    # scipy.sparse.diags refuses these too; its conversions would wrap offsets
    # too large for their index type
    if offsets.min() <= -n_rows or offsets.max() >= n_cols:
        return f"it has a diagonal outside its shape ({n_rows}, {n_cols})"
    if np.unique(offsets).shape[0] != offsets.shape[0]:
        return "it has a diagonal twice"
    return None


def _lil_problem(X, n_rows, n_cols):
    rows, data = X.rows, X.data
    for what, a in (("rows", rows), ("values", data)):
        if not (isinstance(a, np.ndarray) and a.dtype == object and a.shape == (n_rows,)):
            return f"its {what} are not an object array of {n_rows} lists"
    lengths = np.fromiter(map(len, rows), dtype=np.intp, count=n_rows)
    if not np.array_equal(lengths, np.fromiter(map(len, data), dtype=np.intp,
                                               count=n_rows)):
        return "a row has a different number of column indices and values"
    indices = np.array(list(itertools.chain.from_iterable(rows)))
    if indices.shape[0] and indices.dtype.kind not in "iu":
        return f"its column indices are {indices.dtype}, not integers"
    return _range_problem(indices.reshape(-1), n_cols, "column")


def _dok_problem(X, n_rows, n_cols):
    keys = np.array(list(X.keys()))
    if keys.shape[0] == 0:
        return None
    if keys.ndim != 2 or keys.shape[1] != 2 or keys.dtype.kind not in "iu":
        return "its keys are not (row, column) pairs of integers"
    return _range_problem(keys[:, 0], n_rows, "row") or _range_problem(
        keys[:, 1], n_cols, "column")


_FORMAT_CHECKS = {
    "csr": _csr_problem,
    "csc": _csc_problem,
    "bsr": _bsr_problem,
    "coo": _coo_problem,
    "dia": _dia_problem,
    "lil": _lil_problem,
    "dok": _dok_problem,
}


def available_memory():
    """Bytes this process can still allocate without swapping, or None.

    MemAvailable from /proc/meminfo, lowered to the cgroup's limit when the
    process runs in a container that has one.
    """
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        return None
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                used = int(f.read().strip())
            room = max(0, int(limit) - used)
            available = room if available is None else min(available, room)
    except (OSError, ValueError):
        pass
    return available


def _format_bytes(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def check_fit_memory(spec, solver, batch_rows, gather, warm, estimator, n_parts=1):
    """Refuse a fit whose buffers would not fit in memory, before allocating.

    The estimate is the spec's (`NetworkSpec.fit_bytes`): every flat buffer
    and work buffer the fit holds at once.

    Raises
    ------
    MemoryError
        Before anything is allocated, saying how much is needed and free.
    """
    params_bytes, work_bytes = spec.fit_bytes(solver, batch_rows, gather, n_parts, warm)
    needed = params_bytes + work_bytes
    if needed < _SMALL_FIT_BYTES:
        return
    available = available_memory()
    if needed <= (np.iinfo(np.intp).max if available is None else available):
        return
    free = "no such amount" if available is None else _format_bytes(available)
    raise MemoryError(
        f"{type(estimator).__name__} with layer widths {spec.layer_units} has "
        f"{spec.n_params:,} parameters; training it needs about {_format_bytes(needed)} "
        f"(parameters, gradients, optimizer state, copies and work buffers in "
        f"{spec.dtype}), but {free} of memory is available. "
        "Use smaller hidden_layer_sizes (or fewer features)."
    )


class FitState:
    """What a fit changes in an estimator, kept so that a failed call can
    leave the model as it was before it (issue 4: a fault loses nothing).

    Lists that a fit only appends to are kept as their lengths; everything
    else is kept by reference, because a fit rebinds rather than mutates it,
    except what the engine modifies in place when a call goes on from the
    current model: the parameter buffer (warm_start and partial_fit), and
    the optimizer's moments and the random stream (partial_fit). Those are
    copied, and only then.

    Restoring is atomic (issue 10): every change it makes is prepared here,
    before the fit runs, and :meth:`restore` applies them all in one call
    that runs no Python bytecode, so a signal handler (a second Ctrl-C) can
    only run before or after it: the estimator is either as the failed call
    left it or as it was before the call, never emptied or half restored.

    Parameters
    ----------
    estimator : BaseMultilayerPerceptron
    incremental : bool
        The call is a partial_fit.
    """

    # An interrupted restore is tried again. A signal every 0.2 ms
    # interrupts few of its microsecond-long attempts; the bound only ends
    # the loop on an error that is not an interrupt.
    _ATTEMPTS = 100

    def __init__(self, estimator, incremental):
        attributes = estimator.__dict__.copy()
        # __dict__ is assigned whole, never cleared and refilled
        steps = [functools.partial(object.__setattr__, estimator, "__dict__", attributes)]
        params = attributes.get("_params")
        if params is not None and "coefs_" in attributes and (incremental or estimator.warm_start):
            # in place: coefs_ and intercepts_ are views a user may hold
            steps.append(functools.partial(params.__setitem__, Ellipsis, params.copy()))
            state = attributes.get("_bn_state")
            if state is not None:
                # batch norm's running statistics, updated in place too
                steps.append(functools.partial(state.__setitem__, Ellipsis, state.copy()))
        for name in ("loss_curve_", "validation_scores_"):
            value = attributes.get(name)
            if isinstance(value, list):
                steps.append(functools.partial(value.__delitem__, slice(len(value), None)))
        optimizer = attributes.get("_optimizer")
        if incremental and optimizer is not None:
            optimizer = copy.copy(optimizer)
            optimizer.moment_1 = optimizer.moment_1.copy()
            optimizer.moment_2 = optimizer.moment_2.copy()
            attributes["_optimizer"] = optimizer
        random_state = attributes.get("_random_state")
        if incremental and random_state is not None \
                and random_state is not estimator.random_state:
            steps.append(functools.partial(random_state.set_state, random_state.get_state()))
        self._steps = steps

    def restore(self):
        """Put the estimator back as it was when this state was taken.

        Raises
        ------
        BaseException
            The first exception that interrupted the restore (a signal
            handler's KeyboardInterrupt, say), once the restore is complete.
        """
        try:
            _call_all(self._steps)
        except BaseException:
            # interrupted before the steps ran, or after: they are
            # idempotent, so run them again, then report what came
            for _ in range(self._ATTEMPTS):
                try:
                    _call_all(self._steps)
                    break
                except BaseException:
                    pass
            raise


def _call_all(functions):
    """Call each of `functions` (C functions bound with functools.partial)
    within one C-level loop.

    CPython runs signal handlers only between bytecodes: the interpreter
    runs none from the start of the first call to the end of the last.
    """
    collections.deque(map(operator.methodcaller("__call__"), functions), maxlen=0)
