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
aside, and its weights declare plain numbers of a bounded size); Keras
then loads it with ``safe_mode=True``. A file of another format version is refused
with a clear error. Saving goes through :func:`skneural._atomic.write_atomically`.
Pickle, by contrast, can execute arbitrary code while loading: only unpickle files
from sources you trust.
"""

import functools
import json
import math
import os
import tempfile
import warnings
import zipfile
from typing import Any

import keras
import numpy as np
from sklearn.base import is_classifier

from . import _model_file as files
from ._atomic import write_atomically
from ._classifier import MLPClassifierX
from ._config import resolve_hidden_layer_sizes
from ._fitted import FittedNetwork, _compile, network_of
from ._model_network import NetworkExpectation, first_difference, load_network, normalized
from ._model_schema import learn_schemas
from ._network import build_network
from ._plan import make_plan
from ._registry import ACTIVATIONS, LOSSES, OPTIMIZERS, OUTPUT_ACTIVATIONS
from ._regressor import MLPRegressorX
from ._tagged_json import decode, encode
from ._targets import ClassificationTargets, RegressionTargets, targets_from_config
from .exceptions import ModelFileError

FORMAT = "skneural-model"
FORMAT_VERSION = 2
_MANIFEST, _NETWORK = "skneural.json", "model.keras"
_KERAS_MEMBERS = ("metadata.json", "config.json", "model.weights.h5")
_ESTIMATORS = {cls.__name__: cls for cls in (MLPClassifierX, MLPRegressorX)}
_MANIFEST_KEYS = {"format", "format_version", "versions", "estimator", "params", "fitted"}


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


# -- what is saved -------------------------------------------------------------------

# The estimator's own fitted attributes that the fitted network does not hold.
_FITTED = ("n_features_in_", "feature_names_in_", "n_iter_")
# What FittedNetwork.to_state writes, and the estimator's own entries.
_NETWORK_STATE = ("targets", "training", "rng", "input_range", "seed_states")
_FITTED_KEYS = {*_FITTED, *_NETWORK_STATE}
_REQUIRED_FITTED_KEYS = {"n_features_in_", *_NETWORK_STATE}


def _fitted_state(estimator) -> dict[str, Any]:
    state = {name: getattr(estimator, name) for name in _FITTED if hasattr(estimator, name)}
    return {**state, **network_of(estimator).to_state()}


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
    if _ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(
            f"save takes an MLPClassifierX or MLPRegressorX; got {type(estimator).__name__}."
        )
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}: {path!r}")
    params = estimator.get_params(deep=False)
    if isinstance(params["random_state"], np.random.RandomState):
        raise TypeError(
            "random_state is a RandomState instance, which this format cannot store; "
            "set an int or None before saving."
        )
    from . import __version__

    fitted = hasattr(estimator, "model_")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {
            "skneural": __version__,
            "keras": keras.__version__,
            "tensorflow": _tensorflow_version(),
        },
        "estimator": name,
        "params": encode(params),
        "fitted": encode(_fitted_state(estimator)) if fitted else None,
    }
    manifest = json.dumps(manifest).encode()
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
    elif hasattr(estimator, "model_"):
        config = json.loads(json.dumps(keras.saving.serialize_keras_object(estimator.model_)))
        try:
            _schemas()[0].check(config, "its network")
        except ModelFileError as exc:
            problem = f"{exc}; use a kernel_initializer from skneural's list, or pickle"
        else:
            state = _fitted_state(estimator)
            dtype = estimator.model_.inputs[0].dtype
            built = _reference_config(estimator, state, dtype)
            where = first_difference(normalized(config), normalized(built))
            if where:
                problem = (
                    f"its network is not the one its parameters build ({where}): were "
                    "parameters changed after fit? Restore them or refit before saving"
                )
    if problem:
        raise ValueError(f"{os.fspath(path)!r} not written: load would refuse the file: {problem}.")


def _tensorflow_version() -> str:
    import tensorflow as tf

    return tf.__version__


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
        manifest = _read_manifest(archive, members[_MANIFEST])
        try:
            estimator = _ESTIMATORS[manifest["estimator"]](**_decode(manifest["params"]))
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
        expected = _expectation(estimator, fitted)
        network = os.path.join(tmp, _NETWORK)
        files.extract_member(
            archive, members[_NETWORK], expected.archive_bytes, "the network", network
        )
    model = load_network(
        network,
        expected,
        _schemas()[0],
        functools.partial(_built_config, estimator, fitted),
    )
    try:
        _check_fitted_arrays(fitted, _targets(estimator, fitted))
        _check_training(fitted["training"])
        _restore(estimator, fitted, model)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"the file's contents are malformed ({exc!r})") from None
    return estimator


def _read_manifest(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
    data = files.read_member(archive, info, files.MAX_MANIFEST_BYTES, "the manifest")
    manifest = files.parse_json(data, "skneural.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError("the file is not a skneural model file")
    versions = manifest.get("versions")
    version = manifest.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        written = versions.get("skneural") if isinstance(versions, dict) else None
        raise ModelFileError(
            f"the file has format version {version!r}, written by skneural "
            f"{written or 'an unknown version'}; this skneural reads format version "
            f"{FORMAT_VERSION}. Load it with the skneural version that wrote it and re-fit, "
            "or re-save it from there."
        )
    if set(manifest) != _MANIFEST_KEYS:
        raise ModelFileError(
            f"skneural.json must have the entries {sorted(_MANIFEST_KEYS)}, got {sorted(manifest)}"
        )
    if not (isinstance(versions, dict) and all(isinstance(v, str) for v in versions.values())):
        raise ModelFileError(
            f"skneural.json's 'versions' must map names to strings, got {versions!r}"
        )
    if not isinstance(manifest["estimator"], str) or manifest["estimator"] not in _ESTIMATORS:
        raise ModelFileError(f"the file names an unknown estimator {manifest['estimator']!r:.80}")
    for key in ("params", "fitted"):
        value = manifest[key]
        if not (isinstance(value, dict) and set(value) == {"dict"}) and not (
            key == "fitted" and value is None
        ):
            expected = "a tagged dict" + (" or null" if key == "fitted" else "")
            raise ModelFileError(
                f"skneural.json's {key!r} must be {expected}, got {type(value).__name__}"
            )
    from . import __version__

    written = versions.get("skneural")
    if written != __version__:
        warnings.warn(
            f"The model file was written by skneural {written}; this is {__version__}. "
            "The format is the same, but results may differ.",
            UserWarning,
        )
    return manifest


def _expectation(estimator, fitted: Any) -> NetworkExpectation:
    """The network the manifest's parameters and fitted state describe."""
    if not (isinstance(fitted, dict) and all(isinstance(key, str) for key in fitted)):
        raise ModelFileError(
            f"skneural.json's 'fitted' must map names to values, got {fitted!r:.80}"
        )
    unknown = set(fitted) - _FITTED_KEYS
    missing = _REQUIRED_FITTED_KEYS - set(fitted)
    if unknown or missing:
        raise ModelFileError(
            f"skneural.json's 'fitted' has unexpected entries {sorted(unknown)} or lacks "
            f"{sorted(missing)}"
        )
    n_iter = fitted.get("n_iter_", 0)
    if not isinstance(n_iter, int) or isinstance(n_iter, bool) or not 0 <= n_iter < 2**63:
        raise ModelFileError(
            f"the manifest's n_iter_ must be a non-negative integer, got {n_iter!r:.40}"
        )
    try:
        hidden = resolve_hidden_layer_sizes(estimator.hidden_layer_sizes)
        targets = _targets(estimator, fitted)
        out_activation = OUTPUT_ACTIVATIONS[LOSSES[targets.loss].out_activation]
        expectation = NetworkExpectation(
            fitted.get("n_features_in_"),
            hidden,
            targets.n_outputs,
            ACTIVATIONS[estimator.activation].keras_name,
            out_activation.keras_name,
        )
        return expectation
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ModelFileError(f"the file's fitted state is malformed ({exc!r})") from None


