"""Behaviour of the two estimators as scikit-learn objects: targets, determinism,
persistence, continued training, pandas, weights, and parameter errors."""

import os
import pickle
import random
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
from keras.src.backend.common import global_state
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_sample_weight
from tensorflow.python.framework import config as tf_config

from skneural import MLPClassifierX, MLPRegressorX
from skneural.exceptions import DiagnosticWarning

SMALL = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)


# -- targets -------------------------------------------------------------------


def test_string_and_bool_labels_round_trip(clf_data):
    X, y = clf_data
    names = np.array(["cat", "dog", "emu"])[y]
    clf = MLPClassifierX(**SMALL).fit(X, names)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert set(clf.predict(X)) <= set(names)

    flags = y == 1
    clf = MLPClassifierX(**SMALL).fit(X, flags)
    assert clf.predict(X).dtype == bool
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and clf.n_outputs_ == 1
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_multiclass_proba_and_log_proba(clf_data):
    X, y = clf_data
    clf = MLPClassifierX(**SMALL).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    np.testing.assert_array_equal(clf.predict(X), proba.argmax(axis=1))
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3


def test_multilabel_indicator_targets():
    X, Y = make_multilabel_classification(n_samples=80, n_classes=4, random_state=0)
    clf = MLPClassifierX(**SMALL).fit(X, Y)
    assert clf.out_activation_ == "logistic"
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(Y.dtype))


def test_single_class_is_refused():
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="at least 2 classes.*got 1 class"):
        MLPClassifierX(**SMALL).fit(X, np.zeros(10))


def test_regressor_single_and_multi_output(reg_data):
    X, Y = reg_data
    reg = MLPRegressorX(**SMALL).fit(X, Y)
    assert reg.predict(X).shape == Y.shape and reg.n_outputs_ == 2
    reg = MLPRegressorX(**SMALL).fit(X, Y[:, :1])
    assert reg.predict(X).shape == (len(X),)


def test_poisson_refuses_negative_targets(reg_data):
    X, Y = reg_data
    with pytest.raises(ValueError, match="poisson.*non-negative"):
        MLPRegressorX(loss="poisson", **SMALL).fit(X, Y[:, 0])


def test_type_checks():
    assert is_classifier(MLPClassifierX()) and is_regressor(MLPRegressorX())
    assert "MLPClassifierX" in MLPClassifierX()._repr_html_()


# -- determinism and global state ----------------------------------------------


