"""Traced graphs kept on disk, so that a new process does not trace them again.

The first fit of a network depth in a process traces its epoch graph: 0.2-0.3 s of
Python building ~700 TensorFlow ops, more than the fit itself on small data, paid again
by every process (every script run, every joblib or Dask worker). A width-free
workspace's graph depends only on its graph key, so this module keeps each traced
function, as TensorFlow's ``FunctionDef`` protocol buffers, in a directory of the
user's cache; a later process with the same key, the same versions of TensorFlow,
Keras and skneural's own code, and the same global settings, registers those
functions with TensorFlow and calls them on its own variables instead of tracing.
Grappler still optimises the graph on its first call in each process, as it does for
a traced one, so a fit gives the same result to the last bit either way
(``tests/test_stored_graphs.py``).

The directory is ``$SKNEURAL_GRAPH_CACHE`` when that is set (``off`` or an empty
value: nothing is read or written), else ``skneural/graphs`` under
``$XDG_CACHE_HOME`` (``~/.cache`` by default). It is made readable by its owner only;
a file that is not owned by the user, is writable by others, or holds an op outside
:data:`_ALLOWED_OPS` (no file, network or Python ops: a graph here can only compute on
the tensors and variables it is given) is ignored and traced over. Nothing that goes
wrong here reaches a fit: the function is then traced, as without the directory.
"""

import contextlib
import functools
import hashlib
import json
import os
import sys
import tempfile
import threading
import weakref
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.core.framework import function_pb2
from tensorflow.python.eager import context
from tensorflow.python.framework import config as tf_config

#: Bump when the file layout or what a key covers changes.
_FORMAT = 1
#: Files kept at most; the least recently used go first.
MAX_FILES = 128
_OFF = ("", "0", "off", "false", "no")

#: The ops a stored graph may hold (besides calls of its own functions): those the
#: width-free epoch, evaluation and input-gradient graphs are made of (collected over
#: every activation, loss, solver and option they serve), and a few more of the same
#: kinds. None reads or writes files, talks to a network, runs Python or finds a
#: variable by name: a stored graph computes on the tensors and variables it is given.
_ALLOWED_OPS = frozenset(
    """
    Abs AddN AddV2 All AssignAddVariableOp AssignSubVariableOp AssignVariableOp BiasAdd
    BiasAddGrad BroadcastGradientArgs BroadcastTo Case Cast ConcatV2 Const DivNoNan
    DynamicStitch Einsum Elu EluGrad Equal Erf Erfc Exp ExpandDims Fill FloorDiv
    FloorMod GatherV2 Greater GreaterEqual Identity IdentityN If IsFinite L2Loss
    LeakyRelu LeakyReluGrad Less LessEqual Log Log1p LogSoftmax LogicalAnd LogicalNot
    LogicalOr MatMul Max Maximum Mean Min Minimum Mul Neg NoOp NotEqual OnesLike Pack
    Pow Prod Range ReadVariableOp RealDiv Reciprocal Relu ReluGrad Reshape Round Rsqrt
    Select SelectV2 Selu SeluGrad Shape Sigmoid SigmoidGrad Sign Size Softmax
    SoftmaxCrossEntropyWithLogits Softplus Softsign SplitV Sqrt Square
    SquaredDifference Squeeze StatelessCase StatelessIf StatelessRandomGetKeyCounter
    StatelessRandomUniformV2 StopGradient StridedSlice Sub Sum Tanh TanhGrad
    TensorListReserve TensorListSetItem TensorListStack Tile Transpose While Xlogy
    ZerosLike
    """.split()
)

_lock = threading.Lock()
#: How many live stored functions use each registered entry (by its functions' names):
#: the last one to go removes them from TensorFlow, as a traced function's are removed.
_users: dict[tuple[str, ...], int] = {}


@contextlib.contextmanager
def created_variables():
    """Collect, in creation order, every ``tf.Variable`` made in the block (the
    variables a runner's graphs may capture)."""
    created: list[tf.Variable] = []

    def creator(next_creator, **kwargs):
        variable = next_creator(**kwargs)
        created.append(variable)
        return variable

    with tf.variable_creator_scope(creator):
        yield created


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


@functools.cache
def _code_digest() -> str:
    """A digest of skneural's own source: a change of code is a change of graph."""
    digest = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class GraphStore:
    """The stored graphs of one runner's compiled functions.

    Parameters
    ----------
    key : tuple or None
        What fixes the runner's graphs in a process (the pool's key); its ``repr``
        names the files. None: nothing is stored, every function is traced.
    variables : list of tf.Variable
        Every variable the functions may capture, in creation order
        (:func:`created_variables`; read at the first :meth:`concrete`).
    """

    def __init__(self, key: tuple | None = None, variables: list[tf.Variable] = ()):
        self._key = key
        self._variables = variables

    def concrete(self, role: str, function):
        """A callable running ``function`` (a ``tf.function`` with an input
        signature): the stored graph of ``role`` when there is one, else the traced
        concrete function, which is then stored."""
        folder = directory()
        if folder is None or self._key is None:
            return function.get_concrete_function()
        try:
            name = self._entry_name(role)
        except Exception:  # e.g. skneural's source not readable as files
            return function.get_concrete_function()
        path = folder / f"{name}.graph"
        loaded = _load(path, name, self._variables, len(function.input_signature))
        if loaded is not None:
            return loaded
        traced = function.get_concrete_function()
        with contextlib.suppress(Exception):  # a cache that cannot be written is no cache
            _store(traced, folder, path, name, self._variables)
        return traced

    def _entry_name(self, role: str) -> str:
        material = repr(
            (
                _FORMAT,
                role,
                self._key,
                [(v.dtype.name, v.shape.rank) for v in self._variables],
                tf.__version__,
                keras.__version__,
                _code_digest(),
                keras.config.floatx(),
                keras.config.dtype_policy().name,
                tf_config.is_op_determinism_enabled(),  # some ops trace differently
                sys.version_info[:2],
            )
        )
        return "skneural_" + hashlib.sha256(material.encode()).hexdigest()[:32]


