"""Inference without TensorFlow: the fitted network as a chain of numpy steps.

``predict`` on a few rows through Keras costs tens of milliseconds of dispatch; the
same arithmetic in numpy costs microseconds, is thread-safe and pickles as plain
arrays. It runs in the network's own dtype, as scikit-learn's MLP does: a float64
network (trained on float64 data) gives every row the same output whatever batch it
comes in, to float64 rounding (scikit-learn checks that predictions on a subset equal
the full ones); a float32 network trades that for twice the speed on large batches.
The chain is built from the Keras model's own weights and is tested against the
Keras model itself (``model(X, training=False)``; note that ``model.predict`` rounds
float64 inputs to float32 on the way in).
"""

from typing import Any

import keras
import numpy as np

from ._config import NetworkSpec, residual_blocks
from ._ensemble import EnsembleDense, EnsembleMean, SharedEnsembleDense, mean_logits
from ._registry import ACTIVATIONS, OUTPUT_ACTIVATIONS
from ._table_layer import NumpyTableFeatures, TableFeatures


class ForwardPass:
    """Snapshot of a fitted network's weights that computes its output in numpy.

    Holds only arrays and registry names, so it pickles and is safe to share
    between threads.

    Parameters
    ----------
    model : keras.Model
        A model built by :func:`skneural._network.build_network`.
    spec : NetworkSpec
        The specification it was built from (names the activations).
    """

    def __init__(self, model: keras.Model, spec: NetworkSpec):
        self._dtype = np.dtype(spec.dtype)
        # Each step is (kind, a, b): "affine" x -> x @ a + b for a 2-D kernel, x * a + b
        # for a 1-D one (batch norm at inference); "activation" x -> a(x); "dense"
        # starts a block, whose input "residual" adds back; "table" is the table's
        # preprocessing. An ensemble's kernels are 3-D, [k, in, out]: its activations
        # carry the member axis first, until the step that averages the members.
        # "shared" is a kernel the members share, a = (kernel, input scales [k, in]
        # or None, output scales [k, out] or None), b its bias ([k, out] or [out]).
        self._steps: list[tuple[str, Any, Any]] = []
        for layer in model.layers:
            if isinstance(layer, TableFeatures):
                self._steps.append(("table", NumpyTableFeatures(layer, self._dtype), None))
            elif isinstance(layer, SharedEnsembleDense):
                scales = (layer.input_scale, layer.output_scale)
                kernel, bias, *scales = (
                    None if w is None else np.asarray(w).astype(self._dtype)
                    for w in (layer.kernel, layer.bias, *scales)
                )
                self._steps.append(("shared", (kernel, *scales), bias))
            elif isinstance(layer, (keras.layers.Dense, EnsembleDense)):
                kernel, bias = (w.astype(self._dtype) for w in layer.get_weights())
                self._steps.append(("dense", kernel, bias))
            elif isinstance(layer, keras.layers.BatchNormalization):
                gamma, beta, mean, var = (w.astype(np.float64) for w in layer.get_weights())
                scale = gamma / np.sqrt(var + layer.epsilon)
                shift = beta - mean * scale
                self._steps.append(("affine", scale.astype(self._dtype), shift.astype(self._dtype)))
            elif isinstance(layer, keras.layers.Activation):
                if layer.name == "output_activation":
                    fn = OUTPUT_ACTIVATIONS[spec.out_activation].numpy_fn
                else:
                    fn = ACTIVATIONS[spec.activation].numpy_fn
                self._steps.append(("activation", fn, None))
            elif isinstance(layer, EnsembleMean):
                self._steps.append(("activation", mean_logits(layer.out_activation), None))
            elif isinstance(layer, keras.layers.Add):
                self._steps.append(("residual", None, None))
            elif not isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)):
                raise TypeError(f"No numpy forward step for layer {layer.name!r}.")

    @classmethod
    def from_weights(
        cls, spec: NetworkSpec, kernels: list[np.ndarray], biases: list[np.ndarray]
    ) -> "ForwardPass":
        """The pass of the network ``spec`` builds, with these Dense weights (copied);
        for networks without a table or batch normalization."""
        forward = cls.__new__(cls)
        forward._dtype = dtype = np.dtype(spec.dtype)
        pairs = zip(kernels, biases, strict=True)
        dense = [("dense", k.astype(dtype), b.astype(dtype)) for k, b in pairs]
        hidden = ("activation", ACTIVATIONS[spec.activation].numpy_fn, None)
        residual = residual_blocks(spec)
        forward._steps = []
        for i, step in enumerate(dense[:-1]):
            forward._steps += [step, hidden] + ([("residual", None, None)] if i in residual else [])
        output = ("activation", OUTPUT_ACTIVATIONS[spec.out_activation].numpy_fn, None)
        forward._steps += [dense[-1], output]
        return forward

    def dense_weights(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The Dense layers' kernels and biases this pass computes with, input to
        output."""
        dense = [(a, b) for kind, a, b in self._steps if kind in ("dense", "shared")]
        return [a[0] if isinstance(a, tuple) else a for a, _ in dense], [b for _, b in dense]

    def __call__(self, X: np.ndarray, logits: bool = False) -> np.ndarray:
        """The network's output on ``X``; with ``logits=True``, before the output
        activation (the last step)."""
        out = np.asarray(X, dtype=self._dtype)
        block_input = out
        for kind, a, b in self._steps[:-1] if logits else self._steps:
            if kind in ("activation", "table"):
                out = a(out)
            elif kind == "residual":
                out = block_input + out
            elif kind == "shared":
                block_input = out
                kernel, input_scale, output_scale = a
                if input_scale is not None:
                    out = out * input_scale[:, None, :]
                out = out @ kernel
                if output_scale is not None:
                    out *= output_scale[:, None, :]
                out += b[:, None, :] if b.ndim == 2 else b
            else:
                if kind == "dense":
                    block_input = out
                # The product is a fresh array, so the shift can be added in place.
                out = out * a if a.ndim == 1 else out @ a
                out += b[:, None, :] if a.ndim == 3 else b
        return out.astype(self._dtype, copy=False)
