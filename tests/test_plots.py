"""LossCurveDisplay and DecisionRegionsDisplay (issue 14, pictures).

Every display is drawn with matplotlib's Agg backend (no display needed) and
written to PNG; the artists' data are compared with the estimator's curves
and predictions, so a picture that shows something else fails.
"""
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.callback import ScoringMonitor
from sklearn.datasets import make_blobs, make_moons, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from fastmlp import DecisionRegionsDisplay, LossCurveDisplay, MLPClassifier, MLPRegressor

os.environ["MPLBACKEND"] = "Agg"
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_MOONS, Y_MOONS = make_moons(240, noise=0.25, random_state=0)
X_VAL, Y_VAL = make_moons(120, noise=0.25, random_state=1)
X_BLOBS, Y_BLOBS = make_blobs(240, centers=3, random_state=0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _assert_png(figure, path):
    figure.savefig(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def _early_stopped(metric="score", **params):
    clf = MLPClassifier((32,), early_stopping=True, early_stopping_metric=metric,
                        learning_rate_init=0.1, max_iter=80, n_iter_no_change=8,
                        alpha=0.0, random_state=0, **params)
    return clf.fit(X_MOONS, Y_MOONS, X_val=X_VAL, y_val=Y_VAL)


# -- LossCurveDisplay -------------------------------------------------------

def test_importing_fastmlp_imports_neither_matplotlib_nor_the_displays():
    # the Displays need sklearn.inspection, which imports scikit-learn's
    # ensembles and trees; they load at first use, matplotlib when drawing
    code = """if True:
        import sys, fastmlp
        assert {"matplotlib", "sklearn.inspection", "fastmlp._plots"}.isdisjoint(sys.modules)
        from fastmlp import LossCurveDisplay
        assert "sklearn.inspection" in sys.modules and "matplotlib" not in sys.modules
        assert fastmlp.DecisionRegionsDisplay.__module__ == "fastmlp._plots"
        assert {"LossCurveDisplay", "DecisionRegionsDisplay"} <= set(dir(fastmlp))
        try:
            fastmlp.LossCurveDisplays
        except AttributeError as exc:
            assert "LossCurveDisplays" in str(exc)
        else:
            raise AssertionError("no AttributeError")
        """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


@pytest.mark.parametrize("draw", [
    lambda: LossCurveDisplay(loss_curve=[1.0, 0.5]).plot(),
    lambda: LossCurveDisplay.from_estimator(_early_stopped()),
])
def test_without_matplotlib_the_error_names_the_extra(monkeypatch, draw):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(ImportError, match=r"fastmlp\[plots\]"):
        draw()


@pytest.mark.parametrize("metric", ["score", "loss"])
def test_curves_are_the_estimators_and_the_marker_is_the_restored_epoch(metric, tmp_path):
    clf = _early_stopped(metric)
    display = LossCurveDisplay.from_estimator(clf)
    n = len(clf.loss_curve_)
    assert n == clf.n_iter_ and n < 80  # stopped early
    assert_array_equal(display.line_.get_xdata(), np.arange(1, n + 1))
    assert_array_equal(display.line_.get_ydata(), clf.loss_curve_)
    assert_array_equal(display.validation_line_.get_xdata(), np.arange(1, n + 1))
    assert_array_equal(display.validation_line_.get_ydata(), clf.validation_loss_curve_)
    assert_array_equal(display.score_line_.get_ydata(), clf.validation_scores_)
    assert display.score_line_.axes is display.score_ax_ is not display.ax_
    assert display.score_ax_.get_ylabel() == "validation accuracy"
    assert display.ax_.get_xlabel() == "epoch"

    # the marked epoch is the one whose weights the model holds: its
    # validation loss (alpha=0: the mean log loss) and score are the curves'
    best = display.best_epoch
    val_loss = clf.loss_gradient(X_VAL, Y_VAL)[0]
    assert_allclose(val_loss, clf.validation_loss_curve_[best - 1], rtol=1e-9)
    assert clf.score(X_VAL, Y_VAL) == clf.validation_scores_[best - 1]
    if metric == "loss":
        assert best == 1 + int(np.argmin(clf.validation_loss_curve_))
        assert display.best_marker_.axes is display.ax_
    else:
        assert best == 1 + int(np.argmax(clf.validation_scores_))
        assert display.best_marker_.axes is display.score_ax_
    assert best < n  # there were epochs after the best one
    x, y = display.best_marker_.get_data()
    watched = clf.validation_loss_curve_ if metric == "loss" else clf.validation_scores_
    assert list(x) == [best] and list(y) == [watched[best - 1]]
    _assert_png(display.figure_, tmp_path / "loss.png")


def test_without_validation_only_the_training_loss_is_drawn(tmp_path):
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(X_MOONS, Y_MOONS)
    display = LossCurveDisplay.from_estimator(reg)
    assert_array_equal(display.line_.get_ydata(), reg.loss_curve_)
    assert display.validation_line_ is None and display.score_line_ is None
    assert display.score_ax_ is None and display.best_marker_ is None
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["training loss"]
    _assert_png(display.figure_, tmp_path / "loss.png")


def test_validation_data_without_early_stopping_draws_its_loss_and_no_marker():
    clf = MLPClassifier((8,), max_iter=20, random_state=0).fit(
        X_MOONS, Y_MOONS, X_val=X_VAL, y_val=Y_VAL)
    display = LossCurveDisplay.from_estimator(clf)
    assert_array_equal(display.validation_line_.get_ydata(), clf.validation_loss_curve_)
    assert display.score_line_ is None and display.best_marker_ is None


def test_regressor_scores_are_r2():
    reg = MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=40, random_state=0).fit(
        X_MOONS, Y_MOONS)
    display = LossCurveDisplay.from_estimator(reg)
    assert display.score_ax_.get_ylabel() == "validation R²"
    assert display.best_epoch == 1 + int(np.argmax(reg.validation_scores_))


def test_a_warm_start_places_its_validation_on_its_own_epochs():
    clf = _early_stopped()
    first = len(clf.loss_curve_)
    clf.set_params(warm_start=True, max_iter=5, n_iter_no_change=10)
    clf.fit(X_MOONS, Y_MOONS, X_val=X_VAL, y_val=Y_VAL)
    assert len(clf.loss_curve_) == first + 5 and len(clf.validation_scores_) == 5
    display = LossCurveDisplay.from_estimator(clf)
    assert_array_equal(display.validation_line_.get_xdata(), np.arange(first + 1, first + 6))
    assert_array_equal(display.score_line_.get_ydata(), clf.validation_scores_)
    assert first < display.best_epoch <= first + 5


def test_validation_of_a_fit_before_partial_fit_is_left_out_with_a_warning():
    clf = MLPClassifier((8,), max_iter=10, random_state=0).fit(
        X_MOONS, Y_MOONS, X_val=X_VAL, y_val=Y_VAL)
    clf.partial_fit(X_MOONS, Y_MOONS)
    with pytest.warns(UserWarning, match="partial_fit"):
        display = LossCurveDisplay.from_estimator(clf)
    assert display.validation_line_ is None
    assert_array_equal(display.line_.get_ydata(), clf.loss_curve_)


def test_scikit_learns_mlp_draws_too():
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    clf = SklearnMLP((8,), early_stopping=True, max_iter=30, random_state=0).fit(
        X_MOONS, Y_MOONS)
    display = LossCurveDisplay.from_estimator(clf)
    assert_array_equal(display.line_.get_ydata(), clf.loss_curve_)
    assert_array_equal(display.score_line_.get_ydata(), clf.validation_scores_)
    assert display.validation_line_ is None  # scikit-learn records no validation loss
    assert display.best_epoch == 1 + int(np.argmax(clf.validation_scores_))
    regions = DecisionRegionsDisplay.from_estimator(clf, X_MOONS, Y_MOONS)
    assert regions.scatter_ is not None


def test_models_share_an_axes_with_their_names():
    fig, ax = plt.subplots()
    for rate in (0.1, 0.01):
        clf = MLPClassifier((8,), learning_rate_init=rate, max_iter=15, random_state=0)
        display = LossCurveDisplay.from_estimator(clf.fit(X_MOONS, Y_MOONS), ax=ax,
                                                  name=f"lr={rate}", color="C3", lw=3)
        assert display.ax_ is ax and display.figure_ is fig
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["lr=0.1: training loss", "lr=0.01: training loss"]
    assert display.line_.get_linewidth() == 3 and display.line_.get_color() == "C3"


def test_lbfgs_has_no_loss_curve_and_the_error_gives_the_recipe_that_works(tmp_path):
    monitor = ScoringMonitor(scoring={"loss": lambda est, X, y: est.loss_})
    clf = MLPClassifier((8,), solver="lbfgs", max_iter=40, random_state=0)
    clf.set_callbacks(monitor).fit(X_MOONS, Y_MOONS)
    with pytest.raises(ValueError, match="ScoringMonitor") as error:
        LossCurveDisplay.from_estimator(clf)
    assert "lbfgs" in str(error.value)
    # the recipe of the message
    curve = [row["loss"] for row in monitor.get_logs().data
             if row["task_name"] == "iteration"]
    assert len(curve) == clf.n_iter_ and curve[-1] == clf.loss_
    assert all(a >= b for a, b in zip(curve, curve[1:]))  # lbfgs's accepted iterates
    display = LossCurveDisplay(loss_curve=curve, unit="iteration").plot()
    assert_array_equal(display.line_.get_ydata(), curve)
    assert display.ax_.get_xlabel() == "iteration"
    _assert_png(display.figure_, tmp_path / "lbfgs.png")


@pytest.mark.parametrize("display", [LossCurveDisplay, DecisionRegionsDisplay])
def test_unfitted_models_are_refused(display):
    with pytest.raises(NotFittedError):
        if display is LossCurveDisplay:
            display.from_estimator(MLPClassifier())
        else:
            display.from_estimator(MLPClassifier(), X_MOONS)


@pytest.mark.parametrize("params, match", [
    ({"loss_curve": []}, "empty"),
    ({"loss_curve": [[1.0, 2.0]]}, "1-D"),
    ({"loss_curve": [1, 2, 3], "validation_loss_curve": [1, 2],
      "validation_scores": [1]}, "one value per validation epoch"),
    ({"loss_curve": [1, 2], "validation_loss_curve": [1, 2, 3]}, "validation_epochs"),
    ({"loss_curve": [1, 2], "validation_loss_curve": [1, 2],
      "validation_epochs": [1]}, "validation_epochs has 1"),
    ({"loss_curve": [1, 2], "monitor": "accuracy"}, "monitor"),
    ({"loss_curve": [1, 2], "validation_loss_curve": [1, 2], "best_epoch": 5},
     "best_epoch=5"),
    ({"loss_curve": [1, 2], "validation_loss_curve": [1, 2], "best_epoch": 1,
      "monitor": "score"}, "best_epoch=1"),
])
def test_bad_curves_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        LossCurveDisplay(**params).plot()


def test_a_display_of_given_curves_draws_them_where_told():
    display = LossCurveDisplay(loss_curve=[3, 2, 1.5, 1.2], validation_loss_curve=[2.5, 2.6],
                               validation_epochs=[2, 4], best_epoch=2).plot()
    assert_array_equal(display.validation_line_.get_xdata(), [2, 4])
    assert_array_equal(display.best_marker_.get_data()[1], [2.5])


# -- DecisionRegionsDisplay -------------------------------------------------

def _grid(X, resolution=100, eps=1.0):
    xx0, xx1 = np.meshgrid(np.linspace(X[:, 0].min() - eps, X[:, 0].max() + eps, resolution),
                           np.linspace(X[:, 1].min() - eps, X[:, 1].max() + eps, resolution))
    return xx0, xx1, np.c_[xx0.ravel(), xx1.ravel()]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_regions_are_the_models_probabilities(dtype, tmp_path):
    clf = MLPClassifier((16,), solver="lbfgs", random_state=0).fit(
        X_MOONS.astype(dtype), Y_MOONS)
    display = DecisionRegionsDisplay.from_estimator(
        clf, X_MOONS, Y_MOONS, response_method="predict_proba", plot_method="pcolormesh",
        grid_resolution=50)
    xx0, xx1, grid = _grid(X_MOONS, 50)
    expected = clf.predict_proba(grid)[:, 1].reshape(xx0.shape)
    assert_array_equal(display.xx0, xx0)
    assert_array_equal(display.response, expected)
    assert_array_equal(np.asarray(display.surface_.get_array()).ravel(), expected.ravel())
    # the points, coloured as the colormap's ends: classes_[1] high
    assert_array_equal(display.scatter_.get_offsets(), X_MOONS)
    cmap = display.surface_.get_cmap()
    expected_colors = np.where((Y_MOONS == 1)[:, None], cmap(1.0), cmap(0.0))
    assert_allclose(display.scatter_.get_facecolors(), expected_colors)
    _assert_png(display.figure_, tmp_path / "regions.png")


def test_multiclass_predict_regions_and_points_in_the_class_colours(tmp_path):
    clf = MLPClassifier((16,), solver="lbfgs", max_iter=500, random_state=0)
    clf.fit(X_BLOBS, Y_BLOBS + 10)  # labels that are not their indices
    display = DecisionRegionsDisplay.from_estimator(
        clf, X_BLOBS, Y_BLOBS + 10, response_method="predict", grid_resolution=40,
        scatter_kwargs={"s": 5, "marker": "s"})
    xx0, _, grid = _grid(X_BLOBS, 40)
    assert_array_equal(display.response, (clf.predict(grid) - 10).reshape(xx0.shape))
    assert_allclose(display.scatter_.get_facecolors(), display.multiclass_colors_[Y_BLOBS])
    assert_array_equal(display.scatter_.get_sizes(), [5])
    _assert_png(display.figure_, tmp_path / "regions.png")


def test_multiclass_probabilities_and_a_class_of_interest():
    clf = MLPClassifier((16,), solver="lbfgs", max_iter=500, random_state=0).fit(
        X_BLOBS, Y_BLOBS)
    xx0, _, grid = _grid(X_BLOBS, 30)
    display = DecisionRegionsDisplay.from_estimator(
        clf, X_BLOBS, response_method="predict_proba", grid_resolution=30)
    assert_array_equal(display.response, clf.predict_proba(grid).reshape(30, 30, 3))
    assert display.scatter_ is None  # no y, no points
    display = DecisionRegionsDisplay.from_estimator(
        clf, X_BLOBS, Y_BLOBS, response_method="predict_proba", class_of_interest=2,
        grid_resolution=30)
    assert_array_equal(display.response, clf.predict_proba(grid)[:, 2].reshape(xx0.shape))
    cmap = display.surface_.get_cmap()
    assert_allclose(display.scatter_.get_facecolors(),
                    np.where((Y_BLOBS == 2)[:, None], cmap(1.0), cmap(0.0)))


def test_hinge_models_draw_their_scores():
    clf = MLPClassifier((16,), loss="hinge", solver="lbfgs", random_state=0).fit(
        X_MOONS, Y_MOONS)
    display = DecisionRegionsDisplay.from_estimator(clf, X_MOONS, grid_resolution=30)
    _, _, grid = _grid(X_MOONS, 30)
    assert_array_equal(display.response.ravel(), clf.decision_function(grid))
    with pytest.raises(ValueError, match="loss='hinge'.*decision_function"):
        DecisionRegionsDisplay.from_estimator(clf, X_MOONS, response_method="predict_proba")


def test_log_loss_models_have_no_decision_function():
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X_MOONS, Y_MOONS)
    with pytest.raises(ValueError, match="decision_function is not available.*predict_proba"):
        DecisionRegionsDisplay.from_estimator(clf, X_MOONS,
                                              response_method="decision_function")


