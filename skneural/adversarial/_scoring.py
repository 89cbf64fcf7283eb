"""Robustness for model selection: the score on adversarial examples, a scorer for
GridSearchCV, and the score along a range of budgets."""

import numpy as np
import pandas as pd

from ._attacks import ATTACKS


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
    if attack not in ATTACKS:
        raise ValueError(f"attack must be one of {sorted(ATTACKS)}; got {attack!r}.")
    X_adv = ATTACKS[attack](estimator, X, y, eps=eps, **attack_params)
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
