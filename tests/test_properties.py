"""Property-based tests: random shapes, dtypes, label sets and parameter combinations.

Every fit either raises the documented error its input calls for (worked out
independently in ``_expected_errors``), or succeeds; then ``predict``,
``predict_proba``, ``decision_function``, ``score``, ``partial_fit``, ``fgsm``,
``pgd`` and a save/load round trip give outputs of the right type, shape and dtype
with finite values. Hypothesis seeds itself from the test function
(``derandomize=True``), so every run tests the same examples.

The bugs the properties found (all fixed) are kept as regression tests at the end.
"""

import os
import re
import tempfile
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone

from skneural import MLPClassifierX, MLPRegressorX, load, save
from skneural.adversarial import fgsm, pgd

pytestmark = [
    pytest.mark.slow,
    # DiagnosticWarning and UserWarnings (batch_size clipped, too few samples for early
    # stopping, ...) are expected with 1-3 epochs on random data.
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
]

# Most examples fit a network of a new shape (a trace of ~0.3-1 s); this budget keeps
# the file to about a minute on two cores.
PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ACTIVATIONS = [
    "identity", "logistic", "tanh", "relu", "elu", "selu", "gelu", "swish", "leaky_relu",
    "softplus",
]  # fmt: skip
SOLVERS = [
    "adam", "sgd", "adamw", "adagrad", "rmsprop", "adadelta", "adamax", "nadam", "lamb",
    "lion", "lars",
]  # fmt: skip
SCHEDULES = ["constant", "invscaling", "adaptive", "exponential", "step", "cosine"]
INITIALIZERS = [
    "zeros", "random_normal", "random_uniform", "truncated_normal", "glorot_normal",
    "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
    "orthogonal",
]  # fmt: skip
# A few shapes, so that networks repeat and the compiled workspaces are reused.
HIDDEN_LAYER_SIZES = [(), (3,), 4, (4, 4), (2, 3)]
# Inconsistent parameters the constraints cannot see on their own; mostly none.
BROKEN = [None] * 16 + ["zero_width_layer", "dropout_per_layer", "clip_both", "eps_per_feature"]
X_DTYPES = ["float64", "float32", "int64", "bool"]


# -- strategies ----------------------------------------------------------------------


@st.composite
def columns(draw, n_samples: int, dtype: str) -> np.ndarray:
    """One feature: booleans, small integers, or floats of moderate size that are
    sometimes tiny or huge."""
    if dtype == "bool":
        return draw(hnp.arrays(dtype, n_samples, elements=st.booleans()))
    if dtype == "int64":
        return draw(hnp.arrays(dtype, n_samples, elements=st.integers(-50, 50)))
    width = 32 if dtype == "float32" else 64
    values = draw(hnp.arrays(dtype, n_samples, elements=st.floats(-10, 10, width=width)))
    # Nothing beyond 1e6: larger inputs hit test_fit_whose_outputs_overflow_warns.
    scale = draw(st.sampled_from([1.0, 1.0, 1.0, 1e-6, 1e3, 1e6]))
    return (values * scale).astype(dtype)


@st.composite
def feature_matrices(draw, n_samples: int) -> np.ndarray | pd.DataFrame:
    """X of 1-8 features: an array of one dtype (C or Fortran order), or a DataFrame
    whose columns may each have their own dtype."""
    n_features = draw(st.integers(1, 8))
    as_frame = draw(st.sampled_from([False, False, True]))
    if as_frame and draw(st.booleans()):
        dtypes = draw(st.lists(st.sampled_from(X_DTYPES), min_size=n_features, max_size=n_features))
    else:
        dtypes = [draw(st.sampled_from(X_DTYPES))] * n_features
    data = [draw(columns(n_samples, dtype)) for dtype in dtypes]
    if as_frame:
        return pd.DataFrame({f"f{j}": column for j, column in enumerate(data)})
    X = np.column_stack(data)
    return np.asfortranarray(X) if draw(st.booleans()) else X


def sample_weights(n_samples: int):
    return st.one_of(
        st.none(),
        hnp.arrays("float64", n_samples, elements=st.floats(0.1, 10)),
        hnp.arrays("float64", n_samples, elements=st.sampled_from([0.0, 1.0, 3.0])),
    )


