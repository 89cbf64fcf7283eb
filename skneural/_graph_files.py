"""A stored graph's file: its layout, what it may hold, and writing it whole.

A file is one line of JSON (the layout's version, the function's role, which of the
runner's variables each captured input is and those variables' dtypes and shapes, and a
SHA-256 of those and of the rest) and then a
``FunctionDefLibrary``: the called function first, then every function it calls, all
named after the file (:func:`renamed`). It is read (:func:`read`) only when it is the
user's own, no one else may change it, its checksum holds (a damaged file that still
parses would otherwise run, or crash TensorFlow), it names the function asked for, and
it holds only :data:`ALLOWED_OPS` and calls of its own functions, by op or by a
function attribute (a loop's body, a branch); it is written to a temporary file first
and renamed into place, so that another process reads it whole or not at all.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import stat
import tempfile
from pathlib import Path

from tensorflow.core.framework import function_pb2

#: Bump when the file layout or what a key covers changes.
FORMAT = 3
#: Files kept at most; the least recently used go first.
MAX_FILES = 128
#: The file naming the epoch graph a process asked for first (skneural/_prefetch.py).
FIRST = "first-epoch-graph"
#: The ops a stored graph may hold (besides calls of its own functions): those the
#: width-free epoch, evaluation and input-gradient graphs are made of (collected over
#: every activation, loss, solver and option they serve), and a few more of the same
#: kinds. None reads or writes files, talks to a network, runs Python or finds a
#: variable by name: a stored graph computes on the tensors and variables it is given.
ALLOWED_OPS = frozenset(
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
) | frozenset(  # and those grappler's optimised graph adds: loops and branches lowered
    # to frames and switches, fused products and chains of elementwise functions
    """
    Enter Exit LoopCond Merge NextIteration Switch _SwitchN _FusedMatMul
    _UnaryOpsComposition
    """.split()
)


def read(path: Path, name: str) -> "Entry | None":
    """What is stored at ``path`` for the entry ``name``; None where it is missing,
    not trusted, damaged or holds anything else. The functions are renamed after their
    content too, so that a process never takes a function it registered from another
    version of the file for this one's."""
    if not _trusted(path):
        return None
    header, _, body = path.read_bytes().partition(b"\n")
    header = json.loads(header)
    if header["format"] != FORMAT or header["sha256"] != _checksum(header, body):
        return None
    captures, optimized, handles = header["captures"], header["optimized"], header["handles"]
    functions = _parse(body)
    if (
        functions[0].signature.name != called(name, optimized)
        or not all(isinstance(i, int) and i >= 0 for i in captures)
        or not isinstance(optimized, bool)
        or not isinstance(header["role"], str)
        or len(handles) != len(captures)
        or not all(_is_handle(handle) for handle in handles)
        or not only_allowed(functions, name)
    ):
        return None
    functions = renamed(functions, f"{called(name, optimized)}_{header['sha256'][:16]}")
    return Entry(functions, captures, optimized, header["role"], handles)


@dataclasses.dataclass(frozen=True)
class Entry:
    """A stored entry: its ``functions`` (the called one first), the index among the
    runner's variables of each variable they capture (``captures``), whether they are
    grappler's optimised graph, the ``role`` of the function in its runner, and the
    captured variables' ``handles``: ``[dtype enum, shape]`` each, the shape a list of
    sizes (-1 unknown) or None (unknown rank), as TensorFlow keys a call by them."""

    functions: list
    captures: list[int]
    optimized: bool
    role: str
    handles: list


def handles_of(variables: list) -> list:
    """The dtypes and shapes of ``variables``, as :attr:`Entry.handles` records them."""
    return [
        [
            v.dtype.as_datatype_enum,
            None if v.shape.rank is None else [-1 if n is None else n for n in v.shape.as_list()],
        ]
        for v in variables
    ]


def _is_handle(handle) -> bool:
    def size(n) -> bool:
        return isinstance(n, int) and not isinstance(n, bool) and n >= -1

    return (
        isinstance(handle, list)
        and len(handle) == 2
        and size(handle[0])
        and (handle[1] is None or isinstance(handle[1], list) and all(map(size, handle[1])))
    )


