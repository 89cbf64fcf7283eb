"""Fitted scikit-learn transforms rewritten as TensorFlow ops, so that an attack can
take the gradient of a whole Pipeline with respect to its ORIGINAL inputs.

:func:`differentiable` turns a fitted step into a :class:`Transform`: a function of
a float tensor holding the numeric input columns, which also knows which input
columns may move. Scalers, PCA, a ``SimpleImputer`` on NaNs and passthrough are
rewritten op for op (and tested against their own ``transform``). Inside a
``ColumnTransformer`` a branch that cannot be differentiated (a ``OneHotEncoder``,
say) is *frozen*: its output is computed by its own ``transform`` from the original
rows and its input columns are held fixed. Anywhere else such a step is refused with
an error naming it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

from ..exceptions import NotDifferentiableError

#: The steps rewritten as TensorFlow ops, named in error messages.
SUPPORTED = (
    "StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, PCA, SimpleImputer "
    "(missing_values=nan, no indicator), FunctionTransformer() without a function, "
    "'passthrough', and Pipelines and ColumnTransformers of them"
)


@dataclass
class Transform:
    """A fitted step as ``x -> step(x)`` on a float64 tensor of its input columns.

    ``fn(x, rows)`` gets the tensor and the step's input rows as scikit-learn
    would see them (needed only by frozen branches, which call their own
    ``transform`` on them); ``movable[j]`` says whether input column ``j`` may be
    perturbed; ``elementwise`` whether output column ``j`` depends on input column
    ``j`` alone (scalers), so that which columns may move carries through it.
    """

    fn: Callable[[tf.Tensor, object], tf.Tensor]
    movable: np.ndarray
    elementwise: bool = False

    def __call__(self, x: tf.Tensor, rows) -> tf.Tensor:
        return self.fn(x, rows)


def _const(values) -> tf.Tensor:
    return tf.constant(np.asarray(values, dtype=np.float64))


def _elementwise(n_features: int, fn: Callable[[tf.Tensor], tf.Tensor]) -> Transform:
    return Transform(lambda x, rows: fn(x), np.ones(n_features, dtype=bool), elementwise=True)


def _shift_and_scale(n: int, shift, scale) -> Transform:
    """``(x - shift) / scale``, either part optional (None)."""
    shift = None if shift is None else _const(shift)
    scale = None if scale is None else _const(scale)

    def fn(x):
        if shift is not None:
            x = x - shift
        return x / scale if scale is not None else x

    return _elementwise(n, fn)


def _standard_scaler(step: StandardScaler, n: int) -> Transform:
    return _shift_and_scale(
        n, step.mean_ if step.with_mean else None, step.scale_ if step.with_std else None
    )


def _robust_scaler(step: RobustScaler, n: int) -> Transform:
    return _shift_and_scale(
        n, step.center_ if step.with_centering else None, step.scale_ if step.with_scaling else None
    )


def _max_abs_scaler(step: MaxAbsScaler, n: int) -> Transform:
    return _shift_and_scale(n, None, step.scale_)


def _min_max_scaler(step: MinMaxScaler, n: int) -> Transform:
    scale, shift = _const(step.scale_), _const(step.min_)
    low, high = (float(v) for v in step.feature_range)

    def fn(x):
        out = x * scale + shift
        return tf.clip_by_value(out, low, high) if step.clip else out

    return _elementwise(n, fn)


def _pca(step: PCA, n: int) -> Transform:
    components, mean = _const(step.components_.T), _const(step.mean_)
    scale = None
    if step.whiten:
        # As scikit-learn does: tiny variances are floored at the dtype's epsilon.
        variance = np.sqrt(step.explained_variance_)
        scale = _const(np.maximum(variance, np.finfo(variance.dtype).eps))

    def fn(x):
        out = (x - mean) @ components
        return out / scale if scale is not None else out

    return Transform(lambda x, rows: fn(x), np.ones(n, dtype=bool))


def _simple_imputer(step: SimpleImputer, n: int) -> Transform:
    missing = step.missing_values
    if step.add_indicator or not (isinstance(missing, float) and np.isnan(missing)):
        raise NotDifferentiableError(
            "SimpleImputer is differentiable only with missing_values=np.nan and "
            f"add_indicator=False; got missing_values={missing!r}, "
            f"add_indicator={step.add_indicator}."
        )
    statistics = np.asarray(step.statistics_, dtype=np.float64)
    # Features with no observed value are dropped unless keep_empty_features.
    kept = np.flatnonzero(~np.isnan(statistics)) if not step.keep_empty_features else None
    fill = _const(statistics if kept is None else statistics[kept])

    def fn(x):
        if kept is not None:
            x = tf.gather(x, kept, axis=1)
        # A missing entry stays missing in the attack (NaN + step is NaN) and is
        # imputed here, so its gradient is zero.
        return tf.where(tf.math.is_nan(x), fill, x)

    return Transform(lambda x, rows: fn(x), np.ones(n, dtype=bool), elementwise=kept is None)


_REWRITES = {
    StandardScaler: _standard_scaler,
    MinMaxScaler: _min_max_scaler,
    MaxAbsScaler: _max_abs_scaler,
    RobustScaler: _robust_scaler,
    PCA: _pca,
    SimpleImputer: _simple_imputer,
}


def differentiable(step, n_features: int, name: str = "step") -> Transform:
    """The TensorFlow rewrite of a fitted ``step`` fed ``n_features`` columns.

    Raises :class:`NotDifferentiableError` naming ``name`` when there is none.
    """
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return _elementwise(n_features, lambda x: x)
    if isinstance(step, FunctionTransformer) and step.func is None:
        return _elementwise(n_features, lambda x: x)
    if isinstance(step, Pipeline):
        return _chain(step.steps, n_features)
    if isinstance(step, ColumnTransformer):
        return _column_transformer(step, n_features)
    rewrite = _REWRITES.get(type(step))
    if rewrite is None:
        raise NotDifferentiableError(
            f"Step {name!r} ({type(step).__name__}) is not differentiable, so an attack "
            f"cannot pass a gradient through it. Supported: {SUPPORTED}. Inside a "
            "ColumnTransformer any other transformer is allowed: its columns are then "
            "held fixed."
        )
    return rewrite(step, n_features)


def _chain(steps: list, n_features: int) -> Transform:
    """A sequence of ``(name, step)`` applied in order."""
    parts, width = [], n_features
    for name, step in steps:
        parts.append(differentiable(step, width, name))
        width = _n_outputs(step, width)
    movable = np.ones(n_features, dtype=bool)
    elementwise = True
    for part in parts:
        if elementwise:
            movable &= part.movable
        elif not part.movable.all():
            movable[:] = False  # a frozen column downstream of a mixing step
        elementwise = elementwise and part.elementwise
    # Frozen branches after the first step need the rows as that step sees them.
    needs_rows = any(not part.movable.all() for part in parts[1:])

    def fn(x, rows):
        for part, (_, step) in zip(parts, steps, strict=True):
            x = part(x, rows)
            if needs_rows and step is not None and not isinstance(step, str):
                rows = step.transform(rows)
        return x

    return Transform(fn, movable, elementwise)


def _n_outputs(step, n_features: int) -> int:
    if step is None or isinstance(step, str):
        return n_features
    if hasattr(step, "n_components_"):
        return int(step.n_components_)
    if isinstance(step, SimpleImputer) and not step.keep_empty_features:
        return int(np.count_nonzero(~np.isnan(np.asarray(step.statistics_, dtype=float))))
    if isinstance(step, (Pipeline, ColumnTransformer)):
        return len(step.get_feature_names_out())
    return n_features


def _column_indices(ct: ColumnTransformer, columns, n_features: int) -> np.ndarray:
    """Positions of a ColumnTransformer branch's columns in its input."""
    if isinstance(columns, slice) or isinstance(columns, (str, Integral)):
        columns = [columns] if not isinstance(columns, slice) else columns
    if isinstance(columns, slice):
        return np.arange(n_features)[columns]
    columns = list(columns)
    if not columns:
        return np.array([], dtype=int)
    if all(isinstance(c, (bool, np.bool_)) for c in columns):
        return np.flatnonzero(columns)
    if all(isinstance(c, str) for c in columns):
        names = list(ct.feature_names_in_)
        return np.array([names.index(c) for c in columns], dtype=int)
    return np.arange(n_features)[np.array(columns, dtype=int)]  # negative ones counted back


