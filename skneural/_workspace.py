"""The Keras workspace: a private Keras model and optimizer of one network shape.

A workspace is what the compiled epoch (:mod:`skneural._epoch`) trains: it holds the
variables, applies the network to a batch, and updates the weights. A fit copies its
own model's variables and optimizer state in (:meth:`~KerasWorkspace.load`), trains,
and copies them back (:meth:`~KerasWorkspace.store`); :mod:`skneural._pool` keeps
workspaces between fits. This one is a Keras model built from the fit's own spec, so
it serves every network and optimizer; :mod:`skneural._shapeless` is the cheaper one
for the networks and optimizers it covers.
"""

import keras
import tensorflow as tf

from ._network import dense_layers, table_layer
from ._updates import direct_update


class KerasWorkspace:
    """The variables and the forward pass of a workspace Keras model.

    Parameters
    ----------
    model : keras.Model
        Built by :func:`skneural._network.build_network` and compiled with the
        optimizer that trains it; made inside a ``tf.distribute`` scope, its
        variables live on that strategy's devices.
    """

    def __init__(self, model: keras.Model):
        self.model = model
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        self.dtype = model.inputs[0].dtype
        self.n_features = model.inputs[0].shape[1]
        self.n_outputs = model.outputs[0].shape[1]
        self.trainable_variables = model.trainable_variables
        self.kernels = [layer.kernel for layer in dense_layers(model)]
        # The layers from the first hidden one to the logits, applied one by one.
        self._layers = [
            layer
            for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer) and layer.name != "output_activation"
        ]
        self._output = model.get_layer("output_activation")
        #: The table's preprocessing layer, if any (:mod:`skneural._table_layer`).
        self.table = table_layer(model)
        #: Members of an ensemble (:mod:`skneural._ensemble`); 1 for one network.
        self.members = getattr(dense_layers(model)[0], "members", 1)
        self._hidden_units = [
            layer.units * self.members
            for layer in dense_layers(model)
            if layer.name.startswith("hidden_")
        ]
        # Under a strategy, Keras's apply does the cross-replica part of the update.
        update = None if tf.distribute.has_strategy() else direct_update(optimizer)
        self.apply = update or optimizer.apply
        #: Everything a diverged epoch must put back (the backend's variables).
        self.state = [v.value for v in [*model.variables, *optimizer.variables]]

    def hidden_units(self) -> list[int]:
        """The width of each hidden layer, input side first (all members' units)."""
        return self._hidden_units

    def forward(self, x, training=False, members=False, fixed=False):
        """The logits and the hidden activations (input side first) of ``x``.

        Each layer is applied through its own ``call``: the ops ``model(x)`` runs, in
        the same order, without Keras's per-layer bookkeeping around them, which made
        a third of an epoch's trace. The walk follows ``build_network``'s names: a
        residual block adds the input of its Dense layer to its output. With
        ``members``, an ensemble's logits are each member's, ``[k, batch, outputs]``,
        not those of their averaged prediction. With ``fixed``, ``x`` is the table
        layer's :meth:`~skneural._table_layer.TableFeatures.fixed_part` of the input,
        not the input.
        """
        hidden, block_input = [], x
        for layer in self._layers:
            name = layer.name
            if name == "ensemble_mean" and members:
                continue
            if name.startswith("hidden_"):
                block_input = x
                x = layer.call(x)
            elif name.startswith("residual_"):
                x = layer.call([block_input, x])
            elif name == "table" and fixed:
                x = layer.from_fixed(x)
            elif name.startswith(("dropout_", "batch_norm_")):
                x = layer.call(x, training=training)
            else:  # activation_i, output
                x = layer.call(x)
            if name.startswith("activation_"):
                hidden.append(x)
        return x, hidden

    def output(self, logits):
        """The output activation of ``logits``."""
        return self._output.call(logits)

    def clip(self, grads: list) -> list:
        """``grads`` clipped by the optimizer's own rule (Keras's order of precedence)."""
        optimizer = self.model.optimizer
        if optimizer.clipnorm:
            return [tf.clip_by_norm(g, optimizer.clipnorm) for g in grads]
        if optimizer.global_clipnorm:
            return tf.clip_by_global_norm(grads, optimizer.global_clipnorm)[0]
        if optimizer.clipvalue:
            return [tf.clip_by_value(g, -optimizer.clipvalue, optimizer.clipvalue) for g in grads]
        return grads

    # -- between epochs and fits (eager) ---------------------------------------------

    def load(self, model: keras.Model) -> None:
        """Take ``model``'s variables and its optimizer's state."""
        _copy_state(model, self.model)

    def store(self, model: keras.Model) -> None:
        """Give this workspace's variables and optimizer state to ``model``."""
        _copy_state(self.model, model)

    def set_learning_rate(self, learning_rate: float) -> None:
        self.model.optimizer.learning_rate = learning_rate

    def get_weights(self) -> list:
        """The model's weights, as ``keras.Model.get_weights`` lists them."""
        return self.model.get_weights()

    def set_weights(self, weights: list) -> None:
        self.model.set_weights(weights)


def _copy_state(source: keras.Model, target: keras.Model) -> None:
    """Assign every variable of ``source`` and of its optimizer to ``target``'s.

    Both were built from equal specs with equal optimizers, so their variable lists
    match one to one (seed-generator states and optimizer step counts included).
    """
    pairs = [
        *zip(source.variables, target.variables, strict=True),
        *zip(source.optimizer.variables, target.optimizer.variables, strict=True),
    ]
    for src, dst in pairs:
        dst.assign(src.value)
