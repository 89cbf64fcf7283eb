"""Faults during training and concurrent use: an interrupted fit keeps its work, a
failed fit never pretends to be fitted, threads and processes get exact results."""

import threading

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.utils.validation import check_is_fitted

from skneural import MLPClassifierX, MLPRegressorX
from skneural._epoch import EpochRunner


def _digits(n=400):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _failing_epoch(monkeypatch, at_call, exc, after_the_graph=True):
    """Make the ``at_call``-th call of the compiled epochs (1-based) raise ``exc``,
    either after its graph ran (the work of its epochs must be undone) or before it
    started. Unless a test sets ``ROWS_PER_CALL``, each call runs one epoch."""
    monkeypatch.setattr("skneural._training.ROWS_PER_CALL", 1)
    real = EpochRunner.run_epochs
    calls = []

    def run_epochs(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == at_call:
            if after_the_graph:
                real(self, *args, **kwargs)
            raise exc
        return real(self, *args, **kwargs)

    monkeypatch.setattr(EpochRunner, "run_epochs", run_epochs)


# -- KeyboardInterrupt ---------------------------------------------------------------


@pytest.mark.parametrize("after_the_graph", [True, False])
@pytest.mark.parametrize(
    "epochs_per_call, at_call, completed, where",
    [(1, 4, 3, "epoch 4"), (3, 3, 4, "epochs 5-7 \\(trained in one call\\)")],
    ids=["one-epoch-calls", "three-epoch-calls"],
)
def test_keyboard_interrupt_keeps_the_completed_epochs(
    monkeypatch, after_the_graph, epochs_per_call, at_call, completed, where
):
    X, y = _digits()
    params = dict(hidden_layer_sizes=(16,), random_state=0, dropout=0.1)
    reference = MLPClassifierX(max_iter=completed, **params).fit(X, y)
    _failing_epoch(monkeypatch, at_call, KeyboardInterrupt(), after_the_graph)
    # A fit's first epoch runs alone, then calls of ``epochs_per_call`` epochs.
    monkeypatch.setattr("skneural._training.ROWS_PER_CALL", epochs_per_call * len(X))
    est = MLPClassifierX(max_iter=10, **params)
    with pytest.warns(UserWarning, match=f"interrupted \\(KeyboardInterrupt\\) in {where}"):
        est.fit(X, y)
    check_is_fitted(est)
    assert est.n_iter_ == completed
    assert len(est.loss_curve_) == len(est.history_) == completed
    assert est.loss_curve_ == reference.loss_curve_
    for a, b in zip(est.coefs_, reference.coefs_, strict=True):
        assert_array_equal(a, b)  # exactly the state after the completed epochs
    assert_array_equal(est.predict_proba(X), reference.predict_proba(X))
    # Training continues from there as if nothing had happened.
    monkeypatch.undo()
    est.set_params(warm_start=True, max_iter=2).fit(X, y)
    reference.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert est.loss_curve_ == reference.loss_curve_


def test_keyboard_interrupt_with_early_stopping_keeps_the_best_weights(monkeypatch):
    X, y = _digits()
    params = dict(hidden_layer_sizes=(16,), early_stopping=True, random_state=0)
    reference = MLPClassifierX(max_iter=5, **params).fit(X, y)
    _failing_epoch(monkeypatch, 6, KeyboardInterrupt())
    est = MLPClassifierX(max_iter=50, **params)
    with pytest.warns(UserWarning, match="the best on the validation set"):
        est.fit(X, y)
    assert est.validation_scores_ == reference.validation_scores_
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert_array_equal(est.coefs_[0], reference.coefs_[0])  # the best epoch's weights


# -- other exceptions ----------------------------------------------------------------


def test_keyboard_interrupt_while_the_schedule_sets_the_rates_keeps_the_epochs(monkeypatch):
    # The rates of a call's epochs are computed before it runs: an interrupt there is
    # an interrupt between calls, and keeps the epochs completed so far.
    from skneural._schedules import Schedule

    real = Schedule.rate

    def rate(self, epoch, *args):
        if epoch == 3:
            raise KeyboardInterrupt
        return real(self, epoch, *args)

    monkeypatch.setattr(Schedule, "rate", rate)
    X, y = _digits()
    params = dict(hidden_layer_sizes=(16,), random_state=0)
    est = MLPClassifierX(max_iter=10, **params)
    with pytest.warns(UserWarning, match="interrupted \\(KeyboardInterrupt\\) in epoch"):
        est.fit(X, y)
    check_is_fitted(est)
    assert 1 <= est.n_iter_ <= 3 and len(est.loss_curve_) == len(est.history_) == est.n_iter_
    monkeypatch.undo()
    reference = MLPClassifierX(max_iter=est.n_iter_, **params).fit(X, y)
    assert est.loss_curve_ == reference.loss_curve_
    for a, b in zip(est.coefs_, reference.coefs_, strict=True):
        assert_array_equal(a, b)


def test_an_error_in_a_fit_leaves_the_estimator_as_it_was(monkeypatch):
    X, y = _digits()
    _failing_epoch(monkeypatch, 2, RuntimeError("disk on fire"))
    est = MLPClassifierX((8,), max_iter=5, random_state=0)
    with pytest.raises(RuntimeError, match="disk on fire"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert not any(name.endswith("_") for name in vars(est))
    with pytest.raises(NotFittedError):
        est.predict(X)
    # A refit of a fitted estimator that fails keeps the old fit, whole.
    monkeypatch.undo()
    est.fit(X, y)
    proba, loss_curve = est.predict_proba(X), list(est.loss_curve_)
    _failing_epoch(monkeypatch, 1, RuntimeError("again"))
    with pytest.raises(RuntimeError):
        est.fit(X, y)
    assert_array_equal(est.predict_proba(X), proba)
    assert est.loss_curve_ == loss_curve


def test_an_error_in_a_warm_start_keeps_attributes_and_network_in_step(monkeypatch):
    X, y = _digits()
    est = MLPRegressorX(hidden_layer_sizes=(8,), max_iter=3, random_state=0, warm_start=True)
    est.fit(X, y)
    _failing_epoch(monkeypatch, 3, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        est.fit(X, y)
    check_is_fitted(est)
    assert len(est.loss_curve_) == len(est.history_) == 5  # 3 + the 2 completed
    assert est.n_iter_ == 2  # this call's epochs, as a warm start counts them
    assert_array_equal(est.coefs_[0], est.model_.get_layer("hidden_0").kernel.numpy())
    # (numpy and Keras sum in different orders: equal to rounding)
    assert_allclose(est.predict(X), np.asarray(est.model_(X)).ravel(), rtol=1e-12)


@pytest.mark.parametrize("as_model", [False, True], ids=["arrays", "keras-model"])
def test_a_warm_start_interrupted_in_its_first_epoch_changes_nothing(monkeypatch, as_model):
    # It returns, warning, with no epoch kept: its new optimizer (beta_1 changed) and
    # its generator's draws are undone too, so the next warm start is as if it never ran.
    X, y = _digits()
    params = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, warm_start=True)
    reference = MLPClassifierX(**params).fit(X, y)
    est = MLPClassifierX(**params).fit(X, y)
    if as_model:
        est.model_  # noqa: B018
    _failing_epoch(monkeypatch, 1, KeyboardInterrupt())
    with pytest.warns(UserWarning, match="interrupted \\(KeyboardInterrupt\\) in epoch 4"):
        est.set_params(beta_1=0.5).fit(X, y)
    assert est.n_iter_ == reference.n_iter_ and est.loss_curve_ == reference.loss_curve_
    monkeypatch.undo()
    est.set_params(beta_1=0.9).fit(X, y)
    reference.fit(X, y)
    assert est.loss_curve_ == reference.loss_curve_
    for a, b in zip(est.coefs_, reference.coefs_, strict=True):
        assert_array_equal(a, b)


def test_bad_input_to_a_fitted_estimator_changes_nothing():
    X, y = _digits()
    est = MLPClassifierX((8,), max_iter=2, random_state=0, warm_start=True).fit(X, y)
    before = est.predict_proba(X)
    with pytest.raises(ValueError):
        est.fit(X[:, :10], y)
    with pytest.raises(ValueError):
        est.partial_fit(X, y, sample_weight=-np.ones(len(y)))
    assert_array_equal(est.predict_proba(X), before)


# -- concurrency ---------------------------------------------------------------------


def test_predict_from_eight_threads_equals_single_thread():
    X, y = _digits(1000)
    est = MLPClassifierX((32, 16), max_iter=5, random_state=0).fit(X, y)
    expected = {"predict": est.predict(X), "predict_proba": est.predict_proba(X)}
    results, barrier = [], threading.Barrier(8)

    def work(i):
        barrier.wait()
        for _ in range(20):
            method = "predict" if i % 2 else "predict_proba"
            results.append((method, getattr(est, method)(X)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 160
    for method, got in results:
        assert_array_equal(got, expected[method])


def test_fits_in_processes_equal_the_serial_run():
    X, y = _digits(300)
    est = MLPClassifierX((16,), max_iter=5, random_state=0)
    serial = cross_val_score(est, X, y, cv=3, n_jobs=1)
    parallel = cross_val_score(est, X, y, cv=3, n_jobs=2)
    assert_array_equal(parallel, serial)


@pytest.mark.parametrize("params", [dict(), dict(early_stopping=True, solver="sgd")])
def test_a_fit_runs_under_tensorflows_check_numerics(params):
    # tf.debugging.enable_check_numerics, the tool to find where a NaN is born, takes
    # every infinite value a graph makes or is given for a fault: a fit's graphs must
    # hold none (no limit on the loss was an infinite input), and train as without it.
    import tensorflow as tf

    X, y = load_digits(return_X_y=True)
    X = (X[:300] / 16).astype(np.float32)
    make = lambda: MLPClassifierX(hidden_layer_sizes=(8,), max_iter=4, random_state=0, **params)  # noqa: E731
    tf.debugging.enable_check_numerics()
    try:
        checked = make().fit(X, y[:300])
    finally:
        tf.debugging.disable_check_numerics()
    plain = make().fit(X, y[:300])
    assert_allclose(checked.loss_curve_, plain.loss_curve_, rtol=1e-6)
    for a, b in zip(checked.coefs_, plain.coefs_, strict=True):
        assert_allclose(a, b, rtol=1e-5, atol=1e-7)
