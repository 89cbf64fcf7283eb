"""The table's preprocessing as a Keras layer, and its numpy twin.

:class:`TableFeatures` is the network's first layer when a table needs one
(:mod:`skneural._table`): it reads the input matrix (numeric columns in their own
units, NaN where missing; categorical columns as integer codes) and gives the first
Dense layer, in this order, each numeric column filled and scaled, each categorical
column one-hot or embedded, then each missing indicator; with ``numeric_embedding``
each numeric column is a vector (:mod:`skneural._numeric_embedding`). Its configuration holds the
plan, categories included, so the model file keeps them; the learned statistics
(fill values, centers, scales, quantiles) are non-trainable weights and the
embedding tables trainable ones. :class:`NumpyTableFeatures` computes the same in
numpy for the fast predict path.
"""

import keras
import numpy as np
import tensorflow as tf

from ._numeric_embedding import add_weights, embed, numpy_embed, numpy_weights
from ._table import TableSpec
from ._table_scaling import QUANTILE_EPS, scale

#: The spread of the embedding tables' initial values: small, so that an embedded
#: column starts near zero (measured on adult, benchmarks/table_inputs.md: 1.0,
#: PyTorch's ``nn.Embedding``, lost 0.0025 ROC AUC to 0.01).
EMBEDDING_STDDEV = 0.01

#: Rows per piece when a fit computes the fixed part of all its rows: the quantile
#: mapping's temporaries are several copies of the numeric columns, so a million rows
#: at once would need gigabytes that a step's batch never did.
FIXED_PART_ROWS = 16_384


