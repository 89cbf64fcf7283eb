"""One minibatch step of the compiled epoch, as each replica runs it.

The step owns what a batch's update needs: the loss of :mod:`skneural._objective`
with its numbers as variables (``alpha``, ``l1``, the adversarial budget and share,
so that a grid over them reuses one compiled graph), the adversarial examples made
before the step, the split of the batch and the all-reduce of the gradients under a
``tf.distribute`` strategy, and the diagnostics (gradient norms, hidden units'
activity). The network and its update are the workspace's
(:mod:`skneural._workspace`, :mod:`skneural._shapeless`).
:class:`skneural._epoch.EpochRunner` loops over the step inside one graph.
"""

import functools

import tensorflow as tf

from ._objective import penalty, per_sample_loss
from ._plan import Objective
from ._settings import Settings


class MinibatchStep:
    """The step of one workspace, and the loss and input gradient it is built on.

    Parameters
    ----------
    workspace, objective, diagnostics
        Those of the :class:`skneural._epoch.EpochRunner` that loops over the step;
        the objective's numbers are set by :meth:`configure`.
    """

    def __init__(self, workspace, objective: Objective, diagnostics: bool):
        self.workspace = workspace
        self.diagnostics = diagnostics
        self.adversarial = objective.adversarial_eps is not None
        #: A table's steps take the fixed part of its preprocessing, computed once per
        #: fit (:meth:`skneural._epoch.EpochRunner.prepare`), unless adversarial
        #: examples perturb the input itself.
        self.fixed_input = workspace.table is not None and not self.adversarial
        self.forward = workspace.forward
        if self.fixed_input:
            self.forward = functools.partial(workspace.forward, fixed=True)
        # Without a penalty its ops would add zeros: the same values, more ops per step.
        self.penalised = objective.penalised
        self.per_sample = per_sample_loss(objective)
        #: An ensemble's members (:mod:`skneural._ensemble`) each add their own loss.
        self.members = getattr(workspace, "members", 1)
        self.kernels = workspace.kernels
        kernel_ids = {id(k) for k in self.kernels}
        self._kernel_index = [
            i for i, v in enumerate(workspace.trainable_variables) if id(v) in kernel_ids
        ]
        dtype, width = workspace.dtype, workspace.n_features
        self._alpha = tf.Variable(0.0, dtype=dtype, trainable=False)
        self._l1 = tf.Variable(0.0, dtype=dtype, trainable=False)
        # One budget per feature; a width-free workspace takes any number of features.
        self._eps = tf.Variable(tf.zeros([width or 0], dtype), shape=[width], trainable=False)
        self._ratio = tf.Variable(0.0, dtype=dtype, trainable=False)
        self._settings = Settings()

    def configure(self, objective: Objective) -> None:
        """Set the objective's numbers (its graph key must be the step's)."""
        settings = self._settings
        settings.assign(self._alpha, objective.alpha)
        settings.assign(self._l1, objective.l1)
        if objective.adversarial_eps is not None:
            settings.assign(self._eps, objective.adversarial_eps)
            settings.assign(self._ratio, objective.adversarial_ratio)

    def n_attacked(self, size):
        """How many rows of a batch of ``size`` the adversarial share replaces."""
        return tf.cast(tf.round(self._ratio * tf.cast(size, self._ratio.dtype)), tf.int32)

    def run(self, x, y, w, attacked):
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
        if self.adversarial:
            x = self._adversarial_batch(x, y, attacked)
        variables = self.workspace.trainable_variables
        with tf.GradientTape() as tape:
            if self.members > 1:
                logits, hidden = self.forward(x, training=True, members=True)
                weighted = tf.reduce_sum(w * self._members_loss(y, logits))
            else:
                logits, hidden = self.forward(x, training=True)
                weighted = tf.reduce_sum(w * self.per_sample(y, logits))
            if self.penalised:
                weighted += penalty(self.kernels, self._alpha, self._l1) / replicas
            batch_loss = tf.math.divide_no_nan(weighted, batch_weight)
        grads = tape.gradient(batch_loss, variables)
        if self.members > 1:
            # The members' summed objective trains; the record shows their mean.
            batch_loss = batch_loss / self.members
        update = grads
        if replicas > 1:
            batch_loss, grads = context.all_reduce(tf.distribute.ReduceOp.SUM, (batch_loss, grads))
            update = [g / replicas for g in self.workspace.clip(grads)]
        self.workspace.apply(update, variables)
        if not self.diagnostics:
            return batch_loss, tf.zeros([len(self.kernels)], x.dtype), []
        # l2_loss is sum(g ** 2) / 2 in one op: the cheapest norm per layer.
        squared = tf.stack([tf.nn.l2_loss(grads[k]) for k in self._kernel_index])
        if self.members > 1:  # [k, batch, units] -> every member's units in a row
            seen = [tf.reshape(tf.reduce_max(tf.abs(h), axis=1), [-1]) for h in hidden]
        else:
            seen = [tf.reduce_max(tf.abs(h), axis=0) for h in hidden]
        if replicas > 1:
            seen = [tf.reduce_max(context.all_gather(s[None], axis=0), axis=0) for s in seen]
        return batch_loss, squared, seen

    def _members_loss(self, y, logits):
        """Each sample's loss summed over the members, from their logits
        ``[k, batch, outputs]``: one call of the per-sample loss on the members'
        rows stacked (the loss ops take 2-D logits)."""
        k = self.members
        stacked = tf.reshape(logits, [-1, tf.shape(logits)[-1]])
        losses = self.per_sample(tf.tile(y, [k, 1]), stacked)
        return tf.reduce_sum(tf.reshape(losses, [k, -1]), axis=0)

    def _adversarial_batch(self, x, y, k):
        """The batch with its first ``k`` rows (batches are shuffled) replaced by
        ``x + eps * sign(grad_x loss)``, computed in inference mode."""
        head = x[:k]
        attacked = head + self._eps * tf.sign(self.input_gradient(head, y[:k]))
        return tf.concat([tf.stop_gradient(attacked), x[k:]], axis=0)

    def input_gradient(self, X, Y):
        """d(sum of per-sample losses)/dX in inference mode: one row per sample."""
        with tf.GradientTape() as tape:
            tape.watch(X)
            loss = tf.reduce_sum(self.per_sample(Y, self.workspace.forward(X)[0]))
        return tape.gradient(loss, X)
