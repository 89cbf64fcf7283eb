"""The kinds of the fitted entries a model file's manifest holds.

:mod:`skneural._manifest` checks the manifest's outline (its entries, the estimator,
the network it promises); these checks look inside its fitted state, once decoded:
the arrays have the shapes the network's width and the classes imply, and the
training record holds the entries of a :class:`skneural._record.TrainingState`, each a
value of its kind (finite non-negative rates, counts, lists of float arrays). A
failure is a :class:`skneural.exceptions.ModelFileError` naming the entry.
"""

import math

import numpy as np

from .exceptions import ModelFileError


def check_fitted_arrays(fitted: dict, targets) -> None:
    """The fitted arrays have the shapes the network's width and the classes imply."""
    n = fitted["n_features_in_"]
    names = fitted.get("feature_names_in_")
    if names is not None and not (
        isinstance(names, np.ndarray) and names.dtype == object and names.shape == (n,)
    ):
        raise ModelFileError(
            f"the manifest's feature_names_in_ must be {n} strings, got {names!r:.80}"
        )
    bounds = fitted["input_range"]
    if bounds is not None and not (
        isinstance(bounds, tuple)
        and len(bounds) == 2
        and all(
            isinstance(b, np.ndarray) and b.dtype.kind == "f" and b.shape == (n,) for b in bounds
        )
    ):
        raise ModelFileError(f"the manifest's input_range must be two arrays of {n} floats")
    classes = getattr(targets, "classes", None)
    if classes is not None:
        classes = np.asarray(classes)
        if classes.ndim != 1 or not np.array_equal(np.unique(classes), classes):
            raise ModelFileError(
                f"the manifest's classes must be distinct, sorted and one-dimensional, got "
                f"{classes.tolist()!r:.80}"
            )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_count(value) -> bool:
    """A non-negative integer that fits in 64 bits (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _is_arrays(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in value
    )


def _is_numbers(value) -> bool:
    return isinstance(value, list) and all(map(_is_number, value))


# The training record's entries and what each must hold.
_TRAINING = {
    "learning_rate": lambda v: _is_number(v) and 0 <= v < math.inf,
    "loss_curve": _is_numbers,
    "validation_scores": lambda v: v is None or _is_numbers(v),
    "best_loss": lambda v: v is None or _is_number(v),
    "best_validation_score": lambda v: v is None or _is_number(v),
    "no_improvement_count": is_count,
    "t": is_count,
    "history": lambda v: (
        isinstance(v, list)
        and all(
            isinstance(epoch, dict)
            and all(isinstance(k, str) and _is_number(x) for k, x in epoch.items())
            for epoch in v
        )
    ),
    "best_weights": lambda v: v is None or _is_arrays(v),
    "gradient_norms": _is_arrays,
    "dead_fractions": _is_arrays,
    "schedule_epoch": is_count,
}


def check_training(training) -> None:
    """The training record holds the entries of a TrainingState, each of its kind."""
    if not isinstance(training, dict) or set(training) != set(_TRAINING):
        found = sorted(training) if isinstance(training, dict) else type(training).__name__
        raise ModelFileError(
            f"the manifest's training record must have the entries {sorted(_TRAINING)}, got {found}"
        )
    for name, valid in _TRAINING.items():
        if not valid(training[name]):
            raise ModelFileError(
                f"the manifest's training record has a malformed {name!r}: {training[name]!r:.80}"
            )
