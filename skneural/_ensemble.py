"""``n_ensemble``: k independent networks in one graph, and their averaged prediction.

An ensemble of ``k`` MLPs is trained as one network whose activations carry a member
axis first, ``[k, batch, units]``: each :class:`EnsembleDense` layer holds the kernels
of all members, ``[k, inputs, units]``, and multiplies them in one batched product (the
input ``[batch, inputs]`` of the first layer is shared by the members). The products
grow with ``k``, their number does not. Activations and dropout act on each member
alike; dropout draws an independent mask per member.

:class:`EnsembleMean` turns the members' logits into the logits of the *averaged*
prediction: the log of the mean of the members' probabilities for a classifier (so
that the output activation gives the mean probabilities), the mean output for a
regressor (the log of the mean prediction for the 'exp' output of the Poisson loss).
Everything downstream of the logits (the loss of a held-out set, predict, the
attacks' input gradient) then sees the averaged model.

With ``ensemble_sharing`` other than 'none', the hidden layers are
:class:`SharedEnsembleDense` layers instead: one kernel ``[inputs, units]`` shared by
the members, multiplied in one product over all members' rows, and per-member scalings
around it (TabM's parameter-efficient ensembles, after BatchEnsemble). The output layer
stays one :class:`EnsembleDense` per member, as in TabM. Training minimises the sum of
the members' own losses (:class:`skneural._step.MinibatchStep`): each member learns
on its own, as in TabM's and BatchEnsemble's training.

:func:`mean_logits` is the numpy twin of :class:`EnsembleMean`, for the numpy
inference path (:mod:`skneural._inference`).
"""

import functools
import math

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="skneural")
class EnsembleDense(keras.layers.Layer):
    """The Dense layers of ``members`` networks: ``x[m] @ kernel[m] + bias[m]``.

    Parameters
    ----------
    units : int
        Output width of each member.
    members : int
        Number of members ``k``.

    Its input is ``[batch, inputs]`` (shared by the members) or ``[k, batch, inputs]``;
    its output ``[k, batch, units]``. The kernel ``[k, inputs, units]`` and the bias
    ``[k, units]`` start at zero: :func:`skneural._network.build_network` draws each
    member's kernel with its own seed.
    """

    def __init__(self, units: int, members: int, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.members = int(members)

    def build(self, input_shape):
        shape = (self.members, int(input_shape[-1]), self.units)
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer="zeros")
        self.bias = self.add_weight(
            name="bias", shape=(self.members, self.units), initializer="zeros"
        )

    def call(self, inputs):
        # One batched product per layer. In float32 a broadcasting BatchMatMul, 7-10% off
        # a fit against Einsum (10,000 x 8, (128, 128), 10 epochs: k=4 0.83 -> 0.77 s,
        # k=8 1.67 -> 1.49 s; ensemble.md was measured before). In float64 tf.einsum
        # itself (not keras.ops): an Einsum op, which grappler's oneDNN remapper leaves
        # alone (see EinsumProductDense).
        if self.kernel.dtype == tf.float32:
            x = tf.matmul(inputs[None] if len(inputs.shape) == 2 else inputs, self.kernel)
        elif len(inputs.shape) == 2:
            x = tf.einsum("bi,kio->kbo", inputs, self.kernel)
        else:
            x = tf.einsum("kbi,kio->kbo", inputs, self.kernel)
        return x + self.bias[:, None, :]

    def compute_output_shape(self, input_shape):
        return (self.members, input_shape[-2], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "members": self.members}


#: ``ensemble_sharing``: what the members share in their hidden layers. 'none': nothing
#: (k independent networks; TabM's 'tabm-packed'); 'adapters': every hidden layer's
#: kernel, each member scaling the layer's input and output and adding its own bias
#: (TabM's 'tabm', BatchEnsemble); 'input': every hidden layer, each member scaling only
#: the first layer's input (TabM's 'tabm-mini').
SHARINGS = ("none", "adapters", "input")


