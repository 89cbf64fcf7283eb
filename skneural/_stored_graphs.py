"""Traced graphs kept on disk, so that a new process does not trace them again.

The first fit of a network depth in a process traces its epoch graph: 0.2-0.3 s of
Python building ~700 TensorFlow ops, more than the fit itself on small data, paid by
every process (script run, joblib or Dask worker). A width-free workspace's graph
depends only on its graph key, so this module keeps each traced function, as
``FunctionDef`` protocol buffers, in a directory of the user's cache; a later process
with the same key, versions of TensorFlow, Keras and skneural's own code, and global
settings registers them with TensorFlow and calls them on its own variables instead of
tracing. Nothing is stored or looked up once a source file changed after ``import
skneural`` (:mod:`skneural._source`), or while TensorFlow traces otherwise than by
default (op callbacks such as ``tf.debugging.enable_check_numerics``, NumPy
behaviour), which a stored graph would bypass. The first call of a function in the
process that traced it also collects the graph grappler made of it
(:mod:`skneural._optimized_graphs`), which then replaces the traced one in the file,
so that later processes skip grappler too; the key therefore also holds what
grappler's result depends on (the call's configuration, the devices, the processor).
A fit gives the same result to the last bit either way (``tests/test_stored_graphs.py``).

The directory is ``$SKNEURAL_GRAPH_CACHE`` when that is set (``off`` or an empty
value: nothing is read or written), else ``skneural/graphs`` under
``$XDG_CACHE_HOME`` (``~/.cache`` by default), readable by its owner only. A file that
is not the user's own, is writable by others, fails its checksum, calls a function it
does not hold, or holds an op outside :data:`~skneural._graph_files.ALLOWED_OPS` (no
file, network or Python ops: a stored graph computes on the tensors and variables it
is given) is traced over. Nothing that goes wrong here reaches a fit: the function is
then traced, as without the directory. A process's first fit may have a stored graph
instantiated ahead (:mod:`skneural._prefetch`).
"""

import contextlib
import functools
import hashlib
import os
import sys
import threading
import weakref
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.core.framework import function_pb2
from tensorflow.python.eager import context
from tensorflow.python.framework import config as tf_config
from tensorflow.python.framework import ops as tf_ops

from . import _graph_files as graph_files
from . import _optimized_graphs as optimized_graphs
from . import _source

_OFF = ("", "0", "off", "false", "no")

_lock = threading.Lock()
#: How many live stored functions use each registered entry (by its functions' names):
#: the last one to go removes them from TensorFlow, as a traced function's are removed.
_users: dict[tuple[str, ...], int] = {}


def directory() -> Path | None:
    """Where graphs are kept, or None when the cache is off."""
    chosen = os.environ.get("SKNEURAL_GRAPH_CACHE")
    if chosen is not None:
        return None if chosen.strip().lower() in _OFF else Path(chosen)
    base = Path(os.environ.get("XDG_CACHE_HOME", ""))
    if not base.is_absolute():  # unset, or relative: ignored, as the XDG rules say
        base = Path(os.path.expanduser("~")) / ".cache"
    # No home to expand "~" to: no cache, rather than one in the working directory.
    return base / "skneural" / "graphs" if base.is_absolute() else None


def default_tracing() -> bool:
    """Whether TensorFlow traces as it does by default: no op callbacks (check_numerics,
    the debugger's dumps) and no NumPy behaviour (type promotion, slicing), which a
    stored graph would bypass."""
    try:
        return (
            not context.context().op_callbacks
            and tf_ops.get_dtype_conversion_mode() == tf_ops.PromoMode.OFF
            and not getattr(tf_ops, "_numpy_style_slicing", False)
        )
    except Exception:  # another TensorFlow: traced as it says
        return False


