"""Which columns hold real numbers: the one rule the attacks (what may move) and the
command line (what is scaled rather than encoded) share."""

from numbers import Real

import numpy as np
import pandas as pd


def is_real_dtype(dtype) -> bool:
    """Integer or floating, numpy's or pandas's nullable ones; not bool, not complex."""
    return pd.api.types.is_any_real_numeric_dtype(dtype)


def is_real_number(value) -> bool:
    """A real number that is not a bool (Python's or numpy's)."""
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


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