def test_same_random_state_gives_identical_predictions(clf_data):
    X, y = clf_data
    params = dict(SMALL, dropout=0.2, batch_size=32)
    first = MLPClassifierX(**params).fit(X, y).predict_proba(X)
    second = MLPClassifierX(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    other = MLPClassifierX(**dict(params, random_state=1)).fit(X, y).predict_proba(X)
    assert not np.array_equal(first, other)


@pytest.mark.slow
def test_same_random_state_gives_identical_predictions_in_a_new_process(clf_data):
    X, y = clf_data
    params = dict(SMALL, dropout=0.2, batch_size=32)
    here = MLPClassifierX(**params).fit(X, y).predict_proba(X)
    script = textwrap.dedent(
        f"""
        import sys, numpy as np
        from sklearn.datasets import make_classification
        from sklearn.preprocessing import StandardScaler
        from skneural import MLPClassifierX
        X, y = make_classification(n_samples=120, n_features=6, n_informative=4,
                                   n_classes=3, random_state=0)
        X = StandardScaler().fit_transform(X)
        proba = MLPClassifierX(**{params!r}).fit(X, y).predict_proba(X)
        sys.stdout.buffer.write(proba.tobytes())
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, env=env, check=True
    ).stdout
    np.testing.assert_array_equal(np.frombuffer(out, dtype=np.float64).reshape(here.shape), here)


def test_fit_and_predict_leave_global_random_state_alone(clf_data):
    X, y = clf_data
    np_state = np.random.get_state()
    py_state = random.getstate()
    environ = dict(os.environ)
    determinism = tf_config.is_op_determinism_enabled()
    keras_seed = global_state.get_global_attribute("global_random_seed")
    MLPClassifierX(
        random_state=None, **{k: v for k, v in SMALL.items() if k != "random_state"}
    ).fit(X, y).predict(X)
    MLPClassifierX(**dict(SMALL, dropout=0.3)).fit(X, y).predict(X)
    after = np.random.get_state()
    assert (
        after[0] == np_state[0]
        and np.array_equal(after[1], np_state[1])
        and after[2:] == np_state[2:]
    )
    assert random.getstate() == py_state
    assert dict(os.environ) == environ
    assert tf_config.is_op_determinism_enabled() == determinism
    assert global_state.get_global_attribute("global_random_seed") == keras_seed


def test_random_state_none_is_not_reproducible(clf_data):
    X, y = clf_data
    params = {k: v for k, v in SMALL.items() if k != "random_state"}
    a = MLPClassifierX(**params).fit(X, y).coefs_[0]
    b = MLPClassifierX(**params).fit(X, y).coefs_[0]
    assert not np.array_equal(a, b)


# -- persistence -----------------------------------------------------------------


@pytest.mark.parametrize(
    "dump", [pickle.dumps, lambda est: _joblib_bytes(est)], ids=["pickle", "joblib"]
)
def test_round_trip_keeps_predictions(clf_data, dump, tmp_path):
    X, y = clf_data
    clf = MLPClassifierX(**dict(SMALL, batch_normalization=True, dropout=0.1)).fit(X, y)
    restored = pickle.loads(dump(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(
        restored.model_.predict(X, verbose=0), clf.model_.predict(X, verbose=0)
    )
    unfitted = pickle.loads(dump(MLPClassifierX(alpha=0.5)))
    assert unfitted.get_params() == MLPClassifierX(alpha=0.5).get_params()


def _joblib_bytes(est):
    import io

    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    return pickle.dumps(joblib.load(io.BytesIO(buffer.getvalue())))


def test_unpickled_estimator_continues_training_with_its_optimizer_state(clf_data):
    X, y = clf_data
    params = dict(SMALL, shuffle=False, batch_size=len(X), warm_start=True, max_iter=5)
    straight = MLPClassifierX(**dict(params, max_iter=10)).fit(X, y)
    resumed = pickle.loads(pickle.dumps(MLPClassifierX(**params).fit(X, y))).fit(X, y)
    np.testing.assert_allclose(resumed.coefs_[0], straight.coefs_[0], rtol=1e-12)


def test_clone_gives_an_unfitted_copy(clf_data):
    X, y = clf_data
    clf = MLPClassifierX(**SMALL).fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "model_")


# -- continued training ------------------------------------------------------------


def test_warm_start_keeps_adam_state(clf_data):
    """Five epochs, then five more with warm_start, equal ten straight epochs: the
    optimizer's moments and step count carry over (scikit-learn's MLP resets them)."""
    X, y = clf_data
    params = dict(SMALL, shuffle=False, batch_size=len(X))
    straight = MLPClassifierX(**dict(params, max_iter=10)).fit(X, y)
    warm = MLPClassifierX(**dict(params, max_iter=5, warm_start=True)).fit(X, y).fit(X, y)
    np.testing.assert_allclose(warm.coefs_[0], straight.coefs_[0], rtol=1e-12)
    assert warm.loss_curve_ == pytest.approx(straight.loss_curve_, rel=1e-12)
    assert warm.n_iter_ == 5 and warm.t_ == straight.t_
    cold = MLPClassifierX(**dict(params, max_iter=5)).fit(X, y).fit(X, y)
    assert not np.allclose(cold.coefs_[0], straight.coefs_[0])


def test_partial_fit_runs_one_epoch_per_call(clf_data):
    X, y = clf_data
    params = dict(SMALL, shuffle=False, batch_size=len(X))
    straight = MLPClassifierX(**dict(params, max_iter=3)).fit(X, y)
    partial = MLPClassifierX(**params)
    for _ in range(3):
        partial.partial_fit(X, y, classes=np.unique(y))
        assert partial.n_iter_ == 1
    np.testing.assert_allclose(partial.coefs_[0], straight.coefs_[0], rtol=1e-12)
    assert partial.t_ == 3 * len(X)


def test_partial_fit_needs_classes_and_checks_them(clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifierX(**SMALL).partial_fit(X, y)
    clf = MLPClassifierX(**SMALL).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, y + 5)


def test_partial_fit_ignores_early_stopping(clf_data):
    X, y = clf_data
    clf = MLPClassifierX(**dict(SMALL, early_stopping=True)).partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 1 and clf.t_ == len(X) and clf.validation_scores_ is None


def test_regressor_partial_fit_continues(reg_data):
    X, Y = reg_data
    reg = MLPRegressorX(**SMALL)
    losses = [reg.partial_fit(X, Y).loss_ for _ in range(5)]
    assert losses[-1] < losses[0] and len(reg.loss_curve_) == 5


# -- assigned weights ----------------------------------------------------------------

SGD_STEP = dict(
    hidden_layer_sizes=(5,),
    solver="sgd",
    momentum=0.0,
    shuffle=False,
    max_iter=3,
    learning_rate_init=0.1,
    alpha=0.01,
    random_state=0,
)


def _sklearn_twin(ours, X, y):
    """scikit-learn's MLP fitted with the same parameters, then given ``ours``'s weights."""
    reference = MLPClassifier(**SGD_STEP, batch_size=len(X)).fit(X, y)
    reference.coefs_ = [w.copy() for w in ours.coefs_]
    reference.intercepts_ = [b.copy() for b in ours.intercepts_]
    return reference


def test_assigned_weights_are_used_as_by_scikit_learn(clf_data):
    """scikit-learn's MLP computes with its coefs_ / intercepts_ lists: in-place edits,
    replaced elements and new lists change predict, and partial_fit continues from
    them. scikit-learn's MLP given the same weights is the reference."""
    X, y = clf_data
    ours = MLPClassifierX(**SGD_STEP, batch_size=len(X)).fit(X, y)
    reference = _sklearn_twin(ours, X, y)
    before = ours.predict_proba(X)
    np.testing.assert_allclose(before, reference.predict_proba(X), rtol=1e-10)
    for est in (ours, reference):
        est.coefs_[0][:, 0] = 0.5
    edited = ours.predict_proba(X)
    assert not np.allclose(edited, before)
    np.testing.assert_allclose(edited, reference.predict_proba(X), rtol=1e-10)
    for est in (ours, reference):
        est.intercepts_[1] = np.array([1.0, -1.0, 0.0])
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), rtol=1e-10)
    rng = np.random.default_rng(0)
    coefs = [rng.normal(size=w.shape) for w in ours.coefs_]
    ours.coefs_ = [w.copy() for w in coefs]
    reference.coefs_ = [w.copy() for w in coefs]
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), rtol=1e-10)
    np.testing.assert_array_equal(ours.model_.get_layer("output").kernel.numpy(), coefs[1])
    # One full-batch SGD step from the assigned weights, in both libraries.
    ours.partial_fit(X, y)
    reference.partial_fit(X, y)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_weights_assigned_before_the_first_partial_fit_are_its_start(clf_data):
    """scikit-learn continues from coefs_ / intercepts_ whenever they exist (its
    test_fit sets them by hand on a new estimator); they do not make it fitted."""
    X, y = clf_data
    rng = np.random.default_rng(1)
    coefs = [rng.normal(size=(6, 5)), rng.normal(size=(5, 3))]
    intercepts = [np.zeros(5), np.zeros(3)]
    ours = MLPClassifierX(**SGD_STEP, batch_size=len(X))
    ours.coefs_, ours.intercepts_ = [w.copy() for w in coefs], [b.copy() for b in intercepts]
    with pytest.raises(NotFittedError):
        ours.predict(X)
    ours.partial_fit(X, y, classes=[0, 1, 2])
    reference = MLPClassifier(**SGD_STEP, batch_size=len(X)).fit(X, y)
    reference.coefs_, reference.intercepts_ = coefs, intercepts
    reference.partial_fit(X, y)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_assigned_weights_continue_a_warm_start_and_are_cast(clf_data):
    X, y = clf_data
    X32 = X.astype(np.float32)
    est = MLPClassifierX(**dict(SGD_STEP, warm_start=True, max_iter=1)).fit(X32, y)
    # float64 values for a float32 network; every hidden unit alike.
    est.coefs_ = [np.full((6, 5), 0.1), np.tile([0.3, -0.2, 0.1], (5, 1))]
    est.intercepts_ = [np.zeros(5), np.zeros(3)]
    assert est.predict_proba(X32).dtype == np.float32
    with pytest.warns(DiagnosticWarning, match="Symmetry not broken"):
        est.fit(X32, y)
    # It trained from the assigned constant weights: the hidden units stayed symmetric.
    hidden = est.coefs_[0]
    assert hidden.dtype == np.float32 and not np.allclose(hidden, 0.1, rtol=1e-3)
    np.testing.assert_allclose(hidden, np.repeat(hidden[:, :1], 5, axis=1), rtol=1e-6)


