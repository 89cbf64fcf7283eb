"""The compiled epoch: every minibatch step of an epoch inside one TensorFlow graph.

One call of :meth:`EpochRunner.run_epoch` runs an epoch's steps: the data stay in
tensors, batches are gathered by index, and Python is entered once per epoch, not once
per step. The same runner evaluates the held-out set and computes the gradient of the
loss with respect to the inputs (the attacks' and adversarial training's step).
Runners are made and reused by :mod:`skneural._pool`.
"""

import dataclasses
import functools

import keras
import numpy as np
import tensorflow as tf

from ._network import dense_layers
from ._plan import Objective
from ._registry import LOSSES
from ._updates import direct_update


@dataclasses.dataclass
class TrainData:
    """Inputs, encoded targets and sample weights as tensors of the model's dtype."""

    X: tf.Tensor
    Y: tf.Tensor
    W: tf.Tensor

    @classmethod
    def from_arrays(cls, X: np.ndarray, Y: np.ndarray, W: np.ndarray, dtype: str) -> "TrainData":
        return cls(*(tf.convert_to_tensor(np.asarray(a, dtype=dtype)) for a in (X, Y, W)))

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])


@dataclasses.dataclass
class EpochResult:
    """What one compiled epoch reports.

    ``loss`` is the mean batch loss weighted by batch size (scikit-learn's
    ``loss_curve_`` value); ``first_loss`` the loss of the first batch, taken before
    the epoch's first step (the weights the epoch started from), ``end_loss`` the
    mean per-sample loss of that batch after the last step; ``finite`` is False when
    the loss or any weight became NaN or infinite (the epoch then stopped at that
    batch); ``gradient_norms`` holds
    the L2 norm of each Dense kernel's gradient, averaged over the epoch's steps;
    ``dead_fractions`` the fraction of each hidden layer's units whose output was
    zero for every sample of the epoch.
    """

    loss: float
    first_loss: float
    end_loss: float
    finite: bool
    gradient_norms: np.ndarray
    dead_fractions: np.ndarray


