"""A compiled function's graph as grappler left it, so that no later process optimises it.

The first call of a function in a process has TensorFlow instantiate it: lower its
loops and branches, place its ops, and run grappler, its graph optimiser (0.1-0.2 s of
a new network depth's first fit on small data). Grappler's result depends only on the
graph and on settings the stored graphs' key holds (versions, devices, the call's
configuration, the CPU), so :class:`FirstCall` collects it during the first call
(TensorFlow's graph collection, for that call only), and :func:`function_of` turns it
back into a ``FunctionDef`` that a later process calls with grappler off
(:func:`call`), instantiated on skneural's own thread (:mod:`skneural._instantiation`); the
rest (placing the ops, the split per device, the executor) is done as for a traced
function, so a fit gives the same result to the last bit (``tests/test_stored_graphs.py``).

TensorFlow's graph collection is process-wide, so it is run one call at a time, only
for a function never called before in the process (so that its call instantiates
it), and what is kept is the one graph collected whose graph before grappler is the
function's body node for node (:func:`_is_graph_of`), whatever other threads
instantiated meanwhile. Nothing is collected while ``tf.summary.trace_on`` collects;
TensorFlow's private switches (``context.enable_run_metadata``,
``enable_graph_collection``) cannot be seen, and what they collected before such a
first call is taken with it. The function stays as it is where its graph cannot be
collected or rewired (a function call, an op TensorFlow does not know), and a stored
graph is refused unless it is well formed (:func:`well_formed`).
"""

import contextlib
import functools
import os
import platform
import threading

from tensorflow.core.framework import function_pb2
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.eager import context, execute
from tensorflow.python.framework import op_def_registry
from tensorflow.python.ops import summary_ops_v2

from . import _instantiation as instantiation

_collecting = threading.Lock()


@functools.lru_cache(maxsize=8)
def _without_grappler(config: bytes, executor_type: str) -> tuple:
    """Call attributes: the thread's call configuration ``config`` with grappler off."""
    proto = config_pb2.ConfigProto.FromString(config)
    proto.graph_options.rewrite_options.disable_meta_optimizer = True
    return ("executor_type", executor_type, "config_proto", proto.SerializeToString())


def call_settings() -> bytes:
    """The configuration grappler optimises the calling thread's functions with."""
    return context.context().function_call_options.config_proto_serialized


@functools.lru_cache(maxsize=1)
def processor() -> tuple:
    """The CPU's architecture and features, and whether TensorFlow uses oneDNN."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        onednn = _pywrap_util_port.IsMklEnabled()
    except Exception:  # another TensorFlow: told by the environment it read
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    try:
        with open("/proc/cpuinfo") as info:
            features = next((line for line in info if line.startswith("flags")), "")
    except OSError:
        features = ""
    return platform.machine(), onednn, features


def call_attrs() -> tuple:
    """The attributes :func:`call` calls with, on this thread now."""
    options = context.context().function_call_options
    return _without_grappler(options.config_proto_serialized, options.executor_type or "")


def call(name: str, inputs: list, n_outputs: int) -> list:
    """Call the registered, already optimised function ``name`` with grappler off,
    instantiated on skneural's own thread (:func:`skneural._instantiation.ready`)."""
    attrs = call_attrs()
    instantiation.ready(name, inputs, n_outputs, attrs)
    return execute.execute(name, n_outputs, inputs=inputs, attrs=attrs, ctx=context.context())


class FirstCall:
    """Calls ``function``; its first call also collects the graph grappler made of
    ``definition`` (``function``'s ``FunctionDef``) and hands it, as a ``FunctionDef``
    (:func:`function_of`), to ``keep``, unless it cannot be collected."""

    def __init__(self, function, definition: function_pb2.FunctionDef, keep):
        self._function = function
        self._definition = definition
        self._keep = keep

    def __call__(self, *args):
        if self._keep is None:
            return self._function(*args)
        keep, self._keep = self._keep, None
        # One collection at a time (another's export would take this call's graph),
        # and none while someone else collects graphs (tf.summary.trace_on).
        if not _collecting.acquire(blocking=False):
            return self._function(*args)
        try:
            if getattr(summary_ops_v2, "_current_trace_context", True) is not None:
                return self._function(*args)
            outputs, collected = _collected(self._function, args)
        finally:
            _collecting.release()
        # This function's graph, among those of any other thread's calls meanwhile.
        own = [graphs for graphs in collected if _is_graph_of(graphs, self._definition)]
        if len(own) == 1:
            with contextlib.suppress(Exception):  # what cannot be rewired is not kept
                optimised = function_of(own[0].post_optimization_graph, self._definition)
                if optimised is not None:
                    keep(optimised)
        self._definition = None
        return outputs


def _collected(function, args) -> tuple:
    """``function(*args)``, and the graphs of the functions TensorFlow instantiated
    for the call (none where they cannot be collected)."""
    ctx = context.context()
    try:
        ctx.enable_graph_collection()
    except Exception:  # another TensorFlow: the function as it is
        return function(*args), ()
    collected = ()
    try:
        outputs = function(*args)
    finally:
        with contextlib.suppress(Exception):
            collected = ctx.export_run_metadata().function_graphs
        ctx.disable_graph_collection()
    return outputs, collected


