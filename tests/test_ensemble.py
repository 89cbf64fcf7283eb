"""``n_ensemble``: k independent networks in one graph, checked against numpy
computations from ``coefs_`` and against the single network of ``n_ensemble=1``."""

import copy
import io
import json
import pickle
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV

from skneural import MLPClassifierX, MLPRegressorX, load, save
from skneural.adversarial import fgsm
from skneural.exceptions import ModelFileError

REFERENCE = Path(__file__).parent / "data" / "ensemble_k1_reference.npz"


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _classification(n_classes=3):
    return make_classification(80, 5, n_classes=n_classes, n_informative=3, random_state=0)


def _relu_members(X, coefs, intercepts):
    """Each member's logits [k, n, out], written out in numpy (ReLU hidden layers)."""
    k = coefs[0].shape[0]
    out = []
    for m in range(k):
        a = X
        for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
            a = a @ W[m] + b[m]
            if i < len(coefs) - 1:
                a = np.maximum(a, 0.0)
        out.append(a)
    return np.stack(out)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# -- n_ensemble=1 is today's estimator ------------------------------------------------


def test_single_member_is_bitwise_the_estimator_before_ensembles():
    """The reference file holds what the code before ``n_ensemble`` existed fitted with
    these settings (coefs_, intercepts_, loss_curve_, predictions), on this machine kind.
    Regenerate it only on purpose: fit the two models below on the old code."""
    ref = np.load(REFERENCE)
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(7, 5), max_iter=5, random_state=0, n_ensemble=1)
    clf.fit(X, y)
    Xr, yr = make_regression(80, 4, random_state=0)
    Xr, yr = Xr.astype(np.float32), (yr / 100).astype(np.float32)
    reg = MLPRegressorX(
        hidden_layer_sizes=(6,), dropout=0.1, max_iter=5, random_state=1, n_ensemble=1
    ).fit(Xr, yr)
    for name, est in (("clf", clf), ("reg", reg)):
        for i, (c, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
            assert np.array_equal(c, ref[f"{name}_coef_{i}"])
            assert np.array_equal(b, ref[f"{name}_intercept_{i}"])
        assert np.array_equal(est.loss_curve_, ref[f"{name}_loss_curve"])
    assert np.array_equal(clf.predict_proba(X), ref["clf_proba"])
    assert np.array_equal(reg.predict(Xr), ref["reg_pred"])
    assert "ensemble_mean" not in [layer.name for layer in clf.model_.layers]


# -- members ----------------------------------------------------------------------------


def test_members_start_and_end_different():
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(6,), max_iter=1, random_state=0, n_ensemble=3)
    clf.fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(3, 5, 6), (3, 6, 3)]
    assert [b.shape for b in clf.intercepts_] == [(3, 6), (3, 3)]
    for kernel in clf.coefs_:
        for a in range(3):
            for b in range(a + 1, 3):
                assert not np.allclose(kernel[a], kernel[b])
    # Each member's initial kernel is a draw of the initializer: Glorot's bound.
    limit = np.sqrt(6 / (5 + 6))
    assert np.abs(clf.coefs_[0]).max() < limit + 0.01


def test_members_are_seeded_by_random_state():
    X, y = _classification()
    fits = [
        MLPClassifierX(hidden_layer_sizes=(6,), max_iter=3, random_state=s, n_ensemble=2).fit(X, y)
        for s in (0, 0, 1)
    ]
    assert np.array_equal(fits[0].coefs_[0], fits[1].coefs_[0])
    assert not np.allclose(fits[0].coefs_[0], fits[2].coefs_[0])


