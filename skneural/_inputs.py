"""``X`` at the estimators' boundary: validated as scikit-learn validates it
(``n_features_in_``, ``feature_names_in_`` and their errors), and a table's columns
read into the network's input matrix.

Numeric data goes through ``validate_data`` as it always has (missing values
allowed where a network fills them; infinity refused). A table with categorical
columns has its names and width checked by ``validate_data``, its columns read one
by one (:mod:`skneural._table_columns`), and its categories replaced by the codes of
the categories the fit learned (:class:`skneural._table.TableSpec`).
"""

import contextlib
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_array, check_X_y

from ._compat import validate_data
from ._table import TableSpec, learn_table
from ._table_columns import (
    categorical_mask,
    column_name,
    is_categorical_dtype,
    read_table,
    refuse_temporal,
    refuse_temporal_values,
)

_SPARSE = ["csr", "csc"]


def _mask_of(table: TableSpec, n_features: int) -> np.ndarray:
    mask = np.zeros(n_features, dtype=bool)
    mask[list(table.categorical)] = True
    return mask


def _refuse_sparse(X) -> None:
    if sp.issparse(X):
        raise TypeError(
            "A sparse X cannot have categorical columns (categorical_features); pass a "
            "DataFrame, or a dense array of objects."
        )


def training_input(estimator, X, y, table: "TableSpec | None", learn: bool, numeric_targets: bool):
    """``(X as the network's input, y, table spec, statistics)`` for a fit.

    With ``learn`` (a new fit), the table's preprocessing is learned from ``X``
    (``table`` is ignored; the spec is None for data that needs none); otherwise
    ``X`` is read through ``table``, the fitted network's (None: numeric data, and no
    missing values, as in its first fit)."""
    refuse_temporal(X)
    params = estimator.get_params(deep=False)
    check_y = {"multi_output": True, "y_numeric": numeric_targets, "estimator": estimator}
    if learn:
        categorical = categorical_mask(_shaped(X), params["categorical_features"])
    else:
        if table is not None and table.categorical:
            categorical = _mask_of(table, table.n_features)
        else:
            categorical = np.zeros(0, dtype=bool)
        _check_categorical_kept(estimator, params["categorical_features"], categorical)
    if categorical.any():
        _refuse_sparse(X)
        validate_data(estimator, X, skip_check_array=True, reset=learn)
        values, keys = read_table(X, categorical)
        values, y = check_X_y(values, y, ensure_all_finite="allow-nan", dtype=np.float64, **check_y)
    else:
        with _column_named(X):
            values, y = validate_data(
                estimator,
                X,
                y,
                accept_sparse=_SPARSE,
                dtype=(np.float64, np.float32),
                ensure_all_finite="allow-nan" if learn or table is not None else True,
                reset=learn,
                **{k: v for k, v in check_y.items() if k != "estimator"},
            )
        values, keys = values.toarray() if sp.issparse(values) else values, {}
    statistics = None
    if learn:
        names = [column_name(X, j) for j in range(values.shape[1])]
        table, statistics = learn_table(values, keys, names, params)
    return (table.encode(values, keys) if keys else values), y, table, statistics


def _check_categorical_kept(estimator, categorical_features, learned: np.ndarray) -> None:
    """A warm start reads its input with the categorical columns its fit learned:
    refuse an explicit ``categorical_features`` that names others among the columns
    the fit saw ('from_dtype' takes what was learned, as a frame's dtypes may differ
    from an array's). The fit's columns, not the new input's, resolve the names: an
    array read by position, or reordered columns (which the feature-name check then
    names), is judged by what the setting meant in the fit."""
    if isinstance(categorical_features, str):
        return
    names = getattr(estimator, "feature_names_in_", None)
    n = estimator.n_features_in_
    seen = np.empty((0, n)) if names is None else pd.DataFrame(columns=list(names))
    if learned.size == 0:
        learned = np.zeros(n, dtype=bool)
    try:
        requested = categorical_mask(seen, categorical_features)
    except ValueError as exc:
        raise ValueError(
            "warm_start=True keeps the fitted network, so categorical_features is read "
            f"against the X it was fitted on: {exc}"
        ) from None
    if not np.array_equal(requested, learned):

        def listed(mask):
            return ", ".join(column_name(seen, j) for j in np.flatnonzero(mask)) or "none"

        raise ValueError(
            f"warm_start=True keeps the fitted network, whose categorical columns are "
            f"{listed(learned)}, but categorical_features now makes them "
            f"{listed(requested)}. Set warm_start=False to train a new network."
        )


