"""Whether a network can be trained in this machine's memory, known before allocation.

A network too large for memory does not fail politely: TensorFlow's allocator either
raises ``ResourceExhaustedError`` deep inside a step or, on Linux, the kernel kills
the whole process (a notebook's kernel with it). So a fit first compares a lower bound
of what training needs with the memory the process may use, and refuses what cannot
fit. The bound is deliberately low (it counts only what must exist at once), so a
network it lets through may still be too large, but one it refuses always is.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise

import numpy as np
import tensorflow as tf

from ._config import NetworkSpec

#: Copies of every hidden and output activation of a batch: forward and backward.
_ACTIVATION_COPIES = 2


def training_bytes(spec: NetworkSpec, batch_size: int, weight_copies: int) -> int:
    """A lower bound of the bytes training ``spec`` on batches of ``batch_size`` needs,
    with ``weight_copies`` values held per weight
    (:meth:`skneural._plan.OptimizerPlan.weight_copies`).

    >>> from skneural._config import NetworkSpec
    >>> spec = NetworkSpec(10, (100,), "relu", "glorot_uniform", (0.0,), False, 0.9,
    ...                    False, 1, "logistic", "float32")
    >>> training_bytes(spec, 200, weight_copies=3)  # 4 bytes x (1,201 x 3 + 200 x 101 x 2)
    176012
    """
    widths = [spec.n_features, *spec.hidden_layer_sizes, spec.n_outputs]
    layers = [(n_in + 1) * n_out for n_in, n_out in pairwise(widths)]
    # An ensemble's members each hold their own weights and activations, but for the
    # hidden kernels they share (counted once; their own scales are not counted).
    shared = spec.n_ensemble > 1 and spec.ensemble_sharing != "none"
    n_weights = spec.n_ensemble * layers[-1] + (1 if shared else spec.n_ensemble) * sum(layers[:-1])
    n_activations = spec.n_ensemble * batch_size * sum(widths[1:])
    per_value = np.dtype(spec.dtype).itemsize
    return per_value * (weight_copies * n_weights + _ACTIVATION_COPIES * n_activations)


def memory_limit() -> int | None:
    """The bytes a fit may still allocate: the memory available now (Linux's
    MemAvailable, which counts reclaimable caches; else all physical memory), or less
    when a cgroup (a container) caps this process; None where none can be read."""
    limits = []
    available = _meminfo_available()
    if available is None:
        try:
            available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):  # not a POSIX system
            pass
    if available is not None:
        limits.append(available)
    cgroup = "/sys/fs/cgroup/memory"
    try:
        with open(f"{cgroup}.max") as cap, open(f"{cgroup}.current") as used:
            limits.append(int(cap.read()) - int(used.read()))
    except (OSError, ValueError):  # no cgroup v2, or no cap ("max")
        pass
    return min(limits) if limits else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(spec: NetworkSpec, batch_size: int, weight_copies: int) -> None:
    """Refuse a network that cannot be trained in this machine's memory."""
    need, limit = training_bytes(spec, batch_size, weight_copies), memory_limit()
    if limit is not None and need > limit:
        raise ValueError(
            f"This network cannot be trained in this machine's memory: it needs at "
            f"least {need / 2**30:.1f} GiB, and {limit / 2**30:.1f} GiB is free. "
            + _shrink(spec, batch_size)
        )


@contextmanager
def out_of_memory_named(spec: NetworkSpec, batch_size: int) -> Iterator[None]:
    """Turn TensorFlow's out-of-memory error, for a network :func:`check_memory` let
    through, into a ``MemoryError`` that says which parameters to change."""
    try:
        yield
    except tf.errors.ResourceExhaustedError as exc:
        raise MemoryError("This network ran out of memory. " + _shrink(spec, batch_size)) from exc


def _shrink(spec: NetworkSpec, batch_size: int) -> str:
    ensemble = spec.n_ensemble > 1
    return (
        (f"n_ensemble={spec.n_ensemble} networks of " if ensemble else "")
        + f"hidden_layer_sizes={spec.hidden_layer_sizes} on {spec.n_features} features, "
        f"batches of {batch_size} rows in {spec.dtype}: use "
        + ("fewer members (n_ensemble), " if ensemble else "")
        + "fewer or narrower hidden layers, or a smaller batch_size."
    )