# -- the averaged prediction ------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_averages_member_probabilities(n_classes):
    X, y = _classification(n_classes)
    clf = MLPClassifierX(hidden_layer_sizes=(8, 4), max_iter=20, random_state=0, n_ensemble=4).fit(
        X, y
    )
    logits = _relu_members(X, clf.coefs_, clf.intercepts_)
    if n_classes == 2:
        p1 = _sigmoid(logits[..., 0]).mean(axis=0)
        expected = np.column_stack([1 - p1, p1])
    else:
        expected = _softmax(logits).mean(axis=0)
    assert_allclose(clf.predict_proba(X), expected, rtol=1e-10, atol=1e-12)
    # The Keras model computes the same average as the numpy path.
    assert_allclose(clf.model_(X).numpy()[:, -1], expected[:, -1], rtol=1e-10, atol=1e-12)
    assert np.array_equal(clf.predict(X), clf.classes_[expected.argmax(axis=1)])


def test_regressor_averages_member_outputs():
    X, y = make_regression(60, 4, n_targets=2, random_state=0)
    reg = MLPRegressorX(hidden_layer_sizes=(8,), max_iter=20, random_state=0, n_ensemble=3).fit(
        X, y / 100
    )
    expected = _relu_members(X, reg.coefs_, reg.intercepts_).mean(axis=0)
    assert_allclose(reg.predict(X), expected, rtol=1e-10, atol=1e-12)


def test_poisson_averages_member_predictions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = rng.poisson(np.exp(X[:, 0]))
    reg = MLPRegressorX(
        hidden_layer_sizes=(5,), loss="poisson", max_iter=10, random_state=0, n_ensemble=3
    ).fit(X, y)
    expected = np.exp(_relu_members(X, reg.coefs_, reg.intercepts_)).mean(axis=0)[:, 0]
    assert_allclose(reg.predict(X), expected, rtol=1e-10)


def test_loss_curve_is_the_mean_member_loss():
    """One full-batch epoch from known weights: its recorded loss (taken before the
    step) is the mean of the members' log losses written out in numpy."""
    X, y = _classification()
    params = dict(hidden_layer_sizes=(6,), max_iter=1, random_state=0, n_ensemble=3)
    clf = MLPClassifierX(**params, alpha=0.0, batch_size=len(X), shuffle=False).fit(X, y)
    coefs = [c.copy() for c in clf.coefs_]
    intercepts = [b.copy() for b in clf.intercepts_]
    clf.set_params(warm_start=True)
    clf.fit(X, y)
    probabilities = _softmax(_relu_members(X, coefs, intercepts))
    member_losses = -np.log(probabilities[:, np.arange(len(y)), y]).mean(axis=1)
    assert_allclose(clf.loss_curve_[-1], member_losses.mean(), rtol=1e-10)


def test_early_stopping_scores_the_averaged_prediction():
    X, y = _classification()
    clf = MLPClassifierX(
        hidden_layer_sizes=(8,),
        max_iter=15,
        random_state=0,
        n_ensemble=2,
        early_stopping=True,
        n_iter_no_change=50,
        validation_fraction=0.25,
    ).fit(X, y)
    assert len(clf.validation_scores_) == 15
    # Accuracies of the averaged model on 20 held-out rows: multiples of 1/20.
    assert_allclose(np.array(clf.validation_scores_) * 20 % 1, 0, atol=1e-9)
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_diagnostics_cover_every_member():
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(6, 4), max_iter=3, random_state=0, n_ensemble=2).fit(
        X, y
    )
    assert list(clf.gradient_norms_.columns) == ["hidden_0", "hidden_1", "output"]
    assert list(clf.dead_units_.columns) == ["hidden_0", "hidden_1"]
    assert np.isfinite(clf.gradient_norms_.to_numpy()).all()
    assert ((clf.dead_units_ >= 0) & (clf.dead_units_ <= 1)).all().all()


# -- model file, attacks, scikit-learn ---------------------------------------------------