def test_assigned_weights_of_the_wrong_shape_are_refused(clf_data):
    X, y = clf_data
    est = MLPClassifierX(**SGD_STEP).fit(X, y)
    est.coefs_ = est.coefs_[:1]
    with pytest.raises(
        ValueError,
        match=r"coefs_ must be a list of 2 arrays of shapes "
        r"\[\(6, 5\), \(5, 3\)\].*got 1 arrays",
    ):
        est.predict(X)
    est.coefs_ = [np.ones((6, 5)), np.ones((3, 5))]
    with pytest.raises(ValueError, match=r"coefs_\[1\] has shape \(3, 5\)"):
        est.predict(X)
    est.coefs_ = [np.ones((6, 5)), np.ones((5, 3))]
    est.intercepts_ = None
    with pytest.raises(ValueError, match="intercepts_ must be a list of 2 arrays.*NoneType"):
        est.partial_fit(X, y)


@pytest.mark.parametrize("extra", [{}, {"batch_normalization": True}], ids=["free", "keras"])
def test_a_refused_warm_start_keeps_the_optimizer_state(clf_data, extra):
    # A changed optimizer setting with assigned weights of the wrong shape: refused,
    # the fit must not have started a new optimizer (Adam's moments lost).
    X, y = clf_data
    params = dict(SMALL, solver="adam", max_iter=3, **extra)
    reference = MLPClassifierX(**params).fit(X, y)
    reference.set_params(warm_start=True).fit(X, y)
    est = MLPClassifierX(**params).fit(X, y)
    good = est.coefs_
    est.set_params(warm_start=True, beta_1=0.5)
    est.coefs_ = [c[:2] for c in good]
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape"):
        est.fit(X, y)
    est.coefs_ = good
    est.set_params(beta_1=0.9).fit(X, y)
    assert est.loss_curve_ == reference.loss_curve_
    for a, b in zip(est.coefs_, reference.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("as_model", [False, True], ids=["arrays", "keras-model"])
@pytest.mark.parametrize(
    "fitted, change",
    [({"dropout": 0.1}, {"solver": "lbfgs"}), ({"early_stopping": True}, {"scoring": "fails"})],
    ids=["lbfgs-refuses-dropout", "scorer-fails"],
)
def test_a_warm_start_failing_before_an_epoch_changes_nothing(clf_data, fitted, change, as_model):
    # Refused inside training, after the continuation took its plan: its new optimizer
    # (L-BFGS's), its generator's draws (the held-out split) and record are undone.
    def fails(estimator, X, y):
        raise ValueError("this scorer fails")

    X, y = clf_data
    params = dict(SMALL, solver="adam", max_iter=3, **fitted)
    reference = MLPClassifierX(**params).fit(X, y)
    est = MLPClassifierX(**params).fit(X, y)
    if as_model:  # the network's state as a Keras model, with its optimizer
        est.model_  # noqa: B018
    with pytest.raises(ValueError, match="dropout|this scorer fails"):
        est.set_params(
            warm_start=True, **{k: fails if v == "fails" else v for k, v in change.items()}
        ).fit(X, y)
    est.set_params(**{k: MLPClassifierX().get_params()[k] for k in change})
    for continued in (reference, est):
        continued.set_params(warm_start=True).fit(X, y)
    assert est.loss_curve_ == reference.loss_curve_
    for a, b in zip(est.coefs_, reference.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_warm_start_refuses_a_different_network(clf_data):
    X, y = clf_data
    clf = MLPClassifierX(**dict(SMALL, warm_start=True)).fit(X, y)
    clf.set_params(hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match="hidden_layer_sizes changed"):
        clf.fit(X, y)


def test_convergence_warning_at_max_iter(clf_data):
    X, y = clf_data
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\)"):
        MLPClassifierX(**dict(SMALL, max_iter=2)).fit(X, y)


# -- pandas -----------------------------------------------------------------------------


def test_dataframe_feature_names_are_kept_and_checked(clf_data):
    X, y = clf_data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = MLPClassifierX(**SMALL).fit(frame, pd.Series(y, name="target"))
    assert list(clf.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(clf.predict(frame), clf.predict(X.copy()))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame[frame.columns[::-1]])


def test_works_in_pipeline_and_grid_search(clf_data):
    X, y = clf_data
    pipe = make_pipeline(
        StandardScaler(), MLPClassifierX(**dict(SMALL, learning_rate_init=0.01, max_iter=50))
    )
    search = GridSearchCV(pipe, {"mlpclassifierx__alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert search.cv_results_["mean_test_score"].min() > 0.6
    assert search.best_estimator_.score(X, y) > 0.7


# -- weights ------------------------------------------------------------------------------


def test_sample_weight_two_close_to_duplicated_rows():
    """With minibatches and shuffling the two fits see different batches, so they are
    close, not equal (the full-batch case is exact: scikit-learn's
    check_sample_weight_equivalence runs in test_common)."""
    X, y = make_classification(n_samples=300, n_features=5, random_state=1)
    weights = np.where(np.arange(300) % 3 == 0, 2.0, 1.0)
    params = dict(hidden_layer_sizes=(16,), max_iter=60, batch_size=50, random_state=0)
    weighted = MLPClassifierX(**params).fit(X, y, sample_weight=weights)
    repeated = MLPClassifierX(**params).fit(
        np.repeat(X, weights.astype(int), axis=0), np.repeat(y, weights.astype(int))
    )
    diff = np.abs(weighted.predict_proba(X) - repeated.predict_proba(X))
    assert diff.mean() < 0.05
    assert (weighted.predict(X) == repeated.predict(X)).mean() > 0.95


def test_sample_weight_is_not_modified(clf_data):
    X, y = clf_data
    weights = np.linspace(0.5, 2.0, len(y))
    before = weights.copy()
    MLPClassifierX(**dict(SMALL, class_weight="balanced")).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(weights, before)


# A label not in y is accepted (a fold without a rare class) while every class of y
# has a weight, as scikit-learn accepts it.
@pytest.mark.parametrize(
    "class_weight", [{0: 1.0, 1: 3.0, 2: 0.5}, {0: 1.0, 1: 3.0, 2: 0.5, 9: 4.0}, "balanced"]
)
def test_class_weight_equals_the_matching_sample_weight(clf_data, class_weight):
    X, y = clf_data
    y = y[:100]
    X = X[:100]
    params = dict(SMALL, batch_size=len(X), shuffle=False)
    by_class = MLPClassifierX(**params, class_weight=class_weight).fit(X, y)
    by_sample = MLPClassifierX(**params).fit(
        X, y, sample_weight=compute_sample_weight(class_weight, y)
    )
    np.testing.assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X), rtol=1e-10)
    plain = MLPClassifierX(**params).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), by_class.predict_proba(X))


