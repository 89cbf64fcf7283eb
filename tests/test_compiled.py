"""The pool of compiled workspaces: reuse must never change a result or share state."""

import logging
import threading

import numpy as np
import pytest
from sklearn.datasets import make_classification

from skneural import MLPClassifierX, MLPRegressorX
from skneural._plan import Objective
from skneural._pool import RunnerPool

PARAMS = dict(
    hidden_layer_sizes=(16, 8),
    dropout=0.2,
    batch_normalization=True,
    batch_size=32,
    max_iter=8,
    random_state=0,
)


@pytest.fixture
def data():
    X, y = make_classification(
        n_samples=150, n_features=7, n_classes=3, n_informative=4, random_state=0
    )
    return X, y


@pytest.fixture
def fresh_pool(monkeypatch):
    pool = RunnerPool(max_idle=4)
    monkeypatch.setattr("skneural._fitted.POOL", pool)
    return pool


def _fit(data, **extra):
    X, y = data
    return MLPClassifierX(**dict(PARAMS, **extra)).fit(X, y)


def test_reused_workspace_gives_the_result_of_a_fresh_one(data, monkeypatch):
    fresh = {}
    with monkeypatch.context() as m:
        m.setattr("skneural._fitted.POOL", RunnerPool(max_idle=0))
        for seed in (0, 1):
            fresh[seed] = _fit(data, random_state=seed, early_stopping=True).predict_proba(data[0])
    pool = RunnerPool(max_idle=4)
    monkeypatch.setattr("skneural._fitted.POOL", pool)
    for _ in range(2):
        for seed in (0, 1):
            reused = _fit(data, random_state=seed, early_stopping=True).predict_proba(data[0])
            np.testing.assert_array_equal(reused, fresh[seed])
    assert sum(len(r) for r in pool._idle.values()) == 1


def test_warm_start_through_the_pool_matches_without(data, fresh_pool, monkeypatch):
    X, y = data
    est = MLPClassifierX(**dict(PARAMS, warm_start=True)).fit(X, y)
    _fit(data, random_state=5)  # another estimator uses the same workspace in between
    pooled = est.fit(X, y).predict_proba(X)
    monkeypatch.setattr("skneural._fitted.POOL", RunnerPool(max_idle=0))
    unpooled = MLPClassifierX(**dict(PARAMS, warm_start=True)).fit(X, y).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(pooled, unpooled)