class GraphStore:
    """The stored graphs of one runner's compiled functions.

    Parameters
    ----------
    key : tuple or None
        What fixes the runner's graphs in a process (the pool's key); its ``repr``
        names the files. None: nothing is stored, every function is traced.
    variables : list of tf.Variable
        Every variable the functions may capture, in creation order
        (:func:`skneural._pool.created_variables`; read at the first :meth:`concrete`).
    """

    def __init__(self, key: tuple | None = None, variables: list[tf.Variable] = ()):
        self._key = key
        self._variables = variables

    def concrete(self, role: str, function):
        """A callable running ``function`` (a ``tf.function`` with an input
        signature): grappler's stored graph of ``role`` when there is one; else the
        stored traced graph, or the traced concrete function, which is then stored,
        whose first call stores grappler's graph in its place."""
        folder = directory()
        if folder is None or self._key is None:
            return function.get_concrete_function()
        source = _source.digest()  # None: edited since imported
        if source is None or not default_tracing():
            return function.get_concrete_function()
        name = self._entry_name(role, source)
        path = folder / f"{name}.graph"
        if role == "epoch":
            _note_first(path)
        retrace = functools.partial(self._traced, function, path, role)
        stored = _load(path, name, self._variables, function, retrace)
        if stored is not None and stored.optimized:
            return stored
        if stored is None:
            stored = retrace()
            definition, captures = stored.function_def, _captures(stored, self._variables)
            if captures is None:  # it captured something other than the runner's variables
                return stored
        elif stored.new:
            definition, captures = stored.definition, stored.captures
        else:  # already called in this process: its first call here optimises nothing
            return stored

        def keep(optimized):  # grappler's graph, in place of the traced one
            functions = graph_files.renamed([optimized], graph_files.called(name, True))
            with contextlib.suppress(Exception):
                graph_files.write(path, self._file_entry(functions, captures, True, role))

        return optimized_graphs.FirstCall(stored, definition, keep)

    def _traced(self, function, path: Path, role: str):
        traced = function.get_concrete_function()  # and stored at path
        captures = _captures(traced, self._variables)
        if captures is not None:  # else it captured more than the runner's variables
            with contextlib.suppress(Exception):  # a cache that cannot be written is no cache
                functions = _functions_of(traced, path.stem)
                graph_files.write(path, self._file_entry(functions, captures, False, role))
        return traced

    def _file_entry(self, functions, captures, optimized, role) -> graph_files.Entry:
        """What a file records of ``functions``, which capture ``captures``."""
        handles = graph_files.handles_of([self._variables[i] for i in captures])
        return graph_files.Entry(functions, captures, optimized, role, handles)

    def _entry_name(self, role: str, source: str) -> str:
        material = repr(
            (
                graph_files.FORMAT,
                role,
                self._key,
                [(v.dtype.name, v.shape.rank) for v in self._variables],
                tf.__version__,
                keras.__version__,
                source,
                keras.config.floatx(),
                keras.config.dtype_policy().name,
                tf_config.is_op_determinism_enabled(),  # some ops trace differently
                sys.version_info[:2],
                # What grappler's graph depends on besides the traced one
                optimized_graphs.call_settings(),
                [device.name for device in tf.config.list_logical_devices()],
                optimized_graphs.processor(),
            )
        )
        return "skneural_" + hashlib.sha256(material.encode()).hexdigest()[:32]


#: The store of runners whose graphs are not stored: every function is traced.
TRACE_ONLY = GraphStore()


