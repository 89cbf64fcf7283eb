"""The model's prediction over the plane of two features."""

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from numpy.typing import ArrayLike
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._common import axes_or_new, legend_outside


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
    legend_outside(
        ax, handles=markers, labels=[str(c) for c in classes[np.unique(codes)]], title="class"
    )


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
    ax = axes_or_new(ax)
    if is_classifier(estimator):
        _draw_classes(ax, estimator, xx, yy, grid, values, y)
    else:
        zz = np.asarray(estimator.predict(grid), dtype=np.float64).reshape(xx.shape)
        low, high = min(zz.min(), y.min()), max(zz.max(), y.max())
        ax.contourf(xx, yy, zz, levels=20, cmap="viridis", vmin=low, vmax=high, alpha=0.6)
        points = ax.scatter(*values.T, c=y, cmap="viridis", vmin=low, vmax=high, edgecolors="k")
        handles, labels = points.legend_elements(num=5)
        legend_outside(ax, handles=handles, labels=labels, title="target")
    names = X.columns if isinstance(X, pd.DataFrame) else ["feature 0", "feature 1"]
    ax.set_xlabel(str(names[0]))
    ax.set_ylabel(str(names[1]))
    ax.set_title("Decision boundary")
    return ax
