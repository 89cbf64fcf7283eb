"""Pictures of a fit: learning curves, gradient norms, robustness and decision boundaries.

Each function draws on the matplotlib Axes it is given (or on a new figure's when
``ax`` is None) and returns that Axes, so plots compose into subplot grids. The
estimator functions read only fitted attributes (``history_``, ``gradient_norms_``)
or call ``predict`` / ``predict_proba``, so they also accept a Pipeline ending in an
skneural estimator.

matplotlib is an optional dependency: ``pip install 'skneural[plot]'``.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

try:
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.axes import Axes
    from matplotlib.colors import ListedColormap
    from matplotlib.ticker import MaxNLocator
except ImportError as exc:
    raise ImportError("skneural.plotting needs matplotlib: pip install 'skneural[plot]'") from exc

__all__ = [
    "plot_decision_boundary",
    "plot_gradient_norms",
    "plot_learning_curves",
    "plot_robustness_curve",
]


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots()[1] if ax is None else ax


def _fitted_record(estimator: Any, attribute: str) -> pd.DataFrame:
    """``attribute`` of a fitted skneural estimator, or of a Pipeline's last step."""
    check_is_fitted(estimator)
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if not hasattr(final, attribute):
        raise TypeError(
            f"Expected a fitted skneural estimator (MLPClassifierX or MLPRegressorX), "
            f"which records {attribute}; got {type(final).__name__}."
        )
    return getattr(final, attribute)


def plot_learning_curves(estimator: Any, ax: Axes | None = None) -> Axes:
    """Training loss per epoch and, with early stopping, the validation loss and score.

    The validation score (accuracy or R²) is drawn on a second y-axis on the right.
    A dashed vertical line marks the best epoch: the first with the highest
    validation score (the weights early stopping restores), or without validation
    the one with the lowest training loss. A diverged last epoch's exploded loss is
    drawn (a non-finite one leaves a gap); it is never the best.

    Parameters
    ----------
    estimator : MLPClassifierX, MLPRegressorX or Pipeline ending in one
        Fitted; its ``history_`` is drawn.
    ax : matplotlib Axes, default=None
        Where to draw; None draws on a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes of the losses; the score's twin is in ``ax.figure.axes``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import make_classification
    >>> from skneural import MLPClassifierX
    >>> from skneural.plotting import plot_learning_curves
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> clf = MLPClassifierX((8,), early_stopping=True, learning_rate_init=0.01,
    ...                      max_iter=20, random_state=0).fit(X, y)
    >>> ax = plot_learning_curves(clf)
    >>> ax.get_title()
    'Learning curves'
    >>> [line.get_label() for line in ax.get_legend().get_lines()][:2]
    ['training loss', 'validation loss']
    >>> plt.close(ax.figure)
    """
    history = _fitted_record(estimator, "history_")
    ax = _axes(ax)
    epochs = history.index.to_numpy()
    handles = ax.plot(epochs, history["loss"].to_numpy(), color="C0", label="training loss")
    validated = "val_score" in history and history["val_score"].notna().any()
    if validated:
        handles += ax.plot(
            epochs, history["val_loss"].to_numpy(), color="C1", label="validation loss"
        )
        twin = ax.twinx()
        handles += twin.plot(
            epochs, history["val_score"].to_numpy(), color="C2", label="validation score"
        )
        twin.set_ylabel("validation score")
        # The losses' Axes goes on top so that its legend is not drawn under the twin's
        # lines; its background is hidden so that the twin's lines still show.
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        best = history["val_score"].idxmax()
        what = f"best epoch {best} (validation score {history.loc[best, 'val_score']:.3g})"
        handles.append(ax.axvline(best, color="0.4", linestyle="--", label=what))
    elif np.isfinite(history["loss"]).any():  # not when the only epoch diverged
        best = history["loss"][np.isfinite(history["loss"])].idxmin()
        what = f"best epoch {best} (loss {history.loc[best, 'loss']:.3g})"
        handles.append(ax.axvline(best, color="0.4", linestyle="--", label=what))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(handles=handles)
    ax.set_title("Learning curves")
    return ax


