"""Layers and steps whose settings are graph inputs, for the width-free workspace's graphs.

On small data one graph serves scikit-learn's four activations
(:data:`~skneural._shapeless_key.SWITCHED`) and the optimizer steps of
:data:`~skneural._updates.SWITCHED_STEPS`, each picked by an index variable; and every
graph takes its dropout rates from variables. Each is built from the ops Keras's layer
or optimizer would run, so the values are those of a graph built for one setting, to
the last bit. A switch's branches are functions traced once per process and called
by every graph's switches.
"""

import functools

import keras
import tensorflow as tf
from tensorflow.python.eager import record
from tensorflow.python.ops import cond_v2, control_flow_util_v2

from ._stored_graphs import default_tracing

#: The derivative of each switched activation from its output ``y`` and the gradient
#: ``dy`` reaching it: the ops TensorFlow's registered gradients build.
_DERIVATIVES = {
    "identity": lambda y, dy: dy,
    "logistic": lambda y, dy: tf.raw_ops.SigmoidGrad(y=y, dy=dy),
    "tanh": lambda y, dy: tf.raw_ops.TanhGrad(y=y, dy=dy),
    "relu": lambda y, dy: tf.raw_ops.ReluGrad(gradients=dy, features=y),
}


def switched_layer(x, kernel, bias, index, activations: dict, product):
    """``bias_add(product(x, kernel), bias)`` through the activation ``index`` picks
    from ``activations`` (functions by their
    :data:`~skneural._shapeless_key.SWITCHED` names, in any order).

    Each branch of the forward switch holds the whole layer, so that grappler fuses its
    product, bias and activation as in a graph of that activation alone (oneDNN's fused
    tanh and sigmoid round differently from the separate ops). The gradient is written
    out: the activation's derivative picked by the same index, then the dense layer's
    gradient as TensorFlow builds it, outside any switch. Left to TensorFlow, the
    switch's gradient rebuilds every branch's product gradient and makes the forward
    branches return their intermediates.

    The branches are functions traced once per process (:func:`_branches`): every
    switch of every graph calls the same ones. ``tf.switch_case`` would trace them anew
    in each switch, ~10 ms a switch in a trace of ~0.25 s. Under op callbacks each
    graph traces its own (:func:`_traced_once`).
    """
    activations = tuple(activations.items())
    forward, derivatives = _traced_once(
        ("layer", activations, x.dtype, product),
        functools.partial(_branches, activations, x.dtype, product),
    )
    with record.stop_recording():  # the tape takes y from the backward below alone
        y = _switch(index, forward, [x, kernel, bias])

    def backward(dy):
        dz = _switch(index, derivatives, [y, dy])
        with tf.GradientTape() as tape:
            tape.watch([x, kernel, bias])
            z = affine(product, x, kernel, bias)
        return tape.gradient(z, [x, kernel, bias], output_gradients=dz)

    # On the tape only (as tf.custom_gradient records it): tf.custom_gradient would also
    # register the backward in TensorFlow's global gradient registry, under a new name
    # per call and for the process's life, and with it every graph it was traced in.
    record.record_operation("SwitchedLayer", [y], [x, kernel, bias], backward)
    return y


def affine(product, x, kernel, bias):
    """A dense layer's ``bias_add(product(x, kernel), bias)``, as Keras's computes it."""
    return tf.nn.bias_add(product(x, kernel), bias)


_traced: dict[tuple, object] = {}


def _traced_once(key: tuple, trace):
    """``trace()``'s functions, traced once per process and kept under ``key``; under
    op callbacks (check_numerics, the debugger's dumps) traced for the graph being
    built, as the callbacks see them, and not kept for later graphs."""
    if not default_tracing():
        return trace()
    if key not in _traced:
        _traced[key] = trace()
    return _traced[key]


