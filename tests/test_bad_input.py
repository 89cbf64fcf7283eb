"""The bad-input matrix: every way a user can hand over wrong data or parameters ends
in a ValueError or TypeError (or scikit-learn's subclasses of them) whose message
names the problem; none reaches TensorFlow."""

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skneural import MLPClassifierX, MLPRegressorX
from skneural.adversarial import fgsm, pgd

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 4))
Y_CLASS = np.array(["a", "b", "c", "d"] * 10)
Y_REG = X[:, 0] - X[:, 1]
FRAME = pd.DataFrame(X, columns=["p", "q", "r", "s"])


def _clf(**params):
    return MLPClassifierX(
        **{"hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0, **params}
    )


def _reg(**params):
    return MLPRegressorX(**{"hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0, **params})


FITTED_CLF = _clf().fit(X, Y_CLASS)
FITTED_FRAME = _clf().fit(FRAME, Y_CLASS)
FITTED_REG = _reg().fit(X, Y_REG)


class _Uncopyable(keras.initializers.Initializer):
    """A custom initializer whose config does not rebuild it (no get_config)."""

    def __init__(self, scale):
        self.scale = scale

    def __call__(self, shape, dtype=None):
        return keras.ops.full(shape, self.scale, dtype=dtype)


def _with(array, row, col, value):
    array = array.astype(complex if isinstance(value, complex) else float).copy()
    array[row, col] = value
    return array


def _partial_fit_twice():
    est = _clf()
    est.partial_fit(X, Y_CLASS, classes=["a", "b", "c", "d"])
    est.partial_fit(X, Y_CLASS, classes=["a", "b"])


CASES = {
    # -- X ---------------------------------------------------------------------------
    "fit: an all-missing column": (
        lambda: _clf().fit(FRAME.assign(p=np.nan), Y_CLASS),
        "Column 'p' has no values in fit",
    ),
    "fit: inf in X": (lambda: _clf().fit(_with(X, 1, 2, np.inf), Y_CLASS), "X contains infinity"),
    "predict: NaN in X, none in fit": (
        lambda: FITTED_CLF.predict(_with(X, 0, 2, np.nan)),
        "X has missing values \\(NaN\\) in column 2 \\(by position\\), and the model was fitted on "
        "X without any, so it learned no way to fill them",
    ),
    "predict_proba: inf in X": (
        lambda: FITTED_CLF.predict_proba(_with(X, 0, 0, -np.inf)),
        "contains infinity",
    ),
    "predict: wrong number of features": (
        lambda: FITTED_CLF.predict(X[:, :3]),
        "X has 3 features, but MLPClassifierX is expecting 4 features",
    ),
    "partial_fit: wrong number of features": (
        lambda: FITTED_REG.partial_fit(X[:, :2], Y_REG),
        "X has 2 features, but MLPRegressorX is expecting 4",
    ),
    "predict: renamed columns": (
        lambda: FITTED_FRAME.predict(FRAME.rename(columns={"p": "P"})),
        "feature names should match those that were passed during fit",
    ),
    "predict: reordered columns": (
        lambda: FITTED_FRAME.predict(FRAME[["q", "p", "r", "s"]]),
        "Feature names must be in the same order",
    ),
    "fit: 1-D X": (lambda: _clf().fit(X[:, 0], Y_CLASS), "Expected 2D array, got 1D array"),
    "predict: 1-D X": (lambda: FITTED_REG.predict(X[0]), "Expected 2D array, got 1D array"),
    "fit: 3-D X": (lambda: _reg().fit(X.reshape(40, 2, 2), Y_REG), "Found array with dim 3"),
    "fit: zero samples": (lambda: _reg().fit(X[:0], Y_REG[:0]), "0 sample\\(s\\)"),
    "predict: zero samples": (lambda: FITTED_CLF.predict(X[:0]), "0 sample\\(s\\)"),
    "fit: object column of lists": (
        lambda: _clf().fit(FRAME.assign(p=[["x"]] * 40), Y_CLASS),
        "Column 'p' is categorical, so its values must be text, numbers or bools",
    ),
    "fit: strings in an array": (
        lambda: _clf().fit(np.array([["x", 1.0]] * 40, dtype=object), Y_CLASS),
        "could not convert string to float",
    ),
    "fit: complex numbers": (
        lambda: _reg().fit(_with(X, 0, 0, 1 + 2j), Y_REG),
        "Complex data not supported",
    ),
    # -- y ---------------------------------------------------------------------------
    "fit: NaN in y": (lambda: _reg().fit(X, _with(Y_REG[:, None], 3, 0, np.nan)), "y contains NaN"),
    "fit: inf in y": (lambda: _reg().fit(X, _with(Y_REG[:, None], 3, 0, np.inf)), "infinity"),
    "fit: one sample": (
        lambda: _clf().fit(X[:1], Y_CLASS[:1]),
        "at least 2 classes in y; got 1 class",
    ),
    "fit: one class": (
        lambda: _clf().fit(X, ["a"] * 40),
        "at least 2 classes in y; got 1 class: 'a'",
    ),
    "fit: len(X) != len(y)": (
        lambda: _clf().fit(X, Y_CLASS[:30]),
        "inconsistent numbers of samples: \\[40, 30\\]",
    ),
    "fit: continuous y for a classifier": (
        lambda: _clf().fit(X, Y_REG),
        "Unknown label type: continuous",
    ),
    "fit: string y for a regressor": (lambda: _reg().fit(X, Y_CLASS), "could not convert"),
    "fit: negative y with the Poisson loss": (
        lambda: _reg(loss="poisson").fit(X, Y_REG),
        "loss='poisson' needs non-negative targets",
    ),
    "fit: all-zero multilabel rows": (
        lambda: _clf().fit(X, np.zeros((40, 3), dtype=int)),
        "Every row of the multilabel y is all zeros",
    ),
    # -- sample_weight ---------------------------------------------------------------
    "fit: negative sample_weight": (
        lambda: _clf().fit(X, Y_CLASS, sample_weight=-np.ones(40)),
        "Negative values in data passed to `sample_weight`",
    ),
    "fit: NaN sample_weight": (
        lambda: _reg().fit(X, Y_REG, sample_weight=np.full(40, np.nan)),
        "sample_weight contains NaN",
    ),
    "fit: wrongly shaped sample_weight": (
        lambda: _reg().fit(X, Y_REG, sample_weight=np.ones(5)),
        "sample_weight.shape == \\(5,\\), expected \\(40,\\)",
    ),
    # -- partial_fit's classes -------------------------------------------------------
    "partial_fit: no classes on the first call": (
        lambda: _clf().partial_fit(X, Y_CLASS),
        "classes must be passed on the first call to partial_fit",
    ),
    "partial_fit: classes changed between calls": (
        _partial_fit_twice,
        "is not the same as on last call to partial_fit",
    ),
    "partial_fit: y outside classes": (
        lambda: _clf().partial_fit(X, Y_CLASS, classes=["a", "b", "c"]),
        "`y` has classes not in `self.classes_`",
    ),
    # -- inconsistent parameters -----------------------------------------------------
    "fit: a zero-width layer": (
        lambda: _clf(hidden_layer_sizes=(4, 0)).fit(X, Y_CLASS),
        "hidden_layer_sizes must contain positive integers",
    ),
    "fit: dropout rates for the wrong number of layers": (
        lambda: _clf(dropout=[0.1, 0.2]).fit(X, Y_CLASS),
        "one rate per hidden layer \\(1\\), got 2 rates",
    ),
    "fit: clipnorm with clipvalue": (
        lambda: _clf(clipnorm=1.0, clipvalue=1.0).fit(X, Y_CLASS),
        "clipnorm and clipvalue cannot both be set",
    ),
    "fit: adversarial_eps of the wrong length": (
        lambda: _clf(adversarial_eps=[0.1, 0.1]).fit(X, Y_CLASS),
        "adversarial_eps must be a number >= 0 or one such number per feature \\(4\\)",
    ),
    "fit: class_weight with multilabel y": (
        lambda: _clf(class_weight="balanced").fit(X, np.eye(4, dtype=int)[np.arange(40) % 4]),
        "class_weight is not supported for multilabel targets",
    ),
    "fit: class_weight for a label that is not a class, classes without one": (
        lambda: _clf(class_weight={"a": 1.0, 77: 2.0}).fit(X, Y_CLASS),
        "class_weight has labels that are not classes of y: \\[77\\], and classes of y "
        "without a weight: \\['b', 'c', 'd'\\]",
    ),
    "fit: negative class_weight": (
        lambda: _clf(class_weight={"a": -1.0, "b": 1.0}).fit(X, Y_CLASS),
        "class_weight must map each class to a finite number >= 0; got -1.0 for class 'a'",
    ),
    "fit: NaN class_weight": (
        lambda: _clf(class_weight={"a": np.nan}).fit(X, Y_CLASS),
        "finite number >= 0; got nan for class 'a'",
    ),
    "fit: infinite class_weight": (
        lambda: _clf(class_weight={"b": np.float32(np.inf)}).fit(X, Y_CLASS),
        "finite number >= 0; got .*inf.* for class 'b'",
    ),
    "fit: text class_weight": (
        lambda: _clf(class_weight={"b": "heavy"}).fit(X, Y_CLASS),
        "finite number >= 0; got 'heavy' for class 'b'",
    ),
    "fit: class_weight zero for every class": (
        lambda: _clf(class_weight=dict.fromkeys("abcd", 0.0)).fit(X, Y_CLASS),
        "class_weight and sample_weight together give every sample weight 0",
    ),
    "fit: class_weight zero where sample_weight is not": (
        lambda: _clf(class_weight={"a": 0.0}).fit(
            X, Y_CLASS, sample_weight=(Y_CLASS == "a").astype(float)
        ),
        "together give every sample weight 0",
    ),
    "fit: an initializer that cannot be copied": (
        lambda: _clf(kernel_initializer=_Uncopyable(0.1)).fit(X, Y_CLASS),
        "kernel_initializer=.*cannot be copied through its config .*get_config",
    ),
    "fit: a network too large for memory": (
        lambda: _clf(hidden_layer_sizes=(10**9,)).fit(X, Y_CLASS),
        "cannot be trained in this machine's memory: it needs at least .* GiB.* "
        "hidden_layer_sizes=\\(1000000000,\\)",
    ),
    # -- attacks ---------------------------------------------------------------------
    "fgsm: NaN in X": (lambda: fgsm(FITTED_CLF, _with(X, 0, 0, np.nan), eps=0.1), "NaN"),
    "fgsm: wrong number of features": (
        lambda: fgsm(FITTED_REG, X[:, :3], Y_REG, eps=0.1),
        "X has 3 features, but MLPRegressorX is expecting 4",
    ),
    "pgd: text random_state": (
        lambda: pgd(FITTED_REG, X, Y_REG, eps=0.1, random_state="x"),
        "random_state must be None, an integer >= 0, a numpy RandomState or Generator; got str 'x'",
    ),
    "pgd: negative random_state": (
        lambda: pgd(FITTED_REG, X, Y_REG, eps=0.1, random_state=-1),
        "random_state must be None, an integer >= 0.*got int -1",
    ),
    "fgsm: unseen labels": (lambda: fgsm(FITTED_CLF, X, ["q"] * 40, eps=0.1), "outside classes_"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_with_a_clear_message(case):
    call, message = CASES[case]
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# Every constructor parameter given a wrong type and an out-of-range value.
BAD_PARAMS = {
    "categorical_features": ["dtype", 7],
    "min_frequency": ["rare", 0],
    "input_scaling": [1, "minmax"],
    "numeric_embedding": [True, "fourier"],
    "hidden_layer_sizes": ["wide", -3],
    "activation": [1, "sigmoid"],
    "solver": [None, "newton"],
    "alpha": ["a lot", -1.0],
    "batch_size": ["big", 0],
    "learning_rate": [0.1, "fast"],
    "learning_rate_init": ["0.1", 0.0],
    "power_t": ["half", -0.5],
    "max_iter": [2.5, 0],
    "shuffle": ["yes", None],
    "random_state": ["seed", -1],
    "tol": ["small", -1e-4],
    "verbose": ["loud", -1],
    "warm_start": ["yes", 2],
    "momentum": ["lots", 1.5],
    "nesterovs_momentum": ["yes", None],
    "early_stopping": ["yes", None],
    "validation_fraction": ["tenth", 1.0],
    "beta_1": ["b", 1.0],
    "beta_2": ["b", -0.1],
    "epsilon": ["e", 0.0],
    "n_iter_no_change": ["ten", 0],
    "max_fun": ["many", 0],
    "kernel_initializer": [3, "xavier"],
    "dropout": ["some", 1.0],
    "l1": ["l", -0.1],
    "batch_normalization": ["yes", None],
    "weight_decay": ["w", -0.1],
    "rho": ["r", 1.5],
    "residual": ["yes", None],
    "clipnorm": ["c", 0.0],
    "clipvalue": ["c", -1.0],
    "lars_eta": ["e", 0.0],
    "lr_decay_rate": ["r", 0.0],
    "lr_decay_epochs": [1.5, 0],
    "warmup_epochs": ["w", -1],
    "adversarial_eps": ["e", -0.1],
    "adversarial_ratio": ["r", 0.0],
    "batch_norm_momentum": ["m", 1.0],
    "class_weight": ["heavy", 3],
    "label_smoothing": ["some", 1.0],
    "scoring": [3, "acuracy"],
    "n_ensemble": ["many", 0],
    "ensemble_sharing": ["tabm", None],
}


def test_every_parameter_has_bad_values_listed():
    names = set(MLPClassifierX().get_params()) | set(MLPRegressorX().get_params())
    assert names - {"loss", "huber_delta", "target_scaling"} == set(BAD_PARAMS)


@pytest.mark.parametrize(
    "name, value",
    [(name, value) for name, values in BAD_PARAMS.items() for value in values],
)
def test_bad_parameter_values_name_the_parameter(name, value):
    with pytest.raises((InvalidParameterError, ValueError, TypeError), match=name):
        _clf(**{name: value}).fit(X, Y_CLASS)


@pytest.mark.parametrize(
    "name, value",
    [
        ("loss", "hinge"),
        ("loss", 2),
        ("huber_delta", 0.0),
        ("target_scaling", "minmax"),
        ("target_scaling", True),
    ],
)
def test_bad_regressor_parameters(name, value):
    with pytest.raises(InvalidParameterError, match=name):
        _reg(**{name: value}).fit(X, Y_REG)


def test_unfitted_estimators_say_so():
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(_clf(), method)(X)
    with pytest.raises(NotFittedError):
        _reg().score(X, Y_REG)


def test_sparse_input_is_supported_and_equals_dense():
    # Decision: sparse X is accepted and densified (documented in docs/estimators.md).
    sparse = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
    dense = sparse.toarray()
    from_sparse = _reg().fit(sparse, Y_REG)
    from_dense = _reg().fit(dense, Y_REG)
    assert_allclose(from_sparse.predict(sparse), from_dense.predict(dense))
    assert_allclose(FITTED_REG.predict(sp.csc_matrix(X)), FITTED_REG.predict(X))


@pytest.mark.parametrize(
    "params",
    [
        {"class_weight": {"a": -1.0}},
        {"class_weight": dict.fromkeys("abcd", 0)},
        {"kernel_initializer": _Uncopyable(0.1)},
        {"hidden_layer_sizes": (10**9,)},
    ],
    ids=["class_weight", "all-zero class_weight", "initializer", "too large"],
)
def test_a_refused_refit_predicts_as_before(params):
    est = _clf().fit(X, Y_CLASS)
    proba, coefs = est.predict_proba(X), [c.copy() for c in est.coefs_]
    with pytest.raises((ValueError, TypeError)):
        est.set_params(**params).fit(X, Y_CLASS)
    assert_allclose(est.predict_proba(X), proba, rtol=0, atol=0)
    for a, b in zip(est.coefs_, coefs, strict=True):
        assert_allclose(a, b, rtol=0, atol=0)


def test_numpy_numbers_are_accepted_wherever_python_ones_are():
    params = dict(
        hidden_layer_sizes=(np.int64(3), np.int32(2)), max_iter=np.int64(2),
        batch_size=np.int16(8), random_state=np.int64(1), n_iter_no_change=np.int64(3),
        alpha=np.float32(1e-3), class_weight={"a": np.int64(2), "b": np.float32(0.5)},
    )  # fmt: skip
    python = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}
    python["hidden_layer_sizes"] = (3, 2)
    python["class_weight"] = {"a": 2, "b": 0.5}
    a = MLPClassifierX(**params).fit(X, Y_CLASS)
    b = MLPClassifierX(**python).fit(X, Y_CLASS)
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=0, atol=0)
