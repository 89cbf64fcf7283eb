"""Tables for the command line: reading CSV and Parquet files and choosing the task.
The estimators take the table as it is (:mod:`skneural._table`).

Nothing here imports TensorFlow, so the command line can read and check its data
before paying for TensorFlow's start-up.
"""

import os
from pathlib import Path

import pandas as pd

#: A numeric target with at most this many distinct whole values is taken for labels.
MAX_AUTO_CLASSES = 20

_PARQUET = (".parquet", ".pq")
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip", ".tar")
_SNIFF_BYTES = 8192


class TableError(ValueError):
    """A data file cannot be read, or its columns do not fit the command."""


def _looks_like(head: bytes) -> str:
    """What the first bytes of a file say it is."""
    if head.startswith(b"PAR1"):
        return "a Parquet file"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (a model file written by 'skneural fit'?)"
    if head.startswith(b"\x1f\x8b"):
        return "gzip-compressed data"
    if b"\x00" in head:
        return "binary data, not text"
    return "text (CSV?)"


def read_table(path: "str | os.PathLike") -> pd.DataFrame:
    """A CSV or Parquet file (by its suffix) as a DataFrame.

    Raises
    ------
    TableError
        The file is missing, or is not what its suffix says; the message names the
        file, the format expected, and what the file looks like instead.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "data.csv")
    >>> _ = open(path, "wb").write(b"PAR1 not text")
    >>> try:
    ...     read_table(path)
    ... except TableError as error:
    ...     print(str(error).replace(path, "data.csv"))
    cannot read data.csv as CSV: it is a Parquet file (name it *.parquet)
    """
    file = Path(path)
    if not file.is_file():
        kind = "a directory" if file.is_dir() else "no such file"
        raise TableError(f"{kind}: {path}" if kind == "no such file" else f"{path} is {kind}")
    suffix = file.suffix.lower()
    expected = "Parquet" if suffix in _PARQUET else "CSV"
    try:
        with open(file, "rb") as stream:
            head = stream.read(_SNIFF_BYTES)
    except OSError as exc:
        raise TableError(f"cannot read {path}: {exc.strerror}") from None
    found = _looks_like(head)
    if expected == "Parquet" and found != "a Parquet file":
        raise TableError(f"cannot read {path} as Parquet: it is {found}")
    if expected == "CSV" and suffix not in _COMPRESSED and found != "text (CSV?)":
        hint = " (name it *.parquet)" if found == "a Parquet file" else ""
        raise TableError(f"cannot read {path} as CSV: it is {found}{hint}")
    try:
        return pd.read_parquet(file) if expected == "Parquet" else pd.read_csv(file)
    except ImportError:
        raise TableError(
            f"cannot read {path}: reading Parquet needs pyarrow (pip install pyarrow) "
            "or fastparquet"
        ) from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TableError(f"cannot read {path} as {expected}: {reason}") from None


def split_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """The feature columns and the target column."""
    if target not in frame.columns:
        raise TableError(f"column {target!r} not found; the columns are {list(frame.columns)}")
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        raise TableError("the data has no feature columns besides the target")
    return X, frame[target]


def choose_task(y: pd.Series) -> tuple[str, str]:
    """'classification' or 'regression' for a target column, and why.

    Text, boolean and categorical targets are labels; so are numbers that are all
    whole and take at most :data:`MAX_AUTO_CLASSES` values (a float 0/1 column
    included). Any other number is a quantity.

    Examples
    --------
    >>> choose_task(pd.Series([0.0, 1.0, 1.0]))
    ('classification', 'float64 target with 2 whole values')
    >>> choose_task(pd.Series([0.5, 1.0, 2.5]))[0]
    'regression'
    """
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "classification", f"{y.dtype} target"
    values = y.dropna()
    distinct = values.nunique()
    whole = pd.api.types.is_integer_dtype(y) or bool((values == values.round()).all())
    if whole and distinct <= MAX_AUTO_CLASSES:
        return "classification", f"{y.dtype} target with {distinct} whole values"
    if whole:
        return "regression", f"{y.dtype} target with {distinct} distinct values"
    return "regression", f"{y.dtype} target with fractional values"


#: What ``skneural fit`` sets unless a ``--param`` says otherwise: a table read from a
#: file is scaled whatever its columns, as the tables with categorical columns or
#: missing values are by default (the estimators leave numeric data unscaled, to stay
#: scikit-learn's MLP).
FIT_DEFAULTS = {"input_scaling": "standard"}


def column_notes(table, names) -> list[str]:
    """One line per categorical column of a fitted ``table``
    (:class:`skneural._table.TableSpec`, or None): its categories, and how the network
    encodes them."""
    if table is None:
        return []
    notes = []
    for column, categories, dim in zip(
        table.categorical, table.categories, table.embedding_dims, strict=True
    ):
        how = f"embedded in {dim} values" if dim else "one-hot"
        notes.append(f"column {names[column]!r}: {len(categories)} categories, {how}")
    return notes
