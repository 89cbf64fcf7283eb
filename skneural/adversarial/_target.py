"""What an attack works on: the fitted network (maybe behind a Pipeline's steps), the
input as a float64 matrix of its original columns, which of them may move, and the
result written back in the type of the input."""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import scipy.sparse as sp
import tensorflow as tf
from sklearn.pipeline import Pipeline

from .._classifier import MLPClassifierX
from .._columns import holds_real_numbers, is_real_number
from .._compat import validate_data
from .._fitted import network_of
from .._inputs import prediction_input
from .._regressor import MLPRegressorX
from ._differentiable import differentiable


class Target:
    """The attacked model: a fitted skneural estimator, maybe behind transforms.

    Turns the user's ``X`` into a float64 matrix of the original columns and knows
    which of them may move, and computes the loss gradient with respect to it.
    """

    def __init__(self, estimator, X):
        if sp.issparse(X):
            raise TypeError(
                "Adversarial attacks take dense X: the perturbation of a sparse matrix "
                "is dense. Pass X.toarray()."
            )
        if isinstance(estimator, Pipeline):
            final = estimator.steps[-1][1]
            steps = estimator.steps[:-1]
        else:
            final, steps = estimator, []
        if not isinstance(final, MLPClassifierX | MLPRegressorX):
            raise TypeError(
                "The attacked model must be an MLPClassifierX or MLPRegressorX, or a "
                f"Pipeline ending in one; got {type(final).__name__}."
            )
        self.network = network_of(final)
        self.estimator, self.final = estimator, final
        self.rows = X
        if steps:
            # Refuse a step that cannot be differentiated before looking at X.
            self.transform = differentiable(Pipeline(steps), np.shape(X)[1], "pipeline")
            self.x, real = _pipeline_input(X, estimator)
            self.movable = self.transform.movable & real
        else:
            # Read only: the attack writes its result to a copy.
            table = self.network.table
            if table is None:
                self.x = validate_data(final, X, dtype=np.float64, reset=False)
                self.movable = _network_input_columns(X)
            else:
                # The network's own input: numbers in their units, NaN where missing,
                # categorical columns as codes, which never move.
                self.x = prediction_input(final, X, table).astype(np.float64)
                self.movable = np.zeros(self.x.shape[1], dtype=bool)
                columns = _columns(X)
                for j in table.numeric:
                    self.movable[j] = holds_real_numbers(columns[j])
            self.transform = None
        self._network_gradient = None

    @property
    def n_features(self) -> int:
        return self.x.shape[1]

    def labels(self, y) -> np.ndarray:
        """The loss's targets for ``y``, or for the model's own predictions."""
        if y is None:
            y = self.estimator.predict(self.rows)
        return self.network.targets.encode(y)

    @contextmanager
    def compiled(self) -> Iterator[None]:
        """Within the block, :meth:`gradient` runs the network's part in a compiled
        function of a pooled workspace (:mod:`skneural._pool`): traced once per
        network shape and process, loaded with the estimator's weights, which it
        leaves untouched."""
        with self.network.input_gradients() as gradient:
            self._network_gradient = gradient
            try:
                yield
            finally:
                self._network_gradient = None

    def gradient(self, x: np.ndarray, rows, Y: np.ndarray) -> np.ndarray:
        """d(sum of per-sample losses)/dx: one row per sample, since rows never mix
        (the network runs in inference mode). Only inside :meth:`compiled`."""
        if self.transform is None:
            return self._network_gradient(x, Y).astype(x.dtype)
        # The pipeline's steps in eager TensorFlow; the network's gradient flows back
        # through them (chain rule with the network's gradient as the output's).
        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            z = self.transform(x, rows)
        upstream = self._network_gradient(z.numpy(), Y)
        return tape.gradient(z, x, output_gradients=tf.cast(upstream, z.dtype)).numpy()

    def data_range(self) -> tuple[np.ndarray, np.ndarray]:
        if self.transform is not None:
            raise ValueError(
                "clip='data' uses the feature range the estimator saw in fit, which for "
                "a Pipeline is in the transformed space, not the input space. Pass "
                "clip=(X_train.min(axis=0), X_train.max(axis=0)) instead."
            )
        return self.network.input_range


def _columns(X) -> list:
    """The columns of a 2-D ``X`` (Series of a DataFrame, or 1-D arrays)."""
    if isinstance(X, pd.DataFrame):
        return [X.iloc[:, j] for j in range(X.shape[1])]
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"X must be 2-D, got an array of shape {array.shape}.")
    return list(array.T)


def _is_boolean(column) -> bool:
    if column.dtype == object:
        return all(isinstance(v, bool | np.bool_) for v in np.asarray(column))
    return pd.api.types.is_bool_dtype(column.dtype)


