"""Reading a table's columns: which are categorical, and each column's values as the
network reads them (numbers with NaN for missing, categories as text keys).

``categorical_features`` names the categorical columns; its default ``'from_dtype'``
takes a DataFrame's columns of text (``str``, ``string``, ``object``) or ``category``
dtype, as HistGradientBoosting does. Numeric and bool columns are numbers. A
category is matched by its text (``str(value)``), so the integer 1 and the text
'1' are one category; a missing value (None, NaN, pd.NA, NaT) is missing. Errors
name the column, what it must hold and what it held. No TensorFlow here.
"""

from numbers import Integral

import numpy as np
import pandas as pd

#: What a categorical column's values may be: text, numbers, bools (else refused).
_READABLE = (str, bytes, Integral, float, np.generic, bool)


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
    chosen = np.asarray(categorical_features)
    if chosen.dtype == bool:
        if chosen.shape != (n,):
            raise ValueError(
                f"categorical_features as a boolean mask must have one entry per column "
                f"of X ({n}), got shape {chosen.shape}."
            )
        return chosen.copy()
    mask = np.zeros(n, dtype=bool)
    names = list(X.columns) if isinstance(X, pd.DataFrame) else None
    for value in chosen.ravel().tolist():
        if isinstance(value, str):
            if names is None or value not in names:
                where = f"X's columns {names}" if names is not None else "X, which has no names"
                raise ValueError(
                    f"categorical_features names column {value!r}, which is not in {where}."
                )
            mask[names.index(value)] = True
        elif isinstance(value, Integral) and -n <= value < n:
            mask[value] = True
        else:
            raise ValueError(
                f"categorical_features must hold column names or positions in [0, {n}), "
                f"got {value!r}."
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
    missing = _missing(column)
    if isinstance(column, pd.Series) and isinstance(
        column.dtype, (pd.CategoricalDtype, pd.StringDtype)
    ):
        keys = column.astype(object).to_numpy()
    else:
        keys = np.asarray(column, dtype=object)
        present = keys[~missing]
        odd = [v for v in present if not isinstance(v, _READABLE)]
        if odd:
            raise ValueError(
                f"Column {name} is categorical, so its values must be text, numbers or "
                f"bools (or missing); got {odd[0]!r:.60} ({type(odd[0]).__name__})."
            )
    out = np.empty(len(keys), dtype=object)
    out[~missing] = [v.decode() if isinstance(v, bytes) else str(v) for v in keys[~missing]]
    out[missing] = None
    return out


def numeric_values(column, name: str) -> np.ndarray:
    """The column as float64, NaN where missing; refuses text and infinity, naming the
    column."""
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
            if isinstance(value, (str, bytes)) or not isinstance(
                value, (Integral, float, np.generic, bool)
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
