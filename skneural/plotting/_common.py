"""What every plot shares: where it draws, where its legend goes, and the fitted
record it reads."""

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted


def axes_or_new(ax: Axes | None) -> Axes:
    """``ax``, or the Axes of a new figure when it is None."""
    return plt.subplots()[1] if ax is None else ax


def legend_outside(ax: Axes, below: bool = False, **kwargs: Any) -> None:
    """The legend beside the Axes (right of it, or under it when the right holds a
    twin's axis), never over the data; save with ``bbox_inches="tight"``."""
    if below:
        kwargs.setdefault("ncols", 2)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), **kwargs)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def fitted_record(estimator: Any, attribute: str) -> pd.DataFrame:
    """``attribute`` of a fitted skneural estimator, or of a Pipeline's last step."""
    check_is_fitted(estimator)
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if not hasattr(final, attribute):
        raise TypeError(
            f"Expected a fitted skneural estimator (MLPClassifierX or MLPRegressorX), "
            f"which records {attribute}; got {type(final).__name__}."
        )
    return getattr(final, attribute)
