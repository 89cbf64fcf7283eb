"""Layers whose settings are graph inputs, for the width-free workspace's graphs.

On small data one graph serves scikit-learn's four activations
(:data:`~skneural._shapeless_key.SWITCHED`), picked by an index variable; and every
graph takes its dropout rates from variables. Each is built from the ops Keras's layer
would run, so the values are those of a graph built for one setting, to the last bit.
"""

import functools

import keras
import tensorflow as tf

#: The derivative of each switched activation from its output ``y`` and the gradient
#: ``dy`` reaching it: the ops TensorFlow's registered gradients build.
_DERIVATIVES = {
    "identity": lambda y, dy: dy,
    "logistic": lambda y, dy: tf.raw_ops.SigmoidGrad(y=y, dy=dy),
    "tanh": lambda y, dy: tf.raw_ops.TanhGrad(y=y, dy=dy),
    "relu": lambda y, dy: tf.raw_ops.ReluGrad(gradients=dy, features=y),
}


def switched_layer(x, kernel, bias, index, activations: dict, dense):
    """``dense(x, kernel, bias)`` through the activation ``index`` picks from
    ``activations`` (functions by their
    :data:`~skneural._shapeless_key.SWITCHED` names, in any order).

    Each branch of the forward switch holds the whole layer, so that grappler fuses its
    product, bias and activation as in a graph of that activation alone (oneDNN's fused
    tanh and sigmoid round differently from the separate ops). The gradient is written
    out: the activation's derivative picked by the same index, then the dense layer's
    gradient as TensorFlow builds it, outside any switch. Left to TensorFlow, the
    switch's gradient rebuilds every branch's product gradient and makes the forward
    branches return their intermediates.
    """

    @tf.custom_gradient
    def layer(x, kernel, bias):
        branches = [
            functools.partial(lambda f: f(dense(x, kernel, bias)), f) for f in activations.values()
        ]
        y = tf.switch_case(index, branches)

        def gradient(dy):
            derivatives = [functools.partial(_DERIVATIVES[name], y, dy) for name in activations]
            dz = tf.switch_case(index, derivatives)
            with tf.GradientTape() as tape:
                tape.watch([x, kernel, bias])
                z = dense(x, kernel, bias)
            return tape.gradient(z, [x, kernel, bias], output_gradients=dz)

        return y, gradient

    return layer(x, kernel, bias)


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
    return tf.where(noise >= rate, tf.multiply(x, scale), tf.constant(0, x.dtype))
