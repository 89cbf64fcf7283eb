"""Compiled calls run with one pass of grappler, without the passes that change nothing
in these graphs: the results of TensorFlow's default (two passes, all of them), bit for
bit, and nothing changed outside the call."""

import contextlib
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.eager import context

from skneural import MLPClassifierX, MLPRegressorX, _epoch
from skneural._graph_options import one_pass
from skneural._pool import POOL
from skneural.adversarial import fgsm


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _rewrite() -> rewriter_config_pb2.RewriterConfig:
    options = context.context().function_call_options
    config = config_pb2.ConfigProto.FromString(options.config_proto_serialized)
    return config.graph_options.rewrite_options


def test_only_calls_in_the_block_on_this_thread_run_one_pass():
    before = _rewrite()
    assert before.meta_optimizer_iterations != rewriter_config_pb2.RewriterConfig.ONE
    with one_pass():
        inside = _rewrite()
        assert inside.meta_optimizer_iterations == rewriter_config_pb2.RewriterConfig.ONE
        off = rewriter_config_pb2.RewriterConfig.OFF
        assert inside.layout_optimizer == inside.experimental_conditional_code_motion == off
    assert _rewrite() == before
    with pytest.raises(KeyboardInterrupt), one_pass():
        raise KeyboardInterrupt
    assert _rewrite() == before


def _both(monkeypatch, make):
    """``make()``'s results with one pass (the default) and with TensorFlow's two, each
    on graphs compiled for it."""
    POOL.clear()
    first = make()
    POOL.clear()
    monkeypatch.setattr(_epoch, "one_pass", contextlib.nullcontext)
    second = make()
    POOL.clear()
    return first, second


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "params",
    [
        {"solver": "adam", "activation": "relu"},
        {"solver": "adam", "early_stopping": True, "n_iter_no_change": 3, "n_ensemble": 2},
        {"solver": "sgd", "activation": "tanh", "alpha": 0.01, "weight_decay": 0.01},
        {"solver": "adam", "activation": "logistic", "l1": 1e-3, "dropout": 0.2},
        {"solver": "rmsprop", "batch_normalization": True, "clipnorm": 1.0},
        {"solver": "adam", "adversarial_eps": 0.05, "residual": True},
    ],
)
def test_results_equal_two_passes_bit_for_bit(monkeypatch, dtype, params):
    X, y = make_classification(300, 8, n_classes=3, n_informative=5, random_state=0)
    X = X.astype(dtype)

    def make():
        clf = MLPClassifierX(
            hidden_layer_sizes=(16, 16), max_iter=8, batch_size=64, random_state=0, **params
        ).fit(X, y)
        return clf.coefs_ + clf.intercepts_ + [np.array(clf.loss_curve_), fgsm(clf, X, y, eps=0.1)]

    for a, b in zip(*_both(monkeypatch, make), strict=True):
        np.testing.assert_array_equal(a, b)


def test_regressor_results_equal_two_passes_bit_for_bit(monkeypatch):
    X, y = make_regression(400, 6, random_state=0)
    X, y = X.astype(np.float32), (y / 100).astype(np.float32)

    def make():
        reg = MLPRegressorX(hidden_layer_sizes=(12,), max_iter=6, random_state=0).fit(X, y)
        return reg.coefs_ + [reg.predict(X)]

    for a, b in zip(*_both(monkeypatch, make), strict=True):
        np.testing.assert_array_equal(a, b)
