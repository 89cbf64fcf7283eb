"""The full-batch objective as a function of one flat vector of weights.

scipy's optimizers see a network as one float64 vector. The vector holds the Dense
kernels (input side first), then the Dense biases, then any other trainable
variable (batch-norm scales and offsets): scikit-learn's packing, so that the same
network is the same vector for both. The objective and its gradient come from one
compiled TensorFlow function over the whole data set, in the model's dtype; the
float64 vector is converted at the call boundary only. The objective is the one of
:mod:`skneural._objective` with the whole data set as the batch. The driver that
minimises it is :mod:`skneural._lbfgs`.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from ._config import NetworkSpec
from ._epoch import TrainData
from ._network import build_network, dense_layers, logits_model
from ._objective import penalty, per_sample_loss
from ._plan import Objective


class FlatObjective:
    """The compiled full-batch objective of one network shape, over flat weights.

    The objective and its gradient are one ``tf.function`` with a fixed input
    signature: a pure function of the flat weights, the data, ``alpha`` and ``l1``,
    evaluated on a private workspace network of the shape (Keras's stateless call:
    the workspace's variables are never read or written). It is traced on first use
    and then called through its concrete function, so every model built from an
    equal spec, any data size and any ``alpha`` / ``l1`` reuse one trace; and since
    it writes nothing, fits may share it concurrently. Batch normalization runs in
    training mode over the full batch.

    Parameters
    ----------
    spec : NetworkSpec
        The shape of the networks (its initializer does not matter).
    objective : Objective
        The loss and its options; ``alpha`` and ``l1`` are passed at every call.

    Examples
    --------
    >>> import numpy as np
    >>> from skneural._config import NetworkSpec
    >>> from skneural._network import build_network
    >>> from skneural._plan import Objective
    >>> spec = NetworkSpec(2, (3,), "relu", "he_normal", (0.0,), False, 0.9, False, 1,
    ...                    "identity", "float64")
    >>> model = build_network(spec, np.random.default_rng(0))
    >>> weights = FlatObjective(spec, Objective("squared_error"))
    >>> weights.flat_weights(model).shape  # 2*3 + 3*1 kernel weights, then 3 + 1 biases
    (13,)
    >>> weights.set_flat_weights(model, np.arange(13.0))
    >>> model.get_layer("output").bias.numpy().tolist()
    [12.0]
    """

    def __init__(self, spec: NetworkSpec, objective: Objective):
        # The penalty's numbers are inputs of its function: only the loss fixes it.
        self._loss = (objective.loss, objective.loss_options)
        # The workspace's own initial weights are never used.
        workspace = build_network(spec, np.random.default_rng(0))
        variables = _packing_order(workspace)
        self._shapes = [tuple(v.shape) for v in variables]
        self._sizes = [int(np.prod(shape)) for shape in self._shapes]
        self._n_kernels = len(dense_layers(workspace))
        self._per_sample = per_sample_loss(objective)
        self._dtype = dtype = spec.dtype
        self._logits = _StatelessCall(logits_model(workspace), variables)
        flat = tf.TensorSpec([sum(self._sizes)], dtype)
        inputs = tf.TensorSpec([None, spec.n_features], dtype)
        # A partial has no code object of its own, so TensorFlow's retracing warning
        # (keyed on code objects) stays for real misuse; autograph is not needed.
        self._function = tf.function(
            functools.partial(FlatObjective._loss_and_gradient, self),
            input_signature=[
                flat,
                inputs,
                tf.TensorSpec([None, spec.n_outputs], dtype),
                tf.TensorSpec([None], dtype),
                tf.TensorSpec([], dtype),
                tf.TensorSpec([], dtype),
            ],
            autograph=False,
        )
        self._concrete = self._statistics = self._statistics_function = None
        if spec.batch_normalization:
            normalizations = batch_normalizations(workspace)
            self._normalized = _StatelessCall(
                keras.Model(workspace.inputs, [layer.input for layer in normalizations]),
                variables,
            )
            self._statistics_function = tf.function(
                functools.partial(FlatObjective._batch_statistics, self),
                input_signature=[flat, inputs],
                autograph=False,
            )

    def _unpack(self, flat):
        parts = tf.split(flat, self._sizes)
        return [tf.reshape(p, s) for p, s in zip(parts, self._shapes, strict=True)]

    def _loss_and_gradient(self, flat, X, Y, W, alpha, l1):
        values = self._unpack(flat)
        with tf.GradientTape() as tape:
            tape.watch(values)
            logits = self._logits(values, X)
            weighted = tf.reduce_sum(W * self._per_sample(Y, logits))
            weighted += penalty(values[: self._n_kernels], alpha, l1)
            loss = weighted / tf.reduce_sum(W)
        gradient = tape.gradient(loss, values)
        return loss, tf.concat([tf.reshape(g, [-1]) for g in gradient], axis=0)

    def _batch_statistics(self, flat, X):
        """Mean and (biased) variance of every batch-norm layer's input over ``X``."""
        inputs = tf.nest.flatten(self._normalized(self._unpack(flat), X))
        return [tf.nn.moments(values, axes=[0]) for values in inputs]

    def flat_weights(self, model: keras.Model) -> np.ndarray:
        """``model``'s trainable variables as one float64 vector (the packing order)."""
        variables = self._variables_of(model)
        return np.concatenate([np.ravel(v.numpy()) for v in variables]).astype(np.float64)

    def set_flat_weights(self, model: keras.Model, flat: np.ndarray) -> None:
        """Assign ``flat`` (in the packing order) to ``model``'s trainable variables."""
        parts = np.split(np.asarray(flat, dtype=self._dtype), np.cumsum(self._sizes)[:-1])
        for variable, part, shape in zip(
            self._variables_of(model), parts, self._shapes, strict=True
        ):
            variable.assign(part.reshape(shape))

    def loss_and_gradient(
        self, flat: np.ndarray, data: TrainData, alpha: float, l1: float
    ) -> tuple[float, np.ndarray]:
        """The objective and its gradient at ``flat``, both in float64 (scipy's side)."""
        if self._concrete is None:
            self._concrete = self._function.get_concrete_function()
        loss, gradient = self._concrete(
            tf.constant(np.asarray(flat, dtype=self._dtype)),
            data.X,
            data.Y,
            data.W,
            tf.constant(alpha, self._dtype),
            tf.constant(l1, self._dtype),
        )
        return float(loss), gradient.numpy().astype(np.float64)

    def set_batch_norm_statistics(self, model: keras.Model, flat: np.ndarray, data) -> None:
        """Moving statistics := the full-batch statistics at the weights ``flat`` (a
        network without batch normalization has none)."""
        if self._statistics_function is None:
            return
        if self._statistics is None:
            self._statistics = self._statistics_function.get_concrete_function()
        moments = self._statistics(tf.constant(np.asarray(flat, dtype=self._dtype)), data.X)
        for layer, (mean, variance) in zip(batch_normalizations(model), moments, strict=True):
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(variance)

    def _variables_of(self, model: keras.Model) -> list:
        variables = _packing_order(model)
        shapes = [tuple(v.shape) for v in variables]
        if shapes != self._shapes:
            raise ValueError(
                f"The model's trainable variables have shapes {shapes}; this trainer "
                f"was built for {self._shapes}."
            )
        return variables


class _StatelessCall:
    """Call ``model`` in training mode with its trainable variables replaced by given
    values (in the packing order of ``variables``), without touching its state."""

    def __init__(self, model: keras.Model, variables: list):
        position = {id(v): i for i, v in enumerate(variables)}
        self._model = model
        self._order = [position[id(v)] for v in model.trainable_variables]

    def __call__(self, values: list, X: tf.Tensor):
        outputs, _ = self._model.stateless_call(
            [values[i] for i in self._order],
            [v.value for v in self._model.non_trainable_variables],
            X,
            training=True,
        )
        return outputs


def _packing_order(model: keras.Model) -> list:
    """The trainable variables as the flat vector holds them: scikit-learn's packing
    (every Dense kernel, then every Dense bias), then the others in the model's order."""
    dense = dense_layers(model)
    head = [layer.kernel for layer in dense] + [layer.bias for layer in dense]
    head_ids = {id(v) for v in head}
    return head + [v for v in model.trainable_variables if id(v) not in head_ids]


def batch_normalizations(model: keras.Model) -> list:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
