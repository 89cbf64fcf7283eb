"""``numeric_embedding``: each numeric column, filled and scaled, as a vector of
features instead of one number (Gorishniy et al., "On Embeddings for Numerical
Features in Tabular Deep Learning", 2022), in TensorFlow and in numpy.

- ``'periodic'``: ``[sin(2 pi c x), cos(2 pi c x)]`` for :data:`N_FREQUENCIES`
  learned frequencies ``c`` per column (initialised from N(0, :data:`FREQUENCY_SCALE`)),
  then a linear layer of its own per column to :data:`PERIODIC_WIDTH` values and a
  ReLU (the paper's PLR; rtdl's defaults).
- ``'pbld'`` (RealMLP's "periodic, bias, linear, DenseNet"; Holzmueller et al., "Better
  by Default: Strong Pre-Tuned MLPs and Boosted Trees on Tabular Data", 2024):
  ``cos(2 pi c x + phase)`` for :data:`PBLD_FREQUENCIES` learned frequencies
  (initialised from N(0, :data:`PBLD_SCALE`)) and phases per column, a linear layer of
  its own per column to ``PBLD_WIDTH - 1`` values, and the value ``x`` itself beside
  them (no activation).
- ``'piecewise_linear'``: :data:`N_BINS` bins between the column's quantiles in fit;
  the value fills the bins below it (1 each), the one it falls in in proportion, and
  leaves those above at 0 (values beyond the fit's range fill all or none).

On scaled columns the periodic kinds compute their waves in float32 whatever the
network's dtype (from values clipped to +-1e30): they are most of the embedding's
cost, and float64's sine and cosine are not vectorised. Unscaled columns
(``input_scaling=None``) keep the network's dtype.
"""

import keras
import numpy as np
import tensorflow as tf

N_FREQUENCIES, FREQUENCY_SCALE, PERIODIC_WIDTH = 48, 0.01, 24
N_BINS = 16
PBLD_FREQUENCIES, PBLD_SCALE, PBLD_WIDTH = 16, 0.1, 4
KINDS = ("periodic", "piecewise_linear", "pbld")
# The periodic kinds' float32 waves: larger values (whose waves carry no information
# at any precision) are clipped to it, so that they cannot overflow to infinity.
_LARGEST = 1e30


_WIDTHS = {None: 1, "periodic": PERIODIC_WIDTH, "piecewise_linear": N_BINS, "pbld": PBLD_WIDTH}


def width(kind: str | None) -> int:
    """Features per numeric column."""
    return _WIDTHS[kind]


def n_parameters(kind: str | None, n_columns: int) -> int:
    """The embedding's weights for ``n_columns`` numeric columns."""
    if kind == "periodic":
        per_column = N_FREQUENCIES + (2 * N_FREQUENCIES + 1) * PERIODIC_WIDTH
        return n_columns * per_column
    if kind == "pbld":
        return n_columns * (2 * PBLD_FREQUENCIES + (PBLD_FREQUENCIES + 1) * (PBLD_WIDTH - 1))
    return n_columns * (N_BINS + 1) if kind == "piecewise_linear" else 0


def learn_edges(x: np.ndarray) -> np.ndarray:
    """The bins' edges of each column of ``x`` (filled and scaled values): its
    quantiles, :data:`N_BINS` + 1 of them."""
    return np.quantile(x, np.linspace(0, 1, N_BINS + 1), axis=0).T


def add_weights(layer: keras.layers.Layer, kind: str | None, n: int, seed: int | None):
    """Create the embedding's weights on ``layer`` (its ``build``)."""
    if kind == "periodic":
        layer.frequencies = layer.add_weight(
            shape=(n, N_FREQUENCIES),
            name="frequencies",
            initializer=keras.initializers.RandomNormal(stddev=FREQUENCY_SCALE, seed=seed),
        )
        bound = 1 / np.sqrt(2 * N_FREQUENCIES)  # PyTorch's Linear
        layer.periodic_kernel = layer.add_weight(
            shape=(n, 2 * N_FREQUENCIES, PERIODIC_WIDTH),
            name="periodic_kernel",
            initializer=keras.initializers.RandomUniform(
                -bound, bound, seed=None if seed is None else seed + 1
            ),
        )
        layer.periodic_bias = layer.add_weight(
            shape=(n, PERIODIC_WIDTH), name="periodic_bias", initializer="zeros"
        )
    elif kind == "pbld":
        seeds = [None if seed is None else seed + i for i in range(4)]
        layer.frequencies = layer.add_weight(
            shape=(n, PBLD_FREQUENCIES),
            name="frequencies",
            initializer=keras.initializers.RandomNormal(stddev=PBLD_SCALE, seed=seeds[0]),
        )
        layer.phases = layer.add_weight(
            shape=(n, PBLD_FREQUENCIES),
            name="phases",
            initializer=keras.initializers.RandomUniform(-np.pi, np.pi, seed=seeds[1]),
        )
        bound = 1 / np.sqrt(PBLD_FREQUENCIES)
        layer.periodic_kernel = layer.add_weight(
            shape=(n, PBLD_FREQUENCIES, PBLD_WIDTH - 1),
            name="periodic_kernel",
            initializer=keras.initializers.RandomUniform(-bound, bound, seed=seeds[2]),
        )
        layer.periodic_bias = layer.add_weight(
            shape=(n, PBLD_WIDTH - 1),
            name="periodic_bias",
            initializer=keras.initializers.RandomUniform(-bound, bound, seed=seeds[3]),
        )
    elif kind == "piecewise_linear":
        layer.edges = layer.add_weight(
            shape=(n, N_BINS + 1), name="edges", initializer="zeros", trainable=False
        )


