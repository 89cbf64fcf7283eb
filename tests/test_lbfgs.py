"""Full-batch L-BFGS (skneural/_lbfgs.py) against scikit-learn's own ``solver='lbfgs'``
and against the objective written out in numpy."""

import dataclasses
import types
import warnings

import numpy as np
import pytest
import scipy.optimize
import sklearn.neural_network._multilayer_perceptron as sk_mlp
from sklearn.datasets import load_breast_cancer, load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skneural._config import NetworkSpec
from skneural._epoch import TrainData
from skneural._lbfgs import LbfgsTrainer
from skneural._network import build_network, dense_layers
from skneural._plan import Objective

# L-BFGS is deterministic given the objective and its gradient, but TensorFlow and
# numpy sum in different orders: each evaluation differs in the last bits (~1e-16),
# and the iterations amplify that to at most ~2e-10 (measured: 50 iterations on these
# data sets, weights of size 1-4). 1e-7 leaves three orders of magnitude for other
# BLAS builds and still fails on any real difference in the objective (a missing
# sample-weight normalisation or penalty factor moves the weights by 1e-3 or more).
RTOL, ATOL = 1e-7, 1e-8


def _network(
    n_features, hidden, n_outputs, out_activation, dtype="float64", activation="tanh", **extra
):
    spec = dict(
        n_features=n_features,
        hidden_layer_sizes=hidden,
        activation=activation,
        kernel_initializer="glorot_uniform",
        dropout=(0.0,) * len(hidden),
        batch_normalization=False,
        batch_norm_momentum=0.99,
        residual=False,
        n_outputs=n_outputs,
        out_activation=out_activation,
        dtype=dtype,
    )
    spec.update(extra)
    spec = NetworkSpec(**spec)
    return spec, build_network(spec, np.random.default_rng(0))


def _data(X, Y, sample_weight=None, dtype="float64"):
    W = np.ones(len(X)) if sample_weight is None else sample_weight
    return TrainData.from_arrays(X, Y, W, dtype)


@pytest.fixture
def sklearn_curves(monkeypatch):
    """The objective after each of scikit-learn's L-BFGS iterations, one list per fit
    (scikit-learn records none: a callback is added to its call of scipy)."""
    curves = []

    def minimize(*args, **kwargs):
        curve = []
        curves.append(curve)
        record = lambda intermediate_result: curve.append(intermediate_result.fun)  # noqa: E731
        return scipy.optimize.minimize(*args, callback=record, **kwargs)

    optimize = types.SimpleNamespace(minimize=minimize)
    monkeypatch.setattr(sk_mlp, "scipy", types.SimpleNamespace(optimize=optimize))
    return curves


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y, np.eye(3)[y]


def _breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:200]
    return X, y[:200], y[:200, None].astype(float)


def _multilabel():
    X, Y = make_multilabel_classification(120, 6, n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), Y, Y.astype(float)


def _regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=100)
    return X, y, y[:, None]


def _reference_and_copy(Estimator, X, y, model, alpha, sample_weight=None, hidden=(8,)):
    """scikit-learn's lbfgs MLP after one iteration from its seed, and its weights
    copied into ``model``: both then continue from the same weights."""
    reference = Estimator(
        hidden_layer_sizes=hidden, activation="tanh", solver="lbfgs", alpha=alpha,
        max_iter=1, random_state=0,
    )  # fmt: skip
    reference.fit(X, y, sample_weight=sample_weight)
    for layer, coef, intercept in zip(
        dense_layers(model), reference.coefs_, reference.intercepts_, strict=True
    ):
        layer.kernel.assign(coef)
        layer.bias.assign(intercept)
    return reference


