"""The peers of the tabular benchmark: what a practitioner would fit on a real table.

Each peer is ``make(task, columns, seed)`` returning a fresh, unfitted estimator that
takes the data set's raw DataFrame (string, category, numeric columns, missing values):

- **scikit-learn MLP**: the standard Pipeline — numeric columns through a median
  ``SimpleImputer`` and ``StandardScaler``, categorical ones through ``OneHotEncoder``
  (missing values are a category of their own, categories unseen in fit ignored) — in
  front of ``MLPClassifier`` / ``MLPRegressor`` with ``early_stopping=True``; the
  encoded matrix is cast to float32, as skneural trains in its input's dtype.
- **skneural (pipeline)**: the same Pipeline in front of skneural's estimator with its
  defaults and ``early_stopping=True``.
- **skneural (raw)**: skneural's estimator given the raw DataFrame; with
  ``skneural.presets`` when that module exists, otherwise its defaults and
  ``early_stopping=True``.
- **HistGradientBoosting**: scikit-learn's gradient-boosted trees with native
  categorical support (``categorical_features="from_dtype"``; text columns are given
  the pandas ``category`` dtype first, which is all the estimator asks for).
- **RealMLP (pytabkit)**: ``RealMLP_TD_Classifier`` / ``RealMLP_TD_Regressor`` with
  their tuned defaults, on the raw DataFrame with text columns as ``category``.

Each peer imports its library itself, so a missing library makes that peer "n/a".
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

CLASSIFICATION, REGRESSION = "classification", "regression"


@dataclass(frozen=True)
class Columns:
    """The data set's categorical and numeric column names."""

    categorical: list[str]
    numeric: list[str]

    @classmethod
    def of(cls, X: pd.DataFrame) -> "Columns":
        categorical = [c for c in X.columns if is_categorical(X[c])]
        return cls(categorical, [c for c in X.columns if c not in categorical])


def is_categorical(column: pd.Series) -> bool:
    """Text (``str`` or ``object``) or ``category`` dtype: what every peer treats as
    categorical."""
    return (
        isinstance(column.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(column.dtype)
        or column.dtype == object
    )


def as_category(X: pd.DataFrame, columns: Columns) -> pd.DataFrame:
    """``X`` with its categorical columns in pandas' ``category`` dtype."""
    return X.astype({c: "category" for c in columns.categorical})


@dataclass(frozen=True)
class Peer:
    name: str
    make: Callable[[str, Columns, int], Any]
    note: str
    # A peer whose estimator needs text columns as pandas categories.
    wants_category: bool = False


def _encoder(columns: Columns):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        # The text columns' missing values (NaN or None) become one category.
        SimpleImputer(strategy="constant", fill_value="(missing)"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    return make_pipeline(
        ColumnTransformer(
            [
                ("numeric", numeric, columns.numeric),
                ("categorical", categorical, columns.categorical),
            ]
        ),
        FunctionTransformer(lambda Z: np.asarray(Z, dtype=np.float32)),
    )


def _text_as_object(columns: Columns):
    """SimpleImputer reads text columns as object arrays: pandas 3's ``str`` and
    ``category`` columns are converted first."""
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(
        lambda X: X.astype({c: object for c in columns.categorical}), feature_names_out="one-to-one"
    )


def sklearn_mlp(task: str, columns: Columns, seed: int):
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline

    cls = MLPClassifier if task == CLASSIFICATION else MLPRegressor
    return make_pipeline(
        _text_as_object(columns), _encoder(columns), cls(early_stopping=True, random_state=seed)
    )


def skneural_pipeline(task: str, columns: Columns, seed: int):
    from sklearn.pipeline import make_pipeline

    from skneural import MLPClassifierX, MLPRegressorX

    cls = MLPClassifierX if task == CLASSIFICATION else MLPRegressorX
    return make_pipeline(
        _text_as_object(columns), _encoder(columns), cls(early_stopping=True, random_state=seed)
    )


def skneural_raw(task: str, columns: Columns, seed: int):
    from skneural import MLPClassifierX, MLPRegressorX

    try:
        from skneural import presets
    except ImportError:
        params = {}
    else:
        params = presets.TABULAR_CLASSIFIER if task == CLASSIFICATION else presets.TABULAR_REGRESSOR
    cls = MLPClassifierX if task == CLASSIFICATION else MLPRegressorX
    # Without presets: the defaults with early stopping, as the Pipeline peers.
    return cls(**{"early_stopping": True, **params, "random_state": seed})


def candidate(name: str, params: dict) -> Peer:
    """A skneural configuration under trial (``benchmarks/tabular.py --candidates``):
    ``params`` are constructor parameters for both estimators, except its
    ``"classifier"`` and ``"regressor"`` entries, which hold each one's own."""
    from skneural import MLPClassifierX, MLPRegressorX

    both = {k: v for k, v in params.items() if k not in ("classifier", "regressor")}
    both = {k: tuple(v) if k == "hidden_layer_sizes" else v for k, v in both.items()}

    def make(task: str, columns: Columns, seed: int):
        own = params.get("classifier" if task == CLASSIFICATION else "regressor", {})
        cls = MLPClassifierX if task == CLASSIFICATION else MLPRegressorX
        return cls(**{**both, **own, "random_state": seed})

    return Peer(f"skneural: {name}", make, f"MLP*X on the raw DataFrame with {params}")


def hist_gradient_boosting(task: str, columns: Columns, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = (
        HistGradientBoostingClassifier if task == CLASSIFICATION else HistGradientBoostingRegressor
    )
    return cls(categorical_features="from_dtype", random_state=seed)


def realmlp(task: str, columns: Columns, seed: int):
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

    cls = RealMLP_TD_Classifier if task == CLASSIFICATION else RealMLP_TD_Regressor
    return cls(random_state=seed, n_threads=2, device="cpu", verbosity=0)


#: The reference peer: the report counts wins and fit time against it.
SKLEARN_MLP = "scikit-learn MLP"

PEERS = {
    peer.name: peer
    for peer in (
        Peer(SKLEARN_MLP, sklearn_mlp, "Pipeline(impute + scale, one-hot) -> MLP"),
        Peer("skneural (pipeline)", skneural_pipeline, "the same Pipeline -> MLP*X"),
        Peer("skneural (raw)", skneural_raw, "MLP*X on the raw DataFrame (presets if present)"),
        Peer("HistGradientBoosting", hist_gradient_boosting, "native categoricals", True),
        Peer("RealMLP (pytabkit)", realmlp, "RealMLP_TD, its tuned defaults", True),
    )
}
