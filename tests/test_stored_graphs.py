"""Graphs stored on disk: a fit on a stored graph is the traced graph's fit, bit for bit,
and a file that is damaged, foreign or tampered with is never run."""

import concurrent.futures
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_regression
from tensorflow.core.framework import types_pb2

from skneural import (
    MLPClassifierX,
    MLPRegressorX,
    _graph_files,
    _instantiation,
    _optimized_graphs,
    _prefetch,
    _source,
    _stored_graphs,
)
from skneural._pool import RunnerPool
from skneural.adversarial import fgsm

BASE = dict(batch_size=32, max_iter=5, random_state=0)


@pytest.fixture(scope="module")
def data(float32_clf_data):
    return float32_clf_data


@pytest.fixture
def pool(monkeypatch):
    pool = RunnerPool()
    monkeypatch.setattr("skneural._fitted.POOL", pool)
    return pool


@pytest.fixture
def folder(tmp_path, monkeypatch):
    folder = tmp_path / "graphs"
    monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", str(folder))
    return folder


def _fit(X, y, estimator=MLPClassifierX, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        return estimator(**dict(BASE, **params)).fit(X, y)


def _weights(model) -> list[np.ndarray]:
    return [*model.coefs_, *model.intercepts_]


def _assert_same_fit(a, b):
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)
    for x, y in zip(_weights(a), _weights(b), strict=True):
        np.testing.assert_array_equal(x, y)


def _tracings(pool) -> int:
    return sum(
        function.experimental_get_tracing_count()
        for runners in pool._idle.values()
        for runner in runners
        for function in runner._functions.values()
    )


def _table(data):
    X, y = data
    frame = pd.DataFrame(X[:, :5], columns=list("abcde"))
    frame["colour"] = pd.Categorical(np.array(["red", "green", "blue"])[y])
    frame.loc[::7, "a"] = np.nan
    return frame, y


