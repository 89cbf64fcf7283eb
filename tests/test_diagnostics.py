"""Training diagnostics and divergence: what fit records per epoch, checked against
numpy, and the warnings it gives for the textbook failures."""

import warnings

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skneural import MLPClassifierX, MLPRegressorX
from skneural.exceptions import DiagnosticWarning


def _digits(n=600):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _diagnostic_messages(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return [str(w.message) for w in caught if issubclass(w.category, DiagnosticWarning)]


# -- what is recorded ----------------------------------------------------------------


def test_diagnostics_frames_follow_history():
    X, y = _digits()
    est = MLPClassifierX(hidden_layer_sizes=(16, 8), max_iter=4, random_state=0).fit(X, y)
    assert list(est.gradient_norms_.columns) == ["hidden_0", "hidden_1", "output"]
    assert list(est.dead_units_.columns) == ["hidden_0", "hidden_1"]
    assert est.gradient_norms_.index.equals(est.history_.index)
    assert est.dead_units_.index.equals(est.history_.index)
    assert (est.gradient_norms_.to_numpy() > 0).all()
    assert ((est.dead_units_ >= 0) & (est.dead_units_ <= 1)).all().all()
    # partial_fit and warm starts continue the frames, as they do history_.
    est.partial_fit(X, y)
    assert len(est.gradient_norms_) == len(est.dead_units_) == len(est.history_) == 5


def test_dead_units_against_numpy():
    # Positive inputs: a ReLU unit whose incoming weights are all negative outputs
    # zero for every sample. A negligible learning rate keeps the initial weights, so
    # the units dead during the epoch are those dead at the fitted weights.
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(200, 2)))
    y = (X[:, 0] > X[:, 1]).astype(int)
    est = MLPClassifierX(
        hidden_layer_sizes=(64, 32),
        kernel_initializer="random_normal",
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1e-12,
        batch_size=50,
        max_iter=1,
        random_state=0,
    ).fit(X, y)
    h0 = np.maximum(X @ est.coefs_[0] + est.intercepts_[0], 0)
    h1 = np.maximum(h0 @ est.coefs_[1] + est.intercepts_[1], 0)
    expected = [(h == 0).all(axis=0).mean() for h in (h0, h1)]
    assert expected[0] > 0.1  # the setup does kill units
    assert_allclose(est.dead_units_.iloc[0], expected)


# -- warnings ------------------------------------------------------------------------


def test_deep_sigmoid_warns_of_vanishing_gradients_relu_he_does_not():
    X, y = _digits()
    deep = dict(hidden_layer_sizes=(32,) * 8, max_iter=2, batch_size=200, random_state=0)
    sigmoid = MLPClassifierX(activation="logistic", **deep)
    messages = _diagnostic_messages(sigmoid, X, y)
    assert len(messages) == 1 and messages[0].startswith("Vanishing gradients")
    first = sigmoid.gradient_norms_.iloc[0]
    assert first["hidden_0"] / first["output"] < 1e-3
    relu = MLPClassifierX(activation="relu", kernel_initializer="he_normal", **deep)
    assert _diagnostic_messages(relu, X, y) == []
    first = relu.gradient_norms_.iloc[0]
    assert first["hidden_0"] / first["output"] > 1e-2


def test_large_initial_weights_warn_of_exploding_gradients():
    X, y = _digits()
    est = MLPClassifierX(
        hidden_layer_sizes=(32,) * 8,
        activation="tanh",
        kernel_initializer=keras.initializers.RandomNormal(stddev=3.0),
        max_iter=2,
        batch_size=200,
        random_state=0,
    )
    messages = _diagnostic_messages(est, X, y)
    assert len(messages) == 1 and messages[0].startswith("Exploding gradients")
    first = est.gradient_norms_.iloc[0]
    assert first["hidden_0"] / first["output"] > 1e3


