"""The record of a fit: what the training loop carries from epoch to epoch.

:class:`TrainingState` is extended by every epoch of :mod:`skneural._training` (and
every iteration of :mod:`skneural._lbfgs`), rolled back when an epoch is undone, kept
by the fitted network across warm starts and saved with it.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class TrainingState:
    """What the loop carries from epoch to epoch and across warm starts.

    Names and meanings follow scikit-learn's fitted attributes; ``best_weights`` are
    the model's weights at the best validation score; ``history`` holds one
    dict per epoch (loss, learning rate, and the validation loss and score when there
    is a validation set); ``gradient_norms`` and ``dead_fractions`` one array per
    epoch (see :class:`skneural._epoch.EpochResult`); ``schedule_epoch`` counts
    the epochs since ``fit`` started, for the learning-rate schedule, and
    ``learning_rate`` is the current rate of the 'adaptive' schedule.
    """

    learning_rate: float
    loss_curve: list[float] = field(default_factory=list)
    validation_scores: list[float] | None = None
    best_loss: float | None = None
    best_validation_score: float | None = None
    no_improvement_count: int = 0
    t: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_weights: list[np.ndarray] | None = None
    gradient_norms: list[np.ndarray] = field(default_factory=list)
    dead_fractions: list[np.ndarray] = field(default_factory=list)
    schedule_epoch: int = 0

    def checkpoint(self) -> dict[str, tuple[Any, int | None]]:
        """What :meth:`rollback` needs: every field's value, and each list's length.

        Lists only grow within an epoch (or are replaced, like ``best_weights``), so
        their lengths suffice and a checkpoint costs the same after any number of
        epochs (``partial_fit`` over a long stream takes one per call).
        """
        return {
            name: (value, len(value) if isinstance(value, list) else None)
            for name, value in vars(self).items()
        }

    def rollback(self, checkpoint: dict[str, tuple[Any, int | None]]) -> None:
        for name, (value, length) in checkpoint.items():
            if length is not None:
                del value[length:]
            setattr(self, name, value)

    def count_no_improvement(self, no_improvement: bool) -> None:
        self.no_improvement_count = self.no_improvement_count + 1 if no_improvement else 0

    def track(self, validation: bool, workspace) -> None:
        """Start the record that this fit's stopping rule compares against.

        With a validation set, ``best_weights`` starts as the current weights of
        ``workspace`` (listed as ``keras.Model.get_weights`` lists them): what early
        stopping restores if no epoch ever scores better (scikit-learn restores its
        initial weights then too). It persists across warm starts.
        """
        if validation and self.validation_scores is None:
            self.validation_scores = []
            self.best_validation_score = -np.inf
            self.best_weights = workspace.get_weights()
        elif not validation and self.best_loss is None:
            self.best_loss = np.inf

    def frames(self, layers: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The history, the gradient norms per layer and the dead fractions per hidden
        layer (``layers`` names the Dense layers, input to output), one row an epoch."""
        epochs = pd.RangeIndex(1, len(self.history) + 1, name="epoch")
        return (
            pd.DataFrame(self.history, index=epochs),
            pd.DataFrame(
                np.reshape(self.gradient_norms, (len(epochs), len(layers))),
                index=epochs,
                columns=pd.Index(layers, name="layer"),
            ),
            pd.DataFrame(
                np.reshape(self.dead_fractions, (len(epochs), len(layers) - 1)),
                index=epochs,
                columns=pd.Index(layers[:-1], name="layer"),
            ),
        )
