"""Read a finished fit's diagnostics and say in plain words what went wrong.

The compiled epoch records, at the cost of a few reductions per step, the L2 norm of
each Dense kernel's gradient and which hidden units produced any non-zero output
(:class:`skneural._epoch.EpochResult`). After ``fit``, :func:`diagnose` looks at
them and at the weights, and warns about the textbook failures:

- vanishing gradients: the first layer's gradient is orders of magnitude smaller than
  the output layer's, so the layers near the input barely learn;
- exploding gradients: the first layer's gradient is orders of magnitude larger than
  the output layer's (a gradient that overflows makes the epoch diverge, which
  :class:`skneural._training.EpochLoop` reports);
- symmetry not broken: every unit of a hidden layer has the same weights (what an
  all-zero initialization leaves), so the layer is worth one unit;
- dead layer: every unit of a hidden layer output zero for every sample in the last
  epoch (dead ReLUs), so the prediction no longer depends on the input.
"""

import warnings
from typing import Any

import numpy as np

from .exceptions import DiagnosticWarning

#: First-layer / output-layer gradient-norm ratio below which gradients vanish.
VANISHING_RATIO = 1e-3
#: First-layer / output-layer gradient-norm ratio above which gradients explode.
EXPLODING_RATIO = 1e3
#: Units whose weights differ by less than this, relative to the layer's largest
#: weight, count as identical (a float32 rounding is ~6e-8).
_SAME_WEIGHTS_RTOL = 1e-6


def diagnose(estimator: Any, first_epoch: int) -> None:
    """Warn about what the epochs from ``first_epoch`` (0-based) of a fitted
    ``estimator`` show; the first epoch of the fit is the one compared, since that is
    where the initialization decides the gradients' scale.

    It reads the fit's record as arrays, not the DataFrames ``gradient_norms_`` and
    ``dead_units_`` built from it (~1 ms, more than a small fit's epochs take)."""
    network = vars(estimator)["_network"]
    record, layers = network.record, network.layer_names()
    if len(record.gradient_norms) <= first_epoch:
        return
    # An ensemble refuses batch normalization and clipnorm: advise neither there.
    _check_gradients(record.gradient_norms[first_epoch], layers, ensemble=estimator.n_ensemble > 1)
    _check_symmetry(estimator.coefs_[:-1], estimator.intercepts_[:-1])
    for layer, fraction in zip(layers, record.dead_fractions[-1], strict=False):
        # Only ReLU units die; an all-zero tanh layer is the symmetry warning's case.
        if fraction == 1.0 and estimator.activation == "relu":
            warnings.warn(
                f"Every unit of {layer} output zero for every training sample in the last "
                "epoch (dead ReLUs): the predictions no longer depend on the input. Try a "
                "smaller learning_rate_init, kernel_initializer='he_normal', or "
                "activation='leaky_relu'.",
                DiagnosticWarning,
            )


def _check_gradients(first: np.ndarray, layers: list[str], ensemble: bool = False) -> None:
    # Non-finite norms come with a diverged epoch, which has its own warning.
    if len(first) < 3 or not np.isfinite(first).all():
        return  # under two hidden layers there is little depth to vanish through
    input_side, output_side = first[0], first[-1]
    if output_side <= 0 or input_side <= 0:
        return
    ratio = input_side / output_side
    if ratio < VANISHING_RATIO:
        warnings.warn(
            f"Vanishing gradients: in the first epoch the gradient norm of "
            f"{layers[0]} was {ratio:.1e} times that of {layers[-1]}, so the "
            "layers near the input barely learn. Try activation='relu' with "
            "kernel_initializer='he_normal', "
            + ("" if ensemble else "batch_normalization=True, ")
            + "residual=True, fewer layers, or (if the inputs are tiny) scaling the inputs.",
            DiagnosticWarning,
        )
    elif ratio > EXPLODING_RATIO:
        warnings.warn(
            f"Exploding gradients: in the first epoch the gradient norm of "
            f"{layers[0]} was {ratio:.1e} times that of {layers[-1]}. Try a "
            "smaller-scale kernel_initializer (e.g. 'glorot_uniform') or gradient clipping "
            + ("(clipvalue=1.0)." if ensemble else "(clipnorm=1.0), or batch_normalization=True."),
            DiagnosticWarning,
        )


def _check_symmetry(kernels: list[np.ndarray], biases: list[np.ndarray]) -> None:
    for i, (kernel, bias) in enumerate(zip(kernels, biases, strict=True)):
        if kernel.shape[-1] < 2:
            continue
        # An ensemble's layer (n_ensemble > 1) holds one kernel per member.
        members = zip(kernel, bias, strict=True) if kernel.ndim == 3 else [(kernel, bias)]
        if any(_identical_units(k, b) for k, b in members):
            warnings.warn(
                f"Symmetry not broken: all {kernel.shape[-1]} units of hidden_{i} have "
                "identical weights after training, so they compute the same thing and "
                "the layer is worth a single unit. This is what kernel_initializer="
                "'zeros' (or any constant) does: every unit gets the same gradient. Use "
                "a random initializer such as 'glorot_uniform' or 'he_normal'.",
                DiagnosticWarning,
            )


def _identical_units(kernel: np.ndarray, bias: np.ndarray) -> bool:
    # Identical up to rounding: the units' equal gradients may be summed in
    # different orders by the matrix kernels.
    weights = np.vstack([kernel, bias])
    spread = np.ptp(weights, axis=1).max()
    return spread <= _SAME_WEIGHTS_RTOL * np.abs(weights).max()
