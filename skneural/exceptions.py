"""Warnings skneural issues beyond scikit-learn's own.

>>> import warnings
>>> from skneural.exceptions import DiagnosticWarning
>>> issubclass(DiagnosticWarning, UserWarning)
True
"""


class DiagnosticWarning(UserWarning):
    """A fit finished, but its diagnostics show a textbook training problem.

    Issued after ``fit`` for vanishing or exploding gradients, hidden units left
    identical by a constant initialization (symmetry not broken), and hidden layers
    whose units all output zero (dead ReLUs). The message says what was measured and
    what to try. Silence it with ``warnings.simplefilter("ignore", DiagnosticWarning)``.
    """