def _branches(activations: tuple, dtype: tf.DType, product) -> tuple[list, list]:
    """For each ``(name, function)`` of ``activations``: the layer through it, of
    ``(x, kernel, bias)``, and its derivative, of ``(y, dy)``; as concrete functions
    on tensors of ``dtype`` and any shape."""
    matrix, vector = tf.TensorSpec([None, None], dtype), tf.TensorSpec([None], dtype)

    def concrete(function, signature):
        compiled = tf.function(function, input_signature=signature, autograph=False)
        return compiled.get_concrete_function()

    forward = [
        concrete(lambda x, k, b, f=f: f(affine(product, x, k, b)), [matrix, matrix, vector])
        for _, f in activations
    ]
    derivatives = [concrete(_DERIVATIVES[name], [matrix, matrix]) for name, _ in activations]
    return forward, derivatives


def switched_step(index, rules: list, grad, slots: list, numbers: dict, learning_rate, iterations):
    """What the optimizer's step ``rules[index]`` takes from the flat vector of every
    weight whose gradient is the flat ``grad`` (:meth:`UpdateRule.decrement
    <skneural._updates.UpdateRule.decrement>`), its ``slots`` (a flat variable per
    kind) updated; it reads the variables ``numbers`` (by name), ``learning_rate`` and
    ``iterations``. The steps are functions of those variables traced once per process
    (:func:`_traced_once`), as the switched layers' branches are."""
    variables = [*slots, *numbers.values(), learning_rate, iterations]
    names = tuple(numbers)
    key = tuple(r.structure for r in rules), names, tuple((v.dtype, v.shape) for v in variables)
    functions = _traced_once(("step", *key), functools.partial(_steps, rules, names, variables))
    return _switch(index, functions, [grad, *(v.handle for v in variables)], stateful=True)


def _steps(rules: list, names: tuple, variables: list) -> list:
    """Each of ``rules``' step as a concrete function of the flat gradient and of
    variables like ``variables`` (see :func:`switched_step`)."""
    n_kinds = len(variables) - len(names) - 2

    def step(rule, grad, *variables):
        slots = [[slot] for slot in variables[:n_kinds]]
        numbers = dict(zip(names, variables[n_kinds:-2], strict=True))
        return rule.decrement(grad, slots[: rule.n_slots], numbers, *variables[-2:])

    # Variables passed to a function are its inputs, known by dtype and shape only:
    # the functions serve every workspace's variables alike.
    flat = tf.TensorSpec([None], variables[0].dtype)
    return [
        tf.function(functools.partial(step, rule), autograph=False).get_concrete_function(
            flat, *variables
        )
        for rule in rules
    ]


def _switch(index, functions: list, inputs: list, stateful: bool = False):
    """The output of ``functions[index](*inputs)``: one ``Case`` op (``StatelessCase``
    unless ``stateful``) with the attributes ``tf.switch_case`` gives its own (lowered
    to switches and merges, its read-only variables marked), its output through an
    identity, as there."""
    case = tf.raw_ops.Case if stateful else tf.raw_ops.StatelessCase
    (output,) = case(
        branch_index=index,
        input=inputs,
        Tout=[functions[0].structured_outputs.dtype],
        branches=functions,
        output_shapes=[functions[0].structured_outputs.shape],
    )
    control_flow_util_v2.maybe_set_lowering_attr(output.op)
    cond_v2._set_read_only_resource_inputs_attr(output.op, [f.graph for f in functions])
    return tf.identity(output)


def dropout(x, rate, scale, generator: keras.random.SeedGenerator):
    """``keras.random.dropout(x, r, seed=generator)`` for the rate ``r`` that ``rate``
    holds, with ``scale`` holding ``1 / (1 - r)`` computed in Python (both variables
    of ``x``'s dtype).

    TensorFlow's dropout multiplies by that Python scale when the rate is a number,
    and divides by ``1 - rate`` when it is a tensor, which rounds differently; so the
    ops of the number's path are written out here: the generator's next seed (cast
    as Keras casts it), a stateless uniform draw, the kept values scaled.
    """
    seed = generator.next()
    if seed.dtype != tf.int32:
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
    noise = tf.random.stateless_uniform(tf.shape(x), seed=seed, dtype=x.dtype)
    return tf.where(tf.greater_equal(noise, rate), tf.multiply(x, scale), tf.constant(0, x.dtype))
