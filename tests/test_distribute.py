"""Training inside a tf.distribute strategy scope.

The CPU is split into two logical devices, which TensorFlow allows only before its
runtime starts, so every check runs in one fresh subprocess (``_SCRIPT``) that reports
JSON. Each fit under ``MirroredStrategy`` is compared with the same fit on one device
in that process: the replicas' gradients must add up to the one-device gradient, so
the loss curves, weights and diagnostics agree to float32 rounding.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import make_classification

from skneural import MLPClassifierX

_SCRIPT = textwrap.dedent(
    """
    import io, json, pickle, sys, warnings
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import numpy as np
    from sklearn.datasets import make_classification, make_regression
    from sklearn.model_selection import cross_val_score

    import skneural
    from skneural import MLPClassifierX, MLPRegressorX
    from skneural._pool import POOL

    warnings.simplefilter("ignore")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    # 301 rows in batches of 50: the last batch has one row, so one replica gets none.
    X, y = make_classification(301, 10, n_classes=3, n_informative=5, random_state=0)
    X = X.astype("float32")
    base = dict(hidden_layer_sizes=(16, 8), batch_size=50, max_iter=5, tol=0.0, random_state=0)
    VARIANTS = {
        "adam": {},
        "batch_norm": {"batch_normalization": True},
        "clipnorm": {"clipnorm": 0.05, "solver": "sgd", "learning_rate_init": 0.5},
        "clipvalue": {"clipvalue": 0.01},
        "penalties_adversarial": {"alpha": 0.01, "l1": 1e-3, "adversarial_eps": 0.1},
        "lars_early_stopping": {"solver": "lars", "early_stopping": True},
        "adamw_small_batches": {"solver": "adamw", "weight_decay": 0.1, "batch_size": 7},
        "sample_weight": {},
    }

    def record(est):
        return {
            "loss_curve": [float(v) for v in est.loss_curve_],
            "coefs": [w.ravel().tolist() for w in est.coefs_],
            "intercepts": [b.ravel().tolist() for b in est.intercepts_],
            "gradient_norms": est.gradient_norms_.to_numpy().ravel().tolist(),
            "dead_units": est.dead_units_.to_numpy().ravel().tolist(),
        }

    def replicas_agree(model):
        # Every mirrored variable holds the same value on both devices.
        return all(
            np.array_equal(*(c.numpy() for c in v.value.values)) for v in model.variables
        )

    out = {"fits": {}}
    for name, params in VARIANTS.items():
        fit = {}
        weight = np.linspace(0.2, 2.0, len(y)) if name == "sample_weight" else None
        params = {**base, **params}
        fit["one"] = record(MLPClassifierX(**params).fit(X, y, sample_weight=weight))
        with strategy.scope():
            est = MLPClassifierX(**params).fit(X, y, sample_weight=weight)
        fit["two"] = record(est)
        fit["replicas_agree"] = replicas_agree(est.model_)
        out["fits"][name] = fit

    with tf.distribute.OneDeviceStrategy("/cpu:1").scope():
        out["one_device_strategy"] = record(MLPClassifierX(**base).fit(X, y))

    # The estimator's model and the workspace that trained it are mirrored, and the
    # compiled epoch places work on the second device.
    with strategy.scope():
        est = MLPClassifierX(**base, batch_normalization=True, dropout=0.2).fit(X, y)
    out["model_variables"] = sorted({type(v.value).__name__ for v in est.model_.variables})
    out["devices"] = sorted({c.device for v in est.model_.variables for c in v.value.values})
    graph_devices = set()
    for runners in POOL._idle.values():
        for runner in runners:
            if runner._strategy is strategy:
                graph = runner._concrete["epoch"].graph
                for op in graph.get_operations():
                    graph_devices.add(op.device)
                    for f in getattr(op.graph, "_functions", {}).values():
                        graph_devices.update(o.device for o in f.graph.get_operations())
    out["graph_devices"] = sorted(d for d in graph_devices if d)
    out["dropout_loss_curve"] = [float(v) for v in est.loss_curve_]
    out["dropout_replicas_agree"] = replicas_agree(est.model_)

    # A regressor: cross-validation, partial_fit, pickle, save/load, warm starts across
    # the scope boundary.
    Xr, yr = make_regression(200, 6, n_targets=2, random_state=0)
    Xr, yr = Xr.astype("float32"), yr / 100
    kw = dict(hidden_layer_sizes=(16,), batch_size=64, max_iter=4, tol=0.0, random_state=0)
    one = MLPRegressorX(**kw).fit(Xr, yr).partial_fit(Xr, yr)
    with strategy.scope():
        two = MLPRegressorX(**kw).fit(Xr, yr).partial_fit(Xr, yr)
        out["cv_two"] = cross_val_score(MLPRegressorX(**kw), Xr, yr, cv=3).tolist()
    out["cv_one"] = cross_val_score(MLPRegressorX(**kw), Xr, yr, cv=3).tolist()
    out["regressor_loss"] = [list(one.loss_curve_), list(two.loss_curve_)]
    out["pickled_predict_diff"] = float(
        np.abs(pickle.loads(pickle.dumps(two)).predict(Xr) - two.predict(Xr)).max()
    )
    skneural.save(two, sys.argv[1])
    out["loaded_predict_diff"] = float(
        np.abs(skneural.load(sys.argv[1]).predict(Xr) - two.predict(Xr)).max()
    )
    two.set_params(warm_start=True).fit(Xr, yr)  # a mirrored model, outside the scope
    with strategy.scope():
        one.set_params(warm_start=True).fit(Xr, yr)  # a one-device model, inside it
    out["warm_loss"] = [list(one.loss_curve_), list(two.loss_curve_)]
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    model_file = tmp_path_factory.mktemp("distribute") / "model.skn"
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(model_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


VARIANTS = [
    "adam",
    "batch_norm",
    "clipnorm",
    "clipvalue",
    "penalties_adversarial",
    "lars_early_stopping",
    "adamw_small_batches",
    "sample_weight",
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_two_replicas_train_as_one_device(report, variant):
    fit = report["fits"][variant]
    one, two = fit["one"], fit["two"]
    np.testing.assert_allclose(two["loss_curve"], one["loss_curve"], rtol=1e-5, atol=1e-6)
    # Before batch norm, a hidden bias has no effect and a zero gradient up to rounding,
    # which Adam turns into steps of the learning rate's size: compare the rest.
    intercepts = slice(-1, None) if variant == "batch_norm" else slice(None)
    weights = two["coefs"] + two["intercepts"][intercepts]
    expected = one["coefs"] + one["intercepts"][intercepts]
    for a, b in zip(weights, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(two["gradient_norms"], one["gradient_norms"], rtol=1e-4, atol=1e-6)
    assert two["dead_units"] == one["dead_units"]
    assert fit["replicas_agree"]


def test_the_model_and_the_training_graph_live_on_both_devices(report):
    assert report["model_variables"] == ["MirroredVariable"]
    assert [d.rsplit(":", 2)[-2:] for d in report["devices"]] == [["CPU", "0"], ["CPU", "1"]]
    assert any(d.endswith("CPU:1") for d in report["graph_devices"]), report["graph_devices"]


def test_dropout_and_batch_norm_train_with_replicas_in_step(report):
    # Dropout masks are drawn per replica, so the curve is not the one-device curve;
    # it must still train, and the replicas (batch-norm averages included) agree.
    losses = report["dropout_loss_curve"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert report["dropout_replicas_agree"]


def test_regressor_cross_validation_persistence_and_warm_starts(report):
    np.testing.assert_allclose(report["cv_two"], report["cv_one"], rtol=1e-4)
    one, two = report["regressor_loss"]
    np.testing.assert_allclose(two, one, rtol=1e-5)
    assert report["pickled_predict_diff"] == 0.0
    assert report["loaded_predict_diff"] == 0.0
    one, two = report["warm_loss"]
    np.testing.assert_allclose(two, one, rtol=1e-5)


def test_one_device_strategy_trains_as_without_a_scope(report):
    one, other = report["fits"]["adam"]["one"], report["one_device_strategy"]
    np.testing.assert_allclose(other["loss_curve"], one["loss_curve"], rtol=1e-6)


@pytest.mark.parametrize(
    "strategy_class",
    [tf.distribute.experimental.ParameterServerStrategy, tf.distribute.TPUStrategy],
)
def test_strategies_the_compiled_epoch_cannot_run_are_refused(monkeypatch, strategy_class):
    # Neither can be made on this machine (no cluster, no TPU): a bare instance stands
    # in for the strategy of an active scope.
    strategy = strategy_class.__new__(strategy_class)
    monkeypatch.setattr(tf.distribute, "get_strategy", lambda: strategy)
    monkeypatch.setattr(tf.distribute, "has_strategy", lambda: True)
    X, y = make_classification(40, 4, random_state=0)
    est = MLPClassifierX((4,), max_iter=1)
    with pytest.raises(NotImplementedError, match=f"inside a {type(strategy).__name__} scope"):
        est.fit(X, y)
    assert not hasattr(est, "model_")
