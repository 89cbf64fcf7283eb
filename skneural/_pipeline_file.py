"""The file ``skneural fit`` writes: the fitted estimator, and which columns it reads
and predicts, without pickle.

The file is a zip of two members: ``pipeline.json`` (the feature columns in order and
the target's name) and ``model.skneural`` (the estimator, in :func:`skneural.save`'s
format, its table's preprocessing inside the network). Reading treats the file as
hostile input, with the model file's own guards (:mod:`skneural._model_file`): only a
regular file is opened, members are read with size limits, and ``pipeline.json`` is
checked entry by entry and against the estimator's ``feature_names_in_``, so that a
truncated, edited or foreign file is refused with one :class:`ModelFileError`. Files
of the earlier format (a scaler and one-hot encoder in front of the network) are
refused with a note to fit again.
"""

import json
import os
import tempfile
import zipfile

import pandas as pd

from . import _model_file as files
from ._atomic import write_atomically
from ._persistence import load, save
from .exceptions import ModelFileError

FORMAT, VERSION = "skneural-fit", 2
_EARLIER_FORMAT = "skneural-pipeline"
_SPEC, _NETWORK = "pipeline.json", "model.skneural"
#: Largest ``pipeline.json`` read, in bytes (column names only).
MAX_SPEC_BYTES = 16 * 2**20
#: Largest network member read, in bytes.
MAX_NETWORK_BYTES = 2**31


def save_fit(estimator, X: pd.DataFrame, target: str, path: str) -> None:
    """Write the ``estimator`` fitted on ``X`` (predicting ``target``) to ``path`` in
    one step: if writing fails, the file that was there is unchanged."""
    text = json.dumps(
        {"format": FORMAT, "version": VERSION, "target": target, "columns": list(X.columns)}
    )

    def write(temporary: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            network = os.path.join(tmp, _NETWORK)
            save(estimator, network)
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(_SPEC, text)
                archive.write(network, _NETWORK)

    write_atomically(path, write)


def load_fit(path: str) -> tuple:
    """The estimator saved by :func:`save_fit`, and its target column's name.

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
            _check_columns(spec, estimator)
    except ModelFileError as exc:
        raise ModelFileError(f"{path} is not a usable 'skneural fit' model file: {exc}") from None
    return estimator, spec["target"]


def _fail(where: str, expected: str, got) -> None:
    raise ModelFileError(f"{_SPEC}: {where} must be {expected}, got {str(got)[:60]!r}")


def check_spec(spec) -> dict:
    """``spec`` if it is a ``pipeline.json`` :func:`save_fit` could have written."""
    if isinstance(spec, dict) and spec.get("format") == _EARLIER_FORMAT:
        raise ModelFileError(
            "it was written by an earlier skneural, whose 'fit' put its own scaler and "
            "one-hot encoder in front of the network; fit it again"
        )
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise ModelFileError(f"{_SPEC} does not say format {FORMAT!r}: a foreign file")
    if set(spec) != {"format", "version", "target", "columns"}:
        _fail("its keys", "format, version, target, columns", sorted(spec))
    if spec["version"] != VERSION:
        _fail("version", str(VERSION), spec["version"])
    if not isinstance(spec["target"], (str, int)) or isinstance(spec["target"], bool):
        _fail("target", "a column name", spec["target"])
    columns = spec["columns"]
    if not isinstance(columns, list) or not all(isinstance(c, (str, int)) for c in columns):
        _fail("columns", "a list of column names", columns)
    if len(set(columns)) != len(columns):
        _fail("columns", "distinct column names", columns)
    if spec["target"] in columns:
        _fail("target", "a column other than the features", spec["target"])
    return spec


def _check_columns(spec: dict, estimator) -> None:
    """The estimator reads exactly the columns the file lists, in that order."""
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is None or list(fitted) != spec["columns"]:
        shown = None if fitted is None else list(fitted)
        raise ModelFileError(
            f"{_SPEC} lists the columns {spec['columns']!r:.80} but the network reads {shown!r:.80}"
        )
