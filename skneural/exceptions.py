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

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skneural import MLPClassifierX
    >>> from skneural.exceptions import DiagnosticWarning
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> clf = MLPClassifierX((4,), kernel_initializer="zeros", activation="tanh", max_iter=2)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = clf.fit(X, X[:, 0] > 0)
    >>> any(issubclass(w.category, DiagnosticWarning) for w in caught)
    True
    """


class NotDifferentiableError(ValueError):
    """A Pipeline step has no TensorFlow rewrite, so an attack cannot pass a gradient
    through it (and it is not inside a ColumnTransformer, where it would be frozen).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import OneHotEncoder
    >>> from skneural import MLPClassifierX
    >>> from skneural.adversarial import fgsm
    >>> from skneural.exceptions import NotDifferentiableError
    >>> X = np.array([[0.0], [1.0]] * 10)
    >>> pipe = make_pipeline(OneHotEncoder(), MLPClassifierX((2,), max_iter=1))
    >>> pipe = pipe.fit(X, np.arange(20) % 2)
    >>> try:
    ...     fgsm(pipe, X, eps=0.1)
    ... except NotDifferentiableError as error:
    ...     print(str(error)[:43])
    Step 'onehotencoder' (OneHotEncoder) is not
    """


class ModelFileError(ValueError):
    """A file is not a readable skneural model file: not a regular file, truncated,
    corrupt, foreign, of another format version, larger than its network implies,
    naming a Keras object or setting skneural does not write, or holding a network
    that disagrees with its manifest.

    Examples
    --------
    >>> import os, tempfile
    >>> from skneural import load
    >>> from skneural.exceptions import ModelFileError
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with open(path, "w") as file:
    ...     _ = file.write("not a model")
    >>> try:
    ...     load(path)
    ... except ModelFileError as error:
    ...     print("refused:", "not a readable skneural model file" in str(error))
    refused: True
    """
