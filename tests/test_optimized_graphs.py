"""Grappler's graph of a function, collected on its first call and turned back into a
function: called with grappler off, it computes what the traced function computes, to
the last bit, side effects included."""

import threading
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.ops import gen_resource_variable_ops, summary_ops_v2

from skneural import _instantiation, _optimized_graphs
from skneural._graph_files import renamed

SPEC = [tf.TensorSpec([None, 6], tf.float32), tf.TensorSpec([], tf.int32)]


def _example(step: float = 0.01):
    """A function with what the epoch graphs hold: a loop, a switch of activations,
    products with a bias (which grappler fuses) and variables it updates by ``step``."""
    rng = np.random.default_rng(0)
    w = tf.Variable(rng.normal(size=(6, 6)).astype(np.float32))
    b = tf.Variable(rng.normal(size=6).astype(np.float32))
    steps = tf.Variable(0)

    def run(x, which):
        def body(i, h):
            z = tf.nn.bias_add(tf.linalg.matmul(h, w), b)
            branches = [lambda: tf.nn.relu(z), lambda: tf.tanh(z), lambda: tf.sigmoid(z)]
            h = tf.switch_case(which, branches)
            w.assign_sub(step * tf.linalg.matmul(h, h, transpose_a=True))
            steps.assign_add(1)
            return i + 1, h

        _, h = tf.while_loop(lambda i, h: i < 4, body, [tf.constant(0), x])
        return h, tf.reduce_sum(h)

    function = tf.function(run, input_signature=SPEC, autograph=False)
    return function.get_concrete_function(), [w, b, steps]


def _inputs(which: int):
    x = np.random.default_rng(1).normal(size=(5, 6)).astype(np.float32)
    return tf.constant(x), tf.constant(which)


def _holds_switch(graph) -> bool:
    """Whether ``graph`` is the example's (another test's writer may run functions)."""
    return any(node.op == "_SwitchN" for node in graph.node)


def _state(variables):
    return [v.numpy().copy() for v in variables]


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("alongside", [False, True], ids=["alone", "another function too"])
def test_grapplers_graph_computes_what_the_traced_function_does(which, alongside):
    traced, variables = _example()
    other, _ = _example(step=0.02)  # the same ops, another loop body: not to be kept
    start = _state(variables)
    kept = []

    def function(*args):
        if alongside:  # instantiated in the same collection, as another thread's may be
            other(*args)
        return traced(*args)

    first = _optimized_graphs.FirstCall(function, traced.function_def, kept.append)
    expected = [t.numpy() for t in first(*_inputs(which))]
    expected_state = _state(variables)
    (optimised,) = kept
    ops = {node.op for node in optimised.node_def}
    assert {"Enter", "Exit", "_SwitchN", "_FusedMatMul"} <= ops  # lowered and fused
    assert "While" not in ops and "Case" not in ops

    name = f"skneural_test_optimised_{which}_{alongside}"
    context.context().add_function_def(renamed([optimised], name)[0])
    for variable, value in zip(variables, start, strict=True):
        variable.assign(value)
    ctx = context.context()
    ctx.enable_graph_collection()
    try:
        inputs = [*_inputs(which), *traced.captured_inputs]
        outputs = _optimized_graphs.call(name, inputs, 2)
    finally:
        collected = ctx.export_run_metadata().function_graphs
        ctx.disable_graph_collection()
        context.remove_function(name)
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_array_equal(got.numpy(), want)
    for got, want in zip(_state(variables), expected_state, strict=True):
        np.testing.assert_array_equal(got, want)  # the updates ran, once each
    # Called with grappler off: the graph it ran is the one it was given.
    (graphs,) = [g for g in collected if _holds_switch(g.pre_optimization_graph)]
    before = sorted(n.op for n in graphs.pre_optimization_graph.node)
    assert sorted(n.op for n in graphs.post_optimization_graph.node) == before


def test_nothing_is_kept_while_someone_else_collects_graphs(tmp_path):
    traced, _ = _example()
    kept = []
    first = _optimized_graphs.FirstCall(traced, traced.function_def, kept.append)
    summary_ops_v2.trace_on(graph=True)
    try:
        first(*_inputs(0))
        writer = tf.summary.create_file_writer(str(tmp_path))
        with writer.as_default():
            summary_ops_v2.trace_export("mine", step=0)  # the user's trace is whole
    finally:
        summary_ops_v2.trace_off()
    assert kept == []
    assert any(tmp_path.iterdir())
    first(*_inputs(0))  # only the first call collects
    assert kept == []


