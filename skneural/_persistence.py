"""Saving and loading estimators without pickle.

A model file is a zip archive holding two members:

- ``skneural.json``: a format stamp, the versions that wrote it, the estimator's class
  name, its constructor parameters and the fitted state that is not in the network
  (classes, the training record, the random generator's state, ...), all as JSON
  with a few tagged types (tuples, arrays, DataFrames' rows, Keras initializers);
- ``model.keras``: the fitted Keras network with its optimizer state, in Keras's own
  archive format.

Loading never runs code from the file: the estimator class is looked up in a fixed
list, JSON is data, every layer and optimizer named in the network's configuration
must be one skneural builds, and Keras loads the network with ``safe_mode=True``
(no lambda layers). A file of another format version is refused with a clear error.
Pickle, by contrast, can execute arbitrary code while loading: only unpickle files
from sources you trust.
"""

import io
import json
import math
import os
import tempfile
import warnings
import zipfile
from typing import Any

import keras
import numpy as np
from sklearn.preprocessing import LabelBinarizer

from ._classifier import MLPClassifierX
from ._regressor import MLPRegressorX
from ._training import TrainingState
from .exceptions import ModelFileError

FORMAT = "skneural-model"
FORMAT_VERSION = 1
_MANIFEST, _NETWORK = "skneural.json", "model.keras"
_ESTIMATORS = {cls.__name__: cls for cls in (MLPClassifierX, MLPRegressorX)}
# Every layer and optimizer class skneural builds, and nothing else.
_LAYERS = {"InputLayer", "Dense", "BatchNormalization", "Activation", "Dropout", "Add"}
_OPTIMIZERS = {
    "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "Nadam", "Lamb",
    "Lion", "LARS",
}  # fmt: skip


# -- JSON with a few tagged types ----------------------------------------------------


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value))
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufU":
            if value.dtype == object and all(isinstance(v, str) for v in value.ravel()):
                return {"strings": value.tolist()}
            raise TypeError(f"cannot save an array of dtype {value.dtype}")
        data = value.tolist() if value.dtype.kind != "f" else _floats(value)
        return {"array": data, "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, keras.initializers.Initializer):
        return {"initializer": keras.initializers.serialize(value)}
    raise TypeError(f"cannot save a value of type {type(value).__name__}")


def _float(x: float) -> Any:
    return x if math.isfinite(x) else {"float": repr(x)}


def _floats(array: np.ndarray) -> list:
    return [_float(float(x)) for x in array.ravel()]


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    (tag,) = [k for k in value if k not in ("dtype", "shape")] or [None]
    if tag == "tuple":
        return tuple(_decode(v) for v in value["tuple"])
    if tag == "dict":
        return {_decode(k): _decode(v) for k, v in value["dict"]}
    if tag == "float":
        return float(value["float"])
    if tag == "strings":
        return np.array(value["strings"], dtype=object)
    if tag == "array":
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in "biufU":
            raise ModelFileError(f"the file holds an array of unsupported dtype {dtype}")
        data = value["array"]
        if dtype.kind == "f":
            data = [_decode(x) for x in data]
        return np.array(data, dtype=dtype).reshape(value["shape"])
    if tag == "initializer":
        config = value["initializer"]
        if config.get("module") != "keras.initializers":
            raise ModelFileError("the file names an initializer that is not Keras's own")
        try:
            return keras.initializers.deserialize(config)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"the file names an unknown initializer ({exc})") from None
    raise ModelFileError(f"the file holds an unknown value tag {tag!r}")


# -- what is saved -------------------------------------------------------------------

# Fitted attributes saved as they are; the others are rebuilt from the network and
# the training record (``_publish``).
_FITTED = ("n_features_in_", "feature_names_in_", "classes_", "n_iter_")


def _fitted_state(estimator) -> dict[str, Any]:
    state = {name: getattr(estimator, name) for name in _FITTED if hasattr(estimator, name)}
    record = estimator._state
    state["training"] = {name: getattr(record, name) for name in record.__dataclass_fields__}
    state["rng"] = estimator._rng.bit_generator.state
    state["input_range"] = estimator._input_range
    if hasattr(estimator, "_label_binarizer"):
        state["label_type"] = estimator._label_binarizer.y_type_
    # Keras's archive keeps each dropout layer's seed but not how far it has advanced.
    state["seed_states"] = [v.numpy() for v in _seed_states(estimator.model_)]
    return state


