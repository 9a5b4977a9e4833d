"""model.save / fastmlp.load (issue 14): round trips over every option,
continued training equal to the saved model's, and files that are corrupt,
truncated, tampered with or newer refused with ModelFileError."""
import builtins
import io
import json
import os
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, ModelFileError
from fastmlp._files import FORMAT_VERSION, from_bytes
from fastmlp._registry import (
    ACTIVATIONS,
    CLASSIFIER_LOSSES,
    OPTIMIZERS,
    REGRESSOR_LOSSES,
    SCHEDULES,
    STOCHASTIC_SOLVERS,
)
from fastmlp._safetensors import read_container, write_container

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

rng = np.random.RandomState(0)
X = rng.randn(40, 4)
Y_CLASSES = rng.randint(0, 3, 40)
Y_REAL = X @ rng.randn(4, 2) + 0.1 * rng.randn(40, 2)


def _bytes(model):
    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()


def _round_trip(model):
    return from_bytes(_bytes(model))


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return a.dtype == b.dtype and a.shape == b.shape and [
            (type(v), v) for v in a.ravel()] == [(type(v), v) for v in b.ravel()]
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _params_equal(a, b):
    pa, pb = a.get_params(), b.get_params()
    ra, rb = pa.pop("random_state"), pb.pop("random_state")
    if isinstance(ra, np.random.RandomState):
        assert isinstance(rb, np.random.RandomState)
        sa, sb = ra.get_state(), rb.get_state()
        assert sa[0] == sb[0] and _same_bits(sa[1], sb[1]) and sa[2:] == sb[2:]
    else:
        assert ra == rb
    assert pa.keys() == pb.keys()
    for name in pa:
        va, vb = pa[name], pb[name]
        if isinstance(va, np.ndarray):
            assert _same_bits(va, vb), name
        else:
            assert type(va) is type(vb) and va == vb, name


def _outputs(model, X):
    outputs = {"predict": model.predict(X)}
    for method in ("predict_proba", "decision_function"):
        if hasattr(model, method):
            outputs[method] = getattr(model, method)(X)
    return outputs


def assert_same_model(a, b, X):
    """The same parameters, fitted state and outputs, bit for bit."""
    assert type(a) is type(b)
    _params_equal(a, b)
    for name in ("coefs_", "intercepts_"):
        assert all(_same_bits(u, v) for u, v in zip(getattr(a, name), getattr(b, name)))
    for name in ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_",
                 "best_validation_loss_", "loss_curve_", "validation_scores_",
                 "validation_loss_curve_", "n_features_in_", "n_outputs_", "n_layers_",
                 "out_activation_", "_no_improvement_count"):
        assert hasattr(a, name) == hasattr(b, name), name
        if hasattr(a, name):
            va, vb = getattr(a, name), getattr(b, name)
            assert va == vb or (va != va and vb != vb), name
    if hasattr(a, "classes_"):
        assert _same_bits(a.classes_, b.classes_)
    if hasattr(a, "feature_names_in_"):
        assert _same_bits(a.feature_names_in_, b.feature_names_in_)
    if getattr(a, "batch_norm_", None) is not None:
        for la, lb in zip(a.batch_norm_, b.batch_norm_):
            assert (la is None) == (lb is None)
            if la is not None:
                assert all(_same_bits(la[k], lb[k]) for k in la)
    oa, ob = _outputs(a, X), _outputs(b, X)
    assert oa.keys() == ob.keys()
    for method in oa:
        assert _same_bits(oa[method], ob[method]), method