def called(name: str, optimized: bool) -> str:
    """The name of entry ``name``'s called function: an optimised graph's differs from
    the traced one's, which a process may hold registered at the same time."""
    return f"{name}_optimized" if optimized else name


def write(path: Path, entry: Entry) -> None:
    """Store ``entry`` (its functions :func:`renamed` after :func:`called`) at
    ``path``, unless they hold an op outside :data:`ALLOWED_OPS`."""
    if not only_allowed(entry.functions, path.stem):
        return
    body = function_pb2.FunctionDefLibrary(function=entry.functions).SerializeToString()
    header = {
        "format": FORMAT,
        "captures": entry.captures,
        "optimized": entry.optimized,
        "role": entry.role,
        "handles": entry.handles,
    }
    header["sha256"] = _checksum(header, body)
    write_whole(path, json.dumps(header).encode() + b"\n" + body)
    _trim(path.parent)


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path``, its directory the user's only: whole or not at all,
    also for another process reading it meanwhile."""
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def first_epoch_graph(folder: Path) -> Path | None:
    """The file of the epoch graph the last process to note one asked for first
    (:data:`FIRST`: the user's own regular file, not a link, of a graph's name), or
    None."""
    try:
        handle = os.open(folder / FIRST, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(handle, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_size > 64 or not _owned(status):
            return None
        name = file.read(64).decode("ascii", "replace")
    return folder / name if re.fullmatch(r"skneural_[0-9a-f]{32}\.graph", name) else None


def _trusted(path: Path) -> bool:
    """Whether ``path`` exists, is this user's and only they can change it."""
    return path.is_file() and _owned(path.stat())


def _owned(status: os.stat_result) -> bool:
    """Whether a file of ``status`` is this user's and only they can change it."""
    if not hasattr(os, "getuid"):  # no POSIX owners: the user's profile protects it
        return True
    return status.st_uid == os.getuid() and not status.st_mode & 0o022


def _checksum(header: dict, body: bytes) -> str:
    fields = [header[key] for key in ("captures", "optimized", "role", "handles")]
    return hashlib.sha256(json.dumps(fields).encode() + b"\n" + body).hexdigest()


def _parse(body: bytes) -> list[function_pb2.FunctionDef]:
    return list(function_pb2.FunctionDefLibrary.FromString(body).function)


def renamed(functions: list, name: str) -> list:
    """``functions`` (the called one first) named after the entry: ``name`` and
    ``name_1``, ``name_2``... in order, with every reference between them renamed
    (traced names carry a process's counter and could clash in another process)."""
    names = {f.signature.name: name if i == 0 else f"{name}_{i}" for i, f in enumerate(functions)}
    for function in functions:
        function.signature.name = names[function.signature.name]
        for node in function.node_def:
            node.op = names.get(node.op, node.op)
            for call in _named_calls(node.attr.values()):
                call.name = names.get(call.name, call.name)
    return functions


def only_allowed(functions: list, name: str) -> bool:
    """Whether ``functions`` are all named after ``name``, hold only
    :data:`ALLOWED_OPS`, and call (by op or function attribute) only one another."""
    own = {f.signature.name for f in functions}
    return all(f.signature.name.startswith(name) for f in functions) and all(
        (node.op in ALLOWED_OPS or node.op in own)
        and all(call.name in own for call in _named_calls(node.attr.values()))
        for f in functions
        for node in f.node_def
    )


def _named_calls(values):
    """Every function named in the attribute ``values`` (a loop's body, a branch),
    those named in their own attributes included."""
    for value in values:
        for call in [value.func] if value.HasField("func") else value.list.func:
            yield call
            yield from _named_calls(call.attr.values())


def _trim(folder: Path) -> None:
    """Remove the least recently used files beyond :data:`MAX_FILES`."""
    files = sorted(folder.glob("skneural_*.graph"), key=lambda p: p.stat().st_mtime)
    for old in files[:-MAX_FILES]:
        with contextlib.suppress(OSError):
            old.unlink()
