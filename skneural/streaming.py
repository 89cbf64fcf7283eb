"""Training on data that does not fit in memory, one batch of rows at a time.

:func:`fit_batches` feeds an estimator's ``partial_fit`` from an iterable of batches,
for instance the chunks of ``pandas.read_csv(path, chunksize=...)``, for one or more
passes over the data. Only one batch is in memory at a time.
"""

from collections.abc import Callable, Hashable, Iterable
from numbers import Integral
from typing import Any

import pandas as pd
from sklearn.base import is_classifier

__all__ = ["fit_batches"]

Batches = Iterable[Any] | Callable[[], Iterable[Any]]


def fit_batches(
    estimator,
    batches: Batches,
    *,
    epochs: int = 1,
    classes=None,
    target: Hashable | list[Hashable] | None = None,
):
    """Train ``estimator`` by calling its ``partial_fit`` on every batch, ``epochs`` times.

    Each ``partial_fit`` call trains one epoch over its batch and keeps the weights
    and the optimizer's state, so one pass of ``fit_batches`` over the batches is one
    pass over the whole data. Training continues from the estimator's current state;
    pass ``sklearn.base.clone(estimator)`` to start afresh.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        An :class:`~skneural.MLPClassifierX`, :class:`~skneural.MLPRegressorX`, or
        any scikit-learn estimator with ``partial_fit(X, y, ...)``. A Pipeline has no
        ``partial_fit``: fit its transformers first (for instance
        ``StandardScaler.partial_fit`` in a pass of its own) and transform each batch
        before it gets here.
    batches : iterable, or callable returning an iterable
        The batches of one pass over the data. Each batch is an ``(X, y)`` or
        ``(X, y, sample_weight)`` tuple, or, with ``target``, a DataFrame. With
        ``epochs > 1`` the batches are read again for every epoch: pass a list, or a
        function that returns a fresh iterable on each call (``lambda:
        pd.read_csv(path, chunksize=10_000)``); a one-shot iterator such as a
        generator or an open ``read_csv`` reader can be read only once. An iterable
        returned by the function is closed at the end of its epoch (a generator's
        ``finally`` runs, a file reader closes its file).
    epochs : int, default=1
        Passes over the batches; >= 1.
    classes : array-like of shape (n_classes,), default=None
        For a classifier: every class that will appear in any batch (a single batch
        may lack some). Required when the classifier has not been fitted yet;
        passed to every ``partial_fit`` call. Not allowed for other estimators.
    target : column label or list of them, default=None
        With DataFrame batches: the column holding ``y`` (a list: the columns of a
        2-D ``y``); the other columns are ``X``.

    Returns
    -------
    estimator : the same estimator
        Trained on every batch, ``epochs`` times.

    Notes
    -----
    The rows are shuffled within a batch (when the estimator's ``shuffle`` is true)
    but the batches come in the order given: shuffle a file once beforehand if it is
    sorted, say by label or by date. A learning-rate schedule counts ``partial_fit``
    calls, that is batches, not passes. Early stopping does not apply to
    ``partial_fit``: to stop on a held-out score, call ``fit_batches`` with
    ``epochs=1`` in a loop and score between calls.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from skneural import MLPClassifierX
    >>> from skneural.streaming import fit_batches
    >>> X, y = make_classification(n_samples=2000, n_features=10, random_state=0)
    >>> def chunks():  # stands in for reading a file chunk by chunk
    ...     for rows in np.array_split(np.arange(len(X)), 8):
    ...         yield X[rows], y[rows]
    >>> clf = MLPClassifierX((16,), learning_rate_init=0.01, random_state=0)
    >>> clf = fit_batches(clf, chunks, epochs=3, classes=[0, 1])
    >>> len(clf.loss_curve_)  # one partial_fit call per batch and epoch
    24
    >>> bool(clf.score(X, y) > 0.85)
    True
    """
    if not callable(getattr(estimator, "partial_fit", None)):
        raise TypeError(
            f"fit_batches needs an estimator with a partial_fit method; "
            f"{type(estimator).__name__} has none."
        )
    if isinstance(epochs, bool) or not isinstance(epochs, Integral) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}.")
    fit_kwargs = _classes_argument(estimator, classes)
    if not callable(batches):
        try:
            one_shot = iter(batches) is batches
        except TypeError:
            raise TypeError(
                "batches must be an iterable of batches or a function returning one, "
                f"got {type(batches).__name__}."
            ) from None
        if one_shot and epochs > 1:
            raise TypeError(
                f"epochs={epochs} reads the batches {epochs} times, but batches is a "
                f"one-shot iterator ({type(batches).__name__}) that can be read only "
                "once. Pass a list, or a function returning a fresh iterable per epoch "
                "(for example lambda: pd.read_csv(path, chunksize=10_000))."
            )

    for epoch in range(1, epochs + 1):
        source = batches() if callable(batches) else batches
        try:
            n_batches = _fit_epoch(estimator, source, epoch, target, fit_kwargs)
        finally:
            # Ours to close: the function made it for this epoch.
            if callable(batches) and callable(getattr(source, "close", None)):
                source.close()
        if n_batches == 0:
            raise ValueError(
                f"Epoch {epoch} of {epochs} got no batches: the iterable of batches is "
                "empty" + ("." if epoch == 1 else " (was it a one-shot iterator?).")
            )
    return estimator