def test_estimators_do_not_share_their_models(data, fresh_pool):
    X, _ = data
    first = _fit(data)
    before = first.predict_proba(X)
    weights = [w.copy() for w in first.model_.get_weights()]
    second = _fit(data, random_state=3)
    assert second.model_ is not first.model_
    assert not any(
        a is b for a, b in zip(first.model_.variables, second.model_.variables, strict=True)
    )
    np.testing.assert_array_equal(first.predict_proba(X), before)
    for old, new in zip(weights, first.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize(
    "change",
    [
        dict(hidden_layer_sizes=(16, 4)),
        dict(dropout=0.3),
        dict(batch_normalization=False),
        dict(solver="sgd"),
        dict(beta_1=0.8),
        dict(activation="tanh"),
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_different_network_or_optimizer_gets_its_own_workspace(data, fresh_pool, change):
    _fit(data)
    _fit(data, **change)
    assert len(fresh_pool._idle) == 2


def test_input_width_and_dtype_get_their_own_workspace(data, fresh_pool):
    X, y = data
    MLPClassifierX(**PARAMS).fit(X, y)
    MLPClassifierX(**PARAMS).fit(X.astype(np.float32), y)
    MLPClassifierX(**PARAMS).fit(X[:, :5], y)
    assert len(fresh_pool._idle) == 3


def test_alpha_l1_and_learning_rate_reuse_one_workspace(data, fresh_pool):
    for params in (dict(alpha=1e-4), dict(alpha=0.1, l1=0.01), dict(learning_rate_init=0.01)):
        _fit(data, **params)
    assert len(fresh_pool._idle) == 1


def test_penalty_reaches_the_reused_graph(data, fresh_pool, monkeypatch):
    pooled = [_fit(data, alpha=a).coefs_[0] for a in (0.0, 5.0)]
    monkeypatch.setattr("skneural._fitted.POOL", RunnerPool(max_idle=0))
    np.testing.assert_array_equal(pooled[1], _fit(data, alpha=5.0).coefs_[0])
    assert np.abs(pooled[1]).sum() < np.abs(pooled[0]).sum()


def test_alpha_and_l1_zero_get_one_more_workspace_without_penalty_ops(data, fresh_pool):
    for params in (dict(alpha=1e-4), dict(alpha=0.0), dict(alpha=0.1, l1=0.01), dict(alpha=0.0)):
        _fit(data, **params)
    assert len(fresh_pool._idle) == 2


PENALTY_FREE = {
    "adam-float32": (dict(batch_normalization=False), np.float32),
    "sgd-tanh-float64": (dict(solver="sgd", activation="tanh", dropout=0.0), np.float64),
    "keras-workspace-early-stopping": (dict(early_stopping=True), np.float32),
    "rmsprop": (dict(solver="rmsprop", batch_normalization=False), np.float32),
}


@pytest.mark.parametrize("config", PENALTY_FREE.values(), ids=PENALTY_FREE.keys())
def test_a_graph_without_penalty_ops_equals_one_that_adds_a_zero_penalty(
    data, fresh_pool, monkeypatch, config
):
    params, dtype = config
    X, y = data[0].astype(dtype), data[1]
    without = MLPClassifierX(**dict(PARAMS, alpha=0.0, **params)).fit(X, y)
    monkeypatch.setattr(Objective, "penalised", property(lambda self: True))
    monkeypatch.setattr("skneural._fitted.POOL", RunnerPool(max_idle=0))
    with_zero = MLPClassifierX(**dict(PARAMS, alpha=0.0, **params)).fit(X, y)
    np.testing.assert_array_equal(without.loss_curve_, with_zero.loss_curve_)
    for a, b in zip(
        without.coefs_ + without.intercepts_, with_zero.coefs_ + with_zero.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_pool_is_bounded(data):
    pool = RunnerPool(max_idle=2)
    X, y = data
    for depth in (1, 2, 3):  # three graph keys (widths alone would share one graph)
        est = MLPRegressorX(hidden_layer_sizes=(3,) * depth, max_iter=1).fit(X, y.astype(float))
        with pool.borrow(est._network.plan.network, est.model_, Objective("squared_error")):
            pass
    assert sum(len(r) for r in pool._idle.values()) == 2
    pool.clear()
    assert not pool._idle


def test_concurrent_fits_equal_serial_fits(data, fresh_pool):
    X, y = data
    serial = [_fit(data, random_state=s).predict_proba(X) for s in range(4)]
    results = {}

    def work(seed):
        results[seed] = _fit(data, random_state=seed).predict_proba(X)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed in range(4):
        np.testing.assert_array_equal(results[seed], serial[seed])


def test_new_workspaces_do_not_trigger_tensorflow_retracing_warnings(data, fresh_pool, caplog):
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for width in range(1, 9):
            _fit(data, hidden_layer_sizes=(width,), max_iter=1)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_runner_forward_equals_the_keras_model_bitwise(dtype):
    import keras

    from skneural._config import NetworkSpec
    from skneural._epoch import EpochRunner
    from skneural._network import build_network
    from skneural._workspace import KerasWorkspace

    spec = NetworkSpec(
        n_features=6,
        hidden_layer_sizes=(8, 8, 5),
        activation="tanh",
        kernel_initializer="glorot_uniform",
        dropout=(0.3, 0.0, 0.2),
        batch_normalization=True,
        batch_norm_momentum=0.9,
        residual=True,
        n_outputs=3,
        out_activation="softmax",
        dtype=dtype,
    )
    model = build_network(spec, np.random.default_rng(0))
    model.compile(optimizer=keras.optimizers.Adam())
    runner = EpochRunner(KerasWorkspace(model), Objective("log_loss"))
    logits_model = keras.Model(model.inputs, model.get_layer("output").output)
    x = np.random.default_rng(1).normal(size=(10, 6)).astype(dtype)
    np.testing.assert_array_equal(runner.workspace.forward(x)[0], logits_model([x], training=False))
    # In training mode dropout draws from, and batch norm updates, the model's state:
    # both ways start from the same state.
    state = [v.numpy() for v in model.variables]
    ours = runner.workspace.forward(x, training=True)[0].numpy()
    for variable, value in zip(model.variables, state, strict=True):
        variable.assign(value)
    np.testing.assert_array_equal(ours, logits_model([x], training=True))
