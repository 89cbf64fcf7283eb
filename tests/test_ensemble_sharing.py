"""``ensemble_sharing``: members that share their hidden layers (TabM's 'tabm' and
'tabm-mini'), checked against the formula written out in numpy and, for a training
step, against TensorFlow's own gradient of that formula."""

import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV

from skneural import MLPClassifierX, MLPRegressorX, load, save
from skneural.adversarial import fgsm
from skneural.exceptions import ModelFileError

SHARED = ["adapters", "input"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _classification(n_classes=3):
    return make_classification(80, 5, n_classes=n_classes, n_informative=3, random_state=0)


def _layers(est):
    """Each Dense layer's (kernel, bias, input scales or None, output scales or None)."""
    out = []
    for layer in est.model_.layers:
        if layer.name.startswith(("hidden_", "output")) and hasattr(layer, "kernel"):
            scales = [getattr(layer, name, None) for name in ("input_scale", "output_scale")]
            out.append(
                [np.asarray(w) if w is not None else None for w in (layer.kernel, layer.bias)]
                + [np.asarray(s) if s is not None else None for s in scales]
            )
    return out


def _hidden(ops, h, layer, relu):
    """A shared hidden layer, ``relu(((h * r) @ W) * s + b)``: W shared, r, s and b
    per member where they exist. ``ops`` is numpy or TensorFlow (for the gradient)."""
    kernel, bias, r, s = layer
    if r is not None:
        h = h * r[:, None, :]
    h = ops.matmul(h, kernel)
    if s is not None:
        h = h * s[:, None, :]
    return relu(h + (bias[:, None, :] if len(bias.shape) == 2 else bias))


def _member_logits(ops, X, layers, relu):
    """Each member's logits [k, n, out]: the hidden layers, then each member's own
    output kernel."""
    h = X
    for layer in layers[:-1]:
        h = _hidden(ops, h, layer, relu)
    kernel, bias = layers[-1][:2]
    return ops.matmul(h, kernel) + bias[:, None, :]


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _numpy_logits(X, layers):
    return _member_logits(np, X, layers, lambda a: np.maximum(a, 0.0))


# -- structure --------------------------------------------------------------------------


@pytest.mark.parametrize("sharing", SHARED)
def test_hidden_kernels_are_shared_and_the_output_is_each_members(sharing):
    X, y = _classification()
    clf = MLPClassifierX(
        hidden_layer_sizes=(6, 4), max_iter=2, random_state=0, n_ensemble=3
    ).set_params(ensemble_sharing=sharing)
    clf.fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(5, 6), (6, 4), (3, 4, 3)]
    own = sharing == "adapters"
    assert [b.shape for b in clf.intercepts_] == [
        (3, 6) if own else (6,),
        (3, 4) if own else (4,),
        (3, 3),
    ]
    (k0, b0, r0, s0), (k1, b1, r1, s1), _ = _layers(clf)
    assert r0.shape == (3, 5) and (s0 is not None) == own
    assert (r1 is not None) == own and (s1 is not None) == own
    # Exactly these weights train: the shared kernels once, the members' own k times.
    n_own = 3 * (5 + 6 + 6 + 6 + 4 + 4) if own else 3 * 5
    n_shared = 5 * 6 + 6 * 4 + (0 if own else 6 + 4)
    n_output = 3 * (4 * 3 + 3)
    trainable = sum(int(np.prod(w.shape)) for w in clf.model_.trainable_weights)
    assert trainable == n_own + n_shared + n_output


@pytest.mark.parametrize("sharing", SHARED)
def test_members_start_from_random_signs_of_the_input(sharing):
    """TabM's start: the first input scales are +-1, different per member; the other
    scales start at one. With a learning rate of ~0 the start is what the fit keeps."""
    X, y = _classification()
    clf = MLPClassifierX(
        hidden_layer_sizes=(6, 6),
        max_iter=1,
        random_state=0,
        n_ensemble=4,
        ensemble_sharing=sharing,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1e-12,
    ).fit(X, y)
    (_, _, r0, _), (_, _, r1, s1), _ = _layers(clf)
    assert_allclose(np.abs(r0), 1.0, atol=1e-9)
    assert len({tuple(np.sign(row)) for row in r0}) == 4
    assert (r0 < 0).any() and (r0 > 0).any()
    if sharing == "adapters":
        assert_allclose(r1, 1.0, atol=1e-9)
        assert_allclose(s1, 1.0, atol=1e-9)
    members = _numpy_logits(X, _layers(clf))
    assert not np.allclose(members[0], members[1])


def test_a_single_network_ignores_the_sharing():
    X, y = _classification()
    fits = [
        MLPClassifierX(hidden_layer_sizes=(6,), max_iter=3, random_state=0, ensemble_sharing=s)
        .fit(X, y)
        .coefs_
        for s in ("none", "adapters", "input")
    ]
    for other in fits[1:]:
        for a, b in zip(fits[0], other, strict=True):
            assert np.array_equal(a, b)


# -- the averaged prediction and training ------------------------------------------------