def _select_rows(rows, idx: np.ndarray):
    """The original rows restricted to columns ``idx`` (keeping a DataFrame's names)."""
    if hasattr(rows, "iloc"):
        return rows.iloc[:, idx]
    return np.asarray(rows)[:, idx]


def _column_transformer(ct: ColumnTransformer, n_features: int) -> Transform:
    branches, movable = [], np.ones(n_features, dtype=bool)
    for name, step, columns in ct.transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        idx = _column_indices(ct, columns, n_features)
        out = ct.output_indices_[name]
        if out.stop == out.start:
            continue
        try:
            part = differentiable(step, len(idx), name)
        except NotDifferentiableError:
            movable[idx] = False  # frozen: computed from the original rows
            branches.append((out.start, idx, None, step))
            continue
        movable[idx] &= part.movable
        branches.append((out.start, idx, part, step))
    branches.sort(key=lambda branch: branch[0])

    def fn(x, rows):
        outputs = []
        for _, idx, part, step in branches:
            if part is None:
                fixed = step.transform(_select_rows(rows, idx))
                fixed = fixed.toarray() if sp.issparse(fixed) else np.asarray(fixed)
                outputs.append(tf.constant(fixed.astype(np.float64)))
            else:
                outputs.append(part(tf.gather(x, idx, axis=1), _select_rows(rows, idx)))
        return tf.concat(outputs, axis=1)

    return Transform(fn, movable)
