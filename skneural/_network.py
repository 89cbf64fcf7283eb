"""Build the Keras network from a :class:`~skneural._config.NetworkSpec`.

A table that needs preprocessing (:mod:`skneural._table`) enters through a
:class:`~skneural._table_layer.TableFeatures` layer named ``table``. Each hidden
block is ``Dense -> [BatchNormalization] -> Activation -> [Dropout]``, and
with ``residual`` a block whose input has its own width adds that input to its output
(a skip connection, ``x + block(x)``); the output block is ``Dense -> Activation``.
Layers have fixed names (``hidden_0``, ``batch_norm_0``, ``activation_0``,
``dropout_0``, ``residual_1``, ..., ``output``, ``output_activation``) so the fitted
model reads the same in every estimator.

With ``n_ensemble`` k > 1 the Dense layers are :class:`~skneural._ensemble.EnsembleDense`
layers of k members (activations ``[k, batch, units]``), each member's kernel drawn
with its own seed, and an ``ensemble_mean`` layer before the output activation gives
the logits of the members' averaged prediction (:mod:`skneural._ensemble`). With
``ensemble_sharing`` the hidden layers are
:class:`~skneural._ensemble.SharedEnsembleDense` layers, their kernels drawn once.

Inside a ``tf.distribute`` strategy scope, batch normalisation synchronises its batch
statistics across the replicas: each step normalises by the statistics of the whole
batch, as on one device, and every replica keeps the same moving averages.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from ._config import NetworkSpec, draw_seed
from ._ensemble import (
    EnsembleDense,
    EnsembleMean,
    SharedEnsembleDense,
    member_kernels,
    random_signs,
)
from ._registry import ACTIVATIONS, OUTPUT_ACTIVATIONS, make_initializer
from ._table_layer import TableFeatures


@keras.saving.register_keras_serializable(package="skneural")
class EinsumProductDense(keras.layers.Dense):
    """``keras.layers.Dense`` that computes its product with ``einsum``: the Dense
    layer of float64 networks.

    With oneDNN (TensorFlow's default on x86 Linux), grappler's remapper looks at every
    MatMul followed by a bias add to fuse them, and for a float64 MatMul it logs
    "Not handling type DT_DOUBLE" from C++ (a dozen lines per compiled function) and
    fuses nothing. The same product as an Einsum op is not a fusion candidate, so a
    float64 fit prints nothing and computes the same values; the only ways to silence
    the message otherwise (``TF_CPP_MIN_LOG_LEVEL``, ``TF_ENABLE_ONEDNN_OPTS``, grappler
    options) are process-wide. float32 networks keep ``keras.layers.Dense`` and its
    fused kernel.
    """

    def call(self, inputs, training=None):
        # tf.einsum itself: keras.ops.einsum turns this product back into a MatMul.
        x = tf.einsum("ij,jk->ik", inputs, self.kernel)
        if self.bias is not None:
            x = keras.ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x


def build_network(spec: NetworkSpec, rng: np.random.Generator) -> keras.Model:
    """Return a new, untrained Keras model whose every random draw is seeded from ``rng``."""
    dtype = spec.dtype
    Dense = EinsumProductDense if dtype == "float64" else keras.layers.Dense
    members = spec.n_ensemble
    shared = members > 1 and spec.ensemble_sharing != "none"
    Output = Dense
    if members > 1:
        Dense = Output = functools.partial(EnsembleDense, members=members)
    if shared:
        Dense = functools.partial(_shared_dense, spec.ensemble_sharing, members)
    kernel_seeds = {}
    inputs = keras.Input(shape=(spec.n_features,), dtype=dtype, name="input")
    x = inputs
    if spec.table is not None:
        table = TableFeatures.from_spec(spec.table, draw_seed(rng), dtype=dtype, name="table")
        x = table(inputs)
    for i, units in enumerate(spec.hidden_layer_sizes):
        block_input = x
        kernel_seeds[f"hidden_{i}"] = seed = _draw_seeds(rng, 1 if shared else members)
        x = Dense(
            units,
            **_initializer(spec, seed),
            dtype=dtype,
            name=f"hidden_{i}",
        )(x)
        if spec.batch_normalization:
            x = keras.layers.BatchNormalization(
                momentum=spec.batch_norm_momentum,
                synchronized=tf.distribute.has_strategy(),
                dtype=dtype,
                name=f"batch_norm_{i}",
            )(x)
        x = keras.layers.Activation(
            ACTIVATIONS[spec.activation].keras_name, dtype=dtype, name=f"activation_{i}"
        )(x)
        if spec.dropout[i] > 0:
            x = keras.layers.Dropout(
                spec.dropout[i], seed=draw_seed(rng), dtype=dtype, name=f"dropout_{i}"
            )(x)
        if spec.residual and i > 0 and block_input.shape[-1] == units:
            x = keras.layers.Add(dtype=dtype, name=f"residual_{i}")([block_input, x])
    kernel_seeds["output"] = seed = _draw_seeds(rng, members)
    logits = Output(
        spec.n_outputs,
        **_initializer(spec, seed),
        dtype=dtype,
        name="output",
    )(x)
    if members > 1:
        logits = EnsembleMean(spec.out_activation, dtype=dtype, name="ensemble_mean")(logits)
    outputs = keras.layers.Activation(
        OUTPUT_ACTIVATIONS[spec.out_activation].keras_name,
        dtype=dtype,
        name="output_activation",
    )(logits)
    model = keras.Model(inputs, outputs, name="mlp")
    if members > 1:
        _draw_member_kernels(model, spec, kernel_seeds)
        if shared and spec.hidden_layer_sizes:
            scale = model.get_layer("hidden_0").input_scale
            scale.assign(random_signs(draw_seed(rng), tuple(scale.shape)).astype(dtype))
    elif dtype != "float64":
        _draw_kernels_in_float64(model, spec, kernel_seeds)
    return model


def compile_network(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> None:
    """``model.compile(optimizer)`` as skneural's networks need it: never wrapped in
    Keras's loss-scaling optimizer, which ``compile`` adds under a global
    ``mixed_float16`` policy (a GPU user's). The layers compute in their own dtype,
    and the workspaces and model files know the plain optimizer's state."""
    model.compile(optimizer=optimizer, auto_scale_loss=False)


def _shared_dense(sharing: str, members: int, units: int, name: str, **kwargs):
    """A hidden layer of an ensemble whose members share it (``ensemble_sharing``):
    'adapters' scales each layer's input and output per member and gives each its own
    bias; 'input' scales only the first layer's input."""
    first = name == "hidden_0"
    adapters = sharing == "adapters"
    return SharedEnsembleDense(
        units,
        members,
        input_scale=adapters or first,
        output_scale=adapters,
        member_bias=adapters,
        name=name,
        **kwargs,
    )


def _draw_seeds(rng: np.random.Generator, members: int) -> "int | list[int]":
    """A kernel's seed; one per member for an ensemble (a single network draws
    exactly what it drew before ensembles existed)."""
    if members == 1:
        return draw_seed(rng)
    return [draw_seed(rng) for _ in range(members)]


def _draw_member_kernels(model: keras.Model, spec: NetworkSpec, seeds: dict) -> None:
    """Give each member of each ensemble layer its own kernel, drawn in float64 (as
    :func:`_draw_kernels_in_float64`) from its own seed: members that start alike would
    stay alike."""
    make = functools.partial(make_initializer, spec.kernel_initializer)
    for layer in dense_layers(model):
        seed = seeds[layer.name]
        if isinstance(seed, list):
            shape = tuple(layer.kernel.shape[1:])
            layer.kernel.assign(member_kernels(make, seed, shape, spec.dtype))
        else:  # a kernel the members share
            values = make(seed)(tuple(layer.kernel.shape), dtype="float64")
            layer.kernel.assign(keras.ops.cast(values, spec.dtype))


def _draw_kernels_in_float64(model: keras.Model, spec: NetworkSpec, seeds: dict) -> None:
    """Replace each kernel by its initializer's float64 draw, cast to the model's dtype.

    Keras draws an initializer's values in the layer's dtype, and the same seed gives
    other values in float32 than in float64; drawing in float64 always makes one
    ``random_state`` mean the same initial weights for float32 and float64 data (to
    float32 rounding). float64 networks (numpy's default X) stay exactly as Keras
    builds them, and an orthogonal kernel stays orthogonal to float64 precision.
    """
    for layer in dense_layers(model):
        initializer = make_initializer(spec.kernel_initializer, seeds[layer.name])
        values = initializer(tuple(layer.kernel.shape), dtype="float64")
        layer.kernel.assign(keras.ops.cast(values, spec.dtype))


def _initializer(spec: NetworkSpec, seed: "int | list[int]") -> dict:
    """The Dense layer's initializer argument; an ensemble's kernels are drawn after
    its layers are built (:func:`_draw_member_kernels`), so they take none."""
    if spec.n_ensemble > 1:
        return {}
    return {"kernel_initializer": make_initializer(spec.kernel_initializer, seed)}


def logits_model(model: keras.Model) -> keras.Model:
    """The same network without its output activation (the same layers, shared)."""
    return keras.Model(model.inputs, model.get_layer("output").output)


def dense_layers(model: keras.Model) -> list:
    """The Dense layers in order, input to output: the source of ``coefs_`` (an
    ensemble's kernels have a leading member axis, but for the kernels its members
    share)."""
    return [layer for layer in model.layers if isinstance(layer, DENSE_LAYERS)]


def table_layer(model: keras.Model):
    """The table's preprocessing layer (:mod:`skneural._table_layer`), or None."""
    return next((layer for layer in model.layers if layer.name == "table"), None)


#: The layer classes of :func:`dense_layers`.
DENSE_LAYERS = (keras.layers.Dense, EnsembleDense, SharedEnsembleDense)


def _seed_variables(model: keras.Model) -> list:
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def seed_states(model: keras.Model) -> list[np.ndarray]:
    """How far each dropout layer's seed generator advanced, which Keras's archive
    (the model file's, pickle's) does not keep."""
    return [v.numpy() for v in _seed_variables(model)]


def restore_seed_states(model: keras.Model, states: list[np.ndarray]) -> None:
    for variable, value in zip(_seed_variables(model), states, strict=True):
        variable.assign(value)
