"""MLPClassifierX: binary, multiclass and multilabel classification."""

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseMLPX
from ._compat import StrOptions, _fit_context
from ._docstrings import fill_doc
from ._params import MLPParams


@fill_doc
class MLPClassifierX(ClassifierMixin, BaseMLPX):
    """Multi-layer perceptron classifier on a Keras 3 / TensorFlow network.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the same parameters,
    defaults and fitted attributes, plus the levers of a Keras network (initializers,
    more activations and optimizers, dropout, L1, batch normalization, class weights).
    Binary targets use one sigmoid output, multiclass targets a softmax, multilabel
    indicator targets one sigmoid per label; the loss is the matching cross-entropy.

    Parameters
    ----------
    %(network_parameters)s

    %(training_parameters)s

    %(extra_parameters)s

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; 'balanced' uses
        ``n_samples / (n_classes * np.bincount(y))``. Not available for multilabel
        targets, nor 'balanced' in ``partial_fit``.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        The class labels (for multilabel targets, the label indices).

    %(fitted_attributes)s

    See Also
    --------
    MLPRegressorX : The regressor on the same machinery.
    sklearn.neural_network.MLPClassifier : scikit-learn's own MLP.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import train_test_split
    >>> from skneural import MLPClassifierX
    >>> X, y = load_iris(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = MLPClassifierX(hidden_layer_sizes=(32,), learning_rate_init=0.01,
    ...                      max_iter=300, random_state=0).fit(X_train, y_train)
    >>> clf.predict_proba(X_test[:1]).shape
    (1, 3)
    >>> clf.score(X_test, y_test) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **MLPParams._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _numeric_targets = False

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        kernel_initializer="glorot_uniform",
        dropout=0.0,
        l1=0.0,
        batch_normalization=False,
        weight_decay=None,
        rho=0.9,
        residual=False,
        clipnorm=None,
        clipvalue=None,
        lars_eta=0.001,
        lr_decay_rate=0.5,
        lr_decay_epochs=10,
        warmup_epochs=0,
        adversarial_eps=0.0,
        adversarial_ratio=0.5,
        batch_norm_momentum=0.9,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            kernel_initializer=kernel_initializer,
            dropout=dropout,
            l1=l1,
            batch_normalization=batch_normalization,
            weight_decay=weight_decay,
            rho=rho,
            residual=residual,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            lars_eta=lars_eta,
            lr_decay_rate=lr_decay_rate,
            lr_decay_epochs=lr_decay_epochs,
            warmup_epochs=warmup_epochs,
            adversarial_eps=adversarial_eps,
            adversarial_ratio=adversarial_ratio,
            batch_norm_momentum=batch_norm_momentum,
        )
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None):
        """Train the network on ``X`` and labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a DataFrame's column names are remembered and checked at
            prediction. Sparse input is densified.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss, the early-stopping
            split and the validation score.

        Returns
        -------
        self : MLPClassifierX
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ):
        """Train for one epoch over ``X``, continuing from the current state.

        The stopping rules (``tol``, ``early_stopping``) do not apply: deciding when
        to stop is left to the caller.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call,
            ignored afterwards (and for multilabel targets).

        Returns
        -------
        self : MLPClassifierX
            The updated estimator.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
            self._check_n_classes()
        return self._fit(X, y, sample_weight, incremental=True)

    def _encode_targets(self, y, incremental: bool) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
            self._check_n_classes()
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as "
                        f"in the previous call to fit. Previously got {self.classes_}, "
                        f"`y` has {classes}."
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. `y` has {classes}."
                )
        Y = self._label_binarizer.transform(y).astype(np.float64)
        if self._label_binarizer.y_type_ == "multilabel-indicator" and not Y.any():
            raise ValueError(
                "Every row of the multilabel y is all zeros: no label is ever present, "
                "so there is nothing to learn."
            )
        return Y

    def _loss_targets(self, y) -> np.ndarray:
        y = np.asarray(y)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y must be a label-indicator matrix with {len(self.classes_)} "
                    f"columns, as in fit; got shape {y.shape}."
                )
        else:
            y = column_or_1d(y)
            unseen = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unseen):
                raise ValueError(
                    f"y has labels not seen in fit: {unseen.tolist()}; the classes are "
                    f"{self.classes_.tolist()}."
                )
        return self._label_binarizer.transform(y).astype(np.float64)

    def _check_n_classes(self) -> None:
        if self._label_binarizer.y_type_ != "multilabel-indicator" and len(self.classes_) < 2:
            raise ValueError(
                "MLPClassifierX needs samples of at least 2 classes in y; got 1 class: "
                f"{self.classes_.tolist()[0]!r}."
            )

    def _loss_name(self) -> str:
        return "log_loss" if self._label_binarizer.y_type_ == "multiclass" else "binary_log_loss"

    def _class_sample_weight(self, y, incremental: bool) -> np.ndarray | None:
        if self.class_weight is None:
            return None
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets.")
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one batch "
                "does not show the class frequencies. Pass a dict of class weights."
            )
        return compute_sample_weight(self.class_weight, column_or_1d(y))

    def _stratify(self, y):
        return y if self._label_binarizer.y_type_ != "multilabel-indicator" else None

    def _scorer(self, y, sample_weight) -> Callable[[np.ndarray], float]:
        def score(outputs: np.ndarray) -> float:
            if not np.isfinite(outputs).all():
                return np.nan
            return accuracy_score(y, self._decode(outputs), sample_weight=sample_weight)

        return score

    def _decode(self, outputs: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(self._squeeze(outputs))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict class labels (or the label-indicator matrix for multilabel).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The predicted classes.
        """
        return self._decode(self._outputs(X))

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy on ``X`` against ``y`` (subset accuracy for multilabel).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            True labels; every label must be one of ``classes_`` (a label never
            seen in fit is refused with an error naming it, rather than counted as
            a silent miss).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        self._loss_targets(y)  # refuses labels not seen in fit, and wrong shapes
        return super().score(X, y, sample_weight=sample_weight)

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """The output layer's values before the sigmoid or softmax (the logits).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary targets, the logit of ``classes_[1]``; otherwise one logit
            per class (or per label for multilabel targets).
        """
        return self._squeeze(self._outputs(X, logits=True))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities in the order of ``classes_``; for multilabel
            targets, the probability of each label independently.
        """
        outputs = self._outputs(X)
        if self._label_binarizer.y_type_ == "binary":
            return np.hstack([1.0 - outputs, outputs])
        return outputs

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Natural logarithm of the class probabilities.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