class _StoredFunction:
    """The registered functions ``names`` (the called one first), called with their
    inputs and then the captured handles; registered while it lives."""

    def __init__(self, functions: list, handles: list):
        self._names = tuple(f.signature.name for f in functions)
        self._name = self._names[0].encode()
        self._handles = handles
        self._n_outputs = len(functions[0].signature.output_arg)
        with _lock:
            if not _users.get(self._names):
                ctx = context.context()
                for function in reversed(functions):  # callees first
                    ctx.add_function_def(function)
            _users[self._names] = _users.get(self._names, 0) + 1
        weakref.finalize(self, _release, self._names).atexit = False

    def __call__(self, *args):
        outputs = context.context().call_function(
            self._name, [*args, *self._handles], self._n_outputs
        )
        return outputs[0] if self._n_outputs == 1 else tuple(outputs)


def _release(names: tuple[str, ...]) -> None:
    with _lock:
        _users[names] -= 1
        if _users[names]:
            return
        del _users[names]
        for name in names:
            with contextlib.suppress(Exception):  # a context already torn down
                context.remove_function(name)


def _load(path: Path, name: str, variables: list, n_args: int) -> "_StoredFunction | None":
    try:
        if not _trusted(path):
            return None
        header, functions = _read(path.read_bytes())
        captures = header["captures"]
        main = functions[0]
        if (
            header["format"] != _FORMAT
            or main.signature.name != name
            or len(main.signature.input_arg) != n_args + len(captures)
            or not all(isinstance(i, int) and 0 <= i < len(variables) for i in captures)
            or not _only_allowed(functions, name)
        ):
            return None
        stored = _StoredFunction(functions, [variables[i].handle for i in captures])
        os.utime(path)  # recently used
        return stored
    except Exception:  # unreadable, damaged or foreign: traced over
        return None


def _trusted(path: Path) -> bool:
    """Whether ``path`` exists, is this user's and only they can change it."""
    if not path.is_file():
        return False
    if not hasattr(os, "getuid"):  # no POSIX owners: the user's profile protects it
        return True
    status = path.stat()
    return status.st_uid == os.getuid() and not status.st_mode & 0o022


def _read(data: bytes) -> tuple[dict, list[function_pb2.FunctionDef]]:
    header, _, body = data.partition(b"\n")
    library = function_pb2.FunctionDefLibrary.FromString(body)
    return json.loads(header), list(library.function)


def _store(traced, folder: Path, path: Path, name: str, variables: list) -> None:
    ids = {id(v.handle): i for i, v in enumerate(variables)}
    captures = [ids.get(id(handle)) for handle in traced.captured_inputs]
    if None in captures:  # it captured something other than the runner's variables
        return
    functions = {traced.function_def.signature.name: traced.function_def}
    for function in traced.graph.as_graph_def().library.function:
        functions.setdefault(function.signature.name, function)
    functions = _renamed(list(functions.values()), name)
    if not _only_allowed(functions, name):
        return
    library = function_pb2.FunctionDefLibrary(function=functions)
    header = json.dumps({"format": _FORMAT, "captures": captures}).encode()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(header + b"\n" + library.SerializeToString())
        os.replace(temporary, path)  # whole or not at all, also with another process
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    _trim(folder)


def _renamed(functions: list, name: str) -> list:
    """``functions`` (the called one first) named after the entry: ``name`` and
    ``name_1``, ``name_2``... in order, with every reference between them renamed
    (traced names carry a process's counter and could clash in another process)."""
    names = {f.signature.name: name if i == 0 else f"{name}_{i}" for i, f in enumerate(functions)}

    def rename_attr(value) -> None:
        if value.HasField("func"):
            _rename_call(value.func, names)
        elif value.HasField("list"):
            for call in value.list.func:
                _rename_call(call, names)

    for function in functions:
        function.signature.name = names[function.signature.name]
        for node in function.node_def:
            node.op = names.get(node.op, node.op)
            for value in node.attr.values():
                rename_attr(value)
    return functions


def _rename_call(call, names: dict) -> None:
    call.name = names.get(call.name, call.name)
    for value in call.attr.values():
        if value.HasField("func"):
            _rename_call(value.func, names)


def _only_allowed(functions: list, name: str) -> bool:
    own = {f.signature.name for f in functions}
    return all(f.signature.name.startswith(name) for f in functions) and all(
        node.op in _ALLOWED_OPS or node.op in own for f in functions for node in f.node_def
    )


def _trim(folder: Path) -> None:
    """Remove the least recently used files beyond :data:`MAX_FILES`."""
    files = sorted(folder.glob("skneural_*.graph"), key=lambda p: p.stat().st_mtime)
    for old in files[:-MAX_FILES]:
        with contextlib.suppress(OSError):
            old.unlink()