def _is_graph_of(graphs, definition: function_pb2.FunctionDef) -> bool:
    """Whether the collected ``graphs`` are those of the function ``definition``: its
    graph before grappler is the definition's body, node for node (name, op and
    attributes; a loop's body and branches are named per trace), and an ``_Arg`` per
    input and a ``_Retval`` per output."""
    nodes = {node.name: node for node in graphs.pre_optimization_graph.node}
    ops = [node.op for node in nodes.values()]
    n_in, n_out = len(definition.signature.input_arg), len(definition.signature.output_arg)

    def same(node) -> bool:
        other = nodes.get(node.name)
        return (
            other is not None
            and other.op == node.op
            and all(k in other.attr and other.attr[k] == v for k, v in node.attr.items())
        )

    return (
        len(nodes) == len(definition.node_def) + n_in + n_out
        and (ops.count("_Arg"), ops.count("_Retval")) == (n_in, n_out)
        and all(same(node) for node in definition.node_def)
    )


def _output_names(node) -> list[str] | None:
    """The ``FunctionDef`` names (``arg:k``) of ``node``'s outputs, in order."""
    op_def = op_def_registry.get(node.op)
    if op_def is None:  # a function call, or an op this TensorFlow does not know
        return None
    names = []
    for arg in op_def.output_arg:
        if arg.number_attr:
            count = node.attr[arg.number_attr].i
        elif arg.type_list_attr:
            count = len(node.attr[arg.type_list_attr].list.type)
        else:
            count = 1
        names.extend(f"{arg.name}:{k}" for k in range(count))
    return names


def function_of(graph, definition: function_pb2.FunctionDef) -> function_pb2.FunctionDef | None:
    """The function ``definition`` with the body ``graph`` (a ``GraphDef`` of it, whose
    ``_Arg`` and ``_Retval`` nodes stand for its inputs and outputs), or None where
    ``graph`` holds anything that cannot be wired as a function body."""
    signature = definition.signature
    function = function_pb2.FunctionDef(signature=signature)
    for name, value in definition.attr.items():
        function.attr[name].CopyFrom(value)
    for index, attrs in definition.arg_attr.items():
        function.arg_attr[index].CopyFrom(attrs)
    function.resource_arg_unique_id.update(definition.resource_arg_unique_id)
    if len({node.name for node in graph.node}) != len(graph.node):
        return None
    args, returned, outputs = {}, {}, {}
    for node in graph.node:
        if node.op in ("_Arg", "_Retval"):  # an input or output, of its type
            listed = signature.input_arg if node.op == "_Arg" else signature.output_arg
            index = node.attr["index"].i
            if not 0 <= index < len(listed) or node.attr["T"].type != listed[index].type:
                return None
            if node.op == "_Arg":
                args[node.name] = listed[index].name
            else:
                returned[listed[index].name] = node.input[0]
        else:
            outputs[node.name] = _output_names(node)
            if outputs[node.name] is None:
                return None
    if len(args) != len(signature.input_arg) or len(returned) != len(signature.output_arg):
        return None

    def source(tensor: str) -> str | None:
        """A ``GraphDef`` input (``node:k``, ``^node``) as a ``FunctionDef`` input."""
        if tensor.startswith("^"):
            return tensor if tensor[1:] in outputs else None
        node, _, k = tensor.partition(":")
        k = int(k or 0)
        if node in args:
            return args[node] if k == 0 else None
        names = outputs.get(node, ())
        return f"{node}:{names[k]}" if k < len(names) else None

    for node in graph.node:
        if node.op in ("_Arg", "_Retval"):
            continue
        body = function.node_def.add()
        body.CopyFrom(node)
        del body.input[:]
        for tensor in node.input:
            wired = source(tensor)
            if wired is None:
                return None
            body.input.append(wired)
    for name, tensor in returned.items():
        wired = source(tensor)
        if wired is None or wired.startswith("^"):
            return None
        function.ret[name] = wired
    for name, node in definition.control_ret.items():  # side effects kept by name
        if node not in outputs:
            return None
        function.control_ret[name] = node
    return function


def well_formed(function: function_pb2.FunctionDef) -> bool:
    """Whether every input of ``function``'s nodes and outputs names an input, or an
    output a node of it has, its node names are distinct, and its loops run (a stored
    graph's checksum tells damage, not whether what was written can run)."""
    nodes = {node.name: node for node in function.node_def}
    if len(nodes) != len(function.node_def):
        return False
    names = {name: set(_output_names(node) or ()) for name, node in nodes.items()}
    inputs = {arg.name for arg in function.signature.input_arg}

    def resolves(tensor: str) -> bool:
        if tensor.startswith("^"):
            return tensor[1:] in nodes
        node, _, output = tensor.partition(":")
        return output in names.get(node, ()) if output else node in inputs

    return (
        all(resolves(tensor) for node in nodes.values() for tensor in node.input)
        and all(resolves(tensor) and ":" in tensor for tensor in function.ret.values())
        and all(n.attr["parallel_iterations"].i > 0 for n in nodes.values() if n.op == "Enter")
    )
