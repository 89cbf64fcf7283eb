"""Tables as they come: categorical columns, missing values and scaling inside the
network (skneural._table, _table_columns, _table_layer, _inputs), checked against
scikit-learn's own encoders, imputer and scalers and against the Keras model."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import ndtri
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler

from skneural import MLPClassifierX, MLPRegressorX
from skneural._inputs import prediction_input
from skneural._table import embedding_dim

N = 120


def _frame(n=N, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "num": rng.normal(size=n) * 100 + 50,
            "city": pd.Series(rng.choice(["paris", "rome", "oslo"], n), dtype="str"),
            "color": pd.Categorical(rng.choice(["red", "blue"], n)),
            "flag": rng.random(n) > 0.5,
            "count": pd.array(rng.integers(0, 9, n), dtype="Int64"),
            "share": pd.array(rng.random(n), dtype="Float64"),
            "shop": pd.Series([f"shop {i % 14}" for i in range(n)], dtype=object),
        }
    )
    frame.loc[::7, "num"] = np.nan
    frame.loc[::11, "count"] = pd.NA
    frame.loc[::5, "city"] = None
    return frame


def _target(frame):
    signal = frame["num"].fillna(0).to_numpy(float) > 60
    if "city" in frame:
        signal ^= (frame["city"] == "rome").to_numpy()
    return signal.astype(int)


def _fit(frame=None, est=MLPClassifierX, **params):
    frame = _frame() if frame is None else frame
    y = _target(frame) if est is MLPClassifierX else frame["share"].to_numpy(float)
    settings = {"hidden_layer_sizes": (6,), "max_iter": 5, "random_state": 0, **params}
    return est(**settings).fit(frame, y)


def _features(est, X):
    """What the table's preprocessing layer gives the first Dense layer."""
    network = est._network
    layer = network.model.get_layer("table")
    return np.asarray(layer(prediction_input(est, X, network.table)))


# -- which columns are which ---------------------------------------------------------


def test_numeric_data_builds_no_preprocessing_layer_and_trains_as_before():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, 60)
    default = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    plain = MLPClassifierX(
        hidden_layer_sizes=(4,),
        max_iter=5,
        random_state=0,
        categorical_features=None,
        input_scaling=None,
    ).fit(X, y)
    assert "table" not in [layer.name for layer in default.model_.layers]
    assert default.embeddings_ == {}
    assert_array_equal(default.predict_proba(X), plain.predict_proba(X))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(d=X[:, 0] > 0)
    fitted = clone(default).fit(frame, y)
    assert "table" not in [layer.name for layer in fitted.model_.layers]


def test_from_dtype_takes_text_object_and_category_columns():
    est = _fit()
    table = est._network.table
    names = list(_frame().columns)
    assert [names[j] for j in table.categorical] == ["city", "color", "shop"]
    assert [names[j] for j in table.numeric] == ["num", "flag", "count", "share"]
    # Missing values in fit: num and count get indicators.
    assert [names[table.numeric[i]] for i in table.indicators] == ["num", "count"]
    assert table.categories[0] == ("oslo", "paris", "rome")
    assert table.embedding_dims == (0, 0, embedding_dim(16))
    assert set(est.embeddings_) == {6} and est.embeddings_[6].shape == (16, embedding_dim(16))


@pytest.mark.parametrize(
    "chosen", [["city", "color", "shop"], [1, 2, 6], [False, True, True, False, False, False, True]]
)
def test_categorical_features_by_name_position_or_mask(chosen):
    assert _fit(categorical_features=chosen)._network.table.categorical == (1, 2, 6)


def test_a_numeric_column_can_be_categorical():
    table = _fit(categorical_features=["city", "color", "shop", "count"])._network.table
    assert table.categorical == (1, 2, 4, 6)
    assert table.categories[2] == tuple(str(i) for i in range(9))


def test_categorical_features_errors_name_the_parameter():
    with pytest.raises(ValueError, match="categorical_features names column 'nope'"):
        _fit(categorical_features=["nope"])
    with pytest.raises(ValueError, match="one entry per column of X \\(7\\)"):
        _fit(categorical_features=[True, False])


