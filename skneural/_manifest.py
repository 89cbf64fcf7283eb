"""``skneural.json``, the manifest of a model file: what it holds, and its checks.

The manifest names the format and its version, the versions that wrote it, the
estimator's class, its constructor parameters and the fitted state that is not in
the network (:meth:`skneural._fitted.FittedNetwork.to_state`), all as tagged JSON
(:mod:`skneural._tagged_json`). :mod:`skneural._persistence` writes and reads the
archive around it; this module makes the manifest, checks its entries when a file is
read (the format version, the estimator's name, which fitted entries it has; their
kinds in :mod:`skneural._manifest_checks`), and derives the network it promises: its
outline (:class:`skneural._model_network.NetworkExpectation`) and the configuration
skneural builds for its parameters, which the file's network must equal.
"""

import json
import warnings
import zipfile
from typing import Any

import keras
import numpy as np
from sklearn.base import is_classifier

from . import _model_file as files
from ._classifier import MLPClassifierX
from ._config import resolve_hidden_layer_sizes
from ._fitted import network_of
from ._manifest_checks import check_fitted_arrays, check_training, is_count
from ._model_network import NetworkExpectation
from ._network import build_network
from ._network_arrays import compile_model
from ._plan import Plan, make_plan
from ._registry import ACTIVATIONS, LOSSES, OUTPUT_ACTIVATIONS
from ._regressor import MLPRegressorX
from ._table import TableSpec
from ._tagged_json import encode
from ._targets import ClassificationTargets, RegressionTargets, targets_from_config
from .exceptions import ModelFileError

FORMAT = "skneural-model"
FORMAT_VERSION = 2
ESTIMATORS = {cls.__name__: cls for cls in (MLPClassifierX, MLPRegressorX)}
MANIFEST_KEYS = {"format", "format_version", "versions", "estimator", "params", "fitted"}

# The estimator's own fitted attributes that the fitted network does not hold.
FITTED = ("n_features_in_", "feature_names_in_", "n_iter_")
# What FittedNetwork.to_state writes, and the estimator's own entries.
_NETWORK_STATE = ("targets", "training", "rng", "input_range", "seed_states")
# A table's preprocessing plan, only in files of networks that have one.
_FITTED_KEYS = {*FITTED, *_NETWORK_STATE, "table"}
_REQUIRED_FITTED_KEYS = {"n_features_in_", *_NETWORK_STATE}


def fitted_state(estimator) -> dict[str, Any]:
    """The fitted state the manifest keeps besides the network (plain values)."""
    state = {name: getattr(estimator, name) for name in FITTED if hasattr(estimator, name)}
    return {**state, **network_of(estimator).to_state()}


def write_manifest(estimator, params: dict[str, Any]) -> bytes:
    """The manifest of ``estimator`` (whose constructor parameters are ``params``)."""
    from . import __version__

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": {
            "skneural": __version__,
            "keras": keras.__version__,
            "tensorflow": _tensorflow_version(),
        },
        "estimator": type(estimator).__name__,
        "params": encode(params),
        "fitted": encode(fitted_state(estimator)) if hasattr(estimator, "model_") else None,
    }
    return json.dumps(manifest).encode()


def _tensorflow_version() -> str:
    import tensorflow as tf

    return tf.__version__


def read_manifest(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
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
    if set(manifest) != MANIFEST_KEYS:
        raise ModelFileError(
            f"skneural.json must have the entries {sorted(MANIFEST_KEYS)}, got {sorted(manifest)}"
        )
    if not (isinstance(versions, dict) and all(isinstance(v, str) for v in versions.values())):
        raise ModelFileError(
            f"skneural.json's 'versions' must map names to strings, got {versions!r}"
        )
    if not isinstance(manifest["estimator"], str) or manifest["estimator"] not in ESTIMATORS:
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


def network_expectation(estimator, fitted: Any) -> NetworkExpectation:
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
    if not is_count(n_iter):
        raise ModelFileError(
            f"the manifest's n_iter_ must be a non-negative integer, got {n_iter!r:.40}"
        )
    try:
        hidden = resolve_hidden_layer_sizes(estimator.hidden_layer_sizes)
        targets = fitted_targets(estimator, fitted)
        out_activation = OUTPUT_ACTIVATIONS[LOSSES[targets.loss].out_activation]
        return NetworkExpectation(
            fitted.get("n_features_in_"),
            hidden,
            targets.n_outputs,
            ACTIVATIONS[estimator.activation].keras_name,
            out_activation.keras_name,
            fitted_table(fitted),
            estimator.n_ensemble,
            estimator.ensemble_sharing,
        )
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ModelFileError(f"the file's fitted state is malformed ({exc!r})") from None


def fitted_targets(estimator, fitted: dict):
    """The fitted targets, which must be of the estimator's kind of task."""
    targets = targets_from_config(fitted["targets"])
    expected = ClassificationTargets if is_classifier(estimator) else RegressionTargets
    if not isinstance(targets, expected):
        raise ModelFileError(
            f"a {type(estimator).__name__} cannot have {fitted['targets']['kind']} targets"
        )
    if targets.loss_options != estimator._loss_options():
        raise ModelFileError(
            f"the fitted targets' loss options {targets.loss_options!r:.80} are not those "
            f"of the estimator's parameters, {estimator._loss_options()!r}"
        )
    if isinstance(targets, RegressionTargets) and targets.scaling != estimator.target_scaling:
        raise ModelFileError(
            f"the fitted targets were scaled with {targets.scaling!r:.40}, but the "
            f"estimator's target_scaling is {estimator.target_scaling!r:.40}"
        )
    return targets


def fitted_table(fitted: dict) -> TableSpec | None:
    """The table's preprocessing plan the fitted state describes, checked (None when
    the network has no preprocessing layer)."""
    if fitted.get("table") is None:
        return None
    n_features = fitted.get("n_features_in_")
    if not is_count(n_features):
        raise ModelFileError(
            f"the manifest's n_features_in_ must be a count, got {n_features!r:.40}"
        )
    return TableSpec.from_config(fitted["table"], n_features)


def reference_config(estimator, fitted: dict, dtype) -> dict:
    """The configuration of the network skneural builds and compiles for the
    estimator's parameters and fitted targets, as Keras writes it."""
    targets = fitted_targets(estimator, fitted)
    params = estimator.get_params(deep=False)
    plan = make_plan(
        params, targets, fitted["n_features_in_"], str(np.dtype(dtype)), fitted_table(fitted)
    )
    model = reference_network(plan)
    return json.loads(json.dumps(keras.saving.serialize_keras_object(model)))


def built_config(estimator, fitted: dict, dtype) -> dict:
    """:func:`reference_config` for a file being read: a failure is the file's."""
    try:
        return reference_config(estimator, fitted, dtype)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ModelFileError(f"the file's fitted state is malformed ({exc!r})") from None


def check_fitted(estimator, fitted: dict) -> None:
    """The fitted arrays have the shapes the network's width and the classes imply,
    and the training record holds the entries of a TrainingState, each of its kind."""
    check_fitted_arrays(fitted, fitted_targets(estimator, fitted))
    check_training(fitted["training"])


def reference_network(plan: Plan) -> keras.Model:
    """The network ``plan`` builds, compiled, with fixed seeds: what a model file's
    network must equal but for its seeds and weights."""
    model = build_network(plan.network, np.random.default_rng(0))
    compile_model(model, plan)
    return model