class EpochRunner:
    """Compiled epoch and evaluation functions bound to one workspace model.

    The loss of one batch is scikit-learn's: the sample-weighted mean of the per-sample
    loss plus ``(alpha / 2 * ||W||^2 + l1 * |W|_1) / sum(batch weights)`` over the
    Dense kernels (biases and batch-norm parameters are not penalised). ``alpha``,
    ``l1`` and the adversarial budget and share are variables, so a grid over them
    reuses one compiled graph.

    Every epoch starts by copying the model's and optimizer's variables to a backup
    inside the graph, so that :meth:`restore` can return to the start of an epoch that
    diverged; the diagnostics (gradient norms, dead units) are a few reductions per
    step, accumulated in the loop.

    Parameters
    ----------
    model : keras.Model
        Built by :func:`skneural._network.build_network` and compiled with the
        optimizer that trains it.
    objective : Objective
        The loss, and whether the steps train on adversarial examples; its numbers
        are set by :meth:`configure`.
    diagnostics : bool, default=True
        Record gradient norms and dead units. Off only to measure what they cost
        (``benchmarks/``); the diagnostics it reports are then meaningless.
    """

    def __init__(self, model: keras.Model, objective: Objective, diagnostics: bool = True):
        self.model = model
        self._diagnostics = diagnostics
        self._adversarial = objective.adversarial_eps is not None
        # The layers from the first hidden one to the logits, applied one by one.
        self._layers = [
            layer
            for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer) and layer.name != "output_activation"
        ]
        self._hidden_units = [
            layer.units for layer in dense_layers(model) if layer.name.startswith("hidden_")
        ]
        self._per_sample = functools.partial(
            LOSSES[objective.loss].per_sample, **dict(objective.loss_options)
        )
        self._kernels = [layer.kernel for layer in dense_layers(model)]
        kernel_ids = {id(k) for k in self._kernels}
        self._kernel_index = [
            i for i, v in enumerate(model.trainable_variables) if id(v) in kernel_ids
        ]
        # Made inside a tf.distribute scope, the workspace trains on that strategy's
        # replicas; otherwise on the default strategy's one replica.
        self._strategy = tf.distribute.get_strategy()
        self._distributed = tf.distribute.has_strategy()
        update = None if self._distributed else direct_update(model.optimizer)
        self._update = update or model.optimizer.apply
        self._dtype = dtype = model.inputs[0].dtype
        self._alpha = tf.Variable(0.0, dtype=dtype, trainable=False)
        self._l1 = tf.Variable(0.0, dtype=dtype, trainable=False)
        self._eps = tf.Variable(tf.zeros([model.inputs[0].shape[1]], dtype), trainable=False)
        self._ratio = tf.Variable(0.0, dtype=dtype, trainable=False)
        data_spec = [
            tf.TensorSpec([None, model.inputs[0].shape[1]], dtype),
            tf.TensorSpec([None, model.outputs[0].shape[1]], dtype),
            tf.TensorSpec([None], dtype),
        ]
        # TensorFlow warns when the same Python code is traced again and again (it keys
        # on the code object); each workspace traces exactly once, by design, and a
        # partial has no code object of its own, so the warning stays for real misuse.
        # The loop is an explicit tf.while_loop: no AutoGraph conversion, cheaper traces.
        self._epoch_function = tf.function(
            functools.partial(EpochRunner._run_epoch, self),
            input_signature=[
                *data_spec,
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([], tf.int32),
            ],
            autograph=False,
        )
        self._evaluate = tf.function(
            functools.partial(EpochRunner._run_evaluate, self),
            input_signature=data_spec,
            autograph=False,
        )
        self._input_gradient_function = tf.function(
            functools.partial(EpochRunner._input_gradient_of, self),
            input_signature=data_spec[:2],
            autograph=False,
        )
        # Each is traced on first use and then called through its one concrete
        # function: a tf.function's dispatch (binding arguments to its signature)
        # costs ~0.15 ms a call, i.e. an epoch, or a batch of an attack.
        self._epoch = self._input_gradient = None
        model.optimizer.build(model.trainable_variables)
        self._state = [*model.variables, *model.optimizer.variables]
        self._backup = [tf.Variable(v.value, trainable=False) for v in self._state]
        self._started = tf.Variable(0, dtype=tf.int64, trainable=False)

    def configure(self, objective: Objective) -> None:
        """Set the objective's numbers (its graph key must be this runner's)."""
        self._alpha.assign(objective.alpha)
        self._l1.assign(objective.l1)
        if objective.adversarial_eps is not None:
            self._eps.assign(objective.adversarial_eps)
            self._ratio.assign(objective.adversarial_ratio)

    @property
    def epochs_started(self) -> int:
        """How many epochs this runner has begun (each backs up the state first)."""
        return int(self._started.numpy())

    def restore(self) -> None:
        """Return the model and optimizer to the start of the last epoch."""
        for variable, saved in zip(self._state, self._backup, strict=True):
            variable.assign(saved)

    def _penalty(self) -> tf.Tensor:
        squares = tf.add_n([tf.reduce_sum(tf.square(k)) for k in self._kernels])
        absolutes = tf.add_n([tf.reduce_sum(tf.abs(k)) for k in self._kernels])
        return 0.5 * self._alpha * squares + self._l1 * absolutes

    def _run_epoch(self, X, Y, W, order, batch_size):
        for saved, variable in zip(self._backup, self._state, strict=True):
            saved.assign(variable.value)
        self._started.assign_add(1)
        n = tf.shape(order)[0]
        n_batches = (n + batch_size - 1) // batch_size
        variables = self.model.trainable_variables

        def step(i, total, first, norms, activity):
            idx = order[i * batch_size : tf.minimum((i + 1) * batch_size, n)]
            x, y, w = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(W, idx)
            attacked = self._n_attacked(tf.shape(idx)[0]) if self._adversarial else 0
            if self._distributed:
                results = self._strategy.run(self._replica_step, args=(x, y, w, attacked))
                # Every result was all-reduced across replicas: the first's is all.
                results = tf.nest.map_structure(
                    lambda v: self._strategy.experimental_local_results(v)[0], results
                )
            else:  # one replica: the same step, without the strategy's machinery
                results = self._replica_step(x, y, w, attacked)
            batch_loss, squared, seen = results
            total = total + batch_loss * tf.cast(tf.shape(idx)[0], X.dtype)
            first = tf.where(i == 0, batch_loss, first)
            if not self._diagnostics:
                return i + 1, total, first, norms, activity
            activity = [tf.maximum(a, s) for a, s in zip(activity, seen, strict=True)]
            return i + 1, total, first, norms + tf.sqrt(2.0 * squared), activity

        start = (
            tf.constant(0),
            tf.constant(0.0, X.dtype),
            tf.constant(0.0, X.dtype),
            tf.zeros([len(self._kernels)], X.dtype),
            [tf.zeros([units], X.dtype) for units in self._hidden_units],
        )
        steps, total, first_loss, norms, activity = tf.while_loop(
            lambda i, total, *_: tf.logical_and(i < n_batches, tf.math.is_finite(total)),
            step,
            start,
        )
        # The epoch's loss was taken before each step; the last step's result is
        # checked too, on the first batch: finite weights can still overflow outputs.
        first = order[: tf.minimum(batch_size, n)]
        after = self._per_sample(tf.gather(Y, first), self._forward(tf.gather(X, first))[0])
        finite = tf.reduce_all(
            [tf.reduce_all(tf.math.is_finite(v)) for v in variables]
            + [tf.math.is_finite(total), tf.reduce_all(tf.math.is_finite(after))]
        )
        dead = [tf.reduce_mean(tf.cast(tf.equal(seen, 0.0), X.dtype)) for seen in activity]
        return (
            total / tf.cast(n, X.dtype),
            first_loss,
            tf.reduce_mean(after),
            finite,
            norms / tf.cast(tf.maximum(steps, 1), X.dtype),
            tf.stack(dead) if dead else tf.zeros([0], X.dtype),
        )

    def _replica_step(self, x, y, w, attacked):
        """One replica's part of a minibatch step: its share of the batch's gradient,
        then the update; returns the batch loss, the squared gradient norm of each
        kernel (halved) and each hidden unit's largest output, all for the whole batch.

        On one device this is the whole step. Under a strategy with ``r`` replicas,
        replica ``j`` takes the ``j``-th of ``r`` contiguous slices of the batch (empty
        ones included) and scales its loss by the *whole* batch's weight, with
        ``1/r`` of the penalty, so the replicas' gradients sum to the one-device
        gradient. That sum is all-reduced here, clipped as the optimizer would clip it,
        and handed to the optimizer divided by ``r``: Keras sums what the replicas
        pass to ``apply`` and clips before it sums, which would clip partial gradients.
        """
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync
        batch_weight = tf.reduce_sum(w)
        if replicas > 1:
            size = tf.shape(x)[0]
            replica = tf.cast(context.replica_id_in_sync_group, tf.int32)
            first, stop = replica * size // replicas, (replica + 1) * size // replicas
            x, y, w = x[first:stop], y[first:stop], w[first:stop]
            attacked = tf.clip_by_value(attacked - first, 0, stop - first)
        if self._adversarial:
            x = self._adversarial_batch(x, y, attacked)
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            logits, hidden = self._forward(x, training=True)
            weighted = tf.reduce_sum(w * self._per_sample(y, logits))
            weighted += self._penalty() / replicas
            batch_loss = tf.math.divide_no_nan(weighted, batch_weight)
        grads = tape.gradient(batch_loss, variables)
        update = grads
        if replicas > 1:
            batch_loss, grads = context.all_reduce(tf.distribute.ReduceOp.SUM, (batch_loss, grads))
            update = [g / replicas for g in _clipped(self.model.optimizer, grads)]
        self._update(update, variables)
        if not self._diagnostics:
            return batch_loss, tf.zeros([len(self._kernels)], x.dtype), []
        # l2_loss is sum(g ** 2) / 2 in one op: the cheapest norm per layer.
        squared = tf.stack([tf.nn.l2_loss(grads[k]) for k in self._kernel_index])
        seen = [tf.reduce_max(tf.abs(h), axis=0) for h in hidden]
        if replicas > 1:
            seen = [tf.reduce_max(context.all_gather(s[None], axis=0), axis=0) for s in seen]
        return batch_loss, squared, seen

    def _forward(self, x, training=False):
        """The logits and the hidden activations (input side first) of ``x``.

        Each layer is applied through its own ``call``: the ops ``model(x)`` runs, in
        the same order, without Keras's per-layer bookkeeping around them, which made
        a third of an epoch's trace. The walk follows ``build_network``'s names: a
        residual block adds the input of its Dense layer to its output.
        """
        hidden, block_input = [], x
        for layer in self._layers:
            name = layer.name
            if name.startswith("hidden_"):
                block_input = x
                x = layer.call(x)
            elif name.startswith("residual_"):
                x = layer.call([block_input, x])
            elif name.startswith(("dropout_", "batch_norm_")):
                x = layer.call(x, training=training)
            else:  # activation_i, output
                x = layer.call(x)
            if name.startswith("activation_"):
                hidden.append(x)
        return x, hidden

    def _n_attacked(self, size):
        """How many rows of a batch of ``size`` the adversarial share replaces."""
        return tf.cast(tf.round(self._ratio * tf.cast(size, self._ratio.dtype)), tf.int32)

    def _adversarial_batch(self, x, y, k):
        """The batch with its first ``k`` rows (batches are shuffled) replaced by
        ``x + eps * sign(grad_x loss)``, computed in inference mode."""
        head = x[:k]
        attacked = head + self._eps * tf.sign(self._input_gradient_of(head, y[:k]))
        return tf.concat([tf.stop_gradient(attacked), x[k:]], axis=0)

    def _input_gradient_of(self, X, Y):
        """d(sum of per-sample losses)/dX in inference mode: one row per sample."""
        with tf.GradientTape() as tape:
            tape.watch(X)
            loss = tf.reduce_sum(self._per_sample(Y, self._forward(X)[0]))
        return tape.gradient(loss, X)

    def _run_evaluate(self, X, Y, W):
        logits = self._forward(X)[0]
        loss = tf.math.divide_no_nan(
            tf.reduce_sum(W * self._per_sample(Y, logits)), tf.reduce_sum(W)
        )
        return loss, self.model.get_layer("output_activation").call(logits)

    def run_epoch(self, data: TrainData, order: np.ndarray, batch_size: int) -> EpochResult:
        """Run one epoch of minibatch steps over ``data`` in ``order``."""
        if self._epoch is None:
            self._epoch = self._epoch_function.get_concrete_function()
        loss, first_loss, end_loss, finite, norms, dead = self._epoch(
            data.X, data.Y, data.W, tf.constant(order, tf.int32), tf.constant(batch_size, tf.int32)
        )
        return EpochResult(
            float(loss),
            float(first_loss),
            float(end_loss),
            bool(finite),
            norms.numpy(),
            dead.numpy(),
        )

    def evaluate(self, data: TrainData) -> tuple[float, np.ndarray]:
        """Weighted loss (no penalty) and outputs of the model in inference mode."""
        loss, outputs = self._evaluate(data.X, data.Y, data.W)
        return float(loss), outputs.numpy()

    def input_gradient(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The gradient of the summed per-sample loss with respect to the inputs ``X``,
        in inference mode (the attacks' step): one row per sample, in the model's dtype.
        """
        if self._input_gradient is None:
            self._input_gradient = self._input_gradient_function.get_concrete_function()
        X, Y = tf.constant(X, self._dtype), tf.constant(Y, self._dtype)
        return self._input_gradient(X, Y).numpy()


def _clipped(optimizer: keras.optimizers.Optimizer, grads: list) -> list:
    """``grads`` clipped by the optimizer's own rule (Keras's order of precedence)."""
    if optimizer.clipnorm:
        return [tf.clip_by_norm(g, optimizer.clipnorm) for g in grads]
    if optimizer.global_clipnorm:
        return tf.clip_by_global_norm(grads, optimizer.global_clipnorm)[0]
    if optimizer.clipvalue:
        return [tf.clip_by_value(g, -optimizer.clipvalue, optimizer.clipvalue) for g in grads]
    return grads
