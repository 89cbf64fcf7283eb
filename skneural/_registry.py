"""Registries: plain dicts from a parameter value to what it builds.

Adding an activation, an initializer or an optimizer is one entry here; the estimators'
parameter constraints are read from the keys, so the allowed values and the error
messages follow automatically.
"""

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from scipy.special import erf, expit

from .optimizers import LARS


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _selu(x: np.ndarray) -> np.ndarray:
    return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _swish(x: np.ndarray) -> np.ndarray:
    return x * expit(x)


def _leaky_relu(x: np.ndarray) -> np.ndarray:
    # Keras's ``leaky_relu`` activation uses a negative slope of 0.2.
    return np.where(x > 0, x, 0.2 * x)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Activation:
    """One activation: the name Keras knows it by and the same function in numpy."""

    def __init__(self, keras_name: str, numpy_fn: Callable[[np.ndarray], np.ndarray]):
        self.keras_name = keras_name
        self.numpy_fn = numpy_fn


#: Hidden-layer activations, by the estimators' ``activation`` value. scikit-learn's
#: four names come first and keep their scikit-learn spelling.
ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("linear", _identity),
    "logistic": Activation("sigmoid", expit),
    "tanh": Activation("tanh", np.tanh),
    "relu": Activation("relu", _relu),
    "elu": Activation("elu", _elu),
    "selu": Activation("selu", _selu),
    "gelu": Activation("gelu", _gelu),
    "swish": Activation("swish", _swish),
    "leaky_relu": Activation("leaky_relu", _leaky_relu),
    "softplus": Activation("softplus", _softplus),
}

#: Output activations, by the fitted attribute ``out_activation_``.
OUTPUT_ACTIVATIONS: dict[str, Activation] = {
    "identity": ACTIVATIONS["identity"],
    "logistic": ACTIVATIONS["logistic"],
    "softmax": Activation("softmax", _softmax),
    "exp": Activation("exponential", np.exp),
}


#: Weight initializers, by the estimators' ``kernel_initializer`` value. Each factory
#: takes the seed the estimator derived from ``random_state``.
INITIALIZERS: dict[str, Callable[[int], keras.initializers.Initializer]] = {
    "zeros": lambda seed: keras.initializers.Zeros(),
    "random_normal": lambda seed: keras.initializers.RandomNormal(seed=seed),
    "random_uniform": lambda seed: keras.initializers.RandomUniform(seed=seed),
    "truncated_normal": lambda seed: keras.initializers.TruncatedNormal(seed=seed),
    "glorot_normal": lambda seed: keras.initializers.GlorotNormal(seed=seed),
    "glorot_uniform": lambda seed: keras.initializers.GlorotUniform(seed=seed),
    "he_normal": lambda seed: keras.initializers.HeNormal(seed=seed),
    "he_uniform": lambda seed: keras.initializers.HeUniform(seed=seed),
    "lecun_normal": lambda seed: keras.initializers.LecunNormal(seed=seed),
    "lecun_uniform": lambda seed: keras.initializers.LecunUniform(seed=seed),
    "orthogonal": lambda seed: keras.initializers.Orthogonal(seed=seed),
}


def make_initializer(
    spec: "str | keras.initializers.Initializer", seed: int
) -> keras.initializers.Initializer:
    """Return a fresh initializer for ``spec`` that draws from ``seed``.

    A Keras initializer instance is copied through its config with the seed replaced,
    so the user's object is never mutated and ``random_state`` still decides the draw.
    """
    if isinstance(spec, str):
        return INITIALIZERS[spec](seed)
    try:
        config = spec.get_config()
        if "seed" in config:
            config["seed"] = seed
        return type(spec).from_config(config)
    except Exception as exc:
        raise TypeError(
            f"kernel_initializer={spec!r} cannot be copied through its config "
            f"({type(exc).__name__}: {exc}). skneural copies an initializer object to "
            "seed it from random_state without changing yours: give its class a "
            "get_config() that returns its constructor's arguments, as Keras asks of "
            "custom objects."
        ) from exc


class Optimizer:
    """One optimizer: how to build it, and which estimator parameters it reads.

    ``build`` takes the learning rate and, by keyword, the estimator parameters named
    in ``hyperparameters`` (their scikit-learn names: ``momentum``, ``beta_1``, ...)
    plus the ones every optimizer takes (:data:`COMMON_HYPERPARAMETERS`).
    """

    def __init__(self, build: Callable[..., keras.optimizers.Optimizer], hyperparameters=()):
        self.build = build
        self.hyperparameters = (*hyperparameters, *COMMON_HYPERPARAMETERS)


#: Parameters every optimizer takes: decoupled weight decay and gradient clipping.
COMMON_HYPERPARAMETERS = ("weight_decay", "clipnorm", "clipvalue")


def _floats(settings: dict[str, Any]) -> dict[str, float]:
    # Keras accepts only Python floats here; scikit-learn's users write momentum=0.
    return {name: float(value) for name, value in settings.items() if value is not None}


def _nesterov(momentum: float, nesterovs_momentum: bool) -> bool:
    return bool(nesterovs_momentum and momentum > 0)


