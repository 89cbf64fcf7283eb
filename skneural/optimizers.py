"""Optimizers that Keras does not ship."""

import numbers
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf
from keras import ops


def _check_number(name: str, value: Any, expected: str, ok: Callable[[float], bool]) -> None:
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (is_number and ok(value)):
        raise ValueError(f"`{name}` must be {expected}, got {value!r}")


@keras.saving.register_keras_serializable(package="skneural")
class LARS(keras.optimizers.Optimizer):
    """Layer-wise Adaptive Rate Scaling: momentum SGD with a per-layer trust ratio.

    Each weight matrix gets its own step size, proportional to the ratio of its norm
    to the norm of its gradient, so that no layer moves too far relative to its
    size; this keeps training stable with very large batches (You, Gitman & Ginsburg,
    2017, Algorithm 1).

    For a variable ``w`` with gradient ``g``, global learning rate ``lr``, momentum
    ``m``, weight decay ``beta`` and trust coefficient ``eta``::

        ratio = eta * ||w|| / (||g|| + beta * ||w||)    # 1 if ||w|| == 0 or ||g|| == 0
        step = lr * ratio * (g + beta * w)
        v = m * v + step
        w = w - v                                       # nesterov: w = w - (m * v + step)

    where ``||.||`` is the L2 norm over the whole variable. Only variables with two or
    more dimensions (kernels) are adapted and decayed. Variables with at most one
    dimension (biases, batch-normalization ``gamma`` and ``beta``) are excluded from
    both: for them ``step = lr * g``, that is, plain momentum SGD.

    Weight decay happens only inside this rule: the decoupled weight decay of Keras's
    base optimizer is switched off, and with it ``exclude_from_weight_decay()``, which
    has no effect here.

    Parameters
    ----------
    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule, default=0.01
        Global learning rate ``lr``, > 0; a schedule is evaluated at every step.
    momentum : float, default=0.9
        Momentum ``m``, in [0, 1). With 0 no velocity is kept.
    nesterov : bool, default=False
        Whether to use Nesterov momentum.
    weight_decay : float, default=0.0
        L2 weight decay ``beta`` of the kernels, >= 0.
    eta : float, default=0.001
        Trust coefficient ``eta``, > 0: how far, relative to its norm, one step may
        move a kernel.
    clipnorm, clipvalue, global_clipnorm : float or None, default=None
        Gradient clipping, as in every Keras optimizer; at most one may be set. Clipping
        happens before the trust ratio is computed.
    name : str, default="lars"
        Name of the optimizer, used for its variables.
    **kwargs
        Further arguments of ``keras.optimizers.Optimizer`` (``use_ema``,
        ``loss_scale_factor``, ``gradient_accumulation_steps``, ...).

    Attributes
    ----------
    momentum : float
        The momentum ``m``.
    nesterov : bool
        Whether Nesterov momentum is used.
    eta : float
        The trust coefficient.
    lars_weight_decay : float
        The weight decay ``beta`` of the rule above. (``weight_decay`` is always None:
        that attribute belongs to the base class's decoupled decay, which is off.)
    velocities : list of keras.Variable
        One velocity ``v`` per trained variable; empty when ``momentum`` is 0.

    References
    ----------
    Y. You, I. Gitman and B. Ginsburg, "Large Batch Training of Convolutional
    Networks", arXiv:1708.03888, 2017.

    Examples
    --------
    One step on a kernel (``||w|| = 5``, ``||g|| = 2``, so the ratio is
    ``0.1 * 5 / 2 = 0.25``) and on a bias (plain SGD):

    >>> import keras
    >>> from skneural.optimizers import LARS
    >>> kernel = keras.Variable([[3.0, 0.0], [0.0, 4.0]])
    >>> bias = keras.Variable([1.0, 1.0])
    >>> optimizer = LARS(learning_rate=0.1, momentum=0.9, eta=0.1)
    >>> optimizer.apply([keras.ops.ones((2, 2)), keras.ops.ones((2,))], [kernel, bias])
    >>> print(keras.ops.convert_to_numpy(kernel).round(4))
    [[ 2.975 -0.025]
     [-0.025  3.975]]
    >>> print(keras.ops.convert_to_numpy(bias).round(4))
    [0.9 0.9]
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 0.01,
        momentum: float = 0.9,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        eta: float = 0.001,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str = "lars",
        **kwargs: Any,
    ):
        if isinstance(learning_rate, numbers.Real):
            _check_number("learning_rate", learning_rate, "> 0", lambda x: x > 0)
            # The base class accepts only a Python float, not an int or a numpy scalar.
            learning_rate = float(learning_rate)
        _check_number("momentum", momentum, "a number in [0, 1)", lambda x: 0 <= x < 1)
        _check_number("weight_decay", weight_decay, "a number >= 0", lambda x: x >= 0)
        _check_number("eta", eta, "a number > 0", lambda x: x > 0)
        # The base class would also decay every variable on its own (decoupled, and
        # biases included) whenever its `weight_decay` is set; LARS decays inside its
        # rule only, so the base class gets None and our coefficient another name.
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=None,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            **kwargs,
        )
        self.momentum = momentum
        self.nesterov = nesterov
        self.eta = eta
        self.lars_weight_decay = weight_decay

    def build(self, variables: list[keras.Variable]) -> None:
        """Create one velocity per variable (none when ``momentum`` is 0)."""
        if self.built:
            return
        super().build(variables)
        self.velocities = []
        if self.momentum > 0:
            self.velocities = self.add_optimizer_variables(variables, "velocity")

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        """Apply one LARS step to ``variable``."""
        dtype = variable.dtype
        learning_rate = ops.cast(learning_rate, dtype)
        # `ops.cast` would take a Python float through float32 first; a float64
        # variable needs its hyperparameters converted in float64 directly.
        decay = ops.convert_to_tensor(self.lars_weight_decay, dtype)
        momentum = ops.convert_to_tensor(self.momentum, dtype)
        eta = ops.convert_to_tensor(self.eta, dtype)
        # Embeddings get sparse gradients (tf.IndexedSlices) whose rows may repeat an
        # index; the norm is that of their dense sum, so make them dense first.
        gradient = ops.cast(tf.convert_to_tensor(gradient), dtype)
        # The number of dimensions is static, also in graph mode, so which rule a
        # variable follows is decided in Python once, when the step is traced.
        if len(variable.shape) >= 2:
            ratio = self._trust_ratio(gradient, variable, decay, eta)
            step = learning_rate * ratio * (gradient + decay * variable)
        else:
            step = learning_rate * gradient

        if self.momentum == 0:
            self.assign_sub(variable, step)
            return
        velocity = self.velocities[self._get_variable_index(variable)]
        # Use the new velocity as a tensor rather than reading the variable back, so
        # the result does not depend on how the graph orders the read and the write.
        new_velocity = momentum * velocity + step
        self.assign(velocity, new_velocity)
        if self.nesterov:
            self.assign_sub(variable, momentum * new_velocity + step)
        else:
            self.assign_sub(variable, new_velocity)

    def _trust_ratio(self, gradient: Any, variable: Any, decay: Any, eta: Any) -> Any:
        weight_norm = ops.sqrt(ops.sum(ops.square(variable)))
        gradient_norm = ops.sqrt(ops.sum(ops.square(gradient)))
        ratio = eta * weight_norm / (gradient_norm + decay * weight_norm)
        # A zero-initialised layer or a zero gradient would give a ratio of 0 (or 0/0);
        # fall back to the plain global learning rate instead.
        both_positive = ops.logical_and(ops.greater(weight_norm, 0), ops.greater(gradient_norm, 0))
        return ops.where(both_positive, ratio, ops.ones_like(ratio))

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, ``weight_decay`` being LARS's own."""
        config = super().get_config()
        config.update(
            {
                "momentum": self.momentum,
                "nesterov": self.nesterov,
                "weight_decay": self.lars_weight_decay,
                "eta": self.eta,
            }
        )
        return config