CASES = {
    "multiclass": (MLPClassifier, _iris, "log_loss", "softmax"),
    "binary": (MLPClassifier, _breast_cancer, "binary_log_loss", "logistic"),
    "multilabel": (MLPClassifier, _multilabel, "binary_log_loss", "logistic"),
    "regression": (MLPRegressor, _regression, "squared_error", "identity"),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("alpha, weighted", [(0.0, False), (0.1, False), (0.01, True)])
def test_continues_as_scikit_learn_from_its_weights(case, alpha, weighted, sklearn_curves):
    Estimator, load, loss, out_activation = CASES[case]
    X, y, Y = load()
    sample_weight = np.random.default_rng(1).uniform(0.2, 3.0, len(X)) if weighted else None
    spec, model = _network(X.shape[1], (8, 5), Y.shape[1], out_activation)
    reference = _reference_and_copy(Estimator, X, y, model, alpha, sample_weight, (8, 5))
    objective = Objective(loss, alpha=alpha)
    trainer = LbfgsTrainer(spec, objective)
    data = _data(X, Y, sample_weight)

    # Two warm starts in a row: each continues from the weights the last one left.
    for _ in range(2):
        reference.set_params(warm_start=True, max_iter=25)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            reference.fit(X, y, sample_weight=sample_weight)
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always", ConvergenceWarning)
            result = trainer.run(model, data, objective, max_iter=25, max_fun=15000, tol=1e-4)

        assert result.finite
        assert result.n_iter == reference.n_iter_ == len(result.loss_curve)
        assert [str(w.message) for w in ours] == [str(w.message) for w in caught]
        np.testing.assert_allclose(result.loss_curve, sklearn_curves[-1], rtol=RTOL)
        np.testing.assert_allclose(result.loss, reference.loss_, rtol=RTOL)
        for layer, coef, intercept in zip(
            dense_layers(model), reference.coefs_, reference.intercepts_, strict=True
        ):
            np.testing.assert_allclose(layer.kernel.numpy(), coef, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(layer.bias.numpy(), intercept, rtol=RTOL, atol=ATOL)
        expected = reference.predict(X) if Estimator is MLPRegressor else reference.predict_proba(X)
        outputs = model(X).numpy()
        if case == "binary":
            outputs = np.hstack([1 - outputs, outputs])
        np.testing.assert_allclose(outputs.reshape(expected.shape), expected, rtol=RTOL, atol=ATOL)


def _numpy_objective(weights, X, Y, W, alpha, l1):
    """Loss and gradient of a tanh network with a softmax log-loss output, in numpy:
    the weighted mean per-sample loss plus (alpha/2 ||W||^2 + l1 |W|_1) / sum(W)."""
    kernels, biases = weights[0::2], weights[1::2]
    activations = [X]
    for i, (kernel, bias) in enumerate(zip(kernels, biases, strict=True)):
        z = activations[-1] @ kernel + bias
        activations.append(z if i == len(kernels) - 1 else np.tanh(z))
    logits = activations[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    total = W.sum()
    penalty = sum(0.5 * alpha * np.sum(k**2) + l1 * np.sum(np.abs(k)) for k in kernels)
    loss = (np.sum(W * -(Y * log_p).sum(axis=1)) + penalty) / total
    delta = W[:, None] * (np.exp(log_p) - Y) / total
    grads = [None] * len(weights)
    for i in range(len(kernels) - 1, -1, -1):
        penalty_gradient = alpha * kernels[i] + l1 * np.sign(kernels[i])
        grads[2 * i] = activations[i].T @ delta + penalty_gradient / total
        grads[2 * i + 1] = delta.sum(axis=0)
        if i > 0:
            delta = (delta @ kernels[i].T) * (1 - activations[i] ** 2)
    return loss, grads


def test_loss_and_gradient_equal_the_objective_written_in_numpy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    Y = np.eye(3)[rng.integers(3, size=40)]
    W = rng.uniform(0.1, 2.0, size=40)
    spec, model = _network(4, (6, 5), 3, "softmax")
    weights = [rng.normal(size=v.shape) for v in model.get_weights()]
    model.set_weights(weights)
    alpha, l1 = 0.3, 0.05
    trainer = LbfgsTrainer(spec, Objective("log_loss"))
    loss, gradient = trainer.loss_and_gradient(
        trainer.flat_weights(model), _data(X, Y, W), alpha, l1
    )

    expected_loss, grads = _numpy_objective(weights, X, Y, W, alpha, l1)
    # The flat vector is scikit-learn's packing: every kernel, then every bias.
    expected_gradient = np.concatenate([g.ravel() for g in grads[0::2] + grads[1::2]])
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-10, atol=1e-12)
    unpenalised, _ = trainer.loss_and_gradient(
        trainer.flat_weights(model), _data(X, Y, W), 0.0, 0.0
    )
    assert expected_loss - unpenalised > 0.1  # the penalties are part of what was compared


@pytest.mark.parametrize("limit", ["max_iter", "max_fun"])
def test_limits_warn_and_count_as_scikit_learn(limit):
    X, y, Y = _iris()
    spec, model = _network(4, (8,), 3, "softmax")
    reference = _reference_and_copy(MLPClassifier, X, y, model, alpha=0.0)
    settings = {"max_iter": 200, "max_fun": 15000, limit: 4}
    reference.set_params(warm_start=True, **settings)
    with pytest.warns(ConvergenceWarning) as caught:
        reference.fit(X, y)
    objective = Objective("log_loss")
    with pytest.warns(ConvergenceWarning) as ours:
        result = LbfgsTrainer(spec, objective).run(
            model, _data(X, Y), objective, tol=1e-4, **settings
        )
    assert [str(w.message) for w in ours] == [str(w.message) for w in caught]
    assert result.n_iter == reference.n_iter_
    status = "ITERATIONS REACHED LIMIT" if limit == "max_iter" else "EVALUATIONS EXCEEDS LIMIT"
    assert status in str(ours[0].message)
    if limit == "max_iter":
        assert result.n_iter == 4 and "Increase the number of iterations" in str(ours[0].message)
    else:
        assert result.n_iter < 200 and "Increase the number" not in str(ours[0].message)


def test_loss_options_reach_the_per_sample_loss():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 3)), 3 * rng.normal(size=(30, 2))
    spec, model = _network(3, (4,), 2, "identity")
    objective = Objective("huber", (("delta", 0.5),))
    trainer = LbfgsTrainer(spec, objective)
    loss, _ = trainer.loss_and_gradient(trainer.flat_weights(model), _data(X, Y), 0.0, 0.0)
    error = np.abs(Y - model(X).numpy())
    huber = np.where(error <= 0.5, 0.5 * error**2, 0.5 * (error - 0.25))
    np.testing.assert_allclose(loss, huber.mean(axis=1).mean(), rtol=1e-12)


