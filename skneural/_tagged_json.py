"""JSON with a few tagged types, for the model file's manifest.

A tagged value is a JSON object with exactly one tag and that tag's own keys:
``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``, ``{"float": "nan"}``,
``{"strings": [...]}``, ``{"array": [...], "dtype": "<f8", "shape": [2, 3]}`` and
``{"initializer": {Keras config}}``. Decoding refuses anything else with
:class:`~skneural.exceptions.ModelFileError`: an unknown tag, a tag with stray keys,
an array whose dtype is not numeric or string, whose shape is not a list of at most
:data:`MAX_NDIM` non-negative integers or disagrees with its data.
"""

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from .exceptions import ModelFileError

#: Most dimensions of an array in the manifest.
MAX_NDIM = 8

#: Largest size of one array element in bytes (a string of 16384 characters).
MAX_ITEMSIZE = 2**16

_TAGS = {
    "tuple": {"tuple"},
    "dict": {"dict"},
    "float": {"float"},
    "strings": {"strings"},
    "array": {"array", "dtype", "shape"},
    "initializer": {"initializer"},
}
_NON_FINITE = {"nan", "inf", "-inf"}


def encode(value: Any) -> Any:
    """``value`` as JSON data with tags (raises TypeError for what cannot be saved)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value))
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
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


def decode(value: Any, check_initializer: Callable[[Any], None]) -> Any:
    """The Python value of tagged JSON data. ``check_initializer`` is called on an
    initializer's Keras config before Keras reads it, and raises to refuse it."""
    if isinstance(value, list):
        return [decode(v, check_initializer) for v in value]
    if not isinstance(value, dict):
        return value
    tag = next((name for name, keys in _TAGS.items() if set(value) == keys), None)
    if tag is None:
        raise ModelFileError(f"the manifest is malformed: unknown value tag {sorted(value)!r}")
    content = value[tag]
    if tag == "float":
        if content not in _NON_FINITE:
            raise ModelFileError(
                f"a tagged float must be one of {sorted(_NON_FINITE)}, got {content!r}"
            )
        return float(content)
    if tag == "initializer":
        check_initializer(content)
        try:
            return keras.initializers.deserialize(content)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"the file names an unknown initializer ({exc})") from None
    if not isinstance(content, list):
        raise ModelFileError(f"a {tag!r} value must be a list, got {type(content).__name__}")
    if tag == "tuple":
        return tuple(decode(v, check_initializer) for v in content)
    if tag == "dict":
        return _decode_dict(content, check_initializer)
    if tag == "strings":
        if not all(isinstance(v, str) for v in content):
            raise ModelFileError("a 'strings' value must be a list of strings")
        return np.array(content, dtype=object)
    return _decode_array(value)


def _decode_dict(pairs: list, check_initializer: Callable[[Any], None]) -> dict:
    if not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
        raise ModelFileError("a 'dict' value must be a list of [key, value] pairs")
    result = {}
    for key, item in pairs:
        key = decode(key, check_initializer)
        try:
            hash(key)
        except TypeError:
            raise ModelFileError(f"a dict key must be hashable, got {key!r}") from None
        result[key] = decode(item, check_initializer)
    return result


def _decode_array(value: dict) -> np.ndarray:
    shape = value["shape"]
    if not (
        isinstance(shape, list)
        and len(shape) <= MAX_NDIM
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise ModelFileError(
            f"an array's shape must be a list of at most {MAX_NDIM} non-negative "
            f"integers, got {shape!r}"
        )
    try:
        dtype = np.dtype(value["dtype"])
    except (TypeError, ValueError, KeyError):
        raise ModelFileError(f"an array has an unreadable dtype {value['dtype']!r}") from None
    if dtype.kind not in "biufU" or dtype.itemsize > MAX_ITEMSIZE:
        raise ModelFileError(f"the file holds an array of unsupported dtype {dtype}")
    data = value["array"]
    if dtype.kind == "f":
        if not isinstance(data, list):
            raise ModelFileError("a float array's data must be a list")
        data = [decode(x, _no_initializer) for x in data]
    try:
        array = np.array(data, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"an array's data does not fit dtype {dtype} ({exc})") from None
    if array.size != math.prod(shape):
        raise ModelFileError(
            f"an array of shape {shape} needs {math.prod(shape)} values, got {array.size}"
        )
    try:
        return array.reshape(shape)
    except ValueError as exc:  # an empty array of an impossible shape, such as [0, 2**62, 2**62]
        raise ModelFileError(f"an array cannot have shape {shape} ({exc})") from None


def _no_initializer(config: Any) -> None:
    raise ModelFileError("an array holds an initializer")