def test_plotting_again_on_new_axes_draws_the_points_again():
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X_MOONS, Y_MOONS)
    display = DecisionRegionsDisplay.from_estimator(clf, X_MOONS, Y_MOONS)
    _, ax = plt.subplots()
    display.plot(ax=ax, plot_method="contour", scatter_kwargs={"s": 3})
    assert display.ax_ is ax and display.scatter_.axes is ax
    assert_array_equal(display.scatter_.get_offsets(), X_MOONS)


def test_a_display_of_given_regions_colours_points_by_their_labels():
    xx0, xx1, grid = _grid(X_BLOBS, 20)
    display = DecisionRegionsDisplay(
        xx0=xx0, xx1=xx1, n_classes=3, response=(grid[:, 0] > 0).reshape(xx0.shape) * 2,
        X=X_BLOBS, y=Y_BLOBS).plot()
    assert_allclose(display.scatter_.get_facecolors(), display.multiclass_colors_[Y_BLOBS])


def test_dataframe_columns_name_the_axes():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(X_MOONS, columns=["height", "width"])
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, Y_MOONS)
    display = DecisionRegionsDisplay.from_estimator(clf, X, Y_MOONS)
    assert (display.ax_.get_xlabel(), display.ax_.get_ylabel()) == ("height", "width")
    assert_array_equal(display.scatter_.get_offsets(), X_MOONS)