def _seed_states(model: keras.Model) -> list:
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def save(estimator, path: "str | os.PathLike") -> None:
    """Save an estimator to ``path`` in skneural's pickle-free format.

    Parameters
    ----------
    estimator : MLPClassifierX or MLPRegressorX
        Fitted or not.
    path : str or path-like
        The file to write (conventionally ``*.skneural``).

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
        "params": _encode(params),
        "fitted": _encode(_fitted_state(estimator)) if fitted else None,
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_MANIFEST, json.dumps(manifest))
        if fitted:
            with tempfile.TemporaryDirectory() as tmp:
                network = os.path.join(tmp, _NETWORK)
                estimator.model_.save(network)
                archive.write(network, _NETWORK)


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
        The file is not a skneural model file, is truncated or corrupt, was written
        by another format version, or names a layer, optimizer or initializer
        skneural does not build.

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
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = _read_manifest(archive)
            network = archive.read(_NETWORK) if manifest["fitted"] is not None else None
    except (zipfile.BadZipFile, EOFError, KeyError, zipfile.LargeZipFile) as exc:
        raise ModelFileError(
            f"{os.fspath(path)!r} is not a readable skneural model file ({exc})."
        ) from None
    try:
        estimator = _ESTIMATORS[manifest["estimator"]](**_decode(manifest["params"]))
        if network is not None:
            _restore(estimator, _decode(manifest["fitted"]), _load_network(network))
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"the file's contents are malformed ({exc!r})") from None
    return estimator


def _read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(_MANIFEST))
    except (KeyError, ValueError, UnicodeDecodeError):
        raise ModelFileError("the file has no readable skneural.json: not a model file") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError("the file is not a skneural model file")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        written = manifest.get("versions", {}).get("skneural", "an unknown version")
        raise ModelFileError(
            f"the file has format version {version}, written by skneural {written}; "
            f"this skneural reads format version {FORMAT_VERSION}. Load it with the "
            "skneural version that wrote it and re-fit, or re-save it from there."
        )
    if manifest.get("estimator") not in _ESTIMATORS:
        raise ModelFileError(f"the file names an unknown estimator {manifest.get('estimator')!r}")
    from . import __version__

    written = manifest["versions"].get("skneural")
    if written != __version__:
        warnings.warn(
            f"The model file was written by skneural {written}; this is {__version__}. "
            "The format is the same, but results may differ.",
            UserWarning,
        )
    return manifest


def _load_network(data: bytes) -> keras.Model:
    """The Keras model in ``data``, after checking its configuration names only
    layers and optimizers skneural builds."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            config = json.loads(inner.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelFileError(f"the network inside the file is unreadable ({exc})") from None
    layers = {layer.get("class_name") for layer in config.get("config", {}).get("layers", [])}
    unknown = layers - _LAYERS
    if unknown:
        raise ModelFileError(f"the network has layers skneural does not build: {sorted(unknown)}")
    optimizer = (config.get("compile_config") or {}).get("optimizer") or {}
    if optimizer and optimizer.get("class_name") not in _OPTIMIZERS:
        raise ModelFileError(
            f"the network has an unknown optimizer {optimizer.get('class_name')!r}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        network = os.path.join(tmp, _NETWORK)
        with open(network, "wb") as file:
            file.write(data)
        try:
            return keras.saving.load_model(network, safe_mode=True)
        except Exception as exc:  # Keras raises many types for a damaged archive
            raise ModelFileError(f"Keras could not load the network ({exc})") from None


def _restore(estimator, fitted: dict, model: keras.Model) -> None:
    for name in _FITTED:
        if name in fitted:
            setattr(estimator, name, fitted[name])
    if "label_type" in fitted:
        binarizer = LabelBinarizer()
        if fitted["label_type"] == "multilabel-indicator":
            binarizer.fit(np.eye(len(estimator.classes_), dtype=int))
        else:
            binarizer.fit(estimator.classes_)
        estimator._label_binarizer = binarizer
    for variable, value in zip(_seed_states(model), fitted["seed_states"], strict=True):
        variable.assign(value)
    estimator.model_ = model
    estimator._state = TrainingState(**fitted["training"])
    estimator._rng = np.random.default_rng()
    estimator._rng.bit_generator.state = fitted["rng"]
    estimator._input_range = fitted["input_range"]
    n_outputs = int(model.outputs[0].shape[1])
    estimator._spec = estimator._network_spec(
        estimator.n_features_in_, n_outputs, model.inputs[0].dtype
    )
    estimator._optimizer_params = estimator._current_optimizer_params()
    estimator._publish()
