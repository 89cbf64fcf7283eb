"""The training loop against a numpy reference of scikit-learn's loss and gradient,
and its stopping rules and learning-rate schedules against scikit-learn's MLP."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit, log_softmax, softmax, xlogy
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor

import skneural._holdout
from skneural import MLPClassifierX, MLPRegressorX

# -- a numpy reference of the per-batch loss and its gradient ------------------------

# name -> (per-sample loss of the logits, its gradient with respect to the logits)
_NUMPY_LOSSES = {
    "squared_error": (
        lambda y, z: 0.5 * ((y - z) ** 2).mean(axis=1),
        lambda y, z: (z - y) / y.shape[1],
    ),
    "log_loss": (
        lambda y, z: -(y * log_softmax(z, axis=1)).sum(axis=1),
        lambda y, z: softmax(z, axis=1) - y,
    ),
    "binary_log_loss": (
        lambda y, z: (np.logaddexp(0.0, z) - y * z).sum(axis=1),
        lambda y, z: expit(z) - y,
    ),
    "poisson": (
        lambda y, z: (np.exp(z) - y * z + xlogy(y, y) - y).sum(axis=1),
        lambda y, z: np.exp(z) - y,
    ),
    "absolute_error": (
        lambda y, z: np.abs(z - y).mean(axis=1),
        lambda y, z: np.sign(z - y) / y.shape[1],
    ),
    # Huber with the estimator's default delta = 1.
    "huber": (
        lambda y, z: np.where(np.abs(z - y) <= 1.0, 0.5 * (z - y) ** 2, np.abs(z - y) - 0.5).mean(
            axis=1
        ),
        lambda y, z: np.clip(z - y, -1.0, 1.0) / y.shape[1],
    ),
}


def _numpy_loss_and_grads(coefs, intercepts, X, Y, w, loss, alpha, l1):
    """scikit-learn's batch loss for a tanh network and its gradient, by hand:
    sum(w * loss) / sum(w) + (alpha / 2 * sum W^2 + l1 * sum |W|) / sum(w)."""
    per_sample, dloss = _NUMPY_LOSSES[loss]
    activations = [X]
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        activations.append(np.tanh(activations[-1] @ W + b))
    logits = activations[-1] @ coefs[-1] + intercepts[-1]
    s = w.sum()
    penalty = 0.5 * alpha * sum((W**2).sum() for W in coefs) + l1 * sum(
        np.abs(W).sum() for W in coefs
    )
    value = ((w * per_sample(Y, logits)).sum() + penalty) / s

    delta = w[:, None] * dloss(Y, logits) / s
    grad_coefs, grad_intercepts = [None] * len(coefs), [None] * len(coefs)
    for i in range(len(coefs) - 1, -1, -1):
        W = coefs[i]
        grad_coefs[i] = activations[i].T @ delta + (alpha * W + l1 * np.sign(W)) / s
        grad_intercepts[i] = delta.sum(axis=0)
        if i:
            delta = (delta @ W.T) * (1.0 - activations[i] ** 2)
    return value, grad_coefs, grad_intercepts


def _problem(loss, n=30, seed=0):
    """X, y for the estimator, Y as the loss sees it, sample weights, an estimator."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    w = rng.uniform(0.5, 2.0, size=n)
    if loss in ("squared_error", "absolute_error", "huber"):
        # Targets spread over several units, so Huber is linear for some samples.
        y = np.column_stack([3.0 * (X[:, 0] - X[:, 1]), np.sin(X[:, 2])])
        return X, y, y, w, MLPRegressorX(loss=loss)
    if loss == "poisson":
        y = rng.poisson(np.exp(0.5 * X[:, 0])).astype(float)
        return X, y, y[:, None], w, MLPRegressorX(loss="poisson")
    if loss == "log_loss":
        y = np.array(["a", "b", "c"])[np.digitize(X[:, 0], [-0.5, 0.5])]
        return X, y, (y[:, None] == np.array(["a", "b", "c"])).astype(float), w, MLPClassifierX()
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    return X, y, (y == "yes").astype(float)[:, None], w, MLPClassifierX()


