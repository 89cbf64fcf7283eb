"""Targets <-> the network's outputs: what the loss compares, how outputs are read back.

A targets object is learned from ``y`` in a fit and kept with the fitted network
(:mod:`skneural._fitted`). It names the loss and the number of outputs (the plan reads
them), encodes ``y`` as the loss compares it to the outputs (training, the attacks,
scoring), turns outputs back into predictions, scores held-out outputs for early
stopping, and writes itself to and reads itself from the model file as plain data.
"""

from collections.abc import Callable

import numpy as np
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import column_or_1d


def squeeze(outputs: np.ndarray) -> np.ndarray:
    """A single output column as a 1-D array, as scikit-learn returns it."""
    return outputs.ravel() if outputs.shape[1] == 1 else outputs


def _finite_score(
    metric: Callable[[np.ndarray], float],
) -> Callable[[np.ndarray], float]:
    def score(outputs: np.ndarray) -> float:
        return metric(outputs) if np.isfinite(outputs).all() else np.nan

    return score


class ClassificationTargets:
    """Class labels, or a multilabel indicator matrix, as one-hot / sigmoid targets.

    Binary labels use one sigmoid output, multiclass labels a softmax, multilabel
    indicator targets one sigmoid per label.

    Parameters
    ----------
    binarizer : LabelBinarizer
        Fitted on the classes (or on the indicator matrix).
    loss_options : tuple of (str, float) pairs, default=()
        The cross-entropy's keyword options (``label_smoothing``).
    """

    def __init__(self, binarizer: LabelBinarizer, loss_options: tuple = ()):
        self.binarizer = binarizer
        self.loss_options = tuple(loss_options)

    def with_options(self, loss_options: tuple) -> "ClassificationTargets":
        """The same classes with other loss options."""
        return type(self)(self.binarizer, loss_options)

    @classmethod
    def learn(cls, y) -> "ClassificationTargets":
        """From the labels of a fit (or the ``classes`` of a first ``partial_fit``)."""
        targets = cls(LabelBinarizer().fit(y))
        if not targets.multilabel and len(targets.classes) < 2:
            raise ValueError(
                "MLPClassifierX needs samples of at least 2 classes in y; got 1 class: "
                f"{targets.classes.tolist()[0]!r}."
            )
        return targets

    @property
    def classes(self) -> np.ndarray:
        return self.binarizer.classes_

    @property
    def multilabel(self) -> bool:
        return self.binarizer.y_type_ == "multilabel-indicator"

    @property
    def loss(self) -> str:
        return "log_loss" if self.binarizer.y_type_ == "multiclass" else "binary_log_loss"

    @property
    def n_outputs(self) -> int:
        return 1 if self.binarizer.y_type_ == "binary" else len(self.classes)

    def encode(self, y, training: bool = False) -> np.ndarray:
        """``y`` as the loss's targets; refuses labels outside :attr:`classes` (but
        a fit's, ``training``, checked as the fit learned its classes)."""
        y = np.asarray(y)
        if self.multilabel:
            if y.ndim != 2 or y.shape[1] != len(self.classes):
                raise ValueError(
                    f"y must be a label-indicator matrix with {len(self.classes)} "
                    f"columns, as in fit; got shape {y.shape}."
                )
            Y = self.binarizer.transform(y).astype(np.float64)
            if training and not Y.any():
                raise ValueError(
                    "Every row of the multilabel y is all zeros: no label is ever present, "
                    "so there is nothing to learn."
                )
            return Y
        y = column_or_1d(y)
        unseen = [] if training else np.setdiff1d(unique_labels(y), self.classes)
        if len(unseen):
            raise ValueError(
                "y has labels outside classes_ (the classes seen in fit or declared by the "
                f"first partial_fit): {unseen.tolist()}; classes_ is {self.classes.tolist()}."
            )
        # LabelBinarizer's transform (classes_ is sorted) without its checks (~0.8 ms).
        Y = np.zeros((len(y), len(self.classes)))
        Y[np.arange(len(y)), np.searchsorted(self.classes, y)] = 1.0
        return np.ascontiguousarray(Y[:, -self.n_outputs :])

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """The labels the outputs predict: LabelBinarizer's ``inverse_transform`` (the
        largest output's class; above 0.5 for one output), without its input checks,
        which cost a one-row ``predict`` more than the network."""
        outputs = squeeze(outputs)
        if self.multilabel:
            return self.binarizer.inverse_transform(outputs)
        index = outputs > 0.5 if outputs.ndim == 1 else np.argmax(outputs, axis=1)
        return self.classes.take(index.astype(np.intp))

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """One column per class: a binary network's single output is P(classes[1])."""
        return (
            np.hstack([1.0 - outputs, outputs]) if self.binarizer.y_type_ == "binary" else outputs
        )

    def scorer(self, y, sample_weight) -> Callable[[np.ndarray], float]:
        """Accuracy of held-out outputs against ``y`` (the early-stopping score)."""
        return _finite_score(
            lambda outputs: accuracy_score(y, self.decode(outputs), sample_weight=sample_weight)
        )

    def stratify(self, y):
        """Labels to stratify the early-stopping split by, or None."""
        return None if self.multilabel else y

    def to_config(self) -> dict:
        return {
            "kind": "classification",
            "type": self.binarizer.y_type_,
            "classes": self.classes,
            "loss_options": self.loss_options,
        }

    @classmethod
    def from_config(cls, config: dict) -> "ClassificationTargets":
        classes = np.asarray(config["classes"])
        binarizer = LabelBinarizer()
        if config["type"] == "multilabel-indicator":
            binarizer.fit(np.eye(len(classes), dtype=int))
        else:
            binarizer.fit(classes)
        if binarizer.y_type_ != config["type"] or len(binarizer.classes_) != len(classes):
            raise ValueError(f"classes {classes.tolist()} do not make {config['type']!r} targets")
        # Files written before label smoothing existed have no options.
        return cls(binarizer, tuple(map(tuple, config.get("loss_options", ()))))