def test_a_graph_that_cannot_be_rewired_gives_no_function():
    traced, _ = _example()
    ctx = context.context()
    ctx.enable_graph_collection()
    try:
        traced(*_inputs(1))
    finally:
        collected = ctx.export_run_metadata().function_graphs
        ctx.disable_graph_collection()
    (graph,) = [
        g.post_optimization_graph for g in collected if _holds_switch(g.post_optimization_graph)
    ]
    definition = traced.function_def
    assert _optimized_graphs.function_of(graph, definition) is not None
    unknown = type(graph).FromString(graph.SerializeToString())
    next(n for n in unknown.node if n.op == "Tanh").op = "users_function"
    assert _optimized_graphs.function_of(unknown, definition) is None
    no_output = type(graph).FromString(graph.SerializeToString())
    node = next(n for n in no_output.node if n.op not in ("_Arg", "_Retval") and n.input)
    node.input[0] = node.input[0].partition(":")[0] + ":7"  # an output it does not have
    assert _optimized_graphs.function_of(no_output, definition) is None


def test_the_graph_of_another_function_is_not_kept():
    traced, _ = _example()
    other, _ = _example()  # the same ops: only its loop's functions are named otherwise
    kept = []
    _optimized_graphs.FirstCall(traced, other.function_def, kept.append)(*_inputs(0))
    assert kept == []
    _optimized_graphs.FirstCall(other, other.function_def, kept.append)(*_inputs(0))
    assert len(kept) == 1


def test_a_graph_holding_the_function_and_more_is_not_its_graph():
    spec = [tf.TensorSpec([None], tf.float32)]
    own = tf.function(lambda x: x * 2.0 + 1.0, input_signature=spec).get_concrete_function()
    more = tf.function(lambda x: (x * 2.0 + 1.0) * 3.0, input_signature=spec)
    more = more.get_concrete_function()  # its body: own's nodes, and one more
    ctx = context.context()
    ctx.enable_graph_collection()
    try:
        own(tf.constant([1.0])), more(tf.constant([1.0]))
    finally:
        collected = ctx.export_run_metadata().function_graphs
        ctx.disable_graph_collection()
    # (a summary writer of another test may have run functions meanwhile)
    own_only = [g for g in collected if _optimized_graphs._is_graph_of(g, own.function_def)]
    (more_graphs,) = [g for g in collected if _optimized_graphs._is_graph_of(g, more.function_def)]
    assert len(own_only) == 1 and own_only[0] != more_graphs


def test_a_function_instantiated_ahead_runs_nothing_and_its_call_runs_once():
    traced, variables = _example()
    start = _state(variables)
    expected = [t.numpy() for t in traced(*_inputs(1))]
    expected_state = _state(variables)
    for variable, value in zip(variables, start, strict=True):
        variable.assign(value)
    name = "skneural_test_instantiated_ahead"
    context.context().add_function_def(renamed([traced.function_def], name)[0])
    attrs = _optimized_graphs.call_attrs()
    handles = list(traced.captured_inputs)
    placeholders = [  # handles of no variable, of the variables' dtypes and shapes
        gen_resource_variable_ops.var_handle_op(
            dtype=v.dtype, shape=v.shape, shared_name=f"skneural_test_placeholder_{i}"
        )
        for i, v in enumerate(variables)
    ]
    try:
        _instantiation.instantiate(name, [*_inputs(1), *handles], 2, attrs)
        _instantiation.instantiate(name, [*_inputs(1), *placeholders], 2, attrs)
        for got, want in zip(_state(variables), start, strict=True):
            np.testing.assert_array_equal(got, want)  # nothing ran
        outputs = _optimized_graphs.call(name, [*_inputs(1), *handles], 2)
    finally:
        context.remove_function(name)
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_array_equal(got.numpy(), want)
    for got, want in zip(_state(variables), expected_state, strict=True):
        np.testing.assert_array_equal(got, want)  # the loop's four updates, once


def test_a_call_waits_for_the_work_begun_in_the_background():
    traced, _ = _example()
    name = "skneural_test_after_background"
    context.context().add_function_def(renamed([traced.function_def], name)[0])
    done = threading.Event()

    def work():
        time.sleep(0.2)
        done.set()

    _instantiation.in_background(work)
    try:
        _optimized_graphs.call(name, [*_inputs(0), *traced.captured_inputs], 2)
        assert done.is_set()
    finally:
        context.remove_function(name)


def test_instantiating_ahead_leaves_asynchronous_execution_unharmed():
    traced, variables = _example()
    name = "skneural_test_async"
    context.context().add_function_def(renamed([traced.function_def], name)[0])
    tf.config.experimental.set_synchronous_execution(False)
    try:
        attrs = _optimized_graphs.call_attrs()
        _instantiation.instantiate(name, [*_inputs(0), *traced.captured_inputs], 2, attrs)
        variables[0].assign_add(tf.ones_like(variables[0]))  # the next ops run
        context.context().executor.wait()
        assert np.isfinite(variables[0].numpy()).all()
    finally:
        tf.config.experimental.set_synchronous_execution(True)
        context.remove_function(name)
