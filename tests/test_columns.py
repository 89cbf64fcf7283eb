"""Which columns hold real numbers: the rule the attacks and the command line share."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from skneural._columns import holds_real_numbers

REAL = [
    np.array([1.0, 2.5]),
    np.array([1, 2], dtype=np.int8),
    np.array([1, 2], dtype=np.uint64),
    pd.Series([1.0, np.nan]),
    pd.Series([1, None], dtype="Int64"),
    pd.Series([1.5, None], dtype="Float64"),
    pd.Series([1, 2.5, np.float32(3), np.int16(4), Fraction(1, 3), np.nan], dtype=object),
    np.array([1, 2.5], dtype=object),
]

NOT_REAL = [
    np.array([True, False]),
    pd.Series([True, None], dtype="boolean"),
    pd.Series([True, False], dtype=object),
    pd.Series([1.0, True], dtype=object),
    pd.Series([1.0, np.True_], dtype=object),
    pd.Series([1.0, "2"], dtype=object),
    pd.Series([1.0, None], dtype=object),
    pd.Series([Decimal("1.5")], dtype=object),
    pd.Series(["a", "b"]),
    pd.Series(["1", "2"], dtype="string"),
    pd.Series([1, 2], dtype="category"),
    pd.Series(pd.to_datetime(["2020-01-01"])),
    pd.Series(pd.to_timedelta([1], unit="s")),
    np.array([1 + 2j]),
    np.array(["1.5"]),
]


@pytest.mark.parametrize("column", REAL, ids=lambda c: str(c.dtype))
def test_real_numbers(column):
    assert holds_real_numbers(column)


@pytest.mark.parametrize("column", NOT_REAL, ids=lambda c: str(c.dtype))
def test_anything_else(column):
    assert not holds_real_numbers(column)
