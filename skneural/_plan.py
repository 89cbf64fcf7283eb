"""One step from the estimator's parameters to the plan a fit follows.

``_parameter_constraints`` has already checked every parameter on its own. Here the
validated parameters, the targets' task (:mod:`skneural._targets`) and the data's
shape become a :class:`Plan`: the network to build, the objective each step minimises,
the optimizer and its settings, the learning-rate schedule, the stopping rule and the
batch size. Nothing here reads the estimator itself, so a warm start can compare the
plan it would make now with the one its network was built from.
"""

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from ._budget import check_budget
from ._config import (
    NetworkSpec,
    dropout_rates,
    resolve_batch_size,
    resolve_hidden_layer_sizes,
)
from ._registry import LBFGS, LOSSES, OPTIMIZERS
from ._schedules import Schedule
from ._table import TableSpec
from ._validation_score import check_scoring


@dataclass(frozen=True)
class Objective:
    """What each step minimises, beyond the network itself.

    ``loss`` is a key of :data:`skneural._registry.LOSSES`, ``loss_options`` its
    keyword options (Huber's ``delta``) as sorted pairs; ``alpha`` and ``l1`` the
    penalties. With ``adversarial_eps`` set (one budget per feature), a share
    ``adversarial_ratio`` of every batch is replaced by fast-gradient-sign examples
    made with the current weights before the step (Goodfellow et al., 2015).
    """

    loss: str
    loss_options: tuple[tuple[str, float], ...] = ()
    alpha: float = 0.0
    l1: float = 0.0
    adversarial_eps: tuple[float, ...] | None = None
    adversarial_ratio: float = 0.5

    @property
    def graph_key(self) -> tuple:
        """What changes the compiled graph (the numbers are variables in it; without
        ``alpha`` and ``l1`` the graph has no penalty ops at all)."""
        return self.loss, self.loss_options, self.adversarial_eps is not None, self.penalised

    @property
    def penalised(self) -> bool:
        """Whether the loss has an L2 or L1 term."""
        return self.alpha != 0 or self.l1 != 0

    def loss_only(self) -> "Objective":
        """The loss alone, without penalties or adversarial training (the attacks')."""
        return Objective(self.loss, self.loss_options)


@dataclass(frozen=True)
class StoppingRule:
    """scikit-learn's convergence rule, iteration budget (``max_fun``: L-BFGS's
    budget of objective evaluations) and early-stopping split."""

    max_iter: int
    max_fun: int
    tol: float
    n_iter_no_change: float
    shuffle: bool
    verbose: int = 0
    early_stopping: bool = False
    validation_fraction: float = 0.1
    scoring: Any = None  # what the held-out set is scored by (_validation_score)


@dataclass(frozen=True)
class OptimizerPlan:
    """The ``solver`` and the values of the parameters it reads (and only those)."""

    solver: str
    settings: tuple[tuple[str, Any], ...]

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "OptimizerPlan":
        if params["clipnorm"] is not None and params["clipvalue"] is not None:
            raise ValueError(
                "clipnorm and clipvalue cannot both be set (the optimizer clips one way); "
                f"got clipnorm={params['clipnorm']!r} and clipvalue={params['clipvalue']!r}."
            )
        if params["solver"] == LBFGS:
            return cls(LBFGS, ())
        names = OPTIMIZERS[params["solver"]].hyperparameters
        return cls(params["solver"], tuple((name, params[name]) for name in names))

    def weight_copies(self) -> int:
        """How many values per weight training holds at once, at the least: the
        weights, their gradient, the optimizer's slots (Adam's two moments), the
        compiled epochs' two backups of weights and slots (an epoch's start, which a
        diverged epoch goes back to, and a call's, which an interrupt goes back to),
        and predict's numpy copy; L-BFGS keeps scipy's 10 pairs of correction vectors
        instead of slots and backups."""
        if self.solver == LBFGS:
            return 3 + 2 * 10
        return 5 + 3 * _slots_per_weight(self)

    def build(self, learning_rate: float) -> keras.optimizers.Optimizer:
        """The Keras optimizer. L-BFGS steps outside Keras, so its networks carry a
        plain SGD optimizer that never steps: the model file, the workspaces and a
        later warm start with another solver then treat every network alike."""
        if self.solver == LBFGS:
            return keras.optimizers.SGD(learning_rate=float(learning_rate))
        return OPTIMIZERS[self.solver].build(learning_rate, **dict(self.settings))


@functools.lru_cache(maxsize=64)
def _slots_per_weight(plan: OptimizerPlan) -> int:
    """The optimizer's variables per weight, counted on one it builds for a probe."""
    probe = tf.Variable(tf.zeros([3, 7]))
    optimizer = plan.build(learning_rate=0.1)
    optimizer.build([probe])
    return sum(tuple(v.shape) == (3, 7) for v in optimizer.variables)


@dataclass(frozen=True)
class Plan:
    """Everything a fit follows, derived from parameters, targets and data shape."""

    network: NetworkSpec
    objective: Objective
    optimizer: OptimizerPlan
    schedule: Schedule
    stopping: StoppingRule
    batch_size: "str | int"

    def batch_size_for(self, n_samples: int) -> int:
        """Rows per step: L-BFGS always takes the whole data."""
        if self.optimizer.solver == LBFGS:
            return n_samples
        return resolve_batch_size(self.batch_size, n_samples)


