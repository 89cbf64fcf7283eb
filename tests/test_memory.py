"""The memory a network needs is checked before it is allocated (skneural._memory)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from skneural import MLPClassifierX, MLPRegressorX
from skneural._memory import training_bytes
from skneural._network import build_network
from skneural._plan import make_plan
from skneural._targets import RegressionTargets

X = np.random.default_rng(0).normal(size=(30, 6))
Y = X[:, 0]


def _plan(**params):
    est = MLPRegressorX(**params)
    return make_plan(
        est.get_params(deep=False), RegressionTargets.learn(Y, "squared_error", ()), 6, "float32"
    )


@pytest.mark.parametrize("sizes", [(), (5,), (7, 3), (4, 4, 4)])
def test_the_weights_counted_are_keras_parameters(sizes):
    plan = _plan(hidden_layer_sizes=sizes)
    model = build_network(plan.network, np.random.default_rng(0))
    # With no batch (0 rows) and one copy, the bound is the weights' bytes alone.
    assert training_bytes(plan.network, 0, weight_copies=1) == 4 * model.count_params()


@pytest.mark.parametrize("solver", ["sgd", "adam", "adagrad", "rmsprop", "lion", "lars"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_weight_copies_count_the_optimizer_slots_keras_creates(solver, momentum):
    plan = _plan(solver=solver, momentum=momentum)
    variable = tf.Variable(tf.zeros([5, 2]))
    optimizer = plan.optimizer.build(0.01)
    optimizer.build([variable])
    slots = sum(tuple(v.shape) == (5, 2) for v in optimizer.variables)
    # weights, gradient, predict's copy, the slots, and the two backups of weights and
    # slots (an epoch's start and a call's start: see skneural._epoch.EpochRunner)
    assert plan.optimizer.weight_copies() == 3 + slots + 2 * (1 + slots)


def test_tensorflow_running_out_of_memory_becomes_a_memory_error(monkeypatch):
    est = MLPClassifierX(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    est.fit(X, Y > 0)
    before = est.predict_proba(X)

    def exhausted(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    monkeypatch.setattr("skneural._fitted.FittedNetwork.train", exhausted)
    with pytest.raises(MemoryError, match=r"ran out of memory\. hidden_layer_sizes=\(3,\)"):
        est.fit(X, Y > 0)
    np.testing.assert_array_equal(est.predict_proba(X), before)
    assert isinstance(est.model_, keras.Model)