def _weights(est):
    return [c.copy() for c in est.coefs_], [b.copy() for b in est.intercepts_]


@pytest.mark.parametrize("loss", sorted(_NUMPY_LOSSES))
def test_full_batch_sgd_step_and_loss(loss):
    X, y, Y, w, est = _problem(loss)
    lr, alpha, l1 = 0.125, 0.3, 0.05  # lr exact in float32, as Keras stores it
    est.set_params(
        hidden_layer_sizes=(5, 3),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=lr,
        alpha=alpha,
        l1=l1,
        batch_size=len(X),
        max_iter=1,
        random_state=0,
    )
    est.fit(X, y, sample_weight=w)
    coefs0, intercepts0 = _weights(est)
    # One more epoch from these weights: one full-batch step.
    est.set_params(warm_start=True).fit(X, y, sample_weight=w)
    assert len(est.loss_curve_) == 2
    value, grad_c, grad_b = _numpy_loss_and_grads(coefs0, intercepts0, X, Y, w, loss, alpha, l1)
    # The reported epoch loss is the loss at the weights before the step ...
    assert est.loss_curve_[-1] == pytest.approx(value, rel=1e-12)
    assert est.loss_ == est.loss_curve_[-1]
    # ... and the step is exactly w - lr * grad.
    for after, before, grad in zip(
        est.coefs_ + est.intercepts_, coefs0 + intercepts0, grad_c + grad_b, strict=True
    ):
        assert_allclose(after, before - lr * grad, rtol=1e-12, atol=1e-14)
    assert not np.allclose(est.coefs_[0], coefs0[0])
    # The diagnostics saw the same gradient: one step, so its norm per layer.
    assert_allclose(est.gradient_norms_.iloc[-1], [np.linalg.norm(g) for g in grad_c], rtol=1e-10)