class RegressionTargets:
    """Numeric targets, one output per target column.

    With ``scaling='standard'`` the network learns each target column standardised
    (minus its mean, over its standard deviation, both from the fit's ``y``; a
    constant column is only centred) and predictions are scaled back, as
    :class:`sklearn.compose.TransformedTargetRegressor` with a ``StandardScaler``.

    Parameters
    ----------
    loss : str
        A regression key of :data:`skneural._registry.LOSSES`.
    loss_options : tuple of (str, float) pairs
        Its keyword options (Huber's ``delta``).
    n_outputs : int
        Target columns.
    scaling : {None, 'standard'}, default=None
        How targets are scaled for the network.
    offset, scale : ndarray of shape (n_outputs,), default=None
        The learned scaling (None without one): the network's targets are
        ``(y - offset) / scale``.
    """

    def __init__(
        self,
        loss: str,
        loss_options: tuple,
        n_outputs: int,
        scaling: str | None = None,
        offset: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ):
        self.loss = loss
        self.loss_options = tuple(loss_options)
        self.n_outputs = n_outputs
        self.scaling = scaling
        self.offset = offset
        self.scale = scale

    @classmethod
    def learn(
        cls, y, loss: str, loss_options: tuple, scaling: str | None = None, previous=None
    ) -> "RegressionTargets":
        """From the targets of a fit; a fit that continues ``previous`` keeps its
        scaling, so that the network goes on learning the same targets."""
        if loss == "poisson" and np.any(np.asarray(y) < 0):
            raise ValueError(
                "loss='poisson' needs non-negative targets; y has negative values "
                f"(minimum {np.min(y)})."
            )
        if loss == "poisson" and scaling is not None:
            raise ValueError(
                "target_scaling must be None with loss='poisson': its exponential output "
                f"predicts non-negative counts, which standardised targets are not; got "
                f"target_scaling={scaling!r}."
            )
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if previous is not None:
            if previous.scaling != scaling:
                raise ValueError(
                    f"target_scaling={scaling!r} differs from the {previous.scaling!r} the "
                    "network was fitted with; a warm start or partial_fit continues the "
                    "same targets. Set warm_start=False to fit anew."
                )
            return cls(loss, loss_options, Y.shape[1], scaling, previous.offset, previous.scale)
        if scaling is None:
            return cls(loss, loss_options, Y.shape[1])
        offset = Y.mean(axis=0)
        scale = Y.std(axis=0)
        if not (np.isfinite(offset).all() and np.isfinite(scale).all()):
            raise ValueError(
                "target_scaling='standard' needs targets whose mean and standard deviation "
                "are finite; y's are not (values too large for float64?)."
            )
        scale[scale == 0] = 1.0
        return cls(loss, loss_options, Y.shape[1], scaling, offset, scale)

    def encode(self, y, training: bool = False) -> np.ndarray:
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if Y.shape[1] != self.n_outputs:
            raise ValueError(
                f"y has {Y.shape[1]} target columns, but the estimator was fitted on "
                f"{self.n_outputs}."
            )
        return Y if self.scaling is None else (Y - self.offset) / self.scale

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        if self.scaling is not None:
            outputs = outputs * self.scale + self.offset
        return squeeze(outputs)

    def scorer(self, y, sample_weight) -> Callable[[np.ndarray], float]:
        """R² of held-out outputs against ``y`` (the early-stopping score)."""
        return _finite_score(
            lambda outputs: r2_score(y, self.decode(outputs), sample_weight=sample_weight)
        )

    def stratify(self, y):
        return None

    def to_config(self) -> dict:
        config = {
            "kind": "regression",
            "loss": self.loss,
            "loss_options": self.loss_options,
            "n_outputs": self.n_outputs,
        }
        if self.scaling is not None:
            config["scaling"] = {
                "kind": self.scaling,
                "offset": self.offset.tolist(),
                "scale": self.scale.tolist(),
            }
        return config

    @classmethod
    def from_config(cls, config: dict) -> "RegressionTargets":
        n_outputs = config["n_outputs"]
        loss = (config["loss"], tuple(map(tuple, config["loss_options"])), n_outputs)
        scaling = config.get("scaling")  # files written before target_scaling have none
        if scaling is None:
            return cls(*loss)
        if scaling.get("kind") != "standard":
            raise ValueError(f"unknown target scaling {scaling.get('kind')!r:.40}")
        offset, scale = (np.asarray(scaling[key], dtype=np.float64) for key in ("offset", "scale"))
        if offset.shape != (n_outputs,) or scale.shape != (n_outputs,):
            raise ValueError(
                f"the target scaling must have {n_outputs} offsets and scales, got "
                f"shapes {offset.shape} and {scale.shape}"
            )
        if not (np.isfinite(offset).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("the target scaling must have finite offsets and positive scales")
        return cls(*loss, "standard", offset, scale)


def targets_from_config(config: dict):
    """The targets object a model file describes."""
    kinds = {"classification": ClassificationTargets, "regression": RegressionTargets}
    if config.get("kind") not in kinds:
        raise ValueError(f"unknown kind of targets {config.get('kind')!r}")
    return kinds[config["kind"]].from_config(config)
