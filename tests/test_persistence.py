"""The pickle-free model file: exact round trips, continued training, and clear
errors for files that are truncated, corrupt, foreign, of another version, or that
carry code."""

import io
import json
import os
import warnings
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils.validation import check_is_fitted

from skneural import MLPClassifierX, MLPRegressorX, load, save
from skneural.exceptions import ModelFileError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(90, 4))
FRAME = pd.DataFrame(X, columns=["age", "height", "weight", "score"])

CASES = {
    "multiclass-strings": (
        MLPClassifierX((8, 8), dropout=0.1, batch_normalization=True, residual=True),
        FRAME,
        np.array(["cat", "dog", "eel"])[RNG.integers(0, 3, 90)],
    ),
    "binary-lars": (MLPClassifierX((6,), solver="lars", early_stopping=True), X, X[:, 0] > 0),
    "multilabel": (
        MLPClassifierX((6,), kernel_initializer=keras.initializers.HeNormal()),
        X,
        np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int),
    ),
    "regressor-huber": (
        MLPRegressorX("huber", (6,), learning_rate="cosine", adversarial_eps=0.05),
        X,
        np.column_stack([X[:, 0] - X[:, 1], X[:, 2]]),
    ),
}


def _fitted(case):
    est, X_, y = CASES[case]
    est = est.__class__(**{**est.get_params(), "max_iter": 6, "random_state": 0})
    return est.fit(X_, y), X_, y


def _round_trip(est, tmp_path):
    path = tmp_path / "model.skneural"
    save(est, path)
    return load(path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip_predicts_exactly_and_keeps_the_fitted_state(case, tmp_path):
    est, X_, y = _fitted(case)
    loaded = _round_trip(est, tmp_path)
    assert type(loaded) is type(est)
    assert loaded.get_params().keys() == est.get_params().keys()
    for name, value in est.get_params().items():
        if isinstance(value, keras.initializers.Initializer):
            assert loaded.get_params()[name].get_config() == value.get_config()
        else:
            assert loaded.get_params()[name] == value, name
    methods = ["predict"] + (["predict_proba"] if hasattr(est, "predict_proba") else [])
    for method in methods:
        assert_array_equal(getattr(loaded, method)(X_), getattr(est, method)(X_))
    for name in ["n_features_in_", "n_iter_", "t_", "loss_", "n_layers_", "out_activation_"]:
        assert getattr(loaded, name) == getattr(est, name), name
    assert loaded.loss_curve_ == est.loss_curve_
    pd.testing.assert_frame_equal(loaded.history_, est.history_)
    pd.testing.assert_frame_equal(loaded.gradient_norms_, est.gradient_norms_)
    for a, b in zip(loaded.coefs_ + loaded.intercepts_, est.coefs_ + est.intercepts_, strict=True):
        assert_array_equal(a, b)
    if hasattr(est, "classes_"):
        assert_array_equal(loaded.classes_, est.classes_)
        assert loaded.classes_.dtype == est.classes_.dtype
    if hasattr(est, "feature_names_in_"):
        assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    assert type(loaded.model_.optimizer) is type(est.model_.optimizer)


def test_the_file_keeps_weights_assigned_after_fit(tmp_path):
    est, X_, y = _fitted("binary-lars")
    before = est.predict_proba(X_)
    est.coefs_[0][:] = 0.25
    est.intercepts_ = [np.full(b.shape, 0.5) for b in est.intercepts_]
    loaded = _round_trip(est, tmp_path)
    assert not np.allclose(loaded.predict_proba(X_), before)
    assert_array_equal(loaded.predict_proba(X_), est.predict_proba(X_))
    assert_array_equal(loaded.model_.get_layer("hidden_0").kernel.numpy(), 0.25)


@pytest.mark.parametrize("case", ["multiclass-strings", "binary-lars"])
def test_loaded_estimator_continues_training_exactly(case, tmp_path):
    # Dropout's seed state, the optimizer's moments, the shuffling generator and the
    # early-stopping record all travel, so warm-started training is bitwise the same.
    est, X_, y = _fitted(case)
    loaded = _round_trip(est, tmp_path)
    for model in (est, loaded):
        model.set_params(warm_start=True, max_iter=3).fit(X_, y)
    assert loaded.loss_curve_ == est.loss_curve_
    for a, b in zip(loaded.coefs_, est.coefs_, strict=True):
        assert_array_equal(a, b)
    est.partial_fit(X_, y)
    loaded.partial_fit(X_, y)
    assert_array_equal(loaded.coefs_[0], est.coefs_[0])


def test_unfitted_round_trip(tmp_path):
    est = MLPClassifierX(hidden_layer_sizes=(3, 2), alpha=0.5, class_weight={"a": 2.0, 1: 0.5})
    loaded = _round_trip(est, tmp_path)
    assert loaded.get_params() == est.get_params()
    assert loaded.get_params()["hidden_layer_sizes"] == (3, 2)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(loaded)


# -- refusals ------------------------------------------------------------------------


def _manifest_and_network(est, tmp_path):
    path = tmp_path / "good.skneural"
    save(est, path)
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("skneural.json")), archive.read("model.keras")


