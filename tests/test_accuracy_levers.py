"""label_smoothing and scoring: the loss and the early-stopping score, against Keras's
losses and scikit-learn's scorers."""

import json
import re
import zipfile

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.metrics import get_scorer
from sklearn.preprocessing import StandardScaler

from skneural import MLPClassifierX, MLPRegressorX, load, save
from skneural._registry import LOSSES
from skneural.exceptions import ModelFileError

RNG = np.random.default_rng(0)


# -- label_smoothing -------------------------------------------------------------------


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.35])
def test_smoothed_log_loss_is_keras_categorical_crossentropy(smoothing):
    logits = RNG.normal(scale=3.0, size=(12, 4))
    y = np.eye(4)[RNG.integers(4, size=12)]
    ours = LOSSES["log_loss"].per_sample(y, logits, label_smoothing=smoothing)
    keras_loss = keras.losses.categorical_crossentropy(
        y, logits, from_logits=True, label_smoothing=smoothing
    )
    assert_allclose(np.asarray(ours), np.asarray(keras_loss), rtol=1e-10)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.35])
def test_smoothed_binary_log_loss_is_keras_binary_crossentropy_summed(smoothing):
    logits = RNG.normal(scale=3.0, size=(12, 3))
    y = RNG.integers(2, size=(12, 3)).astype(float)
    ours = LOSSES["binary_log_loss"].per_sample(y, logits, label_smoothing=smoothing)
    # Keras averages over the labels; scikit-learn's (and ours) sums them.
    keras_loss = keras.losses.binary_crossentropy(
        y, logits, from_logits=True, label_smoothing=smoothing
    )
    assert_allclose(np.asarray(ours), 3 * np.asarray(keras_loss), rtol=1e-6)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.35])
def test_smoothed_losses_follow_the_formula_in_numpy(smoothing):
    """The targets move toward uniform, y (1 - e) + e / K (K = 2 for each binary
    label), and the loss is their cross-entropy with the predicted distribution."""
    logits = RNG.normal(scale=3.0, size=(12, 4))
    y = np.eye(4)[RNG.integers(4, size=12)]
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    expected = -((y * (1 - smoothing) + smoothing / 4) * log_p).sum(axis=1)
    ours = LOSSES["log_loss"].per_sample(y, logits, label_smoothing=smoothing)
    assert_allclose(np.asarray(ours), expected, rtol=1e-10)

    y = RNG.integers(2, size=(12, 4)).astype(float)
    target = y * (1 - smoothing) + smoothing / 2
    p = 1 / (1 + np.exp(-logits))
    expected = -(target * np.log(p) + (1 - target) * np.log1p(-p)).sum(axis=1)
    ours = LOSSES["binary_log_loss"].per_sample(y, logits, label_smoothing=smoothing)
    assert_allclose(np.asarray(ours), expected, rtol=1e-6)


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_label_smoothing_keeps_the_probabilities_off_0_and_1():
    X, y = _iris()
    params = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=400, tol=0.0,
                  n_iter_no_change=np.inf, random_state=0)  # fmt: skip
    plain = MLPClassifierX(**params).fit(X, y)
    smoothed = MLPClassifierX(label_smoothing=0.2, **params).fit(X, y)
    # The smoothed loss of a sample is smallest when its class has probability
    # 1 - 0.2 + 0.2 / 3 = 0.867; the plain loss only at 1.
    assert plain.predict_proba(X).max(axis=1).mean() > 0.97
    assert 0.8 < smoothed.predict_proba(X).max(axis=1).mean() < 0.9
    assert smoothed.score(X, y) > 0.9
    # 0 is scikit-learn's loss: the same fit to the last bit.
    unsmoothed = MLPClassifierX(label_smoothing=0.0, **params).fit(X, y)
    assert_array_equal(unsmoothed.loss_curve_, plain.loss_curve_)


def test_label_smoothing_is_kept_in_the_model_file(tmp_path):
    X, y = _iris()
    est = MLPClassifierX((8,), label_smoothing=0.1, max_iter=5, random_state=0).fit(X, y)
    save(est, tmp_path / "m.skneural")
    loaded = load(tmp_path / "m.skneural")
    assert loaded.label_smoothing == 0.1
    assert loaded._network.targets.loss_options == (("label_smoothing", 0.1),)
    # It trains on as the original does.
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_array_equal(loaded.loss_curve_, est.loss_curve_)


