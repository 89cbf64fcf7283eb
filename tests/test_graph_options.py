"""Small fits' compiled calls run without grappler: the same results as with it (bit
for bit where grappler does not reorder the arithmetic, else to rounding), and nothing
changed outside the call."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.eager import context

from skneural import MLPClassifierX, MLPRegressorX, _graph_options
from skneural.adversarial import fgsm


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _grappler_off() -> bool:
    options = context.context().function_call_options
    config = config_pb2.ConfigProto.FromString(options.config_proto_serialized)
    return config.graph_options.rewrite_options.disable_meta_optimizer


def test_only_small_calls_on_this_thread_skip_grappler():
    assert not _grappler_off()
    with _graph_options.optimised_for(100):
        assert _grappler_off() == (not _graph_options._gpu_visible())
    assert not _grappler_off()
    with _graph_options.optimised_for(_graph_options.UNOPTIMISED_MAX_ROWS + 1):
        assert not _grappler_off()
    with pytest.raises(KeyboardInterrupt), _graph_options.optimised_for(100):
        raise KeyboardInterrupt
    assert not _grappler_off()


def _fits(monkeypatch, make):
    """``make()``'s results with small calls unoptimised (the default) and optimised."""
    first = make()
    monkeypatch.setattr(_graph_options, "UNOPTIMISED_MAX_ROWS", 0)
    return first, make()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "params, exact",
    [
        ({"solver": "adam", "activation": "relu"}, True),
        ({"solver": "adam", "early_stopping": True, "n_iter_no_change": 3, "n_ensemble": 2}, True),
        # Grappler sums the penalty's gradient terms, or batch normalization's, in
        # another order: the same values to rounding.
        ({"solver": "sgd", "activation": "tanh", "alpha": 0.01}, False),
        ({"solver": "adam", "activation": "logistic", "l1": 1e-3, "dropout": 0.2}, False),
        ({"solver": "rmsprop", "batch_normalization": True}, False),
    ],
)
def test_results_equal_optimised_calls(monkeypatch, dtype, params, exact):
    X, y = make_classification(300, 8, n_classes=3, n_informative=5, random_state=0)
    X = X.astype(dtype)

    def make():
        clf = MLPClassifierX(
            hidden_layer_sizes=(16, 8), max_iter=8, batch_size=64, random_state=0, **params
        ).fit(X, y)
        return clf.coefs_ + clf.intercepts_ + [np.array(clf.loss_curve_), fgsm(clf, X, y, eps=0.1)]

    # (A bias before batch normalization has a gradient of ~0: rounding is all it learns.)
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    for a, b in zip(*_fits(monkeypatch, make), strict=True):
        assert np.array_equal(a, b) if exact else np.allclose(a, b, **tol)


def test_regressor_results_equal_optimised_calls_bit_for_bit(monkeypatch):
    X, y = make_regression(400, 6, random_state=0)
    X, y = X.astype(np.float32), (y / 100).astype(np.float32)

    def make():
        reg = MLPRegressorX(hidden_layer_sizes=(12,), max_iter=6, random_state=0).fit(X, y)
        return reg.coefs_ + [reg.predict(X)]

    for a, b in zip(*_fits(monkeypatch, make), strict=True):
        assert np.array_equal(a, b)


def test_a_graph_is_optimised_once_it_has_done_enough_work(monkeypatch):
    """Each call says how many row-epochs its graph has run before it; at
    UNOPTIMISED_WORK the calls are optimised."""
    seen = []
    original = _graph_options.optimised_for

    def spy(rows, work=0):
        seen.append((rows, work))
        return original(rows, work)

    monkeypatch.setattr("skneural._epoch.optimised_for", spy)
    X, y = make_classification(120, 4, random_state=0)
    clf = MLPClassifierX(hidden_layer_sizes=(5,), max_iter=4, random_state=0).fit(X, y)
    works = [w for rows, w in seen if rows == 120]
    steps = np.diff(works)
    # The first epoch runs alone, the others after it: at least two calls, each
    # counting its epochs over the 120 rows.
    assert len(works) >= 2 and (steps > 0).all() and (steps % 120 == 0).all()
    assert 120 <= works[-1] - works[0] < 120 * clf.n_iter_
    with _graph_options.optimised_for(100, _graph_options.UNOPTIMISED_WORK):
        assert not _grappler_off()
    with _graph_options.optimised_for(100, _graph_options.UNOPTIMISED_WORK - 1):
        assert _grappler_off() == (not _graph_options._gpu_visible())