def _write(path, manifest, network=None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("skneural.json", json.dumps(manifest))
        if network is not None:
            archive.writestr("model.keras", network)
    return path


def test_truncated_corrupt_and_foreign_files_are_refused(tmp_path):
    est, _, _ = _fitted("binary-lars")
    good = tmp_path / "good.skneural"
    save(est, good)
    data = good.read_bytes()
    (tmp_path / "truncated").write_bytes(data[: len(data) // 2])
    (tmp_path / "noise").write_bytes(np.random.default_rng(0).bytes(5000))
    with zipfile.ZipFile(tmp_path / "foreign.zip", "w") as archive:
        archive.writestr("readme.txt", "hello")
    _write(tmp_path / "other.json", {"format": "something-else"})
    for name, message in [
        ("truncated", "not a readable skneural model file"),
        ("noise", "not a readable skneural model file"),
        ("foreign.zip", "no readable skneural.json"),
        ("other.json", "not a skneural model file"),
    ]:
        with pytest.raises(ModelFileError, match=message):
            load(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.skneural")


def test_other_format_version_is_refused_and_other_package_version_warns(tmp_path):
    est, X_, _ = _fitted("binary-lars")
    manifest, network = _manifest_and_network(est, tmp_path)
    newer = _write(tmp_path / "newer", {**manifest, "format_version": 99}, network)
    with pytest.raises(ModelFileError, match="format version 99.*reads format version 2"):
        load(newer)
    older = {**manifest, "versions": {**manifest["versions"], "skneural": "0.0.1"}}
    with pytest.warns(UserWarning, match="written by skneural 0.0.1"):
        loaded = load(_write(tmp_path / "older", older, network))
    assert_array_equal(loaded.predict(X_), est.predict(X_))


def test_code_in_the_network_is_refused(tmp_path):
    est, _, _ = _fitted("binary-lars")
    manifest, _ = _manifest_and_network(est, tmp_path)
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(keras.layers.Dense(1)(inputs))
    evil = keras.Model(inputs, outputs)
    evil_path = os.fspath(tmp_path / "evil.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evil.save(evil_path)
    bad = _write(tmp_path / "evil.skneural", manifest, open(evil_path, "rb").read())
    lambda_layer = r"object skneural does not build \(.*class_name='Lambda'"
    with pytest.raises(ModelFileError, match=lambda_layer):
        load(bad)
    malformed = {**manifest, "params": {"dict": [["alpha", {"array": 1, "x": 2}]]}}
    with pytest.raises(ModelFileError, match=r"malformed: unknown value tag \['array', 'x'\]"):
        load(_write(tmp_path / "bad-tag", malformed, b""))
    fake_class = {**manifest, "estimator": "os.system"}
    with pytest.raises(ModelFileError, match="unknown estimator 'os.system'"):
        load(_write(tmp_path / "fake", fake_class))
    bad_init = {
        **manifest,
        "params": {"dict": [["kernel_initializer", {"initializer": {"module": "evil"}}]]},
    }
    with pytest.raises(ModelFileError, match="initializer in the parameters is a module='evil'"):
        load(_write(tmp_path / "init", bad_init, io.BytesIO().getvalue()))


def test_what_cannot_be_saved(tmp_path):
    with pytest.raises(TypeError, match="RandomState instance"):
        save(MLPClassifierX(random_state=np.random.RandomState(0)), tmp_path / "x")
    with pytest.raises(TypeError, match="scoring is a callable"):
        save(MLPClassifierX(scoring=lambda est, X, y: 0.0), tmp_path / "x")
    with pytest.raises(TypeError, match="save takes an MLPClassifierX or MLPRegressorX"):
        save(object(), tmp_path / "x")
