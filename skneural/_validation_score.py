"""What early stopping scores the held-out set by: the ``scoring`` parameter.

``None`` keeps scikit-learn's MLP rule (accuracy for a classifier, R² for a
regressor); ``'loss'`` is the held-out loss itself (negated, so that higher is better,
as HistGradientBoosting's ``scoring='loss'``); any other string is a scikit-learn
scorer name (``sklearn.metrics.get_scorer``), and a callable is a scorer
``scorer(estimator, X, y)``. A scorer is given a view of the network as it is at the
end of the epoch — ``predict``, ``predict_proba`` (classifiers), ``classes_`` —
computed once from the held-out outputs, so a scorer costs no second forward pass.
Outputs that are not finite score NaN, which never counts as an improvement.
"""

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer

from ._targets import ClassificationTargets

#: What a held-out set is scored by: (held-out loss, outputs) -> score.
Score = Callable[[float, np.ndarray], float]


def check_scoring(scoring) -> "str | Callable | None":
    """``scoring`` itself, once a string has been checked to name a scorer."""
    if isinstance(scoring, str) and scoring != "loss":
        try:
            get_scorer(scoring)
        except ValueError:
            raise ValueError(
                f"scoring must be None, 'loss', a scikit-learn scorer name (see "
                f"sklearn.metrics.get_scorer_names()) or a callable; got {scoring!r}."
            ) from None
    return scoring


def validation_score(scoring, targets, y, sample_weight: np.ndarray) -> Score:
    """How to score the held-out labels ``y`` (weighted by ``sample_weight``)."""
    if scoring is None:
        default = targets.scorer(y, sample_weight)
        return lambda loss, outputs: default(outputs)
    if scoring == "loss":
        return lambda loss, outputs: -loss if np.isfinite(loss) else np.nan
    scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
    rows = np.arange(len(y))
    weights = {} if np.all(sample_weight == 1) else {"sample_weight": sample_weight}
    view = _ClassifierView if isinstance(targets, ClassificationTargets) else _RegressorView

    def score(loss: float, outputs: np.ndarray) -> float:
        if not np.isfinite(outputs).all():
            return np.nan
        try:
            return float(scorer(view(targets, outputs), rows, y, **weights))
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"scoring={scoring!r} could not score the held-out set: {exc}"
            ) from exc

    return score


class _View(BaseEstimator):
    """A fitted estimator's face for a scorer: its outputs on the held-out rows,
    which the scorer is given as ``X`` (row indices)."""

    def __init__(self, targets, outputs: np.ndarray):
        self.targets = targets
        self.outputs = outputs

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return self.targets.decode(self.outputs[rows])


class _RegressorView(RegressorMixin, _View):
    pass


class _ClassifierView(ClassifierMixin, _View):
    @property
    def classes_(self) -> np.ndarray:
        return self.targets.classes

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        return self.targets.probabilities(self.outputs[rows])
