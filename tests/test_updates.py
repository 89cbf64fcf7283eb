"""The optimizer steps written out for the compiled epoch equal Keras's own, bit for bit."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from skneural._updates import direct_update

SHAPES = [(5, 4), (4,), (4, 3), (3,)]


def _variables(dtype):
    rng = np.random.default_rng(0)
    return [keras.Variable(rng.normal(size=shape), dtype=dtype) for shape in SHAPES]


def _train(make_optimizer, dtype, direct):
    variables = _variables(dtype)
    optimizer = make_optimizer()
    optimizer.build(variables)
    update = direct_update(optimizer) if direct else optimizer.apply
    assert update is not None

    @tf.function(autograph=False)
    def step(grads):
        update(grads, variables)

    rng = np.random.default_rng(1)
    for _ in range(4):
        step([tf.constant(rng.normal(size=shape), dtype) for shape in SHAPES])
    return [v.numpy() for v in variables + list(optimizer.variables)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: keras.optimizers.Adam(learning_rate=3e-3),
        lambda: keras.optimizers.Adam(learning_rate=1e-2, beta_1=0.8, beta_2=0.99, epsilon=1e-7),
        lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
        lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.5),
        lambda: keras.optimizers.SGD(learning_rate=0.1),
        lambda: keras.optimizers.Adam(learning_rate=3e-3, weight_decay=0.01),
        lambda: keras.optimizers.AdamW(learning_rate=3e-3),
        lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, weight_decay=0.05),
        lambda: keras.optimizers.RMSprop(learning_rate=1e-2),
        lambda: keras.optimizers.RMSprop(learning_rate=3e-3, rho=0.8, epsilon=1e-5),
        lambda: keras.optimizers.RMSprop(learning_rate=1e-2, weight_decay=0.02),
        lambda: keras.optimizers.Adagrad(learning_rate=0.1),
        lambda: keras.optimizers.Adagrad(
            learning_rate=0.05, initial_accumulator_value=0.5, epsilon=1e-5
        ),
    ],
    ids=[
        "adam",
        "adam-settings",
        "sgd-nesterov",
        "sgd-momentum",
        "sgd-plain",
        "adam-weight-decay",
        "adamw",
        "sgd-weight-decay",
        "rmsprop",
        "rmsprop-settings",
        "rmsprop-weight-decay",
        "adagrad",
        "adagrad-settings",
    ],
)
def test_direct_update_equals_optimizer_apply_bitwise(make_optimizer, dtype):
    expected = _train(make_optimizer, dtype, direct=False)
    got = _train(make_optimizer, dtype, direct=True)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "optimizer",
    [
        keras.optimizers.Adam(clipnorm=1.0),
        keras.optimizers.Adam(amsgrad=True),
        keras.optimizers.SGD(clipvalue=0.5),
        keras.optimizers.SGD(global_clipnorm=1.0),
        keras.optimizers.RMSprop(momentum=0.9),
        keras.optimizers.RMSprop(centered=True),
        keras.optimizers.Nadam(),
    ],
    ids=[
        "clipnorm",
        "amsgrad",
        "clipvalue",
        "global-clipnorm",
        "rmsprop-momentum",
        "rmsprop-centered",
        "nadam",
    ],
)
def test_other_optimizers_and_options_keep_keras_apply(optimizer):
    assert direct_update(optimizer) is None