def test_non_finite_objective_at_the_start_is_reported():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=(10, 1))
    spec, model = _network(2, (100,), 1, "identity", activation="relu")
    start = model.get_weights()
    objective = Objective("squared_error")
    with warnings.catch_warnings():
        # No ConvergenceWarning from scipy's "ABNORMAL" stop before the estimator's error.
        warnings.simplefilter("error")
        result = LbfgsTrainer(spec, objective).run(model, _data(X, y), objective, 200, 15000, 1e-4)
    assert not result.finite and result.n_iter == 0 and not np.isfinite(result.loss)
    for weight, before in zip(model.get_weights(), start, strict=True):
        np.testing.assert_array_equal(weight, before)


def test_one_trace_serves_every_model_of_the_shape_any_data_size_and_penalty():
    X, y, Y = _iris()
    spec, _ = _network(4, (8,), 3, "softmax")
    shared = LbfgsTrainer(spec, Objective("log_loss"))
    for seed, n, alpha, l1 in [(0, 150, 0.0, 0.0), (1, 60, 1e-3, 0.0), (2, 100, 0.1, 0.01)]:
        objective = Objective("log_loss", alpha=alpha, l1=l1)
        data = _data(X[:n], Y[:n])
        model = build_network(spec, np.random.default_rng(seed))
        alone = build_network(spec, np.random.default_rng(seed))
        result = shared.run(model, data, objective, max_iter=5, max_fun=15000, tol=1e-4)
        fresh = LbfgsTrainer(spec, objective).run(alone, data, objective, 5, 15000, 1e-4)
        assert result.loss_curve == fresh.loss_curve
        for weight, expected in zip(model.get_weights(), alone.get_weights(), strict=True):
            np.testing.assert_array_equal(weight, expected)
    assert shared._function.experimental_get_tracing_count() == 1
    _, other = _network(4, (9,), 3, "softmax")
    with pytest.raises(ValueError, match=r"shapes \[\(4, 9\).*built for \[\(4, 8\)"):
        shared.run(other, _data(X, Y), Objective("log_loss"), 5, 15000, 1e-4)


def test_float32_model_computes_in_float32_and_trains():
    X, y, Y = _iris()
    spec64, model64 = _network(4, (8,), 3, "softmax")
    spec32, model32 = _network(4, (8,), 3, "softmax", dtype="float32")
    model32.set_weights([w.astype(np.float32) for w in model64.get_weights()])
    objective = Objective("log_loss", alpha=0.01)
    trainer32, trainer64 = LbfgsTrainer(spec32, objective), LbfgsTrainer(spec64, objective)
    flat = trainer64.flat_weights(model64)
    loss32, gradient32 = trainer32.loss_and_gradient(flat, _data(X, Y, dtype="float32"), 0.01, 0.0)
    loss64, gradient64 = trainer64.loss_and_gradient(flat, _data(X, Y), 0.01, 0.0)
    assert gradient32.dtype == np.float64
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5)
    np.testing.assert_allclose(gradient32, gradient64, rtol=1e-4, atol=1e-6)
    assert np.abs(gradient32 - gradient64).max() > 0  # it did compute in float32
    result = trainer32.run(model32, _data(X, Y, dtype="float32"), objective, 100, 15000, 1e-4)
    assert result.finite and result.loss_curve[-1] < 0.5 * loss32
    assert model32.get_weights()[0].dtype == np.float32


