"""The registries against independent references: Keras's own activations and
optimizers, the documented statistics of Keras's initializers, and numpy formulas of
the losses."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy.testing import assert_allclose
from scipy.special import expit, log_softmax, xlogy
from sklearn.datasets import make_blobs
from sklearn.metrics import log_loss, mean_absolute_error, mean_poisson_deviance

from skneural import MLPClassifierX, MLPRegressorX
from skneural._plan import OptimizerPlan
from skneural._registry import (
    ACTIVATIONS,
    INITIALIZERS,
    LOSSES,
    OPTIMIZERS,
    OUTPUT_ACTIVATIONS,
    make_initializer,
)
from skneural.optimizers import LARS

# Negative, near-zero and large values; a 2-D grid so softmax works row-wise too.
_GRID = np.concatenate([np.linspace(-30.0, 30.0, 241), [-1e-8, 0.0, 1e-8, -700.0, 80.0, -0.5, 0.5]])
_GRID_2D = _GRID[: len(_GRID) // 8 * 8].reshape(-1, 8)


def _keras_activation(name, x):
    return keras.activations.get(name)(tf.constant(x, dtype=tf.float64)).numpy()


# -- activations ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_numpy_matches_keras(name):
    act = ACTIVATIONS[name]
    expected = _keras_activation(act.keras_name, _GRID_2D)
    got = act.numpy_fn(_GRID_2D)
    assert got.shape == expected.shape
    assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # The same function in float32 too, where Keras computes in float32.
    x32 = _GRID_2D[np.abs(_GRID_2D) < 50].astype(np.float32)
    expected32 = keras.activations.get(act.keras_name)(tf.constant(x32)).numpy()
    assert_allclose(act.numpy_fn(x32.astype(np.float64)), expected32, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(OUTPUT_ACTIVATIONS))
def test_output_activation_numpy_matches_keras(name):
    act = OUTPUT_ACTIVATIONS[name]
    x = _GRID_2D if name != "exp" else np.clip(_GRID_2D, -30.0, 30.0)
    expected = _keras_activation(act.keras_name, x)
    assert_allclose(act.numpy_fn(x), expected, rtol=1e-6, atol=1e-6)


def test_activation_registry_spellings():
    # scikit-learn's names map to Keras's names for the same function.
    assert ACTIVATIONS["identity"].keras_name == "linear"
    assert ACTIVATIONS["logistic"].keras_name == "sigmoid"
    assert OUTPUT_ACTIVATIONS["exp"].keras_name == "exponential"
    # Non-trivial checks of the numpy side against closed forms.
    x = np.array([-2.0, -0.1, 0.0, 0.3, 4.0])
    assert_allclose(ACTIVATIONS["leaky_relu"].numpy_fn(x), np.where(x > 0, x, 0.2 * x))
    assert_allclose(ACTIVATIONS["logistic"].numpy_fn(x), 1 / (1 + np.exp(-x)))
    soft = OUTPUT_ACTIVATIONS["softmax"].numpy_fn(np.array([[1000.0, 1000.0, -np.inf]]))
    assert_allclose(soft, [[0.5, 0.5, 0.0]])


# -- initializers --------------------------------------------------------------------

_FAN_IN, _FAN_OUT = 300, 500
_TRUNC = 0.87962566103423978  # std of a standard normal truncated at +-2 std
_GLOROT = 2.0 / (_FAN_IN + _FAN_OUT)
_HE = 2.0 / _FAN_IN
_LECUN = 1.0 / _FAN_IN

# name -> (expected std, expected max |w| bound or None, uniform: max reaches bound)
_INIT_STATS = {
    "random_normal": (0.05, None, False),
    "random_uniform": (0.05 / np.sqrt(3), 0.05, True),
    # Keras's TruncatedNormal(stddev=0.05) truncates at 2 stddev; the std of the draw
    # is then 0.05 * 0.8796.
    "truncated_normal": (0.05 * _TRUNC, 0.1, False),
    # VarianceScaling's truncated normal divides by 0.8796 so that the draw's std is
    # exactly sqrt(scale / n), truncated at 2 / 0.8796 of it.
    "glorot_normal": (np.sqrt(_GLOROT), 2 * np.sqrt(_GLOROT) / _TRUNC, False),
    "glorot_uniform": (np.sqrt(_GLOROT), np.sqrt(3 * _GLOROT), True),
    "he_normal": (np.sqrt(_HE), 2 * np.sqrt(_HE) / _TRUNC, False),
    "he_uniform": (np.sqrt(_HE), np.sqrt(3 * _HE), True),
    "lecun_normal": (np.sqrt(_LECUN), 2 * np.sqrt(_LECUN) / _TRUNC, False),
    "lecun_uniform": (np.sqrt(_LECUN), np.sqrt(3 * _LECUN), True),
}


def test_every_initializer_is_covered():
    assert set(INITIALIZERS) == set(_INIT_STATS) | {"zeros", "orthogonal"}


@pytest.mark.parametrize("name", sorted(_INIT_STATS))
def test_initializer_statistics(name):
    std, bound, uniform = _INIT_STATS[name]
    init = INITIALIZERS[name](7)
    w = np.asarray(init((_FAN_IN, _FAN_OUT), dtype="float64"))
    assert w.shape == (_FAN_IN, _FAN_OUT)
    # 150 000 draws: the sample std is within ~0.5% of the truth; 3% can't be missed by
    # a wrong fan (glorot vs he vs lecun differ by > 30% here).
    assert abs(w.mean()) < 0.01 * std
    assert w.std() == pytest.approx(std, rel=0.03)
    if bound is not None:
        assert np.abs(w).max() <= bound * (1 + 1e-6)
    if uniform:
        assert np.abs(w).max() > 0.99 * bound
        # A uniform draw: a quarter of the mass in each quarter of [-bound, bound].
        counts, _ = np.histogram(w, bins=4, range=(-bound, bound))
        assert_allclose(counts / w.size, 0.25, atol=0.01)
    # The seed decides the draw.
    again = np.asarray(INITIALIZERS[name](7)((_FAN_IN, _FAN_OUT), dtype="float64"))
    other = np.asarray(INITIALIZERS[name](8)((_FAN_IN, _FAN_OUT), dtype="float64"))
    assert_allclose(again, w)
    assert not np.allclose(other, w)


def test_zeros_initializer():
    w = np.asarray(INITIALIZERS["zeros"](3)((20, 30)))
    assert w.shape == (20, 30)
    assert np.all(w == 0)


@pytest.mark.parametrize("shape", [(60, 40), (40, 60)])
def test_orthogonal_initializer(shape):
    w = np.asarray(INITIALIZERS["orthogonal"](5)(shape, dtype="float64"))
    assert w.shape == shape
    # Orthonormal columns (tall) or rows (wide).
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    assert_allclose(gram, np.eye(min(shape)), atol=1e-10)
    other = np.asarray(INITIALIZERS["orthogonal"](6)(shape, dtype="float64"))
    assert not np.allclose(other, w)


def test_make_initializer_from_string():
    got = make_initializer("he_uniform", 11)
    assert isinstance(got, keras.initializers.HeUniform)
    assert got.get_config()["seed"] == 11


def test_make_initializer_copies_instance_with_seed_replaced():
    user = keras.initializers.RandomNormal(mean=3.0, stddev=0.5, seed=1)
    before = user.get_config()
    got = make_initializer(user, 42)
    assert got is not user
    assert type(got) is keras.initializers.RandomNormal
    assert got.get_config() == {**before, "seed": 42}
    # The user's object is untouched.
    assert user.get_config() == before
    assert user.seed == 1
    # The copy draws exactly what a fresh initializer with seed 42 draws.
    expected = keras.initializers.RandomNormal(mean=3.0, stddev=0.5, seed=42)((50, 40))
    assert_allclose(np.asarray(got((50, 40))), np.asarray(expected))
    assert not np.allclose(np.asarray(got((50, 40))), np.asarray(user((50, 40))))


def test_make_initializer_instance_without_seed():
    user = keras.initializers.Constant(0.25)
    got = make_initializer(user, 42)
    assert got is not user
    assert_allclose(np.asarray(got((3, 2))), 0.25)


def test_initializer_instance_through_estimator_does_not_mutate():
    user = keras.initializers.Orthogonal(gain=2.0, seed=123)
    before = user.get_config()
    X = np.random.default_rng(0).normal(size=(20, 6))
    y = X[:, 0]
    est = MLPRegressorX(
        hidden_layer_sizes=(4,),
        kernel_initializer=user,
        solver="sgd",
        learning_rate_init=1e-12,
        momentum=0.0,
        alpha=0.0,
        max_iter=1,
        random_state=0,
    ).fit(X, y)
    assert user.get_config() == before
    assert est.kernel_initializer is user
    # gain=2.0 was kept: columns have norm 2 (weights moved by at most ~1e-12).
    w = est.coefs_[0]
    assert_allclose(w.T @ w, 4.0 * np.eye(4), atol=1e-8)


# -- optimizers ----------------------------------------------------------------------

_HYPER = dict(
    learning_rate_init=0.0123,
    momentum=0.7,
    beta_1=0.8,
    beta_2=0.95,
    epsilon=1e-6,
    rho=0.85,
    lars_eta=0.002,
)
_ADAM_LIKE = {"beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-6}
_EXPECTED_OPTIMIZER = {
    "sgd": (keras.optimizers.SGD, {"momentum": 0.7}),
    "adam": (keras.optimizers.Adam, _ADAM_LIKE),
    "adamw": (keras.optimizers.AdamW, _ADAM_LIKE),
    "adagrad": (keras.optimizers.Adagrad, {"epsilon": 1e-6}),
    "rmsprop": (keras.optimizers.RMSprop, {"rho": 0.85, "epsilon": 1e-6}),
    "adadelta": (keras.optimizers.Adadelta, {"rho": 0.85, "epsilon": 1e-6}),
    "adamax": (keras.optimizers.Adamax, _ADAM_LIKE),
    "nadam": (keras.optimizers.Nadam, _ADAM_LIKE),
    "lamb": (keras.optimizers.Lamb, _ADAM_LIKE),
    "lion": (keras.optimizers.Lion, {"beta_1": 0.8, "beta_2": 0.95}),
    "lars": (LARS, {"momentum": 0.7, "eta": 0.002}),
}


def test_every_solver_is_covered():
    assert set(OPTIMIZERS) == set(_EXPECTED_OPTIMIZER)


def _check_optimizer(opt, solver, weight_decay):
    cls, attrs = _EXPECTED_OPTIMIZER[solver]
    assert type(opt) is cls
    assert float(opt.learning_rate) == pytest.approx(0.0123, rel=1e-6)
    for name, value in attrs.items():
        assert float(getattr(opt, name)) == pytest.approx(value, rel=1e-6), name
    if solver == "lars":
        # LARS decays inside its trust ratio, not through Keras's decoupled decay.
        assert opt.lars_weight_decay == pytest.approx(weight_decay or 0.0)
        assert opt.weight_decay is None
    elif weight_decay is not None:
        assert opt.weight_decay == pytest.approx(weight_decay)
    elif solver == "adamw":
        assert opt.weight_decay == pytest.approx(0.004)  # Keras's documented default
    else:
        assert opt.weight_decay is None


def _optimizer(est):
    """The optimizer a fit of ``est`` builds (through the plan)."""
    params = est.get_params(deep=False)
    return OptimizerPlan.from_params(params).build(params["learning_rate_init"])


@pytest.mark.parametrize("weight_decay", [None, 0.01])
@pytest.mark.parametrize("solver", sorted(_EXPECTED_OPTIMIZER))
def test_optimizer_factory(solver, weight_decay):
    est = MLPClassifierX(solver=solver, weight_decay=weight_decay, **_HYPER)
    _check_optimizer(_optimizer(est), solver, weight_decay)


@pytest.mark.parametrize("solver", sorted(_EXPECTED_OPTIMIZER))
@pytest.mark.parametrize("clip", ["clipnorm", "clipvalue"])
def test_clipping_reaches_every_optimizer(solver, clip):
    opt = _optimizer(MLPClassifierX(solver=solver, **{clip: 0.5}))
    other = "clipvalue" if clip == "clipnorm" else "clipnorm"
    assert getattr(opt, clip) == 0.5
    assert getattr(opt, other) is None


def test_lamb_is_available_by_name():
    # keras.optimizers.get("lamb") fails in Keras 3.15; the solver name must not.
    with pytest.raises(ValueError):
        keras.optimizers.get("lamb")
    assert type(_optimizer(MLPClassifierX(solver="lamb"))) is keras.optimizers.Lamb


@pytest.mark.parametrize(
    "momentum, nesterovs_momentum, expected",
    [(0.7, True, True), (0.7, False, False), (0.0, True, False)],
)
@pytest.mark.parametrize("solver", ["sgd", "lars"])
def test_nesterov(solver, momentum, nesterovs_momentum, expected):
    est = MLPClassifierX(solver=solver, momentum=momentum, nesterovs_momentum=nesterovs_momentum)
    opt = _optimizer(est)
    assert opt.nesterov is expected
    assert opt.momentum == pytest.approx(momentum)


@pytest.mark.parametrize("solver", sorted(_EXPECTED_OPTIMIZER))
def test_fitted_model_optimizer(solver):
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    est = MLPClassifierX(
        hidden_layer_sizes=(3,),
        solver=solver,
        weight_decay=0.01,
        max_iter=1,
        random_state=0,
        **_HYPER,
    ).fit(X, y)
    _check_optimizer(est.model_.optimizer, solver, 0.01)
    if solver in ("sgd", "lars"):
        assert est.model_.optimizer.nesterov is True


# Learning rates at which each optimizer trains the problem below in 30 epochs
# (Adadelta and LARS scale their steps themselves and expect rates near 1).
_WORKING_SETTINGS = {
    "sgd": dict(learning_rate_init=0.1),
    "adam": dict(learning_rate_init=0.01),
    "adamw": dict(learning_rate_init=0.01),
    "adagrad": dict(learning_rate_init=0.1),
    "rmsprop": dict(learning_rate_init=0.01),
    "adadelta": dict(learning_rate_init=1.0, epsilon=1e-6),
    "adamax": dict(learning_rate_init=0.02),
    "nadam": dict(learning_rate_init=0.01),
    "lamb": dict(learning_rate_init=0.01),
    "lion": dict(learning_rate_init=0.005),
    "lars": dict(learning_rate_init=1.0),
}


@pytest.mark.parametrize("solver", sorted(_EXPECTED_OPTIMIZER))
def test_every_solver_trains(solver):
    X, y = make_blobs(300, centers=3, n_features=4, cluster_std=2.0, random_state=0)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    est = MLPClassifierX(
        hidden_layer_sizes=(16,),
        solver=solver,
        max_iter=30,
        batch_size=100,
        random_state=0,
        **_WORKING_SETTINGS[solver],
    ).fit(X, y)
    assert est.loss_curve_[-1] < est.loss_curve_[0] / 4
    assert est.score(X, y) > 0.93


# -- losses --------------------------------------------------------------------------


def _loss_values(name, y, z):
    out = LOSSES[name].per_sample(tf.constant(y), tf.constant(z))
    return np.asarray(out)


def test_losses_cover_the_registry():
    assert {name: loss.out_activation for name, loss in LOSSES.items()} == {
        "log_loss": "softmax",
        "binary_log_loss": "logistic",
        "squared_error": "identity",
        "absolute_error": "identity",
        "huber": "identity",
        "poisson": "exp",
    }


def test_log_loss():
    rng = np.random.default_rng(0)
    z = rng.normal(scale=3.0, size=(9, 4))
    labels = rng.integers(4, size=9)
    y = np.eye(4)[labels]
    got = _loss_values("log_loss", y, z)
    assert got.shape == (9,)
    assert_allclose(got, -log_softmax(z, axis=1)[np.arange(9), labels], rtol=1e-12)
    # Averaged, it is scikit-learn's log loss of the softmax probabilities.
    proba = np.exp(log_softmax(z, axis=1))
    assert got.mean() == pytest.approx(log_loss(labels, proba, labels=range(4)), rel=1e-10)


def test_binary_log_loss_sums_over_outputs():
    rng = np.random.default_rng(1)
    z = rng.normal(scale=3.0, size=(9, 3))
    y = rng.integers(2, size=(9, 3)).astype(float)
    p = expit(z)
    expected = -(xlogy(y, p) + xlogy(1 - y, 1 - p)).sum(axis=1)
    got = _loss_values("binary_log_loss", y, z)
    assert got.shape == (9,)
    assert_allclose(got, expected, rtol=1e-10)
    # Stable for large logits, where the naive formula would give log(0).
    big = _loss_values("binary_log_loss", np.array([[0.0], [1.0]]), np.array([[50.0], [-50.0]]))
    assert_allclose(big, [50.0, 50.0], rtol=1e-12)


def test_squared_error_is_half_mean_over_outputs():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(9, 3))
    y = rng.normal(size=(9, 3))
    got = _loss_values("squared_error", y, z)
    assert got.shape == (9,)
    assert_allclose(got, 0.5 * ((y - z) ** 2).mean(axis=1), rtol=1e-12)


def test_absolute_error_is_mean_over_outputs():
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(9, 3)), rng.normal(size=(9, 3))
    got = _loss_values("absolute_error", y, z)
    assert_allclose(got, np.abs(y - z).mean(axis=1), rtol=1e-12)
    # Averaged over samples and outputs: scikit-learn's mean absolute error.
    assert got.mean() == pytest.approx(mean_absolute_error(y, z), rel=1e-12)


@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_is_quadratic_then_linear(delta):
    rng = np.random.default_rng(5)
    z, y = rng.normal(scale=2.0, size=(40, 2)), rng.normal(scale=2.0, size=(40, 2))
    error = np.abs(y - z)
    expected = np.where(error <= delta, 0.5 * error**2, delta * (error - 0.5 * delta))
    out = LOSSES["huber"].per_sample(tf.constant(y), tf.constant(z), delta=delta)
    assert_allclose(np.asarray(out), expected.mean(axis=1), rtol=1e-12)
    # And Keras's own Huber loss agrees on the mean.
    keras_mean = keras.losses.Huber(delta=delta)(y, z)
    assert float(keras_mean) == pytest.approx(expected.mean(), rel=1e-6)


def test_poisson_half_deviance_with_log_link():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(12, 2))
    y = rng.poisson(2.0, size=(12, 2)).astype(float)
    y[:3] = 0.0  # xlogy(0, 0) = 0
    mu = np.exp(z)
    expected = (xlogy(y, y / mu) - y + mu).sum(axis=1)
    got = _loss_values("poisson", y, z)
    assert got.shape == (12,)
    assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    # Single output: half of scikit-learn's mean Poisson deviance; zero at mu == y.
    assert got.mean() == pytest.approx(
        0.5 * (mean_poisson_deviance(y[:, 0], mu[:, 0]) + mean_poisson_deviance(y[:, 1], mu[:, 1])),
        rel=1e-10,
    )
    at_truth = _loss_values("poisson", np.array([[2.0, 5.0]]), np.log([[2.0, 5.0]]))
    assert_allclose(at_truth, [0.0], atol=1e-12)


def _constant_model(loss, y, **kwargs):
    # No hidden layer and an all-zero feature: the prediction is the output bias, the
    # constant that minimises the loss; the cosine schedule anneals it there.
    params = dict(
        hidden_layer_sizes=(),
        solver="sgd",
        momentum=0.0,
        learning_rate="cosine",
        learning_rate_init=0.5,
        batch_size=len(y),
        max_iter=300,
        tol=0.0,
        n_iter_no_change=1000,
        alpha=0.0,
        random_state=0,
    )
    est = MLPRegressorX(loss=loss, **{**params, **kwargs})
    return est.fit(np.zeros((len(y), 1)), y).predict(np.zeros((1, 1)))[0]


def test_absolute_error_fits_the_median_squared_error_the_mean():
    y = np.random.default_rng(0).exponential(scale=1.0, size=201)
    assert np.mean(y) - np.median(y) > 0.2
    assert _constant_model("absolute_error", y, learning_rate_init=0.05) == pytest.approx(
        np.median(y), abs=0.02
    )
    assert _constant_model("squared_error", y) == pytest.approx(np.mean(y), abs=1e-6)


def test_huber_resists_outliers():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 1))
    y = 2.0 * X[:, 0] + rng.normal(scale=0.1, size=200)
    y[:20] += 30.0  # 10% gross outliers
    params = dict(
        hidden_layer_sizes=(), solver="adam", learning_rate_init=0.05, max_iter=300, random_state=0
    )
    huber = MLPRegressorX(loss="huber", **params).fit(X, y)
    squared = MLPRegressorX(loss="squared_error", **params).fit(X, y)
    clean = 2.0 * X[20:, 0]
    huber_error = np.abs(huber.predict(X[20:]) - clean).mean()
    squared_error = np.abs(squared.predict(X[20:]) - clean).mean()
    assert huber_error < 0.5 and squared_error > 2.0  # the mean is pulled up by ~3


# -- integer hyperparameters ---------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="sgd", momentum=0),
        dict(solver="sgd", momentum=1),
        dict(solver="adam", learning_rate_init=1),
        dict(solver="adam", beta_1=0, weight_decay=0),
        dict(solver="rmsprop", rho=1, epsilon=1),
        dict(solver="sgd", momentum=0.0),
    ],
    ids=[
        "sgd-momentum-0",
        "sgd-momentum-1",
        "learning_rate_init-1",
        "adam-ints",
        "rmsprop-ints",
        "sgd-momentum-0.0",
    ],
)
def test_integer_hyperparameters_are_accepted(params):
    # Every value here passes the estimator's parameter validation, as it does
    # scikit-learn's; the optimizer must then build and train.
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = X[:, 0]
    est = MLPRegressorX(hidden_layer_sizes=(2,), max_iter=1, random_state=0, **params)
    est.fit(X, y)
    opt = est.model_.optimizer
    for name, value in params.items():
        if name == "learning_rate_init":
            assert float(opt.learning_rate) == pytest.approx(value)
        elif name != "solver":
            assert float(getattr(opt, name)) == pytest.approx(value)
