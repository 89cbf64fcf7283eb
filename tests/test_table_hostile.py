"""Tables from a hostile user: categories that are the same value written another way,
dates, huge numbers, one row, pyarrow frames, odd ``categorical_features``, tampered
model files and files that load would refuse. Each checked against an independent
reference (scikit-learn's encoders, scalers and error messages, or numpy)."""

import os
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler

from skneural import MLPClassifierX, MLPRegressorX, load, save
from skneural._inputs import prediction_input
from skneural._table import MISSING, OTHER, TableSpec, codes
from skneural._table_columns import category_key
from skneural._table_layer import NumpyTableFeatures, TableFeatures
from skneural.exceptions import ModelFileError

N = 40


def _fit(X, y=None, **params):
    y = np.arange(len(X)) % 2 if y is None else y
    params = {"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence
        return MLPClassifierX(**params).fit(X, y)


def _codes(est, X):
    """The codes the network reads for ``X``'s first column (categorical)."""
    return prediction_input(est, X, est._network.table)[:, 0]


def _frame(values, n=N):
    values = list(values) * (n // len(values))
    return pd.DataFrame({"c": pd.Series(values, dtype=object), "x": np.arange(len(values)) * 1.0})


def _layer(est):
    return next(layer for layer in est.model_.layers if isinstance(layer, TableFeatures))


# --- 1 and 3: categories are matched by value --------------------------------------


@pytest.mark.parametrize(
    "fit_values, predict_values",
    [
        ([1, 2, 3], [1.0, 2.0, 3.0]),  # an int column read as floats (it gained NaN)
        ([1.0, 2.5, 3.0], [1, 2.5, np.float32(3)]),
        ([Decimal("1.0"), Decimal("2.50"), Decimal("3")], [Decimal("1"), Decimal("2.5"), 3]),
        ([b"a", b"\xff", b"b"], [b"a", b"\xff", b"b"]),  # bytes that are not UTF-8
        (
            [pd.Interval(0, 1), pd.Interval(1, 2), pd.Interval(2, 3, closed="left")],
            [pd.Interval(0.0, 1.0), pd.Interval(1.0, 2.0), pd.Interval(2, 3, closed="left")],
        ),
        ([True, False, "x"], [np.True_, np.False_, "x"]),
    ],
)
def test_categories_are_matched_by_value_in_fit_predict_and_a_saved_file(
    tmp_path, fit_values, predict_values
):
    est = _fit(_frame(fit_values), categorical_features=["c"])
    fit_codes = _codes(est, _frame(fit_values, 3))
    # OneHotEncoder (matching by ==) agrees each value is the category seen in fit.
    if not any(isinstance(v, (bytes, bool, np.bool_)) for v in fit_values):
        fitted = np.array(fit_values, dtype=object)[:, None]
        encoder = OneHotEncoder(handle_unknown="ignore").fit(fitted)
        known = encoder.transform(np.array(predict_values, dtype=object)[:, None])
        assert_array_equal(known.sum(axis=1).A1, 1)
    assert set(fit_codes) == {2.0, 3.0, 4.0}
    assert_array_equal(_codes(est, _frame(predict_values, 3)), fit_codes)
    save(est, tmp_path / "est.skneural")
    loaded = load(tmp_path / "est.skneural")
    assert_array_equal(_codes(loaded, _frame(predict_values, 3)), fit_codes)


def test_an_integer_categorical_column_that_gains_nan_keeps_its_codes():
    X = pd.DataFrame({"c": np.arange(N) % 3, "x": np.arange(N) * 1.0})
    est = _fit(X, categorical_features=["c"])
    later = pd.DataFrame({"c": [0, 1, 2, np.nan], "x": [0.0, 1.0, 2.0, 3.0]})  # float64
    assert later["c"].dtype == np.float64
    # The reference: the categories in OneHotEncoder's order, 2 + position, missing 1.
    categories = OneHotEncoder().fit(X[["c"]]).categories_[0].tolist()
    assert_array_equal(_codes(est, later), [2 + categories.index(v) for v in (0, 1, 2)] + [1])
    assert_array_equal(
        est.predict_proba(later.iloc[:3]), est.predict_proba(X.iloc[:3].astype({"c": float}))
    )


def test_a_file_written_with_float_texts_as_keys_still_matches():
    # Files written before numbers were keyed by value hold str(1.0) == '1.0'.
    keys = np.array([*(category_key(v) for v in (1.0, 1, 2.5, "(0.0, 1.0]")), None, "7"], object)
    assert_array_equal(codes(keys, ("(0.0, 1.0]", "1.0", "2.5")), [3, 3, 4, 2, MISSING, OTHER])
    # Two old categories that now read the same: the first one's code.
    assert_array_equal(codes(np.array(["1"], object), ("1", "1.0")), [2])


def test_text_is_not_read_as_a_number_unless_written_as_one():
    assert [category_key(v) for v in ("01", "1.50", "1e3", "nan", "1.0")] == [
        "01",
        "1.50",
        "1e3",
        "nan",
        "1",
    ]


# --- 2: dates, times and durations --------------------------------------------------


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(pd.date_range("2020", periods=N)),
        pd.Series(pd.date_range("2020", periods=N, tz="UTC")),
        pd.Series(pd.to_timedelta(np.arange(N), unit="s")),
        pd.Series(pd.period_range("2020", periods=N, freq="D")),
        pd.Series(list(pd.date_range("2020", periods=N)), dtype=object),
        pd.Series(pd.date_range("2020", periods=N)).astype("timestamp[ns][pyarrow]"),
    ],
)
@pytest.mark.parametrize("with_text", [True, False])
def test_dates_and_durations_are_refused_naming_the_column(column, with_text):
    X = pd.DataFrame({"when": column, "x": np.arange(N) * 1.0})
    if with_text:
        X["c"] = ["u", "v"] * (N // 2)
    with pytest.raises(ValueError, match="Column 'when' holds dates, times or durations"):
        _fit(X)
    numeric = X.assign(when=np.arange(N) * 1.0)
    est = _fit(numeric)
    with pytest.raises(ValueError, match="Column 'when' holds dates"):
        est.predict(X)


# --- 4 and 5: huge values, one row -----------------------------------------------------


@pytest.mark.parametrize("scaling", ["standard", "robust", "quantile"])
def test_huge_finite_values_scale_as_their_small_copies(scaling):
    rng = np.random.default_rng(0)
    small = rng.normal(size=N)
    small[0] = 7.0
    X = pd.DataFrame({"a": small * 1e300, "c": ["u", "v"] * (N // 2)})
    est = MLPRegressorX(hidden_layer_sizes=(3,), max_iter=2, random_state=0, input_scaling=scaling)
    est.fit(X, small)
    layer = _layer(est)
    features = NumpyTableFeatures(layer, np.float64)(prediction_input(est, X, layer.spec))
    assert np.isfinite(features).all() and np.isfinite(est.predict(X)).all()
    if scaling == "standard":  # the reference: StandardScaler on the column / 1e300
        assert_allclose(features[:, 0], StandardScaler().fit_transform(small[:, None])[:, 0])
    assert_allclose(layer.scale.numpy() / 1e300, layer.scale.numpy()[0] / 1e300)
    assert np.ptp(features[:, 0]) > 1  # the column still tells its rows apart


def test_quantile_scaling_fitted_on_one_row():
    X = pd.DataFrame({"a": [1.0], "c": ["u"]})
    est = MLPRegressorX(hidden_layer_sizes=(2,), max_iter=2, input_scaling="quantile")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, [0.5])
    later = pd.DataFrame({"a": [0.0, 1.0, 2.0], "c": ["u", "v", "u"]})
    layer = _layer(est)
    features = NumpyTableFeatures(layer, np.float64)(prediction_input(est, later, layer.spec))
    reference = QuantileTransformer(output_distribution="normal", n_quantiles=1).fit([[1.0]])
    assert_allclose(features[[0, 2], 0], reference.transform([[0.0], [2.0]])[:, 0])
    assert_allclose(
        est.model_(prediction_input(est, later, layer.spec)), est.predict(later)[:, None]
    )
    assert np.isfinite(est.predict(later)).all()


def test_quantile_scaling_beyond_tied_outer_quantiles_matches_scikit_learn():
    column = np.r_[np.zeros(15), np.arange(1.0, 11.0), np.full(15, 10.0)][:, None]
    X = pd.DataFrame({"a": column[:, 0], "c": ["u", "v"] * (N // 2)})
    est = _fit(X, input_scaling="quantile")
    later = pd.DataFrame({"a": [-1.0, 11.0, 5.5], "c": ["u"] * 3})
    layer = _layer(est)
    features = NumpyTableFeatures(layer, np.float64)(prediction_input(est, later, layer.spec))
    reference = QuantileTransformer(output_distribution="normal", n_quantiles=N).fit(column)
    assert_allclose(features[:, 0], reference.transform(later[["a"]].to_numpy())[:, 0])


# --- 7: pyarrow and pandas's string dtypes -------------------------------------------


def test_pyarrow_backed_frames_read_as_their_numpy_twins():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=N),
            "i": pd.array([1, None, 3, 4] * (N // 4), dtype="Int64"),
            "b": pd.array([True, None, False, True] * (N // 4), dtype="boolean"),
            "c": pd.Series(["u", "v", None, "w"] * (N // 4), dtype="str"),
        }
    )
    arrow = X.convert_dtypes(dtype_backend="pyarrow")
    assert all(isinstance(d, pd.ArrowDtype) for d in arrow.dtypes)
    est = _fit(X)
    assert_array_equal(est.predict_proba(arrow), est.predict_proba(X))
    assert _fit(arrow)._network.table == est._network.table


# --- 8: min_frequency ---------------------------------------------------------------


def test_a_column_with_every_category_rarer_than_min_frequency_warns_and_reads_other():
    X = pd.DataFrame({"c": ["u"] * 30 + ["v"] * 10, "x": np.arange(N) * 1.0})
    est = MLPClassifierX(hidden_layer_sizes=(3,), max_iter=2, random_state=0, min_frequency=100)
    with pytest.warns(UserWarning, match="no category seen at least min_frequency=100"):
        est.fit(X, np.arange(N) % 2)
    assert est._network.table.categories == ((),)
    assert_array_equal(_codes(est, X), OTHER)


# --- 9: categorical_features ----------------------------------------------------------


def test_categorical_features_mixes_names_and_positions():
    X = pd.DataFrame({"c": ["u", "v"] * (N // 2), "d": ["p", "q"] * (N // 2), "x": np.arange(N)})
    by_name = _fit(X, categorical_features=["c", "d"])._network.table
    assert _fit(X, categorical_features=["c", 1])._network.table == by_name
    assert _fit(X, categorical_features=[np.int64(0), "d", "c"])._network.table == by_name
    for bad in ([-1], ["c", 3], ["c", 1.0], ["nope"]):
        with pytest.raises(ValueError, match="categorical_features"):
            _fit(X, categorical_features=bad)


def test_text_in_a_column_not_listed_as_categorical_names_it():
    X = pd.DataFrame({"x": np.arange(N) * 1.0, "c": ["u", "v"] * (N // 2)})
    with pytest.raises(ValueError, match="could not convert.*column 'c'.*categorical_features"):
        _fit(X, categorical_features=None)


# --- 10: the model file's table -------------------------------------------------------


def _config(**change):
    config = {
        "numeric": [0, 1],
        "indicators": [0, 1],
        "scaling": "quantile",
        "n_quantiles": 10,
        "categorical": [2],
        "categories": [["a", "b"]],
        "embedding_dims": [0],
        "numeric_embedding": None,
    }
    return {**config, **change}


@pytest.mark.parametrize(
    "change, match",
    [
        ({"n_quantiles": 1}, "n_quantiles must be in \\[2, 1000\\]"),
        ({"scaling": "standard"}, "n_quantiles must be in \\[0, 0\\]"),
        ({"n_quantiles": True}, "n_quantiles"),
        ({"indicators": [1, 0]}, "indicators must be distinct"),
        ({"indicators": [0, 0]}, "indicators must be distinct"),
        ({"indicators": [2]}, "indicators must be integers below 2"),
        ({"embedding_dims": [3]}, "embedding_dims must be \\[0\\]"),
        ({"categories": [[str(i) for i in range(10, 30)]]}, "embedding_dims must be \\[9\\]"),
    ],
)
def test_the_manifests_table_is_checked(change, match):
    assert TableSpec.from_config(_config(), 3).n_quantiles == 10
    with pytest.raises(ModelFileError, match=match):
        TableSpec.from_config(_config(**change), 3)


# --- 6: save refuses what load would refuse, before touching the file ---------------------


@pytest.mark.parametrize(
    "category, match",
    [("x" * 70_000, "a string of 70000 characters"), ("\ud800", "not valid Unicode")],
)
def test_save_refuses_categories_load_would_refuse_and_keeps_the_file(tmp_path, category, match):
    est = _fit(_frame([category, "b"]))
    path = tmp_path / "kept.skneural"
    path.write_bytes(b"the previous model")
    with pytest.raises(ValueError, match=match):
        save(est, path)
    assert path.read_bytes() == b"the previous model"
    assert os.listdir(tmp_path) == ["kept.skneural"]


# --- 11: columns at predict, as scikit-learn's HistGradientBoosting says ------------------


def test_column_errors_are_scikit_learns():
    X = pd.DataFrame({"c": ["u", "v"] * (N // 2), "d": ["p", "q"] * (N // 2), "x": np.arange(N)})
    ours = _fit(X)
    # The reference: scikit-learn's own check of the same column names.
    theirs = StandardScaler().fit(pd.DataFrame(0.0, index=X.index, columns=X.columns))
    assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    for changed in (X[["x", "c", "d"]], X.assign(e=1.0), X[["c", "x"]]):
        with pytest.raises(ValueError) as expected:
            theirs.transform(pd.DataFrame(0.0, index=X.index, columns=changed.columns))
        with pytest.raises(ValueError) as got:
            ours.predict(changed)
        assert str(got.value) == str(expected.value)


# --- 12 and others: infinity, complex numbers -------------------------------------------


@pytest.mark.parametrize("at", ["fit", "predict"])
def test_infinity_in_a_table_without_categories_names_the_column(at):
    X = pd.DataFrame({"a": np.r_[np.nan, np.arange(N - 1.0)], "b": np.arange(N) * 1.0})
    bad = X.assign(b=np.r_[np.inf, np.arange(1.0, N)])
    with pytest.raises(ValueError, match="Input X contains infinity.* in column 'b'"):
        _fit(bad) if at == "fit" else _fit(X).predict(bad)


def test_complex_columns_are_refused_naming_them():
    X = pd.DataFrame({"c": ["u", "v"] * (N // 2), "z": np.arange(N) * (1 + 1j)})
    with pytest.raises(ValueError, match="Column 'z' holds complex numbers"):
        _fit(X)
