"""scikit-learn's callback API (sklearn.callback, issue 12): a context per
fit whose subtasks are the epochs (lbfgs: iterations); ProgressBar,
ScoringMonitor, stopping on request, fitted copies only when asked, inside
Pipeline and GridSearchCV across processes."""
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._callbacks import FitCallbacks

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digits(n=300):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _params(**extra):
    # tol=0 and a patient n_iter_no_change: exactly max_iter epochs
    params = dict(hidden_layer_sizes=(10,), max_iter=5, random_state=0, tol=0.0,
                  n_iter_no_change=1000)
    params.update(extra)
    return params


class Recorder:
    """Keeps what each hook was given (in this process)."""

    def __init__(self, stop_after=None):
        self.events = []
        self.stop_after = stop_after

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name, None))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None,
                          fitted_estimator=None):
        self.events.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None,
                        fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id,
                            dict(X=X, y=y, metadata=metadata, fitted=fitted_estimator)))
        return (self.stop_after is not None and context.parent is not None
                and context.task_id == self.stop_after - 1)

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name, None))

    def ends(self, task_name):
        return [event[3] for event in self.events
                if event[0] == "end" and event[1] == task_name]


class CountingCallback:
    """A callback whose hooks take no arguments: it needs no fitted copy."""

    def __init__(self):
        self.n_end = 0

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        self.n_end += 1

    def teardown(self, estimator, context):
        pass


def _same_params(a, b):
    for Wa, Wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(Wa, Wb)


# ---------------------------------------------------------- ScoringMonitor


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_scoring_monitor_logs_each_epochs_score(solver):
    X, y = _digits()
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPClassifier(**_params(solver=solver)).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    root, epochs = rows[0], rows[1:]
    assert root["task_name"] == "fit" and root["accuracy"] == clf.score(X, y)
    assert [row["task_name"] for row in epochs] == ["epoch"] * 5
    assert [row["task_id"] for row in epochs] == list(range(5))
    assert all(row["parent_task_id_path"] == (0,) for row in epochs)
    # epoch k's score is that of the model trained for k + 1 epochs
    for k, row in enumerate(epochs):
        shorter = MLPClassifier(**_params(solver=solver, max_iter=k + 1)).fit(X, y)
        assert row["accuracy"] == shorter.score(X, y)