def test_a_numeric_array_of_objects_with_positions():
    frame = _frame()
    X = frame[["num", "city"]].to_numpy(dtype=object)
    est = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    # 'from_dtype' reads a DataFrame's dtypes; an array's categories must be named.
    with pytest.raises(ValueError, match="could not convert string to float"):
        clone(est).fit(X, _target(frame))
    est.set_params(categorical_features=[1]).fit(X, _target(frame))
    assert est.n_features_in_ == 2 and not hasattr(est, "feature_names_in_")
    assert est._network.table.categorical == (1,)
    assert est.predict(X).shape == (N,)


# -- categories ----------------------------------------------------------------------


def test_categories_do_not_depend_on_the_order_of_the_rows():
    frame = _frame()
    shuffled = frame.sample(frac=1.0, random_state=1)
    assert _fit(frame)._network.table == _fit(shuffled)._network.table


def test_one_hot_columns_match_scikit_learns_one_hot_encoder():
    frame = _frame()
    est = _fit(frame, input_scaling=None)
    test = frame.copy()
    test.loc[:3, "city"] = ["lima", None, "rome", "oslo"]
    features = _features(est, test)
    # city's slots: other, missing, then oslo, paris, rome; color's: other, missing,
    # blue, red. They follow the four numeric columns.
    encoder = OneHotEncoder(
        categories=[["oslo", "paris", "rome"], ["blue", "red"]], handle_unknown="ignore"
    )
    reference = (
        encoder.fit(frame[["city", "color"]].dropna())
        .transform(test[["city", "color"]].astype(object))
        .toarray()
    )
    assert_array_equal(features[:, [6, 7, 8, 11, 12]], reference)
    city = test["city"]
    assert_array_equal(features[:, 4], city.notna() & ~city.isin(["oslo", "paris", "rome"]))
    assert_array_equal(features[:, 5], city.isna())


def test_rare_and_unseen_categories_read_as_other_never_an_error():
    frame = _frame()
    frame.loc[0, "city"] = "tiny"
    est = _fit(frame, min_frequency=2)
    assert "tiny" not in est._network.table.categories[0]
    test = frame.head(4).copy()
    test["city"] = ["tiny", "never seen", None, "rome"]
    test["shop"] = ["new shop", None, "shop 1", 3]
    codes = prediction_input(est, test, est._network.table)
    assert_array_equal(codes[:, 1], [0, 0, 1, 4])
    assert_array_equal(codes[:, 6], [0, 1, 3, 0])
    assert np.isfinite(est.predict_proba(test)).all()


def test_min_frequency_as_a_share_of_the_samples():
    frame = _frame()
    est = _fit(frame, min_frequency=0.1)  # shops appear 8 or 9 times in 120 rows: < 12
    assert est._network.table.categories[2] == ()


def test_a_twenty_thousand_value_id_column_costs_its_embedding_table_only():
    rng = np.random.default_rng(0)
    n = 20_000
    frame = pd.DataFrame({"id": [f"user {i}" for i in range(n)], "x": rng.normal(size=n)})
    est = MLPRegressorX(hidden_layer_sizes=(8,), max_iter=1, random_state=0)
    est.fit(frame, rng.normal(size=n))
    dim = embedding_dim(n + 2)
    assert est.embeddings_[0].shape == (n + 2, dim)
    assert est.coefs_[0].shape == (1 + dim, 8)


# -- missing values and scaling ------------------------------------------------------


def test_missing_values_are_filled_with_the_median_and_indicated():
    frame = _frame()
    est = _fit(frame, input_scaling=None)
    numeric = frame[["num", "flag", "count", "share"]].astype("float64")
    reference = SimpleImputer(strategy="median", add_indicator=True).fit(numeric)
    expected = reference.transform(numeric)
    features = _features(est, frame)
    assert_allclose(features[:, :4], expected[:, :4], rtol=1e-12)
    assert_array_equal(features[:, -2:], expected[:, 4:])


def test_nan_at_predict_in_a_column_without_missing_values_in_fit_is_filled():
    frame = _frame()
    est = _fit(frame, input_scaling=None)
    test = frame.head(3).copy()
    test["share"] = pd.array([None, 0.5, None], dtype="Float64")
    features = _features(est, test)
    assert_allclose(features[[0, 2], 3], np.median(frame["share"].to_numpy(float)))
    assert np.isfinite(est.predict_proba(test)).all()