def test_class_weight_shifts_predictions_towards_the_heavy_class(clf_data):
    X, y = clf_data
    plain = MLPClassifierX(**SMALL).fit(X, y)
    heavy = MLPClassifierX(**SMALL, class_weight={0: 1.0, 1: 1.0, 2: 20.0}).fit(X, y)
    assert (heavy.predict(X) == 2).sum() > (plain.predict(X) == 2).sum()


# -- parameter errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(solver="newton"), r"'solver' parameter .* must be a str among .*Got 'newton'"),
        (dict(activation="sigmoid"), r"'activation' parameter .*Got 'sigmoid'"),
        (dict(kernel_initializer="xavier"), r"'kernel_initializer' parameter"),
        (dict(dropout=1.0), r"'dropout' parameter"),
        (dict(alpha=-1.0), r"'alpha' parameter .* range \[0.0, inf\)"),
        (dict(batch_size=0), r"'batch_size' parameter"),
        (dict(class_weight="unbalanced"), r"'class_weight' parameter"),
    ],
)
def test_invalid_parameters_name_what_is_allowed(clf_data, params, match):
    X, y = clf_data
    with pytest.raises(InvalidParameterError, match=match):
        MLPClassifierX(**params).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes must contain positive integers"),
        (
            dict(hidden_layer_sizes=(8, 4), dropout=(0.1,)),
            "one rate per hidden layer \\(2\\), got 1",
        ),
        (dict(dropout=(1.5,)), "dropout rates must be in \\[0, 1\\)"),
    ],
)
def test_inconsistent_parameters_are_explained(clf_data, params, match):
    X, y = clf_data
    with pytest.raises(ValueError, match=match):
        MLPClassifierX(**dict(SMALL, **params)).fit(X, y)


