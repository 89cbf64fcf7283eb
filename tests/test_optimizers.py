"""LARS against a numpy reference of You, Gitman & Ginsburg (2017), Algorithm 1, and
against Keras's SGD for the variables LARS leaves unadapted."""

import copy

import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy.testing import assert_allclose

from skneural.optimizers import LARS

N_STEPS = 5
ETA = 0.1


# -- numpy reference -----------------------------------------------------------------


def reference_lars(weights, gradient_fn, learning_rates, momentum, nesterov, weight_decay, eta):
    """Run LARS in numpy; ``gradient_fn(weights, step)`` gives the gradients."""
    weights = [w.copy() for w in weights]
    velocities = [np.zeros_like(w) for w in weights]
    for step, lr in enumerate(learning_rates):
        gradients = gradient_fn(weights, step)
        for w, v, g in zip(weights, velocities, gradients, strict=True):
            if w.ndim >= 2:
                w_norm = np.linalg.norm(w)
                g_norm = np.linalg.norm(g)
                if w_norm > 0 and g_norm > 0:
                    ratio = eta * w_norm / (g_norm + weight_decay * w_norm)
                else:
                    ratio = 1.0
                update = lr * ratio * (g + weight_decay * w)
            else:
                update = lr * g
            v[...] = momentum * v + update
            if nesterov:
                w -= momentum * v + update
            else:
                w -= v
    return weights


def run_keras(optimizer, weights, gradient_fn, n_steps):
    variables = [keras.Variable(w, dtype="float64") for w in weights]
    for step in range(n_steps):
        current = [keras.ops.convert_to_numpy(v) for v in variables]
        gradients = [tf.constant(g) for g in gradient_fn(current, step)]
        optimizer.apply(gradients, variables)
    return [keras.ops.convert_to_numpy(v) for v in variables]


def initial_weights():
    rng = np.random.default_rng(0)
    return [
        rng.normal(size=(3, 4)),  # a dense kernel
        rng.normal(size=4),  # its bias
        rng.normal(size=(2, 3, 2)),  # a convolution kernel
        np.zeros((4, 2)),  # a zero-initialised kernel: ratio 1 on the first step
        rng.normal(size=(2, 2)),  # a kernel whose gradient is always zero
    ]


def gradient_fn(weights, step):
    """Gradients of a fixed quadratic loss plus a fixed per-step term."""
    rng = np.random.default_rng(100 + step)
    gradients = [0.5 * w + rng.normal(size=w.shape) for w in weights]
    gradients[-1] = np.zeros_like(weights[-1])
    return gradients


def as_float32(x):
    # The base optimizer keeps a float learning rate in a float32 variable.
    return float(np.float32(x))


# -- the update rule -----------------------------------------------------------------


@pytest.mark.parametrize(
    "momentum, nesterov, weight_decay",
    [
        (0.0, False, 0.0),
        (0.9, False, 0.0),
        (0.9, True, 0.0),
        (0.9, False, 0.01),
        (0.9, True, 0.01),
        (0.0, True, 0.01),
    ],
)
def test_matches_reference(momentum, nesterov, weight_decay):
    optimizer = LARS(
        learning_rate=0.1, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, eta=ETA
    )
    got = run_keras(optimizer, initial_weights(), gradient_fn, N_STEPS)
    learning_rates = [as_float32(0.1)] * N_STEPS
    expected = reference_lars(
        initial_weights(), gradient_fn, learning_rates, momentum, nesterov, weight_decay, ETA
    )
    for g, e in zip(got, expected, strict=True):
        assert_allclose(g, e, rtol=1e-6, atol=1e-12)


def test_learning_rate_schedule_matches_reference():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    optimizer = LARS(learning_rate=schedule, momentum=0.9, weight_decay=0.01, eta=ETA)
    got = run_keras(optimizer, initial_weights(), gradient_fn, N_STEPS)
    learning_rates = [0.1 * 0.5 ** (step / 2) for step in range(N_STEPS)]
    expected = reference_lars(initial_weights(), gradient_fn, learning_rates, 0.9, False, 0.01, ETA)
    for g, e in zip(got, expected, strict=True):
        assert_allclose(g, e, rtol=1e-6, atol=1e-12)


