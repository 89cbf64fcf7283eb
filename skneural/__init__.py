"""skneural: scikit-learn neural-network estimators on Keras 3 / TensorFlow.

>>> from skneural import MLPClassifierX, MLPRegressorX

``import skneural`` does not start TensorFlow: the estimators, ``load`` and ``save``
are imported on first use (so ``skneural --help`` answers at once).
"""

import importlib

from ._backend import check_keras_backend_setting

check_keras_backend_setting()

from ._threads import share_workers_threads  # noqa: E402

share_workers_threads()

from . import _source  # noqa: E402, F401  (the source as imported: stored graphs' names)

__all__ = ["MLPClassifierX", "MLPRegressorX", "load", "save", "__version__"]
__version__ = "0.1.0"

_LAZY = {
    "MLPClassifierX": "._classifier",
    "MLPRegressorX": "._regressor",
    "load": "._persistence",
    "save": "._persistence",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'skneural' has no attribute {name!r}")
    from ._backend import check_keras_backend

    check_keras_backend()
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
