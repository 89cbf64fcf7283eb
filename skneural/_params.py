"""The constructor parameters shared by both estimators: declared, constrained, stored.

``__init__`` only stores its arguments, as scikit-learn requires; every value is
checked against ``_parameter_constraints`` when ``fit`` starts (``_fit_context``).
The allowed names come from the registries, so adding an optimizer there is enough
to make it a valid ``solver``.
"""

import inspect
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator

from ._compat import HasMethods, Interval, Options, StrOptions
from ._ensemble import SHARINGS
from ._registry import ACTIVATIONS, INITIALIZERS, LBFGS, OPTIMIZERS
from ._schedules import SCHEDULES
from ._table import NUMERIC_EMBEDDINGS, SCALINGS


class MLPParams(BaseEstimator, metaclass=ABCMeta):
    """Stores and declares the parameters common to both estimators; not public."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({*OPTIMIZERS, LBFGS})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "kernel_initializer": [
            StrOptions(set(INITIALIZERS)),
            HasMethods(["get_config", "__call__"]),
        ],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "l1": [Interval(Real, 0, None, closed="left")],
        "batch_normalization": ["boolean"],
        "weight_decay": [Interval(Real, 0, None, closed="left"), None],
        "rho": [Interval(Real, 0, 1, closed="both")],
        "residual": ["boolean"],
        "clipnorm": [Interval(Real, 0, None, closed="neither"), None],
        "clipvalue": [Interval(Real, 0, None, closed="neither"), None],
        "lars_eta": [Interval(Real, 0, None, closed="neither")],
        "lr_decay_rate": [Interval(Real, 0, 1, closed="right")],
        "lr_decay_epochs": [Interval(Integral, 1, None, closed="left")],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "adversarial_eps": [Interval(Real, 0, None, closed="left"), "array-like"],
        "adversarial_ratio": [Interval(Real, 0, 1, closed="right")],
        "batch_norm_momentum": [Interval(Real, 0, 1, closed="left")],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "min_frequency": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
            None,
        ],
        "input_scaling": [StrOptions({"auto", *SCALINGS}), None],
        "numeric_embedding": [StrOptions(set(NUMERIC_EMBEDDINGS)), None],
        "scoring": [str, callable, None],
        "n_ensemble": [Interval(Integral, 1, None, closed="left")],
        "ensemble_sharing": [StrOptions(set(SHARINGS))],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        kernel_initializer,
        dropout,
        l1,
        batch_normalization,
        weight_decay,
        rho,
        residual,
        clipnorm,
        clipvalue,
        lars_eta,
        lr_decay_rate,
        lr_decay_epochs,
        warmup_epochs,
        adversarial_eps,
        adversarial_ratio,
        batch_norm_momentum,
        categorical_features,
        min_frequency,
        input_scaling,
        numeric_embedding,
        scoring,
        n_ensemble,
        ensemble_sharing,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.kernel_initializer = kernel_initializer
        self.dropout = dropout
        self.l1 = l1
        self.batch_normalization = batch_normalization
        self.weight_decay = weight_decay
        self.rho = rho
        self.residual = residual
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.lars_eta = lars_eta
        self.lr_decay_rate = lr_decay_rate
        self.lr_decay_epochs = lr_decay_epochs
        self.warmup_epochs = warmup_epochs
        self.adversarial_eps = adversarial_eps
        self.adversarial_ratio = adversarial_ratio
        self.batch_norm_momentum = batch_norm_momentum
        self.categorical_features = categorical_features
        self.min_frequency = min_frequency
        self.input_scaling = input_scaling
        self.numeric_embedding = numeric_embedding
        self.scoring = scoring
        self.n_ensemble = n_ensemble
        self.ensemble_sharing = ensemble_sharing

    def __setstate__(self, state: dict) -> None:
        # An estimator pickled before a parameter existed has no attribute for it:
        # it gets the default, which is what it computed with (scikit-learn still
        # warns when the pickle comes from another version of scikit-learn).
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if parameter.default is not inspect.Parameter.empty:
                state.setdefault(name, parameter.default)
        super().__setstate__(state)
