"""What a fit learns about a table's columns, before the network: the plan of its
preprocessing layer (:class:`TableSpec`) and the statistics that fill its weights.

Each numeric column is filled where missing (with its median in fit) and scaled
(``input_scaling``); each column that had missing values in fit also gets a 0/1
missing indicator. Each categorical column keeps the categories it had in fit
(sorted by their text, so the order of the rows does not matter; those seen fewer
than ``min_frequency`` times are left out) and reads as an integer code: 0 for
"other" (rare, or unseen in fit), 1 for missing, 2 and up for the categories.
Inside the network a code becomes a one-hot vector when the column has at most
:data:`ONE_HOT_MAX` categories, else a learned embedding of
:func:`embedding_dim` values.

A table that needs none of this (all numeric, nothing missing, no scaling) gets no
preprocessing layer at all: the network is the one scikit-learn's MLP would have.
"""

import functools
import warnings
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from ._numeric_embedding import KINDS as NUMERIC_EMBEDDINGS
from ._numeric_embedding import learn_edges
from ._numeric_embedding import width as numeric_width
from ._table_columns import canonical_text
from ._table_scaling import learn_statistics, scale
from .exceptions import ModelFileError

#: Categorical columns with at most this many categories are one-hot (RealMLP's rule).
ONE_HOT_MAX = 9
#: The widest embedding of a categorical column.
MAX_EMBEDDING_DIM = 32
#: Quantiles per column of ``input_scaling='quantile'`` (fewer with fewer samples).
N_QUANTILES = 1000
SCALINGS = ("standard", "robust", "quantile")
OTHER, MISSING = 0, 1


def embedding_dim(n_slots: int) -> int:
    """fastai's rule ``round(1.6 * n ** 0.56)`` for ``n`` codes (categories, other and
    missing), capped at :data:`MAX_EMBEDDING_DIM`: 4 codes give 3 values, 100
    give 21, 20,000 give 32.

    >>> embedding_dim(4), embedding_dim(100), embedding_dim(20_002)
    (3, 21, 32)
    """
    return int(min(MAX_EMBEDDING_DIM, round(1.6 * n_slots**0.56)))


