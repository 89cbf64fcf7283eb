"""The check that Keras runs on TensorFlow, the one backend skneural supports.

Kept apart from everything heavier, so that ``import skneural`` can check the
setting without importing Keras, scikit-learn or TensorFlow.
"""

import json
import os
import sys


def check_keras_backend() -> None:
    """Raise ImportError unless Keras runs on TensorFlow.

    Keras picks its backend once, when it is first imported, from the environment
    variable ``KERAS_BACKEND`` (or ``~/.keras/keras.json``); skneural must not change it
    for the user, so it only says how.
    """
    try:
        import keras
    except ImportError as exc:
        requested = os.environ.get("KERAS_BACKEND", "tensorflow")
        if requested == "tensorflow":
            raise
        # Keras failed to load the backend it was asked for.
        raise ImportError(_backend_message(requested)) from exc

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ImportError(_backend_message(backend))


def check_keras_backend_setting() -> None:
    """Raise ImportError if Keras is set to a backend other than TensorFlow, without
    importing Keras (and so TensorFlow): from ``KERAS_BACKEND``, else the ``backend``
    of Keras's ``keras.json`` (in ``KERAS_HOME``, or ``~/.keras``)."""
    if "keras" in sys.modules:
        check_keras_backend()
        return
    backend = os.environ.get("KERAS_BACKEND")
    if backend is None:
        home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
        try:
            with open(os.path.join(home, "keras.json")) as file:
                backend = json.load(file).get("backend")
        except (OSError, ValueError, AttributeError):
            backend = None
    if backend not in (None, "tensorflow"):
        raise ImportError(_backend_message(backend))


def _backend_message(backend: str) -> str:
    return (
        "skneural needs Keras's 'tensorflow' backend, but Keras is set to use "
        f"{backend!r}. Set the environment variable KERAS_BACKEND=tensorflow before "
        "Python imports keras (for example `export KERAS_BACKEND=tensorflow` in the "
        "shell, or os.environ['KERAS_BACKEND'] = 'tensorflow' at the top of the "
        "script)."
    )
