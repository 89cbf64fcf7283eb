"""The ``fit`` template shared by both estimators.

``fit`` / ``partial_fit`` -> validate data and encode targets (subclass) -> resolve the
network spec -> build the Keras network and optimizer -> :func:`run_epochs` -> fitted
attributes and the numpy inference snapshot. The classifier and the regressor override
only target encoding, the loss, the validation score and prediction.
"""

import dataclasses
import math
import warnings
from abc import abstractmethod
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import tensorflow as tf
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from ._compat import _check_sample_weight, validate_data
from ._compiled import POOL, Objective, TrainData
from ._config import (
    NetworkSpec,
    adversarial_budget,
    draw_seed,
    dropout_rates,
    make_rng,
    resolve_batch_size,
    resolve_hidden_layer_sizes,
)
from ._diagnostics import diagnose
from ._inference import ForwardPass
from ._network import build_network, dense_layers
from ._params import MLPParams
from ._registry import LOSSES, OPTIMIZERS
from ._schedules import Schedule
from ._training import StoppingRule, TrainingState, Validation, run_epochs

# Parameters whose change between two warm-started fits means a different optimizer.
_OPTIMIZER_PARAMS = (
    "solver", "momentum", "nesterovs_momentum", "beta_1", "beta_2", "epsilon",
    "weight_decay", "rho", "clipnorm", "clipvalue", "lars_eta",
)  # fmt: skip


