"""Pictures of a fit: learning curves, gradient norms, robustness and decision boundaries.

Each function draws on the matplotlib Axes it is given (or on a new figure's when
``ax`` is None) and returns that Axes, so plots compose into subplot grids. The
estimator functions read only fitted attributes (``history_``, ``gradient_norms_``)
or call ``predict`` / ``predict_proba``, so they also accept a Pipeline ending in an
skneural estimator.

matplotlib is an optional dependency: ``pip install 'skneural[plot]'``.
"""

try:
    import matplotlib.pyplot  # noqa: F401
except ImportError as exc:
    raise ImportError("skneural.plotting needs matplotlib: pip install 'skneural[plot]'") from exc

from ._boundary import plot_decision_boundary
from ._records import plot_gradient_norms, plot_learning_curves
from ._robustness import plot_robustness_curve

__all__ = [
    "plot_decision_boundary",
    "plot_gradient_norms",
    "plot_learning_curves",
    "plot_robustness_curve",
]