def test_scoring_monitor_logs_lbfgs_iterations():
    X, y = _digits()
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPClassifier(**_params(solver="lbfgs", max_iter=4)).set_callbacks(monitor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    rows = monitor.get_logs().data
    iterations = [row for row in rows if row["task_name"] == "iteration"]
    # the iteration begun after the last is closed empty: no score logged
    assert [row["task_id"] for row in iterations] == list(range(clf.n_iter_))
    assert iterations[-1]["accuracy"] == clf.score(X, y)


def test_scoring_monitor_log_as_a_data_frame():
    pytest.importorskip("pandas")
    X, y = _digits()
    monitor = ScoringMonitor(scoring=["accuracy", "neg_log_loss"])
    MLPClassifier(**_params(max_iter=3)).set_callbacks(monitor).fit(X, y)
    frame = monitor.get_logs().data_as_pandas
    epochs = frame[frame["task_name"] == "epoch"]
    assert len(epochs) == 3
    assert (epochs["neg_log_loss"].diff().dropna() > 0).all()  # the loss falls


def test_regressor_scoring_monitor():
    X, y = _digits()
    monitor = ScoringMonitor(scoring="r2")
    reg = MLPRegressor(**_params(max_iter=3)).set_callbacks(monitor).fit(X, y / 9.0)
    rows = monitor.get_logs().data
    assert rows[-1]["task_name"] == "epoch" and rows[-1]["r2"] == reg.score(X, y / 9.0)


# ------------------------------------------------------- what hooks are given


def test_hooks_get_the_training_rows_and_the_users_sample_weight():
    X, y = _digits()
    sw = np.linspace(0.5, 1.5, 300)
    recorder = Recorder()
    clf = MLPClassifier(**_params(max_iter=2, early_stopping=True, class_weight={0: 3.0}))
    clf.set_callbacks(recorder).fit(X, y, sample_weight=sw)
    end = recorder.ends("epoch")[0]
    # early stopping held 10% out: the hooks see the 270 rows trained on,
    # with the weights the user passed (class weights are the fit's own)
    assert end["X"].shape == (270, 64)
    rows = [np.flatnonzero((X == x).all(axis=1))[0] for x in end["X"]]
    assert_array_equal(end["y"], y[rows])
    assert_array_equal(end["metadata"]["sample_weight"], sw[rows])


def test_fitted_estimator_is_the_model_at_the_end_of_each_epoch():
    X, y = _digits()
    recorder = Recorder()
    clf = MLPClassifier(**_params()).set_callbacks(recorder).fit(X, y)
    fitted = [end["fitted"] for end in recorder.ends("epoch")]
    assert len(fitted) == 5
    for k, copy in enumerate(fitted):
        shorter = MLPClassifier(**_params(max_iter=k + 1)).fit(X, y)
        _same_params(copy, shorter)
        assert copy.n_iter_ == k + 1 and copy.loss_curve_ == shorter.loss_curve_
        assert_array_equal(copy.predict_proba(X), shorter.predict_proba(X))
    assert fitted[-1].coefs_[0] is not clf.coefs_[0]
    _same_params(fitted[-1], clf)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_fitted_copies_with_batch_norm_keep_their_epochs_statistics(solver):
    # the running statistics go on changing after an epoch: a copy keeps
    # its own, as it keeps its own weights
    X, y = _digits()
    extra = dict(solver=solver, batch_norm=True)
    if solver == "adam":
        extra["dropout"] = 0.1
    recorder = Recorder()
    MLPClassifier(**_params(**extra)).set_callbacks(recorder).fit(X, y)
    task = "epoch" if solver == "adam" else "iteration"
    fitted = [end["fitted"] for end in recorder.ends(task)]
    assert len(fitted) >= 3
    for k, copy in enumerate(fitted[:3]):
        shorter = MLPClassifier(**_params(max_iter=k + 1, **extra)).fit(X, y)
        _same_params(copy, shorter)
        for a, b in zip(copy.batch_norm_, shorter.batch_norm_):
            for key in a:
                np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(copy.predict_proba(X), shorter.predict_proba(X),
                                   rtol=1e-12, atol=1e-15)


def test_fitted_copies_are_made_only_when_a_hook_asks(monkeypatch):
    made = []
    original = FitCallbacks._snapshot
    monkeypatch.setattr(FitCallbacks, "_snapshot",
                        lambda self, params: made.append(1) or original(self, params))
    X, y = _digits()
    counting = CountingCallback()
    MLPClassifier(**_params()).set_callbacks(counting).fit(X, y)
    assert counting.n_end == 6 and made == []
    MLPClassifier(**_params()).set_callbacks(Recorder()).fit(X, y)
    assert len(made) == 5


def test_a_fit_without_callbacks_opens_no_context(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a callback context was opened")

    monkeypatch.setattr(MLPClassifier, "_init_callback_context", refuse)
    X, y = _digits()
    MLPClassifier(**_params(max_iter=2)).fit(X, y)
    MLPClassifier(**_params(max_iter=2)).partial_fit(X, y, classes=np.unique(y))


def test_partial_fit_is_a_task_of_one_epoch():
    X, y = _digits()
    recorder = Recorder()
    clf = MLPClassifier(**_params()).set_callbacks(recorder)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    names = [(e[0], e[1]) for e in recorder.events]
    assert names == [("setup", "fit"), ("begin", "fit"), ("begin", "epoch"), ("end", "epoch"),
                     ("end", "fit"), ("teardown", "fit")] * 2


# ------------------------------------------------------------- stopping


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_a_callback_asking_to_stop_ends_training_after_that_epoch(solver):
    X, y = _digits()
    clf = MLPClassifier(**_params(solver=solver, max_iter=8)).set_callbacks(
        Recorder(stop_after=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a request, not a failure
        clf.fit(X, y)
    assert clf.n_iter_ == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        shorter = MLPClassifier(**_params(solver=solver, max_iter=3)).fit(X, y)
    _same_params(clf, shorter)


def test_a_stop_with_early_stopping_keeps_the_best_epoch_done():
    X, y = _digits()
    clf = MLPClassifier(**_params(max_iter=20, early_stopping=True)).set_callbacks(
        Recorder(stop_after=4)).fit(X, y)
    assert clf.n_iter_ == 4 and len(clf.validation_scores_) == 4
    shorter = MLPClassifier(**_params(max_iter=4, early_stopping=True)).fit(X, y)
    _same_params(clf, shorter)


# --------------------------------------------------------------- failures


def test_a_failed_fit_still_tears_its_callbacks_down():
    X, y = _digits()
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    recorder = Recorder()
    clf = MLPClassifier(**_params()).set_callbacks(recorder)
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(X_bad, y)
    assert [e[0] for e in recorder.events] == ["setup", "teardown"]
    assert not hasattr(clf, "_callback_fit_ctx") and not hasattr(clf, "coefs_")


@pytest.mark.parametrize("bad, message", [
    ("progress", r"argument 0 is 'progress' \(a str\), not a callback: it has no setup"),
    (ProgressBar, r"argument 0 is the class ProgressBar: pass ProgressBar\(\) instead"),
    (CountingCallback, "argument 0 is the class CountingCallback"),
])
def test_set_callbacks_refuses_what_is_not_a_callback(bad, message):
    with pytest.raises(TypeError, match=message):
        MLPClassifier().set_callbacks(bad)


def test_verbose_prints_the_same_lines_with_callbacks(capsys):
    X, y = _digits()
    params = _params(max_iter=3, verbose=True, early_stopping=True)
    MLPClassifier(**params).fit(X, y)
    plain = capsys.readouterr().out
    MLPClassifier(**params).set_callbacks(Recorder()).fit(X, y)
    assert capsys.readouterr().out == plain
    assert re.findall(r"Iteration \d+, loss = [\d.]+\nValidation score: [\d.]+", plain)


# ------------------------------------- ProgressBar, Pipeline, GridSearchCV


def test_progress_bar_shows_a_bar_over_the_epochs(capsys):
    pytest.importorskip("rich")
    X, y = _digits()
    MLPClassifier(**_params()).set_callbacks(ProgressBar()).fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"MLPClassifier - fit", out)
    assert re.search(r"100%", out) and not re.search(r"\b[0-9]{1,2}%", out)


def test_callbacks_inside_a_pipeline():
    X, y = _digits()
    monitor = ScoringMonitor(scoring="accuracy")
    mlp = MLPClassifier(**_params(max_iter=3)).set_callbacks(monitor)
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)]).fit(X, y)
    epochs = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert len(epochs) == 3
    # the MLP's task tree hangs under the pipeline's
    assert epochs[0]["task_id_path"][:-1] != (0,)
    assert epochs[-1]["accuracy"] == pipe[-1].score(pipe[0].transform(X), y)


