"""Data shared by the test modules.

The suite's warning policy lives in pyproject.toml (``filterwarnings``): one place,
not one per module.
"""

import os

import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler

from skneural import _prefetch

# The suite traces every graph and stores none (tests/test_stored_graphs.py turns the
# store on in a directory of its own); SKNEURAL_GRAPH_CACHE=DIR runs it on stored graphs.
os.environ.setdefault("SKNEURAL_GRAPH_CACHE", "off")

# A process's first fit with the store on prefetches a stored graph and holds it
# registered for the process's life (skneural/_prefetch.py): in the suite's processes
# only the tests of it do, so that no other test finds an entry held by an earlier one.
_prefetch._done.add(os.getpid())


@pytest.fixture(scope="module")
def clf_data():
    """120 standardised samples, 6 features, 3 classes."""
    X, y = make_classification(
        n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def float32_clf_data():
    """160 float32 samples, 7 features, 3 classes (the width-free workspace's tests)."""
    X, y = make_classification(
        n_samples=160, n_features=7, n_classes=3, n_informative=4, random_state=0
    )
    return X.astype("float32"), y


@pytest.fixture(scope="module")
def reg_data():
    """120 standardised samples, 5 features, 2 targets of order 1."""
    X, y = make_regression(n_samples=120, n_features=5, n_targets=2, random_state=0)
    return StandardScaler().fit_transform(X), y / 100