@keras.saving.register_keras_serializable(package="skneural")
class TableFeatures(keras.layers.Layer):
    """Fill, scale and encode a table's columns (see the module docstring).

    Parameters
    ----------
    numeric, indicators, scaling, n_quantiles, categorical, categories, embedding_dims, \
numeric_embedding
        The fields of a :class:`skneural._table.TableSpec`.
    seed : int or None
        Seeds the embedding tables' and the numeric embedding's initial values.
    """

    def __init__(
        self,
        numeric,
        indicators,
        scaling,
        n_quantiles,
        categorical,
        categories,
        embedding_dims,
        numeric_embedding=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.spec = TableSpec(
            numeric=tuple(numeric),
            indicators=tuple(indicators),
            scaling=scaling,
            n_quantiles=int(n_quantiles),
            categorical=tuple(categorical),
            categories=tuple(tuple(c) for c in categories),
            embedding_dims=tuple(embedding_dims),
            numeric_embedding=numeric_embedding,
        )
        self.seed = seed

    @classmethod
    def from_spec(cls, spec: TableSpec, seed: int | None, **kwargs) -> "TableFeatures":
        return cls(**spec.to_config(), seed=seed, **kwargs)

    def build(self, input_shape):
        spec, n = self.spec, len(self.spec.numeric)
        frozen = {"initializer": "zeros", "trainable": False}
        self.fill = self.add_weight(shape=(n,), name="fill", **frozen)
        self.center = self.add_weight(shape=(n,), name="center", **frozen)
        self.scale = self.add_weight(shape=(n,), name="scale", initializer="ones", trainable=False)
        if spec.scaling == "quantile":
            self.quantiles = self.add_weight(
                shape=(n, spec.n_quantiles), name="quantiles", **frozen
            )
        seed = None if self.seed is None else self.seed + len(spec.categorical)
        add_weights(self, spec.numeric_embedding, n, seed)
        self.tables = {}
        for k, dim in enumerate(spec.embedding_dims):
            if dim:
                seed = None if self.seed is None else self.seed + k
                self.tables[k] = self.add_weight(
                    shape=(spec.slots(k), dim),
                    name=f"embedding_{k}",
                    initializer=keras.initializers.RandomNormal(stddev=EMBEDDING_STDDEV, seed=seed),
                )

    def set_statistics(self, stats: dict[str, np.ndarray]) -> None:
        """Assign the statistics :func:`skneural._table.learn_table` learned."""
        for name, value in stats.items():
            variable = getattr(self, name)
            variable.assign(np.asarray(value).astype(variable.dtype))

    def embeddings(self) -> dict[int, np.ndarray]:
        """The embedding table of each embedded column, by input column position."""
        return {self.spec.categorical[k]: table.numpy() for k, table in self.tables.items()}

    def call(self, inputs):
        return self.from_fixed(self.fixed_part(inputs))

    def fixed_part(self, inputs):
        """What of the layer's output depends on the input alone, not on trained
        weights: each numeric column filled and scaled, each categorical column's
        code, each missing indicator (:attr:`TableSpec.fixed_width` columns). A fit
        computes it once for all its rows instead of in every step."""
        spec, parts = self.spec, []
        if spec.numeric:
            x = tf.gather(inputs, list(spec.numeric), axis=1)
            missing = tf.math.is_nan(x)
            x = tf.where(missing, self.fill, x)
            if spec.scaling in ("standard", "robust"):
                x = (x - self.center) / self.scale
            if spec.scaling == "robust":
                x = x / tf.sqrt(1 + tf.square(x / 3))
            elif spec.scaling == "quantile":
                x = _quantile_normal(x, self.quantiles)
            parts.append(x)
        if spec.categorical:
            codes = tf.gather(inputs, list(spec.categorical), axis=1)
            top = tf.constant([spec.slots(k) - 1 for k in range(len(spec.categorical))])
            parts.append(tf.clip_by_value(codes, 0, tf.cast(top, inputs.dtype)))
        if spec.indicators:
            indicators = tf.gather(missing, list(spec.indicators), axis=1)
            parts.append(tf.cast(indicators, self.compute_dtype))
        return tf.concat(parts, axis=1)

    def fixed_part_of_all(self, inputs, rows: int = FIXED_PART_ROWS):
        """:meth:`fixed_part` of ``inputs``, computed ``rows`` rows at a time."""
        n = int(inputs.shape[0])
        parts = [self.fixed_part(inputs[i : i + rows]) for i in range(0, max(n, 1), rows)]
        return parts[0] if len(parts) == 1 else tf.concat(parts, axis=0)

    def output_of_all(self, inputs):
        """The layer's output for ``inputs``, its fixed part computed piece by piece."""
        return self.from_fixed(self.fixed_part_of_all(inputs))

    def from_fixed(self, fixed):
        """The layer's output from its :meth:`fixed_part`: the numeric embedding, each
        categorical column one-hot or embedded, in the order of the module docstring."""
        spec, parts = self.spec, []
        n_numeric, n_categorical = len(spec.numeric), len(spec.categorical)
        if spec.numeric:
            scaled = spec.scaling is not None
            parts.append(embed(self, spec.numeric_embedding, fixed[:, :n_numeric], scaled))
        for k in range(n_categorical):
            codes = tf.cast(fixed[:, n_numeric + k], "int32")
            if k in self.tables:
                parts.append(tf.gather(self.tables[k], codes))
            else:
                parts.append(tf.one_hot(codes, spec.slots(k), dtype=self.compute_dtype))
        if spec.indicators:
            parts.append(fixed[:, n_numeric + n_categorical :])
        return tf.concat(parts, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.spec.width)

    def get_config(self):
        return {**super().get_config(), **self.spec.to_config(), "seed": self.seed}


def _quantile_normal(x, quantiles):
    """Each column through its quantiles to [0, 1] (linear between them), then the
    normal distribution's quantile function: scikit-learn's
    ``QuantileTransformer(output_distribution='normal')`` on values without ties."""
    n_quantiles = quantiles.shape[1]
    xt = tf.transpose(x)
    upper = tf.clip_by_value(tf.searchsorted(quantiles, xt, side="right"), 1, n_quantiles - 1)
    low = tf.gather(quantiles, upper - 1, batch_dims=1)
    high = tf.gather(quantiles, upper, batch_dims=1)
    gap = high - low
    within = tf.where(gap > 0, (xt - low) / tf.where(gap > 0, gap, tf.ones_like(gap)), 0)
    p = (tf.cast(upper - 1, x.dtype) + within) / (n_quantiles - 1)
    p = tf.where(xt > quantiles[:, -1:], tf.ones_like(p), p)
    p = tf.where(xt < quantiles[:, :1], tf.zeros_like(p), p)
    p = tf.clip_by_value(p, QUANTILE_EPS, 1 - QUANTILE_EPS)
    return tf.transpose(tf.math.ndtri(p))


class NumpyTableFeatures:
    """:class:`TableFeatures` in numpy: plain arrays, picklable and thread-safe.

    Parameters
    ----------
    layer : TableFeatures
        The fitted layer whose plan and weights to copy.
    dtype : numpy dtype
        The network's dtype.
    """

    def __init__(self, layer: TableFeatures, dtype):
        self.spec, self._dtype = layer.spec, np.dtype(dtype)
        self._fill, self._center, self._scale = (
            v.numpy().astype(self._dtype) for v in (layer.fill, layer.center, layer.scale)
        )
        self._quantiles = layer.quantiles.numpy() if self.spec.scaling == "quantile" else None
        self._tables = {k: t.numpy().astype(self._dtype) for k, t in layer.tables.items()}
        self._embedding = numpy_weights(layer, self.spec.numeric_embedding, self._dtype)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        spec, dtype, parts = self.spec, self._dtype, []
        if spec.numeric:
            x = X[:, list(spec.numeric)]
            missing = np.isnan(x)
            x = np.where(missing, self._fill, x)
            x = scale(x, spec.scaling, self._center, self._scale, self._quantiles)
            scaled = spec.scaling is not None
            parts.append(numpy_embed(self._embedding, spec.numeric_embedding, x, scaled))
        for k, column in enumerate(spec.categorical):
            codes = np.clip(X[:, column], 0, spec.slots(k) - 1).astype(np.int64)
            if k in self._tables:
                parts.append(self._tables[k][codes])
            else:
                parts.append(np.eye(spec.slots(k), dtype=dtype)[codes])
        if spec.indicators:
            parts.append(missing[:, list(spec.indicators)].astype(dtype))
        return np.concatenate(parts, axis=1).astype(dtype, copy=False)