def assert_round_trip(model, X, y, fit_kwargs=None, warm_start=True):
    """The loaded model is the saved one, and training it further (two
    partial_fit calls; a warm-started fit) gives what training the saved
    one gives, bit for bit: a pickled copy is the reference."""
    loaded = _round_trip(model)
    assert_same_model(model, loaded, X)
    assert_same_model(model, pickle.loads(pickle.dumps(loaded)), X)
    stochastic = model.solver in STOCHASTIC_SOLVERS
    if stochastic and not model.early_stopping:
        reference = pickle.loads(pickle.dumps(model))
        goes_on = _round_trip(model)
        for _ in range(2):
            reference.partial_fit(X, y)
            goes_on.partial_fit(X, y)
        assert_same_model(reference, goes_on, X)
    if not warm_start:
        return loaded
    reference = pickle.loads(pickle.dumps(model)).set_params(warm_start=True, max_iter=2)
    goes_on = _round_trip(model).set_params(warm_start=True, max_iter=2)
    reference.fit(X, y, **(fit_kwargs or {}))
    goes_on.fit(X, y, **(fit_kwargs or {}))
    assert_same_model(reference, goes_on, X)
    return loaded


def _classifier(**kwargs):
    kwargs.setdefault("random_state", 0)
    kwargs.setdefault("max_iter", 3)
    return MLPClassifier(hidden_layer_sizes=(5, 4), **kwargs)


def _regressor(**kwargs):
    kwargs.setdefault("random_state", 0)
    kwargs.setdefault("max_iter", 3)
    return MLPRegressor(hidden_layer_sizes=(5,), **kwargs)


# -- round trips ---------------------------------------------------------------


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activation(activation):
    model = _classifier(activation=activation).fit(X, Y_CLASSES)
    assert_round_trip(model, X, Y_CLASSES)