def _check_fitted_arrays(fitted: dict, targets) -> None:
    """The fitted arrays have the shapes the network's width and the classes imply."""
    n = fitted["n_features_in_"]
    names = fitted.get("feature_names_in_")
    if names is not None and not (
        isinstance(names, np.ndarray) and names.dtype == object and names.shape == (n,)
    ):
        raise ModelFileError(
            f"the manifest's feature_names_in_ must be {n} strings, got {names!r:.80}"
        )
    bounds = fitted["input_range"]
    if bounds is not None and not (
        isinstance(bounds, tuple)
        and len(bounds) == 2
        and all(
            isinstance(b, np.ndarray) and b.dtype.kind == "f" and b.shape == (n,) for b in bounds
        )
    ):
        raise ModelFileError(f"the manifest's input_range must be two arrays of {n} floats")
    classes = getattr(targets, "classes", None)
    if classes is not None:
        classes = np.asarray(classes)
        if classes.ndim != 1 or not np.array_equal(np.unique(classes), classes):
            raise ModelFileError(
                f"the manifest's classes must be distinct, sorted and one-dimensional, got "
                f"{classes.tolist()!r:.80}"
            )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _is_arrays(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in value
    )


# The training record's entries and what each must hold.
_TRAINING = {
    "learning_rate": lambda v: _is_number(v) and 0 <= v < math.inf,
    "loss_curve": lambda v: isinstance(v, list) and all(map(_is_number, v)),
    "validation_scores": lambda v: v is None or (isinstance(v, list) and all(map(_is_number, v))),
    "best_loss": lambda v: v is None or _is_number(v),
    "best_validation_score": lambda v: v is None or _is_number(v),
    "no_improvement_count": _is_count,
    "t": _is_count,
    "history": lambda v: (
        isinstance(v, list)
        and all(
            isinstance(epoch, dict)
            and all(isinstance(k, str) and _is_number(x) for k, x in epoch.items())
            for epoch in v
        )
    ),
    "best_weights": lambda v: v is None or _is_arrays(v),
    "gradient_norms": _is_arrays,
    "dead_fractions": _is_arrays,
    "schedule_epoch": _is_count,
}


