"""Saving and loading estimators without pickle.

A model file is a zip archive holding two members:

- ``skneural.json``: a format stamp, the versions that wrote it, the estimator's class
  name, its constructor parameters and the fitted state that is not in the network
  (classes, the training record, the random generator's state, ...), all as JSON
  with a few tagged types (tuples, arrays, DataFrames' rows, Keras initializers);
- ``model.keras``: the fitted Keras network with its optimizer state, in Keras's own
  archive format.

Loading never runs code from the file: the estimator class is looked up in a fixed
list, JSON is data, and before Keras reads the network the file passes the checks of
:mod:`skneural._model_file` (regular file, bounded sizes and JSON, the Keras
configuration against the allow-list of :mod:`skneural._model_schema`) and
:mod:`skneural._model_network` (the network is the one the manifest describes: its
configuration equals the one skneural builds from the manifest's parameters, seeds
aside, and its weights declare plain numbers of a bounded size); the manifest's
entries pass the checks of :mod:`skneural._manifest` and
:mod:`skneural._manifest_checks`, and the parameters the estimator's own validation.
Keras then loads the network with ``safe_mode=True``. A file of another format version
is refused with a clear error. Saving goes through :func:`skneural._atomic.write_atomically`.
Pickle, by contrast, can execute arbitrary code while loading: only unpickle files
from sources you trust.
"""

import functools
import json
import os
import tempfile
import zipfile
from typing import Any

import keras
import numpy as np

from . import _model_file as files
from ._atomic import write_atomically
from ._classifier import MLPClassifierX
from ._fitted import FittedNetwork
from ._manifest import (
    ESTIMATORS,
    FITTED,
    built_config,
    check_fitted,
    fitted_state,
    fitted_table,
    fitted_targets,
    network_expectation,
    read_manifest,
    reference_config,
    write_manifest,
)
from ._model_network import load_network
from ._model_schema import first_difference, learn_schemas, normalized
from ._plan import make_plan
from ._registry import OPTIMIZERS
from ._tagged_json import decode
from .exceptions import ModelFileError

_MANIFEST, _NETWORK = "skneural.json", "model.keras"


@functools.cache
def _schemas() -> tuple:
    """The allow-lists of the network's and an initializer's Keras configuration,
    learned once from every solver with and without clipping and weight decay."""
    settings = [{}, {"clipnorm": 1.0, "weight_decay": 0.01}, {"clipvalue": 1.0}]
    return learn_schemas(
        MLPClassifierX(solver=solver, **setting) for solver in OPTIMIZERS for setting in settings
    )


def _check_initializer(config: Any) -> None:
    network, initializers = _schemas()
    initializers.check(config, "an initializer in the parameters")


def _decode(value: Any) -> Any:
    return decode(value, _check_initializer)


def save(estimator, path: "str | os.PathLike") -> None:
    """Save an estimator to ``path`` in skneural's pickle-free format.

    Parameters
    ----------
    estimator : MLPClassifierX or MLPRegressorX
        Fitted or not.
    path : str or path-like
        The file to write (conventionally ``*.skneural``). It is replaced in one
        step: if saving fails, the file that was there is unchanged.

    Raises
    ------
    ValueError
        The estimator's file would be refused by :func:`load`; nothing is written.
    OSError
        Writing failed (the message names ``path``, which is unchanged).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skneural import MLPRegressorX, load, save
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> reg = MLPRegressorX(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    >>> reg = reg.fit(X, X.sum(axis=1))
    >>> path = os.path.join(tempfile.mkdtemp(), "reg.skneural")
    >>> save(reg, path)
    >>> bool((load(path).predict(X) == reg.predict(X)).all())
    True
    """
    name = type(estimator).__name__
    if ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(
            f"save takes an MLPClassifierX or MLPRegressorX; got {type(estimator).__name__}."
        )
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}: {path!r}")
    try:  # as load checks them: a file it would refuse must not replace a good one
        estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)!r} not written: invalid parameters ({exc})") from None
    params = estimator.get_params(deep=False)
    if isinstance(params["random_state"], np.random.RandomState):
        raise TypeError(
            "random_state is a RandomState instance, which this format cannot store; "
            "set an int or None before saving."
        )
    if callable(params["scoring"]):
        raise TypeError(
            "scoring is a callable, which this format cannot store (it stores no code); "
            "set a scorer name or None before saving."
        )
    fitted = hasattr(estimator, "model_")
    manifest = write_manifest(estimator, params)
    _check_loadable(estimator, manifest, path)

    def write(temporary: str) -> None:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_MANIFEST, manifest)
            if fitted:
                with tempfile.TemporaryDirectory() as tmp:
                    network = os.path.join(tmp, _NETWORK)
                    estimator.model_.save(network)
                    archive.write(network, _NETWORK)

    write_atomically(path, write)


