"""Workspaces: compiled training functions reused across fits.

Tracing the epoch graph (:mod:`skneural._epoch`) costs more than training a small
network for many epochs, and cross-validation and grid searches fit the same
architecture again and again. So the compiled functions live on a *workspace*: the
variables a fit trains, private to the pool. A fit borrows a workspace of its graph
key from :data:`POOL`, copies its own model's variables and optimizer state in,
trains, and copies them back out. The fitted network's model is never shared, a
workspace serves one fit at a time, and a fit through a reused workspace gives exactly
the result of a fresh one.

Most fits take a width-free workspace (:mod:`skneural._shapeless`), whose graph serves
every width of a network of the same depth and features, so that a grid over layer
sizes compiles once per depth; the others (batch normalization, a ``tf.distribute``
strategy, an optimizer or option :mod:`skneural._updates` does not write out) take a
Keras workspace of their own shape (:mod:`skneural._workspace`).
"""

import dataclasses
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import keras
import numpy as np
import tensorflow as tf

from ._config import NetworkSpec
from ._epoch import EpochRunner
from ._network import build_network, compile_network
from ._network_arrays import NetworkArrays
from ._plan import Objective
from ._shapeless import ShapelessWorkspace
from ._shapeless_key import shapeless_key
from ._stored_graphs import GraphStore
from ._updates import update_rule
from ._workspace import KerasWorkspace


def _optimizer_key(optimizer: keras.optimizers.Optimizer) -> tuple[str, str]:
    # The learning rate is a variable in the graph; every other setting is a constant.
    config = {k: v for k, v in optimizer.get_config().items() if k not in ("name", "learning_rate")}
    return type(optimizer).__qualname__, json.dumps(config, sort_keys=True, default=repr)


class RunnerPool:
    """Idle workspaces, least recently used first, at most ``max_idle`` of them.

    Parameters
    ----------
    max_idle : int
        Workspaces kept between fits; 0 compiles afresh for every fit.
    shapeless : bool, default=True
        Train the fits it serves on width-free workspaces; False puts every fit on a
        Keras workspace of its own shape (to compare the two).
    """

    def __init__(self, max_idle: int = 4, shapeless: bool = True):
        self.max_idle = max_idle
        self.shapeless = shapeless
        self._idle: OrderedDict[tuple, list[EpochRunner]] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def borrow(
        self,
        spec: NetworkSpec,
        source,
        objective: Objective,
        write_back: bool = True,
        n_rows: int = 0,
    ) -> Iterator[EpochRunner]:
        """A runner loaded with the state of ``source`` (a Keras model, or
        :class:`~skneural._network_arrays.NetworkArrays` where :meth:`takes_arrays`);
        with ``write_back``, the trained state is copied back to ``source`` when the
        block exits, also by an exception. ``n_rows`` is the number of rows each
        epoch trains on (0: none)."""
        # A workspace made inside a tf.distribute scope has its variables on that
        # strategy's devices and its graph runs the strategy's replicas.
        strategy = tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
        shapeless = self._shapeless_key(spec, source, objective, strategy, n_rows)
        # An optimizer's learning rate (and Keras's step count) is a variable of the
        # floatx Keras had when the workspace was made.
        floatx = keras.config.floatx()
        if shapeless is not None:
            key = (
                "shapeless",
                len(spec.hidden_layer_sizes),
                shapeless,
                objective.graph_key,
                floatx,
            )
            runner = self._take(key) or _new_shapeless(key, spec, source, objective)
        elif isinstance(source, NetworkArrays):
            raise ValueError("only a width-free workspace trains a network kept as arrays")
        else:
            key = (
                dataclasses.replace(spec, kernel_initializer=None),
                _optimizer_key(source.optimizer),
                objective.graph_key,
                strategy,
                floatx,
            )
            runner = self._take(key) or _new_keras_runner(spec, source.optimizer, objective)
        runner.workspace.load(source)
        runner.configure(objective)
        try:
            yield runner
        finally:
            if write_back:
                runner.workspace.store(source)
            self._give_back(key, runner)

    def takes_arrays(
        self, spec: NetworkSpec, arrays: NetworkArrays, objective: Objective, n_rows: int
    ) -> bool:
        """Whether :meth:`borrow` trains ``arrays`` as they are (else it needs the
        network's Keras model)."""
        strategy = tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
        return self._shapeless_key(spec, arrays, objective, strategy, n_rows) is not None

    def _shapeless_key(self, spec, source, objective, strategy, n_rows) -> tuple | None:
        if not self.shapeless:
            return None
        return shapeless_key(spec, source, objective, strategy, n_rows)

    def _take(self, key: tuple) -> EpochRunner | None:
        with self._lock:
            runners = self._idle.get(key)
            if not runners:
                return None
            runner = runners.pop()
            if not runners:
                del self._idle[key]
            return runner

    def _give_back(self, key: tuple, runner: EpochRunner) -> None:
        with self._lock:
            if self.max_idle <= 0:
                return
            self._idle.setdefault(key, []).append(runner)
            self._idle.move_to_end(key)
            while sum(len(runners) for runners in self._idle.values()) > self.max_idle:
                oldest = next(iter(self._idle))
                self._idle[oldest].pop(0)
                if not self._idle[oldest]:
                    del self._idle[oldest]

    def clear(self) -> None:
        """Drop every idle workspace (and the memory its graph holds)."""
        with self._lock:
            self._idle.clear()


@contextmanager
def created_variables():
    """Collect, in creation order, every ``tf.Variable`` made in the block (the
    variables a runner's graphs may capture)."""
    created: list[tf.Variable] = []

    def creator(next_creator, **kwargs):
        variable = next_creator(**kwargs)
        created.append(variable)
        return variable

    with tf.variable_creator_scope(creator):
        yield created


def _new_shapeless(key: tuple, spec: NetworkSpec, source, objective: Objective) -> EpochRunner:
    # Its graphs depend on the key alone: they may be stored for other processes.
    rule = source.rule if isinstance(source, NetworkArrays) else update_rule(source.optimizer)
    with created_variables() as variables:
        workspace = ShapelessWorkspace(key[2], spec, rule)
        return EpochRunner(workspace, objective, graphs=GraphStore(key, variables))


def _new_keras_runner(
    spec: NetworkSpec, optimizer: keras.optimizers.Optimizer, objective: Objective
) -> EpochRunner:
    # The workspace's own initial weights are overwritten before every use, so it
    # draws none (zeros: ~2.5 ms less per new shape than glorot's draws).
    spec = dataclasses.replace(spec, kernel_initializer="zeros")
    model = build_network(spec, np.random.default_rng(0))
    compile_network(model, type(optimizer).from_config(optimizer.get_config()))
    return EpochRunner(KerasWorkspace(model), objective)


#: The process-wide pool every fit borrows from.
POOL = RunnerPool()