def plot_gradient_norms(estimator: Any, ax: Axes | None = None) -> Axes:
    """The gradient norm of each layer's kernel per epoch, on a log scale.

    Lines far apart at the input side (``hidden_0``) and the output are vanishing
    (input far below) or exploding (far above) gradients. A zero norm has no place
    on a log scale: such epochs are left out of the line, and the layer's legend
    entry counts them (an all-zero layer, as after ``kernel_initializer='zeros'``,
    has no line at all).

    Parameters
    ----------
    estimator : MLPClassifierX, MLPRegressorX or Pipeline ending in one
        Fitted; its ``gradient_norms_`` are drawn.
    ax : matplotlib Axes, default=None
        Where to draw; None draws on a new figure.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import make_classification
    >>> from skneural import MLPClassifierX
    >>> from skneural.plotting import plot_gradient_norms
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> clf = MLPClassifierX((8, 8), max_iter=5, random_state=0).fit(X, y)
    >>> ax = plot_gradient_norms(clf)
    >>> [line.get_label() for line in ax.get_lines()], ax.get_yscale()
    (['hidden_0', 'hidden_1', 'output'], 'log')
    >>> plt.close(ax.figure)
    """
    norms = _fitted_record(estimator, "gradient_norms_")
    ax = _axes(ax)
    epochs = norms.index.to_numpy()
    for layer, column in norms.items():
        values = column.to_numpy(dtype=np.float64)
        shown = np.isfinite(values) & (values > 0)
        zeros = int(np.sum(values == 0))
        label = str(layer) if zeros == 0 else f"{layer} (zero in {zeros} of {len(values)} epochs)"
        ax.plot(epochs, np.where(shown, values, np.nan), marker=".", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("gradient norm (L2, kernel)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(title="layer")
    ax.set_title("Gradient norm per layer")
    return ax


def _check_curve(curve: Any, name: str) -> pd.DataFrame:
    if not isinstance(curve, pd.DataFrame):
        raise TypeError(
            f"{name} must be a DataFrame from robustness_curve; got {type(curve).__name__}."
        )
    missing = [c for c in ("eps", "score") if c not in curve.columns]
    if missing:
        raise ValueError(
            f"{name} must have columns 'eps' and 'score' (from robustness_curve); it "
            f"lacks {missing}, having {list(curve.columns)}."
        )
    if any(np.ndim(e) != 0 for e in curve["eps"]):
        raise ValueError(
            f"{name} has per-feature budgets in 'eps'; only scalar budgets can be put on an axis."
        )
    return curve


def plot_robustness_curve(
    curves: pd.DataFrame | Mapping[str, pd.DataFrame], ax: Axes | None = None
) -> Axes:
    """Score under attack against the budget ``eps``, for one model or several.

    Parameters
    ----------
    curves : DataFrame or dict of str to DataFrame
        What :func:`skneural.adversarial.robustness_curve` returns (columns ``eps``
        and ``score``), or several of them by name, one line each (e.g.
        ``{"normal": curve, "adversarially trained": curve_adv}``).
    ax : matplotlib Axes, default=None
        Where to draw; None draws on a new figure.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from skneural.plotting import plot_robustness_curve
    >>> normal = pd.DataFrame({"eps": [0.0, 0.1, 0.2], "score": [0.95, 0.6, 0.3]})
    >>> robust = pd.DataFrame({"eps": [0.0, 0.1, 0.2], "score": [0.93, 0.85, 0.7]})
    >>> ax = plot_robustness_curve({"normal": normal, "adversarially trained": robust})
    >>> [line.get_label() for line in ax.get_lines()]
    ['normal', 'adversarially trained']
    >>> plt.close(ax.figure)
    """
    named = isinstance(curves, Mapping)
    if named and not curves:
        raise ValueError("curves is an empty dict; expected at least one robustness curve.")
    items = curves.items() if named else [(None, curves)]
    ax = _axes(ax)
    for name, curve in items:
        curve = _check_curve(curve, "curves" if name is None else f"curves[{name!r}]")
        ax.plot(
            curve["eps"].to_numpy(dtype=np.float64),
            curve["score"].to_numpy(dtype=np.float64),
            marker="o",
            label=name,
        )
    ax.set_xlabel("eps (attack budget)")
    ax.set_ylabel("score under attack")
    if named:
        ax.legend()
    ax.set_title("Robustness to FGSM")
    return ax


def _grid(X: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``resolution`` x ``resolution`` mesh over X's range, padded by 10% each side."""
    low, high = X.min(axis=0), X.max(axis=0)
    pad = np.where(high > low, 0.1 * (high - low), 0.5)
    start, stop = low - pad, high + pad
    return np.meshgrid(
        np.linspace(start[0], stop[0], resolution), np.linspace(start[1], stop[1], resolution)
    )


def _draw_classes(ax: Axes, estimator: Any, xx, yy, grid, values: np.ndarray, y) -> None:
    """P(classes_[1]) and its 0.5 contour, or the predicted class regions, with the
    points coloured like the region of their label."""
    classes = np.asarray(estimator.classes_)
    unknown = np.setdiff1d(y, classes)
    if unknown.size:
        raise ValueError(
            f"y must hold labels among the estimator's classes_ {classes.tolist()}; "
            f"got {unknown.tolist()}."
        )
    if len(classes) == 2:
        zz = estimator.predict_proba(grid)[:, 1].reshape(xx.shape)
        cmap, levels = colormaps["RdBu_r"], np.linspace(0.0, 1.0, 11)
        ax.contourf(xx, yy, zz, levels=levels, cmap=cmap, alpha=0.6)
        ax.contour(xx, yy, zz, levels=[0.5], colors="k", linewidths=1)
        vmin, vmax = 0.0, 1.0
    else:
        zz = np.searchsorted(classes, estimator.predict(grid)).reshape(xx.shape)
        cmap = ListedColormap(colormaps["tab10"](np.arange(len(classes)) % 10))
        levels = np.arange(len(classes) + 1) - 0.5
        ax.contourf(xx, yy, zz, levels=levels, cmap=cmap, alpha=0.4)
        vmin, vmax = levels[0], levels[-1]
    codes = np.searchsorted(classes, y)
    points = ax.scatter(*values.T, c=codes, cmap=cmap, vmin=vmin, vmax=vmax, edgecolors="k")
    # legend_elements gives one marker per code present, in increasing order.
    markers = points.legend_elements()[0]
    ax.legend(markers, [str(c) for c in classes[np.unique(codes)]], title="class", loc="best")


def plot_decision_boundary(
    estimator: Any,
    X: ArrayLike,
    y: ArrayLike,
    ax: Axes | None = None,
    resolution: int = 200,
) -> Axes:
    """The model's prediction over the plane of two features, with the data on top.

    A binary classifier is shown by its probability of ``classes_[1]`` (with the 0.5
    contour, the boundary itself), a multiclass one by its predicted class regions,
    and a regressor by its prediction.

    Parameters
    ----------
    estimator : fitted classifier or regressor, or Pipeline
        Anything with ``predict`` (and ``predict_proba`` for binary classifiers)
        that takes 2 features.
    X : array-like or DataFrame of shape (n_samples, 2)
        The points to show; the grid spans their range plus 10% each side. A
        DataFrame's column names are passed on to the estimator with the grid.
    y : array-like of shape (n_samples,)
        Their labels (one of ``classes_`` each) or targets, which colour them.
    ax : matplotlib Axes, default=None
        Where to draw; None draws on a new figure.
    resolution : int, default=200
        Grid points per axis (``resolution ** 2`` predictions).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import make_moons
    >>> from skneural import MLPClassifierX
    >>> from skneural.plotting import plot_decision_boundary
    >>> X, y = make_moons(100, noise=0.2, random_state=0)
    >>> clf = MLPClassifierX((16,), learning_rate_init=0.05, max_iter=50,
    ...                      random_state=0).fit(X, y)
    >>> ax = plot_decision_boundary(clf, X, y, resolution=50)
    >>> len(ax.collections[-1].get_offsets())
    100
    >>> plt.close(ax.figure)
    """
    check_is_fitted(estimator)
    values = np.asarray(X, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != 2:
        raise ValueError(
            f"plot_decision_boundary draws 2 features: X must have shape (n_samples, 2); "
            f"got shape {values.shape}."
        )
    y = np.asarray(y)
    if y.shape != (len(values),):
        raise ValueError(
            f"y must have shape ({len(values)},), one label or target per row of X; "
            f"got shape {y.shape}."
        )
    if not isinstance(resolution, int | np.integer) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2; got {resolution!r}.")

    xx, yy = _grid(values, resolution)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    if isinstance(X, pd.DataFrame):
        grid = pd.DataFrame(grid, columns=X.columns)
    ax = _axes(ax)
    if is_classifier(estimator):
        _draw_classes(ax, estimator, xx, yy, grid, values, y)
    else:
        zz = np.asarray(estimator.predict(grid), dtype=np.float64).reshape(xx.shape)
        low, high = min(zz.min(), y.min()), max(zz.max(), y.max())
        ax.contourf(xx, yy, zz, levels=20, cmap="viridis", vmin=low, vmax=high, alpha=0.6)
        points = ax.scatter(*values.T, c=y, cmap="viridis", vmin=low, vmax=high, edgecolors="k")
        ax.legend(*points.legend_elements(num=5), title="target", loc="best")
    names = X.columns if isinstance(X, pd.DataFrame) else ["feature 0", "feature 1"]
    ax.set_xlabel(str(names[0]))
    ax.set_ylabel(str(names[1]))
    ax.set_title("Decision boundary")
    return ax