def _check_loadable(estimator, manifest: bytes, path) -> None:
    """Refuse to write a file that :func:`load` would refuse (nothing is written)."""
    problem = None
    if len(manifest) > files.MAX_MANIFEST_BYTES:
        problem = (
            f"its parameters and training record take {len(manifest)} bytes as JSON, more "
            f"than the {files.MAX_MANIFEST_BYTES} a model file may hold"
        )
    else:
        try:
            files.parse_json(manifest, "its manifest")  # as load reads it: strings' lengths
        except ModelFileError as exc:
            problem = f"{exc} (a category or a column name that long?)"
    if problem is None and hasattr(estimator, "model_"):
        problem = _network_problem(estimator)
    if problem:
        raise ValueError(f"{os.fspath(path)!r} not written: load would refuse the file: {problem}.")


def _network_problem(estimator) -> str | None:
    """Why :func:`load` would refuse the estimator's network, or None."""
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(estimator.model_)))
    try:
        json.dumps(config, ensure_ascii=False).encode("utf-8")  # as Keras writes it
    except UnicodeEncodeError as exc:
        text = exc.object[max(exc.start - 20, 0) : exc.end + 20]
        return (
            f"its network's configuration holds text that is not valid Unicode "
            f"(near {text!r}: a category with a lone surrogate?)"
        )
    try:
        _schemas()[0].check(config, "its network")
    except ModelFileError as exc:
        return f"{exc}; use a kernel_initializer from skneural's list, or pickle"
    dtype = estimator.model_.inputs[0].dtype
    built = reference_config(estimator, fitted_state(estimator), dtype)
    where = first_difference(normalized(config), normalized(built))
    if where:
        return (
            f"its network is not the one its parameters build ({where}): were "
            "parameters changed after fit? Restore them or refit before saving"
        )
    return None


def load(path: "str | os.PathLike"):
    """Load an estimator saved by :func:`save`, running no code from the file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator : MLPClassifierX or MLPRegressorX
        Predicts exactly as the saved one, and continues training from its state
        (optimizer included) with ``warm_start=True`` or ``partial_fit``.

    Raises
    ------
    ModelFileError
        The file is not a regular file or not a skneural model file, is truncated or
        corrupt, was written by another format version, is larger than the network
        it describes implies, names a Keras object or setting skneural does not
        write, or its network disagrees with its manifest. The message names the
        path and the problem.
    TypeError
        ``path`` is not a str or path-like.
    OSError
        The file does not exist or cannot be opened (the message names it).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skneural import MLPClassifierX, load, save
    >>> X = np.arange(40.0).reshape(20, 2)
    >>> clf = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    >>> clf = clf.fit(X, np.arange(20) % 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "clf.skneural")
    >>> save(clf, path)
    >>> loaded = load(path)
    >>> loaded.classes_.tolist(), bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    ([0, 1], True)
    """
    archive_file = files.open_regular_file(path)
    try:
        with archive_file, tempfile.TemporaryDirectory() as tmp:
            return _load(archive_file, tmp)
    except ModelFileError as exc:
        raise ModelFileError(f"cannot load {os.fspath(path)!r}: {exc}") from None


def _load(archive_file, tmp: str):
    size = os.fstat(archive_file.fileno()).st_size
    try:
        archive = zipfile.ZipFile(archive_file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise ModelFileError(f"not a readable skneural model file ({exc})") from None
    with archive:
        if _MANIFEST not in archive.namelist():
            raise ModelFileError("the file has no readable skneural.json: not a model file")
        members = files.check_members(archive, size, (_MANIFEST, _NETWORK), (_MANIFEST,))
        manifest = read_manifest(archive, members[_MANIFEST])
        try:
            estimator = ESTIMATORS[manifest["estimator"]](**_decode(manifest["params"]))
        except TypeError as exc:
            raise ModelFileError(f"the file's parameters are malformed ({exc})") from None
        try:
            estimator._validate_params()
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"the file's parameters are invalid ({exc})") from None
        if manifest["fitted"] is None:
            if _NETWORK in members:
                raise ModelFileError("the file holds a network but says it is not fitted")
            return estimator
        if _NETWORK not in members:
            raise ModelFileError(f"the file says it is fitted but has no {_NETWORK}")
        fitted = _decode(manifest["fitted"])
        expected = network_expectation(estimator, fitted)
        network = os.path.join(tmp, _NETWORK)
        files.extract_member(
            archive, members[_NETWORK], expected.archive_bytes, "the network", network
        )
    model = load_network(
        network, expected, _schemas()[0], functools.partial(built_config, estimator, fitted)
    )
    try:
        check_fitted(estimator, fitted)
        _restore(estimator, fitted, model)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"the file's contents are malformed ({exc!r})") from None
    return estimator


def _restore(estimator, fitted: dict, model: keras.Model) -> None:
    targets = fitted_targets(estimator, fitted)
    plan = make_plan(
        estimator.get_params(deep=False),
        targets,
        fitted["n_features_in_"],
        model.inputs[0].dtype,
        fitted_table(fitted),
    )
    network = FittedNetwork.from_state(plan, targets, model, fitted)
    estimator._adopt(network, {name: fitted[name] for name in FITTED if name in fitted})
