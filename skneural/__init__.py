"""skneural: scikit-learn neural-network estimators on Keras 3 / TensorFlow.

>>> from skneural import MLPClassifierX, MLPRegressorX
"""

from ._compat import check_keras_backend

check_keras_backend()

from ._classifier import MLPClassifierX  # noqa: E402
from ._persistence import load, save  # noqa: E402
from ._regressor import MLPRegressorX  # noqa: E402
from ._threads import share_workers_threads  # noqa: E402

share_workers_threads()

__all__ = ["MLPClassifierX", "MLPRegressorX", "load", "save", "__version__"]
__version__ = "0.1.0"