def test_zero_norm_kernel_and_zero_gradient_use_the_global_rate():
    kernel = keras.Variable(np.zeros((2, 2)), dtype="float64")
    frozen = keras.Variable(np.full((2, 2), 2.0), dtype="float64")
    gradient = np.array([[1.0, -2.0], [3.0, 0.5]])
    optimizer = LARS(learning_rate=0.5, momentum=0.9, weight_decay=0.1, eta=ETA)
    optimizer.apply([tf.constant(gradient), tf.zeros((2, 2), tf.float64)], [kernel, frozen])
    lr = as_float32(0.5)
    assert_allclose(keras.ops.convert_to_numpy(kernel), -lr * gradient, rtol=1e-12)
    # Ratio 1 with a zero gradient: only the weight decay moves the kernel.
    assert_allclose(keras.ops.convert_to_numpy(frozen), 2.0 - lr * 0.1 * 2.0, rtol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_one_dimensional_variables_follow_keras_sgd(nesterov):
    """Biases are neither adapted nor decayed: LARS is Keras's momentum SGD there."""
    weights = [np.array([1.0, -2.0, 3.0]), np.array([0.5])]

    def bias_gradients(ws, step):
        return [0.5 * w + step for w in ws]

    # Keras's SGD rounds its momentum to float32 even for float64 variables; 0.5 is
    # exact in both.
    lars = LARS(learning_rate=0.1, momentum=0.5, nesterov=nesterov, weight_decay=0.5, eta=ETA)
    sgd = keras.optimizers.SGD(learning_rate=0.1, momentum=0.5, nesterov=nesterov)
    got = run_keras(lars, weights, bias_gradients, N_STEPS)
    expected = run_keras(sgd, weights, bias_gradients, N_STEPS)
    for g, e in zip(got, expected, strict=True):
        assert_allclose(g, e, rtol=1e-12)


def test_base_class_weight_decay_is_off():
    optimizer = LARS(weight_decay=0.01)
    assert optimizer.weight_decay is None
    assert optimizer.lars_weight_decay == 0.01


def test_sparse_gradient_with_repeated_indices_equals_dense():
    values = tf.constant([[1.0, 2.0], [3.0, 4.0]], tf.float64)
    sparse = tf.IndexedSlices(values, tf.constant([0, 0]), dense_shape=tf.constant([3, 2]))
    results = []
    for gradient in (sparse, tf.convert_to_tensor(sparse)):
        kernel = keras.Variable(np.arange(6.0).reshape(3, 2), dtype="float64")
        LARS(learning_rate=0.1, weight_decay=0.01, eta=ETA).apply([gradient], [kernel])
        results.append(keras.ops.convert_to_numpy(kernel))
    assert_allclose(results[0], results[1], rtol=1e-12)


# -- graph mode ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_graph_while_loop_equals_eager(dtype):
    weights = initial_weights()[:4]
    gradients = [g.astype(dtype) for g in gradient_fn(weights, 0)]

    def make():
        variables = [keras.Variable(w, dtype=dtype) for w in weights]
        optimizer = LARS(learning_rate=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
        optimizer.build(variables)
        return optimizer, variables

    eager_optimizer, eager_variables = make()
    for _ in range(3):
        eager_optimizer.apply([tf.constant(g) for g in gradients], eager_variables)

    graph_optimizer, graph_variables = make()

    @tf.function(autograph=False)
    def train(n_steps):
        def body(i):
            graph_optimizer.apply([tf.constant(g) for g in gradients], graph_variables)
            return [i + 1]

        return tf.while_loop(lambda i: i < n_steps, body, [tf.constant(0)])

    train(tf.constant(3))
    assert int(graph_optimizer.iterations.numpy()) == 3
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for g, e in zip(graph_variables, eager_variables, strict=True):
        assert g.dtype == dtype
        assert_allclose(keras.ops.convert_to_numpy(g), keras.ops.convert_to_numpy(e), rtol=rtol)


# -- configuration and saving --------------------------------------------------------


@pytest.mark.parametrize(
    "learning_rate",
    [0.05, keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)],
)
def test_config_round_trip(learning_rate):
    optimizer = LARS(
        learning_rate=learning_rate,
        momentum=0.8,
        nesterov=True,
        weight_decay=1e-4,
        eta=0.02,
        clipnorm=1.0,
    )
    config = optimizer.get_config()
    assert config["weight_decay"] == 1e-4
    assert config["eta"] == 0.02
    restored = LARS.from_config(copy.deepcopy(config))
    assert restored.get_config() == config
    assert restored.weight_decay is None
    assert type(restored.learning_rate) is type(optimizer.learning_rate)


def test_saved_model_keeps_the_optimizer(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(
        optimizer=LARS(learning_rate=0.05, momentum=0.8, weight_decay=1e-3, eta=0.02),
        loss="mse",
    )
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(8, 3)), rng.normal(size=(8, 2)), epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer) is LARS
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for got, expected in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(expected))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"momentum": 1.0}, r"`momentum` must be a number in \[0, 1\), got 1.0"),
        ({"momentum": -0.1}, r"`momentum` must be a number in \[0, 1\), got -0.1"),
        ({"momentum": "0.9"}, r"`momentum` must be a number in \[0, 1\), got '0.9'"),
        ({"eta": 0.0}, r"`eta` must be a number > 0, got 0.0"),
        ({"weight_decay": -1e-4}, r"`weight_decay` must be a number >= 0, got -0.0001"),
        ({"learning_rate": 0.0}, r"`learning_rate` must be > 0, got 0.0"),
        ({"learning_rate": -1}, r"`learning_rate` must be > 0, got -1"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LARS(**kwargs)
