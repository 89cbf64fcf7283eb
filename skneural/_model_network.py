"""The network inside a model file: what the manifest says it must be, and loading it
only when it is that.

The manifest (``n_features_in_``, ``hidden_layer_sizes``, the number of outputs, the
activation and the loss) fixes the network's layer widths, hence how many bytes its
configuration and weights can take: generous bounds, checked against the declared
sizes before anything is read. The configuration must then pass the allow-list
(:class:`~skneural._model_file.ConfigSchema`) and agree with the manifest before Keras
builds anything from it, and the weights Keras loads must be finite.
"""

import os
import warnings
import zipfile
from numbers import Integral
from typing import Any

import keras
import numpy as np

from . import _model_file as files
from ._model_file import ConfigSchema
from .exceptions import ModelFileError

_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_SHAPE_KEYS = ("batch_shape", "shape", "input_shape")
# Weights, plus up to three optimizer slots each (Adam's two moments and more), in float64.
_BYTES_PER_PARAMETER = 4 * 8


def _count(value: Any, name: str) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or not 0 < value < 2**31:
        raise ModelFileError(f"the manifest's {name} must be a positive integer, got {value!r}")
    return int(value)


class NetworkExpectation:
    """The network a manifest describes.

    Parameters
    ----------
    n_features, hidden, n_outputs : int, tuple of int, int or None
        Layer widths; ``n_outputs`` None when the manifest does not say (files written
        before it was saved), then bounded by the widest other layer.
    activation, out_activation : str
        Keras names of the hidden and output activations.
    """

    def __init__(self, n_features, hidden, n_outputs, activation: str, out_activation: str):
        self.n_features = _count(n_features, "n_features_in_")
        self.hidden = tuple(_count(width, "hidden_layer_sizes") for width in hidden)
        self.n_outputs = None if n_outputs is None else _count(n_outputs, "n_outputs_")
        self.activation, self.out_activation = _as_written(activation), _as_written(out_activation)
        self.widest = max(self.n_features, *self.hidden, self.n_outputs or 1)
        widths = [self.n_features, *self.hidden, self.n_outputs or self.widest]
        self.dense_parameters = sum((a + 1) * b for a, b in zip(widths, widths[1:], strict=False))
        parameters = self.dense_parameters + 4 * sum(self.hidden)  # batch normalization
        n_variables = 8 * len(widths)
        self.weights_bytes = _BYTES_PER_PARAMETER * parameters + 2**14 * n_variables + 2**20
        self.config_bytes = 2**16 + 2**15 * len(widths)
        self.archive_bytes = (
            self.weights_bytes + self.config_bytes + files.MAX_METADATA_BYTES + 2**16
        )

    def check(self, config: dict) -> np.dtype:
        """Raise :class:`ModelFileError` where ``config`` disagrees with the manifest;
        return the network's dtype."""
        try:
            layers = {layer["name"]: layer["config"] for layer in config["config"]["layers"]}
            found = {
                "input width": layers["input"]["batch_shape"],
                "hidden layer sizes": [
                    layers[f"hidden_{i}"]["units"] for i in range(len(self.hidden))
                ],
                "hidden activation": {
                    layers[f"activation_{i}"]["activation"] for i in range(len(self.hidden))
                },
                "outputs": layers["output"]["units"],
                "output activation": layers["output_activation"]["activation"],
                "optimizer": type(config["compile_config"]["optimizer"]).__name__,
            }
        except (KeyError, TypeError) as exc:
            raise ModelFileError(f"the network lacks a layer skneural builds ({exc!r})") from None
        expected = {
            "input width": [None, self.n_features],
            "hidden layer sizes": list(self.hidden),
            "hidden activation": {self.activation} if self.hidden else set(),
            "outputs": self.n_outputs or found["outputs"],
            "output activation": self.out_activation,
            "optimizer": "dict",
        }
        for what, value in expected.items():
            if found[what] != value:
                raise ModelFileError(
                    f"the network's {what} is {found[what]!r}, but the manifest's parameters "
                    f"and fitted state say {value!r}"
                )
        if f"hidden_{len(self.hidden)}" in layers:
            raise ModelFileError("the network has more hidden layers than the manifest says")
        largest = max(_shape_numbers(config), default=0)
        if largest > self.widest:
            raise ModelFileError(
                f"the network declares a shape of width {largest}, wider than any layer the "
                f"manifest describes ({self.widest})"
            )
        return np.dtype(layers["input"]["dtype"])


def _as_written(activation: str) -> str:
    """The name Keras writes for an activation (``'swish'`` is written ``'silu'``)."""
    return keras.activations.serialize(keras.activations.get(activation))


def _shape_numbers(node: Any, in_shape: bool = False):
    """Every number in the configuration's shapes (which Keras may build layers from)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _shape_numbers(value, in_shape or key in _SHAPE_KEYS)
    elif isinstance(node, list):
        for value in node:
            yield from _shape_numbers(value, in_shape)
    elif in_shape and isinstance(node, (int, float)) and not isinstance(node, bool):
        yield node


def load_network(path: str, expected: NetworkExpectation, schema: ConfigSchema) -> keras.Model:
    """The Keras model in the ``.keras`` archive at ``path`` (a private copy), loaded only
    after its members' sizes, its configuration and its agreement with ``expected``
    are checked."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ModelFileError(f"the network inside the file is unreadable ({exc})") from None
    with archive:
        names = (_CONFIG, _METADATA, _WEIGHTS)
        members = files.check_members(archive, os.path.getsize(path), names, names)
        what = "the network's configuration"
        data = files.read_member(archive, members[_CONFIG], expected.config_bytes, what)
        config = files.parse_json(data, what)
        what = "the network's metadata"
        files.read_member(archive, members[_METADATA], files.MAX_METADATA_BYTES, what)
        schema.check(config, "the network's configuration")
        dtype = expected.check(config)
        weights = members[_WEIGHTS].file_size
        least = dtype.itemsize * expected.dense_parameters
        if not least <= weights <= expected.weights_bytes:
            raise ModelFileError(
                f"the network's weights take {weights} bytes; the network the manifest "
                f"describes takes between {least} and {expected.weights_bytes}"
            )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = keras.saving.load_model(path, safe_mode=True)
        except Exception as exc:  # Keras raises many types for a damaged archive
            raise ModelFileError(f"Keras could not load the network ({exc})") from None
    for warning in caught:
        # Keras only warns when it skips weights it cannot match, leaving them random.
        if "Skipping" in str(warning.message):
            raise ModelFileError(f"Keras loaded the network only partly: {warning.message}")
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    for variable in [*model.weights, *getattr(model.optimizer, "variables", [])]:
        value = np.asarray(variable)
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ModelFileError(f"the network's variable {variable.path!r} is not finite")
    return model
