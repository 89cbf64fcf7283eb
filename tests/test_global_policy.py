"""A Keras global dtype policy (mixed precision) does not change what skneural trains,
nor does TensorFlow's NumPy behaviour (the last test).

skneural trains in its input's dtype: every layer is built with it, so a global
``mixed_float16`` or ``mixed_bfloat16`` policy, which a GPU user may have set for their
own Keras models, must neither break a fit (it did: Keras's ``compile`` wrapped the
optimizer in a loss-scaling one whose state the workspaces did not know) nor change
its result. Each case fits once under the default policy and once under a mixed one
and compares the two to the last bit.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

from skneural import MLPClassifierX, MLPRegressorX, load, save
from skneural._pool import POOL

rng = np.random.default_rng(0)
X = rng.normal(size=(120, 4)).astype(np.float32)
y_class = (X[:, 0] + X[:, 1] > 0).astype(int)
y_reg = X @ np.array([1.0, -2.0, 0.5, 0.0], np.float32)
TABLE = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": rng.choice(["x", "y", "z"], 120)})

CASES = {
    "adam, width-free workspace": (MLPClassifierX, {}, X, y_class),
    "sgd with momentum": (MLPClassifierX, {"solver": "sgd", "momentum": 0.9}, X, y_class),
    "batch normalization, Keras workspace": (
        MLPClassifierX,
        {"batch_normalization": True},
        X,
        y_class,
    ),
    "lbfgs": (MLPRegressorX, {"solver": "lbfgs"}, X, y_reg),
    "ensemble of 2": (MLPRegressorX, {"n_ensemble": 2}, X, y_reg),
    "table with a category": (MLPClassifierX, {}, TABLE, y_class),
    "float64 input": (MLPRegressorX, {}, X.astype(np.float64), y_reg),
}


def _fit(estimator_class, params, X, y):
    estimator = estimator_class(hidden_layer_sizes=(8,), max_iter=5, random_state=0, **params)
    with np.errstate(all="ignore"):
        return estimator.fit(X, y)


@pytest.fixture
def mixed_policy(request):
    """Sets a mixed global policy for the test; puts the default back after it."""
    before = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_global_policy(request.param)
    try:
        yield request.param
    finally:
        keras.mixed_precision.set_global_policy(before)
        POOL.clear()  # no workspace built under the policy outlives the test


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("mixed_policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
@pytest.mark.parametrize("case", list(CASES))
def test_a_mixed_global_policy_trains_as_the_default_one(case, mixed_policy, tmp_path):
    estimator_class, params, X_case, y_case = CASES[case]
    keras.mixed_precision.set_global_policy("float32")
    reference = _fit(estimator_class, params, X_case, y_case)
    keras.mixed_precision.set_global_policy(mixed_policy)
    estimator = _fit(estimator_class, params, X_case, y_case)
    for ours, theirs in zip(estimator.coefs_, reference.coefs_, strict=True):
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(estimator.predict(X_case), reference.predict(X_case))
    # The Keras model is built on demand, saved and loaded under the policy too.
    assert all(w.dtype == reference.coefs_[0].dtype for w in estimator.model_.get_weights())
    save(estimator, tmp_path / "model.skneural")
    loaded = load(tmp_path / "model.skneural")
    np.testing.assert_array_equal(loaded.predict(X_case), reference.predict(X_case))
    # A warm start continues under it.
    estimator.set_params(warm_start=True, max_iter=2)
    with np.errstate(all="ignore"):
        estimator.fit(X_case, y_case)


#: With dropout, RMSprop and Adagrad too: their ``x / sqrt(y)``, which grappler makes
#: ``x * rsqrt(y)``, was traced with casts between under NumPy behaviour, and grappler
#: left the division (other last bits than Keras's).
NUMPY_CASES = {
    **CASES,
    "dropout": (MLPClassifierX, {"dropout": 0.2}, X, y_class),
    "rmsprop": (MLPClassifierX, {"solver": "rmsprop"}, X, y_class),
    "adagrad": (MLPRegressorX, {"solver": "adagrad"}, X, y_reg),
}


def _numbers(case: str) -> np.ndarray:
    """The weights a fit of ``NUMPY_CASES[case]`` learns and the numbers an FGSM
    attack on it gives."""
    from skneural.adversarial import fgsm

    estimator_class, params, X_case, y_case = NUMPY_CASES[case]
    estimator = _fit(estimator_class, params, X_case, y_case)
    attacked = fgsm(estimator, X_case[:20], y_case[:20], eps=0.1)
    if isinstance(attacked, pd.DataFrame):
        attacked = attacked.select_dtypes("number").to_numpy()
    return np.concatenate([*(np.ravel(w) for w in estimator.coefs_), np.ravel(attacked)])


#: ``_numbers`` of every case under TensorFlow's NumPy behaviour, in a process of its
#: own (the behaviour cannot be turned off): ``python -c _NUMPY_SCRIPT out.npz``.
_NUMPY_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf

tf.experimental.numpy.experimental_enable_numpy_behavior()
import test_global_policy as t

np.savez(sys.argv[1], **{case: t._numbers(case) for case in t.NUMPY_CASES})
"""


def test_numpy_behaviour_trains_as_the_default(tmp_path):
    # TensorFlow's NumPy behaviour changes operators (type promotion, comparisons with
    # variables): it made dropout raise, and must change no result.
    out = tmp_path / "numpy.npz"
    tests = os.path.dirname(__file__)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, *sys.path])}
    run = subprocess.run(
        [sys.executable, "-c", _NUMPY_SCRIPT, str(out)], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    theirs = np.load(out)
    for case in NUMPY_CASES:
        np.testing.assert_array_equal(theirs[case], _numbers(case), err_msg=case)
