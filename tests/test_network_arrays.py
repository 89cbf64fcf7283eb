"""A fit kept as arrays: the same network, optimizer state and results as through the
fit's own Keras model, which is built only when asked for."""

import pickle
import warnings

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification

from skneural import MLPClassifierX, MLPRegressorX, load, save
from skneural._network import build_network, dense_layers
from skneural._network_arrays import NetworkArrays, compile_model, model_state

BASE = dict(batch_size=32, max_iter=5, random_state=0)

CONFIGS = {
    "adam": dict(hidden_layer_sizes=(12,)),
    "sgd-nesterov-float64": dict(
        hidden_layer_sizes=(12, 6), solver="sgd", activation="tanh", dtype="float64"
    ),
    "sgd-plain": dict(hidden_layer_sizes=(9,), solver="sgd", momentum=0.0),
    "adamw": dict(hidden_layer_sizes=(10, 10), solver="adamw", activation="logistic"),
    "dropout-residual": dict(hidden_layer_sizes=(8, 8, 8), dropout=0.3, residual=True),
    "early-stopping-penalties": dict(
        hidden_layer_sizes=(12,), early_stopping=True, max_iter=10, alpha=0.1, l1=0.01
    ),
    "rmsprop": dict(hidden_layer_sizes=(12,), solver="rmsprop"),
    "adagrad-float64": dict(hidden_layer_sizes=(8, 4), solver="adagrad", dtype="float64"),
    "orthogonal-initializer": dict(
        hidden_layer_sizes=(7,), kernel_initializer=keras.initializers.Orthogonal()
    ),
}


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=150, n_features=6, n_classes=3, n_informative=4, random_state=0
    )
    return X, y


def _through_model(monkeypatch):
    """Make every new fit build its Keras model at once (the path before arrays)."""
    monkeypatch.setattr("skneural._fitted.serves", lambda plan: False)


def _fit(data, estimator=MLPClassifierX, dtype="float32", **params):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        return estimator(**dict(BASE, **params)).fit(X.astype(dtype), y)


def _same_values(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _model_values(model) -> list:
    return [v.numpy() for v in [*model.variables, *model.optimizer.variables]]


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_a_fit_kept_as_arrays_equals_the_fit_through_its_keras_model(data, monkeypatch, config):
    arrays = _fit(data, **config)
    assert arrays._network._model is None  # no Keras model was built
    with monkeypatch.context() as patch:
        _through_model(patch)
        keras_fit = _fit(data, **config)
    assert keras_fit._network._arrays is None
    np.testing.assert_array_equal(arrays.loss_curve_, keras_fit.loss_curve_)
    _same_values(arrays.coefs_ + arrays.intercepts_, keras_fit.coefs_ + keras_fit.intercepts_)
    X = data[0].astype(config.get("dtype", "float32"))
    np.testing.assert_array_equal(arrays.predict_proba(X), keras_fit.predict_proba(X))
    # The model built on demand is the one the fit used to build, optimizer state,
    # seed states and configuration (seeds included) alike.
    assert arrays.model_ is arrays.model_
    _same_values(_model_values(arrays.model_), _model_values(keras_fit.model_))
    assert arrays.model_.get_config() == keras_fit.model_.get_config()


def test_initial_arrays_are_what_build_network_and_a_new_optimizer_hold(data):
    # Adagrad's accumulators start at its initial_accumulator_value, not at zero.
    for dtype, dropout, solver in [
        ("float32", (0.2, 0.0), "adam"),
        ("float64", (0.0, 0.5), "adagrad"),
        ("float32", (0.0, 0.0), "rmsprop"),
    ]:
        est = _fit(
            data,
            dtype=dtype,
            hidden_layer_sizes=(5, 4),
            dropout=dropout,
            max_iter=1,
            solver=solver,
        )
        plan = est._network.plan
        model = build_network(plan.network, np.random.default_rng(7))
        compile_model(model, plan)
        rng = np.random.default_rng(7)
        arrays = NetworkArrays.initial(plan, rng, plan.schedule.learning_rate_init)
        _same_values(arrays.values, [v.numpy() for v in model_state(model)])
        assert [w.dtype for w in arrays.values[:6]] == [np.dtype(dtype)] * 6
        # The generator advanced as build_network advances it.
        after = np.random.default_rng(7)
        build_network(plan.network, after)
        assert rng.integers(2**31) == after.integers(2**31)


def test_continuing_from_arrays_equals_continuing_from_the_keras_model(data, monkeypatch):
    def run(patch):
        est = _fit(data, hidden_layer_sizes=(10,), warm_start=True)
        X, y = data[0].astype("float32"), data[1]
        est.partial_fit(X, y)
        est.set_params(learning_rate_init=0.01, max_iter=3)  # a new optimizer
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        for solver in ("sgd", "adagrad"):  # new optimizers, with zero and non-zero slots
            est.set_params(solver=solver)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
        return est

    arrays = run(monkeypatch)
    assert arrays._network._model is None
    with monkeypatch.context() as patch:
        _through_model(patch)
        keras_fit = run(patch)
    np.testing.assert_array_equal(arrays.loss_curve_, keras_fit.loss_curve_)
    _same_values(arrays.coefs_ + arrays.intercepts_, keras_fit.coefs_ + keras_fit.intercepts_)
    _same_values(_model_values(arrays.model_), _model_values(keras_fit.model_))


def test_assigned_weights_reach_the_arrays_and_the_model(data):
    est = _fit(data, hidden_layer_sizes=(6,))
    X = data[0].astype("float32")
    coefs = [c * 2 for c in est.coefs_]
    est.coefs_ = coefs
    expected = np.maximum(X @ coefs[0] + est.intercepts_[0], 0) @ coefs[1] + est.intercepts_[1]
    np.testing.assert_allclose(est._outputs(X, logits=True), expected, rtol=1e-5, atol=1e-5)
    assert est._network._model is None
    _same_values([layer.kernel.numpy() for layer in dense_layers(est.model_)], coefs)


@pytest.mark.parametrize("solver", ["adam", "adagrad"])
def test_arrays_pickle_and_save_round_trip_bit_for_bit(data, tmp_path, solver):
    est = _fit(data, estimator=MLPRegressorX, hidden_layer_sizes=(8, 4), dropout=0.1, solver=solver)
    X = data[0].astype("float32")
    copy = pickle.loads(pickle.dumps(est))
    assert copy._network._model is None
    np.testing.assert_array_equal(copy.predict(X), est.predict(X))
    save(est, tmp_path / "m.skneural")
    loaded = load(tmp_path / "m.skneural")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    _same_values(_model_values(loaded.model_), _model_values(est.model_))
    _same_values(_model_values(copy.model_), _model_values(est.model_))


def test_model_attribute_only_when_fitted():
    est = MLPClassifierX()
    assert not hasattr(est, "model_")
    with pytest.raises(AttributeError, match="model_"):
        _ = est.model_