def _sgd(learning_rate, *, momentum, nesterovs_momentum, **settings):
    return keras.optimizers.SGD(
        learning_rate=float(learning_rate),
        momentum=float(momentum),
        nesterov=_nesterov(momentum, nesterovs_momentum),
        **_floats(settings),
    )


def _lars(learning_rate, *, momentum, nesterovs_momentum, lars_eta, **settings):
    return LARS(
        learning_rate=float(learning_rate),
        momentum=float(momentum),
        nesterov=_nesterov(momentum, nesterovs_momentum),
        eta=float(lars_eta),
        **_floats(settings),
    )


def _keras(cls: type, names: tuple[str, ...]) -> Optimizer:
    def build(learning_rate, **settings):
        return cls(learning_rate=float(learning_rate), **_floats(settings))

    return Optimizer(build, names)


_ADAM_LIKE = ("beta_1", "beta_2", "epsilon")

#: The solver that is no Keras optimizer: full-batch L-BFGS (:mod:`skneural._lbfgs`).
LBFGS = "lbfgs"

#: Optimizers, by the estimators' ``solver`` value. Each names the estimator
#: parameters it reads; a parameter named here goes to every optimizer that has it,
#: and a warm start rebuilds the optimizer only when one of its own changed.
OPTIMIZERS: dict[str, Optimizer] = {
    "sgd": Optimizer(_sgd, ("momentum", "nesterovs_momentum")),
    "adam": _keras(keras.optimizers.Adam, _ADAM_LIKE),
    "adamw": _keras(keras.optimizers.AdamW, _ADAM_LIKE),
    "adagrad": _keras(keras.optimizers.Adagrad, ("epsilon",)),
    "rmsprop": _keras(keras.optimizers.RMSprop, ("rho", "epsilon")),
    "adadelta": _keras(keras.optimizers.Adadelta, ("rho", "epsilon")),
    "adamax": _keras(keras.optimizers.Adamax, _ADAM_LIKE),
    "nadam": _keras(keras.optimizers.Nadam, _ADAM_LIKE),
    "lamb": _keras(keras.optimizers.Lamb, _ADAM_LIKE),
    "lion": _keras(keras.optimizers.Lion, ("beta_1", "beta_2")),
    "lars": Optimizer(_lars, ("momentum", "nesterovs_momentum", "lars_eta")),
}


def _log_loss(y: tf.Tensor, logits: tf.Tensor, label_smoothing: float = 0.0) -> tf.Tensor:
    if label_smoothing:  # Keras's rule: towards the uniform distribution over the classes
        n_classes = tf.cast(tf.shape(y)[1], y.dtype)
        y = y * (1.0 - label_smoothing) + label_smoothing / n_classes
    # The op that tf.nn.softmax_cross_entropy_with_logits runs on 2-D logits, without
    # the reshapes and checks it wraps around it for other ranks: the same values, and
    # the dearest call of an epoch's trace.
    return tf.raw_ops.SoftmaxCrossEntropyWithLogits(features=logits, labels=y)[0]


def _binary_log_loss(y: tf.Tensor, logits: tf.Tensor, label_smoothing: float = 0.0) -> tf.Tensor:
    if label_smoothing:  # each label towards 1/2
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits), axis=1)


def _squared_error(y: tf.Tensor, z: tf.Tensor) -> tf.Tensor:
    return 0.5 * tf.reduce_mean(tf.square(y - z), axis=1)


def _absolute_error(y: tf.Tensor, z: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.abs(y - z), axis=1)


def _huber(y: tf.Tensor, z: tf.Tensor, delta: float = 1.0) -> tf.Tensor:
    # Quadratic within delta of the target, linear beyond (Keras's and PyTorch's form).
    error = tf.abs(y - z)
    quadratic = tf.minimum(error, delta)
    return tf.reduce_mean(0.5 * tf.square(quadratic) + delta * (error - quadratic), axis=1)


def _poisson(y: tf.Tensor, z: tf.Tensor) -> tf.Tensor:
    # Half Poisson deviance with a log link, written on z = log(prediction); the
    # constant xlogy(y, y) - y keeps the value equal to scikit-learn's loss_curve_.
    return tf.reduce_sum(tf.exp(z) - y * z + tf.math.xlogy(y, y) - y, axis=1)


class Loss:
    """One training loss: per-sample value from the pre-activation output, and the
    output activation it pairs with (its canonical link). ``per_sample`` may take
    keyword options (Huber's ``delta``); the estimator passes them."""

    def __init__(
        self, per_sample: Callable[[tf.Tensor, tf.Tensor], tf.Tensor], out_activation: str
    ):
        self.per_sample = per_sample
        self.out_activation = out_activation


#: Losses by name. Each is averaged over the batch with the sample weights, as
#: scikit-learn's MLP does; every one is computed from the logits for stability.
LOSSES: dict[str, Loss] = {
    "log_loss": Loss(_log_loss, "softmax"),
    "binary_log_loss": Loss(_binary_log_loss, "logistic"),
    "squared_error": Loss(_squared_error, "identity"),
    "absolute_error": Loss(_absolute_error, "identity"),
    "huber": Loss(_huber, "identity"),
    "poisson": Loss(_poisson, "exp"),
}
