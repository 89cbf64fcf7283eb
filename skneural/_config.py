"""From validated constructor parameters to the plain specification a fit works from.

``_parameter_constraints`` has already checked every parameter on its own; this module
checks what depends on more than one parameter or on the data (one dropout rate per
hidden layer, the batch size against the number of samples) and derives the seeds.
"""

import warnings
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import keras
import numpy as np

from ._table import TableSpec

_MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that fixes the network's structure; two fits with equal specs build
    networks with the same layers and the same variable shapes."""

    n_features: int
    hidden_layer_sizes: tuple[int, ...]
    activation: str
    kernel_initializer: "str | keras.initializers.Initializer"
    dropout: tuple[float, ...]
    batch_normalization: bool
    batch_norm_momentum: float
    residual: bool
    n_outputs: int
    out_activation: str
    dtype: str
    #: The table's preprocessing layer (categories, missing values, scaling), or None.
    table: TableSpec | None = None
    #: Members trained side by side (``n_ensemble``); 1 is a single network.
    n_ensemble: int = 1
    #: What the members share (``ensemble_sharing``, :data:`skneural._ensemble.SHARINGS`);
    #: 'none' for a single network.
    ensemble_sharing: str = "none"


def residual_blocks(spec: NetworkSpec) -> tuple[int, ...]:
    """The hidden blocks that add their input to their output (``build_network``'s rule)."""
    sizes = spec.hidden_layer_sizes
    if not spec.residual:
        return ()
    return tuple(i for i in range(1, len(sizes)) if sizes[i - 1] == sizes[i])


def resolve_hidden_layer_sizes(value: Any) -> tuple[int, ...]:
    """``hidden_layer_sizes`` as a tuple; an int means one hidden layer."""
    sizes = (value,) if isinstance(value, Integral) else tuple(value)
    for size in sizes:
        if not isinstance(size, Integral) or isinstance(size, bool) or size <= 0:
            raise ValueError(
                f"hidden_layer_sizes must contain positive integers, got {list(sizes)!r}."
            )
    return tuple(int(size) for size in sizes)


def dropout_rates(value: Any, n_hidden: int) -> tuple[float, ...]:
    """One dropout rate per hidden layer from ``dropout`` (a float or a sequence)."""
    if np.isscalar(value):
        return (float(value),) * n_hidden
    rates = tuple(float(rate) for rate in value)
    if len(rates) != n_hidden:
        raise ValueError(
            f"dropout must be one rate or one rate per hidden layer ({n_hidden}), "
            f"got {len(rates)} rates: {list(rates)!r}."
        )
    for rate in rates:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rates must be in [0, 1), got {list(rates)!r}.")
    return rates


def resolve_batch_size(value: "str | int", n_samples: int) -> int:
    """scikit-learn's rule: 'auto' is min(200, n_samples); larger sizes are clipped."""
    if value == "auto":
        return min(200, n_samples)
    if value > n_samples:
        warnings.warn(
            f"batch_size={value} is larger than the number of training samples "
            f"({n_samples}); it is clipped to {n_samples}.",
            UserWarning,
        )
    return int(np.clip(value, 1, n_samples))


def make_rng(random_state: "None | int | np.random.RandomState") -> np.random.Generator:
    """A private generator for one fit, derived from ``random_state``.

    ``None`` draws fresh entropy from the OS instead of reading numpy's global
    generator, so fitting never advances the caller's global random state. A
    RandomState instance is advanced once, as scikit-learn estimators do.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(_MAX_SEED))
    return np.random.default_rng(int(random_state))


def draw_seed(rng: np.random.Generator) -> int:
    """One integer seed for a Keras initializer, dropout layer or data split."""
    return int(rng.integers(_MAX_SEED))
