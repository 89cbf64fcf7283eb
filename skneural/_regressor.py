"""MLPRegressorX: single- and multi-output regression."""

from numbers import Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if

from ._base import BaseMLPX
from ._compat import Interval, StrOptions, _fit_context
from ._docstrings import fill_doc
from ._params import MLPParams
from ._targets import RegressionTargets


@fill_doc
class MLPRegressorX(RegressorMixin, BaseMLPX):
    """Multi-layer perceptron regressor on a Keras 3 / TensorFlow network.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`: the same parameters,
    defaults and fitted attributes, plus the levers of a Keras network (initializers,
    more activations and optimizers, dropout, L1, batch normalization). The output
    layer is linear for the squared error and exponential for the Poisson loss.

    Parameters
    ----------
    loss : {'squared_error', 'absolute_error', 'huber', 'poisson'}, \
default='squared_error'
        Training loss, averaged over outputs: half the squared error (scikit-learn's
        MLP loss), the absolute error, the Huber loss (quadratic within
        ``huber_delta`` of the target, linear beyond: robust to outliers), or half
        the Poisson deviance with a log link (targets must then be non-negative; the
        output layer is exponential).

    %(network_parameters)s

    %(training_parameters)s

    %(extra_parameters)s

    huber_delta : float, default=1.0
        Where the Huber loss turns from quadratic to linear, in units of the target
        the network learns (standardised units with ``target_scaling='standard'``).

    target_scaling : {None, 'standard'}, default=None
        ``'standard'``: the network learns each target column minus its mean, over
        its standard deviation (both from the fit's ``y``), and predictions are scaled
        back, as :class:`sklearn.compose.TransformedTargetRegressor` with a
        ``StandardScaler``. Targets in the thousands (prices, counts) then start where
        the initial weights can reach them. ``loss_curve_`` is in standardised units.
        A warm start or ``partial_fit`` keeps the scaling of the first fit. Not with
        ``loss='poisson'``.

    Attributes
    ----------
    %(fitted_attributes)s

    See Also
    --------
    MLPClassifierX : The classifier on the same machinery.
    sklearn.neural_network.MLPRegressor : scikit-learn's own MLP.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skneural import MLPRegressorX
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = MLPRegressorX(hidden_layer_sizes=(32,), learning_rate_init=0.01,
    ...                     max_iter=300, random_state=0).fit(X, y / 100)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.score(X, y / 100) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **MLPParams._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "poisson"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "target_scaling": [StrOptions({"standard"}), None],
    }

    def __init__(
        self,
        loss="squared_error",
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
        huber_delta=1.0,
        target_scaling=None,
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
        self.loss = loss
        self.huber_delta = huber_delta
        self.target_scaling = target_scaling

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None):
        """Train the network on ``X`` and targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a DataFrame's column names are remembered and checked at
            prediction. Sparse input is densified.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss, the early-stopping
            split and the validation score.

        Returns
        -------
        self : MLPRegressorX
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(BaseMLPX._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None):
        """Train for one epoch over ``X``, continuing from the current state.

        The stopping rules (``tol``, ``early_stopping``) do not apply: deciding when
        to stop is left to the caller.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : MLPRegressorX
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _loss_options(self) -> tuple:
        return (("delta", float(self.huber_delta)),) if self.loss == "huber" else ()

    def _learn_targets(self, y, previous, incremental: bool, classes):
        return RegressionTargets.learn(
            y, self.loss, self._loss_options(), self.target_scaling, previous
        )

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        outputs = self._outputs(X)  # checks that the estimator is fitted
        return self._network.targets.decode(outputs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