def _check_training(training) -> None:
    """The training record holds the entries of a TrainingState, each of its kind."""
    if not isinstance(training, dict) or set(training) != set(_TRAINING):
        found = sorted(training) if isinstance(training, dict) else type(training).__name__
        raise ModelFileError(
            f"the manifest's training record must have the entries {sorted(_TRAINING)}, got {found}"
        )
    for name, valid in _TRAINING.items():
        if not valid(training[name]):
            raise ModelFileError(
                f"the manifest's training record has a malformed {name!r}: {training[name]!r:.80}"
            )


def _reference_config(estimator, fitted: dict, dtype) -> dict:
    """The configuration of the network skneural builds and compiles for the
    estimator's parameters and fitted targets, as Keras writes it."""
    targets = _targets(estimator, fitted)
    params = estimator.get_params(deep=False)
    plan = make_plan(params, targets, fitted["n_features_in_"], str(np.dtype(dtype)))
    model = build_network(plan.network, np.random.default_rng(0))
    _compile(model, plan)
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model)))


def _built_config(estimator, fitted: dict, dtype) -> dict:
    try:
        return _reference_config(estimator, fitted, dtype)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ModelFileError(f"the file's fitted state is malformed ({exc!r})") from None


def _targets(estimator, fitted: dict):
    """The fitted targets, which must be of the estimator's kind of task."""
    targets = targets_from_config(fitted["targets"])
    expected = ClassificationTargets if is_classifier(estimator) else RegressionTargets
    if not isinstance(targets, expected):
        raise ModelFileError(
            f"a {type(estimator).__name__} cannot have {fitted['targets']['kind']} targets"
        )
    return targets


def _restore(estimator, fitted: dict, model: keras.Model) -> None:
    targets = _targets(estimator, fitted)
    plan = make_plan(
        estimator.get_params(deep=False), targets, fitted["n_features_in_"], model.inputs[0].dtype
    )
    network = FittedNetwork.from_state(plan, targets, model, fitted)
    estimator._adopt(network, {name: fitted[name] for name in _FITTED if name in fitted})
