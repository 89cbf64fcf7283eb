"""Score under attack against the attack budget."""

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ._common import axes_or_new, legend_outside


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
    ax = axes_or_new(ax)
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
        legend_outside(ax)
    ax.set_title("Robustness to FGSM")
    return ax
