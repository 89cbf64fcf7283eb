"""Grappler, TensorFlow's graph optimiser, run once over the compiled functions' graphs.

The first call of a compiled function has grappler optimise its graph, by default in two
passes of its optimisers over the graph. For an epoch graph the second pass finds next
to nothing to change but costs as much as the first: one pass takes a new network
depth's first call from 0.17-0.26 to 0.12-0.14 s ((64,) on digits) and from 0.23-0.24
to 0.17 s ((64, 64)), with the same repeat fits and the same weights
(``tests/test_graph_options.py``). Two passes that leave these graphs as they were on a
CPU are off too (~10 ms of a (64, 64) epoch graph's ~100 ms in grappler): the layout
optimiser and the experimental code motion into conditionals.

The setting is made per call, for the calling thread only, through the function-call
options TensorFlow reads when it instantiates a function for a call (the configuration
grappler runs with): nothing process-wide changes, and every call of skneural's
compiled functions runs with it, so a function is instantiated and optimised one way
only and a fit's result never depends on what the process ran before.
"""

import contextlib
import functools

from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
from tensorflow.python.eager import context


@functools.lru_cache(maxsize=8)
def _one_pass(config: bytes, executor_type) -> context.FunctionCallOptions:
    """The thread's call options ``config`` with a single pass of grappler, without
    the passes that change nothing here."""
    proto = config_pb2.ConfigProto.FromString(config)
    rewrite = proto.graph_options.rewrite_options
    rewrite.meta_optimizer_iterations = rewriter_config_pb2.RewriterConfig.ONE
    # The same optimised graphs, node for node, without them (measured on CPU; the
    # layout optimiser rewrites convolutions' data formats, of which there are none).
    rewrite.layout_optimizer = rewriter_config_pb2.RewriterConfig.OFF
    rewrite.experimental_conditional_code_motion = rewriter_config_pb2.RewriterConfig.OFF
    return context.FunctionCallOptions(executor_type=executor_type, config_proto=proto)


@contextlib.contextmanager
def one_pass():
    """Calls of compiled functions in this block, on this thread, have their graphs
    optimised by a single pass of grappler."""
    ctx = context.context()
    saved = ctx.function_call_options
    ctx.function_call_options = _one_pass(saved.config_proto_serialized, saved.executor_type)
    try:
        yield
    finally:
        ctx.function_call_options = saved
