"""The Keras network the estimators build: layers, initializers, dropout, L1, batch
normalization, residual connections, and the numpy forward pass against Keras's own
predict."""

import dataclasses
import functools
import os
import re
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits

import skneural
from skneural import MLPClassifierX, MLPRegressorX
from skneural._config import NetworkSpec
from skneural._network import build_network
from skneural._registry import ACTIVATIONS, INITIALIZERS, OUTPUT_ACTIVATIONS, make_initializer
from skneural.exceptions import DiagnosticWarning


def _data(n=60, n_features=5, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], np.linspace(-1, 1, n_classes - 1))
    return X, y


def _spec(**kwargs):
    base = dict(
        n_features=5,
        hidden_layer_sizes=(4,),
        activation="relu",
        kernel_initializer="glorot_uniform",
        dropout=(0.0,),
        batch_normalization=False,
        batch_norm_momentum=0.9,
        residual=False,
        n_outputs=1,
        out_activation="identity",
        dtype="float64",
    )
    return NetworkSpec(**{**base, **kwargs})


def _keras_outputs(model, X):
    """The Keras model's inference output on X, in X's precision.

    ``model.predict`` is not used for float64 X: Keras's data adapter casts float
    inputs to ``keras.config.floatx()`` (float32) before they reach the model, so its
    result is the float64 network evaluated on float32-rounded inputs (checked in
    ``test_keras_predict_rounds_float64_inputs``).
    """
    return np.asarray(model(X, training=False))


def _kernel(model, name):
    return np.asarray(model.get_layer(name).kernel)


# -- structure -----------------------------------------------------------------------


def test_layer_names_and_order():
    spec = _spec(
        hidden_layer_sizes=(6, 4),
        dropout=(0.2, 0.0),
        batch_normalization=True,
        n_outputs=3,
        out_activation="softmax",
    )
    model = build_network(spec, np.random.default_rng(0))
    assert [layer.name for layer in model.layers] == [
        "input", "hidden_0", "batch_norm_0", "activation_0", "dropout_0",
        "hidden_1", "batch_norm_1", "activation_1", "output", "output_activation",
    ]  # fmt: skip
    assert _kernel(model, "hidden_0").shape == (5, 6)
    assert _kernel(model, "hidden_1").shape == (6, 4)
    assert _kernel(model, "output").shape == (4, 3)
    assert model.get_layer("dropout_0").rate == pytest.approx(0.2)
    for layer in model.layers:
        if layer.weights:
            assert all(w.dtype == "float64" for w in layer.weights)


def test_build_network_is_seeded_by_the_generator():
    spec = _spec(hidden_layer_sizes=(8,))
    a = build_network(spec, np.random.default_rng(3)).get_weights()
    b = build_network(spec, np.random.default_rng(3)).get_weights()
    c = build_network(spec, np.random.default_rng(4)).get_weights()
    for wa, wb in zip(a, b, strict=True):
        assert_allclose(wa, wb)
    assert not np.allclose(a[0], c[0])
    # Biases start at zero.
    assert np.all(a[1] == 0) and np.all(a[3] == 0)


# -- initializers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "initializer",
    [*INITIALIZERS, keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal")],
)
def test_same_generator_same_initial_weights_for_float32_and_float64(initializer):
    spec = _spec(hidden_layer_sizes=(8, 6), dropout=(0.0, 0.3), kernel_initializer=initializer)
    wide = build_network(spec, np.random.default_rng(7)).get_weights()
    narrow = build_network(
        dataclasses.replace(spec, dtype="float32"), np.random.default_rng(7)
    ).get_weights()
    for w64, w32 in zip(wide, narrow, strict=True):
        assert w64.dtype == np.float64 and w32.dtype == np.float32
        assert_allclose(w64, w32, rtol=np.finfo(np.float32).eps, atol=0)
    # float64 networks keep Keras's own draw: a float64 Dense layer with that seed.
    seed = np.random.default_rng(7).integers(2**31 - 1)
    layer = keras.layers.Dense(
        8, kernel_initializer=make_initializer(initializer, int(seed)), dtype="float64"
    )
    layer.build((None, 5))
    assert_allclose(wide[0], layer.kernel.numpy(), rtol=0, atol=0)


