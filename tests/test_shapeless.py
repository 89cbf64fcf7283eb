"""The width-free workspace: one graph for many networks, the results of separate ones."""

import logging
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from skneural import MLPClassifierX, MLPRegressorX
from skneural._pool import RunnerPool
from skneural._settings import Settings
from skneural._shapeless import ShapelessWorkspace
from skneural._workspace import KerasWorkspace

BASE = dict(batch_size=32, max_iter=6, random_state=0)


@pytest.fixture(scope="module")
def data(float32_clf_data):
    return float32_clf_data


def _use_pool(monkeypatch, **settings) -> RunnerPool:
    pool = RunnerPool(**settings)
    monkeypatch.setattr("skneural._fitted.POOL", pool)
    return pool


def _fit(data, estimator=MLPClassifierX, **params):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        return estimator(**dict(BASE, **params)).fit(X, y)


def _assert_same_fit(a, b):
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)
    for x, y in zip([*a.coefs_, *a.intercepts_], [*b.coefs_, *b.intercepts_], strict=True):
        np.testing.assert_array_equal(x, y)


CONFIGS = {
    "adam": dict(hidden_layer_sizes=(12,)),
    "sgd-nesterov": dict(hidden_layer_sizes=(12, 6), solver="sgd", activation="tanh"),
    "sgd-plain": dict(hidden_layer_sizes=(9,), solver="sgd", momentum=0.0),
    "adamw": dict(hidden_layer_sizes=(10, 10), solver="adamw", activation="logistic"),
    "dropout-residual": dict(hidden_layer_sizes=(8, 8, 8), dropout=0.3, residual=True),
    "early-stopping": dict(hidden_layer_sizes=(12,), early_stopping=True, max_iter=12),
    "penalties": dict(hidden_layer_sizes=(12,), alpha=0.1, l1=0.01, weight_decay=0.01),
    "adversarial": dict(hidden_layer_sizes=(12,), adversarial_eps=0.1),
    "rmsprop": dict(hidden_layer_sizes=(12, 6), solver="rmsprop", rho=0.8, activation="tanh"),
    "adagrad-decay": dict(hidden_layer_sizes=(10,), solver="adagrad", weight_decay=0.01),
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_a_shared_graph_gives_the_result_of_a_fresh_one(data, monkeypatch, config):
    _use_pool(monkeypatch)
    fresh = _fit(data, **config)
    # Another network of the same depth and features, of other widths, uses the graph
    # first; then the fit again, on the graph that network left.
    other = {**config, "hidden_layer_sizes": tuple(w + 5 for w in config["hidden_layer_sizes"])}
    _fit(data, random_state=3, **other)
    _assert_same_fit(_fit(data, **config), fresh)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["logistic", "tanh", "identity"])
def test_a_switched_activation_gives_the_result_of_its_own_graph(
    data, monkeypatch, activation, dtype
):
    data = (data[0].astype(dtype), data[1])
    # The adversarial batches take the gradient with respect to the input through
    # every switched layer (the step's gradient stops at the first layer's kernel).
    params = dict(
        hidden_layer_sizes=(12, 6), activation=activation, dropout=0.1, adversarial_eps=0.1
    )
    monkeypatch.setattr("skneural._shapeless_key.SWITCHED", ())
    pool = _use_pool(monkeypatch)
    alone = _fit(data, **params)
    assert next(iter(pool._idle))[2][1] == activation  # the key's activation
    monkeypatch.undo()
    pool = _use_pool(monkeypatch)
    _fit(data, **dict(params, activation="relu", hidden_layer_sizes=(7, 3)))
    _assert_same_fit(_fit(data, **params), alone)
    assert len(pool._idle) == 1  # relu's graph served the other activation


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_rates_share_a_graph_and_give_the_keras_workspaces_result(data, monkeypatch, dtype):
    data = (data[0].astype(dtype), data[1])
    params = dict(hidden_layer_sizes=(12, 6, 5), dropout=(0.3, 0.0, 0.15), activation="tanh")
    _use_pool(monkeypatch, shapeless=False)
    keras_fit = _fit(data, **params)
    pool = _use_pool(monkeypatch)
    # Other rates (and widths) on the layers with dropout train through the graph first.
    _fit(data, **dict(params, dropout=(0.5, 0.0, 0.05), hidden_layer_sizes=(7, 3, 4)))
    _assert_same_fit(_fit(data, **params), keras_fit)
    assert len(pool._idle) == 1
    _fit(data, **dict(params, dropout=(0.3, 0.2, 0.15)))  # dropout on another layer
    assert len(pool._idle) == 2


