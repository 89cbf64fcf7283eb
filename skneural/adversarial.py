"""Adversarial examples for skneural estimators and Pipelines ending in one.

The fast gradient sign method (Goodfellow, Shlens & Szegedy, 2015) moves each input
by ``eps`` in the direction that increases the model's loss fastest::

    x_adv = x + eps * sign(grad_x J(theta, x, y))

Here ``J`` is the estimator's own training loss, the gradient comes from
``tf.GradientTape`` on the fitted Keras network (compiled, in a workspace reused across
attacks on networks of one shape, as training reuses it), and when the estimator is the last
step of a Pipeline the earlier steps are rewritten as TensorFlow ops
(:mod:`skneural._differentiable`), so that the gradient and the perturbation live in
the pipeline's ORIGINAL input space: ``eps`` is in the units of the raw features.

Public functions: :func:`fgsm`, its iterative forms :func:`bim` and :func:`pgd`, and
for model selection :func:`robust_score`, :func:`make_adversarial_scorer` and
:func:`robustness_curve`.

Conventions shared by every attack:

- ``eps`` is one budget or one per feature (tabular features have different scales).
  With per-feature budgets the step is the steepest ascent for the norm of
  ``(x_adv - x) / eps``: ``eps * sign(g)`` for ``norm=np.inf``,
  ``eps * s / ||s||_2`` with ``s = eps * g`` for ``norm=2``, and for ``norm=1`` the
  whole budget on the feature with the largest ``|eps * g|`` (shared equally on ties).
  A zero gradient gives no step.
- ``mask`` (booleans per feature, or per sample and feature) names the features that
  may change; the gradient is masked before the step is normalised, so an L2 or L1
  budget is spent on allowed features only. Columns that feed a frozen branch of a
  ColumnTransformer (an encoder, say) never change.
- ``clip`` bounds the result: ``(low, high)`` scalars or per-feature arrays, or
  ``'data'`` for the per-feature range the estimator saw in ``fit``. Features
  outside the mask are never changed, not even by clipping.
- Integer columns move by whole units only (the step is truncated toward zero, so
  it stays within the budget); boolean and non-numeric columns never move.
- The result has the type of ``X``: an array of its dtype, or a DataFrame with its
  columns, index and dtypes.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
import tensorflow as tf
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

from ._classifier import MLPClassifierX
from ._compat import validate_data
from ._differentiable import differentiable
from ._fitted import network_of
from ._regressor import MLPRegressorX

_NORMS = (np.inf, 1, 2)


# -- what is attacked ----------------------------------------------------------------


class _Target:
    """The attacked model: a fitted skneural estimator, maybe behind transforms.

    Turns the user's ``X`` into a float64 matrix of the original columns and knows
    which of them may move, and computes the loss gradient with respect to it.
    """

    def __init__(self, estimator, X):
        if sp.issparse(X):
            raise TypeError(
                "Adversarial attacks take dense X: the perturbation of a sparse matrix "
                "is dense. Pass X.toarray()."
            )
        if isinstance(estimator, Pipeline):
            final = estimator.steps[-1][1]
            steps = estimator.steps[:-1]
        else:
            final, steps = estimator, []
        if not isinstance(final, MLPClassifierX | MLPRegressorX):
            raise TypeError(
                "The attacked model must be an MLPClassifierX or MLPRegressorX, or a "
                f"Pipeline ending in one; got {type(final).__name__}."
            )
        self.network = network_of(final)
        self.estimator, self.final = estimator, final
        self.rows = X
        if steps:
            # Refuse a step that cannot be differentiated before looking at X.
            self.transform = differentiable(Pipeline(steps), np.shape(X)[1], "pipeline")
            self.x = _numeric_matrix(X, estimator)
            self.movable = self.transform.movable.copy()
        else:
            # Read only: the attack writes its result to a copy.
            self.x = validate_data(final, X, dtype=np.float64, reset=False)
            self.transform = None
            self.movable = np.ones(self.x.shape[1], dtype=bool)
        self.movable &= _movable_dtypes(X, self.x.shape[1])
        self._network_gradient = None

    @property
    def n_features(self) -> int:
        return self.x.shape[1]

    def labels(self, y) -> np.ndarray:
        """The loss's targets for ``y``, or for the model's own predictions."""
        if y is None:
            y = self.estimator.predict(self.rows)
        return self.network.targets.encode(y)

    @contextmanager
    def compiled(self) -> Iterator[None]:
        """Within the block, :meth:`gradient` runs the network's part in a compiled
        function of a pooled workspace (:mod:`skneural._pool`): traced once per
        network shape and process, loaded with the estimator's weights, which it
        leaves untouched."""
        with self.network.input_gradients() as gradient:
            self._network_gradient = gradient
            try:
                yield
            finally:
                self._network_gradient = None

    def gradient(self, x: np.ndarray, rows, Y: np.ndarray) -> np.ndarray:
        """d(sum of per-sample losses)/dx: one row per sample, since rows never mix
        (the network runs in inference mode). Only inside :meth:`compiled`."""
        if self.transform is None:
            return self._network_gradient(x, Y).astype(x.dtype)
        # The pipeline's steps in eager TensorFlow; the network's gradient flows back
        # through them (chain rule with the network's gradient as the output's).
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            z = self.transform(x, rows)
        upstream = self._network_gradient(z.numpy(), Y)
        return tape.gradient(z, x, output_gradients=tf.cast(upstream, z.dtype)).numpy()

    def data_range(self) -> tuple[np.ndarray, np.ndarray]:
        if self.transform is not None:
            raise ValueError(
                "clip='data' uses the feature range the estimator saw in fit, which for "
                "a Pipeline is in the transformed space, not the input space. Pass "
                "clip=(X_train.min(axis=0), X_train.max(axis=0)) instead."
            )
        return self.network.input_range


def _numeric_matrix(X, pipeline) -> np.ndarray:
    """Float64 values of every column (non-numeric ones as 0)."""
    first = pipeline.steps[0][1]
    expected = getattr(pipeline, "n_features_in_", None)
    if isinstance(X, pd.DataFrame):
        names = getattr(first, "feature_names_in_", None)
        if names is not None and list(X.columns) != list(names):
            raise ValueError(
                "The columns of X must be those the pipeline was fitted on, in the same "
                f"order: {list(names)}; got {list(X.columns)}."
            )
        values = np.zeros(X.shape, dtype=np.float64)
        for j in np.flatnonzero(_movable_dtypes(X, X.shape[1])):
            values[:, j] = X.iloc[:, j].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(f"X must be 2-D, got an array of shape {array.shape}.")
        try:
            values = array.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "X holds non-numeric values; pass a DataFrame so that its numeric "
                "columns can be attacked and the others kept."
            ) from None
    if expected is not None and values.shape[1] != expected:
        raise ValueError(
            f"X has {values.shape[1]} features, but the pipeline was fitted on {expected}."
        )
    return values


def _movable_dtypes(X, n_features: int) -> np.ndarray:
    """Boolean and non-numeric columns never move."""
    if isinstance(X, pd.DataFrame):
        return np.array(
            [
                pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
                for t in X.dtypes
            ]
        )
    dtype = np.asarray(X).dtype if not hasattr(X, "dtype") else X.dtype
    return np.full(n_features, dtype.kind in "iuf")


# -- checks of the attack parameters -------------------------------------------------


def _per_feature(value, n_features: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return np.full(n_features, float(array))
    if array.shape != (n_features,):
        raise ValueError(
            f"{name} must be a scalar or one value per feature ({n_features}); got an "
            f"array of shape {array.shape}."
        )
    return array


def _check_eps(eps, n_features: int, name: str = "eps") -> np.ndarray:
    if isinstance(eps, bool) or not (isinstance(eps, Real) or np.ndim(eps) == 1):
        raise TypeError(f"{name} must be a number or one number per feature; got {eps!r}.")
    values = _per_feature(eps, n_features, name)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{name} must be finite and >= 0; got {eps!r}.")
    return values


def _check_norm(norm) -> float:
    if norm in ("inf", np.inf) or norm in _NORMS:
        return np.inf if norm == "inf" else float(norm)
    raise ValueError(f"norm must be np.inf, 1 or 2; got {norm!r}.")


def _check_mask(mask, n_samples: int, n_features: int) -> np.ndarray:
    if mask is None:
        return np.ones((n_samples, n_features), dtype=bool)
    array = np.asarray(mask)
    if array.dtype != bool:
        raise TypeError(f"mask must hold booleans; got dtype {array.dtype}.")
    if array.shape == (n_features,):
        return np.broadcast_to(array, (n_samples, n_features))
    if array.shape == (n_samples, n_features):
        return array
    raise ValueError(
        f"mask must have shape ({n_features},) or ({n_samples}, {n_features}); got {array.shape}."
    )


def _check_clip(clip, target: _Target) -> tuple[np.ndarray, np.ndarray] | None:
    if clip is None:
        return None
    if isinstance(clip, str):
        if clip != "data":
            raise ValueError(f"clip must be None, (low, high) or 'data'; got {clip!r}.")
        return target.data_range()
    if not isinstance(clip, Sequence) or len(clip) != 2:
        raise ValueError(f"clip must be None, (low, high) or 'data'; got {clip!r}.")
    low = _per_feature(clip[0], target.n_features, "clip's low bound")
    high = _per_feature(clip[1], target.n_features, "clip's high bound")
    if np.any(low > high):
        bad = int(np.flatnonzero(low > high)[0])
        raise ValueError(
            f"clip's low bound must not exceed its high bound; feature {bad} has low "
            f"{low[bad]} > high {high[bad]}."
        )
    return low, high


# -- the steps -----------------------------------------------------------------------


def _steepest_ascent(gradient: np.ndarray, scale: np.ndarray, norm: float) -> np.ndarray:
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


def _project(delta: np.ndarray, eps: np.ndarray, norm: float) -> np.ndarray:
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
        u = _project_l1_ball(u)
    return u * eps


def _project_l1_ball(u: np.ndarray) -> np.ndarray:
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


def _random_start(rng, shape, eps, norm, mask) -> np.ndarray:
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


# -- the attacks ---------------------------------------------------------------------


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
    random_start: bool,
    random_state,
):
    target = _Target(estimator, X)
    if not is_classifier(target.final) and y is None:
        raise ValueError(
            "y is required to attack a regressor: at the model's own prediction the "
            "loss is at its minimum and its gradient is zero."
        )
    if targeted and y is None:
        raise ValueError("targeted=True moves toward the given y, so y is required.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    n_samples, n_features = target.x.shape
    eps = _check_eps(eps, n_features)
    norm = _check_norm(norm)
    step = eps if step_size is None else _check_eps(step_size, n_features, "step_size")
    allowed = _check_mask(mask, n_samples, n_features) & target.movable
    bounds = _check_clip(clip, target)
    if y is not None and len(y) != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {len(y)}.")
    Y = target.labels(y)
    rng = np.random.default_rng(random_state)
    sign = -1.0 if targeted else 1.0

    x0 = target.x
    x_adv = x0.copy()
    with target.compiled():
        for start in range(0, n_samples, batch_size):
            rows = slice(start, start + batch_size)
            x, ok = x0[rows], allowed[rows]
            batch_rows = _rows(X, rows)
            delta = np.zeros_like(x)
            if random_start:
                delta = _bounded(x + _random_start(rng, x.shape, eps, norm, ok), bounds) - x
            for _ in range(n_iter):
                gradient = target.gradient(x + delta, batch_rows, Y[rows])
                gradient = np.where(ok, np.nan_to_num(gradient), 0.0)
                delta = delta + sign * _steepest_ascent(gradient, step, norm)
                if n_iter > 1 or random_start:
                    delta = _project(delta, eps, norm)
                delta = _bounded(x + delta, bounds) - x
            x_adv[rows] = _bounded(x + delta, bounds)
    return _like(X, x0, x_adv, allowed)


def _bounded(x: np.ndarray, bounds) -> np.ndarray:
    return x if bounds is None else np.clip(x, bounds[0], bounds[1])


def _rows(X, rows: slice):
    return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]


def _like(X, x0: np.ndarray, x_adv: np.ndarray, allowed: np.ndarray):
    """``x_adv`` in the type of ``X`` (features not allowed keep their values exactly);
    integer columns move by whole units toward x0."""
    moved = np.where(allowed, x_adv, x0)
    if isinstance(X, pd.DataFrame):
        out = X.copy()
        for j, dtype in enumerate(X.dtypes):
            if not allowed[:, j].any():
                continue
            if pd.api.types.is_integer_dtype(dtype):
                step = np.trunc(moved[:, j] - x0[:, j]).astype(np.int64)
                values = X.iloc[:, j].to_numpy() + step
            else:
                values = moved[:, j]
            out.isetitem(j, pd.Series(values, index=X.index).astype(dtype))
        return out
    array = np.asarray(X)
    if array.dtype.kind == "b":
        return array.copy()  # boolean features never move
    if array.dtype.kind in "iu":
        return (array + np.trunc(moved - x0)).astype(array.dtype)
    return moved.astype(array.dtype if array.dtype.kind == "f" else np.float64)


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
        batch_size=batch_size, n_iter=1, step_size=None, random_start=False,
        random_state=None,
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
    if not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive integer; got {n_iter!r}.")
    if step_size is None:
        step_size = 2.5 * np.asarray(eps, dtype=np.float64) / n_iter
    return _attack(
        estimator, X, y, eps=eps, norm=norm, targeted=targeted, clip=clip, mask=mask,
        batch_size=batch_size, n_iter=n_iter, step_size=step_size,
        random_start=random_start, random_state=random_state,
    )  # fmt: skip


#: The attacks by name, for the scoring helpers.
_ATTACKS: dict[str, Callable] = {"fgsm": fgsm, "bim": bim, "pgd": pgd}


# -- model selection -----------------------------------------------------------------


def robust_score(estimator, X, y, eps, *, attack: str = "fgsm", metric=None, **attack_params):
    """The score on adversarial examples made against the true ``y``.

    Parameters
    ----------
    estimator : MLPClassifierX, MLPRegressorX or Pipeline ending in one
        Fitted.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The evaluation inputs.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Their true labels or targets; the attack increases their loss.
    eps : float or array-like of shape (n_features,)
        The attack's budget (see :func:`fgsm`).
    attack : {'fgsm', 'bim', 'pgd'}, default='fgsm'
        The attack.
    metric : callable or None, default=None
        ``metric(y_true, y_pred)``; None uses ``estimator.score`` (accuracy for
        classifiers, R² for regressors).
    **attack_params
        Passed to the attack (``norm``, ``clip``, ``mask``, ``n_iter``, ...).

    Returns
    -------
    score : float

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skneural import MLPClassifierX
    >>> from skneural.adversarial import robust_score
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> clf = MLPClassifierX((16,), max_iter=300, random_state=0).fit(X, y)
    >>> bool(robust_score(clf, X, y, eps=0.5) < clf.score(X, y))
    True
    """
    if attack not in _ATTACKS:
        raise ValueError(f"attack must be one of {sorted(_ATTACKS)}; got {attack!r}.")
    X_adv = _ATTACKS[attack](estimator, X, y, eps=eps, **attack_params)
    if metric is None:
        return float(estimator.score(X_adv, y))
    return float(metric(y, estimator.predict(X_adv)))


def robust_accuracy(estimator, X, y, eps, *, attack: str = "fgsm", **attack_params) -> float:
    """Accuracy of a classifier on adversarial examples made against the true ``y``.

    See :func:`robust_score`; this is it with ``metric=accuracy_score``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skneural import MLPClassifierX
    >>> from skneural.adversarial import robust_accuracy
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> clf = MLPClassifierX((16,), max_iter=300, random_state=0).fit(X, y)
    >>> 0.0 <= robust_accuracy(clf, X, y, eps=0.5) < clf.score(X, y)
    True
    """
    from sklearn.metrics import accuracy_score

    return robust_score(estimator, X, y, eps, attack=attack, metric=accuracy_score, **attack_params)


def make_adversarial_scorer(eps, *, metric=None, attack: str = "fgsm", **attack_params):
    """A ``scoring=`` callable for GridSearchCV / cross_validate: the robust score.

    Parameters
    ----------
    eps : float, array-like of shape (n_features,), or list of them
        With a list, the scorer returns one score per budget, named ``"eps=<value>"``
        (scikit-learn's multi-metric scoring; set ``refit`` to one name).
    metric : callable or None, default=None
        ``metric(y_true, y_pred)``; None uses ``estimator.score``.
    attack : {'fgsm', 'bim', 'pgd'}, default='fgsm'
        The attack.
    **attack_params
        Passed to the attack (``norm``, ``clip``, ``mask``, ``n_iter``, ...).

    Returns
    -------
    scorer : callable ``scorer(estimator, X, y)``

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import cross_val_score
    >>> from skneural import MLPClassifierX
    >>> from skneural.adversarial import make_adversarial_scorer
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> clf = MLPClassifierX((16,), max_iter=100, random_state=0)
    >>> scores = cross_val_score(clf, X, y, cv=3, scoring=make_adversarial_scorer(0.3))
    >>> scores.shape
    (3,)
    """
    budgets = eps if isinstance(eps, list) else None

    def scorer(estimator, X, y):
        if budgets is None:
            return robust_score(estimator, X, y, eps, attack=attack, metric=metric, **attack_params)
        return {
            f"eps={_label(e)}": robust_score(
                estimator, X, y, e, attack=attack, metric=metric, **attack_params
            )
            for e in budgets
        }

    return scorer


def _label(eps) -> str:
    return f"{eps:g}" if np.ndim(eps) == 0 else "[" + ",".join(f"{e:g}" for e in eps) + "]"


def robustness_curve(
    estimator, X, y, eps_values, *, attack: str = "fgsm", metric=None, **attack_params
) -> pd.DataFrame:
    """The robust score at each budget: a DataFrame with columns ``eps``, ``score``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skneural import MLPClassifierX
    >>> from skneural.adversarial import robustness_curve
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> clf = MLPClassifierX((16,), max_iter=300, random_state=0).fit(X, y)
    >>> curve = robustness_curve(clf, X, y, [0.0, 0.2, 0.5])
    >>> list(curve.columns), bool(curve["score"].is_monotonic_decreasing)
    (['eps', 'score'], True)
    """
    scores = [
        robust_score(estimator, X, y, e, attack=attack, metric=metric, **attack_params)
        for e in eps_values
    ]
    return pd.DataFrame({"eps": list(eps_values), "score": scores})
