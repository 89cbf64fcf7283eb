"""The numeric columns' scaling in numpy: what :class:`skneural._table_layer.TableFeatures`
computes in TensorFlow, for the numpy predict path and for the fit (which places
the piecewise-linear bins of ``numeric_embedding`` in scaled units)."""

import numpy as np
from scipy.special import ndtri

#: Quantile scaling clips its uniform value to [EPS, 1 - EPS] (scikit-learn's bound).
QUANTILE_EPS = 1e-7


def scale(x: np.ndarray, scaling: str | None, center, spread, quantiles) -> np.ndarray:
    """Filled values ``x`` (rows x numeric columns) scaled as ``scaling`` says."""
    if scaling in ("standard", "robust"):
        x = (x - center) / spread
    if scaling == "robust":
        x = x / np.sqrt(1 + np.square(x / 3))
    elif scaling == "quantile":
        x = quantile_normal(x, quantiles)
    return x


def quantile_normal(x: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Each column through its quantiles to [0, 1] (linear between them), then the
    normal distribution's quantile function; in ``x``'s dtype throughout (near 0 and
    1 float32 rounds the clipped value, and the normal quantile there is steep)."""
    n_quantiles, real = quantiles.shape[1], x.dtype.type
    out = np.empty(x.shape, dtype=x.dtype)
    for i in range(x.shape[1]):
        q = quantiles[i].astype(x.dtype)
        upper = np.clip(np.searchsorted(q, x[:, i], side="right"), 1, n_quantiles - 1)
        low, high = q[upper - 1], q[upper]
        gap = high - low
        within = np.where(gap > 0, (x[:, i] - low) / np.where(gap > 0, gap, 1), 0)
        p = ((upper - 1).astype(x.dtype) + within.astype(x.dtype)) / real(n_quantiles - 1)
        # Beyond the quantiles: the bounds (where the outer quantiles tie, as in a
        # constant column, the interpolation alone would not get there).
        p = np.where(x[:, i] > q[-1], real(1), np.where(x[:, i] < q[0], real(0), p))
        out[:, i] = ndtri(np.clip(p, real(QUANTILE_EPS), real(1 - QUANTILE_EPS)))
    return out
