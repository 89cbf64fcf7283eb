"""Learning-rate schedules: the rate of every epoch against the formula written out
here, and the rate actually reaching the optimizer's step."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from skneural import MLPRegressorX
from skneural._schedules import SCHEDULES, Schedule


def _formula(kind, epoch, lr0=0.1, rate=0.5, every=3, warmup=0, n_epochs=12, t=0):
    """The documented rate of epoch ``epoch`` (0-based), written independently."""
    if epoch < warmup:
        return lr0 * (epoch + 1) / (warmup + 1)
    e = epoch - warmup
    return {
        "constant": lr0,
        "invscaling": lr0 if e == 0 else lr0 / (t + 1) ** 0.5,
        "exponential": lr0 * rate ** (e / every),
        "step": lr0 * rate ** math.floor(e / every),
        "cosine": lr0 * (1 + math.cos(math.pi * e / (n_epochs - warmup))) / 2,
    }[kind]


@pytest.mark.parametrize("warmup", [0, 4])
@pytest.mark.parametrize("kind", ["constant", "invscaling", "exponential", "step", "cosine"])
def test_schedule_rates_equal_the_formula(kind, warmup):
    schedule = Schedule(kind, 0.1, 0.5, 0.5, 3, warmup, 12)
    for epoch in range(12):
        t = 50 * epoch
        expected = _formula(kind, epoch, warmup=warmup, t=t)
        assert schedule.rate(epoch, t, adaptive_rate=99.0) == pytest.approx(expected, rel=1e-15)


def test_schedule_shapes():
    # Warm-up rises to the initial rate; step holds then halves; cosine falls to ~0.
    rates = [Schedule("step", 1.0, decay_epochs=2, warmup_epochs=3).rate(e, 0, 0) for e in range(7)]
    assert rates == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.5])
    cosine = [Schedule("cosine", 1.0, n_epochs=100).rate(e, 0, 0) for e in range(100)]
    assert cosine[0] == 1.0 and cosine[50] == pytest.approx(0.5)
    assert np.all(np.diff(cosine) < 0) and cosine[-1] < 1e-3
    # 'adaptive' is driven by the stopping rule: the schedule passes its rate through.
    assert Schedule("adaptive", 1.0).rate(5, 0, adaptive_rate=0.04) == 0.04
    assert set(SCHEDULES) == {"constant", "invscaling", "adaptive", "exponential", "step", "cosine"}


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X[:, 0] - 2 * X[:, 1]


@pytest.mark.parametrize("kind", ["exponential", "step", "cosine"])
def test_history_records_each_epochs_rate(kind):
    X, y = _data()
    est = MLPRegressorX(
        hidden_layer_sizes=(4,),
        learning_rate=kind,
        learning_rate_init=0.1,
        lr_decay_rate=0.5,
        lr_decay_epochs=3,
        warmup_epochs=2,
        max_iter=12,
        tol=0.0,
        n_iter_no_change=100,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        est.fit(X, y)
    expected = [_formula(kind, e, warmup=2) for e in range(12)]
    assert list(est.history_["learning_rate"]) == pytest.approx(expected, rel=1e-15)
    assert float(est.model_.optimizer.learning_rate) == pytest.approx(expected[-1], rel=1e-6)


def test_the_scheduled_rate_drives_each_step():
    # Full-batch SGD through partial_fit, one step per call: each step's size over
    # the previous step's gradient must be the schedule's rate for that epoch.
    X, y = _data()
    est = MLPRegressorX(
        hidden_layer_sizes=(),
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        batch_size=len(X),
        learning_rate="step",
        learning_rate_init=0.25,
        lr_decay_rate=0.5,
        lr_decay_epochs=2,
        random_state=0,
    )
    est.partial_fit(X, y)
    rates = []
    for _ in range(4):
        w, b = est.coefs_[0][:, 0].copy(), est.intercepts_[0][0]
        est.partial_fit(X, y)
        # Linear model, squared error: gradient = X^T (X w + b - y) / n at (w, b).
        grad = X.T @ (X @ w + b - y) / len(X)
        rates.append(np.mean((w - est.coefs_[0][:, 0]) / grad))
    assert rates == pytest.approx([0.25, 0.125, 0.125, 0.0625], rel=1e-6)
    assert list(est.history_["learning_rate"]) == [0.25, 0.25, 0.125, 0.125, 0.0625]


def test_warm_start_fit_restarts_the_schedule():
    X, y = _data()
    est = MLPRegressorX(
        hidden_layer_sizes=(4,),
        learning_rate="exponential",
        learning_rate_init=0.1,
        lr_decay_rate=0.5,
        lr_decay_epochs=1,
        max_iter=3,
        tol=0.0,
        n_iter_no_change=100,
        warm_start=True,
        random_state=0,
    )
    est.fit(X, y)
    est.fit(X, y)
    # As scikit-learn restarts its optimizer at each fit, each fit restarts the rate.
    assert_allclose(est.history_["learning_rate"], [0.1, 0.05, 0.025] * 2)


def test_an_invscaling_power_beyond_any_float_gives_rate_zero():
    # (t + 1) ** power_t overflows a float (Python raises OverflowError); the rate it
    # divides is then 0, as the formula's limit says, and training goes on.
    X = np.random.default_rng(0).normal(size=(40, 3))
    est = MLPRegressorX(
        solver="sgd", learning_rate="invscaling", power_t=1e6, max_iter=3, random_state=0
    )
    est.fit(X, X[:, 0])
    assert est.history_["learning_rate"].tolist() == [0.001, 0.0, 0.0]
    assert np.isfinite(est.loss_curve_).all()
