"""The optimizer step of scikit-learn's two solvers written out for the compiled epoch.

Keras's ``optimizer.apply`` recomputes the step's scalars (the learning rate's cast,
Adam's bias corrections) once per variable and wraps each variable's update in
``tf.distribute`` machinery. Inside :mod:`skneural._epoch`'s graph that makes most of
the trace: a (64, 64) network's Adam step was 27% of its trace's Python time, and the
graph grappler then optimises on the first call grows with it. :func:`direct_update`
computes the scalars once per step and updates every variable with the very ops of
Keras's ``update_step`` (``keras.ops``, in the same order), so the values are equal to
the last bit; ``tests/test_compiled.py`` checks that against ``optimizer.apply``.

Only plain Adam and SGD (scikit-learn's ``solver`` values) on one replica take this
path: with weight decay, clipping, a moving average, gradient accumulation, a loss
scale or AMSGrad, and for every other optimizer, the epoch calls ``optimizer.apply``.
"""

from collections.abc import Callable, Sequence

import keras
from keras import ops


def direct_update(optimizer: keras.optimizers.Optimizer) -> Callable | None:
    """``update(grads, variables)`` equal to ``optimizer.apply(grads, variables)``, or
    None where this module does not write the optimizer out."""
    if type(optimizer) not in _STEPS or not _plain(optimizer):
        return None
    step = _STEPS[type(optimizer)]

    def update(grads: Sequence, variables: Sequence) -> None:
        step(optimizer, grads, variables)
        optimizer.iterations.assign_add(1)

    return update


def _plain(optimizer: keras.optimizers.Optimizer) -> bool:
    """No option that makes ``apply`` do more than ``update_step`` on each variable."""
    return not (
        optimizer.weight_decay
        or optimizer.clipnorm
        or optimizer.clipvalue
        or optimizer.global_clipnorm
        or optimizer.use_ema
        or optimizer.gradient_accumulation_steps
        or optimizer.loss_scale_factor is not None
        or getattr(optimizer, "amsgrad", False)
    )


def _adam(optimizer: keras.optimizers.Adam, grads: Sequence, variables: Sequence) -> None:
    # keras.optimizers.Adam.update_step, with the scalars taken out of the loop.
    dtype = variables[0].dtype
    lr = ops.cast(optimizer.learning_rate, dtype)
    local_step = ops.cast(optimizer.iterations + 1, dtype)
    beta_1_power = ops.power(ops.cast(optimizer.beta_1, dtype), local_step)
    beta_2_power = ops.power(ops.cast(optimizer.beta_2, dtype), local_step)
    alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    for gradient, variable in zip(grads, variables, strict=True):
        index = optimizer._get_variable_index(variable)
        m, v = optimizer._momentums[index], optimizer._velocities[index]
        gradient = ops.cast(gradient, variable.dtype)
        optimizer.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - optimizer.beta_1))
        optimizer.assign_add(
            v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - optimizer.beta_2)
        )
        optimizer.assign_sub(
            variable,
            ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), optimizer.epsilon)),
        )


def _sgd(optimizer: keras.optimizers.SGD, grads: Sequence, variables: Sequence) -> None:
    # keras.optimizers.SGD.update_step, with the scalars taken out of the loop.
    dtype = variables[0].dtype
    learning_rate = ops.cast(optimizer.learning_rate, dtype)
    momentum = ops.cast(optimizer.momentum, dtype) if optimizer.momentum != 0 else None
    for gradient, variable in zip(grads, variables, strict=True):
        gradient = ops.cast(gradient, variable.dtype)
        step = ops.multiply(gradient, learning_rate)
        if momentum is None:
            optimizer.assign_sub(variable, step)
            continue
        m = optimizer.momentums[optimizer._get_variable_index(variable)]
        optimizer.assign(m, ops.subtract(ops.multiply(m, momentum), step))
        if optimizer.nesterov:
            optimizer.assign_add(variable, ops.subtract(ops.multiply(m, momentum), step))
        else:
            optimizer.assign_add(variable, m)


_STEPS: dict[type, Callable] = {keras.optimizers.Adam: _adam, keras.optimizers.SGD: _sgd}