@keras.saving.register_keras_serializable(package="skneural")
class SharedEnsembleDense(keras.layers.Layer):
    """A Dense layer of ``members`` networks sharing one kernel:
    ``((x[m] * input_scale[m]) @ kernel) * output_scale[m] + bias[m]``.

    Parameters
    ----------
    units : int
        Output width of each member.
    members : int
        Number of members ``k``.
    input_scale, output_scale : bool
        Whether each member scales the layer's input ``[k, inputs]`` / output
        ``[k, units]`` by its own factors (they start at one).
    member_bias : bool
        Whether each member has its own bias ``[k, units]`` rather than a shared one.

    Its input is ``[batch, inputs]`` (shared by the members; then ``input_scale`` must
    be on, to make the members differ) or ``[k, batch, inputs]``; its output
    ``[k, batch, units]``. The members' rows go through the shared kernel as one
    matrix product. The kernel starts at zero: :func:`skneural._network.build_network`
    draws it, and the first layer's input scales (TabM's random signs).
    """

    def __init__(
        self,
        units: int,
        members: int,
        input_scale: bool = True,
        output_scale: bool = True,
        member_bias: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        self.members = int(members)
        self.scales = (bool(input_scale), bool(output_scale))
        self.member_bias = bool(member_bias)

    def build(self, input_shape):
        if len(input_shape) == 2 and not self.scales[0]:
            raise ValueError(
                f"SharedEnsembleDense {self.name!r}: an input without a member axis needs "
                "input_scale=True, or every member would compute the same output."
            )
        n_in, k = int(input_shape[-1]), self.members
        self.kernel = self.add_weight(name="kernel", shape=(n_in, self.units), initializer="zeros")
        bias_shape = (k, self.units) if self.member_bias else (self.units,)
        self.bias = self.add_weight(name="bias", shape=bias_shape, initializer="zeros")
        self.input_scale = self.output_scale = None
        if self.scales[0]:
            self.input_scale = self.add_weight(
                name="input_scale", shape=(k, n_in), initializer="ones"
            )
        if self.scales[1]:
            self.output_scale = self.add_weight(
                name="output_scale", shape=(k, self.units), initializer="ones"
            )

    def call(self, inputs):
        x = inputs
        if self.input_scale is not None:
            x = x * self.input_scale[:, None, :]  # [batch, in] or [k, batch, in]
        # Every member's rows through the kernel as one product (one MatMul for the
        # step's kernel gradient too); in float64 an Einsum (see EinsumProductDense).
        rows = tf.reshape(x, [-1, x.shape[-1]])
        if self.kernel.dtype == tf.float64:
            product = tf.einsum("ni,io->no", rows, self.kernel)
        else:
            product = tf.matmul(rows, self.kernel)
        x = tf.reshape(product, [self.members, -1, self.units])
        if self.output_scale is not None:
            x = x * self.output_scale[:, None, :]
        return x + (self.bias[:, None, :] if self.member_bias else self.bias)

    def compute_output_shape(self, input_shape):
        return (self.members, input_shape[-2], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "members": self.members,
            "input_scale": self.scales[0],
            "output_scale": self.scales[1],
            "member_bias": self.member_bias,
        }


def random_signs(seed: int, shape: tuple) -> np.ndarray:
    """TabM's first input scales: +1 or -1 with equal chance, so that the members,
    sharing their kernels, see their input differently from the first step."""
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


@keras.saving.register_keras_serializable(package="skneural")
class EnsembleMean(keras.layers.Layer):
    """The logits of the members' averaged prediction, from their logits ``[k, B, out]``.

    Parameters
    ----------
    out_activation : str
        The output activation the logits feed (``out_activation_``): 'softmax' and
        'logistic' average probabilities, 'identity' outputs, 'exp' predictions.
    """

    def __init__(self, out_activation: str, **kwargs):
        super().__init__(**kwargs)
        if out_activation not in _AVERAGES:
            raise ValueError(
                f"out_activation must be one of {sorted(_AVERAGES)}, got {out_activation!r}."
            )
        self.out_activation = out_activation

    def call(self, logits):
        return _AVERAGES[self.out_activation](tf, logits)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "out_activation": self.out_activation}


def _log_mean_exp(ops, z):
    """``log(mean(exp(z)))`` over the member axis, stably."""
    k = math.log(z.shape[0])
    if ops is tf:
        return tf.reduce_logsumexp(z, axis=0) - k
    top = z.max(axis=0)
    return top + np.log(np.exp(z - top).sum(axis=0)) - k


def _log_sigmoid(ops, z):
    return tf.math.log_sigmoid(z) if ops is tf else -np.logaddexp(0.0, -z)


def _log_softmax(ops, z):
    if ops is tf:
        return tf.nn.log_softmax(z, axis=-1)
    top = z.max(axis=-1, keepdims=True)
    return z - top - np.log(np.exp(z - top).sum(axis=-1, keepdims=True))


def _mean_identity(ops, z):
    return tf.reduce_mean(z, axis=0) if ops is tf else z.mean(axis=0)


def _mean_softmax(ops, z):
    # log of the mean probability; the output softmax of it is the mean itself.
    return _log_mean_exp(ops, _log_softmax(ops, z))


def _mean_logistic(ops, z):
    # logit(mean p) = log(mean p) - log(mean (1 - p)), each from log-sigmoids.
    return _log_mean_exp(ops, _log_sigmoid(ops, z)) - _log_mean_exp(ops, _log_sigmoid(ops, -z))


def _mean_exp(ops, z):
    return _log_mean_exp(ops, z)


#: How each output activation averages its members, in TensorFlow or numpy.
_AVERAGES = {
    "identity": _mean_identity,
    "softmax": _mean_softmax,
    "logistic": _mean_logistic,
    "exp": _mean_exp,
}


def mean_logits(out_activation: str):
    """The numpy twin of ``EnsembleMean(out_activation)``: members' logits
    ``[k, B, out]`` -> the averaged prediction's logits ``[B, out]``. It pickles (the
    numpy forward pass is part of a pickled estimator): it holds the name, not numpy."""
    return functools.partial(_numpy_mean, out_activation)


def _numpy_mean(out_activation: str, z: np.ndarray) -> np.ndarray:
    return _AVERAGES[out_activation](np, z)


def member_kernels(initializer_for, seeds, shape: tuple, dtype: str) -> np.ndarray:
    """One kernel per member, each drawn by ``initializer_for(seed)`` in float64 (as
    for ``n_ensemble=1`` float32 networks) with its own seed, stacked and cast."""
    draws = [np.asarray(initializer_for(seed)(shape, dtype="float64")) for seed in seeds]
    return np.stack(draws).astype(dtype)
