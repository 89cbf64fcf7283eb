"""The attacks: FGSM, BIM and PGD, all one loop of gradient steps on a target,
projected on the budget's ball and clipped."""

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.base import is_classifier

from .._budget import check_budget
from ._geometry import bounded, check_norm, project, random_point, steepest_ascent
from ._options import check_clip, check_mask, check_positive_int, random_generator
from ._target import Target, like, rows_of


def _attack(
    estimator,
    X,
    y,
    *,
    eps,
    norm,
    targeted: bool,
    clip,
    mask,
    batch_size: int,
    n_iter: int,
    step_size,
    iterative: bool,
    random_start: bool,
    random_state,
):
    target = Target(estimator, X)
    if not is_classifier(target.final) and y is None:
        raise ValueError(
            "y is required to attack a regressor: at the model's own prediction the "
            "loss is at its minimum and its gradient is zero."
        )
    if targeted and y is None:
        raise ValueError("targeted=True moves toward the given y, so y is required.")
    batch_size = check_positive_int(batch_size, "batch_size")
    n_samples, n_features = target.x.shape
    eps = check_budget(eps, n_features, "eps")
    norm = check_norm(norm)
    if not iterative:
        step = eps
    elif step_size is None:
        step = 2.5 * eps / n_iter  # Madry et al.'s choice
    else:
        step = check_budget(step_size, n_features, "step_size")
    # A missing value (NaN, which the network fills) stays missing.
    allowed = check_mask(mask, n_samples, n_features) & target.movable & ~np.isnan(target.x)
    if allowed.size and not allowed.any():
        warnings.warn(
            "No value of X may change, so the attack returns X as it is (a robustness "
            "measured with it is the clean score): the mask, the missing values, and "
            "columns that feed a frozen branch of a ColumnTransformer (after a step that "
            "mixes columns, such as PCA, every column does) hold them all.",
            UserWarning,
            stacklevel=3,
        )
    bounds = check_clip(clip, target)
    if y is not None and len(y) != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {len(y)}.")
    Y = target.labels(y)
    rng = random_generator(random_state)
    sign = -1.0 if targeted else 1.0

    x0 = target.x
    x_adv = x0.copy()
    with target.compiled():
        for start in range(0, n_samples, batch_size):
            rows = slice(start, start + batch_size)
            x, ok = x0[rows], allowed[rows]
            batch_rows = rows_of(X, rows)
            delta = np.zeros_like(x)
            if random_start:
                delta = _within(x, random_point(rng, x.shape, eps, norm, ok), bounds)
            for _ in range(n_iter):
                gradient = target.gradient(x + delta, batch_rows, Y[rows])
                gradient = np.where(ok, np.nan_to_num(gradient), 0.0)
                delta = delta + sign * steepest_ascent(gradient, step, norm)
                if iterative:
                    delta = project(delta, eps, norm)
                delta = _within(x, delta, bounds)
            x_adv[rows] = bounded(x + delta, bounds)
    return like(X, x0, x_adv, allowed)


def _within(x: np.ndarray, delta: np.ndarray, bounds) -> np.ndarray:
    """``delta`` cut to keep ``x + delta`` within ``bounds``; 0 where ``x`` is missing."""
    return np.where(np.isnan(x), 0.0, bounded(x + delta, bounds) - x)


