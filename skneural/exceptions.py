"""Warnings and errors skneural raises beyond scikit-learn's own.

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


class NotDifferentiableError(ValueError):
    """A Pipeline step has no TensorFlow rewrite, so an attack cannot pass a gradient
    through it (and it is not inside a ColumnTransformer, where it would be frozen)."""


class ModelFileError(ValueError):
    """A file is not a readable skneural model file: truncated, corrupt, foreign,
    of another format version, or naming a layer or optimizer skneural does not
    build."""