def test_early_stopping_on_too_little_data_warns_and_uses_all_samples(clf_data):
    X, y = clf_data
    with pytest.warns(UserWarning, match="holds out 1, and at least 2 are needed"):
        clf = MLPClassifierX(**dict(SMALL, early_stopping=True, validation_fraction=0.005)).fit(
            X, y
        )
    assert clf.t_ == clf.n_iter_ * len(X) and clf.validation_scores_ is None
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_early_stopping_split_holds_out_the_fraction_stratified(clf_data):
    X, y = clf_data
    clf = MLPClassifierX(**dict(SMALL, early_stopping=True, validation_fraction=0.25)).fit(X, y)
    assert clf.t_ == clf.n_iter_ * (len(X) - 30)
    assert clf.best_validation_score_ == max(clf.validation_scores_) and clf.best_loss_ is None


@pytest.mark.slow
def test_other_keras_backend_is_refused_with_instructions():
    env = dict(os.environ, KERAS_BACKEND="numpy", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", "import skneural"], capture_output=True, text=True, env=env
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "KERAS_BACKEND=tensorflow" in result.stderr


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_decision_function_is_the_logit_of_predict_proba(clf_data, kind):
    X, y = clf_data
    y = y % 2 if kind == "binary" else y
    clf = MLPClassifierX(**SMALL).fit(X, y)
    scores = clf.decision_function(X)
    proba = clf.predict_proba(X)
    if kind == "binary":
        assert scores.shape == (len(X),)
        np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-12)
    else:
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        np.testing.assert_allclose(proba, shifted / shifted.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
