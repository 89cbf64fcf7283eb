"""scikit-learn's training objective in TensorFlow, written once for every solver.

The loss of a batch is the sample-weighted mean of the per-sample loss plus
``(alpha / 2 * ||W||^2 + l1 * |W|_1) / sum(batch weights)`` over the Dense kernels
(biases and batch-norm parameters are not penalised). The compiled epoch
(:mod:`skneural._step`) and L-BFGS (:mod:`skneural._flat_objective`) build their
losses from these two functions, so every solver minimises the same function.
"""

import functools
from collections.abc import Callable, Sequence

import tensorflow as tf

from ._plan import Objective
from ._registry import LOSSES


def per_sample_loss(objective: Objective) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """``objective``'s per-sample loss of (encoded targets, logits), its options bound."""
    return functools.partial(LOSSES[objective.loss].per_sample, **dict(objective.loss_options))


def penalty(kernels: Sequence[tf.Tensor], alpha: tf.Tensor, l1: tf.Tensor) -> tf.Tensor:
    """``alpha / 2 * ||W||^2 + l1 * |W|_1`` over ``kernels`` (not yet divided by the
    batch's weight)."""
    squares = tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels])
    absolutes = tf.add_n([tf.reduce_sum(tf.abs(k)) for k in kernels])
    return 0.5 * alpha * squares + l1 * absolutes
