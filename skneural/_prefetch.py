"""A stored epoch graph instantiated ahead, from the start of a process's first fit.

The first call of a stored graph in a process is most of its first fit's cost on
small data (0.19-0.21 s against 0.002 s for a call after it, `benchmarks/first_call.py`):
TensorFlow instantiates the function, and most of that is oneDNN's graph pass looking
up the kernels registered for each op and type it meets, a cost every process and every
thread pays once. :func:`prefetch`, called as a process's first fit begins, has
skneural's own thread register the grappler's graph of an epoch the process is most
likely to call first (the one the last process to note one asked for first: a script
run again, a search or cross-validation started again) and instantiate it, with
placeholders for the variables it captures (their dtypes and shapes are in the file),
while the fit validates its input, plans, builds its runner and draws its weights. The
fit's first call (:func:`skneural._optimized_graphs.call`) waits for that work to end,
and then finds the function instantiated when the graph guessed is its own; when it is
not, the guess cost the other core's time, and the thread's lookups are done for the
graph the fit needs. Nothing runs: the instantiating call is cancelled before it starts.
"""

import contextlib
import functools
import os
import threading
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.python.ops import gen_resource_variable_ops

from . import _graph_files as graph_files
from . import _instantiation as instantiation
from . import _optimized_graphs as optimized_graphs
from . import _source
from ._graph_options import one_pass
from ._stored_graphs import default_tracing, directory, register

_lock = threading.Lock()
_done: set[int] = set()  # the processes (ids) that prefetched


def prefetch() -> None:
    """Once per process, as its first fit begins: prefetch the stored epoch graph an
    earlier process asked for first (see the module docstring), on skneural's thread."""
    folder = directory()
    with _lock:
        if folder is None or os.getpid() in _done:
            return
        _done.add(os.getpid())
    with contextlib.suppress(Exception):  # nothing that goes wrong here reaches the fit
        if _source.digest() is None or not default_tracing() or tf.distribute.has_strategy():
            return
        with one_pass():  # the attributes the fit's epochs are called with
            attrs = optimized_graphs.call_attrs()
        instantiation.in_background(functools.partial(_instantiate_noted, folder, attrs))


def _instantiate_noted(folder: Path, attrs: tuple) -> None:
    with contextlib.suppress(Exception):  # nothing (usable) stored: nothing prefetched
        entry = _first_epoch_graph(folder)
        if entry is None or not optimized_graphs.well_formed(entry.functions[0]):
            return
        register(entry.functions)  # held for the process's life, as the fits find it
        placeholders = {}  # a handle of no variable per dtype and shape
        for dtype, shape in map(tuple, entry.handles):
            if (dtype, str(shape)) not in placeholders:
                placeholders[dtype, str(shape)] = gen_resource_variable_ops.var_handle_op(
                    dtype=tf.as_dtype(dtype),
                    shape=tf.TensorShape(
                        None if shape is None else [n if n >= 0 else None for n in shape]
                    ),
                    shared_name=f"{entry.functions[0].signature.name}_placeholder_{len(placeholders)}",
                )
        handles = [placeholders[dtype, str(shape)] for dtype, shape in entry.handles]
        signature = entry.functions[0].signature
        # Host tensors made from numpy: no op to run (a first op of its type is slow).
        data = [
            tf.constant(np.zeros((), tf.as_dtype(arg.type).as_numpy_dtype))
            for arg in signature.input_arg[: -len(handles) or None]
        ]
        instantiation.instantiate(
            signature.name, [*data, *handles], len(signature.output_arg), attrs
        )


def _first_epoch_graph(folder: Path):
    """The stored grappler's graph of the epoch the last process asked for first,
    checked as any file read."""
    path = graph_files.first_epoch_graph(folder)
    entry = None if path is None else graph_files.read(path, path.stem)
    return entry if entry is not None and entry.role == "epoch" and entry.optimized else None
