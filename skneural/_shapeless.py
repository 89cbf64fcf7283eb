"""The width-free workspace: one compiled graph for every width of a network.

A :class:`~skneural._workspace.KerasWorkspace` is a Keras model of one shape, and
every new shape traces and optimises its epoch graph anew (0.15-0.3 s), which in a
grid search over architectures is most of a small fit. This workspace holds the same
state in plain ``tf.Variable`` objects of unknown width (kernels ``[None, None]``,
biases ``[None]``, the optimizer's slots alike), so that its graph serves every width,
input width and number of outputs: the epoch is traced once per *depth* and per the
features that change its ops (activation, which layers have dropout, residual blocks, the
optimizer's kind and options, dtype, output activation). The ops are those of the
Keras layers' ``call`` and of :mod:`skneural._updates`, in the same order, so a fit
trains to the same values bit for bit as through a Keras workspace, but for the last
bit of a single-output network's output intercept, which later steps carry into the
other weights at rounding level (``tests/test_shapeless.py``). On
small data scikit-learn's four activations and the optimizer's steps share one graph
too, picked by graph inputs, and each kind of slot is one flat vector over every
weight, which the step updates at once; and the dropout rates are graph inputs
everywhere.

It serves networks without batch normalization, outside any ``tf.distribute``
strategy, whose optimizer :mod:`skneural._updates` writes out (Adam, AdamW, SGD with
or without momentum and Nesterov, RMSprop, Adagrad, with or without weight decay,
without clipping), and on small data a table's network whose preprocessing layer has
no weights: the layer's output, computed once per fit, is the graph's input
(:attr:`ShapelessWorkspace.features`). :func:`~skneural._shapeless_key.shapeless_key`
is None for every other fit, which then trains on a Keras workspace.
"""

import keras
import numpy as np
import tensorflow as tf

from ._config import NetworkSpec, residual_blocks
from ._graph_input_layers import affine, dropout, switched_layer, switched_step
from ._network import table_layer
from ._network_arrays import NetworkArrays, join_slots, model_state, split_slots
from ._registry import ACTIVATIONS, OUTPUT_ACTIVATIONS
from ._settings import Settings
from ._shapeless_key import SWITCH, SWITCHED
from ._updates import (
    SWITCHED_STEPS,
    UpdateRule,
    number_names,
    switched_rules,
    update_rule,
    weight_decay,
)


def _free(dtype: tf.DType, rank: int, trainable: bool = False) -> tf.Variable:
    """A variable of ``rank`` dimensions of any size."""
    return tf.Variable(tf.zeros([0] * rank, dtype), shape=[None] * rank, trainable=trainable)


def _number(dtype: tf.DType) -> tf.Variable:
    """A scalar setting the graph reads (see :class:`~skneural._settings.Settings`)."""
    return tf.Variable(0.0, dtype=dtype, trainable=False)


def _keras_activation(name: str):
    """The function a Keras ``Activation`` layer of ``name`` calls."""
    return keras.activations.get(ACTIVATIONS[name].keras_name)


def _einsum_product(x, kernel):
    # EinsumProductDense's product (float64 networks).
    return tf.einsum("ij,jk->ik", x, kernel)


