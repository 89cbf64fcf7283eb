"""The plots show the fitted data: each artist is compared with the attribute or the
prediction it draws, and every plot renders to a real image."""

import importlib
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.datasets import make_blobs, make_classification  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skneural import MLPClassifierX, MLPRegressorX  # noqa: E402
from skneural.adversarial import robustness_curve  # noqa: E402
from skneural.plotting import (  # noqa: E402
    plot_decision_boundary,
    plot_gradient_norms,
    plot_learning_curves,
    plot_robustness_curve,
)

pytestmark = pytest.mark.filterwarnings("ignore::skneural.exceptions.DiagnosticWarning")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _xor_cloud(n_samples=120, seed=0):
    rng = np.random.default_rng(seed)
    corners = rng.choice([-1.0, 1.0], size=(n_samples, 2))
    X = corners + rng.normal(scale=0.3, size=(n_samples, 2))
    return X, (corners[:, 0] != corners[:, 1]).astype(int)


@pytest.fixture(scope="module")
def classification():
    return make_classification(200, 5, random_state=0)


@pytest.fixture(scope="module")
def early_stopped(classification):
    return MLPClassifierX(
        (8,), early_stopping=True, learning_rate_init=0.01, max_iter=25, random_state=0
    ).fit(*classification)


@pytest.fixture(scope="module")
def deep(classification):
    return MLPClassifierX((8, 8), max_iter=6, random_state=0).fit(*classification)


@pytest.fixture(scope="module")
def xor():
    X, y = _xor_cloud()
    clf = MLPClassifierX(
        (4,), activation="tanh", learning_rate_init=0.05, max_iter=200, random_state=0
    ).fit(X, y)
    return clf, X, y


def _line(ax, label):
    (line,) = [line for line in ax.get_lines() if line.get_label().startswith(label)]
    return line


# -- learning curves -----------------------------------------------------------------


def test_learning_curves_draw_history_and_best_epoch(early_stopped):
    history = early_stopped.history_
    ax = plot_learning_curves(early_stopped)

    loss = _line(ax, "training loss")
    assert_array_equal(loss.get_xdata(), history.index.to_numpy())
    assert_array_equal(loss.get_ydata(), early_stopped.loss_curve_)
    assert_array_equal(_line(ax, "validation loss").get_ydata(), history["val_loss"])
    (twin,) = [other for other in ax.figure.axes if other is not ax]
    assert_array_equal(
        _line(twin, "validation score").get_ydata(), early_stopped.validation_scores_
    )
    assert twin.get_ylabel() == "validation score"

    # The restored weights are those of the first epoch reaching the best score.
    best = int(np.argmax(early_stopped.validation_scores_)) + 1
    assert early_stopped.validation_scores_[best - 1] == early_stopped.best_validation_score_
    vline = _line(ax, "best epoch")
    assert_array_equal(vline.get_xdata(), [best, best])
    assert vline.get_label().startswith(f"best epoch {best} ")

    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend[:3] == ["training loss", "validation loss", "validation score"]
    assert legend[3].startswith("best epoch")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (
        "Learning curves",
        "epoch",
        "loss",
    )


def test_learning_curves_without_validation_mark_lowest_loss(deep):
    ax = plot_learning_curves(deep)
    assert len(ax.figure.axes) == 1  # no twin axis for a score that does not exist
    assert [line.get_label() for line in ax.get_lines()][0] == "training loss"
    best = int(np.argmin(deep.loss_curve_)) + 1
    assert_array_equal(_line(ax, "best epoch").get_xdata(), [best, best])