@dataclass(frozen=True)
class TableSpec:
    """The preprocessing layer's structure: which columns are numeric (and which of
    those have a missing indicator), the scaling, and each categorical column's
    categories and embedding width (0: one-hot). Positions are the input's columns;
    ``indicators`` are positions within ``numeric``."""

    numeric: tuple[int, ...]
    indicators: tuple[int, ...]
    scaling: str | None
    n_quantiles: int
    categorical: tuple[int, ...]
    categories: tuple[tuple[str, ...], ...]
    embedding_dims: tuple[int, ...]
    numeric_embedding: str | None = None

    @property
    def n_features(self) -> int:
        return len(self.numeric) + len(self.categorical)

    def slots(self, k: int) -> int:
        """How many codes categorical column ``k`` has: its categories, other, missing."""
        return len(self.categories[k]) + 2

    @property
    def fixed_width(self) -> int:
        """The columns of the layer's input-only part (``TableFeatures.fixed_part``)."""
        return self.n_features + len(self.indicators)

    @property
    def width(self) -> int:
        """How many features the layer gives the first Dense layer."""
        categorical = sum(dim or self.slots(k) for k, dim in enumerate(self.embedding_dims))
        numeric = len(self.numeric) * numeric_width(self.numeric_embedding)
        return numeric + categorical + len(self.indicators)

    def encode(self, values: np.ndarray, keys: dict[int, np.ndarray]) -> np.ndarray:
        """The network's input: ``values`` (numeric columns, from
        :func:`skneural._table_columns.read_table`) with each categorical column's
        codes in its place."""
        out = np.array(values, dtype=np.float64)
        for column, categories in zip(self.categorical, self.categories, strict=True):
            out[:, column] = codes(keys[column], categories)
        return out

    def to_config(self) -> dict[str, Any]:
        return {
            "numeric": list(self.numeric),
            "indicators": list(self.indicators),
            "scaling": self.scaling,
            "n_quantiles": self.n_quantiles,
            "categorical": list(self.categorical),
            "categories": [list(c) for c in self.categories],
            "embedding_dims": list(self.embedding_dims),
            "numeric_embedding": self.numeric_embedding,
        }

    @classmethod
    def from_config(cls, config: Any, n_features: int) -> "TableSpec":
        """The spec a model file describes, checked entry by entry
        (:class:`ModelFileError` otherwise)."""
        fields = set(cls.__dataclass_fields__)
        if not isinstance(config, dict) or set(config) != fields:
            raise ModelFileError(f"the manifest's table must have the entries {sorted(fields)}")

        def counts(name: str, bound: int) -> tuple[int, ...]:
            value = config[name]
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v < bound for v in value
            ):
                raise ModelFileError(f"the manifest's table.{name} must be integers below {bound}")
            return tuple(value)

        numeric, categorical = counts("numeric", n_features), counts("categorical", n_features)
        if sorted(numeric + categorical) != list(range(n_features)):
            raise ModelFileError("the manifest's table must place each input column once")
        categories = config["categories"]
        if not (
            isinstance(categories, list)
            and len(categories) == len(categorical)
            and all(
                isinstance(c, list) and all(isinstance(v, str) for v in c) and sorted(set(c)) == c
                for c in categories
            )
        ):
            raise ModelFileError(
                "the manifest's table.categories must be one sorted list of distinct texts "
                "per categorical column"
            )
        dims = counts("embedding_dims", MAX_EMBEDDING_DIM + 1)
        scaling, n_quantiles = config["scaling"], config["n_quantiles"]
        embedding = config["numeric_embedding"]
        if (
            len(dims) != len(categorical)
            or scaling not in (None, *SCALINGS)
            or embedding not in (None, *NUMERIC_EMBEDDINGS)
        ):
            raise ModelFileError("the manifest's table has a malformed scaling or embedding")
        low = 2 if scaling == "quantile" else 0
        high = N_QUANTILES if scaling == "quantile" else 0
        if not (
            isinstance(n_quantiles, int)
            and not isinstance(n_quantiles, bool)
            and low <= n_quantiles <= high
        ):
            raise ModelFileError(
                f"the manifest's table.n_quantiles must be in [{low}, {high}] with scaling "
                f"{scaling!r}, got {n_quantiles!r:.40}"
            )
        indicators = counts("indicators", len(numeric))
        if list(indicators) != sorted(set(indicators)):
            raise ModelFileError(
                "the manifest's table.indicators must be distinct positions in increasing order"
            )
        expected = tuple(
            0 if len(c) <= ONE_HOT_MAX else embedding_dim(len(c) + 2) for c in categories
        )
        if dims != expected:
            raise ModelFileError(
                f"the manifest's table.embedding_dims must be {list(expected)} for its "
                f"categories, got {list(dims)}"
            )
        return cls(
            numeric=numeric,
            indicators=indicators,
            scaling=scaling,
            n_quantiles=n_quantiles,
            categorical=categorical,
            categories=tuple(tuple(c) for c in categories),
            embedding_dims=dims,
            numeric_embedding=embedding,
        )


def codes(keys: np.ndarray, categories: tuple[str, ...]) -> np.ndarray:
    """Each key's code: 2 + its category's position, :data:`MISSING` for None,
    :data:`OTHER` for a key not among ``categories``. The categories are read through
    :func:`skneural._table_columns.canonical_text`, so that a file written when
    ``1.0`` was keyed '1.0' (not '1') matches as it did; where two of its categories
    now read the same, the first one's code is kept."""
    lookup = _category_codes(categories)
    return np.array(
        [MISSING if k is None else lookup.get(k, OTHER) for k in keys], dtype=np.float64
    )


@functools.lru_cache(maxsize=16)
def _category_codes(categories: tuple[str, ...]) -> dict[str, float]:
    """Each category's key and code (a plain dict: no dtype inference on the keys)."""
    lookup: dict[str, float] = {}
    for position, category in enumerate(categories):
        lookup.setdefault(canonical_text(category), float(position + 2))
    return lookup


