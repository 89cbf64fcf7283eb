"""A dense layer whose activation is a graph input, with its gradient written out.

The width-free workspace's graphs on small data serve scikit-learn's four activations
at once (:data:`~skneural._shapeless_key.SWITCHED`), picked by an index variable; this
is the layer they call for each hidden layer.
"""

import functools

import tensorflow as tf

from ._shapeless_key import SWITCHED

#: The derivative of each of :data:`SWITCHED`'s activations from its output ``y`` and
#: the gradient ``dy`` reaching it: the ops TensorFlow's registered gradients build.
_DERIVATIVES = {
    "identity": lambda y, dy: dy,
    "logistic": lambda y, dy: tf.raw_ops.SigmoidGrad(y=y, dy=dy),
    "tanh": lambda y, dy: tf.raw_ops.TanhGrad(y=y, dy=dy),
    "relu": lambda y, dy: tf.raw_ops.ReluGrad(gradients=dy, features=y),
}


def switched_layer(x, kernel, bias, index, activations: list, product):
    """A dense layer whose activation, ``activations[index]`` (of :data:`SWITCHED`), is
    a graph input.

    Each branch of the forward switch holds the whole layer, so that grappler fuses its
    product, bias and activation as in a graph of that activation alone (oneDNN's fused
    tanh and sigmoid round differently from the separate ops). The gradient is written
    out: the activation's derivative picked by the same index, then the dense layer's
    gradient as TensorFlow builds it, outside any switch. Left to TensorFlow, the
    switch's gradient rebuilds every branch's product gradient and makes the forward
    branches return their intermediates.
    """

    def dense(x, kernel, bias):
        return tf.nn.bias_add(product(x, kernel), bias)

    @tf.custom_gradient
    def layer(x, kernel, bias):
        branches = [functools.partial(lambda f: f(dense(x, kernel, bias)), a) for a in activations]
        y = tf.switch_case(index, branches)

        def gradient(dy):
            derivatives = [functools.partial(_DERIVATIVES[name], y, dy) for name in SWITCHED]
            dz = tf.switch_case(index, derivatives)
            with tf.GradientTape() as tape:
                tape.watch([x, kernel, bias])
                z = dense(x, kernel, bias)
            return tape.gradient(z, [x, kernel, bias], output_gradients=dz)

        return y, gradient

    return layer(x, kernel, bias)