def _targets(kind):
    if kind == "binary":
        return Y_CLASSES % 2
    if kind == "multiclass":
        return Y_CLASSES
    return np.column_stack([Y_CLASSES % 2, Y_CLASSES // 2, (Y_CLASSES + 1) % 2])


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("loss", list(CLASSIFIER_LOSSES))
def test_every_classifier_loss(loss, kind):
    y = _targets(kind)
    model = _classifier(loss=loss).fit(X, y)
    assert_round_trip(model, X, y)


@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("loss", list(REGRESSOR_LOSSES))
def test_every_regressor_loss(loss, n_outputs):
    y = Y_REAL[:, 0] if n_outputs == 1 else Y_REAL
    if loss == "poisson":
        y = np.abs(y)
    model = _regressor(loss=loss, delta=0.7, quantile=0.3).fit(X, y)
    assert_round_trip(model, X, y)


@pytest.mark.parametrize("solver", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_solver_and_dtype(solver, dtype):
    Xd = X.astype(dtype)
    model = _regressor(solver=solver).fit(Xd, Y_REAL)
    assert model.coefs_[0].dtype == dtype
    loaded = assert_round_trip(model, Xd, Y_REAL)
    assert loaded.coefs_[0].dtype == dtype


def _schedules():
    for name, info in SCHEDULES.items():
        for unit in ("epoch", "step"):
            if unit == "step" and info.decay is None:
                continue  # schedules Python steps between epochs have no step unit
            yield name, unit


@pytest.mark.parametrize("schedule, unit", list(_schedules()))
@pytest.mark.parametrize("solver", ["sgd", "adamw"])
def test_every_schedule(schedule, unit, solver):
    model = _classifier(solver=solver, learning_rate=schedule, lr_schedule_unit=unit,
                        lr_step_size=2, lr_gamma=0.5, lr_t_max=4, warmup_iters=1,
                        plateau_patience=0, n_iter_no_change=1, tol=10.0,
                        learning_rate_init=0.05, max_iter=4).fit(X, Y_CLASSES)
    assert_round_trip(model, X, Y_CLASSES)


@pytest.mark.parametrize("batch_norm, dropout, solver", [
    (batch_norm, dropout, solver)
    for batch_norm, dropout in [(True, 0.0), (False, 0.3), ([True, False], [0.0, 0.4]),
                                (True, 0.2)]
    for solver in ["adam", "nadam", "rmsprop", "lbfgs"]
    if not (solver == "lbfgs" and dropout)])  # lbfgs refuses dropout
def test_batch_norm_and_dropout(batch_norm, dropout, solver):
    model = _classifier(batch_norm=batch_norm, dropout=dropout, solver=solver,
                        batch_size=8).fit(X, Y_CLASSES)
    loaded = assert_round_trip(model, X, Y_CLASSES)
    assert loaded._spec.batch_norm_layers == model._spec.batch_norm_layers


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_trained(fmt):
    Xs = sp.random(40, 6, density=0.3, format=fmt, random_state=0)
    model = _classifier().fit(Xs, Y_CLASSES)
    assert_round_trip(model, Xs, Y_CLASSES)


@pytest.mark.parametrize("classes", [
    np.array(["cat", "dog", "emu"]),
    np.array(["cat", "dog", "emu"], dtype=object),
    np.array([-3, 7, 11]),
    np.array([-1.0, 0.0, 2.0]),
    np.array([-1.0, 0.0, 2.0], dtype=np.float32),
    np.array([1, 2, 3], dtype=np.uint8),
    np.array([False, True, True]),
])
def test_class_labels(classes):
    y = classes[Y_CLASSES]
    model = _classifier().fit(X, y)
    loaded = assert_round_trip(model, X, y)
    assert loaded.classes_.dtype == model.classes_.dtype


def test_early_stopping_and_validation_records():
    model = _classifier(solver="sgd", early_stopping=True, validation_fraction=0.25,
                        max_iter=4).fit(X, Y_CLASSES)
    loaded = assert_round_trip(model, X, Y_CLASSES)
    assert loaded.validation_scores_ == model.validation_scores_
    model = _regressor(early_stopping=True, early_stopping_metric="loss").fit(
        X, Y_REAL, X_val=X[:10], y_val=Y_REAL[:10])
    assert_round_trip(model, X, Y_REAL, {"X_val": X[:10], "y_val": Y_REAL[:10]})


def test_parameters_of_every_kind():
    """Tuples, lists, arrays, dicts keyed by labels, infinity, a
    RandomState shared with training."""
    y = np.array(["a", "b", "c"])[Y_CLASSES]
    model = MLPClassifier(hidden_layer_sizes=np.array([4, 3]), activation=["tanh", "elu"],
                          class_weight={"a": 2.0, "b": 1, "c": 0.5}, n_iter_no_change=np.inf,
                          batch_norm=[False, True], dropout=(0.1, 0.0), max_iter=3,
                          random_state=np.random.RandomState(5)).fit(X, y)
    loaded = assert_round_trip(model, X, y)
    assert loaded.random_state is loaded._random_state
    assert loaded.n_iter_no_change == np.inf


def test_random_state_none_carries_the_stream():
    """partial_fit goes on with the model's stream; a warm start draws a new
    one from the operating system's entropy, for the saved and the loaded
    model alike."""
    model = _classifier(random_state=None, solver="sgd").fit(X, Y_CLASSES)
    assert_round_trip(model, X, Y_CLASSES, warm_start=False)


def test_feature_names():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = _regressor().fit(frame, Y_REAL)
    loaded = assert_round_trip(model, frame, Y_REAL)
    assert list(loaded.feature_names_in_) == ["a", "b", "c", "d"]


def test_partial_fit_model_with_other_settings_since():
    """The optimizer's settings are those of partial_fit's first call, kept
    across calls even after set_params: the file keeps them too."""
    model = _classifier(solver="sgd", momentum=0.5)
    model.partial_fit(X, Y_CLASSES, classes=[0, 1, 2])
    model.set_params(momentum=0.8)
    assert_round_trip(model, X, Y_CLASSES)


def test_assigned_weights_are_saved():
    model = _regressor(solver="lbfgs").fit(X, Y_REAL)
    model.coefs_[0] = np.ones_like(model.coefs_[0])
    loaded = _round_trip(model)
    assert_same_model(model, loaded, X)
    assert (loaded.coefs_[0] == 1).all()


def test_save_to_a_path_replaces_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"old")
    model = _regressor().fit(X, Y_REAL)
    model.save(path)
    assert_same_model(model, fastmlp.load(path), X)
    assert_same_model(model, fastmlp.load(str(path)), X)
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_pickle_and_joblib_keep_working(tmp_path):
    joblib = pytest.importorskip("joblib")
    model = _classifier(batch_norm=True).fit(X, Y_CLASSES)
    assert_same_model(model, pickle.loads(pickle.dumps(model)), X)
    joblib.dump(model, tmp_path / "model.joblib")
    assert_same_model(model, joblib.load(tmp_path / "model.joblib"), X)
    # and a loaded model pickles as any other
    loaded = _round_trip(model)
    joblib.dump(loaded, tmp_path / "loaded.joblib")
    assert_same_model(model, joblib.load(tmp_path / "loaded.joblib"), X)


def test_a_safetensors_reader_reads_the_arrays(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    model = _classifier(batch_norm=True).fit(X, Y_CLASSES)
    model.save(tmp_path / "m.safetensors")
    arrays = safetensors_numpy.load_file(str(tmp_path / "m.safetensors"))
    assert _same_bits(arrays["coefs_.1"], model.coefs_[1])
    assert _same_bits(arrays["batch_norm_.0.running_var"],
                      model.batch_norm_[0]["running_var"])


# -- what save refuses ------------------------------------------------------------


def test_save_needs_a_fitted_model():
    with pytest.raises(NotFittedError):
        _classifier().save(io.BytesIO())


def test_save_refuses_labels_that_are_not_plain():
    y = np.array([(1,), (2,), (3,)] + [None] * 0, dtype=object)
    labels = np.empty(3, dtype=object)
    labels[:] = [frozenset({1}), frozenset({2}), frozenset({3})]
    model = _classifier().fit(X, Y_CLASSES)
    model.classes_ = model._label_binarizer.classes_ = labels
    with pytest.raises(TypeError, match="str, int, float or bool"):
        model.save(io.BytesIO())
    del y


def test_save_refuses_a_parameter_it_cannot_hold():
    model = _classifier(class_weight={0: 1.0, 1: 2.0, 2: 1.0}).fit(X, Y_CLASSES)
    model.class_weight = {0: object(), 1: 1.0, 2: 1.0}
    with pytest.raises(TypeError, match="class_weight"):
        model.save(io.BytesIO())


# -- what load refuses --------------------------------------------------------------

Y_NAMES = np.array(["x", "y", "z"])[Y_CLASSES]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # three epochs do not converge
    FILE_MODEL = _classifier(batch_norm=[True, False], dropout=0.2, solver="adam",
                             ).fit(X, Y_NAMES)
    # a second file for the header tests: a float32 regressor, sgd on a
    # plateau schedule, with a random_state of its own set after fit
    OTHER_MODEL = _regressor(solver="sgd", learning_rate="plateau", batch_norm=True).fit(
        X.astype(np.float32), Y_REAL).set_params(random_state=np.random.RandomState(1))
FILE = _bytes(FILE_MODEL)
FILES = {"classifier": (FILE, Y_NAMES), "regressor": (_bytes(OTHER_MODEL), Y_REAL)}


def _split(data):
    metadata, arrays = read_container(data)
    return json.loads(metadata["fastmlp"]), arrays


def _join(header, arrays):
    return write_container(arrays, {"fastmlp": json.dumps(header)})


def assert_refused_or_valid(data, y=Y_NAMES):
    """A file loads to a model that works as a model of its network, or is
    refused with ModelFileError; never another error, never a model whose
    arrays do not chain."""
    try:
        model = from_bytes(data)
    except ModelFileError:
        return False
    coefs, intercepts = model.coefs_, model.intercepts_
    assert coefs[0].shape[0] == model.n_features_in_ == X.shape[1]
    for W, W_next in zip(coefs[:-1], coefs[1:]):
        assert W.shape[1] == W_next.shape[0]
    assert [b.shape for b in intercepts] == [(W.shape[1],) for W in coefs]
    assert coefs[-1].shape[1] == model.n_outputs_
    try:
        predicted = model.predict(X)
    except ValueError as exc:
        assert "not finite" in str(exc)  # weights tampered into overflow
    else:
        assert predicted.shape[0] == X.shape[0]
        if hasattr(model, "classes_"):
            assert predicted.shape == (X.shape[0],)
            assert set(predicted) <= set(model.classes_)
        else:
            assert predicted.shape == y.shape
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(X, y)
    except (ValueError, TypeError, AttributeError) as exc:
        assert str(exc)  # a settings change the estimator itself refuses
    return True


@pytest.mark.parametrize("case", list(FILES))
def test_untampered_files_load(case):
    assert assert_refused_or_valid(*FILES[case])


@pytest.mark.parametrize("case", list(FILES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_flipped_bytes(case, data):
    original, y = FILES[case]
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(original) - 1),
                                         st.integers(0, 255)), min_size=1, max_size=4))
    tampered = bytearray(original)
    for position, value in flips:
        tampered[position] = value
    assert_refused_or_valid(bytes(tampered), y)


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, path + (i,))
    yield path


