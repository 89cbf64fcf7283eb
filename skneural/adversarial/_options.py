"""The attack's options checked against what is attacked: budgets, the mask of
features that may change, and the clip bounds."""

from collections.abc import Sequence
from numbers import Real

import numpy as np

from ._target import Target


def _per_feature(value, n_features: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return np.full(n_features, float(array))
    if array.shape != (n_features,):
        raise ValueError(
            f"{name} must be a scalar or one value per feature ({n_features}); got an "
            f"array of shape {array.shape}."
        )
    return array


def check_eps(eps, n_features: int, name: str = "eps") -> np.ndarray:
    if isinstance(eps, bool) or not (isinstance(eps, Real) or np.ndim(eps) == 1):
        raise TypeError(f"{name} must be a number or one number per feature; got {eps!r}.")
    values = _per_feature(eps, n_features, name)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{name} must be finite and >= 0; got {eps!r}.")
    return values


def check_mask(mask, n_samples: int, n_features: int) -> np.ndarray:
    if mask is None:
        return np.ones((n_samples, n_features), dtype=bool)
    array = np.asarray(mask)
    if array.dtype != bool:
        raise TypeError(f"mask must hold booleans; got dtype {array.dtype}.")
    if array.shape == (n_features,):
        return np.broadcast_to(array, (n_samples, n_features))
    if array.shape == (n_samples, n_features):
        return array
    raise ValueError(
        f"mask must have shape ({n_features},) or ({n_samples}, {n_features}); got {array.shape}."
    )


def check_clip(clip, target: Target) -> tuple[np.ndarray, np.ndarray] | None:
    if clip is None:
        return None
    if isinstance(clip, str):
        if clip != "data":
            raise ValueError(f"clip must be None, (low, high) or 'data'; got {clip!r}.")
        return target.data_range()
    if not isinstance(clip, Sequence) or len(clip) != 2:
        raise ValueError(f"clip must be None, (low, high) or 'data'; got {clip!r}.")
    low = _per_feature(clip[0], target.n_features, "clip's low bound")
    high = _per_feature(clip[1], target.n_features, "clip's high bound")
    if np.any(low > high):
        bad = int(np.flatnonzero(low > high)[0])
        raise ValueError(
            f"clip's low bound must not exceed its high bound; feature {bad} has low "
            f"{low[bad]} > high {high[bad]}."
        )
    return low, high
