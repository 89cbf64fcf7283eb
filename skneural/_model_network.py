"""The network inside a model file: what the manifest says it must be, and loading it
only when it is that.

The manifest (``n_features_in_``, ``hidden_layer_sizes``, the number of outputs, the
activation and the loss) fixes the network's layer widths, hence how many bytes its
configuration and weights can take: generous bounds, checked against the declared
sizes before anything is read. The configuration must then pass the allow-list
(:class:`~skneural._model_schema.ConfigSchema`) and agree with the manifest before Keras
builds anything from it, and the weights Keras loads must be finite.
"""

import contextlib
import io
import os
import warnings
import zipfile
from collections.abc import Callable
from numbers import Integral
from typing import Any

import h5py
import keras
import numpy as np

from . import _model_file as files
from ._model_schema import ConfigSchema, first_difference, normalized
from ._numeric_embedding import N_FREQUENCIES, n_parameters
from ._table import TableSpec
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
    table : TableSpec or None
        The table's preprocessing layer, if any.
    members : int, default=1
        ``n_ensemble``: every Dense layer holds this many members' weights.
    sharing : str, default='none'
        ``ensemble_sharing``: other than 'none', the members share their hidden
        kernels (only the output layer holds ``members`` kernels).
    """

    def __init__(
        self,
        n_features,
        hidden,
        n_outputs,
        activation: str,
        out_activation: str,
        table: "TableSpec | None" = None,
        members=1,
        sharing: str = "none",
    ):
        self.n_features = _count(n_features, "n_features_in_")
        self.members = _count(members, "n_ensemble")
        self.hidden = tuple(_count(width, "hidden_layer_sizes") for width in hidden)
        self.n_outputs = None if n_outputs is None else _count(n_outputs, "n_outputs_")
        self.activation, self.out_activation = _as_written(activation), _as_written(out_activation)
        # A table's preprocessing layer widens the first Dense layer's input and adds
        # its statistics, embedding tables and categories (in the configuration).
        features = self.n_features if table is None else table.width
        table_parameters, vocabulary = 0, 0
        if table is not None:
            numeric = len(table.numeric)
            table_parameters = (
                numeric * (3 + table.n_quantiles)
                + n_parameters(table.numeric_embedding, numeric)
                + sum(table.slots(k) * dim for k, dim in enumerate(table.embedding_dims))
            )
            # JSON may escape each character as \uXXXX (6 bytes), plus quotes and comma.
            vocabulary = sum(6 * len(c) + 4 for cs in table.categories for c in cs)
        slots = [table.slots(k) for k in range(len(table.categorical))] if table else []
        if table is not None and table.numeric_embedding is not None:
            slots.append(2 * N_FREQUENCIES)  # the periodic kernels' shape
        self.widest = max(self.n_features, features, *slots, *self.hidden, self.n_outputs or 1)
        widths = [features, *self.hidden, self.n_outputs or self.widest]
        *hidden_layers, output = [(a + 1) * b for a, b in zip(widths, widths[1:], strict=False)]
        # At least each member's output layer and hidden layers, or the hidden layers
        # once where the members share them (their own scales and biases not counted).
        shared = self.members > 1 and sharing != "none"
        copies = 1 if shared else self.members
        self.dense_parameters = self.members * output + copies * sum(hidden_layers)
        # At most: each member's input scales, output scales and bias in a shared layer.
        pairs = zip(widths, self.hidden, strict=False)
        scales = self.members * sum(a + 2 * b for a, b in pairs) if shared else 0
        parameters = self.dense_parameters + scales + 4 * sum(self.hidden) + table_parameters
        n_variables = 8 * len(widths) + (4 + len(slots) if table else 0)
        self.weights_bytes = _BYTES_PER_PARAMETER * parameters + 2**14 * n_variables + 2**20
        self.config_bytes = 2**16 + 2**15 * len(widths) + 2 * vocabulary + 2**15
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
                "members": layers["output"].get("members", 1),
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
            "members": self.members,
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


def check_weights_file(data: bytes, limit: int) -> None:
    """Refuse a weights file whose datasets are not plain numbers, or declare more than
    ``limit`` bytes in all (HDF5 fills a declared shape without data: a small file can
    make Keras allocate gigabytes), or are stored compressed or outside the file."""
    try:
        with h5py.File(io.BytesIO(data), "r") as weights:
            datasets = []
            weights.visititems(lambda name, item: datasets.append((name, item)))
            declared = 0
            for name, item in datasets:
                if not isinstance(item, h5py.Dataset):
                    continue
                if item.dtype.kind not in "iuf" or item.dtype.itemsize > 8:
                    raise ModelFileError(
                        f"the network's weight {name!r} has dtype {item.dtype}; expected numbers"
                    )
                if item.external or item.is_virtual or item.compression or item.chunks:
                    raise ModelFileError(
                        f"the network's weight {name!r} is stored chunked, compressed or in "
                        "another file; skneural writes weights contiguous in the file"
                    )
                declared += item.dtype.itemsize * int(np.prod(item.shape, dtype=object))
                if declared > limit:
                    raise ModelFileError(
                        f"the network's weights declare more than {limit} bytes (at "
                        f"{name!r}, shape {item.shape}): more than the manifest's network holds"
                    )
    except ModelFileError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError, ...
        raise ModelFileError(f"the network's weights are unreadable ({exc})") from None


@contextlib.contextmanager
def _dtype_policy(dtype: np.dtype):
    """Keras's global dtype policy set to ``dtype`` for the block, then put back.

    Keras compiles a loaded model under the global policy, and a mixed one (a GPU
    user's ``mixed_float16``) wraps its optimizer in a loss-scaling optimizer whose
    variables the file does not hold: the load would fail. skneural's layers carry
    their dtype, and Keras keeps the global policy per thread, so nothing else sees
    the change."""
    before = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_global_policy(dtype.name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def load_network(
    path: str,
    expected: NetworkExpectation,
    schema: ConfigSchema,
    reference: "Callable[[np.dtype], dict] | None" = None,
) -> keras.Model:
    """The Keras model in the ``.keras`` archive at ``path`` (a private copy), loaded only
    after its members' sizes, its configuration and its agreement with ``expected``
    are checked. ``reference(dtype)``, if given, is the configuration skneural builds
    for the manifest: the network's must equal it but for seeds and the optimizer's name
    and learning rate."""
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
        metadata = files.parse_json(
            files.read_member(archive, members[_METADATA], files.MAX_METADATA_BYTES, what), what
        )
        if not (isinstance(metadata, dict) and isinstance(metadata.get("keras_version"), str)):
            raise ModelFileError(f"{what} must be an object naming the keras_version")
        schema.check(config, "the network's configuration")
        dtype = expected.check(config)
        # Before the reference is built: the weights a file holds bound the network
        # (an ensemble's members) the reference would allocate.
        weights = members[_WEIGHTS].file_size
        least = dtype.itemsize * expected.dense_parameters
        if not least <= weights <= expected.weights_bytes:
            raise ModelFileError(
                f"the network's weights take {weights} bytes; the network the manifest "
                f"describes takes between {least} and {expected.weights_bytes}"
            )
        if reference is not None:
            where = first_difference(normalized(config), normalized(reference(dtype)))
            if where:
                raise ModelFileError(
                    f"the network is not the one skneural builds for the manifest's "
                    f"parameters: {where}"
                )
        what = "the network's weights"
        check_weights_file(
            files.read_member(archive, members[_WEIGHTS], expected.weights_bytes, what),
            expected.weights_bytes,
        )
    with warnings.catch_warnings(record=True) as caught, _dtype_policy(dtype):
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