@pytest.mark.parametrize("sharing", SHARED)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_prediction_is_the_mean_of_the_members_formula(sharing, dtype):
    X, y = _classification()
    X = X.astype(dtype)
    clf = MLPClassifierX(
        hidden_layer_sizes=(8, 8), max_iter=20, random_state=0, n_ensemble=3, residual=True
    ).set_params(ensemble_sharing=sharing)
    clf.fit(X, y)
    layers = [[None if w is None else w.astype(np.float64) for w in ws] for ws in _layers(clf)]
    relu = lambda a: np.maximum(a, 0.0)  # noqa: E731
    h0 = _hidden(np, X.astype(np.float64), layers[0], relu)
    h1 = h0 + _hidden(np, h0, layers[1], relu)  # hidden_1 adds its input back (residual)
    logits = np.matmul(h1, layers[2][0]) + layers[2][1][:, None, :]
    expected = _softmax(logits).mean(axis=0)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    assert_allclose(clf.predict_proba(X), expected, rtol=tol, atol=tol)
    assert_allclose(clf.model_(X).numpy(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("sharing", SHARED)
def test_a_training_step_follows_the_gradient_of_the_members_summed_loss(sharing):
    """One full-batch plain-SGD step from known weights moves every weight (shared
    kernels, members' scales and biases) by -lr times TensorFlow's gradient of the
    members' summed log losses, written out from the formula."""
    X, y = _classification()
    params = dict(
        hidden_layer_sizes=(6, 5),
        n_ensemble=3,
        ensemble_sharing=sharing,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=0.125,  # exact in float32, the optimizer's learning rate
        alpha=0.0,
        batch_size=len(X),
        shuffle=False,
        max_iter=1,
        random_state=0,
    )
    clf = MLPClassifierX(**params).fit(X, y)
    before = _layers(clf)
    clf.set_params(warm_start=True).fit(X, y)
    after = _layers(clf)
    variables = [[None if w is None else tf.Variable(w) for w in ws] for ws in before]
    with tf.GradientTape() as tape:
        logits = _member_logits(tf, X, variables, tf.nn.relu)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            np.broadcast_to(y, logits.shape[:2]), logits
        )
        loss = tf.reduce_mean(tf.reduce_sum(losses, axis=0))
    flat = [v for ws in variables for v in ws if v is not None]
    grads = tape.gradient(loss, flat)
    moved = [w for ws in after for w in ws if w is not None]
    for v, g, w in zip(flat, grads, moved, strict=True):
        assert_allclose(w, v.numpy() - 0.125 * g.numpy(), rtol=1e-10, atol=1e-13)


def test_regressor_averages_member_outputs():
    X, y = make_regression(60, 4, n_targets=2, random_state=0)
    reg = MLPRegressorX(
        hidden_layer_sizes=(8,), max_iter=20, random_state=0, n_ensemble=3
    ).set_params(ensemble_sharing="adapters")
    reg.fit(X, y / 100)
    assert_allclose(reg.predict(X), _numpy_logits(X, _layers(reg)).mean(axis=0), rtol=1e-10)


@pytest.mark.parametrize("sharing", SHARED)
def test_edited_coefs_change_the_prediction(sharing):
    """A shared kernel in ``coefs_`` is the network's: editing it is what predict
    computes with, as scikit-learn's MLP does with its coefs_."""
    X, y = _classification()
    clf = MLPClassifierX(
        hidden_layer_sizes=(6,), max_iter=5, random_state=0, n_ensemble=2, ensemble_sharing=sharing
    ).fit(X, y)
    before = clf.predict_proba(X)
    clf.coefs_[0] *= 2.0
    proba = clf.predict_proba(X)
    layers = _layers(clf)  # the Keras model follows the edit too
    assert np.array_equal(layers[0][0], clf.coefs_[0])
    expected = _softmax(_numpy_logits(X, layers)).mean(axis=0)
    assert_allclose(proba, expected, rtol=1e-10)
    assert not np.allclose(proba, before)


# -- model file, copies, attacks, scikit-learn -------------------------------------------


@pytest.mark.parametrize("sharing", SHARED)
def test_save_load_and_pickle_round_trip_bit_for_bit(tmp_path, sharing):
    X, y = _classification()
    X = X.astype(np.float32)
    clf = MLPClassifierX(
        hidden_layer_sizes=(6, 6), max_iter=3, random_state=0, n_ensemble=3, dropout=0.1
    ).set_params(ensemble_sharing=sharing)
    clf.fit(X, y)
    save(clf, tmp_path / "shared.skn")
    copies = [load(tmp_path / "shared.skn"), pickle.loads(pickle.dumps(clf))]
    for other in copies:
        assert other.ensemble_sharing == sharing
        assert np.array_equal(other.predict_proba(X), clf.predict_proba(X))
        other.set_params(warm_start=True, max_iter=2).fit(X, y)
    clf.set_params(warm_start=True, max_iter=2).fit(X, y)
    for other in copies:
        for a, b in zip(
            clf.coefs_ + clf.intercepts_, other.coefs_ + other.intercepts_, strict=True
        ):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("claimed", ["none", "input", "adapters"])
def test_model_file_refuses_a_manifest_with_other_sharing(tmp_path, claimed):
    X, y = _classification()
    actual = "input" if claimed == "adapters" else "adapters"
    clf = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=2, random_state=0, n_ensemble=2)
    save(clf.set_params(ensemble_sharing=actual).fit(X, y), tmp_path / "shared.skn")
    with zipfile.ZipFile(tmp_path / "shared.skn") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["skneural.json"])
    pairs = dict(manifest["params"]["dict"])
    manifest["params"]["dict"] = [[k, v] for k, v in {**pairs, "ensemble_sharing": claimed}.items()]
    files["skneural.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "forged.skn", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="network"):
        load(tmp_path / "forged.skn")


def test_fgsm_attacks_the_averaged_prediction():
    X, y = _classification(2)
    clf = MLPClassifierX(
        hidden_layer_sizes=(8,), max_iter=50, random_state=0, n_ensemble=3
    ).set_params(ensemble_sharing="adapters")
    clf.fit(X, y)
    X_adv = fgsm(clf, X, y, eps=0.5)
    eps = 1e-6
    p = clf.predict_proba(X)[np.arange(len(y)), y]
    bumped = X.copy()
    bumped[:, 0] += eps
    slope = (-np.log(clf.predict_proba(bumped)[np.arange(len(y)), y]) + np.log(p)) / eps
    clear = np.abs(slope) > 1e-4
    assert np.array_equal(np.sign(X_adv[:, 0] - X[:, 0])[clear], np.sign(slope[clear]))
    assert clf.score(X_adv, y) < clf.score(X, y)


def test_refusals_name_the_parameter_and_keep_the_fit():
    X, y = _classification()
    with pytest.raises(ValueError, match="ensemble_sharing"):
        MLPClassifierX(n_ensemble=2, ensemble_sharing="tabm").fit(X, y)
    clf = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=2, random_state=0, n_ensemble=2)
    proba = clf.fit(X, y).predict_proba(X)
    clf.set_params(warm_start=True, ensemble_sharing="adapters")
    with pytest.raises(ValueError, match="warm"):
        clf.fit(X, y)
    assert np.array_equal(clf.predict_proba(X), proba)