def prediction_input(estimator, X, table: "TableSpec | None") -> np.ndarray:
    """``X`` as the fitted network's input."""
    refuse_temporal(X)
    if table is None or not table.categorical:
        with _column_named(X):
            values = validate_data(
                estimator,
                X,
                accept_sparse=_SPARSE,
                dtype=(np.float64, np.float32),
                ensure_all_finite=True if table is None else "allow-nan",
                reset=False,
            )
        return values.toarray() if sp.issparse(values) else values
    _refuse_sparse(X)
    validate_data(estimator, X, skip_check_array=True, reset=False)
    values, keys = read_table(X, _mask_of(table, table.n_features))
    values = check_array(
        values, ensure_all_finite="allow-nan", dtype=np.float64, estimator=estimator
    )
    return table.encode(values, keys)


@contextlib.contextmanager
def _column_named(X):
    """scikit-learn's errors for an infinite value or text in a numeric column, with
    the first such column named (and dates in an object column refused as such); and
    for a missing value where the fitted network learned no filling, our own."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        if isinstance(X, pd.DataFrame):
            refuse_temporal_values(X)
        if isinstance(exc, TypeError):
            raise
        if isinstance(X, pd.DataFrame) and "could not convert" in str(exc):
            for j, dtype in enumerate(X.dtypes):
                if is_categorical_dtype(dtype):
                    raise ValueError(
                        f"{exc}: column {column_name(X, j)} holds {dtype} values, and "
                        "categorical_features does not list it. List it there to read it "
                        "as categories."
                    ) from None
        if "infinity" in str(exc):
            found = np.isinf
        elif "X contains NaN" in str(exc):  # refused where the network fills none
            found = np.isnan
        else:
            raise
        if len(getattr(X, "shape", ())) != 2:
            raise
        for j in range(X.shape[1]):
            column = X.iloc[:, j] if hasattr(X, "iloc") else X[:, j]
            if sp.issparse(column):
                column = column.toarray()
            try:
                hit = found(np.asarray(column, dtype=np.float64)).any()
            except (TypeError, ValueError):
                continue
            if hit and found is np.isnan:
                raise ValueError(
                    f"X has missing values (NaN) in column {column_name(X, j)}, and the model "
                    "was fitted on X without any, so it learned no way to fill them. Fit on "
                    "data with the missing values it will meet (skneural learns to fill "
                    "them), or impute them first (e.g. SimpleImputer in a Pipeline)."
                ) from None
            if hit:
                message = str(exc).rstrip().rstrip(".")
                raise ValueError(f"{message} in column {column_name(X, j)}.") from None
        raise


def _shaped(X):
    """``X`` with a shape to pick columns from (lists become object arrays)."""
    if hasattr(X, "shape") and len(X.shape) == 2:
        return X
    array = np.asarray(X, dtype=object)
    if array.ndim != 2:
        # validate_data gives scikit-learn's own message for this.
        return np.empty((0, 0))
    return array


def widened_range(bounds: "tuple[np.ndarray, np.ndarray] | None", X: np.ndarray):
    """``bounds`` (per-column minimum and maximum, or None) widened to hold ``X``'s
    values, missing ones (NaN) aside: the range ``clip='data'`` keeps attacks in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column in a batch
        low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    if bounds is None:
        return low, high
    return np.fmin(low, bounds[0]), np.fmax(high, bounds[1])
