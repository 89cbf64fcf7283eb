"""The one module that reaches into scikit-learn's private helpers.

scikit-learn keeps its parameter-validation machinery private, and so are the helpers
that make ``solver='lbfgs'`` behave as its own (the ``ConvergenceWarning`` and the
scipy-version-dependent ``iprint``); importing them here, and nowhere else, leaves a
single place to mend when they move.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, validate_data

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "_check_optimize_result",
    "_check_sample_weight",
    "_fit_context",
    "_get_additional_lbfgs_options_dict",
    "validate_data",
]