def test_standard_scaling_matches_standard_scaler():
    frame = _frame()
    est = _fit(frame, input_scaling="standard")
    numeric = frame[["num", "flag", "count", "share"]].astype("float64")
    filled = SimpleImputer(strategy="median").fit_transform(numeric)
    present = numeric.to_numpy()
    scaler = StandardScaler().fit(present)  # statistics of the values present
    assert_allclose(_features(est, frame)[:, :4], scaler.transform(filled), rtol=1e-10)


def test_robust_scaling_is_median_iqr_then_smooth_clipping():
    frame = _frame()
    est = _fit(frame, input_scaling="robust")
    numeric = frame[["num", "flag", "count", "share"]].astype("float64").to_numpy()
    expected = np.empty_like(numeric)
    for j in range(4):
        column = numeric[:, j]
        present = column[~np.isnan(column)]
        median = np.median(present)
        q25, q75 = np.percentile(present, [25, 75])
        z = (np.where(np.isnan(column), median, column) - median) / (q75 - q25)
        expected[:, j] = z / np.sqrt(1 + (z / 3) ** 2)
    assert_allclose(_features(est, frame)[:, :4], expected, rtol=1e-10, atol=1e-12)


def test_quantile_scaling_matches_quantile_transformer():
    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(500, 2))
    est = MLPRegressorX(hidden_layer_sizes=(4,), max_iter=2, input_scaling="quantile")
    est.fit(X, X[:, 0])
    reference = QuantileTransformer(n_quantiles=500, output_distribution="normal").fit(X)
    test = rng.lognormal(size=(50, 2))
    assert_allclose(_features(est, test), reference.transform(test), atol=1e-6)
    # The extremes are clipped as scikit-learn clips them.
    far = np.array([[X.min() / 2, X.max() * 2]])
    assert_allclose(_features(est, far), [[ndtri(1e-7), ndtri(1 - 1e-7)]], rtol=1e-6)


