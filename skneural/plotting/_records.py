"""The records of a fit, per epoch: learning curves and gradient norms."""

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from ._common import axes_or_new, fitted_record, legend_outside


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
    history = fitted_record(estimator, "history_")
    ax = axes_or_new(ax)
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
        # The losses' Axes goes on top so that its lines are not drawn under the
        # twin's; its background is hidden so that the twin's lines still show.
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
    legend_outside(ax, below=validated, handles=handles)
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
    norms = fitted_record(estimator, "gradient_norms_")
    ax = axes_or_new(ax)
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
    legend_outside(ax, title="layer")
    ax.set_title("Gradient norm per layer")
    return ax