def make_plan(
    params: Mapping[str, Any],
    targets: Any,
    n_features: int,
    dtype: str,
    table: TableSpec | None = None,
) -> Plan:
    """The plan for ``params`` (``get_params(deep=False)``), a targets object of
    :mod:`skneural._targets` (the loss and the number of outputs) and data with
    ``n_features`` columns in ``dtype``, read through ``table``'s preprocessing if
    any (adversarial training never moves its categorical columns' codes)."""
    sizes = resolve_hidden_layer_sizes(params["hidden_layer_sizes"])
    n_ensemble = _check_ensemble(params)
    network = NetworkSpec(
        n_features=n_features,
        hidden_layer_sizes=sizes,
        activation=params["activation"],
        kernel_initializer=params["kernel_initializer"],
        dropout=dropout_rates(params["dropout"], len(sizes)),
        batch_normalization=bool(params["batch_normalization"]),
        batch_norm_momentum=float(params["batch_norm_momentum"]),
        residual=bool(params["residual"]),
        n_outputs=targets.n_outputs,
        out_activation=LOSSES[targets.loss].out_activation,
        dtype=dtype,
        table=table,
        n_ensemble=n_ensemble,
        ensemble_sharing=params.get("ensemble_sharing", "none") if n_ensemble > 1 else "none",
    )
    eps = check_budget(params["adversarial_eps"], n_features, "adversarial_eps")
    if table is not None and table.categorical:
        eps = eps.copy()
        eps[list(table.categorical)] = 0.0
    objective = Objective(
        loss=targets.loss,
        loss_options=targets.loss_options,
        alpha=float(params["alpha"]),
        l1=float(params["l1"]),
        adversarial_eps=tuple(eps.tolist()) if np.any(eps > 0) else None,
        adversarial_ratio=float(params["adversarial_ratio"]),
    )
    schedule = Schedule(
        kind=params["learning_rate"],
        learning_rate_init=params["learning_rate_init"],
        power_t=params["power_t"],
        decay_rate=params["lr_decay_rate"],
        decay_epochs=params["lr_decay_epochs"],
        warmup_epochs=params["warmup_epochs"],
        n_epochs=params["max_iter"],
    )
    stopping = StoppingRule(
        max_iter=params["max_iter"],
        max_fun=params["max_fun"],
        tol=params["tol"],
        n_iter_no_change=params["n_iter_no_change"],
        shuffle=params["shuffle"],
        verbose=int(params["verbose"]),
        early_stopping=bool(params["early_stopping"]),
        validation_fraction=params["validation_fraction"],
        scoring=check_scoring(params["scoring"]),
    )
    return Plan(
        network=network,
        objective=objective,
        optimizer=OptimizerPlan.from_params(params),
        schedule=schedule,
        stopping=stopping,
        batch_size=params["batch_size"],
    )


def _check_ensemble(params: Mapping[str, Any]) -> int:
    """``n_ensemble`` as an int, refused where the ensemble cannot train."""
    k = params.get("n_ensemble", 1)
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"n_ensemble must be an integer >= 1, got {k!r}.")
    if k == 1:
        return 1
    if params["solver"] == LBFGS:
        raise ValueError(
            f"n_ensemble={k} trains its members with a stochastic solver; solver='lbfgs' "
            "supports n_ensemble=1 only. Use solver='adam' or 'sgd', or n_ensemble=1."
        )
    if params["batch_normalization"]:
        raise ValueError(
            f"n_ensemble={k} cannot be combined with batch_normalization=True; set "
            "n_ensemble=1 or batch_normalization=False."
        )
    # A layer's members share one variable: a norm taken per variable would span them
    # all, and each member's step would depend on the others'.
    if params["solver"] in _LAYER_NORM_SOLVERS:
        raise ValueError(
            f"n_ensemble={k} cannot be combined with solver={params['solver']!r}: its "
            "trust ratio takes each layer's norm, which would span all the members, so "
            "they would not train independently. Use another solver, or n_ensemble=1."
        )
    if params["clipnorm"] is not None:
        raise ValueError(
            f"n_ensemble={k} cannot be combined with clipnorm={params['clipnorm']!r}: "
            "the norm of each layer's gradient would span all the members, so they "
            "would not train independently. Use clipvalue, or n_ensemble=1."
        )
    return int(k)


#: The solvers whose step scales by a norm of the whole variable (layer).
_LAYER_NORM_SOLVERS = ("lars", "lamb")


def check_continuation(old: Plan, new: Plan) -> None:
    """A warm start keeps the network: refuse a plan whose network differs.

    The initializer only shapes a new network, so changing it is harmless here.
    """
    for field in dataclasses.fields(NetworkSpec):
        before, after = getattr(old.network, field.name), getattr(new.network, field.name)
        if field.name != "kernel_initializer" and before != after:
            _refuse_change(field.name, before, after)


def check_table_continuation(table: TableSpec | None, params: dict) -> None:
    """A warm start keeps the table's preprocessing learned in fit: refuse parameters
    that would have learned another, a changed ``numeric_embedding`` or an explicit
    ``input_scaling`` other than the one learned ('auto' takes what was learned: the
    rule it resolves by has changed since some model files were written)."""
    if table is not None and not table.numeric:
        return  # no numeric column to scale or embed
    changes = [("numeric_embedding", None if table is None else table.numeric_embedding)]
    if params["input_scaling"] != "auto":
        changes.append(("input_scaling", None if table is None else table.scaling))
    for name, learned in changes:
        if params[name] != learned:
            _refuse_change(name, learned, params[name])


def _refuse_change(name: str, before: Any, after: Any) -> None:
    raise ValueError(
        f"warm_start=True keeps the fitted network, but {name} changed from {before!r} "
        f"to {after!r}. Set warm_start=False to train a new network."
    )
