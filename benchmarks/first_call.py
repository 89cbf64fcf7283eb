"""Where the first call of a stored epoch graph goes in a fresh process
(docs/performance.md, "(j), continued: where a stored graph's first call goes").

    python benchmarks/first_call.py [ROUNDS]

Stores grappler's graph of a digits network in a new graph directory (one process),
then, in ROUNDS fresh processes (default 3), each after one eager op: the epoch graph's
first call in a first fit and its call in the next fit; the same graph registered
again under new names, first called on this thread and on a new thread; and a call
cancelled before it starts followed by the real call on another new name. Put the
checkout to measure first on PYTHONPATH.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path


def _fit(n_rows: int) -> None:
    from sklearn.datasets import load_digits

    from skneural import MLPClassifierX

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype("float32")
    MLPClassifierX(hidden_layer_sizes=(64, 64), max_iter=5, random_state=0).fit(
        X[:n_rows], y[:n_rows]
    )


def _measure() -> dict[str, float]:
    import tensorflow as tf
    from tensorflow.core.framework import function_pb2
    from tensorflow.python.eager import cancellation, context, execute

    import skneural._optimized_graphs as optimized

    calls, seen = [], {}
    plain = optimized.call

    def timed(name, inputs, n_outputs):
        start = time.perf_counter()
        outputs = plain(name, inputs, n_outputs)
        calls.append(time.perf_counter() - start)
        options = context.context().function_call_options  # run_epochs's, as it calls
        attrs = optimized._without_grappler(
            options.config_proto_serialized, options.executor_type or ""
        )
        seen.update(name=name, inputs=inputs, n_outputs=n_outputs, attrs=attrs)
        return outputs

    optimized.call = timed
    tf.constant(1.0).numpy()  # TensorFlow's context, as after any earlier TensorFlow use
    _fit(40)
    first = calls[0]
    _fit(40)
    result = {"first fit's first call": first, "next fit's first call": calls[2]}
    ctx, name = context.context(), seen["name"]
    original = ctx.get_function_def(name)

    def again(tag: str, cancel_first: bool = False) -> float:
        copy = function_pb2.FunctionDef()
        copy.CopyFrom(original)
        copy.signature.name = f"{name}_{tag}"
        ctx.add_function_def(copy)
        if cancel_first:  # instantiated, no op run
            manager = cancellation.CancellationManager()
            manager.start_cancel()
            try:
                execute.execute_with_cancellation(
                    copy.signature.name,
                    seen["n_outputs"],
                    seen["inputs"],
                    seen["attrs"],
                    ctx,
                    manager,
                )
            except tf.errors.CancelledError:
                pass
        start = time.perf_counter()
        execute.execute(copy.signature.name, seen["n_outputs"], seen["inputs"], seen["attrs"], ctx)
        return time.perf_counter() - start

    result["same graph, new name, this thread"] = again("here")
    other = {}
    thread = threading.Thread(target=lambda: other.update(s=again("there")))
    thread.start()
    thread.join()
    result["same graph, new name, new thread"] = other["s"]
    result["after a cancelled call, this thread"] = again("cancelled", cancel_first=True)
    return result


def main(rounds: int) -> None:
    env = dict(os.environ, SKNEURAL_GRAPH_CACHE=tempfile.mkdtemp(prefix="skneural-graphs-"))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    me = [sys.executable, "-W", "ignore", __file__]
    subprocess.run([*me, "--store"], env=env, check=True)
    assert any(Path(env["SKNEURAL_GRAPH_CACHE"]).glob("*.graph")), "nothing stored"
    runs = [
        subprocess.run([*me, "--measure"], env=env, check=True, capture_output=True, text=True)
        for _ in range(rounds)
    ]
    rows = [json.loads(run.stdout.strip().splitlines()[-1]) for run in runs]
    print(
        "| first call of the stored epoch graph (s) | "
        + " | ".join(f"process {i + 1}" for i in range(rounds))
        + " |"
    )
    print("|---|" + "---|" * rounds)
    for key in rows[0]:
        print(f"| {key} | " + " | ".join(f"{row[key]:.3f}" for row in rows) + " |")


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    if sys.argv[1:] == ["--store"]:
        _fit(40)  # traced and stored; its first call stores grappler's graph
    elif sys.argv[1:] == ["--measure"]:
        print(json.dumps(_measure()))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
