"""Targets: the labels decoded from a network's outputs are LabelBinarizer's."""

import numpy as np
import pytest
from sklearn.preprocessing import LabelBinarizer

from skneural._targets import ClassificationTargets


@pytest.mark.parametrize(
    "y",
    [
        np.array(["b", "a", "c", "a"]),  # multiclass, strings
        np.array([3, 1, 2, 7, 1]),  # multiclass, integers
        np.array(["no", "yes", "no"]),  # binary: one output
        np.array([[1, 0, 1], [0, 1, 1], [0, 0, 1]]),  # multilabel
    ],
)
def test_decode_is_label_binarizers_inverse_transform(y):
    binarizer = LabelBinarizer().fit(y)
    targets = ClassificationTargets(binarizer)
    rng = np.random.default_rng(0)
    outputs = rng.random((50, targets.n_outputs))
    # Ties, exact thresholds and NaN: where argmax and "> 0.5" decide alike or not.
    outputs[0] = 0.5
    outputs[1] = np.nan
    outputs[2, :] = outputs[2, 0]
    expected = binarizer.inverse_transform(outputs.ravel() if outputs.shape[1] == 1 else outputs)
    decoded = targets.decode(outputs)
    np.testing.assert_array_equal(decoded, expected)
    assert decoded.dtype == expected.dtype