class ShapelessWorkspace:
    """Width-free variables, the forward pass and the update of one graph key.

    Parameters
    ----------
    key : tuple
        The :func:`~skneural._shapeless_key.shapeless_key` of the fits it serves (one
        of them built ``spec``).
    spec : NetworkSpec
        A network it serves.
    rule : UpdateRule
        The optimizer's written-out step; its numbers are variables, loaded per fit.
    """

    def __init__(self, key: tuple, spec: NetworkSpec, rule: UpdateRule):
        self.dtype = dtype = tf.as_dtype(spec.dtype)
        self.n_features = self.n_outputs = None
        self.table = None  # no table layer in the graph
        #: The table layer of the network loaded, whose output is the graph's input.
        self.features = None
        depth = len(spec.hidden_layer_sizes)
        self.kernels = [_free(dtype, 2, trainable=True) for _ in range(depth + 1)]
        self.biases = [_free(dtype, 1, trainable=True) for _ in range(depth + 1)]
        self.trainable_variables = [
            v for pair in zip(self.kernels, self.biases, strict=True) for v in pair
        ]
        self._switched_step = key[5][0] == SWITCH
        if self._switched_step:
            self._rules = switched_rules(key[5][1])
            self._step_index = tf.Variable(0, dtype=tf.int32, trainable=False)
        else:
            self._rules = [rule]
        # Each kind of slot: for a switched step, one flat vector over every weight
        # (kernels and biases in order, flattened), so that the step's ops multiply
        # neither with the depth nor with the switch's branches; otherwise (more rows,
        # where the long vector's ops cost large weights ~20% of a fit) one per weight.
        kinds, weights = max(r.n_slots for r in self._rules), self.trainable_variables
        self.slots = [
            [_free(dtype, 1)]
            if self._switched_step
            else [_free(dtype, w.shape.rank) for w in weights]
            for _ in range(kinds)
        ]
        self._decay = key[5][-1]
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False)
        # The optimizer's learning rate is a variable of Keras's floatx, cast per step.
        self.learning_rate = tf.Variable(0.0, dtype=keras.config.floatx(), trainable=False)
        self._learning_rate_set: float | None = None
        names = dict.fromkeys(name for r in self._rules for name in number_names(r.structure))
        self.numbers = {name: _number(dtype) for name in names}
        self._settings = Settings()  # the numbers and the switches' indices
        self._depth = depth
        # The hidden layers with dropout: their rates and scales (graph inputs), seeds.
        dropped = [i for i, rate in enumerate(spec.dropout) if rate]
        self._dropout = {i: (_number(dtype), _number(dtype)) for i in dropped}
        self._seeds = {i: keras.random.SeedGenerator(0) for i in dropped}
        self._residual = residual_blocks(spec)
        self._product = _einsum_product if spec.dtype == "float64" else tf.linalg.matmul
        self._activations = {name: _keras_activation(name) for name in SWITCHED}
        self._switched = key[1] == SWITCH
        if self._switched:
            self._activation_index = tf.Variable(0, dtype=tf.int32, trainable=False)
        else:
            self._activation = _keras_activation(spec.activation)
        self._output = keras.activations.get(OUTPUT_ACTIVATIONS[spec.out_activation].keras_name)
        #: Everything a diverged epoch must put back.
        self.state = self._state(len(self.slots))

    def _state(self, n_slots: int) -> list[tf.Variable]:
        """The variables a network's state goes to when its optimizer has ``n_slots``
        slots per weight (in :class:`~skneural._network_arrays.NetworkArrays`' order)."""
        return [
            *self.trainable_variables,
            *(v for kind in self.slots[:n_slots] for v in kind),
            self.iterations,
            self.learning_rate,
            *(generator.state.value for generator in self._seeds.values()),
        ]

    def hidden_units(self) -> list:
        """The width of each hidden layer, input side first (scalar tensors)."""
        return [tf.shape(b)[0] for b in self.biases[:-1]]

    def forward(self, x, training=False):
        """The logits and the hidden activations (input side first) of ``x``: the ops
        of the Keras layers' ``call`` (see :meth:`KerasWorkspace.forward`)."""
        hidden = []
        for i in range(self._depth):
            block_input = x
            x = self._hidden_layer(x, i)
            hidden.append(x)
            if training and i in self._dropout:
                x = dropout(x, *self._dropout[i], self._seeds[i])
            if i in self._residual:
                x = keras.ops.add(block_input, x)
        return self._dense(x, self._depth), hidden

    def _hidden_layer(self, x, i):
        if not self._switched:
            return self._activation(self._dense(x, i))
        return switched_layer(
            x,
            self.kernels[i].value(),
            self.biases[i].value(),
            self._activation_index.value(),
            self._activations,
            self._product,
        )

    def _dense(self, x, i):
        return affine(self._product, x, self.kernels[i], self.biases[i])

    def output(self, logits):
        """The output activation of ``logits``."""
        return self._output(logits)

    def apply(self, grads: list, variables: list) -> None:
        """The optimizer's step on ``variables`` (this workspace's trainable ones); a
        switched step takes the weight decay, then steps on every weight at once,
        flattened into one vector (the same values, element by element, as Keras's
        step per weight)."""
        if not self._switched_step:  # per weight, as Keras steps
            rule = self._rules[0]
            slots = self.slots[: rule.n_slots]
            rule.apply(grads, variables, slots, self.numbers, self.learning_rate, self.iterations)
            self.iterations.assign_add(1)
            return
        if self._decay:
            weight_decay(variables, self.numbers, self.learning_rate)
        grad = tf.concat([tf.reshape(g, [-1]) for g in grads], axis=0)
        decrement = switched_step(
            self._step_index.value(),
            self._rules,
            grad,
            [kind[0] for kind in self.slots],
            self.numbers,
            self.learning_rate,
            self.iterations,
        )
        sizes = tf.stack([tf.size(v) for v in variables])
        for variable, part in zip(
            variables, tf.split(decrement, sizes, num=len(variables)), strict=True
        ):
            variable.assign_sub(tf.reshape(part, tf.shape(variable)))
        self.iterations.assign_add(1)

    def clip(self, grads: list) -> list:
        """``grads`` as they are: no optimizer that clips trains here."""
        return grads

    # -- between epochs and fits (eager) ---------------------------------------------

    def load(self, source) -> None:
        """Take the weights, seed states and optimizer state and numbers of
        ``source``: a Keras model (and its optimizer) or
        :class:`~skneural._network_arrays.NetworkArrays`."""
        self.features = None
        if isinstance(source, NetworkArrays):
            values, rule = source.values, source.rule
            activation = _keras_activation(source.spec.activation)
            rates = {i: source.spec.dropout[i] for i in self._dropout}
        else:
            values, rule = [v.value for v in model_state(source)], update_rule(source.optimizer)
            self.features = table_layer(source)
            activation = self._depth and source.get_layer("activation_0").activation
            rates = {i: source.get_layer(f"dropout_{i}").rate for i in self._dropout}
        k = rule.n_slots
        if self._switched_step:
            values = join_slots(values, len(self.trainable_variables), k)
        for own, value in zip(self._state(k), values, strict=True):
            own.assign(value)
        # Slots this rule does not use (SGD's in a graph shared with Adam) are emptied,
        # so that no earlier fit's are kept and backed up with every epoch.
        for variable in (v for kind in self.slots[k:] for v in kind):
            variable.assign(tf.zeros([0] * len(variable.shape), self.dtype))
        self._learning_rate_set = None
        settings = self._settings  # assigns only what changed since the last fit
        if self._switched and self._depth:
            index = list(self._activations.values()).index(activation)
            settings.assign(self._activation_index, index)
        for i, (rate, scale) in self._dropout.items():
            settings.assign(rate, rates[i])
            settings.assign(scale, 1 / (1 - rates[i]))  # as TensorFlow scales a number's
        if self._switched_step:  # it reads its own numbers; the others' keep theirs
            settings.assign(self._step_index, SWITCHED_STEPS.index(rule.structure[:-1]))
        for name, value in rule.values(self.dtype.name).items():
            settings.assign(self.numbers[name], value)

    def store(self, source) -> None:
        """Give this workspace's weights, seed states and optimizer state to
        ``source`` (as :meth:`load` takes them)."""
        self.features = None  # an idle workspace keeps no fitted network alive
        rule = source.rule if isinstance(source, NetworkArrays) else update_rule(source.optimizer)
        state = [own.numpy() for own in self._state(rule.n_slots)]
        values = state
        if self._switched_step:
            values = split_slots(state, len(self.trainable_variables), rule.n_slots)
        if isinstance(source, NetworkArrays):
            source.values = values
            return
        for target, value in zip(model_state(source), values, strict=True):
            target.assign(value)

    def set_learning_rate(self, learning_rate: float) -> None:
        # A constant rate is assigned once per fit, not once per epoch (an epoch's
        # restore puts back the rate set before it, so the last one set still holds).
        if learning_rate != self._learning_rate_set:
            self.learning_rate.assign(learning_rate)
            self._learning_rate_set = learning_rate

    def get_weights(self) -> list[np.ndarray]:
        """The weights, as ``keras.Model.get_weights`` lists them for these networks."""
        return [v.numpy() for v in self.trainable_variables]

    def set_weights(self, weights: list) -> None:
        for variable, value in zip(self.trainable_variables, weights, strict=True):
            variable.assign(value)