def test_multilabel_models_are_refused():
    X, Y = make_multilabel_classification(100, n_features=2, n_classes=3, random_state=0)
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="multilabel"):
        DecisionRegionsDisplay.from_estimator(clf, X)


@pytest.mark.parametrize("make, X, y, kwargs, match", [
    (lambda: MLPRegressor(hidden_layer_sizes=(4,), max_iter=5).fit(X_MOONS, Y_MOONS), X_MOONS, None, {},
     "not a classifier"),
    (lambda: MLPClassifier((4,), max_iter=5).fit(X_MOONS, Y_MOONS),
     np.c_[X_MOONS, X_MOONS[:, :1]], None, {}, "2 features; got 3"),
    (lambda: MLPClassifier((4,), max_iter=5).fit(np.c_[X_MOONS, X_MOONS], Y_MOONS),
     X_MOONS, None, {}, "fitted on 4 features"),
    (lambda: MLPClassifier((4,), max_iter=5).fit(X_MOONS, Y_MOONS), X_MOONS, None,
     {"response_method": "predict_log_proba"}, "response_method must be one of"),
    (lambda: MLPClassifier((4,), max_iter=5).fit(X_MOONS, Y_MOONS), X_MOONS, Y_MOONS[:-1],
     {}, "240 rows but y has 239"),
    (lambda: MLPClassifier((4,), max_iter=5).fit(X_MOONS, Y_MOONS), X_MOONS, Y_MOONS + 1,
     {}, r"not fitted on: \[2\]"),
    (lambda: MLPClassifier((4,), max_iter=5).fit(X_MOONS, Y_MOONS), X_MOONS,
     np.c_[Y_MOONS, Y_MOONS], {}, "one class label per point"),
    (lambda: MLPClassifier((4,), max_iter=5).fit(X_MOONS, Y_MOONS), X_MOONS, None,
     {"grid_resolution": 1}, "grid_resolution"),
])
def test_bad_arguments_are_refused(make, X, y, kwargs, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = make()
    with pytest.raises(ValueError, match=match):
        DecisionRegionsDisplay.from_estimator(estimator, X, y, **kwargs)


def test_the_readme_section_runs(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## Pictures and examples"):readme.index("## Benchmarks")]
    blocks = [textwrap.dedent(code) for code in
              re.findall(r"```python\n(.*?)```", section, re.S)]
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for code in blocks:
        exec(code, namespace)
    assert capsys.readouterr().out == "True\n"
    assert (tmp_path / "moons.png").stat().st_size > 5000
    assert namespace["curves"].best_marker_ is not None
    assert namespace["regions"].scatter_.get_offsets().shape == (500, 2)
