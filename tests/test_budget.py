"""Per-feature budgets: one check for the estimators' adversarial_eps and the attacks'
eps, refusing what is not a finite budget >= 0 with the parameter's name."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification

from skneural import MLPClassifierX
from skneural._budget import check_budget
from skneural.adversarial import fgsm, pgd

X, Y = make_classification(40, 4, random_state=0)
FITTED = MLPClassifierX((3,), max_iter=2, random_state=0).fit(X, Y)

GOOD = [
    (0.5, [0.5] * 4),
    (0, [0.0] * 4),
    (np.float32(0.5), [0.5] * 4),
    (np.int64(2), [2.0] * 4),
    (np.array(0.25), [0.25] * 4),
    ([0, 0.1, np.float64(0.2), np.int8(3)], [0.0, 0.1, 0.2, 3.0]),
    (np.array([1, 2, 3, 4], dtype=np.int32), [1.0, 2.0, 3.0, 4.0]),
    ((0.1,) * 4, [0.1] * 4),
]

BAD = [
    (float("nan"), ValueError, "all finite; got nan"),
    (np.inf, ValueError, "all finite; got inf"),
    (-0.1, ValueError, "all finite; got -0.1"),
    ([0.1, np.nan, 0.1, 0.1], ValueError, "feature 1 is nan"),
    ([0.1, 0.1, np.inf, 0.1], ValueError, "feature 2 is inf"),
    ([0.1, 0.1, 0.1, -1], ValueError, "feature 3 is -1.0"),
    ([0.1, 0.1], ValueError, "per feature \\(4\\); got 2 numbers"),
    (np.zeros((2, 2)), ValueError, "per feature \\(4\\); got shape \\(2, 2\\)"),
    ("big", TypeError, "got str 'big'"),
    (True, TypeError, "got bool True"),
    (np.True_, TypeError, "got bool"),
    ([True, 0.1, 0.1, 0.1], TypeError, "got list \\[True, 0.1, 0.1, 0.1\\]"),
    (np.ones(4, dtype=bool), TypeError, "got ndarray"),
    (["0.1"] * 4, TypeError, "got list"),
    ([[0.1], [0.1, 0.2]], TypeError, "got list"),
    (None, TypeError, "got NoneType None"),
    ({"a": 0.1}, TypeError, "got dict"),
]


@pytest.mark.parametrize("value, expected", GOOD)
def test_numbers_of_every_kind_are_budgets(value, expected):
    budget = check_budget(value, 4, "eps")
    assert budget.dtype == np.float64
    assert_array_equal(budget, expected)


@pytest.mark.parametrize("value, error, message", BAD)
def test_bad_budgets_are_refused_naming_parameter_expectation_and_value(value, error, message):
    with pytest.raises(error, match=f"^eps must be a number >= 0 or one such number.*{message}"):
        check_budget(value, 4, "eps")


@pytest.mark.parametrize("value, error, message", BAD)
def test_the_attacks_refuse_bad_eps_and_step_size(value, error, message):
    with pytest.raises(error, match=f"^eps must be a number >= 0.*{message}"):
        fgsm(FITTED, X, Y, eps=value)
    if value is None:
        return  # step_size=None is the default step
    with pytest.raises(error, match=f"^step_size must be a number >= 0.*{message}"):
        pgd(FITTED, X, Y, eps=0.1, step_size=value, n_iter=2)


# The values the parameter constraints let through to the plan (an array-like); the
# others ("big", True, nan, -0.1, ...) are scikit-learn's InvalidParameterError, which
# names adversarial_eps too (tests/test_bad_input.py).
@pytest.mark.parametrize(
    "value, error, message",
    [case for case in BAD if isinstance(case[0], list | tuple | np.ndarray)],
)
def test_the_estimators_refuse_bad_adversarial_eps(value, error, message):
    est = MLPClassifierX((3,), max_iter=1, adversarial_eps=value, random_state=0)
    with pytest.raises(error, match=f"^adversarial_eps must be a number >= 0.*{message}"):
        est.fit(X, Y)


@pytest.mark.parametrize("value, expected", GOOD)
def test_numpy_numbers_are_budgets_for_the_attacks_and_the_estimators(value, expected):
    # The same attack as with the Python floats of the same values.
    assert_array_equal(fgsm(FITTED, X, Y, eps=value), fgsm(FITTED, X, Y, eps=expected))
    est = MLPClassifierX((3,), max_iter=1, adversarial_eps=value, random_state=0).fit(X, Y)
    reference = MLPClassifierX((3,), max_iter=1, adversarial_eps=expected, random_state=0)
    assert_array_equal(est.predict_proba(X), reference.fit(X, Y).predict_proba(X))


def test_a_budget_of_zeros_of_the_wrong_length_is_refused_too():
    # It was accepted (and ignored) as long as no budget was positive.
    with pytest.raises(ValueError, match="adversarial_eps must be .* per feature \\(4\\)"):
        MLPClassifierX((3,), max_iter=1, adversarial_eps=[0.0, 0.0]).fit(X, Y)
