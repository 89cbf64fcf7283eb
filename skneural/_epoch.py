"""The compiled epochs: minibatch steps, and several epochs, inside one TensorFlow graph.

One call of :meth:`EpochRunner.run_epochs` runs one or more epochs' steps: the data
stay in tensors, batches are gathered by index, and Python is entered once per call
(~0.3-0.5 ms, a fifth of a digits-sized epoch), not once per step or epoch. The step,
as each replica runs it, is :mod:`skneural._step`'s. The same runner evaluates the
held-out set and computes the gradient of the loss with respect to the inputs (the
attacks' step). Runners are made and reused by :mod:`skneural._pool`.
"""

import dataclasses
import functools

import numpy as np
import tensorflow as tf

from ._graph_options import one_pass
from ._plan import Objective
from ._step import MinibatchStep
from ._stored_graphs import TRACE_ONLY, GraphStore


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

    ``loss``: the mean batch loss weighted by batch size (``loss_curve_``);
    ``first_loss``: the first batch's loss before the epoch's first step;
    ``end_loss``: that batch's mean per-sample loss after the last step; ``finite``:
    False when the loss or a weight became NaN or infinite (the epoch stopped there);
    ``gradient_norms``: each Dense kernel's gradient L2 norm, averaged over the steps;
    ``dead_fractions``: each hidden layer's share of units that output zero for every
    sample of the epoch.
    """

    loss: float
    first_loss: float
    end_loss: float
    finite: bool
    gradient_norms: np.ndarray
    dead_fractions: np.ndarray


class EpochRunner:
    """Compiled epoch and evaluation functions bound to one workspace.

    The loss of one batch is scikit-learn's: the sample-weighted mean of the per-sample
    loss plus ``(alpha / 2 * ||W||^2 + l1 * |W|_1) / sum(batch weights)`` over the
    Dense kernels (biases and batch-norm parameters are not penalised). ``alpha``,
    ``l1`` and the adversarial budget and share are variables: a grid over them reuses
    one graph (and one without penalty ops for ``alpha = l1 = 0``).

    Every epoch starts by backing up the model's and optimizer's variables in the graph
    (:meth:`restore` returns to the start of an epoch that diverged); the diagnostics
    (gradient norms, dead units) are a few reductions per step.

    Parameters
    ----------
    workspace : KerasWorkspace or ShapelessWorkspace
        The variables, the forward pass and the update (:mod:`skneural._workspace`,
        :mod:`skneural._shapeless`).
    objective : Objective
        The loss, and whether the steps train on adversarial examples; its numbers
        are set by :meth:`configure`.
    diagnostics : bool, default=True
        Record gradient norms and dead units. Off only to measure what they cost
        (``benchmarks/``); the diagnostics it reports are then meaningless.
    graphs : GraphStore, default=TRACE_ONLY
        Where the compiled functions' graphs may be stored and found again
        (:mod:`skneural._stored_graphs`); by default every one is traced.
    """

    def __init__(
        self, workspace, objective: Objective, diagnostics: bool = True, graphs=TRACE_ONLY
    ):
        self.workspace = workspace
        self._graphs: GraphStore = graphs
        self._step = step = MinibatchStep(workspace, objective, diagnostics)
        # Made in a tf.distribute scope, it trains on that strategy's replicas.
        self._strategy = tf.distribute.get_strategy()
        self._distributed = tf.distribute.has_strategy()
        self._dtype = dtype = workspace.dtype
        width = workspace.table.spec.fixed_width if step.fixed_input else workspace.n_features
        data_spec = [
            tf.TensorSpec([None, width], dtype),
            tf.TensorSpec([None, workspace.n_outputs], dtype),
            tf.TensorSpec([None], dtype),
        ]
        # TensorFlow warns when a code object is traced again and again; each runner
        # traces its functions once, and a partial has no code object (explicit loops:
        # no AutoGraph, cheaper traces).
        orders, scalar = tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([], tf.int32)
        functions = {  # the epoch's: data, orders, batch size, limit
            "epoch": (self._run_epochs, [*data_spec, orders, scalar, tf.TensorSpec([], dtype)]),
            "evaluate": (self._run_evaluate, data_spec),
            "input_gradient": (
                step.input_gradient,
                [tf.TensorSpec([None, workspace.n_features], dtype), data_spec[1]],
            ),
        }
        self._functions = {
            role: tf.function(functools.partial(method), input_signature=spec, autograph=False)
            for role, (method, spec) in functions.items()
        }
        # Traced or found stored on first use, then called as concrete functions
        self._concrete = {}  # (a tf.function's dispatch costs ~0.15 ms a call)
        self._state = workspace.state
        # The state at the start of the last epoch run (a diverged epoch goes back
        # there) and at the start of the last call (an interrupted call goes back there).
        self._backup, self._call_backup = (
            [tf.Variable(v, shape=v.shape, trainable=False) for v in self._state] for _ in range(2)
        )
        self._started = tf.Variable(0, dtype=tf.int64, trainable=False)
        # The count as of the last call that returned (reading the variable costs a
        # host round trip; only an interrupted call needs the graph's own count).
        self._returned = 0

    def configure(self, objective: Objective) -> None:
        """Set the objective's numbers (its graph key must be this runner's)."""
        self._step.configure(objective)

    @property
    def calls_started(self) -> int:
        """How many calls of :meth:`run_epochs` this runner has begun and returned
        from (each backs up the state first)."""
        return self._returned

    def restore(self) -> None:
        """Return the model and optimizer to the start of the last epoch run."""
        for variable, saved in zip(self._state, self._backup, strict=True):
            variable.assign(saved)

    def undo_unfinished(self, started: int) -> None:
        """After a call stopped by an exception: if its graph began after
        :attr:`calls_started` read ``started``, return to the call's start (the
        epochs it ran are not reported)."""
        self._returned = int(self._started.numpy())
        if self._returned > started:
            for variable, saved in zip(self._state, self._call_backup, strict=True):
                variable.assign(saved)

    def _run_epochs(self, X, Y, W, orders, batch_size, limit):
        for saved, variable in zip(self._call_backup, self._state, strict=True):
            saved.assign(variable)
        self._started.assign_add(1)
        n_epochs = tf.shape(orders)[0]

        def epoch(e, going, reports):
            report = self._run_epoch(X, Y, W, orders[e], batch_size)
            # The next epoch runs only if this one (loss, first loss, end loss, finite,
            # ...) neither diverged nor blew up. The loop carries numbers only: a bool or
            # a TensorArray adds (op, type) pairs, each a kernel lookup (_instantiation).
            going = tf.logical_and(report[3] > 0, tf.maximum(report[0], report[2]) <= limit)
            return e + 1, tf.cast(going, e.dtype), tf.concat([reports, report[None]], axis=0)

        width = 4 + len(self._step.kernels) + len(self.workspace.hidden_units())
        start = (tf.constant(0), tf.constant(1), tf.zeros([0, width], X.dtype))
        shapes = (*(v.shape for v in start[:2]), tf.TensorShape([None, width]))
        return tf.while_loop(lambda e, going, _: e < n_epochs * going, epoch, start, shapes)[2]

    def _run_epoch(self, X, Y, W, order, batch_size):
        for saved, variable in zip(self._backup, self._state, strict=True):
            saved.assign(variable)
        minibatch = self._step
        n = tf.shape(order)[0]
        n_batches = (n + batch_size - 1) // batch_size
        variables = self.workspace.trainable_variables

        def step(i, total, first, norms, activity):
            idx = order[i * batch_size : tf.minimum((i + 1) * batch_size, n)]
            x, y, w = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(W, idx)
            attacked = minibatch.n_attacked(tf.shape(idx)[0]) if minibatch.adversarial else 0
            if self._distributed:
                results = self._strategy.run(minibatch.run, args=(x, y, w, attacked))
                # Every result was all-reduced across replicas: the first's is all.
                results = tf.nest.map_structure(
                    lambda v: self._strategy.experimental_local_results(v)[0], results
                )
            else:  # one replica: the same step, without the strategy's machinery
                results = minibatch.run(x, y, w, attacked)
            batch_loss, squared, seen = results
            total = total + batch_loss * tf.cast(tf.shape(idx)[0], X.dtype)
            first = tf.where(i == 0, batch_loss, first)
            if not minibatch.diagnostics:
                return i + 1, total, first, norms, activity
            activity = [tf.maximum(a, s) for a, s in zip(activity, seen, strict=True)]
            return i + 1, total, first, norms + tf.sqrt(2.0 * squared), activity

        start = (
            tf.constant(0),
            tf.constant(0.0, X.dtype),
            tf.constant(0.0, X.dtype),
            tf.zeros([len(minibatch.kernels)], X.dtype),
            [tf.zeros([units], X.dtype) for units in self.workspace.hidden_units()],
        )
        steps, total, first_loss, norms, activity = tf.while_loop(
            lambda i, total, *_: tf.logical_and(i < n_batches, tf.math.is_finite(total)),
            step,
            start,
        )
        # The epoch's loss was taken before each step; the last step's result is
        # checked too, on the first batch: finite weights can still overflow outputs.
        first = order[: tf.minimum(batch_size, n)]
        logits = minibatch.forward(tf.gather(X, first))[0]
        after = minibatch.per_sample(tf.gather(Y, first), logits)
        finite = functools.reduce(
            tf.logical_and,
            [tf.reduce_all(tf.math.is_finite(v)) for v in [*variables, total, after]],
        )
        dead = [tf.reduce_mean(tf.cast(tf.equal(seen, 0.0), X.dtype)) for seen in activity]
        # One tensor, fetched in one copy: loss, first loss, end loss, finite, the
        # kernels' gradient norms, the hidden layers' dead fractions.
        scalars = [total / tf.cast(n, X.dtype), first_loss, tf.reduce_mean(after)]
        return tf.concat(
            [
                tf.stack([*scalars, tf.cast(finite, X.dtype)]),
                norms / tf.cast(tf.maximum(steps, 1), X.dtype),
                *([tf.stack(dead)] if dead else []),
            ],
            axis=0,
        )

    def _run_evaluate(self, X, Y, W):
        logits = self._step.forward(X)[0]
        loss = tf.math.divide_no_nan(
            tf.reduce_sum(W * self._step.per_sample(Y, logits)), tf.reduce_sum(W)
        )
        return loss, self.workspace.output(logits)

    def prepare(self, data: TrainData) -> TrainData:
        """``data`` for :meth:`run_epochs`: a table's layer's fixed part, computed once
        (in a width-free workspace its whole output: ``ShapelessWorkspace.features``)."""
        if self._step.fixed_input:
            return dataclasses.replace(data, X=self.workspace.table.fixed_part_of_all(data.X))
        table = getattr(self.workspace, "features", None)
        return data if table is None else dataclasses.replace(data, X=table.output_of_all(data.X))

    def run_epochs(
        self, data: TrainData, orders: np.ndarray, batch_size: int, limit: float = np.inf
    ) -> list[EpochResult]:
        """Run an epoch of minibatch steps over ``data`` for each row of ``orders``
        (the sample indices in the order each epoch visits them), in one call; stop
        after an epoch whose loss or weights are not finite or whose loss, or its
        first batch's loss after its last step, exceeds ``limit``. One result per
        epoch run; :meth:`restore` returns to the start of the last one."""
        # The loop must stop wherever the caller's float comparison with ``limit``
        # would: the graph compares in the data's dtype, against ``limit`` rounded down.
        # (Compared as Python floats: NumPy compares a float32 with a float in float32.)
        dtype = tf.as_dtype(self._dtype).as_numpy_dtype
        with np.errstate(over="ignore"):  # a limit beyond float32's range rounds to inf
            bound = dtype(limit)
        bound = np.nextafter(bound, dtype(-np.inf)) if float(bound) > limit else bound
        # No limit is the largest finite one (a loss not finite stops the loop anyway):
        # check_numerics takes an infinite input for a fault, and no fit could run.
        bound = min(bound, np.finfo(dtype).max)
        orders, bound = tf.constant(orders, tf.int32), tf.constant(bound, self._dtype)
        with one_pass():
            reports = self._compiled("epoch")(
                data.X, data.Y, data.W, orders, tf.constant(batch_size, tf.int32), bound
            ).numpy()
        self._returned += 1
        k = 4 + len(self._step.kernels)
        return [EpochResult(*map(float, r[:3]), bool(r[3]), r[4:k], r[k:]) for r in reports]

    def evaluate(self, data: TrainData) -> tuple[float, np.ndarray]:
        """Weighted loss (no penalty) and outputs in inference mode (``data`` prepared)."""
        with one_pass():
            loss, outputs = self._compiled("evaluate")(data.X, data.Y, data.W)
        return float(loss), outputs.numpy()

    def input_gradient(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The gradient of the summed per-sample loss with respect to the inputs ``X``,
        in inference mode (the attacks' step): one row per sample, in the model's dtype.
        """
        X, Y = tf.constant(X, self._dtype), tf.constant(Y, self._dtype)
        with one_pass():
            return self._compiled("input_gradient")(X, Y).numpy()

    def _compiled(self, role: str):
        """The compiled function of ``role``, traced or found stored on first use."""
        if role not in self._concrete:
            self._concrete[role] = self._graphs.concrete(role, self._functions[role])
        return self._concrete[role]
