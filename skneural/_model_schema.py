"""The allow-list of a model file's Keras configuration, learned from what skneural builds.

Nothing here is a hand-kept list: the networks are built by
:func:`~skneural._network.build_network` over every activation, output activation and
initializer in the registries (both dtypes, with and without batch normalization,
dropout and skip connections), compiled with every optimizer in
:data:`~skneural._registry.OPTIMIZERS`, and serialized as Keras writes them into
``config.json``. Adding a registry entry extends the allow-list by itself.
"""

import json
from collections.abc import Iterable
from typing import Any

import keras
import numpy as np

from ._config import NetworkSpec
from ._model_file import ConfigSchema
from ._network import build_network
from ._plan import OptimizerPlan
from ._registry import ACTIVATIONS, INITIALIZERS, OUTPUT_ACTIVATIONS


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
            )
        )
    return specs


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
    for i, params in enumerate(param_sets):
        model = models[i % len(models)]
        settings = params.get_params(deep=False)
        optimizer = OptimizerPlan.from_params(settings).build(settings["learning_rate_init"])
        model.compile(optimizer=optimizer)
        names.add(model.optimizer.name)  # Keras numbers repeated names: adam, adam_1, ...
        configs.append(_as_written(model))
    # An initializer the user passes as a parameter may be unseeded.
    initializers = [_as_written(make(seed)) for make in INITIALIZERS.values() for seed in (0, None)]
    return ConfigSchema(configs, names), ConfigSchema(initializers)