def test_learning_curves_of_a_diverged_fit(tmp_path):
    # A diverged epoch is history_'s last row, with its exploded loss; it can never
    # be the best epoch.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    y = X @ rng.normal(size=5) * 10
    est = MLPRegressorX(
        hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.1, batch_size=50,
        max_iter=20, random_state=0,
    )  # fmt: skip
    est.fit(X, y)
    losses = est.history_["loss"]  # the last exploded (skneural._training.BLOW_UP)
    assert not losses.iloc[-1] < 1e4 * losses.iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_learning_curves(est)
        ax.figure.savefig(tmp_path / "diverged.png")
    assert_array_equal(_line(ax, "training loss").get_ydata(), est.history_["loss"])
    best_lines = [line for line in ax.get_lines() if line.get_label().startswith("best")]
    best = int(np.argmin(est.loss_curve_)) + 1
    assert_array_equal(best_lines[0].get_xdata(), [best, best])


def test_learning_curves_of_a_pipeline_show_its_final_step(classification):
    pipe = make_pipeline(StandardScaler(), MLPClassifierX((4,), max_iter=3, random_state=0))
    pipe.fit(*classification)
    ax = plot_learning_curves(pipe)
    assert_array_equal(_line(ax, "training loss").get_ydata(), pipe[-1].loss_curve_)