def _mapped_waves(x, frequencies, kernel, phases, scaled: bool):
    """Each column's waves times its kernel: rows x columns x the kernel's width.

    Computed columns first, so that each column's map is one batched matmul. On
    ``scaled`` columns (any ``input_scaling``) in float32 whatever ``x``'s dtype:
    float32's sine and cosine are vectorised, float64's take about 4x the time, and
    they are most of an embedding's cost, while a scaled value's angle is small enough
    for float32's precision. Unscaled columns can hold any value, and an angle's
    float32 rounding grows with it (1e-2 at 1e6): they keep ``x``'s dtype. With
    ``phases``, ``cos(2 pi c x + phase)`` (RealMLP); without, ``[sin(2 pi c x),
    cos(2 pi c x)]`` (the paper's PLR).
    """
    dtype = tf.float32 if scaled else x.dtype
    if dtype != x.dtype:
        x = tf.clip_by_value(x, -_LARGEST, _LARGEST)
    columns = tf.transpose(tf.cast(x, dtype))
    angles = 2 * np.pi * columns[:, :, None] * tf.cast(frequencies, dtype)[:, None]
    if phases is None:
        waves = tf.concat([tf.sin(angles), tf.cos(angles)], axis=2)
    else:
        waves = tf.cos(angles + tf.cast(phases, dtype)[:, None])
    out = tf.matmul(waves, tf.cast(kernel, dtype))
    return tf.transpose(tf.cast(out, x.dtype), (1, 0, 2))


def embed(layer: keras.layers.Layer, kind: str | None, x, scaled: bool):
    """The embedding of ``x`` (batch x numeric columns) in TensorFlow; ``scaled``:
    whether the columns were scaled (see :func:`_mapped_waves`)."""
    if kind == "periodic":
        out = _mapped_waves(x, layer.frequencies, layer.periodic_kernel, None, scaled)
        out += layer.periodic_bias
        return tf.reshape(tf.nn.relu(out), (-1, x.shape[1] * PERIODIC_WIDTH))
    if kind == "pbld":
        out = _mapped_waves(x, layer.frequencies, layer.periodic_kernel, layer.phases, scaled)
        out = tf.concat([x[:, :, None], out + layer.periodic_bias], axis=2)
        return tf.reshape(out, (-1, x.shape[1] * PBLD_WIDTH))
    if kind == "piecewise_linear":
        low, high = layer.edges[:, :-1], layer.edges[:, 1:]
        gap = high - low
        ramp = (x[:, :, None] - low) / tf.where(gap > 0, gap, tf.ones_like(gap))
        step = tf.cast(x[:, :, None] >= low, x.dtype)
        filled = tf.clip_by_value(tf.where(gap > 0, ramp, step), 0, 1)
        return tf.reshape(filled, (-1, x.shape[1] * N_BINS))
    return x


_WAVES = ("frequencies", "periodic_kernel")
_WEIGHTS = {
    "periodic": ("frequencies", "periodic_kernel", "periodic_bias"),
    "piecewise_linear": ("edges",),
    "pbld": ("frequencies", "phases", "periodic_kernel", "periodic_bias"),
}


def numpy_weights(layer: keras.layers.Layer, kind: str | None, dtype) -> dict:
    """The embedding's weights as arrays of ``dtype``, for :func:`numpy_embed`."""
    names = _WEIGHTS.get(kind, ())
    return {name: getattr(layer, name).numpy().astype(dtype) for name in names}


def _numpy_mapped_waves(x, weights: dict, scaled: bool) -> np.ndarray:
    """:func:`_mapped_waves` in numpy."""
    dtype = np.float32 if scaled else x.dtype
    if dtype != x.dtype:
        x = np.clip(x, -_LARGEST, _LARGEST)
    frequencies, kernel = (weights[name].astype(dtype) for name in _WAVES)
    angles = 2 * np.pi * x.T.astype(dtype)[:, :, None] * frequencies[:, None]
    if "phases" in weights:
        waves = np.cos(angles + weights["phases"].astype(dtype)[:, None])
    else:
        waves = np.concatenate([np.sin(angles), np.cos(angles)], axis=2)
    return np.matmul(waves, kernel).transpose(1, 0, 2).astype(x.dtype)


def numpy_embed(weights: dict, kind: str | None, x: np.ndarray, scaled: bool) -> np.ndarray:
    """:func:`embed` in numpy, from :func:`numpy_weights`."""
    if kind == "periodic":
        out = _numpy_mapped_waves(x, weights, scaled) + weights["periodic_bias"]
        return np.maximum(out, 0).reshape(len(x), -1)
    if kind == "pbld":
        out = _numpy_mapped_waves(x, weights, scaled) + weights["periodic_bias"]
        return np.concatenate([x[:, :, None], out], axis=2).reshape(len(x), -1)
    if kind == "piecewise_linear":
        low, high = weights["edges"][:, :-1], weights["edges"][:, 1:]
        gap = high - low
        ramp = (x[:, :, None] - low) / np.where(gap > 0, gap, 1)
        step = (x[:, :, None] >= low).astype(x.dtype)
        return np.clip(np.where(gap > 0, ramp, step), 0, 1).reshape(len(x), -1)
    return x