HEADER, ARRAYS = _split(FILE)
SPLIT = {name: (*_split(data), y) for name, (data, y) in FILES.items()}
PATHS = {name: [path for path in _leaves(header) if path]
         for name, (header, _, _) in SPLIT.items()}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**64) | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from(["os.system", "relu", "float32", "array",
                                              "MLPRegressor", "softmax", "multiclass"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=3),
    max_leaves=6)


def _replace(header, path, value):
    header = json.loads(json.dumps(header))
    node = header
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return header


@pytest.mark.parametrize("case", list(FILES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_tampered_header_fields(case, data):
    header, arrays, y = SPLIT[case]
    path = data.draw(st.sampled_from(PATHS[case]))
    value = data.draw(JSON_VALUES)
    assert_refused_or_valid(_join(_replace(header, path, value), arrays), y)


@pytest.mark.parametrize("case", list(FILES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_header_fields_swapped_for_other_fields(case, data):
    """A field given another field's value: the most plausible tampering."""
    header, arrays, y = SPLIT[case]
    path, other = data.draw(st.sampled_from(PATHS[case])), data.draw(st.sampled_from(PATHS[case]))
    node = header
    for key in other:
        node = node[key]
    assert_refused_or_valid(_join(_replace(header, path, node), arrays), y)


@pytest.mark.parametrize("case", list(FILES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_tampered_arrays(case, data):
    """An array replaced by one of another shape or dtype, removed, or
    added."""
    header, arrays, y = SPLIT[case]
    arrays = dict(arrays)
    name = data.draw(st.sampled_from(sorted(arrays)))
    action = data.draw(st.sampled_from(["shape", "dtype", "drop", "add"]))
    array = arrays[name]
    if action == "shape":
        arrays[name] = np.zeros(data.draw(st.lists(st.integers(0, 7), max_size=3)),
                                dtype=array.dtype)
    elif action == "dtype":
        arrays[name] = array.astype(data.draw(st.sampled_from(
            ["float32", "float64", "int64", "uint32", "bool"])))
    elif action == "drop":
        del arrays[name]
    else:
        arrays[data.draw(st.text(max_size=8))] = array
    assert_refused_or_valid(_join(header, arrays), y)


def test_tampered_array_values_are_refused():
    for name, value in [("coefs_.0", np.nan), ("intercepts_.2", np.inf),
                        ("batch_norm_.0.running_var", -1.0)]:
        arrays = dict(ARRAYS)
        arrays[name] = arrays[name].copy()
        arrays[name][0] = value
        with pytest.raises(ModelFileError, match="NaN or infinity|negative"):
            from_bytes(_join(HEADER, arrays))
    header = _replace(HEADER, ("labels", "classes", "values"), ["z", "y", "x"])
    with pytest.raises(ModelFileError, match="sorted"):
        from_bytes(_join(header, ARRAYS))


def test_truncated_files_are_refused():
    n_header = int.from_bytes(FILE[:8], "little")
    cuts = sorted(set(range(0, 8 + n_header + 16)) | set(range(0, len(FILE), 7)))
    for cut in cuts:
        with pytest.raises(ModelFileError):
            from_bytes(FILE[:cut])
    with pytest.raises(ModelFileError, match="unlisted bytes"):
        from_bytes(FILE + b"\0")


def test_a_header_naming_code_is_refused_without_running_it(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *args: calls.append(args))
    real_import = builtins.__import__

    def watched_import(name, *args, **kwargs):
        calls.append(name) if "evil" in name else None
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", watched_import)
    tampered = [
        (("estimator",), "os.system", "estimator"),
        (("estimator",), "evil_module.Estimator", "estimator"),
        (("estimator",), "LogisticRegression", "estimator"),
        (("params", "activation"), "os.system", "activation"),
        (("params", "solver"), {"__reduce__": ["os.system", ["echo"]]}, "solver"),
        (("network", "loss"), "evil_module.loss", "loss"),
        (("network", "hidden", 0, "activation"), "os.system", "activation"),
        (("optimizer", "solver"), "os.system", "solver"),
        (("optimizer", "lr_schedule"), "evil_module", "schedule"),
    ]
    for path, value, word in tampered:
        with pytest.raises(ModelFileError, match=word):
            from_bytes(_join(_replace(HEADER, path, value), ARRAYS))
    header = dict(HEADER, params=dict(HEADER["params"], callbacks="os.system"))
    with pytest.raises(ModelFileError, match="callbacks"):
        from_bytes(_join(header, ARRAYS))
    assert calls == []


def test_newer_format_is_refused():
    header = dict(HEADER, format_version=FORMAT_VERSION + 1, fastmlp_version="9.0")
    with pytest.raises(ModelFileError, match="newer.*Upgrade fastmlp"):
        from_bytes(_join(header, ARRAYS))


def test_other_files_are_refused(tmp_path):
    with pytest.raises(ModelFileError, match="not a fastmlp model"):
        from_bytes(write_container({"x": np.zeros(3)}, {}))
    with pytest.raises(ModelFileError, match="not a fastmlp model"):
        from_bytes(_join(dict(HEADER, format="something.else"), ARRAYS))
    # a pickle is never unpickled
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(FILE_MODEL))
    with pytest.raises(ModelFileError):
        fastmlp.load(path)
    with pytest.raises(ModelFileError, match="empty or truncated"):
        from_bytes(b"")


def test_container_refuses_malformed_headers():
    def container(header_text):
        text = header_text.encode()
        return len(text).to_bytes(8, "little") + text

    for text, match in [
        ('{"a": 1, "a": 2}', "repeats a key"),
        ('{"__metadata__": {"fastmlp": NaN}}', "NaN"),
        ("[" * 100_000 + "]" * 100_000, "nests too deeply|not a JSON object"),
        ('{"x": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}}', "needs 16 bytes"),
        ('{"x": {"dtype": "O", "shape": [1], "data_offsets": [0, 8]}}', "dtype"),
        ('{"x": {"dtype": "F64", "shape": [-1], "data_offsets": [0, 8]}}', "shape"),
        ('"text"', "not a JSON object"),
        ("\xff", "JSON"),
    ]:
        with pytest.raises(ModelFileError, match=match):
            from_bytes(container(text))
    huge = (1 << 40).to_bytes(8, "little") + b"{}"
    with pytest.raises(ModelFileError, match="more than"):
        from_bytes(huge)


def test_inner_header_refuses_repeated_keys():
    text = json.dumps(HEADER)
    repeated = text[:-1] + ', "estimator": "MLPRegressor"}'
    with pytest.raises(ModelFileError, match="repeated"):
        from_bytes(write_container(ARRAYS, {"fastmlp": repeated}))


def test_save_refuses_a_header_load_would_refuse(monkeypatch):
    import fastmlp._files as files

    monkeypatch.setattr(files, "MAX_HEADER_BYTES", 2000)
    with pytest.raises(ValueError, match="more than the 2000"):
        FILE_MODEL.save(io.BytesIO())
