"""scikit-learn's own estimator checks, with an empty expected-failures dict."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skneural import MLPClassifierX, MLPRegressorX

# A second configuration with the stochastic levers switched on. Its one expected
# failure is impossible by construction, not a bug: with random dropout masks, a
# sample of weight 2 and two copies of it draw different masks, so the fitted
# networks differ.
REGULARISED = dict(dropout=0.1, batch_normalization=True, early_stopping=True)
_DROPOUT_REASON = (
    "dropout draws a different mask for a duplicated row than for one row of weight "
    "2, so repeated and weighted samples cannot give the same network"
)


def _expected_failed_checks(estimator):
    if estimator.get_params()["dropout"]:
        return {
            "check_sample_weight_equivalence_on_dense_data": _DROPOUT_REASON,
            "check_sample_weight_equivalence_on_sparse_data": _DROPOUT_REASON,
        }
    return {}


@parametrize_with_checks(
    [MLPClassifierX(), MLPRegressorX()],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_defaults(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(
    [MLPClassifierX(**REGULARISED), MLPRegressorX(**REGULARISED)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_regularised(estimator, check):
    check(estimator)