def _as_float(column) -> np.ndarray | None:
    """The column as float64 (missing values as NaN), or None if it holds no numbers."""
    try:
        if isinstance(column, pd.Series):
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _network_input_columns(X) -> np.ndarray:
    """Which columns of ``X`` may move when it feeds the network directly.

    Real numbers move (object columns of them too, as floats); booleans never do.
    The network reads every column as a number, so a column that holds anything else
    (numbers as text, say) is refused: held fixed, it would overstate robustness.
    """
    if not isinstance(X, pd.DataFrame) and np.asarray(X).dtype.kind in "iufb":
        return np.full(np.shape(X)[1], np.asarray(X).dtype.kind != "b")
    movable = []
    for j, column in enumerate(_columns(X)):
        real = holds_real_numbers(column)
        if not real and not _is_boolean(column):
            name = f"{column.name!r}" if isinstance(column, pd.Series) else str(j)
            odd = [v for v in np.asarray(column, dtype=object) if not is_real_number(v)]
            holding = f" holding {odd[0]!r} ({type(odd[0]).__name__})" if odd else ""
            raise ValueError(
                f"Column {name} of X must hold real numbers, or booleans only, to be "
                f"attacked; got dtype {column.dtype}{holding}. Convert it to numbers, or "
                "attack a Pipeline that encodes it."
            )
        movable.append(real)
    return np.array(movable, dtype=bool)


def _pipeline_input(X, pipeline) -> tuple[np.ndarray, np.ndarray]:
    """Float64 values of every column, and which hold real numbers (they may move).

    Booleans keep their 0/1 values and never move. Any other column never moves
    either: its values reach the frozen branches that read it (a OneHotEncoder,
    say) from the rows, and the steps' TensorFlow ops see them as numbers where
    they are (numbers as text), else as 0.
    """
    first = pipeline.steps[0][1]
    expected = getattr(pipeline, "n_features_in_", None)
    if isinstance(X, pd.DataFrame):
        names = getattr(first, "feature_names_in_", None)
        if names is not None and list(X.columns) != list(names):
            raise ValueError(
                "The columns of X must be those the pipeline was fitted on, in the same "
                f"order: {list(names)}; got {list(X.columns)}."
            )
    columns = _columns(X)
    if expected is not None and len(columns) != expected:
        raise ValueError(
            f"X has {len(columns)} features, but the pipeline was fitted on {expected}."
        )
    values = np.zeros((len(X), len(columns)), dtype=np.float64)
    real = np.zeros(len(columns), dtype=bool)
    for j, column in enumerate(columns):
        real[j] = holds_real_numbers(column)
        numbers = _as_float(column)
        if numbers is not None:
            values[:, j] = numbers
    return values, real


def rows_of(X, rows: slice):
    """The rows ``rows`` of ``X`` as the pipeline's steps read them."""
    return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]


def like(X, x0: np.ndarray, x_adv: np.ndarray, allowed: np.ndarray):
    """``x_adv`` in the type of ``X`` (features not allowed keep their values exactly);
    integer columns move by whole units toward x0."""
    moved = np.where(allowed, x_adv, x0)
    if isinstance(X, pd.DataFrame):
        out = X.copy()
        for j, dtype in enumerate(X.dtypes):
            if not allowed[:, j].any():
                continue
            if pd.api.types.is_integer_dtype(dtype):
                # A missing value (NaN in x0) does not move.
                step = np.trunc(np.nan_to_num(moved[:, j] - x0[:, j]))
                values = _stepped(X.iloc[:, j].astype("float64"), step, dtype)
            else:
                values = moved[:, j]
            out.isetitem(j, pd.Series(values, index=X.index).astype(dtype))
        return out
    array = np.asarray(X)
    if array.dtype.kind in "iu":
        step = np.trunc(moved - x0)
        return _stepped(array.astype(np.float64), step, array.dtype).astype(array.dtype)
    if array.dtype.kind == "f":
        return moved.astype(array.dtype)
    # Booleans and what holds no numbers never move; object columns of numbers do.
    out = array.copy()
    columns = allowed.any(axis=0)
    out[:, columns] = moved[:, columns]
    return out


def _stepped(values, step: np.ndarray, dtype):
    """Integer ``values`` (as float64: exact below 2**53) moved by the whole ``step``,
    held within ``dtype``'s range, which a step past it would wrap around (uint8's
    0 - 2 is 254); still float64, for the caller's cast back to ``dtype``."""
    info = np.iinfo(getattr(dtype, "numpy_dtype", dtype))
    return (values + step).clip(info.min, info.max)