def fgsm(
    estimator,
    X,
    y=None,
    *,
    eps: float | np.ndarray,
    norm: float = np.inf,
    targeted: bool = False,
    clip=None,
    mask=None,
    batch_size: int = 1024,
):
    """Fast gradient method: one step of size ``eps`` up the loss gradient.

    Parameters
    ----------
    estimator : MLPClassifierX, MLPRegressorX or Pipeline
        Fitted; a Pipeline's steps before the estimator must be differentiable
        (scalers, PCA, SimpleImputer, ColumnTransformers of them; other transformers
        inside a ColumnTransformer hold their columns fixed).
    X : array-like or DataFrame of shape (n_samples, n_features)
        The inputs to perturb, in the estimator's (or pipeline's) input space.
    y : array-like, default=None
        The labels or targets whose loss is increased. None uses the estimator's own
        predictions (classifiers only: no label leaking).
    eps : float or array-like of shape (n_features,)
        The budget, in the units of each feature; >= 0.
    norm : {np.inf, 1, 2}, default=np.inf
        The norm the budget is measured in (see the module docstring).
    targeted : bool, default=False
        Decrease the loss of ``y`` instead: move toward ``y``.
    clip : None, (low, high) or 'data', default=None
        Bounds applied after the step.
    mask : array-like of bool, shape (n_features,) or (n_samples, n_features)
        The features that may change.
    batch_size : int, default=1024
        Rows per gradient computation.

    Returns
    -------
    X_adv : same type as X
        The adversarial examples.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from skneural import MLPClassifierX
    >>> from skneural.adversarial import fgsm
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> clf = MLPClassifierX((16,), max_iter=300, random_state=0).fit(X, y)
    >>> X_adv = fgsm(clf, X, y, eps=0.5)
    >>> round(float(np.abs(X_adv - X).max()), 6)
    0.5
    >>> bool(clf.score(X_adv, y) < clf.score(X, y))
    True
    """
    return _attack(
        estimator, X, y, eps=eps, norm=norm, targeted=targeted, clip=clip, mask=mask,
        batch_size=batch_size, n_iter=1, step_size=None, iterative=False,
        random_start=False, random_state=None,
    )  # fmt: skip


def bim(
    estimator,
    X,
    y=None,
    *,
    eps: float | np.ndarray,
    n_iter: int = 10,
    step_size: float | np.ndarray | None = None,
    norm: float = np.inf,
    targeted: bool = False,
    clip=None,
    mask=None,
    batch_size: int = 1024,
):
    """Basic iterative method: ``n_iter`` gradient steps of ``step_size``, each
    projected back on the ``eps``-ball around ``X`` (Kurakin et al., 2017).

    Parameters are those of :func:`fgsm`, plus ``n_iter`` and ``step_size``
    (default ``2.5 * eps / n_iter``, Madry et al.'s choice).

    Returns
    -------
    X_adv : same type as X

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skneural import MLPClassifierX
    >>> from skneural.adversarial import bim, fgsm
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> clf = MLPClassifierX((16,), max_iter=300, random_state=0).fit(X, y)
    >>> bool(clf.score(bim(clf, X, y, eps=0.3), y) <= clf.score(fgsm(clf, X, y, eps=0.3), y))
    True
    """
    return pgd(
        estimator, X, y, eps=eps, n_iter=n_iter, step_size=step_size, norm=norm,
        targeted=targeted, clip=clip, mask=mask, batch_size=batch_size,
        random_start=False,
    )  # fmt: skip


def pgd(
    estimator,
    X,
    y=None,
    *,
    eps: float | np.ndarray,
    n_iter: int = 10,
    step_size: float | np.ndarray | None = None,
    norm: float = np.inf,
    targeted: bool = False,
    clip=None,
    mask=None,
    batch_size: int = 1024,
    random_start: bool = True,
    random_state: int | None = None,
):
    """Projected gradient descent (Madry et al., 2018): :func:`bim` from a random
    point of the ``eps``-ball.

    Parameters are those of :func:`bim`, plus ``random_start`` and
    ``random_state`` (the seed of the starting points).

    Returns
    -------
    X_adv : same type as X

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skneural import MLPClassifierX
    >>> from skneural.adversarial import pgd
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> clf = MLPClassifierX((16,), max_iter=300, random_state=0).fit(X, y)
    >>> bool(clf.score(pgd(clf, X, y, eps=0.3, random_state=0), y) < clf.score(X, y))
    True
    """
    return _attack(
        estimator, X, y, eps=eps, norm=norm, targeted=targeted, clip=clip, mask=mask,
        batch_size=batch_size, n_iter=check_positive_int(n_iter, "n_iter"),
        step_size=step_size, iterative=True, random_start=random_start,
        random_state=random_state,
    )  # fmt: skip


#: The attacks by name, for the scoring helpers.
ATTACKS: dict[str, Callable] = {"fgsm": fgsm, "bim": bim, "pgd": pgd}