class _StoredFunction:
    """A stored entry's ``functions`` (the called one first), registered with
    TensorFlow while it lives, called with their inputs and then the captured
    variables' ``handles``; grappler's graph is called only with the grappler settings
    it was made for (``function``, the ``tf.function`` it stands for, is traced
    otherwise, as a traced function is optimised again for new settings)."""

    def __init__(self, functions, captures, handles, optimized, function, retrace):
        self.definition, self.captures, self.optimized = functions[0], captures, optimized
        self._function, self._retrace, self._called, self._instead = function, retrace, False, None
        self._settings = optimized_graphs.call_settings()
        self._names = tuple(f.signature.name for f in functions)
        self._name = self._names[0].encode()
        self._handles = handles
        self._n_outputs = len(functions[0].signature.output_arg)
        # New: registered by this one (else another runner's, or prefetched).
        self.new = register(functions)
        self._finalizer = weakref.finalize(self, _release, self._names)
        self._finalizer.atexit = False

    def __call__(self, *args):
        if self._instead is not None:
            return self._instead(*args)
        inputs = [*args, *self._handles]
        if not self.optimized:
            outputs = context.context().call_function(self._name, inputs, self._n_outputs)
        elif self._settings != optimized_graphs.call_settings():  # optimised again, traced
            return self._function.get_concrete_function()(*args)
        else:
            try:
                outputs = optimized_graphs.call(self._name.decode(), inputs, self._n_outputs)
            except tf.errors.InvalidArgumentError:
                if self._called:
                    raise
                # Refused by TensorFlow before it ran (edited under a matching checksum):
                # it leaves TensorFlow now, and the traced graph is stored in its place.
                self._finalizer()
                self._instead = self._retrace()
                return self._instead(*args)
            self._called = True
        return outputs[0] if self._n_outputs == 1 else tuple(outputs)


_noted: set[int] = set()  # the processes (ids) that noted their first epoch graph


def _note_first(path: Path) -> None:
    """Note, in its directory, the epoch graph ``path`` as the one the process asked for
    first (a later process's first fit prefetches it: :mod:`skneural._prefetch`)."""
    with _lock:
        if os.getpid() in _noted:
            return
        _noted.add(os.getpid())
    with contextlib.suppress(OSError):
        if graph_files.first_epoch_graph(path.parent) != path:  # else noted already
            graph_files.write_whole(path.parent / graph_files.FIRST, path.name.encode())


def register(functions: list) -> bool:
    """Register a stored entry's ``functions`` with TensorFlow for one more user
    (:func:`_release` lets go); whether this registered them."""
    names = tuple(f.signature.name for f in functions)
    with _lock:
        new = not _users.get(names)
        if new:
            ctx = context.context()
            for function in reversed(functions):  # callees first
                ctx.add_function_def(function)
        _users[names] = _users.get(names, 0) + 1
    return new


def _release(names: tuple[str, ...]) -> None:
    with _lock:
        _users[names] -= 1
        if _users[names]:
            return
        del _users[names]
        for name in names:
            with contextlib.suppress(Exception):  # a context already torn down
                context.remove_function(name)


def _load(path: Path, name: str, variables: list, function, retrace) -> "_StoredFunction | None":
    try:
        found = graph_files.read(path, name)
        if found is None:
            return None
        functions, captures, optimized = found.functions, found.captures, found.optimized
        if (
            len(functions[0].signature.input_arg) != len(function.input_signature) + len(captures)
            or any(i >= len(variables) for i in captures)
            or (optimized and not optimized_graphs.well_formed(functions[0]))
        ):
            return None
        handles = [variables[i].handle for i in captures]
        stored = _StoredFunction(functions, captures, handles, optimized, function, retrace)
        os.utime(path)  # recently used
        return stored
    except Exception:  # unreadable, damaged or foreign: traced over
        return None


def _captures(traced, variables: list) -> list[int] | None:
    """Which of ``variables`` each of ``traced``'s captured inputs is, or None where
    it captured anything else."""
    ids = {id(v.handle): i for i, v in enumerate(variables)}
    captures = [ids.get(id(handle)) for handle in traced.captured_inputs]
    return None if None in captures else captures


def _functions_of(traced, name: str) -> list:
    """``traced``'s functions, the called one first, :func:`renamed
    <skneural._graph_files.renamed>` after the entry ``name``."""
    called = function_pb2.FunctionDef()
    called.CopyFrom(traced.function_def)  # renamed below; TensorFlow's own stays as it is
    functions = {called.signature.name: called}
    for function in traced.graph.as_graph_def().library.function:
        functions.setdefault(function.signature.name, function)
    return graph_files.renamed(list(functions.values()), name)