def test_clone_and_grid_search():
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(6,), max_iter=5, random_state=0, n_ensemble=2)
    assert clone(clf.set_params(ensemble_sharing="input")).ensemble_sharing == "input"
    search = GridSearchCV(clf, {"ensemble_sharing": ["none", "adapters", "input"]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    shared = search.best_params_["ensemble_sharing"] != "none"
    assert search.best_estimator_.coefs_[0].ndim == (2 if shared else 3)


@pytest.mark.parametrize("sharing", SHARED)
def test_model_file_of_many_members_and_features_round_trips(tmp_path, sharing):
    """The file's size bounds count each member's scales and biases beside the shared
    kernels: with 64 members over 1,000 features they outweigh the kernels."""
    X = np.random.default_rng(0).normal(size=(40, 1000))
    reg = MLPRegressorX(hidden_layer_sizes=(8,), n_ensemble=64, max_iter=1, random_state=0)
    reg.set_params(ensemble_sharing=sharing).fit(X, X[:, 0])
    save(reg, tmp_path / "wide.skn")
    assert np.array_equal(load(tmp_path / "wide.skn").predict(X), reg.predict(X))


def test_memory_estimate_counts_shared_kernels_once():
    from skneural._config import NetworkSpec
    from skneural._memory import training_bytes

    def spec(sharing):
        return NetworkSpec(
            100, (50, 20), "relu", "glorot_uniform", (0.0, 0.0), False, 0.9, False, 3,
            "softmax", "float32", n_ensemble=8, ensemble_sharing=sharing,
        )  # fmt: skip

    hidden, output = 101 * 50 + 51 * 20, 21 * 3
    activations = 2 * 8 * 10 * (50 + 20 + 3)
    assert training_bytes(spec("none"), 10, 3) == 4 * (3 * 8 * (hidden + output) + activations)
    for sharing in SHARED:
        expected = 4 * (3 * (hidden + 8 * output) + activations)
        assert training_bytes(spec(sharing), 10, 3) == expected


def test_an_estimator_pickled_before_the_parameter_existed_gets_its_default():
    """A pickle written before ``ensemble_sharing`` existed lacks the attribute: it
    loads with the default, predicts as before and trains on."""
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=2, random_state=0, n_ensemble=2)
    clf.fit(X, y)
    state = pickle.loads(pickle.dumps(clf)).__getstate__()  # nothing shared with clf
    del state["ensemble_sharing"]
    old = MLPClassifierX.__new__(MLPClassifierX)
    old.__setstate__(state)
    assert old.get_params()["ensemble_sharing"] == "none"
    assert np.array_equal(old.predict_proba(X), clf.predict_proba(X))
    old.set_params(warm_start=True).fit(X, y)
    clf.set_params(warm_start=True).fit(X, y)
    assert np.array_equal(old.predict_proba(X), clf.predict_proba(X))