@st.composite
def class_labels(draw, n_samples: int) -> np.ndarray:
    """1-D labels (ints, strings or bools; 1-5 distinct values, so sometimes a single
    class), or a multilabel indicator matrix of 1-4 labels."""
    kind = draw(st.sampled_from(["int", "str", "bool", "multilabel"]))
    if kind == "multilabel":
        n_labels = draw(st.integers(1, 4))
        Y = draw(hnp.arrays("int64", (n_samples, n_labels), elements=st.integers(0, 1)))
        if draw(st.booleans()):
            Y[0] = 1  # mostly not the all-zero matrix, which is refused
        return Y
    # A single class (refused) now and then, not as often as the shrinker would like.
    n_classes = draw(st.sampled_from([2, 3, 5, 2, 4, 1]))
    if kind == "bool":
        pool = [False, True] if n_classes > 1 else [draw(st.booleans())]
    else:
        labels = st.integers(-5, 100) if kind == "int" else st.text("abxyz", min_size=1, max_size=3)
        pool = draw(st.lists(labels, min_size=n_classes, max_size=n_classes, unique=True))
    if draw(st.sampled_from([True, True, False])):
        # Every label of the pool in turn: as many classes as the samples allow.
        order = draw(st.permutations(range(n_samples)))
        y = np.array(pool)[np.array(order, dtype=int) % len(pool)]
    else:
        y = np.array(draw(st.lists(st.sampled_from(pool), min_size=n_samples, max_size=n_samples)))
    return y.astype(object) if kind == "str" and draw(st.booleans()) else y


@st.composite
def regression_targets(draw, n_samples: int) -> np.ndarray:
    shape = draw(st.sampled_from([(n_samples,), (n_samples, 1), (n_samples, 3)]))
    y = draw(hnp.arrays("float64", shape, elements=st.floats(-100, 100)))
    return np.abs(y) if draw(st.booleans()) else y


@st.composite
def parameters(draw) -> dict:
    """A random valid combination of the estimators' parameters (1-3 epochs), made
    inconsistent in one of the documented ways once in a while."""
    params = draw(
        st.fixed_dictionaries(
            {
                "hidden_layer_sizes": st.sampled_from(HIDDEN_LAYER_SIZES),
                "activation": st.sampled_from(ACTIVATIONS),
                "solver": st.sampled_from(SOLVERS),
                "batch_size": st.one_of(st.just("auto"), st.integers(1, 80)),
                "learning_rate": st.sampled_from(SCHEDULES),
                "learning_rate_init": st.sampled_from([1e-4, 1e-3, 1e-2, 0.5]),
                "max_iter": st.integers(1, 3),
                "shuffle": st.booleans(),
                "random_state": st.integers(0, 1000),
                "tol": st.sampled_from([0.0, 1e-4, 10.0]),
                "momentum": st.sampled_from([0.0, 0.9]),
                "nesterovs_momentum": st.booleans(),
                "early_stopping": st.booleans(),
                "validation_fraction": st.sampled_from([0.1, 0.3, 0.6]),
                "n_iter_no_change": st.integers(1, 3),
                "alpha": st.sampled_from([0.0, 1e-4, 1.0]),
                "l1": st.sampled_from([0.0, 0.0, 1e-3]),
                "kernel_initializer": st.sampled_from(INITIALIZERS),
                "dropout": st.sampled_from([0.0, 0.0, 0.2, 0.9]),
                "batch_normalization": st.booleans(),
                "residual": st.booleans(),
                "weight_decay": st.sampled_from([None, 0.0, 0.01]),
                "clipnorm": st.sampled_from([None, None, 1.0]),
                "warmup_epochs": st.integers(0, 2),
                "lr_decay_epochs": st.integers(1, 3),
                "adversarial_eps": st.sampled_from([0.0, 0.0, 0.01, 0.1]),
                "adversarial_ratio": st.sampled_from([0.5, 1.0]),
            }
        )
    )
    sizes = params["hidden_layer_sizes"]
    n_hidden = 1 if isinstance(sizes, int) else len(sizes)
    broken = draw(st.sampled_from(BROKEN))
    if broken == "zero_width_layer":
        params["hidden_layer_sizes"] = (3, 0)
    elif broken == "dropout_per_layer":
        params["dropout"] = [0.1] * (n_hidden + 1)
    elif broken == "clip_both":
        params["clipnorm"], params["clipvalue"] = 1.0, 0.5
    elif broken == "eps_per_feature":
        params["adversarial_eps"] = [0.1] * 9  # X never has more than 8 features
    elif n_hidden and draw(st.booleans()):
        params["dropout"] = [0.3] * n_hidden  # one valid rate per layer
    return params