def test_a_file_whose_loss_options_disagree_with_its_parameters_is_refused(tmp_path):
    X, y = _iris()
    est = MLPClassifierX((8,), label_smoothing=0.1, max_iter=5, random_state=0).fit(X, y)
    save(est, tmp_path / "m.skneural")
    # The same file, but its parameters say there is no smoothing.
    with zipfile.ZipFile(tmp_path / "m.skneural") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["skneural.json"])
    params = dict(manifest["params"]["dict"])
    manifest["params"]["dict"] = [[k, v] for k, v in {**params, "label_smoothing": 0.0}.items()]
    members["skneural.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "crafted.skneural", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="loss options"):
        load(tmp_path / "crafted.skneural")


# -- scoring ---------------------------------------------------------------------------

FIXED_EPOCHS = dict(
    max_iter=12, learning_rate_init=0.02, tol=0.0, n_iter_no_change=np.inf, early_stopping=True
)


def _classification(n_classes=3):
    return make_classification(300, 8, n_informative=5, n_classes=n_classes, random_state=0)


def _scores(est, X, y, **fit_params):
    return np.asarray(est.fit(X, y, **fit_params).validation_scores_)


@pytest.mark.parametrize("weighted", [False, True])
def test_default_scoring_is_accuracy_or_r2(weighted):
    X, y = _classification()
    w = RNG.uniform(0.5, 2.0, size=len(y)) if weighted else None
    clf = dict(hidden_layer_sizes=(16,), random_state=0, **FIXED_EPOCHS)
    default = _scores(MLPClassifierX(**clf), X, y, sample_weight=w)
    assert_array_equal(
        _scores(MLPClassifierX(scoring="accuracy", **clf), X, y, sample_weight=w), default
    )
    Xr, yr = make_regression(300, 6, noise=1.0, random_state=0)
    default = _scores(MLPRegressorX(**clf), Xr, yr, sample_weight=w)
    assert_allclose(
        _scores(MLPRegressorX(scoring="r2", **clf), Xr, yr, sample_weight=w), default, rtol=1e-12
    )


def test_scoring_loss_is_scikit_learns_log_loss_of_the_probabilities():
    # Our held-out loss comes from the logits in TensorFlow; neg_log_loss is
    # scikit-learn's log_loss of predict_proba: two computations of one number.
    X, y = _classification()
    clf = dict(hidden_layer_sizes=(16,), random_state=0, **FIXED_EPOCHS)
    by_loss = _scores(MLPClassifierX(scoring="loss", **clf), X, y)
    assert_allclose(
        by_loss, _scores(MLPClassifierX(scoring="neg_log_loss", **clf), X, y), rtol=1e-9
    )
    est = MLPClassifierX(scoring="loss", **clf).fit(X, y)
    assert_allclose(est.validation_scores_, -est.history_["val_loss"].to_numpy(), rtol=1e-12)


def test_scoring_loss_is_half_the_mean_squared_error():
    X, y = make_regression(300, 6, noise=1.0, random_state=0)
    reg = dict(hidden_layer_sizes=(16,), random_state=0, **FIXED_EPOCHS)
    by_loss = _scores(MLPRegressorX(scoring="loss", **reg), X, y)
    by_mse = _scores(MLPRegressorX(scoring="neg_mean_squared_error", **reg), X, y)
    assert_allclose(2 * by_loss, by_mse, rtol=1e-9)


def test_scoring_by_roc_auc_sees_the_positive_class_probability():
    X, y = _classification(n_classes=2)
    seen = []

    def spy(estimator, rows, y_true):
        seen.append(get_scorer("roc_auc")(estimator, rows, y_true))
        assert estimator.predict_proba(rows).shape == (len(rows), 2)
        return seen[-1]

    clf = dict(hidden_layer_sizes=(16,), random_state=0, **FIXED_EPOCHS)
    by_name = _scores(MLPClassifierX(scoring="roc_auc", **clf), X, y)
    by_callable = _scores(MLPClassifierX(scoring=spy, **clf), X, y)
    assert_array_equal(by_name, by_callable)
    assert_array_equal(by_name, seen)
    assert 0.5 < by_name[-1] <= 1.0


@pytest.mark.parametrize("scoring", ["neg_log_loss", "loss", "balanced_accuracy"])
def test_the_weights_kept_are_those_of_the_best_epoch_by_scoring(scoring):
    X, y = _classification()
    params = dict(hidden_layer_sizes=(16,), scoring=scoring, random_state=0,
                  learning_rate_init=0.05, early_stopping=True, tol=0.0)  # fmt: skip
    est = MLPClassifierX(max_iter=40, n_iter_no_change=3, **params).fit(X, y)
    best = int(np.argmax(est.validation_scores_))  # the first epoch with the best score
    assert est.best_validation_score_ == est.validation_scores_[best]
    # The same fit stopped after that epoch ends on the same weights.
    until_best = MLPClassifierX(max_iter=best + 1, n_iter_no_change=np.inf, **params).fit(X, y)
    for kept, there in zip(est.coefs_, until_best.coefs_, strict=True):
        assert_array_equal(kept, there)


def test_an_unknown_scorer_name_is_refused_and_the_fit_kept():
    X, y = _classification()
    est = MLPClassifierX((8,), max_iter=3, random_state=0).fit(X, y)
    coefs = [c.copy() for c in est.coefs_]
    with pytest.raises(ValueError, match="scoring must be None, 'loss', a scikit-learn scorer"):
        est.set_params(scoring="acuracy", early_stopping=True).fit(X, y)
    for before, after in zip(coefs, est.coefs_, strict=True):
        assert_array_equal(before, after)


def test_a_scorer_that_fails_on_the_held_out_set_names_scoring():
    # roc_auc reads a 2-label indicator's probabilities as a binary problem's, as it
    # does for scikit-learn's own MLPClassifier.
    X, y = _classification()
    Y = np.column_stack([y == 0, y == 1]).astype(int)
    est = MLPClassifierX((8,), max_iter=2, scoring="roc_auc", early_stopping=True)
    with pytest.raises(ValueError, match="scoring='roc_auc' could not score the held-out set"):
        est.fit(X, Y)


# -- target_scaling --------------------------------------------------------------------


def _priced(n_targets=1):
    """Targets far from the initial weights' reach: a mean in the thousands."""
    X, y = make_regression(200, 6, n_informative=4, n_targets=n_targets, random_state=0)
    return X, 3000.0 + 400.0 * y


REGRESSION = dict(hidden_layer_sizes=(16,), max_iter=20, learning_rate_init=0.01, random_state=0)


@pytest.mark.parametrize("n_targets", [1, 3])
def test_target_scaling_is_transformed_target_regressor_with_a_standard_scaler(n_targets):
    X, y = _priced(n_targets)
    inside = MLPRegressorX(target_scaling="standard", **REGRESSION).fit(X, y)
    outside = TransformedTargetRegressor(
        MLPRegressorX(**REGRESSION), transformer=StandardScaler()
    ).fit(X, y)
    assert_allclose(inside.loss_curve_, outside.regressor_.loss_curve_, rtol=1e-6)
    assert_allclose(inside.predict(X), outside.predict(X), rtol=1e-6)
    unscaled = MLPRegressorX(**REGRESSION).fit(X, y)
    assert inside.score(X, y) > 0.5 > unscaled.score(X, y)


def test_target_scaling_scores_early_stopping_in_the_targets_units():
    X, y = _priced()
    params = dict(REGRESSION, scoring="neg_mean_squared_error", **FIXED_EPOCHS)
    inside = MLPRegressorX(target_scaling="standard", **params).fit(X, y)
    outside = TransformedTargetRegressor(MLPRegressorX(**params), transformer=StandardScaler()).fit(
        X, y
    )
    # The same network on the same held-out rows, scored before and after scaling back.
    assert_allclose(
        inside.validation_scores_,
        np.asarray(outside.regressor_.validation_scores_) * y.var(),
        rtol=1e-5,
    )


def test_a_constant_target_is_only_centred():
    X, _ = _priced()
    est = MLPRegressorX(target_scaling="standard", **REGRESSION).fit(X, np.full(len(X), 7.0))
    assert_array_equal(est._network.targets.scale, [1.0])
    assert np.isfinite(est.loss_curve_).all()
    assert_allclose(est.predict(X), 7.0, atol=1.0)


def test_target_scaling_is_kept_in_the_model_file(tmp_path):
    X, y = _priced(2)
    est = MLPRegressorX(target_scaling="standard", **REGRESSION).fit(X, y)
    save(est, tmp_path / "m.skneural")
    loaded = load(tmp_path / "m.skneural")
    assert_array_equal(loaded.predict(X), est.predict(X))
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_array_equal(loaded.loss_curve_, est.loss_curve_)


@pytest.mark.parametrize(
    "old, new, message",
    [
        (r'\["target_scaling", "standard"\]', '["target_scaling", null]', "target_scaling"),
        (r'\["scale", \[[^\]]*\]\]', '["scale", [0.0]]', "positive scales"),
        (r'\["scale", \[[^\]]*\]\]', '["scale", [1.0, 2.0]]', "1 offsets and scales"),
        (r'\["offset", \[[^\]]*\]\]', '["offset", ["x"]]', "malformed"),
    ],
)
def test_a_file_with_a_wrong_target_scaling_is_refused(tmp_path, old, new, message):
    X, y = _priced()
    est = MLPRegressorX(target_scaling="standard", **REGRESSION).fit(X, y)
    save(est, tmp_path / "m.skneural")
    with zipfile.ZipFile(tmp_path / "m.skneural") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    text = members["skneural.json"].decode()
    crafted, count = re.subn(old, new, text)
    assert count == 1
    members["skneural.json"] = crafted.encode()
    with zipfile.ZipFile(tmp_path / "crafted.skneural", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match=message):
        load(tmp_path / "crafted.skneural")


def test_a_warm_start_keeps_the_first_fits_scaling():
    X, y = _priced()
    est = MLPRegressorX(target_scaling="standard", warm_start=True, **REGRESSION).fit(X, y)
    offset, scale = est._network.targets.offset.copy(), est._network.targets.scale.copy()
    est.fit(X, 10 * y)
    assert_array_equal(est._network.targets.offset, offset)
    assert_array_equal(est._network.targets.scale, scale)
    before = est.predict(X)
    est.set_params(target_scaling=None)
    with pytest.raises(ValueError, match="target_scaling"):
        est.fit(X, y)
    assert_array_equal(est.predict(X), before)


def test_target_scaling_is_refused_with_the_poisson_loss():
    X, y = _priced()
    with pytest.raises(ValueError, match="target_scaling"):
        MLPRegressorX(loss="poisson", target_scaling="standard", **REGRESSION).fit(X, abs(y))
