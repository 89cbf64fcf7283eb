"""What every plot shares: where it draws, and the fitted record it reads."""

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted


def axes_or_new(ax: Axes | None) -> Axes:
    """``ax``, or the Axes of a new figure when it is None."""
    return plt.subplots()[1] if ax is None else ax


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
