"""The attack's options checked against what is attacked: the mask of features
that may change, the clip bounds, counts. (Budgets: :func:`skneural._budget.check_budget`.)"""

from collections.abc import Sequence
from numbers import Integral

import numpy as np

from .._columns import real_array
from ._target import Target


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def random_generator(random_state) -> np.random.Generator:
    """The generator of the random starts: ``random_state`` as scikit-learn takes it
    (None, a seed >= 0, a RandomState) or a numpy Generator, used as is."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**32 - 1))
    if random_state is None or (
        isinstance(random_state, Integral)
        and not isinstance(random_state, bool | np.bool_)
        and random_state >= 0
    ):
        return np.random.default_rng(None if random_state is None else int(random_state))
    raise ValueError(
        "random_state must be None, an integer >= 0, a numpy RandomState or Generator; "
        f"got {type(random_state).__name__} {random_state!r:.80}."
    )


def _bound(value, n_features: int, name: str) -> np.ndarray:
    """One clip bound: a number or one per feature, never NaN (infinite is no bound)."""
    array = real_array(value)
    if array is None:
        raise TypeError(
            f"{name} must be a number or one number per feature ({n_features}); got "
            f"{type(value).__name__} {value!r}."
        )
    if array.ndim == 0:
        array = np.full(n_features, float(array))
    elif array.shape != (n_features,):
        raise ValueError(
            f"{name} must be a scalar or one value per feature ({n_features}); got an "
            f"array of shape {array.shape}."
        )
    if np.isnan(array).any():
        bad = int(np.flatnonzero(np.isnan(array))[0])
        raise ValueError(
            f"{name} must be a number or -inf/inf, not NaN; got {value!r} (feature {bad} is NaN)."
        )
    return array


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
    low = _bound(clip[0], target.n_features, "clip's low bound")
    high = _bound(clip[1], target.n_features, "clip's high bound")
    if np.any(low > high):
        bad = int(np.flatnonzero(low > high)[0])
        raise ValueError(
            f"clip's low bound must not exceed its high bound; feature {bad} has low "
            f"{low[bad]} > high {high[bad]}."
        )
    return low, high
