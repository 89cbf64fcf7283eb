"""The allow-list of a model file's Keras configuration, learned from what skneural builds.

Nothing here is a hand-kept list: the networks are built by
:func:`~skneural._network.build_network` over every activation, output activation and
initializer in the registries (both dtypes, with and without batch normalization,
dropout, skip connections, an ensemble of members and a table's preprocessing layer
with each scaling and numeric embedding), compiled with every optimizer in
:data:`~skneural._registry.OPTIMIZERS`, and serialized as Keras writes them into
``config.json``. Adding a registry entry extends the allow-list by itself.

A :class:`ConfigSchema` checks a configuration at every depth: each object's
``module``, ``class_name`` and ``registered_name`` (Keras resolves a
``registered_name`` before anything else), each entry's key, the kind of its value,
and the value itself for strings other than layer and optimizer names.
:func:`normalized` and :func:`first_difference` compare a configuration with the one
skneural builds for the same parameters.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import keras
import numpy as np

from ._config import NetworkSpec
from ._ensemble import SHARINGS
from ._network import build_network, compile_network
from ._plan import OptimizerPlan
from ._registry import ACTIVATIONS, INITIALIZERS, OUTPUT_ACTIVATIONS
from ._table import NUMERIC_EMBEDDINGS, ONE_HOT_MAX, SCALINGS, TableSpec, embedding_dim
from .exceptions import ModelFileError

_ABSENT = "<absent>"
_OBJECT_KEYS = ("module", "class_name", "registered_name")


def _is_object(node: Any) -> bool:
    return isinstance(node, dict) and any(key in node for key in _OBJECT_KEYS)


def _identity(node: dict) -> tuple:
    """What Keras resolves an object by: its module, class name and registered name."""
    return tuple(node.get(key, _ABSENT) for key in _OBJECT_KEYS)


def _value_kind(value: Any) -> str:
    if value is None or isinstance(value, (bool, str, list)):
        return type(value).__name__
    if isinstance(value, (int, float)):
        return "number"
    return "object" if _is_object(value) else "dict"


def _entries(node: Any, owner: "tuple | None" = None, path: tuple = ()):
    """Every entry below ``node`` as (its place, its value), depth first. A place is the
    object the entry belongs to and its path below that object (list items as ``*``)."""
    if _is_object(node):
        owner, path = _identity(node), ()
    items = node.items() if isinstance(node, dict) else []
    if isinstance(node, list):
        items = [("*", item) for item in node]
    for key, value in items:
        yield (owner, (*path, key)), value
        yield from _entries(value, owner, (*path, key))


def _describe(identity: tuple) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in zip(_OBJECT_KEYS, identity, strict=True))


class ConfigSchema:
    """Which Keras objects, entries, kinds of value and strings a configuration may
    hold, learned from configurations known to be good (skneural's own).

    Every object (a JSON object with a ``module``, ``class_name`` or
    ``registered_name``) is identified by those three values; each entry is placed by
    the object it belongs to and its path below it (list items as ``*``). A string is
    free where a good configuration holds a layer's or optimizer's name there, and otherwise must be
    one a good configuration holds at the same place.
    """

    def __init__(self, configs: Iterable[dict], names: Iterable[str] = ()):
        self.roots: set[tuple] = set()
        self._kinds: dict[tuple, set[str]] = defaultdict(set)
        self._strings: dict[tuple, set[str]] = defaultdict(set)
        names = set(names)
        for config in configs:
            self.roots.add(_identity(config))
            for place, value in _entries(config):
                self._kinds[place].add(_value_kind(value))
                if isinstance(value, str):
                    self._strings[place].add(value)
        self.objects = {identity for identity, _ in self._kinds} | self.roots
        self._free = {place for place, strings in self._strings.items() if strings & names}

    def check(self, config: Any, what: str, roots: "set[tuple] | None" = None) -> None:
        """Raise :class:`ModelFileError` unless ``config`` holds only what the good
        configurations hold; its top object must be one of ``roots`` (default: the
        good configurations' own)."""
        roots = self.roots if roots is None else roots
        if not _is_object(config) or _identity(config) not in roots:
            found = _describe(_identity(config)) if _is_object(config) else repr(config)[:80]
            raise ModelFileError(f"{what} is a {found}, which skneural never writes there")
        # Objects first, at any depth: they are what Keras would import and run.
        stack = [config]
        while stack:
            node = stack.pop()
            if _is_object(node) and _identity(node) not in self.objects:
                raise ModelFileError(
                    f"{what} names an object skneural does not build ({_describe(_identity(node))})"
                )
            if isinstance(node, (dict, list)):
                stack.extend(node.values() if isinstance(node, dict) else node)
        for place, value in _entries(config):
            owner, path = place
            where = f"{what}: {'.'.join(map(str, path))} of {_describe(owner)}"
            if place not in self._kinds:
                raise ModelFileError(f"{where} is an entry skneural never writes")
            kind = _value_kind(value)
            if kind not in self._kinds[place]:
                raise ModelFileError(
                    f"{where} is a {kind}; expected {' or '.join(sorted(self._kinds[place]))}"
                )
            if kind == "str" and place not in self._free and value not in self._strings[place]:
                raise ModelFileError(
                    f"{where} is {value!r}; expected one of {sorted(self._strings[place])}"
                )


def _as_written(obj: Any) -> dict:
    """``obj`` serialized as Keras writes it to a file (tuples become lists)."""
    return json.loads(json.dumps(keras.saving.serialize_keras_object(obj)))


def _specs() -> list[NetworkSpec]:
    activations, outputs = list(ACTIVATIONS), list(OUTPUT_ACTIVATIONS)
    initializers = list(INITIALIZERS)
    specs = []
    for i in range(max(len(activations), len(outputs), len(initializers))):
        full = i > 0  # the first network has none of the optional layers
        specs.append(
            NetworkSpec(
                n_features=3,
                hidden_layer_sizes=(4, 4) if full else (2,),
                activation=activations[i % len(activations)],
                kernel_initializer=initializers[i % len(initializers)],
                dropout=(0.1, 0.1) if full else (0.0,),
                batch_normalization=full,
                batch_norm_momentum=0.9,
                residual=full,
                n_outputs=1 + i % 3,
                out_activation=outputs[i % len(outputs)],
                dtype=("float32", "float64")[i % 2],
                table=_table(i) if full else None,
            )
        )
    # An ensemble (no batch normalization: the two do not combine) for each output,
    # its members sharing their hidden layers each way.
    for i, out_activation in enumerate(outputs):
        specs.append(
            NetworkSpec(
                n_features=3,
                hidden_layer_sizes=(4, 4),
                activation=activations[i % len(activations)],
                kernel_initializer=initializers[i % len(initializers)],
                dropout=(0.1, 0.0),
                batch_normalization=False,
                batch_norm_momentum=0.9,
                residual=True,
                n_outputs=1 + i % 3,
                out_activation=out_activation,
                dtype=("float32", "float64")[i % 2],
                table=_table(i + 1) if i % 2 else None,
                n_ensemble=2,
                ensemble_sharing=SHARINGS[i % len(SHARINGS)],
            )
        )
    return specs


#: The categories of the schema's tables: a model file's own are free text there.
_CATEGORIES = tuple(f"category {i}" for i in range(ONE_HOT_MAX + 1))


def _table(i: int) -> TableSpec:
    """A preprocessing layer for the ``i``-th network: every scaling and numeric
    embedding in turn, a missing indicator, and a categorical column one-hot or
    embedded."""
    scaling = (None, *SCALINGS)[i % (len(SCALINGS) + 1)]
    embedded = i % 2 == 1
    categories = _CATEGORIES if embedded else _CATEGORIES[:2]
    return TableSpec(
        numeric=(0, 1),
        indicators=(1,),
        scaling=scaling,
        n_quantiles=5 if scaling == "quantile" else 0,
        categorical=(2,),
        categories=(categories,),
        embedding_dims=(embedding_dim(len(categories) + 2) if embedded else 0,),
        numeric_embedding=(None, *NUMERIC_EMBEDDINGS)[i % (len(NUMERIC_EMBEDDINGS) + 1)],
    )


def learn_schemas(param_sets: Iterable[Any]) -> tuple[ConfigSchema, ConfigSchema]:
    """The allow-lists of a network's configuration and of an initializer's.

    ``param_sets`` are the estimators to build optimizers from (one per solver and
    setting). Building
    takes a second or two; callers keep the result.
    """
    rng = np.random.default_rng(0)
    configs, names = [], set()
    models = [build_network(spec, rng) for spec in _specs()]
    for model in models:
        names.update(layer.name for layer in model.layers)
    names.update(_CATEGORIES)
    for i, params in enumerate(param_sets):
        model = models[i % len(models)]
        settings = params.get_params(deep=False)
        optimizer = OptimizerPlan.from_params(settings).build(settings["learning_rate_init"])
        compile_network(model, optimizer)
        names.add(model.optimizer.name)  # Keras numbers repeated names: adam, adam_1, ...
        configs.append(_as_written(model))
    # An initializer the user passes as a parameter may be unseeded.
    initializers = [_as_written(make(seed)) for make in INITIALIZERS.values() for seed in (0, None)]
    return ConfigSchema(configs, names), ConfigSchema(initializers)


# Entries that differ between two builds of the same network: initializers' and dropout's
# seeds, the optimizer's numbered name, and its learning rate (which a schedule moves).
_FREE_ENTRIES = {"seed"}
_FREE_OPTIMIZER_ENTRIES = {"name", "learning_rate"}


def normalized(config: Any, optimizer: bool = False) -> Any:
    """``config`` without the entries two builds of one network may differ in."""
    if isinstance(config, list):
        return [normalized(value) for value in config]
    if not isinstance(config, dict):
        return config
    free = _FREE_ENTRIES | (_FREE_OPTIMIZER_ENTRIES if optimizer else set())
    return {
        key: normalized(value, optimizer=key == "optimizer" or (optimizer and key == "config"))
        for key, value in config.items()
        if key not in free
    }


def first_difference(found: Any, expected: Any, path: str = "") -> "str | None":
    """Where ``found`` first differs from ``expected`` (None if nowhere), and how."""
    if isinstance(found, dict) and isinstance(expected, dict):
        for key in [*expected, *(k for k in found if k not in expected)]:
            if key not in found or key not in expected:
                which = "lacks" if key not in found else "has an extra"
                return f"{path or 'the network'} {which} entry {key!r}"
            where = first_difference(found[key], expected[key], f"{path}.{key}".lstrip("."))
            if where:
                return where
        return None
    if isinstance(found, list) and isinstance(expected, list) and len(found) == len(expected):
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            where = first_difference(a, b, f"{path}[{i}]")
            if where:
                return where
        return None
    if isinstance(found, list) and isinstance(expected, list):
        return f"{path} has {len(found)} entries, where skneural builds {len(expected)}"
    if found != expected or type(found) is not type(expected):
        return f"{path} is {found!r:.80}, where skneural builds {expected!r:.80}"
    return None
