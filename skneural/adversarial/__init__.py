"""Adversarial examples for skneural estimators and Pipelines ending in one.

The fast gradient sign method (Goodfellow, Shlens & Szegedy, 2015) moves each input
by ``eps`` in the direction that increases the model's loss fastest::

    x_adv = x + eps * sign(grad_x J(theta, x, y))

Here ``J`` is the estimator's own training loss, the gradient comes from
``tf.GradientTape`` on the fitted Keras network (compiled, in a workspace reused across
attacks on networks of one shape, as training reuses it), and when the estimator is the last
step of a Pipeline the earlier steps are rewritten as TensorFlow ops
(:mod:`skneural.adversarial._differentiable`), so that the gradient and the perturbation live in
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
  ColumnTransformer (an encoder, say) never change. An attack under which no value
  of X may change warns, and returns X.
- ``clip`` bounds the result: ``(low, high)`` scalars or per-feature arrays (no
  NaN; -inf and inf leave a side open), or ``'data'`` for the per-feature range the
  estimator saw in ``fit``. Features outside the mask are never changed, not even
  by clipping.
- Integer columns move by whole units only (the step is truncated toward zero, so
  it stays within the budget); object columns that hold only real numbers move as
  floats; boolean columns never move. Fed to an estimator directly, a column that
  holds anything else (text, even numbers as text) is refused: held fixed it would
  overstate robustness. Behind a Pipeline such columns are the encoders' and never
  move.
- The result has the type of ``X``: an array of its dtype, or a DataFrame with its
  columns, index and dtypes.
"""

from ._attacks import bim, fgsm, pgd
from ._scoring import make_adversarial_scorer, robust_accuracy, robust_score, robustness_curve

__all__ = [
    "fgsm",
    "bim",
    "pgd",
    "robust_score",
    "robust_accuracy",
    "make_adversarial_scorer",
    "robustness_curve",
]
