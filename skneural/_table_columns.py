"""Reading a table's columns: which are categorical, and each column's values as the
network reads them (numbers with NaN for missing, categories as text keys).

``categorical_features`` names the categorical columns; its default ``'from_dtype'``
takes a DataFrame's columns of text (``str``, ``string``, ``object``) or ``category``
dtype, as HistGradientBoosting does. Numeric and bool columns are numbers. A
category is matched by its text (:func:`category_key`), in which a number is
written by its value: the integer 1, the floats 1.0 and ``np.float32(1)``,
``Decimal('1.00')`` and the text '1' are one category. A missing value (None, NaN,
pd.NA, NaT) is missing. Dates, times and durations are refused (they are neither
numbers nor categories until the user says which). Errors name the column, what it
must hold and what it held. No TensorFlow here.
"""

import datetime
import re
from decimal import Decimal
from numbers import Integral

import numpy as np
import pandas as pd

#: What a categorical column's values may be: text, numbers, bools, intervals (else
#: refused).
_READABLE = (str, bytes, Integral, float, Decimal, np.generic, bool, pd.Interval)
#: Values that are dates, times or durations, refused in any column.
_TEMPORAL = (datetime.date, datetime.time, datetime.timedelta, np.datetime64, np.timedelta64)
_TEMPORAL += (pd.Period,)
#: An interval's text, as pandas writes it: '(0.0, 1.5]'.
_INTERVAL = re.compile(r"^([(\[])([^,]+), ([^,]+)([)\]])$")


def _number_text(text: str) -> str:
    """``text`` as a number's key: a float written as Python writes it ('1.0',
    '-2.0', '1e+20') that is whole becomes the integer's text ('1', '-2', ...), so
    that a whole number reads the same as an int, a float or a text; any other text is
    kept."""
    if not text or text[0] not in "-0123456789" or not any(c in text for c in ".e"):
        return text
    try:
        value = float(text)
    except ValueError:
        return text
    if repr(value) != text or not value.is_integer():
        return text
    return str(int(value))


def canonical_text(text: str) -> str:
    """A key's text with its numbers written by value (:func:`_number_text`), in an
    interval's bounds too ('(0.0, 1.0]' reads as '(0, 1]'). Idempotent; applied to
    the categories a model file holds, it lets a file written before numbers were
    keyed by value match them as they are keyed now."""
    interval = _INTERVAL.match(text) if text[:1] in ("(", "[") else None
    if interval:
        left, low, high, right = interval.groups()
        return f"{left}{_number_text(low)}, {_number_text(high)}{right}"
    return _number_text(text)


def category_key(value) -> str:
    """The text a category is matched by: ``str(value)`` with numbers written by
    value (:func:`canonical_text`); bytes decoded as UTF-8 (other bytes escaped as
    ``\\xff``); a Decimal by its value ('1.50' as '1.5'); bools as 'True' and 'False'.

    >>> [category_key(v) for v in (1, 1.0, "1", b"1", True, 2.5, Decimal("2.50"))]
    ['1', '1', '1', '1', 'True', '2.5', '2.5']
    """
    if isinstance(value, bytes):
        return canonical_text(value.decode("utf-8", "backslashreplace"))
    if isinstance(value, Decimal):
        value = value.normalize()
        return canonical_text(format(value, "f") if value.is_finite() else str(value))
    return canonical_text(str(value))


def temporal_error(name: str, what: str) -> ValueError:
    """The error for a column of dates, times or durations."""
    return ValueError(
        f"Column {name} holds dates, times or durations ({what}), which skneural reads "
        "neither as numbers nor as categories. Convert it before fit: to numbers (for "
        "example the days since a reference date, or .astype('int64') for its "
        "ticks), to parts such as year, month and weekday, or to text (.astype(str)) "
        "to treat its values as categories."
    )


def _is_temporal_dtype(dtype) -> bool:
    if isinstance(dtype, pd.PeriodDtype) or getattr(dtype, "kind", None) in ("M", "m"):
        return True
    if isinstance(dtype, pd.CategoricalDtype):
        return _is_temporal_dtype(dtype.categories.dtype)
    arrow = getattr(dtype, "pyarrow_dtype", None)
    if arrow is not None:
        import pyarrow as pa

        return pa.types.is_temporal(arrow)
    return False


def refuse_temporal_values(X: pd.DataFrame) -> None:
    """Refuse an object column holding dates, times or durations, naming it."""
    for j, dtype in enumerate(X.dtypes):
        if dtype == np.dtype(object):
            column = X.iloc[:, j]
            found = next((v for v in column[column.notna()] if isinstance(v, _TEMPORAL)), None)
            if found is not None:
                raise temporal_error(column_name(X, j), type(found).__name__)


def refuse_temporal(X) -> None:
    """Refuse a DataFrame with a column of dates, times or durations, naming it."""
    if isinstance(X, pd.DataFrame):
        for j, dtype in enumerate(X.dtypes):
            if _is_temporal_dtype(dtype):
                raise temporal_error(column_name(X, j), str(dtype))


def column_name(X, j: int) -> str:
    """How errors name column ``j`` of ``X``: its name, or its position."""
    if isinstance(X, pd.DataFrame):
        return repr(X.columns[j])
    return f"{j} (by position)"


def is_categorical_dtype(dtype) -> bool:
    """Text, object or category: the dtypes ``'from_dtype'`` takes as categorical."""
    return (
        isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype))
        or dtype == np.dtype(object)
        or getattr(dtype, "kind", None) in ("O", "S", "U")
    )