@pytest.mark.parametrize("clip", ["clipnorm", "clipvalue"])
def test_gradient_clipping_bounds_the_step(clip):
    X, y, Y, w, est = _problem("squared_error")
    lr, bound = 0.125, 0.05
    est.set_params(
        hidden_layer_sizes=(5,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=lr,
        alpha=0.0,
        batch_size=len(X),
        max_iter=1,
        random_state=0,
        **{clip: bound},
    )
    est.fit(X, y, sample_weight=w)
    coefs0, intercepts0 = _weights(est)
    est.set_params(warm_start=True).fit(X, y, sample_weight=w)
    _, grad_c, grad_b = _numpy_loss_and_grads(coefs0, intercepts0, X, Y, w, "squared_error", 0, 0)
    for after, before, grad in zip(
        est.coefs_ + est.intercepts_, coefs0 + intercepts0, grad_c + grad_b, strict=True
    ):
        if clip == "clipnorm":  # each variable's gradient scaled to norm <= bound
            clipped = grad * min(1.0, bound / np.linalg.norm(grad))
        else:
            clipped = np.clip(grad, -bound, bound)
        # Keras computes the clipping factor in the variable's dtype, via float32
        # constants: exact to float32 rounding.
        assert_allclose(after, before - lr * clipped, rtol=1e-6, atol=1e-9)
    # The bound was active: unclipped, some step would have been larger.
    assert max(np.abs(g).max() for g in grad_c) > bound


def test_clipnorm_and_clipvalue_are_exclusive():
    X, y, _, _, est = _problem("squared_error")
    with pytest.raises(ValueError, match="clipnorm and clipvalue cannot both be set"):
        est.set_params(clipnorm=1.0, clipvalue=1.0).fit(X, y)


def test_minibatch_loss_curve_is_batch_size_weighted_mean():
    # shuffle=False: batches are rows 0-6, 7-13, ..., 28-29. A negligible learning
    # rate keeps the weights fixed over the epoch, so each batch loss is the numpy
    # loss of that batch at the same weights, with the penalty divided by that
    # batch's weight sum.
    X, y, Y, w, est = _problem("squared_error", n=30)
    alpha, l1 = 2.0, 0.5
    est.set_params(
        hidden_layer_sizes=(5,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1e-12,
        alpha=alpha,
        l1=l1,
        batch_size=7,
        shuffle=False,
        max_iter=1,
        random_state=0,
    )
    est.fit(X, y, sample_weight=w)
    coefs, intercepts = _weights(est)
    est.set_params(warm_start=True).fit(X, y, sample_weight=w)
    expected = 0.0
    for start in range(0, 30, 7):
        rows = slice(start, min(start + 7, 30))
        batch_loss, _, _ = _numpy_loss_and_grads(
            coefs, intercepts, X[rows], Y[rows], w[rows], "squared_error", alpha, l1
        )
        expected += batch_loss * len(range(30)[rows]) / 30
    assert est.loss_curve_[-1] == pytest.approx(expected, rel=1e-9)
    full_batch, _, _ = _numpy_loss_and_grads(coefs, intercepts, X, Y, w, "squared_error", alpha, l1)
    assert est.loss_curve_[-1] != pytest.approx(full_batch, rel=1e-3)


def test_invscaling_schedule_drives_the_optimizer():
    # partial_fit runs one epoch and keeps the schedule's state, so the second call's
    # full-batch step must use learning_rate_init / (n + 1) ** power_t.
    X, y, Y, w, est = _problem("squared_error", n=40)
    lr0, power_t = 0.5, 0.25
    est.set_params(
        hidden_layer_sizes=(4,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate="invscaling",
        learning_rate_init=lr0,
        power_t=power_t,
        alpha=0.0,
        batch_size=40,
        random_state=0,
    )
    est.partial_fit(X, y)
    coefs1, intercepts1 = _weights(est)
    est.partial_fit(X, y)
    lr1 = lr0 / (40 + 1) ** power_t
    assert list(est.history_["learning_rate"]) == pytest.approx([lr0, lr1], rel=1e-15)
    value, grad_c, grad_b = _numpy_loss_and_grads(
        coefs1, intercepts1, X, Y, np.ones(40), "squared_error", 0.0, 0.0
    )
    assert est.loss_curve_[-1] == pytest.approx(value, rel=1e-12)
    # Keras keeps the learning rate in float32: the step is exact to float32 rounding.
    for after, before, grad in zip(
        est.coefs_ + est.intercepts_, coefs1 + intercepts1, grad_c + grad_b, strict=True
    ):
        assert_allclose(after - before, -lr1 * grad, rtol=1e-6, atol=1e-15)
    # A third call continues the schedule: 80 samples seen before it.
    est.partial_fit(X, y)
    assert est.history_["learning_rate"].iloc[-1] == pytest.approx(lr0 / (80 + 1) ** power_t)


def test_invscaling_history():
    X, y, _, _, est = _problem("squared_error", n=40)
    est.set_params(
        hidden_layer_sizes=(4,),
        solver="adam",
        learning_rate="invscaling",
        learning_rate_init=0.01,
        power_t=0.5,
        max_iter=6,
        tol=0.0,
        n_iter_no_change=100,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    expected = [0.01] + [0.01 / (40 * k + 1) ** 0.5 for k in range(1, 6)]
    assert list(est.history_["learning_rate"]) == pytest.approx(expected, rel=1e-15)
    assert est.t_ == 240
    # The optimizer keeps the rate its last epoch used.
    assert float(est.model_.optimizer.learning_rate) == pytest.approx(expected[-1], rel=1e-6)


# -- stopping rules ------------------------------------------------------------------


def _first_stop(losses, tol, n_iter_no_change):
    """Epoch (1-based) at which scikit-learn's training-loss rule fires, or None."""
    best, count = np.inf, 0
    for epoch, loss in enumerate(losses, start=1):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > n_iter_no_change:
            return epoch
    return None


def test_tol_rule_stops_on_the_loss_curve():
    X, y, _, _, est = _problem("squared_error", n=60)
    est.set_params(
        hidden_layer_sizes=(8,),
        learning_rate_init=0.02,
        tol=1e-3,
        n_iter_no_change=3,
        max_iter=300,
        batch_size=20,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert 5 <= est.n_iter_ < 300
    assert len(est.loss_curve_) == est.n_iter_
    # It stopped exactly where scikit-learn's rule first fires on these losses.
    assert _first_stop(est.loss_curve_, 1e-3, 3) == est.n_iter_
    assert est.best_loss_ == min(est.loss_curve_)


def test_tol_rule_epoch_count_matches_sklearn():
    # tol larger than any loss: every epoch after the first counts as no improvement.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X[:, 0]
    params = dict(
        hidden_layer_sizes=(3,),
        solver="sgd",
        tol=10.0,
        n_iter_no_change=2,
        max_iter=50,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = MLPRegressorX(**params).fit(X, y)
        ref = MLPRegressor(**params).fit(X, y)
    assert est.n_iter_ == ref.n_iter_ == 4


def test_max_iter_gives_convergence_warning():
    X, y, _, _, est = _problem("log_loss")
    est.set_params(
        hidden_layer_sizes=(4,), max_iter=3, tol=0.0, n_iter_no_change=100, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        est.fit(X, y)
    assert est.n_iter_ == 3
    assert len(est.loss_curve_) == 3


def test_infinite_n_iter_no_change_never_stops():
    X, y, _, _, est = _problem("squared_error")
    est.set_params(
        hidden_layer_sizes=(3,), tol=1e6, n_iter_no_change=np.inf, max_iter=6, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est.n_iter_ == 6


# -- learning-rate schedules ---------------------------------------------------------


def test_adaptive_divides_by_five_and_stops_like_sklearn():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X[:, 0]
    params = dict(
        hidden_layer_sizes=(3,),
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.01,
        tol=1e3,
        n_iter_no_change=2,
        max_iter=100,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = MLPRegressorX(**params).fit(X, y)
        ref = MLPRegressor(**params).fit(X, y)
    # Epoch 1 sets the best loss; epochs 2-4 count 1, 2, 3 > 2: divide by 5 after
    # epoch 4, then after every 3 further epochs, until the rate is <= 1e-6.
    rates = [0.01 / 5**k for k in range(7)]
    expected = [rates[0]] * 4 + [r for r in rates[1:] for _ in range(3)]
    assert est.n_iter_ == ref.n_iter_ == len(expected) == 22
    assert list(est.history_["learning_rate"]) == pytest.approx(expected, rel=1e-12)
    assert float(est.model_.optimizer.learning_rate) == pytest.approx(
        ref._optimizer.learning_rate, rel=1e-6
    )


def test_constant_learning_rate_history():
    X, y, _, _, est = _problem("squared_error")
    est.set_params(
        hidden_layer_sizes=(3,), learning_rate_init=0.003, max_iter=4, tol=0.0, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert list(est.history_["learning_rate"]) == [0.003] * 4


# -- early stopping and history ------------------------------------------------------


@pytest.fixture
def split_spy(monkeypatch):
    """Record the indices of the early-stopping split (the real split is still used)."""
    calls = []

    def spy(*args, **kwargs):
        result = train_test_split(*args, **kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(skneural._holdout, "train_test_split", spy)
    return calls


def test_early_stopping_restores_best_weights(split_spy):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    y = X[:, 0] + 0.5 * rng.normal(size=80)  # noisy: the validation score turns down
    est = MLPRegressorX(
        hidden_layer_sizes=(32,),
        solver="sgd",
        momentum=0.9,
        learning_rate_init=0.05,
        early_stopping=True,
        validation_fraction=0.25,
        tol=0.0,
        n_iter_no_change=5,
        max_iter=200,
        batch_size=10,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert len(split_spy) == 1
    train, val = split_spy[0]
    assert len(val) == 20 and len(train) == 60
    scores = est.validation_scores_
    assert est.n_iter_ < 200
    assert len(scores) == est.n_iter_ == len(est.loss_curve_)
    assert est.best_validation_score_ == max(scores)
    best_epoch = int(np.argmax(scores)) + 1
    assert best_epoch < est.n_iter_ and scores[-1] < est.best_validation_score_
    # The fitted weights are those of the best epoch: their held-out score is the best
    # score, not the last one.
    assert est.score(X[val], y[val]) == pytest.approx(est.best_validation_score_, rel=1e-10)
    assert est.score(X[val], y[val]) != pytest.approx(scores[-1], rel=1e-6)
    # history_: one row per epoch; the best epoch's val_loss is the (unpenalised)
    # loss of the restored weights on the held-out rows.
    history = est.history_
    assert list(history.columns) == ["loss", "learning_rate", "val_loss", "val_score"]
    assert history.index.name == "epoch"
    assert list(history.index) == list(range(1, est.n_iter_ + 1))
    assert list(history["val_score"]) == scores
    assert list(history["loss"]) == est.loss_curve_
    val_loss = 0.5 * np.mean((y[val] - est.predict(X[val])) ** 2)
    assert history.loc[best_epoch, "val_loss"] == pytest.approx(val_loss, rel=1e-10)
    assert est.best_loss_ is None


def test_early_stopping_classifier_is_stratified(split_spy):
    X, y, _, _, est = _problem("log_loss", n=60)
    est.set_params(
        hidden_layer_sizes=(8,),
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=2,
        max_iter=50,
        learning_rate_init=0.05,
        random_state=0,
    )
    est.fit(X, y)
    train, val = split_spy[0]
    for label in np.unique(y):
        assert abs(np.mean(y[val] == label) - np.mean(y == label)) <= 1 / len(val) + 1e-12
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.validation_scores_[-1] < est.best_validation_score_
    # Accuracy of the restored weights on the held-out rows is the best score.
    assert est.score(X[val], y[val]) == pytest.approx(est.best_validation_score_)


def _warm_start_without_improvement():
    """An early-stopping fit, then a warm start whose epochs never beat its best."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    y = X[:, 0] + 0.5 * rng.normal(size=80)
    est = MLPRegressorX(
        hidden_layer_sizes=(32,),
        solver="sgd",
        momentum=0.9,
        learning_rate_init=0.05,
        early_stopping=True,
        validation_fraction=0.25,
        tol=0.0,
        n_iter_no_change=5,
        max_iter=200,
        batch_size=10,
        random_state=0,
    ).fit(X, y)
    first = dict(
        n_iter=est.n_iter_,
        best=est.best_validation_score_,
        coefs=[c.copy() for c in est.coefs_],
        intercepts=[b.copy() for b in est.intercepts_],
    )
    # A learning rate ten times larger: the next epoch is far worse.
    est.set_params(warm_start=True, learning_rate_init=0.5).fit(X, y)
    return est, first


def test_early_stopping_warm_start_keeps_best_score():
    est, first = _warm_start_without_improvement()
    new_scores = est.validation_scores_[first["n_iter"] :]
    assert len(new_scores) == est.n_iter_ >= 1
    assert max(new_scores) < first["best"]
    assert est.best_validation_score_ == first["best"]


def test_early_stopping_warm_start_restores_best_weights():
    est, first = _warm_start_without_improvement()
    # best_validation_score_ still describes the first fit's best epoch, so those
    # are the weights the estimator should hold.
    for got, expected in zip(
        est.coefs_ + est.intercepts_, first["coefs"] + first["intercepts"], strict=True
    ):
        assert_allclose(got, expected)


def test_history_without_early_stopping():
    X, y, _, _, est = _problem("squared_error")
    est.set_params(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    history = est.history_
    assert list(history.columns) == ["loss", "learning_rate"]
    assert list(history.index) == [1, 2, 3]
    assert list(history["loss"]) == est.loss_curve_
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    # A warm start continues the history.
    with pytest.warns(ConvergenceWarning):
        est.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert list(est.history_.index) == [1, 2, 3, 4, 5]
    assert list(est.history_["loss"]) == est.loss_curve_


# -- what verbose shows --------------------------------------------------------------


def test_verbose_shows_one_progress_bar_and_predict_prints_nothing(capsys):
    X, y, _, _, est = _problem("log_loss", n=60)
    est.set_params(hidden_layer_sizes=(4,), max_iter=4, early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.set_params(verbose=0).fit(X, y)
        quiet = capsys.readouterr()
        assert quiet.out == "" and quiet.err == ""
        est.set_params(verbose=1).fit(X, y)
        shown = capsys.readouterr()
        assert shown.out == ""
        assert "4/4" in shown.err and "loss=" in shown.err and "val_score=" in shown.err
        assert "lr=0.001" in shown.err and "Iteration" not in shown.err
        est.set_params(verbose=2).fit(X, y)
        lines = capsys.readouterr()
        assert (lines.out + lines.err).count("Iteration ") == 4
        est.predict(X)
        est.predict_proba(X)
        after = capsys.readouterr()
        assert after.out == "" and after.err == ""
        # partial_fit runs one epoch: the scikit-learn line, no bar.
        est.partial_fit(X, y)
        one = capsys.readouterr()
        assert "Iteration 5, loss" in one.out and "epoch" not in one.err


def test_epoch_records_follow_every_partial_fit_when_read_in_between():
    # The DataFrames are built when read; reading must never return a stale one.
    X, y = _problem("log_loss")[:2]
    est = MLPClassifierX((4, 3), random_state=0)
    assert not hasattr(est, "history_")
    for calls in range(1, 4):
        est.partial_fit(X, y, classes=np.unique(y))
        assert list(est.history_["loss"]) == est.loss_curve_
        assert est.gradient_norms_.shape == (calls, 3)
        assert est.dead_units_.shape == (calls, 2)
    est.fit(X, y)  # a new fit starts a new record
    assert list(est.history_["loss"]) == est.loss_curve_
    assert len(est.history_) == est.n_iter_


# -- several epochs per call of the compiled graph -----------------------------------

CALL_CONFIGS = {
    "tol-rule": dict(max_iter=60, tol=1e-2, n_iter_no_change=3),
    "no-stopping-rule": dict(max_iter=25, n_iter_no_change=np.inf),
    "adaptive": dict(
        solver="sgd", learning_rate="adaptive", max_iter=60, tol=1e-2, n_iter_no_change=2
    ),
    "invscaling": dict(solver="sgd", learning_rate="invscaling", max_iter=8),
    "step": dict(learning_rate="step", lr_decay_epochs=4, max_iter=14),
    "no-shuffle": dict(shuffle=False, max_iter=12),
    "diverging": dict(solver="sgd", learning_rate_init=0.05, momentum=0.99, max_iter=40),
}


def test_a_call_runs_at_most_epochs_per_call_epochs_and_the_same_fit(monkeypatch):
    # On a few rows ROWS_PER_CALL alone would let a call run thousands of epochs, and
    # its reports grow by a row an epoch, copied whole each time.
    from skneural._epoch import EpochRunner

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0])
    epochs = []
    real = EpochRunner.run_epochs
    monkeypatch.setattr(
        EpochRunner, "run_epochs", lambda *a, **k: epochs.append(len(a[2])) or real(*a, **k)
    )
    fits = []
    for cap in (5, 10**6):
        monkeypatch.setattr("skneural._training.EPOCHS_PER_CALL", cap)
        epochs.clear()
        params = dict(hidden_layer_sizes=(4,), max_iter=23, n_iter_no_change=np.inf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
            fits.append((MLPClassifierX(random_state=0, **params).fit(X, y), list(epochs)))
    (capped, capped_calls), (free, free_calls) = fits
    assert max(capped_calls) == 5 and max(free_calls) == 22  # the first epoch runs alone
    assert capped.loss_curve_ == free.loss_curve_
    for a, b in zip(capped.coefs_, free.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", CALL_CONFIGS.values(), ids=CALL_CONFIGS.keys())
def test_epochs_run_several_to_a_call_as_one_per_call(monkeypatch, config, dtype):
    from skneural._epoch import EpochRunner

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5)).astype(dtype)
    y = X @ rng.normal(size=5) * 3 + rng.normal(size=120)
    epochs = []
    real = EpochRunner.run_epochs
    monkeypatch.setattr(
        EpochRunner, "run_epochs", lambda *a, **k: epochs.append(len(a[2])) or real(*a, **k)
    )
    fits = []
    for rows_per_call in (1, 10**6):  # one epoch per call; as many as the rules allow
        monkeypatch.setattr("skneural._training.ROWS_PER_CALL", rows_per_call)
        epochs.clear()
        est = MLPRegressorX(hidden_layer_sizes=(8,), batch_size=32, random_state=0, **config)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(X, y)
            diverged = any("diverged" in str(w.message) for w in caught)
            # A warm start continues with the generator and state the fit left.
            est.set_params(warm_start=True, max_iter=3, learning_rate_init=1e-3).fit(X, y)
        fits.append((est, [str(w.message) for w in caught], list(epochs)))
        assert diverged == (config is CALL_CONFIGS["diverging"])
    (one, one_warnings, one_calls), (several, several_warnings, several_calls) = fits
    assert max(one_calls) == 1
    # Epochs of different learning rates take a call each ('invscaling': every epoch).
    batched = config is not CALL_CONFIGS["invscaling"]
    assert max(several_calls) > 1 if batched else max(several_calls) == 1
    assert several_warnings == one_warnings
    assert several.loss_curve_ == one.loss_curve_ and several.n_iter_ == one.n_iter_
    assert several.t_ == one.t_
    assert several.history_.equals(one.history_)
    got, want = several.coefs_ + several.intercepts_, one.coefs_ + one.intercepts_
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_graph_stops_after_an_epoch_over_the_limit_however_the_limit_rounds(dtype):
    from skneural._epoch import TrainData
    from skneural._plan import Objective
    from skneural._pool import RunnerPool

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(dtype)
    y = X.sum(axis=1)
    est = MLPRegressorX(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X, y)
    data = TrainData.from_arrays(X, y[:, None], np.ones(len(X)), np.dtype(dtype).name)
    orders = np.tile(np.arange(len(X)), (2, 1))
    network = est._network.plan.network
    with RunnerPool().borrow(network, est.model_, Objective("squared_error")) as runner:
        first = runner.run_epochs(data, orders[:1], 16)[0]
        worst = max(first.loss, first.end_loss)
        # Limits the epoch's loss exceeds, however close: in the data's dtype they round
        # to that loss (float32), or are it less an ulp (float64). Python's divergence
        # check (worst > limit) stops there, and so must the graph.
        for limit in (worst * (1 - 1e-12), float(np.nextafter(worst, -np.inf))):
            runner.restore()
            assert len(runner.run_epochs(data, orders, 16, limit)) == 1
        runner.restore()
        assert len(runner.run_epochs(data, orders, 16, worst)) == 2  # not over it
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # beyond float32's range: no overflow warning
            runner.restore()
            assert len(runner.run_epochs(data, orders, 16, 1e300)) == 2
