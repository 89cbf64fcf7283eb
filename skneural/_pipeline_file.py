"""The file ``skneural fit`` writes: a fitted preprocessing Pipeline and its network,
without pickle.

The file is a zip of two members: ``pipeline.json`` (the columns, the scaler's means
and scales, the one-hot categories, the target's name) and ``model.skneural`` (the
network, in :func:`skneural.save`'s format). Reading treats the file as hostile input,
with the model file's own guards (:mod:`skneural._model_file`): only a regular file is
opened, members are read with size limits, and every entry of ``pipeline.json`` is
checked for its kind and consistency before anything is built from it, so that a
truncated, edited or foreign file is refused with one :class:`ModelFileError`.
"""

import json
import math
import os
import tempfile
import zipfile

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from . import _model_file as files
from ._atomic import write_atomically
from ._persistence import load, save
from ._tables import preprocessing
from .exceptions import ModelFileError

FORMAT = "skneural-pipeline"
_SPEC, _NETWORK = "pipeline.json", "model.skneural"
#: Largest ``pipeline.json`` read, in bytes (the one-hot categories dominate).
MAX_SPEC_BYTES = 64 * 2**20
#: Largest network member read, in bytes.
MAX_NETWORK_BYTES = 2**31


def save_pipeline(pipeline: Pipeline, X: pd.DataFrame, target: str, path: str) -> None:
    """Write the fitted ``pipeline`` (trained on ``X``, predicting ``target``) to
    ``path`` in one step: if writing fails, the file that was there is unchanged."""
    columns = pipeline.named_steps["columns"]
    spec = {"format": FORMAT, "target": target, "columns": list(X.columns)}
    for name, step, cols in columns.transformers_:
        if name == "numeric":
            spec["numeric"] = {
                "columns": list(cols),
                "mean": step.mean_.tolist(),
                "scale": step.scale_.tolist(),
            }
        elif name == "categorical":
            spec["categorical"] = {
                "columns": list(cols),
                "categories": [c.tolist() for c in step.categories_],
            }
    text = json.dumps(spec)

    def write(temporary: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            network = os.path.join(tmp, _NETWORK)
            save(pipeline.named_steps["model"], network)
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(_SPEC, text)
                archive.write(network, _NETWORK)

    write_atomically(path, write)


def load_pipeline(path: str) -> tuple[Pipeline, str]:
    """The pipeline saved by :func:`save_pipeline`, and its target column's name.

    Raises
    ------
    ModelFileError
        The file is not one ``skneural fit`` writes, or it was altered: one line
        naming the file and the problem.
    OSError
        The file does not exist or cannot be opened.
    """
    stream = files.open_regular_file(path)
    try:
        with stream, tempfile.TemporaryDirectory() as tmp:
            size = os.fstat(stream.fileno()).st_size
            try:
                archive = zipfile.ZipFile(stream)
            except (zipfile.BadZipFile, OSError, ValueError):
                raise ModelFileError("it is not a zip archive") from None
            with archive:
                members = files.check_members(archive, size, [_SPEC, _NETWORK], [_SPEC, _NETWORK])
                data = files.read_member(archive, members[_SPEC], MAX_SPEC_BYTES, _SPEC)
                spec = check_spec(files.parse_json(data, _SPEC))
                network = os.path.join(tmp, _NETWORK)
                files.extract_member(
                    archive, members[_NETWORK], MAX_NETWORK_BYTES, _NETWORK, network
                )
            try:
                estimator = load(network)
            except ModelFileError as exc:  # name the member, not the temporary copy
                raise ModelFileError(str(exc).replace(repr(network), repr(_NETWORK))) from None
            columns = _rebuild(spec)
            _check_width(spec, estimator)
    except ModelFileError as exc:
        raise ModelFileError(f"{path} is not a usable 'skneural fit' model file: {exc}") from None
    return Pipeline([("columns", columns), ("model", estimator)]), spec["target"]


def _fail(where: str, expected: str, got) -> None:
    raise ModelFileError(f"{_SPEC}: {where} must be {expected}, got {str(got)[:60]!r}")


def _names(value, where: str) -> list:
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        _fail(where, "a list of column names", value)
    if len(set(value)) != len(value):
        _fail(where, "distinct column names", value)
    return value


def _numbers(value, where: str, length: int, positive: bool = False) -> list:
    ok = (
        isinstance(value, list)
        and len(value) == length
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        and all(math.isfinite(v) and (v > 0 or not positive) for v in value)
    )
    if not ok:
        kind = "positive" if positive else "finite"
        _fail(where, f"a list of {length} {kind} numbers", value)
    return value


def check_spec(spec) -> dict:
    """``spec`` if it is a ``pipeline.json`` :func:`save_pipeline` could have written."""
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise ModelFileError(f"{_SPEC} does not say format {FORMAT!r}: a foreign file")
    unknown = set(spec) - {"format", "target", "columns", "numeric", "categorical"}
    if unknown:
        _fail("its keys", "format, target, columns, numeric, categorical", sorted(unknown))
    if not isinstance(spec.get("target"), (str, int)):
        _fail("target", "a column name", spec.get("target"))
    columns = _names(spec.get("columns"), "columns")
    numeric = spec.get("numeric", {"columns": [], "mean": [], "scale": []})
    categorical = spec.get("categorical", {"columns": [], "categories": []})
    for name, part, keys in [
        ("numeric", numeric, {"columns", "mean", "scale"}),
        ("categorical", categorical, {"columns", "categories"}),
    ]:
        if not isinstance(part, dict) or set(part) != keys:
            _fail(name, f"an object with {', '.join(sorted(keys))}", part)
    n_numeric = len(_names(numeric["columns"], "numeric.columns"))
    _numbers(numeric["mean"], "numeric.mean", n_numeric)
    _numbers(numeric["scale"], "numeric.scale", n_numeric, positive=True)
    used = numeric["columns"] + _names(categorical["columns"], "categorical.columns")
    if sorted(map(str, used)) != sorted(map(str, columns)) or len(set(used)) != len(used):
        _fail("numeric.columns and categorical.columns", f"together the columns {columns}", used)
    if spec["target"] in columns:
        _fail("target", "a column other than the features", spec["target"])
    categories = categorical["categories"]
    scalar = (str, int, float, bool, type(None))
    if (
        not isinstance(categories, list)
        or len(categories) != len(categorical["columns"])
        or not all(
            isinstance(c, list) and c and all(isinstance(v, scalar) for v in c) for c in categories
        )
    ):
        _fail("categorical.categories", "one non-empty list of values per column", categories)
    return {"format": FORMAT, "numeric": numeric, "categorical": categorical, **spec}


def _rebuild(spec: dict):
    """The fitted preprocessing: fitted on one placeholder row, then given back its
    numbers."""
    numeric, categorical = spec["numeric"], spec["categorical"]
    row = {c: [0.0] for c in numeric["columns"]}
    pairs = zip(categorical["columns"], categorical["categories"], strict=True)
    row.update({c: [cats[0]] for c, cats in pairs})
    columns = preprocessing(numeric["columns"], categorical["columns"], categorical["categories"])
    try:
        columns.fit(pd.DataFrame(row)[spec["columns"]])
    except KeyError as exc:  # "columns" names what the parts name differently (1 and "1")
        raise ModelFileError(f"{_SPEC}: its columns are not the parts' columns ({exc})") from None
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"{_SPEC}: its categories cannot be encoded ({exc})") from None
    if numeric["columns"]:
        scaler = columns.named_transformers_["numeric"]
        scaler.mean_ = np.array(numeric["mean"], dtype=float)
        scaler.scale_ = np.array(numeric["scale"], dtype=float)
        scaler.var_ = scaler.scale_**2
    return columns


def _check_width(spec: dict, estimator) -> None:
    width = len(spec["numeric"]["columns"]) + sum(map(len, spec["categorical"]["categories"]))
    expected = getattr(estimator, "n_features_in_", None)
    if expected != width:
        raise ModelFileError(f"{_SPEC} encodes {width} features but the network takes {expected}")