def test_verbose_prints_the_loss_of_every_iteration(capsys):
    X, y, Y = _iris()
    spec, model = _network(4, (8,), 3, "softmax")
    objective = Objective("log_loss")
    trainer = LbfgsTrainer(spec, objective)
    result = trainer.run(model, _data(X, Y), objective, 3, 15000, 1e-4, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Iteration {i + 1}, loss = {v:.8f}" for i, v in enumerate(result.loss_curve)]
    assert len(lines) == 3


def test_refuses_dropout_naming_the_parameter():
    spec, model = _network(4, (8, 6), 3, "softmax", dropout=(0.0, 0.2))
    with pytest.raises(ValueError, match=r"expected dropout=0, got dropout rates \[0\.0, 0\.2\]"):
        LbfgsTrainer(spec, Objective("log_loss"))
    # A model with dropout given to a trainer of the same shape without it.
    trainer = LbfgsTrainer(dataclasses.replace(spec, dropout=(0.0, 0.0)), Objective("log_loss"))
    X, y, Y = _iris()
    with pytest.raises(ValueError, match=r"expected dropout=0, got dropout rates \[0\.2\]"):
        trainer.run(model, _data(X, Y), Objective("log_loss"), 5, 15000, 1e-4)


def test_refuses_adversarial_training_naming_the_parameter():
    spec, model = _network(4, (8,), 3, "softmax")
    objective = Objective("log_loss", adversarial_eps=(0.1,) * 4)
    with pytest.raises(
        ValueError, match=r"adversarial_eps=None, got a budget of \[0\.1, 0\.1, 0\.1, 0\.1\]\."
    ):
        LbfgsTrainer(spec, objective)
    many = Objective("log_loss", adversarial_eps=(0.25,) * 64)  # summed up, not all 64
    with pytest.raises(
        ValueError, match=r"got a budget of \[0\.25, 0\.25, 0\.25\] \.\.\. \(64 values\)\."
    ):
        LbfgsTrainer(spec, many)
    trainer = LbfgsTrainer(spec, Objective("log_loss"))
    X, y, Y = _iris()
    with pytest.raises(ValueError, match="adversarial_eps"):
        trainer.run(model, _data(X, Y), objective, 5, 15000, 1e-4)


def test_refuses_an_objective_with_another_loss():
    X, y, Y = _iris()
    spec, model = _network(4, (8,), 3, "softmax")
    trainer = LbfgsTrainer(spec, Objective("log_loss"))
    with pytest.raises(ValueError, match="computes the loss .*log_loss.*got .*squared_error"):
        trainer.run(model, _data(X, Y), Objective("squared_error"), 5, 15000, 1e-4)


def test_batch_normalization_trains_on_full_batch_statistics_and_infers_with_them():
    X, y, Y = _iris()
    spec, model = _network(4, (8, 6), 3, "softmax", batch_normalization=True)
    objective = Objective("log_loss", alpha=0.01)
    trainer = LbfgsTrainer(spec, objective)
    data = _data(X, Y)

    # The objective is deterministic, and its gradient is the gradient of the
    # full-batch training-mode network (central differences).
    start = trainer.flat_weights(model)
    flat = start + 0.1 * np.random.default_rng(0).normal(size=start.size)
    loss, gradient = trainer.loss_and_gradient(flat, data, 0.01, 0.0)
    assert trainer.loss_and_gradient(flat, data, 0.01, 0.0)[0] == loss
    h = 1e-6
    for i in np.random.default_rng(1).choice(flat.size, 12, replace=False):
        step = np.zeros_like(flat)
        step[i] = h
        plus, _ = trainer.loss_and_gradient(flat + step, data, 0.01, 0.0)
        minus, _ = trainer.loss_and_gradient(flat - step, data, 0.01, 0.0)
        np.testing.assert_allclose(gradient[i], (plus - minus) / (2 * h), rtol=1e-5, atol=1e-9)

    result = trainer.run(model, data, objective, 30, 15000, 1e-4)
    assert result.finite and result.loss_curve[-1] < result.loss_curve[0]
    # Inference with the moving statistics computes the network the objective measured.
    inference = model(X, training=False).numpy()
    training = model(X, training=True).numpy()
    np.testing.assert_allclose(inference, training, rtol=1e-10, atol=1e-12)
    penalty = 0.5 * 0.01 * sum(np.sum(layer.kernel.numpy() ** 2) for layer in dense_layers(model))
    loss = -np.mean(np.sum(Y * np.log(inference), axis=1)) + penalty / len(X)
    np.testing.assert_allclose(loss, result.loss, rtol=1e-10)
