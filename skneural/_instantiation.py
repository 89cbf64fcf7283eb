"""Stored graphs instantiated on a thread of skneural's own.

TensorFlow instantiates a function on its first call, and most of a stored grappler's
graph's instantiation (0.13 of 0.19 s) is oneDNN's graph pass looking up, for each op
and type it meets, the kernels registered for it: a scan of TensorFlow's whole kernel
registry per new pair, cached per thread (``benchmarks/first_call.py``). Every stored
graph is therefore instantiated on one thread kept per process (:func:`ready`), whose
lookups are done once, and may be instantiated there ahead of its first call
(:mod:`skneural._prefetch`): a call cancelled before it starts has TensorFlow
instantiate the function and keep it for the calls to come, from any thread, and runs
none of its ops.
"""

import concurrent.futures
import contextlib
import functools
import os

from tensorflow.python.eager import cancellation, context, execute, executor


def instantiate(name: str, inputs: list, n_outputs: int, attrs: tuple) -> None:
    """Have TensorFlow instantiate the registered function ``name`` for calls with
    ``attrs`` and inputs like ``inputs`` (their devices and dtypes, and a variable's
    dtype and shape: a placeholder handle of no variable will do), on this thread,
    through a call cancelled before it starts: nothing runs, and any thread's later
    call finds it instantiated. Whatever goes wrong leaves that to the first call."""
    manager = cancellation.CancellationManager()
    manager.start_cancel()
    # On an executor of its own, synchronous: under asynchronous eager execution the
    # shared executor would keep the cancellation and raise it at the user's next op.
    with contextlib.suppress(Exception), context.executor_scope(executor.new_executor(False)):
        ctx = context.context()
        execute.execute_with_cancellation(name, n_outputs, inputs, attrs, ctx, manager)


def in_background(work) -> None:
    """Run ``work()`` on skneural's thread, in this thread's device scope, while this
    one goes on; the next :func:`ready` (on any thread) waits for it to end, a minute
    at most."""
    with contextlib.suppress(RuntimeError):  # the interpreter shutting down: none
        _background.append(_own_thread().submit(_in_this_scope(work)))


def _in_this_scope(work):
    """``work`` to run on another thread in this thread's device scope: a function is
    instantiated for the device its call is placed on, and a call elsewhere would not
    find it (under ``tf.device``, say)."""
    device = context.context().device_name

    def scoped():
        with context.context().device(device):
            return work()

    return scoped


def _own_thread() -> concurrent.futures.ThreadPoolExecutor:
    pid = os.getpid()
    if pid not in _threads:
        _threads.clear()
        _threads[pid] = concurrent.futures.ThreadPoolExecutor(1, "skneural-instantiate")
    return _threads[pid]


_threads: dict[int, concurrent.futures.ThreadPoolExecutor] = {}
_background: list[concurrent.futures.Future] = []
_instantiated: set[tuple] = set()  # (name, attributes, device) instantiated there
os.register_at_fork(after_in_child=_background.clear)  # the parent's thread is not here


def ready(name: str, inputs: list, n_outputs: int, attrs: tuple) -> None:
    """Before a call of the registered function ``name`` with ``inputs`` and
    ``attrs``: wait for the work begun by :func:`in_background`, and, on the function's
    first call with ``attrs`` in this device scope, have it instantiated on skneural's
    thread."""
    while _background:
        with contextlib.suppress(IndexError):  # another thread took it meanwhile
            concurrent.futures.wait([_background.pop()], timeout=60)
    key = name, attrs, context.context().device_name
    if key not in _instantiated:
        _instantiated.add(key)
        work = _in_this_scope(functools.partial(instantiate, name, inputs, n_outputs, attrs))
        with contextlib.suppress(RuntimeError):  # the interpreter shutting down: the call
            concurrent.futures.wait([_own_thread().submit(work)], timeout=60)