def attack_budgets(n_features: int):
    """An attack's eps (one for all features or one per feature) and norm."""
    eps = st.one_of(
        st.floats(0, 2),
        hnp.arrays("float64", n_features, elements=st.sampled_from([0.0, 0.1, 1.5])),
    )
    return st.tuples(eps, st.sampled_from([np.inf, 1, 2]))


# -- the oracle ----------------------------------------------------------------------


def _expected_errors(params: dict, y, sample_weight, is_classifier: bool) -> list[str]:
    """The documented errors (regexes) a fit with these inputs may raise; empty when
    it must succeed. When several problems are present, any one of them may be
    reported: the order of the checks is not part of the contract."""
    errors = []
    sizes = params["hidden_layer_sizes"]
    n_hidden = 1 if isinstance(sizes, int) else len(sizes)
    if not isinstance(sizes, int) and 0 in sizes:
        errors.append("hidden_layer_sizes must contain positive integers")
    if is_classifier:
        multilabel = y.ndim == 2 and y.shape[1] > 1
        if not multilabel and len(np.unique(y)) < 2:
            errors.append("at least 2 classes in y; got 1 class")
        if multilabel and not y.any():
            errors.append("Every row of the multilabel y is all zeros")
        if multilabel and params["class_weight"] is not None:
            errors.append("class_weight is not supported for multilabel targets")
    elif params["loss"] == "poisson" and np.any(y < 0):
        errors.append("loss='poisson' needs non-negative targets")
    if sample_weight is not None and not sample_weight.any():
        errors.append("Sample weights must contain at least one non-zero number")
    if not isinstance(params["dropout"], float) and len(params["dropout"]) != n_hidden:
        errors.append("dropout must be one rate or one rate per hidden layer")
    if params.get("clipvalue") is not None and params["clipnorm"] is not None:
        errors.append("clipnorm and clipvalue cannot both be set")
    if np.ndim(params["adversarial_eps"]) == 1:
        errors.append("adversarial_eps must be a number >= 0 or one such number per feature")
    return errors


def _trains(call) -> bool:
    """Run ``call`` (a fit); False when its first epoch diverged, which leaves no
    weights worth keeping and raises (skneural._training)."""
    try:
        call()
    except ValueError as exc:
        if not re.search("non-finite parameter weights|^Training diverged in epoch 1:", str(exc)):
            raise
        return False
    return True


def _fits_or_raises(est, X, y, sample_weight, errors: list[str]) -> bool | None:
    """Fit, or check that the fit raises one of ``errors`` (or diverges in its first
    epoch) and leaves ``est`` unfitted. Return None when refused, else whether the fit
    warned that training diverged."""
    event(f"refused: {' / '.join(errors)}" if errors else "fitted")
    if errors:
        with pytest.raises((ValueError, TypeError), match="|".join(errors)):
            est.fit(X, y, sample_weight=sample_weight)
        assert not hasattr(est, "model_")
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if not _trains(lambda: est.fit(X, y, sample_weight=sample_weight)):
            event("diverged in the first epoch")
            assert not hasattr(est, "model_")
            return None
    diverged = any("diverged" in str(w.message) for w in caught)
    note(f"diverged: {diverged}")
    return diverged


# -- what X is -----------------------------------------------------------------------


def _dtypes(X) -> list[np.dtype]:
    return list(X.dtypes) if isinstance(X, pd.DataFrame) else [X.dtype] * X.shape[1]


