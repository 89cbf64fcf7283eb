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


@pytest.mark.parametrize(
    "y",
    [
        np.array(["b", "a", "c", "a", "é", "A"]),  # multiclass, strings (unicode order)
        np.array(["x", "y", "y"], dtype=object),  # binary, objects: one output
        np.array([3, -1, 2, 7, -1]),  # multiclass, negative integers
        np.array([True, False, True]),  # binary, booleans
        np.array([0.0, 1.0, 2.0, 1.0]),  # multiclass, integral floats
    ],
)
@pytest.mark.parametrize("training", [False, True])
def test_encode_is_label_binarizers_transform(y, training):
    targets = ClassificationTargets.learn(y)
    binarizer = LabelBinarizer().fit(y)
    for labels in (y, y[::-1], y[:2]):  # all classes, reordered, a subset
        encoded = targets.encode(labels, training=training)
        expected = binarizer.transform(labels).astype(np.float64)
        np.testing.assert_array_equal(encoded, expected)
        assert encoded.shape == expected.shape and encoded.flags.c_contiguous


def test_encode_refuses_labels_outside_the_classes():
    targets = ClassificationTargets.learn(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"y has labels outside classes_.*\[4\]"):
        targets.encode(np.array([1, 4]))