@pytest.mark.parametrize("scaling", ["auto", None, "standard", "robust", "quantile"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_numpy_path_equals_the_keras_model(scaling, dtype):
    frame = _frame()
    if dtype == "float32":  # numeric data only: categorical tables are float64
        frame = frame[["num", "share"]].astype("float32")
    est = _fit(frame, input_scaling=scaling, hidden_layer_sizes=(5, 4))
    test = frame.copy()
    if "city" in test:
        test.loc[:5, "city"] = "unseen"
    network = est._network
    X = prediction_input(est, test, network.table)
    keras_out = np.asarray(network.model(X, training=False))
    assert X.dtype == dtype
    assert_allclose(network.forward(X), keras_out, atol=1e-6, rtol=1e-5)


def test_auto_scales_tables_and_leaves_numeric_data_alone():
    assert _fit()._network.table.scaling == "standard"
    numeric = _frame()[["num", "share"]].dropna()
    assert _fit(numeric)._network.table is None
    assert _fit(_frame()[["num", "share"]])._network.table.scaling == "standard"  # NaN
    # An embedding's frequencies expect standardised values: 'auto' scales for it.
    for kind in ("pbld", "periodic", "piecewise_linear"):
        assert _fit(numeric, numeric_embedding=kind)._network.table.scaling == "standard"
    assert (
        _fit(numeric, numeric_embedding="pbld", input_scaling=None)._network.table.scaling is None
    )


# -- bad input -------------------------------------------------------------------


def test_infinity_is_refused_naming_the_column():
    frame = _frame()
    frame.loc[3, "share"] = np.inf
    with pytest.raises(ValueError, match="infinity in column 'share'"):
        _fit(frame)
    est = _fit()
    with pytest.raises(ValueError, match="infinity in column 'share'"):
        est.predict(frame)
    with pytest.raises(ValueError, match="infinity"):
        _fit(frame[["num", "share"]].astype(float))


def test_an_all_missing_column_in_fit_is_refused_naming_it():
    for column in ("num", "city"):
        frame = _frame()
        frame[column] = None if column == "city" else np.nan
        with pytest.raises(ValueError, match=f"Column '{column}' has no values in fit"):
            _fit(frame)


def test_a_categorical_column_with_a_single_value_warns():
    frame = _frame().assign(city="rome")
    with pytest.warns(UserWarning, match="Column 'city' is categorical with a single value"):
        _fit(frame)


def test_unreadable_values_at_predict_name_the_column():
    est = _fit()
    test = _frame().head(3).astype({"city": object})
    test.at[1, "city"] = ["a", "list"]
    with pytest.raises(ValueError, match="Column 'city' is categorical.*got \\['a', 'list'\\]"):
        est.predict(test)
    test = _frame().head(3).astype({"num": object})
    test.at[1, "num"] = "many"
    with pytest.raises(ValueError, match="Column 'num' is numeric.*got 'many'"):
        est.predict(test)


def test_missing_or_reordered_columns_get_scikit_learns_error():
    est = _fit()
    frame = _frame()
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        est.predict(frame[list(frame.columns[::-1])])
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        est.predict(frame.drop(columns="city"))


def test_refused_input_keeps_the_fit():
    est = _fit()
    before = est.predict_proba(_frame())
    bad = _frame().assign(city=None)
    with pytest.raises(ValueError):
        est.fit(bad, _target(_frame()))
    assert_array_equal(est.predict_proba(_frame()), before)


# -- the estimator's life ----------------------------------------------------------


def test_pickle_clone_and_model_selection_on_raw_frames():
    frame, y = _frame(), _target(_frame())
    est = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    fitted = clone(est).fit(frame, y)
    assert_array_equal(
        pickle.loads(pickle.dumps(fitted)).predict_proba(frame), fitted.predict_proba(frame)
    )
    scores = cross_val_score(est, frame, y, cv=3)
    assert scores.shape == (3,)
    search = GridSearchCV(est, {"input_scaling": ["robust", "standard"]}, cv=2).fit(frame, y)
    assert search.best_estimator_._network.table is not None


def test_warm_start_and_partial_fit_keep_the_categories():
    frame, y = _frame(), _target(_frame())
    est = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=3, random_state=0, warm_start=True)
    est.fit(frame, y)
    table = est._network.table
    later = frame.copy()
    later["city"] = "brand new"
    est.fit(later, y)
    assert est._network.table is table
    assert (prediction_input(est, later, table)[:, 1] == 0).all()
    streamed = MLPClassifierX(hidden_layer_sizes=(4,), random_state=0)
    streamed.partial_fit(frame.iloc[:60], y[:60], classes=[0, 1])
    first = streamed._network.table
    streamed.partial_fit(later.iloc[60:], y[60:])
    assert streamed._network.table == first
    assert streamed.n_features_in_ == 7


@pytest.mark.parametrize(
    "change, match",
    [
        ({"numeric_embedding": "pbld"}, "numeric_embedding changed from None to 'pbld'"),
        ({"input_scaling": "quantile"}, "input_scaling changed from 'standard' to 'quantile'"),
        ({"input_scaling": None}, "input_scaling changed from 'standard' to None"),
    ],
)
def test_a_warm_start_refuses_other_table_settings_and_keeps_the_fit(change, match):
    """The table's preprocessing is learned in the first fit and kept: a changed
    scaling or embedding would be silently ignored, so it is refused, as a changed
    architecture is, and the fitted network stays."""
    frame, y = _frame(), _target(_frame())
    for incremental in (False, True):
        est = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
        est.partial_fit(frame, y, classes=[0, 1]) if incremental else est.fit(frame, y)
        before = est.predict_proba(frame)
        est.set_params(warm_start=True, **change)
        with pytest.raises(ValueError, match=match):
            est.partial_fit(frame, y) if incremental else est.fit(frame, y)
        assert_array_equal(est.predict_proba(frame), before)
    # The learned setting named, or 'auto', continues ('auto' was 'standard' here).
    est = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(frame, y)
    est.set_params(warm_start=True, input_scaling="standard").fit(frame, y)
    est.set_params(input_scaling="auto").fit(frame, y)
    # A numeric array fitted with no table refuses one asked for later.
    X = np.random.default_rng(0).normal(size=(50, 2))
    est = MLPRegressorX(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, X[:, 0])
    assert est._network.table is None
    with pytest.raises(ValueError, match="numeric_embedding changed from None to 'pbld'"):
        est.set_params(warm_start=True, numeric_embedding="pbld").fit(X, X[:, 0])
    with pytest.raises(ValueError, match="input_scaling changed from None to 'robust'"):
        est.set_params(numeric_embedding=None, input_scaling="robust").fit(X, X[:, 0])


@pytest.mark.parametrize(
    "categorical_features, match",
    [
        (["city", "color", "shop", "count"], "now makes them 'city', 'color', 'count', 'shop'"),
        (["city"], "now makes them 'city'"),
        (None, "now makes them none"),
    ],
)
def test_a_warm_start_refuses_other_categorical_columns_and_keeps_the_fit(
    categorical_features, match
):
    """The categorical columns are learned in the first fit: an explicit
    categorical_features that names others was silently ignored; it is refused, and
    'from_dtype' or the same columns continue."""
    frame, y = _frame(), _target(_frame())
    learned = "whose categorical columns are 'city', 'color', 'shop'"
    for incremental in (False, True):
        est = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
        est.partial_fit(frame, y, classes=[0, 1]) if incremental else est.fit(frame, y)
        before = est.predict_proba(frame)
        est.set_params(warm_start=True, categorical_features=categorical_features)
        with pytest.raises(ValueError, match=f"{learned}, but categorical_features {match}\\."):
            est.partial_fit(frame, y) if incremental else est.fit(frame, y)
        assert_array_equal(est.predict_proba(frame), before)
        est.set_params(categorical_features=["shop", "city", "color"])
        est.partial_fit(frame, y) if incremental else est.fit(frame, y)
        est.set_params(categorical_features="from_dtype")
        est.partial_fit(frame, y) if incremental else est.fit(frame, y)
    # The fit's columns resolve the setting: the same names continue on the frame's
    # values as an array (read by position, as predict reads it), and reordered
    # columns are refused by the feature-name check, not as other categorical columns.
    est = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    est.set_params(categorical_features=["city", "color", "shop"]).fit(frame, y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.set_params(warm_start=True).fit(frame.to_numpy(dtype=object), y)
        est.partial_fit(frame.to_numpy(dtype=object), y)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        est.fit(frame[frame.columns[::-1]], y)
    # Names cannot name the columns of a network fitted on an array.
    est = MLPClassifierX(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    est.set_params(categorical_features=[1, 2, 6]).fit(frame.to_numpy(dtype=object), y)
    est.set_params(warm_start=True, categorical_features=["city"])
    with pytest.raises(ValueError, match="read against the X it was fitted on: .* no names"):
        est.fit(frame, y)
    # A numeric fit refuses categorical columns asked for later.
    X = np.random.default_rng(0).normal(size=(50, 2))
    est = MLPRegressorX(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, X[:, 0])
    est.set_params(warm_start=True, categorical_features=[1])
    with pytest.raises(ValueError, match="columns are none, but .* them 1 \\(by position\\)"):
        est.fit(X, X[:, 0])
    est.set_params(categorical_features=None).fit(X, X[:, 0])


def test_lbfgs_trains_embeddings():
    frame = _frame()
    est = _fit(frame, solver="lbfgs", max_iter=5)
    start = _fit(frame, solver="lbfgs", max_iter=1)
    assert not np.allclose(est.embeddings_[6], start.embeddings_[6])


def test_regressor_on_a_frame():
    est = _fit(est=MLPRegressorX)
    assert est.predict(_frame()).shape == (N,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.predict(_frame(seed=3))


# -- numeric embeddings ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["periodic", "piecewise_linear", "pbld"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_numeric_embeddings_numpy_path_equals_keras(kind, dtype):
    frame = _frame()
    if dtype == "float32":
        frame = frame[["num", "share"]].astype("float32")
    est = _fit(frame, numeric_embedding=kind, input_scaling="quantile")
    network = est._network
    X = prediction_input(est, frame, network.table)
    keras_out = np.asarray(network.model(X, training=False))
    assert_allclose(network.forward(X), keras_out, atol=1e-6, rtol=1e-5)


def test_piecewise_linear_bins_follow_the_papers_formula():
    rng = np.random.default_rng(0)
    X = rng.exponential(size=(300, 2))
    est = MLPRegressorX(
        hidden_layer_sizes=(4,),
        max_iter=2,
        input_scaling=None,
        numeric_embedding="piecewise_linear",
        random_state=0,
    )
    est.fit(X, X[:, 0])
    test = np.vstack([rng.exponential(size=(20, 2)), [[-1.0, 100.0]]])
    features = _features(est, test)
    for j in range(2):
        edges = np.quantile(X[:, j], np.linspace(0, 1, 17))
        bins = list(zip(edges[:-1], edges[1:], strict=True))
        expected = np.array(
            [[min(max((x - lo) / (hi - lo), 0), 1) for lo, hi in bins] for x in test[:, j]]
        )
        assert_allclose(features[:, 16 * j : 16 * (j + 1)], expected, rtol=1e-12)
    assert est.coefs_[0].shape == (32, 4)


def test_periodic_embedding_follows_its_formula():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    est = MLPRegressorX(
        hidden_layer_sizes=(4,),
        max_iter=3,
        input_scaling=None,
        numeric_embedding="periodic",
        random_state=0,
    ).fit(X, X[:, 0])
    layer = est.model_.get_layer("table")
    c, W, b = (v.numpy() for v in (layer.frequencies, layer.periodic_kernel, layer.periodic_bias))
    features = _features(est, X[:5])
    for j in range(2):
        v = np.concatenate(
            [
                np.sin(2 * np.pi * np.outer(X[:5, j], c[j])),
                np.cos(2 * np.pi * np.outer(X[:5, j], c[j])),
            ],
            axis=1,
        )
        assert_allclose(
            features[:, 24 * j : 24 * (j + 1)], np.maximum(v @ W[j] + b[j], 0), atol=1e-12
        )
    # The frequencies are trained.
    start = MLPRegressorX(
        hidden_layer_sizes=(4,),
        max_iter=1,
        input_scaling=None,
        numeric_embedding="periodic",
        random_state=0,
    ).fit(X, X[:, 0])
    assert not np.allclose(start.model_.get_layer("table").frequencies.numpy(), c)


def _pbld_waves(est, x):
    """The float64 formula of 'pbld''s three wave features, per column of ``x``."""
    layer = est.model_.get_layer("table")
    names = ("frequencies", "phases", "periodic_kernel", "periodic_bias")
    c, phase, W, b = (getattr(layer, name).numpy() for name in names)
    return [
        np.cos(2 * np.pi * np.outer(x[:, j], c[j]) + phase[j]) @ W[j] + b[j]
        for j in range(x.shape[1])
    ]


def test_periodic_waves_are_float32_on_scaled_columns_and_exact_on_unscaled_ones():
    """Scaled values are small, and their waves are computed in float32 (the fast
    sine and cosine); unscaled ones can be large, where float32's angles would be off
    by 1e-2 at 1e6: they keep the network's float64, as model files of unscaled
    networks predicted before."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)) * [1e5, 1e6]
    fit = dict(hidden_layer_sizes=(4,), max_iter=3, numeric_embedding="pbld", random_state=0)
    unscaled = MLPRegressorX(**fit, input_scaling=None).fit(X, X[:, 0])
    features = _features(unscaled, X)
    for j, waves in enumerate(_pbld_waves(unscaled, X)):
        assert_allclose(features[:, 4 * j + 1 : 4 * (j + 1)], waves, rtol=1e-9, atol=1e-9)
    scaled = MLPRegressorX(**fit, input_scaling="standard").fit(X, X[:, 0])
    layer = scaled.model_.get_layer("table")
    z = (X - layer.center.numpy()) / layer.scale.numpy()
    features = _features(scaled, X)
    for j, waves in enumerate(_pbld_waves(scaled, z)):
        assert_allclose(features[:, 4 * j + 1 : 4 * (j + 1)], waves, atol=1e-5)


@pytest.mark.parametrize("kind", ["periodic", "pbld"])
def test_periodic_embeddings_of_huge_values_stay_finite(kind):
    """Values beyond float32's range must not become infinite (and NaN waves) in the
    float32 waves of scaled columns, in the layer or on the numpy path; unscaled ones
    train in float64 as without an embedding."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    est = MLPRegressorX(
        hidden_layer_sizes=(4,),
        max_iter=3,
        input_scaling="standard",
        numeric_embedding=kind,
        random_state=0,
    ).fit(X, rng.normal(size=80))
    X[::7, 0] = 1e45  # beyond float32's range, not float64's
    X[::11, 1] = -1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        predicted = est.predict(X)
    assert np.isfinite(predicted).all() and np.isfinite(_features(est, X)).all()
    keras_out = np.asarray(est._network.model(X, training=False))
    assert_allclose(predicted, keras_out[:, 0], rtol=1e-5, atol=1e-6)
    huge = rng.normal(size=(150, 2)) * 1e20
    MLPRegressorX(
        hidden_layer_sizes=(8,),
        max_iter=5,
        input_scaling=None,
        numeric_embedding=kind,
        random_state=0,
    ).fit(huge, rng.normal(size=150))


def test_pbld_embedding_follows_its_formula():
    """RealMLP's embedding: the value, then a linear map of cos(2 pi c x + phase)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    fit = dict(hidden_layer_sizes=(4,), input_scaling=None, numeric_embedding="pbld")
    est = MLPRegressorX(**fit, max_iter=3, random_state=0).fit(X, X[:, 0])
    layer = est.model_.get_layer("table")
    names = ("frequencies", "phases", "periodic_kernel", "periodic_bias")
    c, phase, W, b = (getattr(layer, name).numpy() for name in names)
    assert c.shape == phase.shape == (3, 16) and W.shape == (3, 16, 3) and b.shape == (3, 3)
    features = _features(est, X[:5])
    assert features.shape == (5, 12) and est.coefs_[0].shape == (12, 4)
    for j in range(3):
        waves = np.cos(2 * np.pi * np.outer(X[:5, j], c[j]) + phase[j])
        expected = np.column_stack([X[:5, j], waves @ W[j] + b[j]])
        assert_allclose(features[:, 4 * j : 4 * (j + 1)], expected, atol=1e-12)
    # Every part of it is trained.
    start = MLPRegressorX(**fit, max_iter=1, random_state=0).fit(X, X[:, 0])
    for name, trained in zip(names, (c, phase, W, b), strict=True):
        assert not np.allclose(getattr(start.model_.get_layer("table"), name).numpy(), trained)


@pytest.mark.parametrize(
    "params",
    [
        {"input_scaling": "standard"},
        {"input_scaling": "quantile", "early_stopping": True, "validation_fraction": 0.2},
        {"input_scaling": "robust", "n_ensemble": 2, "numeric_embedding": "periodic"},
        {"numeric_embedding": "piecewise_linear", "dropout": 0.2},
        {"numeric_embedding": "pbld", "input_scaling": "quantile"},
    ],
)
def test_training_on_the_fixed_part_computed_once_equals_the_whole_layer_per_step(
    params, monkeypatch
):
    """A fit computes what of the table layer depends on the input alone (filled, scaled,
    coded columns, indicators) once for all its rows; the steps embed and one-hot
    from it. Training through the whole layer in every step, as adversarial training
    does, gives the same network."""
    from skneural._pool import POOL
    from skneural._step import MinibatchStep

    frame = _frame(200)
    settings = {"hidden_layer_sizes": (6, 5), "max_iter": 6, **params}
    POOL.clear()
    once = _fit(frame, **settings)
    once_regressor = _fit(frame, est=MLPRegressorX, **settings)
    original = MinibatchStep.__init__

    def whole_layer_per_step(self, workspace, objective, diagnostics):
        original(self, workspace, objective, diagnostics)
        self.fixed_input, self.forward = False, workspace.forward

    monkeypatch.setattr(MinibatchStep, "__init__", whole_layer_per_step)
    POOL.clear()
    try:
        every = _fit(frame, **settings)
        every_regressor = _fit(frame, est=MLPRegressorX, **settings)
    finally:
        POOL.clear()
    assert once.n_iter_ == every.n_iter_
    assert_allclose(once.predict_proba(frame), every.predict_proba(frame), rtol=1e-12)
    assert_allclose(once_regressor.predict(frame), every_regressor.predict(frame), rtol=1e-12)
    for a, b in zip(once.coefs_, every.coefs_, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_the_fixed_part_of_many_rows_is_computed_in_pieces_with_the_same_values():
    est = _fit(input_scaling="quantile")
    layer = est._network.model.get_layer("table")
    X = prediction_input(est, _frame(1000, seed=3), est._network.table)
    whole = np.asarray(layer.fixed_part(X))
    assert whole.shape == (1000, est._network.table.fixed_width)
    assert_array_equal(np.asarray(layer.fixed_part_of_all(X, rows=300)), whole)
    assert_array_equal(np.asarray(layer.fixed_part_of_all(X[:0], rows=300)), whole[:0])
