"""MLPClassifierX: binary, multiclass and multilabel classification."""

from numbers import Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d

from ._base import BaseMLPX
from ._columns import is_real_number
from ._compat import Interval, StrOptions, _fit_context
from ._docstrings import fill_doc
from ._params import MLPParams
from ._targets import ClassificationTargets, squeeze


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

    label_smoothing : float, default=0.0
        Trains against softened targets, as Keras's losses do: each one-hot target
        becomes ``(1 - label_smoothing) * y + label_smoothing / n_classes`` (a binary
        or multilabel target ``(1 - label_smoothing) * y + label_smoothing / 2``), which
        keeps the network from pushing its probabilities to 0 and 1. In [0, 1); the
        loss it minimises, ``loss_curve_`` and the validation loss are the smoothed
        cross-entropy. ``0`` is scikit-learn's loss.

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
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
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
        categorical_features="from_dtype",
        min_frequency=None,
        input_scaling="auto",
        numeric_embedding=None,
        scoring=None,
        n_ensemble=1,
        ensemble_sharing="none",
        class_weight=None,
        label_smoothing=0.0,
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
            categorical_features=categorical_features,
            min_frequency=min_frequency,
            input_scaling=input_scaling,
            numeric_embedding=numeric_embedding,
            scoring=scoring,
            n_ensemble=n_ensemble,
            ensemble_sharing=ensemble_sharing,
        )
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing

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

    @available_if(BaseMLPX._check_solver)
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
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _loss_options(self) -> tuple:
        smoothing = float(self.label_smoothing)
        return (("label_smoothing", smoothing),) if smoothing else ()

    def _learn_targets(self, y, previous, incremental: bool, classes):
        targets = self._learn_classes(y, previous, incremental, classes)
        return targets.with_options(self._loss_options())

    def _learn_classes(self, y, previous, incremental: bool, classes):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if incremental and _check_partial_fit_first_call(self, classes):
            if type_of_target(y).startswith("multilabel"):
                return ClassificationTargets.learn(y)
            previous = ClassificationTargets.learn(classes)  # y is checked against them
        elif previous is None:
            return ClassificationTargets.learn(y)
        labels = unique_labels(y)
        if self.warm_start and not incremental:
            if set(labels) != set(previous.classes):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as "
                    f"in the previous call to fit. Previously got {previous.classes}, "
                    f"`y` has {labels}."
                )
        elif len(np.setdiff1d(labels, previous.classes, assume_unique=True)):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{previous.classes}. `y` has {labels}."
            )
        return previous

    def _class_sample_weight(self, y, targets, incremental: bool) -> np.ndarray | None:
        if self.class_weight is None:
            return None
        if targets.multilabel:
            raise ValueError("class_weight is not supported for multilabel targets.")
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one batch "
                "does not show the class frequencies. Pass a dict of class weights."
            )
        if isinstance(self.class_weight, dict):
            _check_class_weight(self.class_weight, unique_labels(y))
        return compute_sample_weight(self.class_weight, column_or_1d(y))

    def _publish(self, network, n_iter: int) -> None:
        super()._publish(network, n_iter)
        self.classes_ = network.targets.classes

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
        outputs = self._outputs(X)  # checks that the estimator is fitted
        return self._network.targets.decode(outputs)

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
        return squeeze(self._outputs(X, logits=True))

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
        outputs = self._outputs(X)  # checks that the estimator is fitted
        return self._network.targets.probabilities(outputs)

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


def _check_class_weight(class_weight: dict, classes: np.ndarray) -> None:
    """Refuse what scikit-learn refuses, saying why: labels that are not ``classes``
    (those of y) while some class has no weight (its message names the classes
    without one, as if they were the labels at fault); and what ``sample_weight`` would
    refuse: each weight must be a finite real number >= 0 (numpy's included)."""
    classes = classes.tolist()
    known = set(classes)
    unknown = [label for label in class_weight if label not in known]
    unweighted = [label for label in classes if label not in class_weight]
    if unknown and unweighted:
        raise ValueError(
            f"class_weight has labels that are not classes of y: {unknown!r}, and classes "
            f"of y without a weight: {unweighted!r}. Give every class of y a weight, or "
            "leave out the labels that are not in y (a class without a weight weighs 1)."
        )
    for label, weight in class_weight.items():
        if not is_real_number(weight) or not np.isfinite(weight) or weight < 0:
            raise ValueError(
                f"class_weight must map each class to a finite number >= 0; got "
                f"{weight!r} for class {label!r}."
            )
