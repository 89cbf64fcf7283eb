"""Weights assigned by hand: ``coefs_`` and ``intercepts_`` compared with the
network's and checked against its shapes (:meth:`FittedNetwork.adopt_weights`)."""

import numpy as np


def same_weights(assigned, current: list[np.ndarray]) -> bool:
    """Whether ``assigned`` holds the values of ``current``, in their dtype (predict
    asks on every call: no copies, and the NaN-aware comparison only on a mismatch)."""
    try:
        if len(assigned) != len(current):
            return False
        for a, c in zip(assigned, current, strict=True):
            a = np.asarray(a, dtype=c.dtype)
            if a.shape != c.shape or not ((a == c).all() or np.array_equal(a, c, equal_nan=True)):
                return False
    except (TypeError, ValueError):
        return False
    return True


def checked_weights(name: str, assigned, current: list[np.ndarray]) -> list[np.ndarray]:
    """``assigned`` as arrays of the shapes and dtype of ``current``, or a ValueError
    saying what was expected."""
    shapes = [c.shape for c in current]
    how = (
        f"{name} must be a list of {len(current)} arrays of shapes {shapes} (the fitted "
        "network's layers; fit again to change hidden_layer_sizes)"
    )
    if isinstance(assigned, (str, bytes)) or not hasattr(assigned, "__len__"):
        raise ValueError(f"{how}, got {type(assigned).__name__}.")
    if len(assigned) != len(current):
        raise ValueError(f"{how}, got {len(assigned)} arrays.")
    arrays = []
    for i, (a, c) in enumerate(zip(assigned, current, strict=True)):
        try:
            array = np.asarray(a, dtype=c.dtype)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{how}; {name}[{i}] is not numeric: {error}") from None
        if array.shape != c.shape:
            raise ValueError(f"{how}; {name}[{i}] has shape {array.shape}.")
        arrays.append(array)
    return arrays
