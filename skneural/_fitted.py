"""The fitted network: one object that owns everything a fit produces.

A :class:`FittedNetwork` holds the plan it was built from, the targets it maps outputs
to, the Keras model with its optimizer state (or, until someone asks for the model,
the same state as arrays: :mod:`skneural._network_arrays`), the training record, the
random generator that seeded and shuffles it, the range of the inputs it saw, and a
numpy forward pass. It trains itself under a plan (undoing a continuation that trained
nothing), predicts, gives the attacks' input gradient, and turns into plain data and back.

The estimators keep one of these in a private attribute and copy scikit-learn's public
fitted attributes from it; forgetting or restoring a fit is one assignment. The attacks
and the model file use its methods and nothing else of the estimator's.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import keras
import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ._assigned import checked_weights, same_weights
from ._config import make_rng
from ._epoch import TrainData
from ._holdout import split_for_training
from ._inference import ForwardPass
from ._inputs import widened_range
from ._lbfgs import fit_lbfgs
from ._network import build_network, dense_layers, restore_seed_states, seed_states
from ._network_arrays import NetworkArrays, compile_model, serves
from ._plan import Plan, check_continuation
from ._pool import POOL
from ._record import TrainingState
from ._registry import LBFGS
from ._training import EpochLoop


class FittedNetwork:
    """Everything one fit produces (see the module docstring).

    Parameters
    ----------
    plan : Plan
        What the network was built and is trained by.
    targets : ClassificationTargets or RegressionTargets
        How ``y`` maps to the outputs and back.
    model : keras.Model or NetworkArrays
        Built from ``plan.network`` and compiled with its optimizer, or the state
        such a model would hold (the model is then built when first asked for).
    record : TrainingState
        The training record.
    rng : numpy.random.Generator
        Seeds and shuffles this network's training.
    input_range : tuple of ndarray or None
        Per-feature minimum and maximum of every X trained on (``clip='data'``).
    """

    def __init__(
        self,
        plan: Plan,
        targets: Any,
        model: "keras.Model | NetworkArrays",
        record: TrainingState,
        rng: np.random.Generator,
        input_range: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.plan = plan
        self.targets = targets
        arrays = isinstance(model, NetworkArrays)
        self._model, self._arrays = (None, model) if arrays else (model, None)
        self.record = record
        self.rng = rng
        self.input_range = input_range
        self.forward = self._forward_pass()
        self._frames: tuple | None = None

    @property
    def model(self) -> keras.Model:
        """The Keras model (with its optimizer), built from the arrays on first use."""
        if self._model is None:
            self._model = self._arrays.to_model(self.plan)
            self._arrays = None
        return self._model

    def _forward_pass(self) -> ForwardPass:
        if self._arrays is None:
            return ForwardPass(self._model, self.plan.network)
        return ForwardPass.from_weights(self.plan.network, *self._arrays.dense_weights())

    def _state_for(self, objective, n_rows: int = 0):
        """What the pool trains: the arrays where a width-free workspace takes them,
        else the Keras model."""
        arrays = self._arrays
        if arrays is not None and POOL.takes_arrays(self.plan.network, arrays, objective, n_rows):
            return arrays
        return self.model

    @classmethod
    def build(
        cls, plan: Plan, targets: Any, random_state, statistics: dict | None = None
    ) -> "FittedNetwork":
        """A new, untrained network for ``plan``, seeded from ``random_state``; the
        table's preprocessing layer, if any, holds ``statistics``
        (:func:`skneural._table.learn_table`)."""
        rng = make_rng(random_state)
        if serves(plan):
            model = NetworkArrays.initial(plan, rng, plan.schedule.learning_rate_init)
        else:
            model = build_network(plan.network, rng)
            if plan.network.table is not None:
                model.get_layer("table").set_statistics(statistics)
            compile_model(model, plan)
        record = TrainingState(learning_rate=plan.schedule.learning_rate_init)
        return cls(plan, targets, model, record, rng)

    def continue_with(self, plan: Plan, targets: Any) -> None:
        """Adopt the plan of a warm start: the network must stay the same; a changed
        optimizer setting builds a new optimizer. Refused plans change nothing."""
        check_continuation(self.plan, plan)
        if plan.optimizer != self.plan.optimizer:
            if self._arrays is not None and serves(plan):
                self._arrays.reset_optimizer(plan, plan.schedule.learning_rate_init)
            else:
                compile_model(self.model, plan)
        self.plan, self.targets = plan, targets

    def checkpoint(self) -> tuple:
        """What :meth:`rollback` needs: plan, targets, generator, record, inputs' range,
        and the optimizer (its state as arrays, or the model's optimizer itself)."""
        arrays, rng = self._arrays, self.rng.bit_generator.state
        optimizer = (arrays, arrays.rule, list(arrays.values)) if arrays else self._model.optimizer
        return self.plan, self.targets, rng, self.record.checkpoint(), self.input_range, optimizer

    def rollback(self, checkpoint: tuple) -> None:
        """Undo a continuation that trained no epoch, to :meth:`checkpoint`'s state."""
        self.plan, self.targets, rng, record, self.input_range, optimizer = checkpoint
        self.rng.bit_generator.state = rng
        self.record.rollback(record)
        if isinstance(optimizer, tuple):  # the arrays' state; a model made of them goes
            self._model, self._arrays = None, optimizer[0]
            self._arrays.rule, self._arrays.values = optimizer[1], optimizer[2]
        elif self._model.optimizer is not optimizer:  # its state is in its variables
            compile_model(self._model, self.plan, optimizer)
        self.forward = self._forward_pass()

    # -- training ------------------------------------------------------------------

    def train(
        self, X: np.ndarray, Y: np.ndarray, y, sample_weight: np.ndarray, incremental: bool
    ) -> int:
        """Train on ``X`` and ``Y`` (``y`` encoded by the targets); return the
        number of epochs (L-BFGS: iterations) run. ``incremental`` runs one epoch and
        never holds out."""
        self.input_range = widened_range(self.input_range, X)
        plan, record = self.plan, self.record
        try:
            if plan.optimizer.solver == LBFGS:
                # Full batch, and no early stopping (as scikit-learn's lbfgs).
                data = TrainData.from_arrays(X, Y, sample_weight, plan.network.dtype)
                return fit_lbfgs(self.model, plan, data, record)
            data, validation = split_for_training(
                X, Y, y, sample_weight, self.targets, plan, self.rng, incremental
            )
            if not incremental:
                record.schedule_epoch = 0
                record.learning_rate = plan.schedule.learning_rate_init
            state = self._state_for(plan.objective, data.n_samples)
            borrowed = POOL.borrow(plan.network, state, plan.objective, n_rows=data.n_samples)
            with borrowed as runner:
                loop = EpochLoop(runner, record, plan, data, validation, self.rng)
                return loop.run(incremental)
        finally:
            self.forward = self._forward_pass()

    # -- what the fit left -----------------------------------------------------------

    @property
    def n_epochs(self) -> int:
        return len(self.record.history)

    @property
    def table(self):
        """The table's preprocessing plan (:class:`skneural._table.TableSpec`), or None."""
        return self.plan.network.table

    def embeddings(self) -> dict[int, np.ndarray]:
        """Each embedded categorical column's table, by position (``embeddings_``)."""
        return {} if self.table is None else self.model.get_layer("table").embeddings()

    def weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The Dense layers' kernels and biases, input to output (``coefs_``,
        ``intercepts_``)."""
        if self._arrays is not None:
            kernels, biases = self._arrays.dense_weights()
            return [k.copy() for k in kernels], [b.copy() for b in biases]
        layers = dense_layers(self.model)
        return [layer.kernel.numpy() for layer in layers], [layer.bias.numpy() for layer in layers]

    def adopt_weights(self, coefs, intercepts) -> None:
        """Make ``coefs`` and ``intercepts`` (an estimator's ``coefs_`` and
        ``intercepts_``) this network's Dense weights.

        scikit-learn's MLP computes with its ``coefs_`` and ``intercepts_`` lists
        themselves, so editing them in place, replacing an element or assigning new
        lists changes its predictions and is where ``partial_fit`` and warm starts
        continue from. The estimators call this before every use of the network to
        give the same behaviour: it compares the lists with the weights in use
        (microseconds for an MLP) and writes into the Keras model only when they
        differ. Wrong lengths or shapes raise a ValueError that says what the
        network needs; values are cast to the network's dtype.
        """
        kernels, biases = self.forward.dense_weights()
        if same_weights(coefs, kernels) and same_weights(intercepts, biases):
            return
        new_kernels = checked_weights("coefs_", coefs, kernels)
        new_biases = checked_weights("intercepts_", intercepts, biases)
        if self._arrays is not None:
            self._arrays.set_dense_weights(new_kernels, new_biases)
        else:
            layers = dense_layers(self.model)
            for layer, kernel, bias in zip(layers, new_kernels, new_biases, strict=True):
                layer.kernel.assign(kernel)
                layer.bias.assign(bias)
        self.forward = self._forward_pass()

    def layer_names(self) -> list[str]:
        """The Dense layers' names, input to output: the records' columns."""
        depth = len(self.plan.network.hidden_layer_sizes)
        return [f"hidden_{i}" for i in range(depth)] + ["output"]

    def records(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``history_``, ``gradient_norms_`` and ``dead_units_``: built when first read
        after an epoch, not by every fit (``partial_fit`` over a long stream would
        rebuild them on every call)."""
        n_epochs = len(self.record.history)
        if self._frames is None or self._frames[0] != n_epochs:
            self._frames = (n_epochs, self.record.frames(self.layer_names()))
        return self._frames[1]

    # -- the attacks' view -------------------------------------------------------------

    @contextmanager
    def input_gradients(self) -> Iterator[Callable[[np.ndarray, np.ndarray], np.ndarray]]:
        """Within the block, a function ``(X, Y) -> d(sum of per-sample losses)/dX``
        in inference mode, compiled on a pooled workspace (traced once per network
        shape and process) loaded with this network's weights, which it leaves as
        they are."""
        loss = self.plan.objective.loss_only()
        state = self._state_for(loss)
        with POOL.borrow(self.plan.network, state, loss, write_back=False) as runner:
            yield runner.input_gradient

    # -- pickling: Keras's archive keeps each dropout seed, not how far it advanced ---

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._model is not None:
            state["_seed_states"] = seed_states(self._model)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        seeds = state.pop("_seed_states", None)
        self.__dict__.update(state)
        if seeds is not None:
            restore_seed_states(self._model, seeds)

    # -- the model file's view ---------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """What the model file keeps besides the Keras archive, as plain values."""
        record = self.record
        return {
            "targets": self.targets.to_config(),
            "training": {name: getattr(record, name) for name in record.__dataclass_fields__},
            "rng": self.rng.bit_generator.state,
            "input_range": self.input_range,
            "seed_states": seed_states(self.model),
            **({} if self.table is None else {"table": self.table.to_config()}),
        }

    @classmethod
    def from_state(
        cls, plan: Plan, targets: Any, model: keras.Model, state: dict
    ) -> "FittedNetwork":
        """The network :meth:`to_state` described, around a model Keras loaded."""
        restore_seed_states(model, state["seed_states"])
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
        record = TrainingState(**state["training"])
        return cls(plan, targets, model, record, rng, state["input_range"])


def network_of(estimator) -> FittedNetwork:
    """The fitted network of a fitted skneural estimator (NotFittedError otherwise)."""
    check_is_fitted(estimator)
    network = estimator._network
    network.adopt_weights(estimator.coefs_, estimator.intercepts_)
    return network