STEPS = {
    "adam": dict(),
    "sgd-nesterov": dict(solver="sgd"),
    "sgd-momentum": dict(solver="sgd", nesterovs_momentum=False, momentum=0.5),
    "sgd-plain": dict(solver="sgd", momentum=0.0),
    "adamw": dict(solver="adamw", weight_decay=0.05),
    "sgd-decay": dict(solver="sgd", weight_decay=0.05),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("step", STEPS.values(), ids=STEPS.keys())
def test_a_switched_optimizer_step_gives_the_result_of_its_own_graph(
    data, monkeypatch, step, dtype
):
    data = (data[0].astype(dtype), data[1])
    params = dict(hidden_layer_sizes=(12, 6), activation="tanh", dropout=0.1, **step)
    monkeypatch.setattr("skneural._shapeless_key.SWITCHED_STEPS", ())
    pool = _use_pool(monkeypatch)
    alone = _fit(data, **params)
    assert next(iter(pool._idle))[2][5][0] != "switched"  # the key's step
    monkeypatch.undo()
    pool = _use_pool(monkeypatch)
    # The other steps of the switch (weight decay is part of the graph key) train
    # through the graph first, leaving their slots and numbers behind.
    for other in STEPS.values():
        if other is not step and ("weight_decay" in other) == ("weight_decay" in step):
            _fit(data, **dict(params, hidden_layer_sizes=(7, 3), random_state=2, **other))
    _assert_same_fit(_fit(data, **params), alone)
    assert len(pool._idle) == 1  # one graph served every step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_the_shared_graph_trains_as_a_keras_workspace_does(data, monkeypatch, config, dtype):
    data = (data[0].astype(dtype), data[1])
    _use_pool(monkeypatch, shapeless=False)
    keras_fit = _fit(data, **config)
    _use_pool(monkeypatch)
    _assert_same_fit(_fit(data, **config), keras_fit)


def test_warm_start_and_partial_fit_match_the_keras_workspace(data, monkeypatch):
    X, y = data
    results = []
    for shapeless in (False, True):
        _use_pool(monkeypatch, shapeless=shapeless)
        warm = _fit(data, hidden_layer_sizes=(12,), warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warm.fit(X, y)
        streamed = MLPRegressorX(hidden_layer_sizes=(5, 4), random_state=0, dropout=0.2)
        for _ in range(3):
            streamed.partial_fit(X, np.column_stack([y, -y]).astype(np.float32))
        results.append((warm, streamed))
    for keras_fit, shapeless_fit in zip(*results, strict=True):
        _assert_same_fit(shapeless_fit, keras_fit)


def test_widths_inputs_and_outputs_share_one_graph_per_depth(data, monkeypatch):
    monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", "off")  # traced here, not found stored
    pool = _use_pool(monkeypatch)
    X, y = data
    for sizes in ((4,), (16,), (9,)):
        _fit(data, hidden_layer_sizes=sizes)
    six_classes = 2 * y + (X[:, 0] > 0)
    _fit((X[:, :5], six_classes), hidden_layer_sizes=(6,))  # 5 features, 6 outputs
    _fit(data, hidden_layer_sizes=(4, 4))
    assert len(pool._idle) == 2
    for (runner,) in pool._idle.values():
        assert isinstance(runner.workspace, ShapelessWorkspace)
        assert runner._functions["epoch"].experimental_get_tracing_count() == 1


def test_graphs_of_every_depth_call_the_same_switched_branches(data, monkeypatch):
    # The switches' branches (the layer through each activation, its derivative, each
    # optimizer step) are traced once per process; a graph's switches only call them.
    monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", "off")
    pool = _use_pool(monkeypatch)
    for sizes in ((4,), (5, 3), (6, 2, 2)):
        _fit(data, hidden_layer_sizes=sizes)
    switches = [_switches(runner) for (runner,) in pool._idle.values()]
    assert len(switches) == 3
    # a layer's activation, its derivative, the optimizer's step: the same in each graph
    assert len(switches[0]) == 3 and switches[0] == switches[1] == switches[2]


def test_a_cleared_pool_leaves_no_traced_graph_alive(data, monkeypatch):
    # tf.custom_gradient would register each switched layer's backward in TensorFlow's
    # global gradient registry for the process's life, and with it its whole graph.
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    def live() -> int:
        gc.collect()
        return sum(isinstance(o, FuncGraph) for o in gc.get_objects())

    monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", "off")
    pool = _use_pool(monkeypatch)
    _fit(data, hidden_layer_sizes=(4,))  # and the branches every graph calls
    pool.clear()
    before = live()
    for depth in (2, 3):
        _fit(data, hidden_layer_sizes=(4,) * depth)
    pool.clear()
    assert live() == before


def test_under_op_callbacks_a_graph_traces_its_own_switched_branches(data, monkeypatch):
    # check_numerics and the debugger's dumps see (and rewrite) the ops as they are
    # made: their graphs must not call branches traced without them, nor leave theirs.
    from tensorflow.python.framework import op_callbacks

    monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", "off")
    pool = _use_pool(monkeypatch)
    _fit(data, hidden_layer_sizes=(4,))
    seen = []

    def callback(op_type, *args, **kwargs):
        seen.append(op_type)

    op_callbacks.add_op_callback(callback)
    try:
        _fit(data, hidden_layer_sizes=(5, 3))
    finally:
        op_callbacks.remove_op_callback(callback)
    # ops made only in the branches: the derivatives' and Adam's
    assert {"TanhGrad", "SigmoidGrad", "Pow"} <= set(seen)
    _fit(data, hidden_layer_sizes=(6, 2, 2))
    first, during, after = (_switches(runner) for (runner,) in pool._idle.values())
    assert first == after and not first & during


def _switches(runner) -> set:
    """The functions each switch of ``runner``'s epoch graph calls."""
    library = runner._functions["epoch"].get_concrete_function().graph.as_graph_def().library
    return {
        tuple(f.name for f in node.attr["branches"].list.func)
        for function in library.function
        for node in function.node_def
        if node.op in ("Case", "StatelessCase")
    }


@pytest.mark.parametrize(
    "params",
    [
        dict(batch_normalization=True),
        dict(clipnorm=1.0),
        dict(solver="nadam"),
        dict(solver="rmsprop", clipnorm=1.0),
        dict(solver="sgd", clipvalue=0.5),
    ],
    ids=["batch-norm", "clipnorm", "nadam", "rmsprop-clipnorm", "clipvalue"],
)
def test_what_the_shared_graph_does_not_cover_trains_on_a_keras_workspace(
    data, monkeypatch, params
):
    pool = _use_pool(monkeypatch)
    _fit(data, hidden_layer_sizes=(6,), **params)
    ((runner,),) = pool._idle.values()
    assert isinstance(runner.workspace, KerasWorkspace)


def test_shared_graphs_do_not_trigger_tensorflow_retracing_warnings(data, monkeypatch, caplog):
    _use_pool(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for depth in range(1, 4):
            for width in range(2, 8):
                _fit(data, hidden_layer_sizes=(width,) * depth, max_iter=1)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_single_output_networks_match_the_keras_workspace_to_the_last_bits(data, monkeypatch):
    # With one output, grappler sums the output bias's gradient over the batch in
    # another order when it knows the width is 1 (the Keras workspace): the output
    # intercept can differ in its last bit (measured: at most 1e-9 here). Later steps
    # carry that into the other weights and the outputs at rounding level (a hostile
    # test: after 40 epochs in float32, up to 3e-8 in a hidden kernel); not after three.
    X, y = data
    fits = []
    for shapeless in (False, True):
        _use_pool(monkeypatch, shapeless=shapeless)
        regressor = MLPRegressorX(hidden_layer_sizes=(5,), batch_size=32, random_state=0)
        for _ in range(3):
            regressor.partial_fit(X, y.astype(np.float32))
        fits.append(regressor)
    keras_fit, shapeless_fit = fits
    np.testing.assert_array_equal(shapeless_fit.coefs_[0], keras_fit.coefs_[0])
    np.testing.assert_allclose(shapeless_fit.intercepts_[-1], keras_fit.intercepts_[-1], atol=1e-8)


def test_fits_on_more_rows_get_a_graph_of_their_activation_alone(data, monkeypatch):
    pool = _use_pool(monkeypatch)
    switched = _fit(data, hidden_layer_sizes=(6,), activation="tanh")
    monkeypatch.setattr("skneural._shapeless_key.SWITCH_MAX_ROWS", len(data[0]) - 1)
    alone = _fit(data, hidden_layer_sizes=(6,), activation="tanh")
    assert sorted(key[2][1] for key in pool._idle) == ["switched", "tanh"]
    assert sorted(key[2][5][0] for key in pool._idle) == ["adam", "switched"]
    _assert_same_fit(alone, switched)


@pytest.mark.parametrize(
    "first, second",
    [
        (dict(), dict(beta_1=0.8, beta_2=0.99, epsilon=1e-6)),
        (dict(solver="sgd", momentum=0.9), dict(solver="sgd", momentum=0.5)),
        (dict(solver="adamw", weight_decay=0.01), dict(solver="adamw", weight_decay=0.1)),
    ],
    ids=["adam", "sgd", "adamw"],
)
def test_optimizer_numbers_share_a_graph_and_give_a_fresh_graphs_result(
    data, monkeypatch, first, second
):
    _use_pool(monkeypatch)
    fresh = _fit(data, hidden_layer_sizes=(8,), **second)
    pool = _use_pool(monkeypatch)
    _fit(data, hidden_layer_sizes=(5,), **first)
    _assert_same_fit(_fit(data, hidden_layer_sizes=(8,), **second), fresh)
    assert len(pool._idle) == 1


def test_a_step_that_uses_fewer_slots_leaves_none_of_an_earlier_fit_behind(data, monkeypatch):
    pool = _use_pool(monkeypatch)
    _fit(data, hidden_layer_sizes=(40,))  # Adam: two slots per weight
    _fit(data, hidden_layer_sizes=(4,), solver="sgd")  # Nesterov: one, through that graph
    ((runner,),) = pool._idle.values()
    (first,), (second,) = runner.workspace.slots  # each one flat vector of every weight's
    assert first.numpy().shape == (7 * 4 + 4 + 4 * 3 + 3,)
    assert second.numpy().size == 0  # not Adam's (40,) slots


def test_settings_that_return_to_earlier_values_give_the_fresh_fits(data, monkeypatch):
    # The numbers and switches a fit sets are assigned only when they change: going
    # back and forth between two settings must still give each its own fit.
    configs = [
        dict(hidden_layer_sizes=(8,), alpha=0.1, beta_1=0.8, activation="tanh"),
        dict(hidden_layer_sizes=(6,), alpha=0.01, beta_1=0.9, activation="relu"),
        dict(hidden_layer_sizes=(7,), alpha=0.1, solver="sgd", activation="tanh"),
    ]
    fresh = []
    for config in configs:
        _use_pool(monkeypatch)
        fresh.append(_fit(data, **config))
    pool = _use_pool(monkeypatch)
    for i in [0, 1, 0, 2, 1, 2, 0]:
        _assert_same_fit(_fit(data, **configs[i]), fresh[i])
    assert len(pool._idle) == 1


def test_settings_assign_a_value_only_when_its_bits_change():
    variable, settings = tf.Variable(0.0), Settings()
    settings.assign(variable, 1.5)
    variable.assign(7.0)  # not through the settings: they take it to hold 1.5 still
    settings.assign(variable, 1.5)
    assert variable.numpy() == 7.0
    settings.assign(variable, 0.0)
    settings.assign(variable, -0.0)  # equal to 0.0, other bits
    assert np.signbit(variable.numpy())
    settings.assign(variable, np.nan)
    assert np.isnan(variable.numpy())


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_on_more_rows_each_weight_steps_with_its_own_slots_as_keras_does(data, monkeypatch, config):
    # Above the switch's rows the slots are one variable per weight (the flat vector's
    # ops cost large weights ~20% of a fit): the same fits as the Keras workspace's.
    monkeypatch.setattr("skneural._shapeless_key.SWITCH_MAX_ROWS", len(data[0]) // 2)
    _use_pool(monkeypatch, shapeless=False)
    keras_fit = _fit(data, **config)
    pool = _use_pool(monkeypatch)
    shapeless_fit = _fit(data, **config)
    _assert_same_fit(shapeless_fit, keras_fit)
    ((runner,),) = pool._idle.values()
    assert all(len(kind) == len(keras_fit.coefs_) * 2 for kind in runner.workspace.slots)


def test_a_warm_start_crosses_between_the_flat_and_the_per_weight_slots(data, monkeypatch):
    # The first fit trains on the switched graph (flat slots), the second on more rows
    # (per-weight slots): the optimizer state carries over as the Keras workspace's does.
    X, y = data
    half = len(X) // 2
    results = []
    for shapeless in (False, True):
        _use_pool(monkeypatch, shapeless=shapeless)
        monkeypatch.setattr("skneural._shapeless_key.SWITCH_MAX_ROWS", half)
        warm = _fit((X[:half], y[:half]), hidden_layer_sizes=(9, 5), warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warm.fit(X, y)
            warm.fit(X[:half], y[:half])
        results.append(warm)
    _assert_same_fit(results[1], results[0])


def _table(n=150, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "num": rng.normal(size=n) * 100 + 50,
            "city": pd.Series(rng.choice(["paris", "rome", "oslo"], n), dtype="str"),
            "flag": rng.random(n) > 0.5,
            "share": rng.random(n),
        }
    )
    frame.loc[::7, "num"] = np.nan  # a missing indicator
    frame.loc[::5, "city"] = None
    # Three classes: a single output's intercept may differ in its last bit (above).
    y = (frame["num"].fillna(0) > 60).to_numpy(int) + (frame["city"] == "rome").to_numpy(int)
    return frame, y


TABLE_CONFIGS = {
    "adam": dict(hidden_layer_sizes=(9,)),
    "sgd-tanh-dropout": dict(
        hidden_layer_sizes=(8, 5), solver="sgd", activation="tanh", dropout=0.2
    ),
    "early-stopping-quantile": dict(
        hidden_layer_sizes=(7,), early_stopping=True, max_iter=12, input_scaling="quantile"
    ),
}


@pytest.mark.parametrize("config", TABLE_CONFIGS.values(), ids=TABLE_CONFIGS.keys())
def test_a_table_without_embeddings_trains_on_the_shared_graph_as_on_keras(monkeypatch, config):
    table = _table()
    _use_pool(monkeypatch, shapeless=False)
    keras_fit = _fit(table, **config)
    pool = _use_pool(monkeypatch)
    # Another network of the depth, on plain arrays, uses the graph first.
    X = np.random.default_rng(1).normal(size=(60, 3))
    _fit(
        (X, np.arange(60) % 3),
        **dict(config, hidden_layer_sizes=(4,) * len(config["hidden_layer_sizes"])),
    )
    table_fit = _fit(table, **config)
    assert len(pool._idle) == 1  # the arrays' graph trained the table's network
    (runner,) = next(iter(pool._idle.values()))
    assert isinstance(runner.workspace, ShapelessWorkspace)
    assert runner.workspace.features is None  # the idle workspace holds no table layer
    _assert_same_fit(table_fit, keras_fit)
    np.testing.assert_array_equal(
        table_fit.predict_proba(table[0]), keras_fit.predict_proba(table[0])
    )


def _embedded_table():
    frame, y = _table()
    return frame.assign(shop=[f"shop {i % 14}" for i in range(len(frame))]), y


@pytest.mark.parametrize(
    "table, params",
    [
        (_table, dict(adversarial_eps=0.1)),
        (_table, dict(numeric_embedding="periodic")),
        (_embedded_table, {}),
    ],
    ids=["adversarial", "numeric-embedding", "embedded-column"],
)
def test_tables_the_shared_graph_cannot_take_train_on_a_keras_workspace(monkeypatch, table, params):
    pool = _use_pool(monkeypatch)
    _fit(table(), hidden_layer_sizes=(6,), **params)
    ((runner,),) = pool._idle.values()
    assert isinstance(runner.workspace, KerasWorkspace)


@pytest.fixture
def floatx64():
    before = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(before)


@pytest.mark.parametrize("solver", ["adam", "sgd", "adagrad"])
def test_numbers_keras_casts_go_through_float32_whatever_floatx(
    data, monkeypatch, floatx64, solver
):
    # keras.ops.cast of a Python float (Adam's betas, SGD's momentum, Adagrad's initial
    # accumulator) makes it a float32 first, also when floatx is float64.
    data = (data[0].astype(np.float64), data[1])
    params = dict(hidden_layer_sizes=(8,), solver=solver, weight_decay=0.01)
    with monkeypatch.context() as patch:
        patch.setattr("skneural._fitted.serves", lambda plan: False)
        _use_pool(patch, shapeless=False)
        keras_fit = _fit(data, **params)
    _use_pool(monkeypatch)
    _assert_same_fit(_fit(data, **params), keras_fit)


@pytest.mark.parametrize(
    "params", [dict(), dict(batch_normalization=True)], ids=["width-free", "keras"]
)
def test_a_workspace_made_under_another_floatx_is_not_reused(data, monkeypatch, params):
    # The optimizer's learning rate is a variable of the floatx Keras had when the
    # workspace was made: a float64 network under float32's floatx casts its float32
    # value, under float64's its exact one.
    data = (data[0].astype(np.float64), data[1])
    params = dict(hidden_layer_sizes=(5,), **params)
    _use_pool(monkeypatch)
    alone = _fit(data, **params)
    pool = _use_pool(monkeypatch)
    before = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        _fit(data, **params)
    finally:
        keras.config.set_floatx(before)
    _assert_same_fit(_fit(data, **params), alone)
    assert len(pool._idle) == 2
