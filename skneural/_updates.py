"""Optimizer steps written out for the compiled epoch, equal to Keras's to the last bit.

Keras's ``optimizer.apply`` recomputes the step's scalars (the learning rate's cast,
Adam's bias corrections) once per variable and wraps each variable's update in
``tf.distribute`` machinery. Inside :mod:`skneural._epoch`'s graph that makes most of
the trace: a (64, 64) network's Adam step was 27% of its trace's Python time, and the
graph grappler then optimises on the first call grows with it. An :class:`UpdateRule`
computes the scalars once per step and updates every variable with the very ops of
Keras's ``apply`` (decoupled weight decay, then ``update_step``: ``keras.ops``, in the
same order), so the values are equal to the last bit; ``tests/test_updates.py`` checks
that against ``optimizer.apply``.

A rule reads its numbers (``beta_1``, ``momentum``, ...) from a mapping: the Keras
workspace passes the optimizer's own Python floats (:func:`direct_update`), the
width-free workspace (:mod:`skneural._shapeless`) variables holding the same values
in the network's dtype, so that one graph serves every setting of the numbers.

Adam, AdamW, SGD (plain, momentum, Nesterov), RMSprop (without momentum, not
centered) and Adagrad on one replica take this path; with clipping, a moving average,
gradient accumulation, a loss scale, AMSGrad or weight decay exclusions, and for every
other optimizer, the epoch calls ``optimizer.apply``.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import ops


@dataclass(frozen=True)
class UpdateRule:
    """One optimizer's step: its numbers, its slots, and the step itself.

    ``structure`` tells apart what changes the step's ops (the kind of step, SGD with
    or without momentum, Nesterov, weight decay); ``numbers`` maps each number the
    step reads to its value as Keras uses it (a Python float); every slot starts at
    ``start`` (Adagrad's initial accumulator value; zero for the others).
    """

    structure: tuple
    numbers: dict
    start: float = 0.0

    @property
    def n_slots(self) -> int:
        """Slot variables per weight: Adam's two moments, SGD's momentum if it has one,
        RMSprop's mean square, Adagrad's accumulator."""
        kind = self.structure[0]
        return 2 if kind == "adam" else int(self.structure[1]) if kind == "sgd" else 1

    def initial_slots(self, weights: Sequence[np.ndarray]) -> list[np.ndarray]:
        """A new optimizer's slots for ``weights``, one kind after the other (Keras's
        ``Constant`` initializer casts its Python float, a float32 first: see
        :meth:`values`)."""
        start = np.float32(self.start)
        return [np.full_like(w, start) for _ in range(self.n_slots) for w in weights]

    def apply(self, grads, variables, slots, numbers: Mapping, learning_rate, iterations) -> None:
        """Update ``variables`` (and their ``slots``) by ``grads``, reading the rule's
        numbers from ``numbers``; the caller counts the step in ``iterations``."""
        if self.structure[-1]:
            weight_decay(variables, numbers, learning_rate)
        kind, *options = self.structure[:-1]
        _STEPS[kind](grads, variables, slots, numbers, learning_rate, iterations, *options)

    def decrement(self, grad, slots, numbers: Mapping, learning_rate, iterations):
        """The step (without weight decay) on one flat vector of every weight:
        updates the flat ``slots`` and returns what to subtract from the weights, the
        very values Keras's step subtracts (or adds, negated: ``w - (-a) == w + a``
        exactly)."""
        weights = _Decrement(grad.dtype)
        kind, *options = self.structure[:-1]
        _STEPS[kind]([grad], [weights], slots, numbers, learning_rate, iterations, *options)
        return weights.amount

    def values(self, dtype: str) -> dict[str, np.ndarray]:
        """The numbers as the step's graph computes with them in a network of
        ``dtype``: those the step casts (``ops.cast`` of a Python float, which
        TensorFlow makes a float32 first, whatever Keras's floatx) pass through float32,
        the others convert straight to ``dtype``."""
        return {
            name: np.asarray(np.asarray(value, np.float32) if name in _CAST else value, dtype)
            for name, value in self.numbers.items()
        }

    def slots(self, optimizer: keras.optimizers.Optimizer, variables: Sequence) -> list[list]:
        """The optimizer's slot variables for ``variables``, one list per kind,
        aligned with ``variables``."""
        index = optimizer._get_variable_index
        kinds = _SLOTS[self.structure[0]](optimizer)
        return [[kind[index(v)] for v in variables] for kind in kinds]


#: The steps one width-free graph picks from by a graph input on small data
#: (:mod:`skneural._shapeless`), each as ``structure`` names it without its weight
#: decay: Adam, and SGD with Nesterov momentum, with momentum and without: what a
#: grid over scikit-learn's ``solver`` and ``momentum`` tries. RMSprop and Adagrad
#: each train on a graph of their own: their ``x / sqrt(y)`` becomes
#: ``x * rsqrt(y)`` in grappler, whose float32 kernel rounds an element by its place
#: in its tensor, so on one flat vector they would not give Keras's bits, and taking
#: them weight by weight in the switch cost every switched graph's compile ~25%.
SWITCHED_STEPS = (("adam",), ("sgd", True, True), ("sgd", True, False), ("sgd", False, False))


def number_names(structure: tuple) -> tuple[str, ...]:
    """The numbers the step of ``structure`` reads (its rule's ``numbers`` keys)."""
    names = _NUMBERS.get(structure[0])
    if names is None:  # SGD
        names = ("momentum",) if structure[1] else ()
    return (*names, *(("weight_decay",) if structure[-1] else ()))


def switched_rules(weight_decay: bool) -> list[UpdateRule]:
    """A rule of each of :data:`SWITCHED_STEPS`, with or without weight decay, to
    step with (their numbers are read from the mapping ``apply`` is given)."""
    return [UpdateRule((*kind, weight_decay), {}) for kind in SWITCHED_STEPS]


def update_rule(optimizer: keras.optimizers.Optimizer) -> UpdateRule | None:
    """The written-out step of ``optimizer``, or None where this module has none."""
    kind = _KINDS.get(type(optimizer))
    if kind is None or not _plain(optimizer):
        return None
    if kind == "sgd":
        structure = ("sgd", optimizer.momentum != 0, bool(optimizer.nesterov))
    elif kind == "rmsprop" and (optimizer.momentum > 0 or optimizer.centered):
        return None
    else:
        structure = (kind,)
    structure = (*structure, bool(optimizer.weight_decay))
    return UpdateRule(
        structure,
        {name: _number(optimizer, name) for name in number_names(structure)},
        float(getattr(optimizer, "initial_accumulator_value", 0.0)),
    )


def _number(optimizer: keras.optimizers.Optimizer, name: str) -> float:
    # Keras's steps compute 1 - beta as a Python float, before any cast.
    if name.startswith("one_minus_"):
        return 1 - getattr(optimizer, name.removeprefix("one_minus_"))
    return getattr(optimizer, name)


def direct_update(optimizer: keras.optimizers.Optimizer) -> Callable | None:
    """``update(grads, variables)`` equal to ``optimizer.apply(grads, variables)``, or
    None where this module does not write the optimizer out."""
    rule = update_rule(optimizer)
    if rule is None:
        return None

    def update(grads: Sequence, variables: Sequence) -> None:
        slots = rule.slots(optimizer, variables)
        rule.apply(
            grads, variables, slots, rule.numbers, optimizer.learning_rate, optimizer.iterations
        )
        optimizer.iterations.assign_add(1)

    return update


def _plain(optimizer: keras.optimizers.Optimizer) -> bool:
    """No option that makes ``apply`` do more than weight decay and ``update_step``."""
    return not (
        optimizer.clipnorm
        or optimizer.clipvalue
        or optimizer.global_clipnorm
        or optimizer.use_ema
        or optimizer.gradient_accumulation_steps
        or optimizer.loss_scale_factor is not None
        or getattr(optimizer, "amsgrad", False)
        or getattr(optimizer, "_exclude_from_weight_decay", None)
        or getattr(optimizer, "_exclude_from_weight_decay_pattern", None)
    )


class _Decrement:
    """Stands for the weights in a step: keeps what the step would take from them."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.amount = None

    def assign_sub(self, value) -> None:
        self.amount = value

    def assign_add(self, value) -> None:
        self.amount = ops.negative(value)


def weight_decay(variables: Sequence, numbers: Mapping, learning_rate) -> None:
    # Keras's _apply_weight_decay (TensorFlow backend), before the update step.
    for variable in variables:
        lr = ops.cast(learning_rate, variable.dtype)
        wd = ops.cast(numbers["weight_decay"], variable.dtype)
        variable.assign_sub(variable * wd * lr)


def _adam(grads, variables, slots, numbers: Mapping, learning_rate, iterations) -> None:
    # keras.optimizers.Adam.update_step, with the scalars taken out of the loop.
    dtype = variables[0].dtype
    lr = ops.cast(learning_rate, dtype)
    local_step = ops.cast(iterations + 1, dtype)
    beta_1_power = ops.power(ops.cast(numbers["beta_1"], dtype), local_step)
    beta_2_power = ops.power(ops.cast(numbers["beta_2"], dtype), local_step)
    alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    for gradient, variable, m, v in zip(grads, variables, *slots, strict=True):
        gradient = ops.cast(gradient, variable.dtype)
        m.assign_add(ops.multiply(ops.subtract(gradient, m), numbers["one_minus_beta_1"]))
        v.assign_add(
            ops.multiply(ops.subtract(ops.square(gradient), v), numbers["one_minus_beta_2"])
        )
        variable.assign_sub(
            ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), numbers["epsilon"]))
        )


def _sgd(
    grads, variables, slots, numbers: Mapping, learning_rate, iterations, has_momentum, nesterov
) -> None:
    # keras.optimizers.SGD.update_step, with the scalars taken out of the loop.
    dtype = variables[0].dtype
    learning_rate = ops.cast(learning_rate, dtype)
    if not has_momentum:
        for gradient, variable in zip(grads, variables, strict=True):
            variable.assign_sub(ops.multiply(ops.cast(gradient, variable.dtype), learning_rate))
        return
    momentum = ops.cast(numbers["momentum"], dtype)
    for gradient, variable, m in zip(grads, variables, *slots, strict=True):
        step = ops.multiply(ops.cast(gradient, variable.dtype), learning_rate)
        m.assign(ops.subtract(ops.multiply(m, momentum), step))
        if nesterov:
            variable.assign_add(ops.subtract(ops.multiply(m, momentum), step))
        else:
            variable.assign_add(m)


def _rmsprop(grads, variables, slots, numbers: Mapping, learning_rate, iterations) -> None:
    # keras.optimizers.RMSprop.update_step without momentum, not centered.
    lr = ops.cast(learning_rate, variables[0].dtype)
    for gradient, variable, velocity in zip(grads, variables, *slots, strict=True):
        gradient = ops.cast(gradient, variable.dtype)
        velocity.assign(
            ops.add(
                ops.multiply(numbers["rho"], velocity),
                ops.multiply(numbers["one_minus_rho"], ops.square(gradient)),
            )
        )
        denominator = ops.add(velocity, numbers["epsilon"])
        variable.assign_sub(_over_sqrt(ops.multiply(lr, gradient), denominator))


def _adagrad(grads, variables, slots, numbers: Mapping, learning_rate, iterations) -> None:
    # keras.optimizers.Adagrad.update_step.
    lr = ops.cast(learning_rate, variables[0].dtype)
    for gradient, variable, accumulator in zip(grads, variables, *slots, strict=True):
        gradient = ops.cast(gradient, variable.dtype)
        accumulator.assign_add(ops.square(gradient))
        variable.assign_sub(
            _over_sqrt(ops.multiply(lr, gradient), ops.add(accumulator, numbers["epsilon"]))
        )


def _over_sqrt(x, y):
    """``ops.divide(x, ops.sqrt(y))`` as Keras's graph has it: its ops alone, which
    grappler makes ``x * rsqrt(y)``. Under TensorFlow's NumPy behaviour ``ops.divide``
    adds casts in between, grappler keeps the division, and the last bits change."""
    return tf.raw_ops.RealDiv(x=x, y=ops.sqrt(y))


#: The numbers the steps take through ``ops.cast``.
_CAST = {"beta_1", "beta_2", "momentum", "weight_decay"}
_KINDS = {
    keras.optimizers.Adam: "adam",
    keras.optimizers.AdamW: "adam",
    keras.optimizers.SGD: "sgd",
    keras.optimizers.RMSprop: "rmsprop",
    keras.optimizers.Adagrad: "adagrad",
}
_STEPS = {"adam": _adam, "sgd": _sgd, "rmsprop": _rmsprop, "adagrad": _adagrad}
_SLOTS = {
    "adam": lambda optimizer: [optimizer._momentums, optimizer._velocities],
    "sgd": lambda optimizer: [optimizer.momentums] if optimizer.momentum != 0 else [],
    "rmsprop": lambda optimizer: [optimizer._velocities],
    "adagrad": lambda optimizer: [optimizer._accumulators],
}
#: The numbers each kind's step reads but SGD's (and weight decay).
_NUMBERS = {
    "adam": ("beta_1", "beta_2", "one_minus_beta_1", "one_minus_beta_2", "epsilon"),
    "rmsprop": ("rho", "one_minus_rho", "epsilon"),
    "adagrad": ("epsilon",),
}