def categorical_mask(X, categorical_features) -> np.ndarray:
    """Which columns of ``X`` are categorical under ``categorical_features``
    ('from_dtype', None, a boolean mask, or column names or positions)."""
    n = X.shape[1]
    if categorical_features is None:
        return np.zeros(n, dtype=bool)
    if isinstance(categorical_features, str):  # 'from_dtype' (the constraint's only string)
        if not isinstance(X, pd.DataFrame):
            return np.zeros(n, dtype=bool)
        return np.array([is_categorical_dtype(dtype) for dtype in X.dtypes], dtype=bool)
    chosen = np.asarray(categorical_features, dtype=object)
    if chosen.size and all(isinstance(v, (bool, np.bool_)) for v in chosen.ravel()):
        if chosen.shape != (n,):
            raise ValueError(
                f"categorical_features as a boolean mask must have one entry per column "
                f"of X ({n}), got shape {chosen.shape}."
            )
        return chosen.astype(bool)
    mask = np.zeros(n, dtype=bool)
    names = list(X.columns) if isinstance(X, pd.DataFrame) else None
    # Each entry as given: names and positions may be mixed (np.asarray would turn
    # ['a', 1] into two texts).
    for value in chosen.ravel().tolist():
        if isinstance(value, str):
            if names is None or value not in names:
                where = f"X's columns {names}" if names is not None else "X, which has no names"
                raise ValueError(
                    f"categorical_features names column {value!r}, which is not in {where}."
                )
            mask[names.index(value)] = True
        elif isinstance(value, Integral) and not isinstance(value, bool) and 0 <= value < n:
            mask[value] = True
        else:
            raise ValueError(
                f"categorical_features must hold column names or positions in [0, {n}) "
                f"(or be a boolean mask), got {value!r}."
            )
    return mask


def as_columns(X) -> list:
    """The columns of a 2-D table, as Series (a DataFrame's) or 1-D object arrays."""
    if isinstance(X, pd.DataFrame):
        return [X.iloc[:, j] for j in range(X.shape[1])]
    array = np.asarray(X, dtype=object)
    if array.ndim != 2:
        raise ValueError(f"Expected 2D array, got an array of shape {array.shape}.")
    return list(array.T)


def _missing(column) -> np.ndarray:
    return np.asarray(pd.isna(column), dtype=bool)


def category_keys(column, name: str) -> np.ndarray:
    """The column's values as text keys, None where missing (an object array).

    Values that are not text, numbers or bools (lists, dicts, objects) cannot be a
    category: a ValueError names the column and the first such value.
    """
    if isinstance(column, pd.Series) and column.dtype != np.dtype(object):
        # One dtype throughout (category, text, numbers): key each distinct value once.
        positions, uniques = pd.factorize(column, use_na_sentinel=True)
        distinct = np.asarray(uniques, dtype=object)
        _check_readable(distinct, name)
        keys = np.array([*(category_key(v) for v in distinct), None], dtype=object)
        return keys[positions]  # position -1 (missing): the None at the end
    missing = _missing(column)
    keys = np.asarray(column, dtype=object)
    _check_readable(keys[~missing], name)
    out = np.empty(len(keys), dtype=object)
    out[~missing] = [category_key(v) for v in keys[~missing]]
    out[missing] = None
    return out


def _check_readable(present: np.ndarray, name: str) -> None:
    odd = [v for v in present if not isinstance(v, _READABLE) or isinstance(v, _TEMPORAL)]
    if odd and isinstance(odd[0], _TEMPORAL):
        raise temporal_error(name, type(odd[0]).__name__)
    if odd:
        raise ValueError(
            f"Column {name} is categorical, so its values must be text, numbers or "
            f"bools (or missing); got {odd[0]!r:.60} ({type(odd[0]).__name__})."
        )


def numeric_values(column, name: str) -> np.ndarray:
    """The column as float64, NaN where missing; refuses text and infinity, naming the
    column."""
    if getattr(column.dtype, "kind", None) == "c":
        raise ValueError(f"Column {name} holds complex numbers ({column.dtype}): not supported.")
    if isinstance(column, pd.Series):
        try:
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            values = None
    else:
        values = None
    if values is None:
        objects = np.asarray(column, dtype=object)
        missing = _missing(objects)
        values = np.full(len(objects), np.nan)
        for i in np.flatnonzero(~missing):
            value = objects[i]
            if isinstance(value, _TEMPORAL):
                raise temporal_error(name, type(value).__name__)
            if isinstance(value, (str, bytes, complex, np.complexfloating)) or not isinstance(
                value, (Integral, float, np.generic, bool, Decimal)
            ):
                raise ValueError(
                    f"Column {name} is numeric (not categorical), so it must hold numbers, "
                    f"got {value!r:.60} ({type(value).__name__}). List it in "
                    "categorical_features to treat it as categories."
                )
            values[i] = float(value)
    if np.isinf(values).any():
        raise ValueError(
            f"Input X contains infinity in column {name}; skneural fills missing values "
            "(NaN) but cannot represent an infinite one. Replace it with a finite value "
            "or NaN."
        )
    return values


def read_table(X, categorical: np.ndarray) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """``X``'s numeric columns as a float64 matrix (categorical columns hold NaN
    there for now) and each categorical column's keys, by position."""
    refuse_temporal(X)
    columns = as_columns(X)
    values = np.full((len(columns[0]) if columns else 0, len(columns)), np.nan)
    keys = {}
    for j, column in enumerate(columns):
        name = column_name(X, j)
        if categorical[j]:
            keys[j] = category_keys(column, name)
        else:
            values[:, j] = numeric_values(column, name)
    return values, keys
