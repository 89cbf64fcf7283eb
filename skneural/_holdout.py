"""The data a fit trains on, and the part early stopping holds out to score.

With early stopping, ``validation_fraction`` of the data is held out, stratified where
possible. When that would leave fewer than 2 samples to score, or only samples of
weight 0, a warning says so and training uses all the data and the training-loss
stopping rule, as without early stopping. ``partial_fit`` never holds out.
"""

import math
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

from ._config import draw_seed
from ._epoch import TrainData
from ._plan import Plan
from ._training import Validation
from ._validation_score import validation_score


def split_for_training(
    X: np.ndarray,
    Y: np.ndarray,
    y,
    sample_weight: np.ndarray,
    targets,
    plan: Plan,
    rng: np.random.Generator,
    incremental: bool,
) -> tuple[TrainData, Validation | None]:
    """The tensors to train on, and the held-out set for early stopping (or None).

    ``Y`` is ``y`` encoded by ``targets``, which also stratifies the split and scores
    the held-out outputs; ``plan`` says whether to hold out, and the dtype.
    """
    rule, dtype = plan.stopping, plan.network.dtype

    def everything() -> tuple[TrainData, None]:
        return TrainData.from_arrays(X, Y, sample_weight, dtype), None

    if not rule.early_stopping or incremental:
        return everything()
    n_samples = X.shape[0]
    n_val = math.ceil(rule.validation_fraction * n_samples)
    if n_val < 2 or n_samples - n_val < 1:
        warnings.warn(
            f"early_stopping=True, but validation_fraction={rule.validation_fraction} "
            f"of {n_samples} samples holds out {n_val}, and at least 2 are needed "
            "(with at least 1 left to train on). Training on all samples without "
            "early stopping; increase validation_fraction or the data to use it.",
            UserWarning,
        )
        return everything()
    stratify = targets.stratify(y)
    if stratify is not None:
        counts = np.unique(stratify, return_counts=True)[1]
        # A stratified split needs 2 samples of every class and one of each on both
        # sides; otherwise the split is made without stratification.
        if counts.min() < 2 or min(n_val, n_samples - n_val) < len(counts):
            stratify = None
    train, val = train_test_split(
        np.arange(n_samples), test_size=n_val, random_state=draw_seed(rng), stratify=stratify
    )
    if not sample_weight[val].any():
        warnings.warn(
            "early_stopping=True, but every sample held out for validation has "
            "sample_weight 0, so there is no score to stop on. Training on all samples "
            "without early stopping.",
            UserWarning,
        )
        return everything()
    data = TrainData.from_arrays(X[train], Y[train], sample_weight[train], dtype)
    held_out = TrainData.from_arrays(X[val], Y[val], sample_weight[val], dtype)
    score = validation_score(rule.scoring, targets, y[val], sample_weight[val])
    return data, Validation(held_out, score)