def test_save_load_round_trips_bit_for_bit(tmp_path):
    X, y = _classification()
    clf = MLPClassifierX(
        hidden_layer_sizes=(6,), max_iter=5, random_state=0, n_ensemble=3, dropout=0.1
    ).fit(X.astype(np.float32), y)
    path = tmp_path / "ensemble.skn"
    save(clf, path)
    loaded = load(path)
    assert loaded.n_ensemble == 3
    for a, b in zip(clf.coefs_ + clf.intercepts_, loaded.coefs_ + loaded.intercepts_, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert np.array_equal(clf.predict_proba(X), loaded.predict_proba(X))
    # Training goes on from the same state in both.
    clf.set_params(warm_start=True, max_iter=2)
    loaded.set_params(warm_start=True, max_iter=2)
    Xf = X.astype(np.float32)
    assert np.array_equal(clf.fit(Xf, y).coefs_[0], loaded.fit(Xf, y).coefs_[0])


@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_pickle_and_joblib_round_trip(how):
    """The numpy forward pass of an ensemble is part of the pickled estimator."""
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(6,), max_iter=3, random_state=0, n_ensemble=3)
    clf.fit(X, y)
    if how == "pickle":
        loaded = pickle.loads(pickle.dumps(clf))
    else:
        buffer = io.BytesIO()
        joblib.dump(clf, buffer)
        buffer.seek(0)
        loaded = joblib.load(buffer)
    assert loaded.n_ensemble == 3
    for a, b in zip(clf.coefs_ + clf.intercepts_, loaded.coefs_ + loaded.intercepts_, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(clf.predict_proba(X), loaded.predict_proba(X))
    expected = _softmax(_relu_members(X, clf.coefs_, clf.intercepts_)).mean(axis=0)
    assert_allclose(loaded.predict_proba(X), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_copies_continue_training_like_the_original(how):
    """An ensemble keeps a Keras model, whose pickle drops how far each dropout
    layer's seed generator advanced: a copy trained on must draw the original's
    dropout masks (as the model file's copy does)."""
    X, y = _classification()
    clf = MLPClassifierX(
        hidden_layer_sizes=(6,),
        batch_size=20,
        max_iter=1,
        random_state=0,
        n_ensemble=2,
        dropout=0.3,
    ).fit(X, y)
    copied = pickle.loads(pickle.dumps(clf)) if how == "pickle" else copy.deepcopy(clf)
    clf.set_params(warm_start=True, max_iter=3).fit(X, y)
    copied.set_params(warm_start=True, max_iter=3).fit(X, y)
    for a, b in zip(clf.coefs_ + clf.intercepts_, copied.coefs_ + copied.intercepts_, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("claimed", [1, 5, 10**9])
def test_model_file_refuses_a_manifest_with_other_members(tmp_path, claimed):
    """The manifest's n_ensemble must be the network's: a file that claims a huge
    ensemble is refused before any network of that size is built."""
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=2, random_state=0, n_ensemble=2)
    save(clf.fit(X, y), tmp_path / "ensemble.skn")
    with zipfile.ZipFile(tmp_path / "ensemble.skn") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["skneural.json"])
    pairs = dict(manifest["params"]["dict"])
    manifest["params"]["dict"] = [[k, v] for k, v in {**pairs, "n_ensemble": claimed}.items()]
    files["skneural.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "forged.skn", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match=f"members is 2.*say {claimed}"):
        load(tmp_path / "forged.skn")


def test_fgsm_attacks_the_averaged_prediction():
    X, y = _classification(2)
    clf = MLPClassifierX(hidden_layer_sizes=(8,), max_iter=50, random_state=0, n_ensemble=2).fit(
        X, y
    )
    X_adv = fgsm(clf, X, y, eps=0.5)
    # The step is eps * sign(d loss / dx) of the averaged model's loss.
    eps = 1e-6
    p = clf.predict_proba(X)[np.arange(len(y)), y]
    j = 0
    bumped = X.copy()
    bumped[:, j] += eps
    slope = (-np.log(clf.predict_proba(bumped)[np.arange(len(y)), y]) + np.log(p)) / eps
    moved = np.sign(X_adv[:, j] - X[:, j])
    clear = np.abs(slope) > 1e-4
    assert np.array_equal(moved[clear], np.sign(slope[clear]))
    assert (clf.predict(X_adv) != clf.predict(X)).any()
    assert clf.score(X_adv, y) < clf.score(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_ensemble": 2, "solver": "lbfgs"}, "n_ensemble=2.*lbfgs"),
        ({"n_ensemble": 3, "batch_normalization": True}, "n_ensemble=3.*batch_normalization"),
        ({"n_ensemble": 0}, "n_ensemble"),
        ({"n_ensemble": 1.5}, "n_ensemble"),
        ({"n_ensemble": "2"}, "n_ensemble"),
        ({"n_ensemble": True}, "n_ensemble"),
        ({"n_ensemble": -1}, "n_ensemble"),
        ({"n_ensemble": 2, "solver": "lars"}, "n_ensemble=2.*solver='lars'.*members"),
        ({"n_ensemble": 2, "solver": "lamb"}, "n_ensemble=2.*solver='lamb'.*members"),
        ({"n_ensemble": 2, "clipnorm": 1.0}, "n_ensemble=2.*clipnorm=1.0.*members"),
    ],
)
def test_refusals_name_n_ensemble(params, match):
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=2, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


def test_too_many_members_for_memory_names_n_ensemble_and_keeps_the_fit():
    """A tiny network that only n_ensemble makes too large: the refusal says so (not
    only "narrower hidden layers"), before anything is built, and the fit stays."""
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=2, random_state=0, n_ensemble=2)
    proba = clf.fit(X, y).predict_proba(X)
    clf.set_params(n_ensemble=10**12)
    with pytest.raises(ValueError, match=r"memory.*n_ensemble=1000000000000 networks.*n_ensemble"):
        clf.fit(X, y)
    assert clf.coefs_[0].shape == (2, 5, 4)
    assert np.array_equal(clf.predict_proba(X), proba)