def resolve_scaling(
    input_scaling, has_categories: bool, has_missing: bool, embedded: bool
) -> str | None:
    """``input_scaling='auto'``: 'standard' for a table with categorical columns or
    missing values, or whose numeric columns are embedded, None (scikit-learn's MLP:
    no scaling) otherwise. On adult, 'standard' scored best ahead of 'robust' and
    'quantile', and no scaling far behind (benchmarks/table_inputs.md); the periodic
    embeddings' frequencies start at the scale of standardised values."""
    if input_scaling == "auto":
        return "standard" if has_categories or has_missing or embedded else None
    return input_scaling


def learn_table(
    values: np.ndarray, keys: dict[int, np.ndarray], names: list[str], params: dict
) -> tuple[TableSpec | None, dict[str, np.ndarray]]:
    """The spec and statistics a fit learns from ``values`` and ``keys`` (from
    :func:`skneural._table_columns.read_table`; ``names`` name the columns in
    errors); (None, {}) when the table needs no preprocessing layer."""
    n_samples, n_features = values.shape
    categorical = tuple(sorted(keys))
    numeric = tuple(j for j in range(n_features) if j not in keys)
    missing = np.isnan(values[:, numeric]) if numeric else np.zeros((n_samples, 0), bool)
    for position in np.flatnonzero(missing.all(axis=0)) if n_samples else []:
        _all_missing(names[numeric[position]])
    has_missing = bool(missing.any())
    embedding = params["numeric_embedding"] if numeric else None
    scaling = resolve_scaling(
        params["input_scaling"], bool(categorical), has_missing, embedding is not None
    )
    if not categorical and not has_missing and scaling is None and embedding is None:
        return None, {}
    categories = tuple(_categories(keys[j], names[j], params["min_frequency"]) for j in categorical)
    dims = tuple(0 if len(c) <= ONE_HOT_MAX else embedding_dim(len(c) + 2) for c in categories)
    # At least two quantiles (a single row gives two equal ones): one cannot be
    # interpolated between.
    n_quantiles = max(2, min(N_QUANTILES, n_samples)) if scaling == "quantile" else 0
    spec = TableSpec(
        numeric=numeric,
        indicators=tuple(int(i) for i in np.flatnonzero(missing.any(axis=0))),
        scaling=scaling,
        n_quantiles=n_quantiles,
        categorical=categorical,
        categories=categories,
        embedding_dims=dims,
        numeric_embedding=embedding,
    )
    stats = learn_statistics(values[:, numeric], scaling, n_quantiles)
    if embedding == "piecewise_linear":
        filled = np.where(np.isnan(values[:, numeric]), stats["fill"], values[:, numeric])
        scaled = scale(filled, scaling, stats["center"], stats["scale"], stats.get("quantiles"))
        stats["edges"] = learn_edges(scaled)
    return spec, stats


def _all_missing(name: str) -> None:
    raise ValueError(
        f"Column {name} has no values in fit (every value is missing): there is nothing "
        "to learn from it. Drop it, or fill it."
    )


def _categories(keys: np.ndarray, name: str, min_frequency) -> tuple[str, ...]:
    present = keys[np.array([k is not None for k in keys], dtype=bool)]
    if len(present) == 0:
        _all_missing(name)
    counts = pd.Series(present, dtype=object).value_counts()
    if min_frequency is not None:
        least = min_frequency if isinstance(min_frequency, Integral) else min_frequency * len(keys)
        counts = counts[counts >= least]
    if len(counts) == 0:
        warnings.warn(
            f"Column {name} has no category seen at least min_frequency={min_frequency!r} "
            "times in fit: every value of it reads as 'other', so it carries no information.",
            UserWarning,
        )
    elif len(counts) + (len(present) < len(keys)) <= 1:
        warnings.warn(
            f"Column {name} is categorical with a single value in fit "
            f"({counts.index[0]!r}): it carries no "
            "information, and values other than it will read as 'other'.",
            UserWarning,
        )
    return tuple(sorted(counts.index))