def _values(X) -> np.ndarray:
    return np.asarray(X, dtype=np.float64)


def _network_dtype(X) -> np.dtype:
    """scikit-learn's rule: X whose common dtype is float32 (float32 columns, maybe
    with boolean ones) trains a float32 network; anything else becomes float64."""
    common = np.result_type(*_dtypes(X))
    return np.dtype(np.float32 if common == np.float32 else np.float64)


def _rows(X, rows: slice):
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


# -- the properties ------------------------------------------------------------------


def _check_fitted(est, X, diverged: bool) -> None:
    """What holds after every successful fit: finite weights of the right shapes, and
    one loss per epoch run (an epoch that diverged is undone and not counted)."""
    assert est.n_features_in_ == X.shape[1]
    if isinstance(X, pd.DataFrame):
        assert list(est.feature_names_in_) == list(X.columns)
    assert len(est.coefs_) == len(est.intercepts_) == est.n_layers_ - 1
    assert est.coefs_[0].shape[0] == X.shape[1]
    assert est.coefs_[-1].shape[1] == est.n_outputs_
    assert all(np.isfinite(w).all() for w in est.coefs_ + est.intercepts_)
    assert len(est.loss_curve_) == est.n_iter_ <= est.max_iter
    assert np.isfinite(est.loss_curve_).all()
    assert est.n_iter_ >= 1 or diverged


def _check_rows_independent(X, outputs) -> None:
    """A float64 network gives each row the same output in any batch (a float32 one
    only to float32 rounding: see docs/estimators.md)."""
    if _network_dtype(X) == np.float64 and len(X) > 1:
        subset = outputs(_rows(X, slice(1, None, 2)))
        np.testing.assert_allclose(subset, outputs(X)[1::2], rtol=1e-12, atol=1e-300)


def _check_partial_fit(est, X, y, sample_weight) -> None:
    """partial_fit continues the fitted network for one epoch (none if it diverged);
    refused, it leaves the fit as it was."""
    n_losses = len(est.loss_curve_)
    if getattr(est, "class_weight", None) == "balanced":
        before = est.predict(X)
        with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
            est.partial_fit(X, y, sample_weight=sample_weight)
        assert len(est.loss_curve_) == n_losses
        np.testing.assert_array_equal(est.predict(X), before)
        return
    est.partial_fit(X, y, sample_weight=sample_weight)
    assert est.n_iter_ in (0, 1)
    assert len(est.loss_curve_) == n_losses + est.n_iter_
    assert all(np.isfinite(w).all() for w in est.coefs_ + est.intercepts_)


def _check_like(X_adv, X) -> None:
    """X_adv has the type, shape and dtypes of X (and a DataFrame's labels)."""
    assert type(X_adv) is type(X)
    assert X_adv.shape == X.shape
    if isinstance(X, pd.DataFrame):
        assert X_adv.columns.equals(X.columns) and X_adv.index.equals(X.index)
        assert list(X_adv.dtypes) == list(X.dtypes)
    else:
        assert X_adv.dtype == X.dtype


def _check_perturbation(X_adv, X, eps, norm, bounds=None) -> None:
    """X_adv is X moved by a finite perturbation of at most 1 in the norm of
    ``delta / eps`` (0 where eps is 0), in whole units on integer features, none on
    boolean ones, and within ``bounds`` if given."""
    _check_like(X_adv, X)
    delta = _values(X_adv) - _values(X)
    assert np.isfinite(delta).all()
    kinds = np.array([dtype.kind for dtype in _dtypes(X)])
    assert np.all(delta[:, kinds == "b"] == 0)
    assert np.all(delta[:, kinds == "i"] == np.trunc(delta[:, kinds == "i"]))
    # A float feature is rounded after the step, in its own dtype: by about a unit
    # in the last place of the larger of the two values.
    larger = np.maximum(np.abs(_values(X)), np.abs(_values(X_adv)))
    slack = np.zeros_like(delta)
    for j, dtype in enumerate(_dtypes(X)):
        if dtype.kind == "f":
            slack[:, j] = np.spacing(larger[:, j].astype(dtype))
    excess = np.maximum(np.abs(delta) - slack, 0.0)
    eps = np.broadcast_to(np.asarray(eps, dtype=np.float64), (X.shape[1],))
    assert np.all(excess[:, eps == 0] == 0)
    scaled = excess[:, eps > 0] / eps[eps > 0]
    assert np.all(np.linalg.norm(scaled, ord=norm, axis=1) <= 1 + 1e-9)
    if bounds is not None:
        # The same rounding can land a clipped value just outside the bounds
        # (test_clip_bounds_hold_exactly).
        values = _values(X_adv)
        assert np.all((bounds[0] - slack <= values) & (values <= bounds[1] + slack))