def test_learning_curves_refuse_an_estimator_without_history(classification):
    mlp = MLPClassifier((4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(*classification)
    with pytest.raises(TypeError, match="records history_; got MLPClassifier"):
        plot_learning_curves(mlp)


# -- gradient norms ------------------------------------------------------------------


def test_gradient_norms_one_log_line_per_layer(deep):
    ax = plot_gradient_norms(deep)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["hidden_0", "hidden_1", "output"]
    for line, (_, column) in zip(lines, deep.gradient_norms_.items(), strict=True):
        assert_array_equal(line.get_xdata(), deep.gradient_norms_.index.to_numpy())
        assert_array_equal(line.get_ydata(), column.to_numpy())
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["hidden_0", "hidden_1", "output"]
    assert ax.get_title() == "Gradient norm per layer"


def test_gradient_norms_leave_out_zeros_without_warnings(classification, tmp_path):
    # All-zero weights: no hidden unit ever outputs anything, so every kernel's
    # gradient is exactly zero in every epoch.
    zero = MLPClassifierX((4, 4), kernel_initializer="zeros", max_iter=3, random_state=0)
    zero.fit(*classification)
    assert (zero.gradient_norms_.to_numpy() == 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_gradient_norms(zero)
        ax.figure.savefig(tmp_path / "zero.png")
    for line in ax.get_lines():
        assert np.isnan(line.get_ydata()).all()
        assert line.get_label().endswith("(zero in 3 of 3 epochs)")


# -- robustness curves ---------------------------------------------------------------


def test_robustness_curve_of_one_model(early_stopped, classification):
    curve = robustness_curve(early_stopped, *classification, [0.0, 0.1, 0.3])
    ax = plot_robustness_curve(curve)
    (line,) = ax.get_lines()
    assert_array_equal(line.get_xdata(), curve["eps"])
    assert_array_equal(line.get_ydata(), curve["score"])
    assert line.get_marker() == "o"
    assert ax.get_legend() is None  # one unnamed curve needs no legend
    assert ax.get_title() == "Robustness to FGSM"


def test_robustness_curves_by_name():
    curves = {
        "normal": pd.DataFrame({"eps": [0.0, 0.1, 0.2], "score": [0.9, 0.5, 0.2]}),
        "adversarially trained": pd.DataFrame({"eps": [0.0, 0.2], "score": [0.88, 0.7]}),
    }
    ax = plot_robustness_curve(curves)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == list(curves)
    for line, curve in zip(lines, curves.values(), strict=True):
        assert_array_equal(line.get_xdata(), curve["eps"])
        assert_array_equal(line.get_ydata(), curve["score"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(curves)


def test_robustness_curve_bad_input():
    with pytest.raises(ValueError, match=r"lacks \['score'\]"):
        plot_robustness_curve(pd.DataFrame({"eps": [0.0], "accuracy": [1.0]}))
    with pytest.raises(ValueError, match="empty dict"):
        plot_robustness_curve({})
    with pytest.raises(
        TypeError, match=r"curves\[.a.\] must be a DataFrame from robustness_curve; got list"
    ):
        plot_robustness_curve({"a": [0.1, 0.2]})
    per_feature = pd.DataFrame({"eps": [np.zeros(3), np.ones(3)], "score": [1.0, 0.5]})
    with pytest.raises(ValueError, match="per-feature budgets"):
        plot_robustness_curve(per_feature)


# -- decision boundary ---------------------------------------------------------------


def test_decision_boundary_of_xor(xor):
    clf, X, y = xor
    assert clf.score(X, y) > 0.9
    ax = plot_decision_boundary(clf, X, y, resolution=100)

    filled, boundary = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert filled.filled and not boundary.filled
    assert_allclose(filled.levels, np.linspace(0, 1, 11))
    # The drawn boundary is where the model is undecided: the 0.5 contour's vertices
    # have P(class 1) = 0.5 up to the grid's interpolation.
    vertices = np.vstack([path.vertices for path in boundary.get_paths()])
    assert len(vertices) > 50
    assert_allclose(clf.predict_proba(vertices)[:, 1], 0.5, atol=0.05)
    # XOR needs a bent boundary: both diagonals' corners lie on opposite sides.
    corners = np.array([[-1, -1], [1, 1], [-1, 1], [1, -1]])
    assert_array_equal(clf.predict(corners), [0, 0, 1, 1])
    # The colour at each corner is its P(class 1) band (not P(class 0)'s).
    bands = np.digitize(clf.predict_proba(corners)[:, 1], filled.levels[1:-1])
    assert_array_equal(bands > 5, [False, False, True, True])
    for corner, band in zip(corners, bands, strict=True):
        assert filled.get_paths()[band].contains_point(corner)

    points = ax.collections[-1]
    assert_array_equal(points.get_offsets(), X)
    assert_array_equal(points.get_array(), y)
    # The grid covers the data with a margin.
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < X[:, 0].min() and x1 > X[:, 0].max()
    assert y0 < X[:, 1].min() and y1 > X[:, 1].max()
    assert ax.get_title() == "Decision boundary"


def test_decision_boundary_multiclass_regions_with_string_labels():
    X, codes = make_blobs(90, centers=[[-3, 0], [3, 0], [0, 4]], random_state=0)
    labels = np.array(["ant", "bee", "cat"])[codes]
    clf = MLPClassifierX((8,), learning_rate_init=0.05, max_iter=60, random_state=0)
    clf.fit(X, labels)
    ax = plot_decision_boundary(clf, X, labels, resolution=40)

    (regions,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert_array_equal(regions.levels, [-0.5, 0.5, 1.5, 2.5])
    # Each blob's centre lies in its own class region: the path of level k contains it.
    for k, centre in enumerate([[-3, 0], [3, 0], [0, 4]]):
        inside = [path.contains_point(centre) for path in regions.get_paths()]
        assert inside[k]
    points = ax.collections[-1]
    assert_array_equal(points.get_array(), codes)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ant", "bee", "cat"]


def test_decision_boundary_of_a_pipeline_on_a_dataframe(xor):
    _, X, y = xor
    frame = pd.DataFrame(X * 100, columns=["width", "height"])
    pipe = make_pipeline(StandardScaler(), MLPClassifierX((4,), max_iter=20, random_state=0))
    pipe.fit(frame, y)
    with warnings.catch_warnings():
        # The grid keeps the feature names, so no "X does not have valid feature names".
        warnings.simplefilter("error")
        ax = plot_decision_boundary(pipe, frame, y, resolution=30)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("width", "height")
    assert_array_equal(ax.collections[-1].get_offsets(), frame.to_numpy())


def test_decision_boundary_of_a_regressor():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(80, 2))
    target = X[:, 0] - 2 * X[:, 1]
    reg = MLPRegressorX(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(X, target)
    ax = plot_decision_boundary(reg, X, target, resolution=30)
    (surface,) = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert surface.filled
    assert_array_equal(ax.collections[-1].get_array(), target)


def test_decision_boundary_bad_input(xor):
    clf, X, y = xor
    X3 = np.zeros((30, 3))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\); got shape \(30, 3\)"):
        plot_decision_boundary(clf, X3, y[:30])
    with pytest.raises(ValueError, match=r"got shape \(120,\)"):
        plot_decision_boundary(clf, X[:, 0], y)
    with pytest.raises(ValueError, match=r"y must have shape \(120,\).*got shape \(119,\)"):
        plot_decision_boundary(clf, X, y[:-1])
    with pytest.raises(ValueError, match=r"classes_ \[0, 1\]; got \[7\]"):
        plot_decision_boundary(clf, X, np.where(y == 0, 7, 1))
    with pytest.raises(ValueError, match="resolution must be an integer >= 2; got 1"):
        plot_decision_boundary(clf, X, y, resolution=1)


# -- shared behaviour ----------------------------------------------------------------


def _calls(early_stopped, xor):
    clf, X, y = xor
    curve = pd.DataFrame({"eps": [0.0, 0.1, 0.2], "score": [0.9, 0.6, 0.4]})
    return {
        "learning_curves": lambda ax=None: plot_learning_curves(early_stopped, ax=ax),
        "gradient_norms": lambda ax=None: plot_gradient_norms(early_stopped, ax=ax),
        "robustness_curve": lambda ax=None: plot_robustness_curve(curve, ax=ax),
        "decision_boundary": lambda ax=None: plot_decision_boundary(
            clf, X, y, ax=ax, resolution=50
        ),
    }


PLOTS = ["learning_curves", "gradient_norms", "robustness_curve", "decision_boundary"]


@pytest.mark.parametrize("name", PLOTS)
def test_draws_on_the_axes_given(name, early_stopped, xor):
    fig, (left, right) = plt.subplots(1, 2)
    ax = _calls(early_stopped, xor)[name](ax=right)
    assert ax is right
    assert not left.has_data()
    assert ax.has_data()


@pytest.mark.parametrize("name", PLOTS)
def test_the_legend_never_covers_the_data(name, early_stopped, xor):
    if name == "robustness_curve":  # a legend only names several curves
        curve = pd.DataFrame({"eps": [0.0, 0.1, 0.2], "score": [0.9, 0.6, 0.4]})
        ax = plot_robustness_curve({"plain": curve, "adversarially trained": curve})
    else:
        ax = _calls(early_stopped, xor)[name]()
    ax.figure.canvas.draw()
    legend, plotted = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert not legend.overlaps(plotted)
    for twin in ax.get_shared_x_axes().get_siblings(ax):  # the validation score's
        assert not legend.overlaps(twin.get_window_extent())


@pytest.mark.parametrize("name", PLOTS)
def test_renders_a_real_image(name, early_stopped, xor, tmp_path):
    ax = _calls(early_stopped, xor)[name]()
    path = tmp_path / f"{name}.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 5_000
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.std() > 0.05  # not a blank canvas


@pytest.mark.parametrize(
    "plot",
    [
        plot_learning_curves,
        plot_gradient_norms,
        lambda est: plot_decision_boundary(est, np.zeros((4, 2)), np.array([0, 1, 0, 1])),
    ],
    ids=["learning_curves", "gradient_norms", "decision_boundary"],
)
def test_unfitted_estimator(plot):
    with pytest.raises(NotFittedError):
        plot(MLPClassifierX())


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    monkeypatch.delitem(sys.modules, "skneural.plotting")
    with pytest.raises(ImportError, match=r"pip install 'skneural\[plot\]'"):
        importlib.import_module("skneural.plotting")
