"""The peers: the same network trained the same way by each library.

Every peer trains hidden layers (256, 128) with ReLU, Adam at learning rate 1e-3,
minibatches of 256 shuffled each epoch, a fixed number of epochs, no early stopping and
no L2 penalty. A peer is one small function ``make(task, epochs, seed)`` that returns a
fresh, unfitted scikit-learn-style estimator, plus the keyword arguments its ``fit``
needs (only Keras's own wrapper needs any, see :func:`keras_wrapper`). Each function
imports its library itself, so a missing library makes that peer "n/a", not the run.

Plain Keras and the hand-written TensorFlow loop have no estimator of their own; the
small :class:`KerasMLPClassifier` / :class:`KerasMLPRegressor` adapters give them
``fit`` / ``predict`` / ``score`` so that ``cross_val_score`` and the other scenarios
can treat every peer alike. The adapters add nothing to the timed work but the
conversion of class labels to indices.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

HIDDEN = (256, 128)
LEARNING_RATE = 1e-3
BATCH_SIZE = 256

CLASSIFICATION, REGRESSION = "classification", "regression"


@dataclass(frozen=True)
class Peer:
    name: str
    make: Callable[[str, int, int], tuple[Any, dict]]
    note: str = ""
    tasks: tuple[str, ...] = field(default=(CLASSIFICATION, REGRESSION))


# -- the network, shared by every Keras-backed peer but skneural -----------------------


def build_mlp(n_features: int, n_outputs: int, task: str, seed: int):
    """The Keras Sequential network: Dense-ReLU (256), Dense-ReLU (128), output layer."""
    import keras

    layers = [keras.Input((n_features,))]
    for i, units in enumerate(HIDDEN):
        init = keras.initializers.GlorotUniform(seed=seed + i)
        layers.append(keras.layers.Dense(units, activation="relu", kernel_initializer=init))
    out_activation = "softmax" if task == CLASSIFICATION else None
    init = keras.initializers.GlorotUniform(seed=seed + len(HIDDEN))
    layers.append(keras.layers.Dense(n_outputs, out_activation, kernel_initializer=init))
    return keras.Sequential(layers)


def keras_loss(task: str) -> str:
    """Keras's name of the loss: cross-entropy on class indices, or the squared error.

    (scikit-learn and skneural minimise half the squared error; Adam's steps do not
    depend on that factor of 2 but through its epsilon.)
    """
    return "sparse_categorical_crossentropy" if task == CLASSIFICATION else "mse"


# -- the hand-written compiled loop -------------------------------------------------------


def tf_epoch_function(model, loss_fn, optimizer):
    """One ``tf.function`` that runs a whole epoch: batches gathered by index from
    resident tensors, a GradientTape per batch, ``optimizer.apply``."""
    import tensorflow as tf

    variables = model.trainable_variables
    optimizer.build(variables)

    @tf.function
    def run_epoch(X, Y, order):
        n = tf.shape(order)[0]
        for i in tf.range((n + BATCH_SIZE - 1) // BATCH_SIZE):
            idx = order[i * BATCH_SIZE : tf.minimum((i + 1) * BATCH_SIZE, n)]
            with tf.GradientTape() as tape:
                loss = loss_fn(tf.gather(Y, idx), model(tf.gather(X, idx), training=True))
            optimizer.apply(tape.gradient(loss, variables), variables)

    return run_epoch


def train_tf_loop(model, X, Y, task: str, epochs: int, seed: int) -> None:
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.get(keras_loss(task))
    run_epoch = tf_epoch_function(model, loss_fn, keras.optimizers.Adam(LEARNING_RATE))
    X, Y = tf.convert_to_tensor(X), tf.convert_to_tensor(Y)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        run_epoch(X, Y, tf.constant(rng.permutation(len(X)), tf.int32))


# -- the adapters for plain Keras and the TensorFlow loop ------------------------------


class _KerasMLP(BaseEstimator):
    """Plain Keras (``loop='fit'``) or the hand-written loop (``loop='tf'``) as an
    estimator. ``predict_mode``: 'predict' (``model.predict``, Keras's defaults),
    'predict_on_batch', or 'tf_function' (a compiled forward pass)."""

    _task: str

    def __init__(self, epochs=5, seed=0, loop="fit", steps_per_execution=1, predict_mode="predict"):
        self.epochs = epochs
        self.seed = seed
        self.loop = loop
        self.steps_per_execution = steps_per_execution
        self.predict_mode = predict_mode

    def fit(self, X, y):
        Y = self._encode(y)
        self.model_ = build_mlp(X.shape[1], self._n_outputs(), self._task, self.seed)
        if self.loop == "tf":
            train_tf_loop(self.model_, X, Y, self._task, self.epochs, self.seed)
        else:
            import keras

            self.model_.compile(
                optimizer=keras.optimizers.Adam(LEARNING_RATE),
                loss=keras_loss(self._task),
                steps_per_execution=self.steps_per_execution,
            )
            self.model_.fit(X, Y, batch_size=BATCH_SIZE, epochs=self.epochs, verbose=0)
        if self.predict_mode == "tf_function":
            import tensorflow as tf

            self.forward_ = tf.function(lambda x: self.model_(x, training=False))
        return self

    def _outputs(self, X):
        if self.predict_mode == "predict":
            return self.model_.predict(X, verbose=0)
        if self.predict_mode == "predict_on_batch":
            return self.model_.predict_on_batch(X)
        return self.forward_(X).numpy()


class KerasMLPClassifier(ClassifierMixin, _KerasMLP):
    _task = CLASSIFICATION

    def _encode(self, y):
        self.classes_, indices = np.unique(y, return_inverse=True)
        return indices.astype(np.int32)

    def _n_outputs(self):
        return len(self.classes_)

    def predict(self, X):
        return self.classes_[np.argmax(self._outputs(X), axis=1)]


class KerasMLPRegressor(RegressorMixin, _KerasMLP):
    _task = REGRESSION

    def _encode(self, y):
        return np.asarray(y, np.float32).reshape(-1, 1)

    def _n_outputs(self):
        return 1

    def predict(self, X):
        return self._outputs(X).ravel()


def _adapter(task: str, **params):
    cls = KerasMLPClassifier if task == CLASSIFICATION else KerasMLPRegressor
    return cls(**params)


# -- the peers ------------------------------------------------------------------------


def _sklearn_style_params(epochs: int, seed: int) -> dict:
    """The shared parameters of scikit-learn's MLP and skneural: fixed epochs."""
    return dict(
        hidden_layer_sizes=HIDDEN,
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=BATCH_SIZE,
        learning_rate_init=LEARNING_RATE,
        max_iter=epochs,
        shuffle=True,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        early_stopping=False,
    )


def sklearn_mlp(task, epochs, seed):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPClassifier if task == CLASSIFICATION else MLPRegressor
    return cls(**_sklearn_style_params(epochs, seed)), {}


def keras_fit(task, epochs, seed):
    return _adapter(task, epochs=epochs, seed=seed), {}


def keras_fit_spe32(task, epochs, seed):
    return _adapter(task, epochs=epochs, seed=seed, steps_per_execution=32), {}


def keras_predict_on_batch(task, epochs, seed):
    return _adapter(task, epochs=epochs, seed=seed, predict_mode="predict_on_batch"), {}


def tf_loop(task, epochs, seed):
    return _adapter(task, epochs=epochs, seed=seed, loop="tf", predict_mode="tf_function"), {}


def scikeras(task, epochs, seed):
    from scikeras.wrappers import KerasClassifier, KerasRegressor

    def model(meta):
        n_outputs = meta["n_classes_"] if task == CLASSIFICATION else 1
        return build_mlp(meta["n_features_in_"], n_outputs, task, seed)

    cls = KerasClassifier if task == CLASSIFICATION else KerasRegressor
    estimator = cls(
        model=model,
        loss=keras_loss(task),
        optimizer="adam",
        optimizer__learning_rate=LEARNING_RATE,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        shuffle=True,
        random_state=seed,
        verbose=0,
    )
    return estimator, {}


def keras_wrapper(task, epochs, seed):
    """``keras.wrappers.SKLearnClassifier`` / ``SKLearnRegressor``.

    Its ``__sklearn_clone__`` (Keras 3.15) drops ``fit_kwargs``, so a clone made by
    ``cross_val_score`` would silently train 1 epoch with batches of 32. The epochs and
    batch size therefore go to ``fit`` itself (``cross_val_score(params=...)``), which
    the wrapper documents as the other way to pass them.
    """
    import keras
    from keras.wrappers import SKLearnClassifier, SKLearnRegressor

    def model(X, y):
        # The classifier one-hot encodes y, so its y has one column per class.
        net = build_mlp(X.shape[1], y.shape[1], task, seed)
        loss = "categorical_crossentropy" if task == CLASSIFICATION else "mse"
        net.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss)
        return net

    cls = SKLearnClassifier if task == CLASSIFICATION else SKLearnRegressor
    fit_params = dict(epochs=epochs, batch_size=BATCH_SIZE, shuffle=True, verbose=0)
    return cls(model=model), fit_params