def test_progress_bar_inside_a_pipeline(capsys):
    pytest.importorskip("rich")
    X, y = _digits()
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier(**_params()))])
    pipe.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"Pipeline - fit", out)
    assert re.search(r"fit-final-estimator \| MLPClassifier - fit", out)


def test_grid_search_across_processes_logs_every_fits_epochs():
    X, y = _digits()
    monitor = ScoringMonitor(scoring="accuracy")
    mlp = MLPClassifier(**_params(max_iter=3)).set_callbacks(monitor)
    search = GridSearchCV(mlp, {"alpha": [1e-4, 1e-2]}, cv=2, n_jobs=2).fit(X, y)
    assert clone(mlp)._skl_callbacks == [monitor]
    epochs = [row for logs in monitor.get_logs(select="all") for row in logs.data
              if row["task_name"] == "epoch"]
    # 2 candidates x 2 folds in the workers, and the refit here: 3 epochs each
    assert len(epochs) == 5 * 3
    assert all(0 <= row["accuracy"] <= 1 for row in epochs)
    assert search.best_estimator_.n_iter_ == 3


def test_progress_bar_on_a_grid_search_across_processes(capsys):
    pytest.importorskip("rich")
    X, y = _digits()
    search = GridSearchCV(MLPClassifier(**_params(max_iter=3)), {"alpha": [1e-4, 1e-2]},
                          cv=2, n_jobs=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"GridSearchCV - fit", out)
    assert re.search(r"MLPClassifier - fit", out)
    assert re.search(r"100%", out) and not re.search(r"\b[0-9]{1,2}%", out)