def test_an_ensemble_is_advised_only_what_it_accepts():
    # n_ensemble > 1 refuses batch_normalization and clipnorm: the warnings must not
    # suggest them, and what they do suggest must fit.
    X, y = _digits()
    deep = dict(hidden_layer_sizes=(32,) * 8, max_iter=2, batch_size=200, random_state=0)
    vanishing = MLPClassifierX(activation="logistic", n_ensemble=2, **deep)
    exploding = MLPClassifierX(
        activation="tanh",
        kernel_initializer=keras.initializers.RandomNormal(stddev=3.0),
        n_ensemble=2,
        **deep,
    )
    (vanish,) = _diagnostic_messages(vanishing, X, y)
    (explode,) = _diagnostic_messages(exploding, X, y)
    assert vanish.startswith("Vanishing gradients") and explode.startswith("Exploding")
    for message in (vanish, explode):
        assert "batch_normalization" not in message and "clipnorm" not in message
    assert "clipvalue=1.0" in explode
    with warnings.catch_warnings():  # the advice is accepted (clipping warns alike)
        warnings.simplefilter("ignore", DiagnosticWarning)
        exploding.set_params(clipvalue=1.0).fit(X, y)
    single = clone(exploding).set_params(n_ensemble=1, clipvalue=None)
    (message,) = _diagnostic_messages(single, X, y)
    assert "clipnorm=1.0" in message and "batch_normalization=True" in message


def test_zero_initialization_warns_and_kills_relu_layer():
    X, y = _digits()
    est = MLPClassifierX(hidden_layer_sizes=(8,), kernel_initializer="zeros", max_iter=3)
    messages = _diagnostic_messages(est, X, y)
    assert any(m.startswith("Symmetry not broken: all 8 units of hidden_0") for m in messages)
    assert any(m.startswith("Every unit of hidden_0 output zero") for m in messages)
    assert (est.dead_units_["hidden_0"] == 1.0).all()
    assert (est.gradient_norms_["hidden_0"] == 0.0).all()


def test_default_fits_give_no_diagnostic_warning():
    X, y = _digits()
    for est in [
        MLPClassifierX(max_iter=5, random_state=0),
        MLPClassifierX(hidden_layer_sizes=(32, 32, 32), max_iter=5, random_state=0),
        MLPRegressorX(hidden_layer_sizes=(32, 32), max_iter=5, random_state=0),
    ]:
        assert _diagnostic_messages(est, X, y) == []


# -- divergence ----------------------------------------------------------------------


def _diverging(**kwargs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) * 10
    params = dict(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=0.1,
        batch_size=50,
        max_iter=20,
        random_state=0,
    )
    return X, y, MLPRegressorX(**{**params, **kwargs})


def test_divergence_stops_restores_the_last_good_epoch_and_warns():
    X, y, est = _diverging()
    with pytest.warns(ConvergenceWarning, match=r"Training diverged in epoch (\d+)") as record:
        est.fit(X, y)
    message = next(str(w.message) for w in record if "diverged" in str(w.message))
    epoch = int(message.split("epoch ")[1].split(":")[0])
    assert epoch > 1
    assert "learning_rate_init" in message and "clipnorm" in message
    # The diverged epoch is in history_, and nowhere else.
    # Its loss is not finite or exploded (1e4 times the start's: skneural._training).
    losses = est.history_["loss"]
    assert len(losses) == epoch and not losses.iloc[-1] < 1e4 * losses.iloc[0]
    assert est.n_iter_ == len(est.loss_curve_) == epoch - 1
    assert np.isfinite(est.loss_curve_).all() and est.loss_ == est.loss_curve_[-1]
    assert est.t_ == 200 * (epoch - 1)
    # The weights are exactly those at the end of the last good epoch.
    _, _, reference = _diverging(max_iter=epoch - 1)
    reference.fit(X, y)
    got, want = est.coefs_ + est.intercepts_, reference.coefs_ + reference.intercepts_
    for a, b in zip(got, want, strict=True):
        assert_allclose(a, b, rtol=0, atol=0)
    assert np.isfinite(est.predict(X)).all()
    # The estimator stays usable: a smaller rate continues from the restored state.
    est.set_params(warm_start=True, learning_rate_init=0.001, max_iter=3).fit(X, y)
    assert np.isfinite(est.loss_curve_).all()