class BaseMLPX(MLPParams):
    """Base class of :class:`MLPClassifierX` and :class:`MLPRegressorX`; not public."""

    # -- what subclasses provide -------------------------------------------------

    #: Whether ``y`` must be numeric (regression) or may hold any labels.
    _numeric_targets: bool = True

    @abstractmethod
    def _encode_targets(self, y, incremental: bool) -> np.ndarray:
        """Validate ``y`` and return it as a 2-D float array the loss compares to."""

    @abstractmethod
    def _loss_name(self) -> str:
        """Key of the training loss in :data:`skneural._registry.LOSSES`."""

    @abstractmethod
    def _loss_targets(self, y) -> np.ndarray:
        """``y`` encoded as the fitted loss compares it to the outputs (for attacks);
        the fitted state is not changed."""

    def _loss_options(self) -> dict[str, float]:
        """Keyword options of the training loss (none by default)."""
        return {}

    @abstractmethod
    def _scorer(self, y, sample_weight) -> Any:
        """A function of the model's outputs on held-out ``y`` (higher is better)."""

    def _class_sample_weight(self, y, incremental: bool) -> np.ndarray | None:
        """Per-sample weights implied by ``class_weight``; None when there are none."""
        return None

    def _stratify(self, y):
        """Labels to stratify the early-stopping split by, or None."""
        return None

    # -- fitting -----------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental: bool):
        """Validate, then train; an error never leaves a half-built fit.

        An exception (a ``KeyboardInterrupt`` during an epoch is handled inside the
        loop: see :func:`run_epochs`) unfits an estimator being fitted afresh, and
        re-publishes the attributes of one being warm-started or partially fitted
        (validation of their input changes nothing), so that the attributes match
        its network; then it propagates.
        """
        _check_strategy(type(self).__name__)
        first_pass = not hasattr(self, "model_") or not (self.warm_start or incremental)
        try:
            X, Y, y, sample_weight = self._validate_training_data(
                X, y, sample_weight, incremental, first_pass
            )
            self._train(X, Y, y, sample_weight, incremental, first_pass)
        except BaseException:
            if first_pass:
                self._forget_fit()
            else:
                self._publish()
            raise
        return self

    # Private attributes a fit sets (besides model_ and the public ones ending in _).
    _FIT_STATE = (
        "_spec", "_rng", "_state", "_forward", "_label_binarizer", "_input_range",
        "_optimizer_params", "_record_frames",
    )  # fmt: skip

    def _forget_fit(self) -> None:
        for name in list(vars(self)):
            if name in self._FIT_STATE or (name.endswith("_") and not name.startswith("_")):
                delattr(self, name)

    def _validate_training_data(self, X, y, sample_weight, incremental: bool, first_pass: bool):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            y_numeric=self._numeric_targets,
            reset=first_pass,
        )
        if sp.issparse(X):
            X = X.toarray()
        Y = self._encode_targets(y, incremental)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        class_weight = self._class_sample_weight(y, incremental)
        if class_weight is not None:
            sample_weight = sample_weight * class_weight
        return X, Y, y, sample_weight

    def _train(self, X, Y, y, sample_weight, incremental: bool, first_pass: bool) -> None:
        dtype = X.dtype.name if first_pass else self.model_.inputs[0].dtype
        low, high = X.min(axis=0), X.max(axis=0)
        if not first_pass:
            low, high = (
                np.minimum(low, self._input_range[0]),
                np.maximum(high, self._input_range[1]),
            )
        self._input_range = (low, high)  # clip='data' of the attacks
        if first_pass:
            self._initialize(X.shape[1], Y.shape[1], dtype)
        elif not incremental:
            self._check_warm_start(Y.shape[1])
            self._state.learning_rate = self.learning_rate_init

        data, validation = self._training_data(X, Y, y, sample_weight, dtype, incremental)

        if not incremental:
            self._state.schedule_epoch = 0
        n_epochs = len(self._state.history)
        with POOL.borrow(self._spec, self.model_, self._objective(X.shape[1])) as runner:
            self.n_iter_ = run_epochs(
                runner,
                self._state,
                data,
                validation,
                Schedule(
                    kind=self.learning_rate,
                    learning_rate_init=self.learning_rate_init,
                    power_t=self.power_t,
                    decay_rate=self.lr_decay_rate,
                    decay_epochs=self.lr_decay_epochs,
                    warmup_epochs=self.warmup_epochs,
                    n_epochs=self.max_iter,
                ),
                StoppingRule(
                    max_iter=self.max_iter,
                    tol=self.tol,
                    n_iter_no_change=self.n_iter_no_change,
                    shuffle=self.shuffle,
                    verbose=int(self.verbose),
                ),
                resolve_batch_size(self.batch_size, data.n_samples),
                self._rng,
                incremental,
            )
        self._publish()
        if first_pass or not incremental:
            diagnose(self, first_epoch=n_epochs)

    def _loss_objective(self) -> Objective:
        """The loss alone, without penalties or adversarial training (the attacks')."""
        return Objective(self._loss_name(), tuple(sorted(self._loss_options().items())))

    def _objective(self, n_features: int) -> Objective:
        """The loss, penalties and adversarial training the current parameters ask for."""
        eps = None
        if np.any(np.asarray(self.adversarial_eps) > 0):
            eps = tuple(adversarial_budget(self.adversarial_eps, n_features))
        return dataclasses.replace(
            self._loss_objective(),
            alpha=float(self.alpha),
            l1=float(self.l1),
            adversarial_eps=eps,
            adversarial_ratio=float(self.adversarial_ratio),
        )

    def _network_spec(self, n_features: int, n_outputs: int, dtype: str) -> NetworkSpec:
        """The network the current parameters describe for data of this shape."""
        sizes = resolve_hidden_layer_sizes(self.hidden_layer_sizes)
        return NetworkSpec(
            n_features=n_features,
            hidden_layer_sizes=sizes,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            dropout=dropout_rates(self.dropout, len(sizes)),
            batch_normalization=bool(self.batch_normalization),
            batch_norm_momentum=float(self.batch_norm_momentum),
            residual=bool(self.residual),
            n_outputs=n_outputs,
            out_activation=LOSSES[self._loss_name()].out_activation,
            dtype=dtype,
        )

    def _initialize(self, n_features: int, n_outputs: int, dtype: str) -> None:
        self._spec = self._network_spec(n_features, n_outputs, dtype)
        self._rng = make_rng(self.random_state)
        self.model_ = build_network(self._spec, self._rng)
        self._compile_optimizer()
        self._state = TrainingState(learning_rate=self.learning_rate_init)

    def _compile_optimizer(self) -> None:
        if self.clipnorm is not None and self.clipvalue is not None:
            raise ValueError(
                "clipnorm and clipvalue cannot both be set (the optimizer clips one way); "
                f"got clipnorm={self.clipnorm!r} and clipvalue={self.clipvalue!r}."
            )
        optimizer = OPTIMIZERS[self.solver](self)
        self.model_.compile(optimizer=optimizer)
        optimizer.build(self.model_.trainable_variables)
        self._optimizer_params = self._current_optimizer_params()

    def _current_optimizer_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _OPTIMIZER_PARAMS}

    def _check_warm_start(self, n_outputs: int) -> None:
        """A warm start keeps the network: refuse parameters that would change it."""
        old = self._spec
        new = self._network_spec(old.n_features, n_outputs, old.dtype)
        # The initializer only shapes a new network, so changing it is harmless here.
        for field in dataclasses.fields(NetworkSpec):
            before, after = getattr(old, field.name), getattr(new, field.name)
            if field.name != "kernel_initializer" and before != after:
                raise ValueError(
                    f"warm_start=True keeps the fitted network, but {field.name} changed "
                    f"from {before!r} to {after!r}. Set warm_start=False to train a new "
                    "network."
                )
        if self._current_optimizer_params() != self._optimizer_params:
            # A different optimizer cannot continue the old one's state.
            self._compile_optimizer()

    def _training_data(self, X, Y, y, sample_weight, dtype, incremental: bool):
        """The tensors to train on, and the held-out set for early stopping (or None).

        With early stopping, ``validation_fraction`` of the data is held out,
        stratified where possible. When that would leave fewer than 2 samples to
        score, a warning says so and training uses all the data and the training-loss
        stopping rule, as without early stopping. ``partial_fit`` never holds out.
        """
        if not self.early_stopping or incremental:
            return TrainData.from_arrays(X, Y, sample_weight, dtype), None
        n_samples = X.shape[0]
        n_val = math.ceil(self.validation_fraction * n_samples)
        if n_val < 2 or n_samples - n_val < 1:
            warnings.warn(
                f"early_stopping=True, but validation_fraction={self.validation_fraction} "
                f"of {n_samples} samples holds out {n_val}, and at least 2 are needed "
                "(with at least 1 left to train on). Training on all samples without "
                "early stopping; increase validation_fraction or the data to use it.",
                UserWarning,
            )
            return TrainData.from_arrays(X, Y, sample_weight, dtype), None
        stratify = self._stratify(y)
        if stratify is not None:
            counts = np.unique(stratify, return_counts=True)[1]
            # A stratified split needs 2 samples of every class and one of each on
            # both sides; otherwise the split is made without stratification.
            if counts.min() < 2 or min(n_val, n_samples - n_val) < len(counts):
                stratify = None
        train, val = train_test_split(
            np.arange(n_samples),
            test_size=n_val,
            random_state=draw_seed(self._rng),
            stratify=stratify,
        )
        if not sample_weight[val].any():
            warnings.warn(
                "early_stopping=True, but every sample held out for validation has "
                "sample_weight 0, so there is no score to stop on. Training on all samples "
                "without early stopping.",
                UserWarning,
            )
            return TrainData.from_arrays(X, Y, sample_weight, dtype), None
        data = TrainData.from_arrays(X[train], Y[train], sample_weight[train], dtype)
        held_out = TrainData.from_arrays(X[val], Y[val], sample_weight[val], dtype)
        return data, Validation(held_out, self._scorer(y[val], sample_weight[val]))

    def _publish(self) -> None:
        """Set scikit-learn's fitted attributes from the model and the loop state."""
        state = self._state
        self.t_ = state.t
        # nan when the first epoch diverged and the initial weights were restored.
        self.loss_ = state.loss_curve[-1] if state.loss_curve else math.nan
        self.loss_curve_ = list(state.loss_curve)
        self.best_loss_ = state.best_loss
        self.validation_scores_ = (
            None if state.validation_scores is None else list(state.validation_scores)
        )
        self.best_validation_score_ = state.best_validation_score
        layers = dense_layers(self.model_)
        self.coefs_ = [layer.kernel.numpy() for layer in layers]
        self.intercepts_ = [layer.bias.numpy() for layer in layers]
        self.n_layers_ = len(layers) + 1
        self.n_outputs_ = self._spec.n_outputs
        self.out_activation_ = self._spec.out_activation
        self._forward = ForwardPass(self.model_, self._spec)

    # The per-epoch records are DataFrames built when first read after an epoch, not
    # by every fit: partial_fit over a long stream would rebuild them on every call.

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
        state = vars(self).get("_state")
        if state is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        cached = vars(self).get("_record_frames")
        if cached is not None and cached[0] is state and cached[1] == len(state.history):
            return cached[2]
        epochs = pd.RangeIndex(1, len(state.history) + 1, name="epoch")
        layers = [layer.name for layer in dense_layers(self.model_)]
        frames = (
            pd.DataFrame(state.history, index=epochs),
            pd.DataFrame(
                np.reshape(state.gradient_norms, (len(epochs), len(layers))),
                index=epochs,
                columns=pd.Index(layers, name="layer"),
            ),
            pd.DataFrame(
                np.reshape(state.dead_fractions, (len(epochs), len(layers) - 1)),
                index=epochs,
                columns=pd.Index(layers[:-1], name="layer"),
            ),
        )
        self._record_frames = (state, len(state.history), frames)
        return frames

    # -- inference ---------------------------------------------------------------

    @staticmethod
    def _squeeze(outputs: np.ndarray) -> np.ndarray:
        """A single output column as a 1-D array, as scikit-learn returns it."""
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    def _outputs(self, X, logits: bool = False) -> np.ndarray:
        """The network's output on validated ``X``, after the output activation unless
        ``logits``."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False
        )
        if sp.issparse(X):
            X = X.toarray()
        return self._forward(X, logits=logits)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
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