CASES = {
    "switched adam": dict(hidden_layer_sizes=(12,)),
    "sgd tanh, two layers": dict(hidden_layer_sizes=(9, 6), solver="sgd", activation="tanh"),
    "dropout, residual": dict(hidden_layer_sizes=(8, 8, 8), dropout=0.3, residual=True),
    "early stopping": dict(hidden_layer_sizes=(12,), early_stopping=True, max_iter=12),
    "penalties, rmsprop": dict(hidden_layer_sizes=(10,), alpha=0.1, l1=0.01, solver="rmsprop"),
    "adversarial": dict(hidden_layer_sizes=(12,), adversarial_eps=0.1),
    "elu adagrad float64": dict(hidden_layer_sizes=(10,), activation="elu", solver="adagrad"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_stored_graph_trains_as_the_traced_one(case, data, pool, folder, monkeypatch):
    X, y = data
    if "float64" in case:
        X = X.astype(np.float64)
    params = CASES[case]
    monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", "off")
    traced = _fit(X, y, **params)
    assert not folder.exists()
    monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", str(folder))
    pool.clear()
    storing = _fit(X, y, **params)  # traces, and stores what it traced
    assert any(folder.glob("skneural_*.graph"))
    pool.clear()
    stored = _fit(X, y, **params)  # traces nothing
    assert _tracings(pool) == 0
    _assert_same_fit(traced, storing)
    _assert_same_fit(traced, stored)
    np.testing.assert_array_equal(traced.predict_proba(X), stored.predict_proba(X))
    if "early stopping" in case:
        assert stored.validation_scores_ == traced.validation_scores_


def test_the_attacks_and_a_table_fit_on_stored_graphs(data, pool, folder, monkeypatch):
    X, y = data
    frame, _ = _table(data)
    Xr, yr = make_regression(n_samples=150, n_features=4, random_state=0)
    results = {}
    for setting in ("off", str(folder), str(folder)):
        monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", setting)
        pool.clear()
        model = _fit(X, y, hidden_layer_sizes=(11,))
        table = _fit(frame, y, hidden_layer_sizes=(7,))
        poisson = _fit(Xr, np.abs(yr) / 100, MLPRegressorX, loss="poisson", max_iter=3)
        results.setdefault(setting, []).append(
            [fgsm(model, X[:40], y[:40], eps=0.2), table.predict_proba(frame), *_weights(table)]
            + _weights(poisson)
        )
    assert _tracings(pool) == 0  # the last round found every graph stored
    (off,), (storing, stored) = results.values()
    for a, b, c in zip(off, storing, stored, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_another_process_trains_on_the_stored_graph_to_the_same_bits(data, folder, pool):
    X, y = data
    params = dict(BASE, hidden_layer_sizes=(16, 8), activation="logistic", dropout=0.2)
    local = _fit(X, y, **params)  # stores the graph
    script = f"""
import hashlib, warnings
import numpy as np
from sklearn.datasets import make_classification
from skneural import MLPClassifierX
from skneural._fitted import POOL
warnings.simplefilter("ignore")
X, y = make_classification(n_samples=160, n_features=7, n_classes=3, n_informative=4,
                           random_state=0)
model = MLPClassifierX(**{params!r}).fit(X.astype(np.float32), y)
digest = hashlib.sha256()
for w in [*model.coefs_, *model.intercepts_]:
    digest.update(w.tobytes())
traced = sum(f.experimental_get_tracing_count() for rs in POOL._idle.values() for r in rs
             for f in r._functions.values())
print(digest.hexdigest(), traced)
"""
    env = dict(os.environ, SKNEURAL_GRAPH_CACHE=str(folder), TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    digest = hashlib.sha256()
    for w in _weights(local):
        digest.update(w.tobytes())
    assert result.stdout.split() == [digest.hexdigest(), "0"]


def _header(path) -> dict:
    return json.loads(path.read_bytes().partition(b"\n")[0])


def _stored_file(folder, data, optimized=True, **params):
    """The file a fit stores: grappler's graph, or the traced one (as stored when the
    optimised graph cannot be collected)."""
    X, y = data
    with pytest.MonkeyPatch.context() as patch:
        if not optimized:
            patch.setattr(_optimized_graphs, "function_of", lambda graph, definition: None)
        _fit(X, y, **params)
    (path,) = folder.glob("skneural_*.graph")
    assert _header(path)["optimized"] is optimized
    return path


def _refit_from(path, data, pool, **params):
    """The fit after ``path`` was tampered with: traced again, the same weights."""
    X, y = data
    pool.clear()
    model = _fit(X, y, **params)
    assert _tracings(pool) == 1
    return model


def _rewrite(path, functions, **changes) -> None:
    """``path`` holding ``functions`` and the header ``changes`` under a checksum that
    matches (a deliberate edit)."""
    header = dict(_header(path), **changes)
    body = _graph_files.function_pb2.FunctionDefLibrary(function=functions).SerializeToString()
    header["sha256"] = _graph_files._checksum(header, body)
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


def _damage(path, damage: str) -> None:
    raw = path.read_bytes()
    header, _, body = raw.partition(b"\n")
    functions = _graph_files._parse(body)
    # A node that calls a function: the traced graph's loop, or any of grappler's.
    caller = next((n for f in functions for n in f.node_def if n.op == "While"), None)
    caller = caller or functions[0].node_def[len(functions[0].node_def) // 2]
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "a bit flipped":  # still parses: the checksum tells
        flipped = bytearray(body)
        flipped[len(flipped) // 3] ^= 0x04
        path.write_bytes(header + b"\n" + bytes(flipped))
    elif damage == "cut after its first function":  # its loop's body is missing
        _rewrite(path, functions[:1])
    elif damage == "another entry's":
        _rewrite(path, _graph_files.renamed(functions, "skneural_" + "0" * 32))
    elif damage == "said to be optimised, or not":  # a traced graph run without grappler
        _rewrite(path, functions, optimized=not _header(path)["optimized"])
    elif damage == "its variables' shapes changed, the checksum not":
        edited = json.loads(header)
        edited["handles"][0][1] = [7, 7]
        path.write_bytes(json.dumps(edited).encode() + b"\n" + body)
    elif damage == "a foreign op":  # a graph that reads a file is never run
        next(n for n in functions[0].node_def if n.op == "ReadVariableOp").op = "ReadFile"
        _rewrite(path, functions)
    elif damage == "a call of another function":  # e.g. a user's tf.function
        caller.attr["body"].func.name = "__inference_users_function_17"
        _rewrite(path, functions)
    elif damage == "an input of no node":  # parses, and TensorFlow refuses to run it
        node = next(n for n in functions[0].node_def if n.input and ":" in n.input[0])
        node.input[0] = node.input[0].partition(":")[0] + "_gone:output:0"
        _rewrite(path, functions)
    elif damage == "a node twice":
        functions[0].node_def.append(functions[0].node_def[-1])
        _rewrite(path, functions)
    elif damage == "an op short of an input":  # TensorFlow refuses it on the first call
        node = next(n for n in functions[0].node_def if n.op == "AddV2" and len(n.input) == 2)
        del node.input[1]
        _rewrite(path, functions)
    elif damage == "a loop that cannot run":  # TensorFlow crashes on it
        next(n for n in functions[0].node_def if n.op == "Enter").attr["parallel_iterations"].i = 0
        _rewrite(path, functions)
    else:  # an op naming a function the file does not hold
        caller.op = "skneural_elsewhere"
        _rewrite(path, functions)


DAMAGES = [
    "truncated",
    "a bit flipped",
    "its variables' shapes changed, the checksum not",
    "cut after its first function",
    "another entry's",
    "said to be optimised, or not",
    "a foreign op",
    "a call of another function",
    "an op of another function",
]


#: What a checksum that matches cannot tell: grappler's graph is checked before it runs.
MISWIRED = [
    "an input of no node",
    "a node twice",
    "a loop that cannot run",
    "an op short of an input",
]


@pytest.mark.parametrize(
    "damage, optimized",
    [(damage, True) for damage in DAMAGES + MISWIRED if "first function" not in damage]
    + [(damage, False) for damage in DAMAGES],  # (grappler's graph is one function)
)
def test_a_damaged_or_foreign_file_is_traced_over(damage, optimized, data, pool, folder):
    params = dict(hidden_layer_sizes=(5,), solver="sgd")
    path = _stored_file(folder, data, optimized, **params)
    reference = _fit(*data, **params)
    _damage(path, damage)
    _assert_same_fit(reference, _refit_from(path, data, pool, **params))
    # ... and the file was stored again, whole: the next fit runs it.
    pool.clear()
    _assert_same_fit(reference, _fit(*data, **params))
    assert _tracings(pool) == 0


def test_nothing_is_stored_for_code_edited_since_import_or_unusual_tracing(
    data, pool, folder, monkeypatch
):
    from tensorflow.python.framework import op_callbacks

    reference = _fit(*data, hidden_layer_sizes=(5,))
    shutil.rmtree(folder)
    edited = dict(_source._AT_IMPORT, **{"_epoch.py": (0, 0)})
    monkeypatch.setattr(_source, "_AT_IMPORT", edited)  # as if edited since import
    pool.clear()
    _assert_same_fit(reference, _fit(*data, hidden_layer_sizes=(5,)))
    assert not folder.exists()
    monkeypatch.undo()
    monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", str(folder))
    seen = []

    def callback(op_type, *args, **kwargs):  # as check_numerics or the debugger add one
        seen.append(op_type)

    op_callbacks.add_op_callback(callback)
    try:
        pool.clear()
        _assert_same_fit(reference, _fit(*data, hidden_layer_sizes=(5,)))
    finally:
        op_callbacks.remove_op_callback(callback)
    assert seen and not folder.exists()  # traced, with the callback, and not stored


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_file_others_may_change_is_not_run(data, pool, folder):
    params = dict(hidden_layer_sizes=(6,), activation="tanh")
    path = _stored_file(folder, data, **params)
    path.chmod(0o666)
    _refit_from(path, data, pool, **params)
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # stored again, private
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


def test_off_or_unwritable_stores_nothing_and_fits(data, pool, tmp_path, monkeypatch):
    for setting in ("off", "", "0"):
        monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", setting)
        assert _stored_graphs.directory() is None
    blocker = tmp_path / "a file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SKNEURAL_GRAPH_CACHE", str(blocker / "graphs"))
    reference = _fit(*data, hidden_layer_sizes=(4,))
    pool.clear()
    _assert_same_fit(reference, _fit(*data, hidden_layer_sizes=(4,)))
    assert blocker.read_text() == "not a directory"
    monkeypatch.delenv("SKNEURAL_GRAPH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _stored_graphs.directory() == tmp_path / "xdg" / "skneural" / "graphs"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as XDG says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _stored_graphs.directory() == tmp_path / "home" / ".cache" / "skneural" / "graphs"


def test_only_the_most_recently_used_files_are_kept(data, pool, folder, monkeypatch):
    monkeypatch.setattr(_graph_files, "MAX_FILES", 2)
    for depth in (1, 2, 3):
        _fit(*data, hidden_layer_sizes=(5,) * depth)
    assert len(list(folder.glob("skneural_*.graph"))) == 2
    assert not list(folder.glob(".*.part"))


def test_the_epoch_graphs_loops_carry_no_bool_or_list(data, pool, folder):
    # A process's first call of a graph looks up oneDNN's kernels once per (op, type)
    # pair it holds (skneural._instantiation): a loop's five ops in a type of their own
    # would add five lookups.
    path = _stored_file(folder, data)
    loops = {"Enter", "Merge", "Switch", "Exit", "NextIteration"}
    types = {
        node.attr["T"].type
        for function in _graph_files.read(path, path.stem).functions
        for node in function.node_def
        if node.op in loops
    }
    assert types and not types & {types_pb2.DT_BOOL, types_pb2.DT_VARIANT}


def test_what_changes_a_graph_outside_its_key_changes_the_file(data, pool, folder):
    X, y = data
    _fit(X, y, hidden_layer_sizes=(5,))
    before = set(folder.glob("*.graph"))
    keras.config.set_floatx("float64")  # Keras casts some numbers through it
    try:
        pool.clear()
        _fit(X, y, hidden_layer_sizes=(5,))
    finally:
        keras.config.set_floatx("float32")
    assert len(set(folder.glob("*.graph")) - before) == 1


def test_stored_functions_leave_tensorflow_with_the_last_runner(data, pool, folder):
    from tensorflow.python.eager import context

    _fit(*data, hidden_layer_sizes=(6, 3))
    pool.clear()
    _fit(*data, hidden_layer_sizes=(6, 3))  # on the stored graph
    (runner,) = next(iter(pool._idle.values()))
    names = runner._concrete["epoch"]._names
    assert names and all(context.context().has_function(n) for n in names)
    del runner
    pool.clear()
    gc.collect()
    assert not any(context.context().has_function(n) for n in names)


def test_grapplers_graph_is_run_only_with_the_settings_it_was_made_for(data, pool, folder):
    import tensorflow as tf
    from tensorflow.python.eager import context

    params = dict(hidden_layer_sizes=(7, 5), activation="tanh")
    _fit(*data, **params)  # stores grappler's graph
    pool.clear()
    _fit(*data, **params)  # runs it; the runner stays in the pool
    ctx = context.context()
    saved = dict(ctx._optimizer_experimental_options)
    tf.config.optimizer.set_experimental_options({"remapping": False})  # no fused products
    try:
        again = _fit(*data, **params)  # the pooled runner, under other settings
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SKNEURAL_GRAPH_CACHE", "off")
            pool.clear()
            traced = _fit(*data, **params)
    finally:
        ctx._optimizer_experimental_options = saved
        ctx._thread_local_data.function_call_options = None
    _assert_same_fit(traced, again)


def _prefetched(monkeypatch) -> None:
    """Prefetch as a new process's first fit does, and wait for it."""
    monkeypatch.setattr(_prefetch, "_done", set())
    _prefetch.prefetch()
    concurrent.futures.wait(list(_instantiation._background), timeout=60)


def test_a_first_fit_prefetches_the_graph_an_earlier_process_began_with(
    data, pool, folder, monkeypatch
):
    from tensorflow.python.eager import context

    params = dict(hidden_layer_sizes=(6, 4), activation="tanh")
    monkeypatch.setattr(_stored_graphs, "_noted", set())  # as in a new process
    reference = _fit(*data, **params)  # stores grappler's graph of its epochs, noted first
    _fit(*data, hidden_layer_sizes=(3,))  # another graph, asked for later
    (runner,) = pool._idle[next(k for k in pool._idle if k[1] == 2)]
    path = _graph_files.first_epoch_graph(folder)
    entry = _graph_files.read(path, path.stem)
    assert entry.role == "epoch" and entry.optimized
    captured = [runner._graphs._variables[i] for i in entry.captures]
    assert entry.handles == _graph_files.handles_of(captured)
    names = tuple(f.signature.name for f in entry.functions)
    del runner
    pool.clear()
    gc.collect()
    assert not any(context.context().has_function(n) for n in names)
    _prefetched(monkeypatch)
    try:
        assert all(context.context().has_function(n) for n in names)
        _assert_same_fit(reference, _fit(*data, **params))
        assert _tracings(pool) == 0
        pool.clear()
        gc.collect()
        assert all(context.context().has_function(n) for n in names)  # held
    finally:
        _stored_graphs._release(names)


def test_graphs_are_instantiated_ahead_for_the_device_their_call_is_placed_on(
    data, pool, folder, monkeypatch
):
    # Instantiated for another device (skneural's thread has no scope of its own), a
    # function is not the one the call finds: the call instantiates it again.
    import tensorflow as tf
    from tensorflow.python.eager import context

    params = dict(hidden_layer_sizes=(6, 2))
    monkeypatch.setattr(_stored_graphs, "_noted", set())
    _fit(*data, **params)  # stores grappler's graph of its epochs, noted first
    path = _graph_files.first_epoch_graph(folder)
    names = tuple(f.signature.name for f in _graph_files.read(path, path.stem).functions)
    pool.clear()
    devices = []
    instantiate = _instantiation.instantiate

    def recording(*args):
        devices.append(context.context().device_name)
        instantiate(*args)

    monkeypatch.setattr(_instantiation, "instantiate", recording)
    monkeypatch.setattr(_instantiation, "_instantiated", set())
    try:
        with tf.device("/CPU:0"):
            _prefetched(monkeypatch)  # ahead of the fit
            _fit(*data, **params)  # and on the stored graph's first call
    finally:
        _stored_graphs._release(names)
    assert len(devices) == 2 and all(d.endswith("/device:CPU:0") for d in devices)


def test_nothing_untrusted_is_prefetched(data, pool, folder, monkeypatch):
    params = dict(hidden_layer_sizes=(5,), solver="sgd")
    monkeypatch.setattr(_stored_graphs, "_noted", set())
    path = _stored_file(folder, data, **params)
    assert _graph_files.first_epoch_graph(folder) == path
    _damage(path, "a foreign op")
    before = dict(_stored_graphs._users)
    _prefetched(monkeypatch)
    assert _stored_graphs._users == before
    marker = folder / _graph_files.FIRST
    for named in ["../" + path.name, "graphs", path.name + "x", path.name + " " * 64]:
        marker.write_text(named)  # only a graph's name, of the directory, and short
        assert _graph_files.first_epoch_graph(folder) is None
    marker.unlink()
    (folder / "elsewhere").write_text(path.name)
    marker.symlink_to(folder / "elsewhere")  # a link is not followed
    assert _graph_files.first_epoch_graph(folder) is None