def skneural(task, epochs, seed):
    from skneural import MLPClassifierX, MLPRegressorX

    cls = MLPClassifierX if task == CLASSIFICATION else MLPRegressorX
    params = _sklearn_style_params(epochs, seed) | {"n_iter_no_change": math.inf}
    return cls(**params), {}


SKLEARN = Peer("scikit-learn MLP", sklearn_mlp, "MLPClassifier / MLPRegressor")
KERAS = Peer("Keras", keras_fit, "Sequential, compile(), fit()")
KERAS_SPE32 = Peer("Keras, spe=32", keras_fit_spe32, "as Keras, compile(steps_per_execution=32)")
KERAS_PREDICT = Peer("Keras model.predict", keras_fit, "as Keras; predict: model.predict(X)")
KERAS_POB = Peer(
    "Keras predict_on_batch", keras_predict_on_batch, "as Keras; predict: model.predict_on_batch(X)"
)
TF_LOOP = Peer(
    "TF loop",
    tf_loop,
    "the Keras network trained by a hand-written tf.function per epoch (batches gathered "
    "by index, GradientTape, optimizer.apply); predict: a tf.function forward pass",
)
SCIKERAS = Peer("scikeras", scikeras, "scikeras KerasClassifier / KerasRegressor")
KERAS_WRAPPER = Peer(
    "keras.wrappers",
    keras_wrapper,
    "keras.wrappers.SKLearnClassifier / SKLearnRegressor (epochs and batch size passed to fit)",
)
SKNEURAL = Peer("skneural", skneural, "MLPClassifierX / MLPRegressorX")
#: (j) only: skneural finding the graphs an earlier process stored (``run.py`` runs one
#: unmeasured process of it first); the plain peer's every part starts with none stored.
SKNEURAL_STORED = Peer(
    "skneural, graphs stored",
    skneural,
    "as skneural, in a process that finds the graphs an earlier process stored on "
    "disk (skneural's default; the plain skneural row starts every part with none stored)",
)

#: The peers of the training scenarios, in table order.
TRAINING_PEERS = (SKLEARN, KERAS, KERAS_SPE32, TF_LOOP, SCIKERAS, KERAS_WRAPPER, SKNEURAL)
#: The peers of the prediction scenario: Keras once per way of predicting.
LBFGS_PEERS = (SKLEARN, SKNEURAL)  # (k), (l): the peers that have solver='lbfgs'
PREDICT_PEERS = (SKLEARN, KERAS_PREDICT, KERAS_POB, TF_LOOP, SCIKERAS, KERAS_WRAPPER, SKNEURAL)
ALL_PEERS = {peer.name: peer for peer in TRAINING_PEERS + PREDICT_PEERS + (SKNEURAL_STORED,)}
