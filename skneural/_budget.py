"""Per-feature budgets: the one check behind the estimators' ``adversarial_eps`` and
the attacks' ``eps`` and ``step_size``."""

from typing import Any

import numpy as np

from ._columns import real_array


def check_budget(value: Any, n_features: int, name: str) -> np.ndarray:
    """``value`` as one finite budget >= 0 per feature (a scalar is one for all).

    Python and numpy numbers are accepted alike; bools, strings, NaN, infinities,
    negative budgets and arrays of the wrong shape are refused with an error naming
    ``name``.

    >>> check_budget(0.5, 3, "eps")
    array([0.5, 0.5, 0.5])
    >>> check_budget([0.1, -1], 2, "eps")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: eps must be a number >= 0 ... got [0.1, -1]: feature 1 is -1.0.
    """
    expected = f"{name} must be a number >= 0 or one such number per feature ({n_features})"
    budget = real_array(value)
    if budget is None:
        raise TypeError(f"{expected}; got {type(value).__name__} {value!r}.")
    if budget.ndim == 0:
        budget = np.full(n_features, float(budget))
    elif budget.shape != (n_features,):
        got = f"{len(budget)} numbers" if budget.ndim == 1 else f"shape {budget.shape}"
        raise ValueError(f"{expected}; got {got}: {value!r}.")
    bad = np.flatnonzero(~np.isfinite(budget) | (budget < 0))
    if bad.size:
        where = "" if np.ndim(value) == 0 else f"feature {bad[0]} is {budget[bad[0]]}"
        raise ValueError(f"{expected}, all finite; got {value!r}{': ' if where else ''}{where}.")
    return budget
