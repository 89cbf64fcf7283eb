"""Grappler, TensorFlow's graph optimiser, put off for the calls of small fits.

The first call of a compiled function has grappler optimise its graph: 0.2-0.35 s of a
digits-sized fit's first fit of a network depth (first fits (64,) 0.77-0.83 ->
0.58-0.61 s, (64, 64) 0.89-0.95 -> 0.60-0.61 s, (128, 64, 32) 1.29-1.48 -> 0.97-1.02 s
without it), which is most of what a new configuration costs. Unoptimised, the steps
of a small fit run ~7% slower (12 repeat (64, 64) fits on 1,200 rows: 0.89-1.00 s
against 0.83-0.94; on 5,000 x 50, (128, 64): 0.116-0.121 against 0.113 s), and on large
data grappler's fusions (MatMul + BiasAdd + activation) save 10-25% of a fit. So a
graph runs unoptimised on at most :data:`UNOPTIMISED_MAX_ROWS` rows until it has done
:data:`UNOPTIMISED_WORK` row-epochs that way, about where the steps' loss has cost
what the optimisation costs (~40 digits fits): a process's first fits and a short
cross-validation skip grappler, a long search pays it once and then runs optimised
(the rent-or-buy rule, at most about twice the better choice's cost).

The choice is made per call, for the calling thread only, through the function-call
options TensorFlow reads when it instantiates a function for a call (the configuration
grappler runs with): nothing process-wide changes, and a function called both ways is
instantiated once each way. With a GPU visible every call keeps grappler, whose layout
and memory passes matter there. The results are those of optimised calls: bit for bit,
but where grappler reorders a sum (an L2 or L1 penalty's gradient terms, batch
normalization's), to rounding (tested both ways).
"""

import contextlib
import functools

import tensorflow as tf
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.eager import context

#: Calls on at most this many rows run without grappler (the bound of the graphs that
#: switch their activation, :data:`skneural._shapeless.SWITCH_MAX_ROWS`).
UNOPTIMISED_MAX_ROWS = 5000

#: Row-epochs a graph runs unoptimised before its calls are optimised.
UNOPTIMISED_WORK = 1_500_000


@functools.cache
def _gpu_visible() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


@functools.lru_cache(maxsize=8)
def _unoptimised(config: bytes, executor_type) -> context.FunctionCallOptions:
    """The thread's call options ``config`` with grappler turned off."""
    proto = config_pb2.ConfigProto.FromString(config)
    proto.graph_options.rewrite_options.disable_meta_optimizer = True
    return context.FunctionCallOptions(executor_type=executor_type, config_proto=proto)


@contextlib.contextmanager
def optimised_for(rows: int, work: int = 0):
    """Calls of compiled functions in this block, on this thread, run without
    grappler when they process at most :data:`UNOPTIMISED_MAX_ROWS` rows and their
    graph has done less than :data:`UNOPTIMISED_WORK` row-epochs so (``work``)."""
    if rows > UNOPTIMISED_MAX_ROWS or work >= UNOPTIMISED_WORK or _gpu_visible():
        yield
        return
    ctx = context.context()
    saved = ctx.function_call_options
    ctx.function_call_options = _unoptimised(saved.config_proto_serialized, saved.executor_type)
    try:
        yield
    finally:
        ctx.function_call_options = saved