@pytest.mark.parametrize("Estimator", [MLPClassifierX, MLPRegressorX])
def test_fits_on_float32_and_float64_data_start_from_the_same_weights(Estimator):
    """One epoch at a negligible learning rate leaves the initial weights: the same
    random_state gives them to float32 and float64 data alike, to float32 rounding."""
    X, y = _data(n=40)
    params = dict(hidden_layer_sizes=(8, 6), max_iter=1, learning_rate_init=1e-12)
    wide = Estimator(**params, random_state=3).fit(X, y)
    narrow = Estimator(**params, random_state=3).fit(X.astype(np.float32), y)
    other = Estimator(**params, random_state=4).fit(X.astype(np.float32), y)
    for w64, w32, w_other in zip(wide.coefs_, narrow.coefs_, other.coefs_, strict=True):
        assert w64.dtype == np.float64 and w32.dtype == np.float32
        assert_allclose(w32, w64, rtol=1e-6, atol=1e-7)
        assert not np.allclose(w_other, w64, rtol=1e-6, atol=1e-7)


QUIET_FIT = textwrap.dedent(
    """
    import os, sys, warnings
    import numpy as np
    from skneural import MLPClassifierX, MLPRegressorX
    warnings.simplefilter("ignore")
    X = np.random.default_rng(0).normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    # The first use of TensorFlow's devices logs once (CUDA probing), whatever the dtype.
    MLPClassifierX(max_iter=1).fit(X.astype(np.float32), y)
    sys.stderr.flush()
    os.write(2, b"FIT START\\n")
    MLPClassifierX(max_iter=3, batch_normalization=True).fit(X, y).predict(X)
    MLPClassifierX(solver="lbfgs", max_iter=3, activation="tanh").fit(X, y)
    MLPRegressorX(max_iter=3, early_stopping=True).fit(X, X[:, 0])
    sys.stderr.flush()
    os.write(2, b"FIT END\\n")
    """
)