@pytest.mark.parametrize(
    "params",
    [{"solver": "sgd"}, {"solver": "adam"}, {"clipvalue": 1e-3}, {"alpha": 0.1, "l1": 0.01}],
)
def test_members_train_independently(params):
    """Member 0 trains the same whatever member 1 holds (each learns as it would alone):
    two copies of one fit, one with member 1's weights scaled, trained on alike."""
    X, y = _classification()
    clf = MLPClassifierX(
        hidden_layer_sizes=(6,), batch_size=20, max_iter=1, random_state=0, n_ensemble=2, **params
    ).fit(X, y)
    other = pickle.loads(pickle.dumps(clf))
    other.coefs_ = [np.stack([c[0], 5.0 * c[1]]) for c in other.coefs_]
    clf.set_params(warm_start=True, max_iter=4).fit(X, y)
    other.set_params(warm_start=True, max_iter=4).fit(X, y)
    for a, b in zip(clf.coefs_ + clf.intercepts_, other.coefs_ + other.intercepts_, strict=True):
        assert np.array_equal(a[0], b[0])
    assert not np.allclose(clf.coefs_[0][1], other.coefs_[0][1])


@pytest.mark.parametrize("params", [{"solver": "lars"}, {"clipnorm": 1.0}])
def test_warm_start_into_a_coupling_option_is_refused_and_keeps_the_fit(params):
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=2, random_state=0, n_ensemble=2)
    proba = clf.fit(X, y).predict_proba(X)
    clf.set_params(warm_start=True, **params)
    with pytest.raises(ValueError, match="n_ensemble=2"):
        clf.fit(X, y)
    assert np.array_equal(clf.predict_proba(X), proba)


def test_clone_and_grid_search():
    X, y = _classification()
    clf = MLPClassifierX(hidden_layer_sizes=(6,), max_iter=5, random_state=0, n_ensemble=2)
    assert clone(clf).get_params()["n_ensemble"] == 2
    search = GridSearchCV(clf, {"n_ensemble": [1, 2]}, cv=2).fit(X, y)
    assert search.best_params_["n_ensemble"] in (1, 2)
    assert len(search.cv_results_["params"]) == 2
    k = search.best_params_["n_ensemble"]
    assert search.best_estimator_.coefs_[0].ndim == (3 if k > 1 else 2)