def _check_attacks(est, X, y, eps, norm) -> None:
    """fgsm with eps=0 moves nothing; fgsm, and pgd (projected steps from a random
    start, clipped to the range of the training data), stay within the budget and
    keep the type, shape and dtypes of X."""
    unmoved = fgsm(est, X, y, eps=0.0, norm=norm)
    _check_like(unmoved, X)
    np.testing.assert_array_equal(_values(unmoved), _values(X))
    _check_perturbation(fgsm(est, X, y, eps=eps, norm=norm), X, eps, norm)
    X_adv = pgd(est, X, y, eps=eps, norm=norm, n_iter=2, clip="data", random_state=0)
    _check_perturbation(X_adv, X, eps, norm, bounds=(_values(X).min(0), _values(X).max(0)))


def _check_round_trip(est, X) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.skneural")
        save(est, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = load(path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    if hasattr(est, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


@PROPERTY_SETTINGS
@given(data=st.data())
def test_classifier_fits_or_raises_the_documented_error(data):
    n_samples = data.draw(st.integers(1, 60), label="n_samples")
    X = data.draw(feature_matrices(n_samples), label="X")
    y = data.draw(class_labels(n_samples), label="y")
    sample_weight = data.draw(sample_weights(n_samples), label="sample_weight")
    params = data.draw(parameters(), label="params")
    label = y.flat[0]
    if isinstance(label, np.bool_):
        label = bool(label)  # test_save_accepts_numpy_booleans_in_parameters
    params["class_weight"] = data.draw(
        st.sampled_from([None, None, "balanced", {label: 2.0}]), label="class_weight"
    )
    est = MLPClassifierX(**params)
    diverged = _fits_or_raises(
        est, X, y, sample_weight, _expected_errors(params, y, sample_weight, is_classifier=True)
    )
    if diverged is None:
        return
    _check_fitted(est, X, diverged)

    multilabel = y.ndim == 2 and y.shape[1] > 1
    n_classes = y.shape[1] if multilabel else len(np.unique(y))
    assert len(est.classes_) == n_classes

    pred = est.predict(X)
    if multilabel:
        assert pred.shape == (n_samples, n_classes)
        assert set(np.unique(pred)) <= {0, 1}
    else:
        assert pred.shape == (n_samples,)
        assert pred.dtype == est.classes_.dtype
        assert set(pred) <= set(est.classes_)

    proba = est.predict_proba(X)
    assert proba.shape == (n_samples, n_classes)
    assert proba.dtype == _network_dtype(X)
    assert np.isfinite(proba).all()
    assert np.all((proba >= 0) & (proba <= 1))
    if not multilabel:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(pred, est.classes_[np.argmax(proba, axis=1)])

    scores = est.decision_function(X)
    assert scores.shape == ((n_samples,) if n_classes == 2 and not multilabel else proba.shape)
    assert not np.isnan(scores).any()

    score = est.score(X, y)
    assert isinstance(score, float) and 0.0 <= score <= 1.0

    _check_rows_independent(X, est.predict_proba)
    eps, norm = data.draw(attack_budgets(X.shape[1]), label="attack eps, norm")
    _check_attacks(est, X, None if multilabel else y, eps, norm)
    _check_round_trip(est, X)
    _check_partial_fit(est, X, y, sample_weight)
    assert est.predict_proba(X).shape == proba.shape


@PROPERTY_SETTINGS
@given(data=st.data())
def test_regressor_fits_or_raises_the_documented_error(data):
    n_samples = data.draw(st.integers(1, 60), label="n_samples")
    X = data.draw(feature_matrices(n_samples), label="X")
    y = data.draw(regression_targets(n_samples), label="y")
    sample_weight = data.draw(sample_weights(n_samples), label="sample_weight")
    params = data.draw(parameters(), label="params")
    params["loss"] = data.draw(
        st.sampled_from(["squared_error", "absolute_error", "huber", "poisson"]), label="loss"
    )
    est = MLPRegressorX(**params)
    diverged = _fits_or_raises(
        est, X, y, sample_weight, _expected_errors(params, y, sample_weight, is_classifier=False)
    )
    if diverged is None:
        return
    _check_fitted(est, X, diverged)

    n_outputs = 1 if y.ndim == 1 else y.shape[1]
    assert est.n_outputs_ == n_outputs
    pred = est.predict(X)
    assert pred.shape == ((n_samples,) if n_outputs == 1 else (n_samples, n_outputs))
    assert pred.dtype == _network_dtype(X)
    if not np.isfinite(pred).all():
        # Only after a warning that training diverged, or with the Poisson loss, whose
        # exponential output can overflow on rows the divergence check (which looks at
        # one batch after the last step) did not see. score would raise on them.
        assert diverged or params["loss"] == "poisson"
        return

    score = est.score(X, y)
    assert isinstance(score, float)
    assert np.isnan(score) or score <= 1.0  # nan: R² of a single sample

    _check_rows_independent(X, est.predict)
    eps, norm = data.draw(attack_budgets(X.shape[1]), label="attack eps, norm")
    _check_attacks(est, X, y, eps, norm)
    _check_round_trip(est, X)
    _check_partial_fit(est, X, y, sample_weight)
    assert est.predict(X).shape == pred.shape


@settings(PROPERTY_SETTINGS, max_examples=40)
@given(data=st.data())
def test_classifier_partial_fit_learns_the_declared_classes(data):
    """The first partial_fit builds the network for ``classes`` (which may hold labels
    y lacks), refuses y with labels outside them, and needs 2 of them."""
    n_samples = data.draw(st.integers(1, 30), label="n_samples")
    X = data.draw(feature_matrices(n_samples), label="X")
    y = data.draw(class_labels(n_samples).filter(lambda y: y.ndim == 1), label="y")
    seen = np.unique(y).tolist()
    # The labels of y, maybe one more that y lacks, maybe one fewer (then refused).
    unseen = {str: "unseen", int: 999}.get(type(seen[0]))
    if unseen is not None and data.draw(st.booleans()):
        seen.append(unseen)
    classes = seen
    if data.draw(st.sampled_from([False, False, False, True])):
        classes = classes[1:]
    classes = data.draw(st.permutations(classes), label="classes")
    params = data.draw(parameters(), label="params")
    params["early_stopping"] = False  # partial_fit never holds data out
    est = MLPClassifierX(**params)
    errors = _expected_errors({**params, "class_weight": None}, y, None, is_classifier=True)
    errors = [e for e in errors if "at least 2 classes" not in e]  # classes decide here
    if len(classes) == 1:
        errors.append("at least 2 classes in y; got 1 class")
    if not classes:  # scikit-learn's LabelBinarizer speaks of y, not of classes
        errors.append("y has 0 samples")
    if set(seen) - set(classes):
        errors.append("`y` has classes not in `self.classes_`")
    event(f"refused: {' / '.join(errors)}" if errors else "fitted")
    if errors:
        with pytest.raises((ValueError, TypeError), match="|".join(errors)):
            est.partial_fit(X, y, classes=classes)
        return

    if not _trains(lambda: est.partial_fit(X, y, classes=classes)):
        assert not hasattr(est, "classes_")
        return
    assert est.classes_.tolist() == sorted(classes)
    assert est.n_iter_ in (0, 1) and len(est.loss_curve_) == est.n_iter_
    proba = est.predict_proba(X)
    assert proba.shape == (n_samples, len(classes))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(est.predict(X)) <= set(classes)
    # A later call may bring any subset of the classes; ``classes`` is then ignored.
    est.partial_fit(_rows(X, slice(0, 1)), y[:1])
    assert est.classes_.tolist() == sorted(classes)


# -- bugs the properties found, fixed, kept as regression tests ----------------------


def test_fgsm_keeps_the_dtype_of_a_boolean_array():
    # docs/adversarial.md: "The result has the type of X: an array of its dtype";
    # a DataFrame's boolean columns do keep their dtype.
    X = np.array([[True, False], [False, True], [True, True], [False, False]])
    clf = MLPClassifierX((3,), max_iter=2, random_state=0).fit(X, [0, 1, 1, 0])
    assert fgsm(clf, X, [0, 1, 1, 0], eps=0.1).dtype == np.bool_


@pytest.mark.parametrize("Estimator", [MLPClassifierX, MLPRegressorX])
def test_early_stopping_with_zero_weights_held_out(Estimator):
    # Valid weights (non-negative, one non-zero), but the weighted sample lands in the
    # training part: there is no validation score to stop on, which used to raise
    # scikit-learn's "Sample weights must contain at least one non-zero number".
    X = np.arange(20.0).reshape(10, 2)
    est = Estimator(
        hidden_layer_sizes=(3,), early_stopping=True, validation_fraction=0.5,
        max_iter=2, random_state=1,
    )  # fmt: skip
    with pytest.warns(UserWarning, match="held out for validation has sample_weight 0"):
        est.fit(X, np.arange(10) % 2, sample_weight=np.r_[1.0, np.zeros(9)])
    assert est.validation_scores_ is None


# Finite weights whose output on the training data overflows are divergence: the
# fit must never end quietly with such weights. With one epoch there are no earlier
# weights to go back to, so the fit raises scikit-learn's non-finite-weights error.
OVERFLOWING_FITS = {
    # One SGD step leaves weights of about 51; exp(z) overflows. predict gives inf
    # and score raises scikit-learn's "Input contains infinity".
    "poisson regressor": (
        MLPRegressorX(
            loss="poisson", hidden_layer_sizes=(), solver="sgd", momentum=0.0,
            learning_rate_init=0.5, max_iter=1, random_state=0,
        ),
        np.array([[8.0, 8.0]]),
        np.array([13.0]),
    ),
    # Weights of about 3e26 times inputs of 1e30 overflow float32: predict_proba is
    # all NaN and predict answers classes_[0]. (The float64 network is fine.)
    "float32 classifier": (
        MLPClassifierX(
            hidden_layer_sizes=(), solver="sgd", momentum=0.0, max_iter=1, random_state=0
        ),
        np.full((6, 1), 1e30, dtype=np.float32),
        np.arange(6) % 3,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(OVERFLOWING_FITS))
def test_fit_whose_outputs_overflow_warns(case):
    est, X, y = OVERFLOWING_FITS[case]
    est = clone(est)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if not _trains(lambda: est.fit(X, y)):
            return
    with np.errstate(over="ignore", invalid="ignore"):
        outputs = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
    assert np.isfinite(outputs).all() or any("diverged" in str(w.message) for w in caught)


def test_clip_bounds_hold_exactly():
    # docs/adversarial.md: clip "is applied after the step"; yet the result is
    # 0.09999999999999998 for a lower bound of 0.1 (pgd with clip="data" likewise).
    X = np.array([[0.5], [0.7]])
    reg = MLPRegressorX(hidden_layer_sizes=(), max_iter=1, random_state=0).fit(X, [0.0, 1.0])
    X_adv = fgsm(reg, X, np.array([-100.0, -100.0]), eps=1.0, clip=(0.1, 0.6))
    assert X_adv.min() >= 0.1


@pytest.mark.parametrize("params", [{"class_weight": {np.True_: 2.0}}, {"shuffle": np.True_}])
def test_save_accepts_numpy_booleans_in_parameters(params):
    # fit accepts both (class_weight keyed by the labels of a boolean y, as
    # y[0] gives them); save raises "TypeError: cannot save a value of type bool".
    with tempfile.TemporaryDirectory() as tmp:
        save(MLPClassifierX(**params), os.path.join(tmp, "model.skneural"))
