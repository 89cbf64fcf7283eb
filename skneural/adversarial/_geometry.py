"""The geometry of an attack's budget: the steepest ascent step for each norm, the
projection back onto the eps-ball (L1 included), and random starting points.

Budgets are per feature: each works in ``u = delta / eps``, where the ball is the
unit ball of the norm.
"""

import numpy as np

NORMS = (np.inf, 1, 2)


def check_norm(norm) -> float:
    if norm in ("inf", np.inf) or norm in NORMS:
        return np.inf if norm == "inf" else float(norm)
    raise ValueError(f"norm must be np.inf, 1 or 2; got {norm!r}.")


def steepest_ascent(gradient: np.ndarray, scale: np.ndarray, norm: float) -> np.ndarray:
    """The step of size ``scale`` (per feature) that increases a linearised loss most.

    ``norm=np.inf``: ``scale * sign(g)``; ``norm=2``: ``scale * s / ||s||`` with
    ``s = scale * g`` (0 where ``s`` is 0); ``norm=1``: ``scale * sign(g)`` on the
    features with the largest ``|scale * g|``, divided among ties.
    """
    if norm == np.inf:
        return scale * np.sign(gradient)
    scaled = scale * gradient
    if norm == 2:
        length = np.sqrt(np.sum(scaled**2, axis=1, keepdims=True))
        direction = np.divide(scaled, length, out=np.zeros_like(scaled), where=length > 0)
        return scale * direction
    largest = np.max(np.abs(scaled), axis=1, keepdims=True)
    tied = (np.abs(scaled) == largest) & (largest > 0)
    return scale * np.sign(scaled) * tied / np.maximum(tied.sum(axis=1, keepdims=True), 1)


def project(delta: np.ndarray, eps: np.ndarray, norm: float) -> np.ndarray:
    """The nearest point to ``delta`` with ``||delta / eps|| <= 1`` (features with
    eps = 0 pinned at 0)."""
    safe = np.where(eps > 0, eps, 1.0)
    u = np.where(eps > 0, delta / safe, 0.0)
    if norm == np.inf:
        u = np.clip(u, -1.0, 1.0)
    elif norm == 2:
        length = np.sqrt(np.sum(u**2, axis=1, keepdims=True))
        u = u / np.maximum(length, 1.0)
    else:
        u = project_l1_ball(u)
    return u * eps


def project_l1_ball(u: np.ndarray) -> np.ndarray:
    """Rows of ``u`` projected on the unit L1 ball (Duchi et al., 2008, by sorting)."""
    a = np.abs(u)
    inside = a.sum(axis=1) <= 1.0
    s = -np.sort(-a, axis=1)
    cumulative = np.cumsum(s, axis=1) - 1.0
    k = np.arange(1, u.shape[1] + 1)
    rho = np.sum(s - cumulative / k > 0, axis=1)
    theta = cumulative[np.arange(len(u)), np.maximum(rho, 1) - 1] / np.maximum(rho, 1)
    projected = np.sign(u) * np.maximum(a - theta[:, None], 0.0)
    return np.where(inside[:, None], u, projected)


def random_point(rng, shape, eps, norm, mask) -> np.ndarray:
    """A uniform draw from the eps-ball of ``norm`` over the allowed features."""
    allowed = mask.sum(axis=1, keepdims=True)
    if norm == np.inf:
        u = rng.uniform(-1.0, 1.0, size=shape)
    else:
        raw = rng.normal(size=shape) if norm == 2 else rng.laplace(size=shape)
        raw = np.where(mask, raw, 0.0)
        length = np.linalg.norm(raw, ord=2 if norm == 2 else 1, axis=1, keepdims=True)
        radius = rng.uniform(size=(shape[0], 1)) ** (1.0 / np.maximum(allowed, 1))
        u = np.divide(raw, length, out=np.zeros(shape), where=length > 0) * radius
    return np.where(mask, u, 0.0) * eps


def bounded(x: np.ndarray, bounds) -> np.ndarray:
    """``x`` clipped to ``bounds`` (``(low, high)`` per feature), or ``x`` for None."""
    return x if bounds is None else np.clip(x, bounds[0], bounds[1])