def test_divergence_in_the_first_epoch_is_refused_as_in_scikit_learn():
    # float32 weights overflow in the very first step: no epoch ever ended with finite
    # weights, so there is nothing to keep and the fit raises scikit-learn's error.
    X, y, est = _diverging(learning_rate_init=1e30)
    X = X.astype(np.float32)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)
    # A warm-started refit that diverges at once keeps the weights it started from.
    fitted = _diverging(learning_rate_init=0.001, max_iter=2)[2].fit(X, y)
    before = [w.copy() for w in fitted.coefs_ + fitted.intercepts_]
    fitted.set_params(warm_start=True, learning_rate_init=1e30)
    with pytest.warns(ConvergenceWarning, match="Training diverged in epoch 3"):
        fitted.fit(X, y)
    for a, b in zip(fitted.coefs_ + fitted.intercepts_, before, strict=True):
        assert_allclose(a, b, rtol=0, atol=0)
    assert fitted.n_iter_ == 0 and np.isfinite(fitted.predict(X)).all()


@pytest.mark.parametrize("batch_size", [200, 10], ids=["full-batch", "minibatches"])
def test_a_finite_blow_up_in_the_first_epoch_is_refused(batch_size):
    # Adam at 1e10 never overflows here: one step takes the loss from ~1 to ~1e40 and
    # the outputs to ~1e21, finite and useless. No epoch ended well: nothing to keep.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5)
    est = MLPRegressorX(learning_rate_init=1e10, batch_size=batch_size, max_iter=5, random_state=0)
    with pytest.raises(ValueError, match="Training diverged in epoch 1: the loss went from") as e:
        est.fit(X, y)
    start, end = (float(v) for v in str(e.value).split("from ")[1].split(" (")[0].split(" to "))
    assert start < 10 and end > 1e20
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_unstable_training_that_recovers_is_not_divergence():
    # SGD at 1.0 overshoots (the loss climbs ~40x above where it started) and recovers.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] > 0).astype(int)
    est = MLPClassifierX(learning_rate_init=1.0, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Stochastic Optimizer", ConvergenceWarning)
        est.fit(X, y)
    assert max(est.loss_curve_) > 10 * est.loss_curve_[0]
    assert est.n_iter_ == 5


def test_clipnorm_prevents_the_divergence():
    X, y, est = _diverging(clipnorm=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Stochastic Optimizer", ConvergenceWarning)
        est.fit(X, y)
    assert len(est.loss_curve_) == 20 and np.isfinite(est.loss_curve_).all()


def test_a_first_epoch_divergence_with_early_stopping_keeps_the_initial_weights():
    # scikit-learn's test_mlp_diverging_loss: with early stopping, a diverging fit does
    # not raise; early stopping's best weights (here the initial ones) are kept.
    X, y = load_iris(return_X_y=True)
    params = dict(
        hidden_layer_sizes=(100,), activation="identity", solver="sgd",
        learning_rate_init=1.0, early_stopping=True, random_state=0,
    )  # fmt: skip
    with pytest.warns(ConvergenceWarning, match="Training diverged in epoch 1"):
        est = MLPRegressorX(max_iter=20, **params).fit(X, y)
    assert est.n_iter_ == 0 and est.loss_curve_ == [] and est.validation_scores_ == []
    initial = MLPRegressorX(max_iter=1, **{**params, "learning_rate_init": 1e-300})
    initial.fit(X, y)
    for a, b in zip(est.coefs_, initial.coefs_, strict=True):
        assert_allclose(a, b, rtol=0, atol=1e-12)
    assert np.isfinite(est.predict(X)).all()