@pytest.mark.slow
def test_float64_fits_log_nothing_from_tensorflow():
    """With oneDNN, grappler logs "Not handling type DT_DOUBLE" for every float64
    MatMul followed by a bias add; float64 networks compute that product with einsum
    (EinsumProductDense), so a float64 fit prints no C++ log line, with TensorFlow's
    default log level."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    root = os.path.dirname(os.path.dirname(skneural.__file__))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", QUIET_FIT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    during = done.stderr.split("FIT START\n", 1)[1].split("FIT END\n", 1)[0]
    assert not re.findall(r"^[IWEF]\d{4} .*$", during, re.MULTILINE), during


def test_initializer_sets_initial_weight_statistics():
    n_features, units = 50, 200
    stds = {}
    for name in ["he_normal", "random_uniform", "glorot_uniform"]:
        spec = _spec(n_features=n_features, hidden_layer_sizes=(units,), kernel_initializer=name)
        model = build_network(spec, np.random.default_rng(0))
        stds[name] = _kernel(model, "hidden_0").std()
    assert stds["he_normal"] == pytest.approx(np.sqrt(2 / n_features), rel=0.05)
    assert stds["random_uniform"] == pytest.approx(0.05 / np.sqrt(3), rel=0.05)
    assert stds["glorot_uniform"] == pytest.approx(np.sqrt(2 / (n_features + units)), rel=0.05)


@pytest.mark.parametrize(
    "name, expected_std",
    [("he_normal", np.sqrt(2 / 40)), ("random_uniform", 0.05 / np.sqrt(3))],
)
def test_estimator_uses_kernel_initializer(name, expected_std):
    # A negligible learning rate: coefs_ after one epoch are the initial weights.
    X = np.random.default_rng(0).normal(size=(20, 40))
    y = X[:, 0]
    est = MLPRegressorX(
        hidden_layer_sizes=(100,),
        kernel_initializer=name,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1e-12,
        max_iter=1,
        random_state=0,
    ).fit(X, y)
    assert est.coefs_[0].std() == pytest.approx(expected_std, rel=0.05)


def test_zeros_initializer_never_breaks_symmetry():
    X, y = _data()
    kwargs = dict(
        hidden_layer_sizes=(6,),
        activation="logistic",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=0.5,
        max_iter=5,
        random_state=0,
    )
    with pytest.warns(DiagnosticWarning, match="Symmetry not broken: all 6 units of hidden_0"):
        est = MLPClassifierX(kernel_initializer="zeros", **kwargs).fit(X, y)
    hidden, out = est.coefs_
    # Training moved the weights ...
    assert np.abs(hidden).max() > 1e-3
    assert np.abs(out).max() > 1e-3
    # ... but every hidden unit stayed identical to the first one.
    assert_allclose(hidden, np.repeat(hidden[:, :1], 6, axis=1), rtol=1e-10, atol=1e-14)
    assert_allclose(est.intercepts_[0], est.intercepts_[0][0], rtol=1e-10, atol=1e-14)
    assert_allclose(out, np.repeat(out[:1], 6, axis=0), rtol=1e-10, atol=1e-14)
    # A random initializer does break it, and nothing warns.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DiagnosticWarning)
        other = MLPClassifierX(kernel_initializer="glorot_uniform", **kwargs).fit(X, y)
    assert not np.allclose(other.coefs_[0], other.coefs_[0][:, :1])


# -- dropout -------------------------------------------------------------------------


def test_dropout_active_only_in_training():
    X, y = _data()
    est = MLPClassifierX(
        hidden_layer_sizes=(16, 16),
        dropout=0.5,
        max_iter=3,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, y)
    assert est.model_.get_layer("dropout_0").rate == pytest.approx(0.5)
    train_a = np.asarray(est.model_(X, training=True))
    train_b = np.asarray(est.model_(X, training=True))
    assert not np.allclose(train_a, train_b)
    infer_a = np.asarray(est.model_(X, training=False))
    infer_b = np.asarray(est.model_(X, training=False))
    assert_allclose(infer_a, infer_b, rtol=0, atol=0)
    assert_allclose(est.predict_proba(X), infer_a, rtol=1e-12, atol=1e-12)


def test_dropout_per_layer():
    X, y = _data()
    est = MLPClassifierX(
        hidden_layer_sizes=(5, 4, 3), dropout=(0.1, 0.0, 0.3), max_iter=1, random_state=0
    ).fit(X, y)
    names = [layer.name for layer in est.model_.layers]
    assert "dropout_1" not in names
    assert est.model_.get_layer("dropout_0").rate == pytest.approx(0.1)
    assert est.model_.get_layer("dropout_2").rate == pytest.approx(0.3)
    dropouts = [layer for layer in est.model_.layers if isinstance(layer, keras.layers.Dropout)]
    assert len(dropouts) == 2


def test_dropout_zero_adds_no_layer():
    X, y = _data()
    est = MLPClassifierX(hidden_layer_sizes=(5, 4), max_iter=1, random_state=0).fit(X, y)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in est.model_.layers)


@pytest.mark.parametrize("dropout", [(0.1,), (0.1, 0.2, 0.3), []])
def test_dropout_wrong_length_raises(dropout):
    X, y = _data()
    est = MLPClassifierX(hidden_layer_sizes=(5, 4), dropout=dropout, max_iter=1)
    with pytest.raises(ValueError, match="dropout must be one rate or one rate per hidden layer"):
        est.fit(X, y)


def test_dropout_rate_out_of_range_raises():
    X, y = _data()
    est = MLPClassifierX(hidden_layer_sizes=(5, 4), dropout=(0.1, 1.0), max_iter=1)
    with pytest.raises(ValueError, match="dropout rates must be in"):
        est.fit(X, y)


# -- L1 ------------------------------------------------------------------------------


def test_l1_drives_weights_to_zero():
    # Two informative features out of 20: L1 zeroes most input weights.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 20))
    y = X[:, 0] - 2 * X[:, 1]
    kwargs = dict(
        hidden_layer_sizes=(16,),
        alpha=0.0,
        learning_rate_init=0.01,
        max_iter=100,
        batch_size=200,
        tol=0.0,
        random_state=0,
    )
    near_zero = {}
    for l1 in [0.0, 1.0]:
        est = MLPRegressorX(l1=l1, **kwargs).fit(X, y)
        near_zero[l1] = np.mean(np.abs(est.coefs_[0]) < 1e-2)
    assert near_zero[0.0] < 0.1
    assert near_zero[1.0] > 0.4


# -- batch normalization -------------------------------------------------------------


def test_batch_normalization_layers_and_forward():
    X, y = _data(n=80)
    X = 3.0 * X + 2.0  # far from zero mean / unit variance: the moving stats matter
    est = MLPClassifierX(
        hidden_layer_sizes=(7, 5),
        batch_normalization=True,
        max_iter=5,
        learning_rate_init=0.01,
        batch_size=20,
        random_state=0,
    ).fit(X, y)
    bn = [
        layer for layer in est.model_.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert [layer.name for layer in bn] == ["batch_norm_0", "batch_norm_1"]
    names = [layer.name for layer in est.model_.layers]
    assert names.index("batch_norm_0") == names.index("hidden_0") + 1
    assert names.index("activation_0") == names.index("batch_norm_0") + 1
    # The moving statistics were updated by training.
    assert np.abs(np.asarray(bn[0].moving_mean)).max() > 0.05
    assert np.abs(np.asarray(bn[0].moving_variance) - 1).max() > 0.05
    assert_allclose(est.predict_proba(X), _keras_outputs(est.model_, X), rtol=1e-12, atol=1e-12)
    # Without the flag there is none.
    plain = MLPClassifierX(hidden_layer_sizes=(7, 5), max_iter=1, random_state=0).fit(X, y)
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization) for layer in plain.model_.layers
    )


def test_batch_norm_momentum_lets_short_fits_predict_well():
    # Keras's default momentum (0.99) leaves the moving statistics near their initial
    # values after ~100 steps, and inference then sees the wrong scale; 0.9 does not.
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    params = dict(
        hidden_layer_sizes=(32,) * 4,
        activation="logistic",
        batch_normalization=True,
        max_iter=10,
        random_state=0,
    )
    ours = MLPClassifierX(**params).fit(X, y)
    assert ours.model_.get_layer("batch_norm_0").momentum == 0.9
    keras_default = MLPClassifierX(batch_norm_momentum=0.99, **params).fit(X, y)
    assert keras_default.model_.get_layer("batch_norm_0").momentum == 0.99
    assert ours.score(X, y) > 0.9 > keras_default.score(X, y) + 0.2


# -- residual connections ------------------------------------------------------------


def test_residual_adds_the_block_input_where_widths_match():
    spec = _spec(hidden_layer_sizes=(6, 6, 4, 4), dropout=(0.0, 0.1, 0.0, 0.0), residual=True)
    model = build_network(spec, np.random.default_rng(0))
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    # Only blocks whose input is as wide as their output: 6 -> 6 and 4 -> 4.
    assert [layer.name for layer in adds] == ["residual_1", "residual_3"]
    X = np.random.default_rng(1).normal(size=(7, 5))
    # By hand: x + relu(x @ W + b) for the residual blocks.
    weights = [(_kernel(model, f"hidden_{i}"), 0.0) for i in range(4)]
    h = np.maximum(X @ weights[0][0], 0)
    h = h + np.maximum(h @ weights[1][0], 0)
    h = np.maximum(h @ weights[2][0], 0)
    h = h + np.maximum(h @ weights[3][0], 0)
    expected = h @ _kernel(model, "output")
    assert_allclose(_keras_outputs(model, X), expected, rtol=1e-12)
    plain = build_network(dataclasses.replace(spec, residual=False), np.random.default_rng(0))
    assert not any(isinstance(layer, keras.layers.Add) for layer in plain.layers)


def test_residual_forward_matches_keras_and_trains_deep():
    X, y = _data(n=120)
    kwargs = dict(
        hidden_layer_sizes=(16,) * 6,
        batch_normalization=True,
        dropout=0.1,
        max_iter=30,
        learning_rate_init=0.01,
        batch_size=40,
        random_state=0,
    )
    est = MLPClassifierX(residual=True, **kwargs).fit(X, y)
    assert sum(isinstance(layer, keras.layers.Add) for layer in est.model_.layers) == 5
    assert_allclose(est.predict_proba(X), _keras_outputs(est.model_, X), rtol=1e-12, atol=1e-12)
    assert est.score(X, y) > 0.9


# -- numpy forward pass against Keras ------------------------------------------------


@functools.cache
def _fitted(activation, dtype):
    X, y = _data(n=64)
    X = X.astype(dtype)
    est = MLPClassifierX(
        hidden_layer_sizes=(8, 6),
        activation=activation,
        max_iter=3,
        learning_rate_init=0.05,
        batch_size=64,
        random_state=0,
    ).fit(X, y)
    return est, X


# TensorFlow's float64 kernels of these two are not float64-exact: the LeakyRelu op
# holds its slope in a float32 attribute (0.2 -> 0.20000000298, a 1.5e-8 relative
# error) and the float64 Gelu op differs from 0.5 x (1 + erf(x / sqrt 2)) by ~4e-9.
# The numpy functions are the exact ones, so the two paths agree only to ~1e-8.
_FLOAT64_TOL = {"gelu": 1e-7, "leaky_relu": 1e-7}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_matches_keras_float64(activation):
    est, X = _fitted(activation, "float64")
    assert est.model_.inputs[0].dtype == "float64"
    tol = _FLOAT64_TOL.get(activation, 1e-12)
    expected = _keras_outputs(est.model_, X)
    assert expected.dtype == np.float64
    assert_allclose(est.predict_proba(X), expected, rtol=tol, atol=tol)
    # model_.predict itself, on inputs it does not round.
    X_rounded = X.astype(np.float32).astype(np.float64)
    assert_allclose(
        est.predict_proba(X_rounded), est.model_.predict(X, verbose=0), rtol=tol, atol=tol
    )


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_matches_keras_float32(activation):
    est, X = _fitted(activation, "float32")
    # float32 input trains a float32 model.
    assert est.model_.inputs[0].dtype == "float32"
    assert all(w.dtype == np.float32 for w in est.model_.get_weights())
    assert est.coefs_[0].dtype == np.float32
    expected = est.model_.predict(X, verbose=0)
    assert expected.dtype == np.float32
    got = est.predict_proba(X)
    # Like scikit-learn's MLP, a float32 network predicts in float32.
    assert got.dtype == np.float32
    assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation_layers_use_keras_activation(activation):
    est, _ = _fitted(activation, "float64")
    expected = keras.activations.get(ACTIVATIONS[activation].keras_name)
    for i in range(2):
        assert est.model_.get_layer(f"activation_{i}").activation is expected
    assert est.model_.get_layer("output_activation").activation is keras.activations.get("softmax")


def test_forward_without_hidden_layers():
    X, y = _data()
    est = MLPClassifierX(hidden_layer_sizes=(), max_iter=2, random_state=0).fit(X, y)
    assert [layer.name for layer in est.model_.layers] == ["input", "output", "output_activation"]
    assert est.n_layers_ == 2
    assert_allclose(est.predict_proba(X), _keras_outputs(est.model_, X), rtol=1e-12, atol=1e-12)


def test_keras_predict_rounds_float64_inputs():
    # Documents the Keras behaviour the float64 comparisons work around: predict on
    # float64 data differs from the model's float64 output by float32 input rounding.
    est, X = _fitted("tanh", "float64")
    exact = _keras_outputs(est.model_, X)
    via_predict = est.model_.predict(X, verbose=0)
    assert via_predict.dtype == np.float64
    assert np.abs(via_predict - exact).max() > 1e-12
    assert_allclose(via_predict, exact, rtol=1e-6, atol=1e-7)


# -- output activation ---------------------------------------------------------------


def _targets(kind, X):
    if kind == "multiclass":
        return _data()[1]
    if kind == "binary":
        return (X[:, 0] > 0).astype(int)
    if kind == "multilabel":
        return np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0]).astype(int)
    if kind == "poisson":
        return np.random.default_rng(1).poisson(np.exp(0.3 * X[:, 0]))
    return X[:, 0] - X[:, 1]


@pytest.mark.parametrize(
    "est, kind, out_activation, n_outputs",
    [
        (MLPClassifierX(), "multiclass", "softmax", 3),
        (MLPClassifierX(), "binary", "logistic", 1),
        (MLPClassifierX(), "multilabel", "logistic", 3),
        (MLPRegressorX(), "regression", "identity", 1),
        (MLPRegressorX(loss="poisson"), "poisson", "exp", 1),
    ],
    ids=["multiclass", "binary", "multilabel", "regression", "poisson"],
)
def test_out_activation(est, kind, out_activation, n_outputs):
    X = _data()[0]
    y = _targets(kind, X)
    est.set_params(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    est.fit(X, y)
    assert est.out_activation_ == out_activation
    assert est.n_outputs_ == n_outputs
    layer = est.model_.get_layer("output_activation")
    assert layer.activation is keras.activations.get(OUTPUT_ACTIVATIONS[out_activation].keras_name)
    keras_out = _keras_outputs(est.model_, X)
    assert keras_out.shape == (len(X), n_outputs)
    if kind == "binary":
        assert_allclose(est.predict_proba(X)[:, 1:], keras_out, rtol=1e-12, atol=1e-12)
    elif isinstance(est, MLPClassifierX):
        assert_allclose(est.predict_proba(X), keras_out, rtol=1e-12, atol=1e-12)
    else:
        assert_allclose(est.predict(X), keras_out.ravel(), rtol=1e-12, atol=1e-12)
    if kind == "poisson":
        logits = keras.Model(est.model_.inputs[0], est.model_.get_layer("output").output)
        z = np.asarray(logits(X, training=False)).ravel()
        assert_allclose(est.predict(X), np.exp(z), rtol=1e-12)
        assert np.all(est.predict(X) > 0)
