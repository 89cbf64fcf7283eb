"""The ``fit`` template shared by both estimators.

``fit`` / ``partial_fit`` -> validate data -> targets (subclass) -> plan
(:mod:`skneural._plan`) -> a new or continued :class:`~skneural._fitted.FittedNetwork`
-> train -> scikit-learn's fitted attributes, copied from the fitted network. The
classifier and the regressor override only how targets are learned and how outputs
become predictions.
"""

import math
from abc import abstractmethod
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf

from ._compat import _check_sample_weight
from ._diagnostics import diagnose
from ._fitted import FittedNetwork, network_of
from ._inputs import prediction_input, training_input
from ._memory import check_memory, out_of_memory_named
from ._params import MLPParams
from ._plan import check_table_continuation, make_plan
from ._prefetch import prefetch
from ._registry import LBFGS


class BaseMLPX(MLPParams):
    """Base class of :class:`MLPClassifierX` and :class:`MLPRegressorX`; not public."""

    # -- what subclasses provide -------------------------------------------------

    #: Whether ``y`` must be numeric (regression) or may hold any labels.
    _numeric_targets: bool = True

    @abstractmethod
    def _learn_targets(self, y, previous, incremental: bool, classes):
        """The targets object of :mod:`skneural._targets` this fit trains for;
        ``previous`` is the fitted network's when the fit continues it, else None."""

    @abstractmethod
    def _loss_options(self) -> tuple:
        """The loss's keyword options the parameters set, as (name, value) pairs."""

    def _class_sample_weight(self, y, targets, incremental: bool) -> np.ndarray | None:
        """Per-sample weights implied by ``class_weight``; None when there are none."""
        return None

    def _check_solver(self) -> bool:
        """``partial_fit`` exists for the stochastic solvers only (scikit-learn's rule)."""
        if self.solver == LBFGS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    # -- fitting -----------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental: bool, classes=None):
        """Validate, then train; an error never leaves a half-built fit.

        Input that is refused leaves the estimator exactly as it was (a fitted one
        stays fitted). An exception during training (a ``KeyboardInterrupt`` during
        an epoch is handled inside the loop: see :class:`skneural._training.EpochLoop`)
        puts back what the estimator had before a fresh fit, or before a warm start
        or partial fit that completed no epoch (its network's plan, optimizer,
        generator and record too), and otherwise re-publishes the attributes of the
        network continued, which trained in place up to its last complete call of
        the compiled epochs (one or several epochs); then it propagates. A
        continuation interrupted before its first epoch returns having changed
        nothing.
        """
        _check_strategy(type(self).__name__)
        prefetch()  # a process's first fit: its stored graph instantiated meanwhile
        before = dict(vars(self))
        previous = vars(self).get("_network")
        continuing = previous is not None and (self.warm_start or incremental)
        try:
            if continuing:
                check_table_continuation(previous.table, self.get_params(deep=False))
            X, y, table, statistics = training_input(
                self,
                X,
                y,
                previous.table if continuing else None,
                learn=not continuing,
                numeric_targets=self._numeric_targets,
            )
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
            targets = self._learn_targets(
                y, previous.targets if continuing else None, incremental, classes
            )
            Y = targets.encode(y, training=True)
            class_weight = self._class_sample_weight(y, targets, incremental)
            if class_weight is not None:
                sample_weight = sample_weight * class_weight
                if not sample_weight.any():
                    raise ValueError(
                        "class_weight and sample_weight together give every sample "
                        "weight 0, so nothing would be learned."
                    )
            dtype = previous.plan.network.dtype if continuing else X.dtype.name
            plan = make_plan(self.get_params(deep=False), targets, X.shape[1], dtype, table)
            batch_size = plan.batch_size_for(X.shape[0])
            check_memory(plan.network, batch_size, plan.optimizer.weight_copies())
            # scikit-learn continues from coefs_ / intercepts_ as they are now, also
            # when they were assigned by hand before a first partial_fit.
            assigned = (continuing or self.warm_start or incremental) and "coefs_" in before
            if continuing:
                # The assigned weights first: refused, they leave the optimizer's state
                # as it was (a changed optimizer setting starts a new one).
                if assigned:
                    previous.adopt_weights(before["coefs_"], before.get("intercepts_"))
                checkpoint = previous.checkpoint()
                previous.continue_with(plan, targets)
                network = previous
            else:
                with out_of_memory_named(plan.network, batch_size):
                    network = FittedNetwork.build(plan, targets, self.random_state, statistics)
                if assigned:
                    network.adopt_weights(before["coefs_"], before.get("intercepts_"))
        except BaseException:
            _put_back(self, before)
            raise
        first_epoch = network.n_epochs
        try:
            with out_of_memory_named(plan.network, batch_size):
                n_iter = network.train(X, Y, y, sample_weight, incremental)
        except BaseException:
            if continuing and network.n_epochs > first_epoch:
                self._publish(network, network.n_epochs - first_epoch)
            else:  # refused before an epoch completed (a scorer that fails, say)
                if continuing:
                    network.rollback(checkpoint)
                _put_back(self, before)
            raise
        if continuing and network.n_epochs == first_epoch:
            # Interrupted before its first epoch (the loop warned): it changed nothing.
            network.rollback(checkpoint)
            _put_back(self, before)
            return self
        self._publish(network, n_iter)
        if not continuing or not incremental:
            diagnose(self, first_epoch=first_epoch)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        # Fitted means trained (or loaded), not merely holding attributes ending in
        # "_": coefs_ assigned by hand before a first partial_fit are a starting point.
        return "_network" in vars(self)

    def _publish(self, network: FittedNetwork, n_iter: int) -> None:
        """Set scikit-learn's fitted attributes from the fitted network."""
        self._network = network
        self.n_iter_ = n_iter
        record = network.record
        self.t_ = record.t
        # nan when the first epoch diverged and the initial weights were restored.
        self.loss_ = record.loss_curve[-1] if record.loss_curve else math.nan
        self.loss_curve_ = list(record.loss_curve)
        self.best_loss_ = record.best_loss
        self.validation_scores_ = (
            None if record.validation_scores is None else list(record.validation_scores)
        )
        self.best_validation_score_ = record.best_validation_score
        self.coefs_, self.intercepts_ = network.weights()
        self.embeddings_ = network.embeddings()
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = network.plan.network.n_outputs
        self.out_activation_ = network.plan.network.out_activation

    def _adopt(self, network: FittedNetwork, attributes: dict[str, Any]) -> None:
        """Become fitted with ``network`` and the data attributes (``n_features_in_``,
        ``feature_names_in_``, ``n_iter_``) a model file kept."""
        for name, value in attributes.items():
            setattr(self, name, value)
        self._publish(network, attributes.get("n_iter_", 0))

    @property
    def model_(self):
        # Built from the fitted network's arrays when first read (see _network_arrays).
        network = vars(self).get("_network")
        if network is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute 'model_'")
        return network.model

    # The per-epoch records are DataFrames the fitted network builds when read.

    @property
    def history_(self) -> pd.DataFrame:
        return self._records("history_")[0]

    @property
    def gradient_norms_(self) -> pd.DataFrame:
        return self._records("gradient_norms_")[1]

    @property
    def dead_units_(self) -> pd.DataFrame:
        return self._records("dead_units_")[2]

    def _records(self, name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        network = vars(self).get("_network")
        if network is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return network.records()

    # -- inference ---------------------------------------------------------------

    def _outputs(self, X, logits: bool = False) -> np.ndarray:
        """The network's output on validated ``X``, after the output activation unless
        ``logits``."""
        network = network_of(self)
        return network.forward(prediction_input(self, X, network.table), logits=logits)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # Missing values are filled inside the network (see input_scaling).
        tags.input_tags.allow_nan = True
        return tags


def _check_strategy(estimator: str) -> None:
    """Refuse the tf.distribute strategies whose replicas the compiled epoch cannot run.

    The epoch calls ``strategy.run`` once per minibatch inside one ``tf.function``:
    that serves MirroredStrategy, MultiWorkerMirroredStrategy and OneDeviceStrategy.
    A ParameterServerStrategy schedules functions through a ClusterCoordinator, and a
    TPUStrategy needs shapes that XLA can compile, which minibatches gathered by index
    in a loop are not.
    """
    strategy = tf.distribute.get_strategy()
    unsupported = (tf.distribute.experimental.ParameterServerStrategy, tf.distribute.TPUStrategy)
    if tf.distribute.has_strategy() and isinstance(strategy, unsupported):
        raise NotImplementedError(
            f"{estimator} cannot train inside a {type(strategy).__name__} scope: it runs "
            "its minibatch steps with strategy.run inside one compiled function, which "
            "MirroredStrategy, MultiWorkerMirroredStrategy and OneDeviceStrategy support."
        )


def _put_back(estimator, attributes: dict) -> None:
    """Return ``estimator`` to the attributes it had (fitted or not)."""
    vars(estimator).clear()
    vars(estimator).update(attributes)