def _classes_argument(estimator, classes) -> dict[str, Any]:
    """The ``classes`` keyword for every ``partial_fit`` call, checked up front."""
    if not is_classifier(estimator):
        if classes is not None:
            raise ValueError(
                f"classes applies to classifiers only; {type(estimator).__name__} is not "
                "a classifier."
            )
        return {}
    if classes is None:
        if not hasattr(estimator, "classes_"):
            raise ValueError(
                f"{type(estimator).__name__} is not fitted yet, so fit_batches needs "
                "classes=: every class that will appear in any batch (one batch may "
                "lack some), for example classes=[0, 1, 2]."
            )
        return {}
    return {"classes": classes}


def _fit_epoch(estimator, source, epoch: int, target, fit_kwargs: dict) -> int:
    """One ``partial_fit`` call per batch of ``source``; returns the number of batches."""
    try:
        iterator = iter(source)
    except TypeError:
        raise TypeError(
            "The function given as batches must return an iterable of batches, "
            f"got {type(source).__name__}."
        ) from None
    n_batches = 0
    for n_batches, batch in enumerate(iterator, start=1):
        where = f"batch {n_batches} of epoch {epoch}"
        X, y, sample_weight = _split(batch, target, where)
        kwargs = dict(fit_kwargs)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        try:
            estimator.partial_fit(X, y, **kwargs)
        except Exception as exc:
            exc.add_note(f"(raised by partial_fit on {where} in fit_batches)")
            raise
    return n_batches


def _split(batch, target, where: str):
    """``(X, y, sample_weight)`` of one batch; ``sample_weight`` may be None."""
    if target is not None:
        if not isinstance(batch, pd.DataFrame):
            raise TypeError(
                f"With target={target!r} every batch must be a DataFrame; {where} is a "
                f"{type(batch).__name__}."
            )
        columns = list(target) if isinstance(target, list) else [target]
        missing = [column for column in columns if column not in batch.columns]
        if missing:
            raise ValueError(
                f"{where} has no target column {missing[0]!r}; its columns are "
                f"{batch.columns.tolist()}."
            )
        y = batch[target]
        return batch.drop(columns=columns), y, None
    if isinstance(batch, pd.DataFrame):
        raise TypeError(
            f"{where} is a DataFrame, not an (X, y) pair: pass target= to name the "
            "column(s) holding y."
        )
    if not isinstance(batch, tuple | list) or len(batch) not in (2, 3):
        got = (
            f"a sequence of {len(batch)} items"
            if isinstance(batch, tuple | list)
            else f"a {type(batch).__name__}"
        )
        raise TypeError(
            f"Each batch must be an (X, y) or (X, y, sample_weight) tuple; {where} is {got}."
        )
    X, y, *rest = batch
    if y is None:
        raise ValueError(f"{where} has no target: its y is None.")
    return X, y, (rest[0] if rest else None)
