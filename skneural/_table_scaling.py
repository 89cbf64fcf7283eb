"""The numeric columns' scaling in numpy: what :class:`skneural._table_layer.TableFeatures`
computes in TensorFlow, for the numpy predict path and for the fit (which places
the piecewise-linear bins of ``numeric_embedding`` in scaled units), and the
statistics a fit learns for it."""

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


def learn_statistics(values: np.ndarray, scaling: str | None, n_quantiles: int) -> dict:
    """Per numeric column: the fill value (median), and the scaling's center and scale
    (or quantiles), learned from the values present."""
    n = values.shape[1]
    fill, center, scale = np.zeros(n), np.zeros(n), np.ones(n)
    quantiles = np.zeros((n, n_quantiles))
    for i in range(n):
        x = values[:, i][~np.isnan(values[:, i])]
        fill[i] = np.median(x)
        # In units of the largest magnitude, so that values near the float64 limit
        # (1e300) give a finite mean and spread rather than inf (and NaN downstream).
        unit = np.abs(x).max()
        unit = unit if 0 < unit < np.inf else 1.0
        if scaling == "standard":
            center[i], spread = unit * (x / unit).mean(), unit * (x / unit).std()
        elif scaling == "robust":
            q25, q75 = np.percentile(x / unit, [25, 75])
            center[i], spread = fill[i], unit * (q75 - q25)
            if spread == 0:
                spread = unit * ((x / unit).max() - (x / unit).min()) / 2
        else:
            spread = 1.0
        scale[i] = min(spread, np.finfo(np.float64).max) if spread > 0 else 1.0
        if scaling == "quantile":
            quantiles[i] = np.percentile(x, np.linspace(0, 100, n_quantiles))
    stats = {"fill": fill, "center": center, "scale": scale}
    if scaling == "quantile":
        stats["quantiles"] = quantiles
    return stats
