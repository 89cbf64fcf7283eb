"""What counts as a real number: the one rule the attacks (which columns may move,
what a budget or a bound may be), the estimators (``adversarial_eps``) and the
command line (which columns are scaled rather than encoded) share. Bools are not
real numbers here, nor are strings that look like them."""

from numbers import Real

import numpy as np
import pandas as pd


def is_real_dtype(dtype) -> bool:
    """Integer or floating, numpy's or pandas's nullable ones; not bool, not complex."""
    return pd.api.types.is_any_real_numeric_dtype(dtype)


def is_real_number(value) -> bool:
    """A real number that is not a bool (Python's or numpy's)."""
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def real_array(value) -> np.ndarray | None:
    """``value`` (a number or nested sequences of them) as a float64 array if it holds
    real numbers only, else None.

    >>> real_array([1, 2.5])
    array([1. , 2.5])
    >>> real_array([True, 0.5]) is None
    True
    """
    if isinstance(value, str | bytes | bool | np.bool_):
        return None
    if is_real_number(value):
        return np.array(float(value))
    # An object array keeps bools and strings visible (a float array would turn
    # [True, 0.1] into [1.0, 0.1]).
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
    except (TypeError, ValueError):  # ragged nesting numpy cannot hold
        return None
    if array.dtype.kind in "iuf":
        return array.astype(np.float64)
    if array.dtype == object and all(is_real_number(v) for v in array.ravel()):
        return array.astype(np.float64)
    return None


def holds_real_numbers(column) -> bool:
    """Whether a column (a Series or a 1-D array) holds real numbers.

    A column of a real dtype does; an object column does when every value is a real
    number other than a bool (NaN counts, strings and None do not).

    >>> import numpy as np
    >>> import pandas as pd
    >>> holds_real_numbers(pd.Series([1, 2.5], dtype=object))
    True
    >>> holds_real_numbers(np.array([True, False]))
    False
    >>> holds_real_numbers(pd.Series([1, "2"], dtype=object))
    False
    """
    if is_real_dtype(column.dtype):
        return True
    if column.dtype != object:
        return False
    values = column.to_numpy() if isinstance(column, pd.Series) else np.asarray(column)
    return all(is_real_number(v) for v in values)
