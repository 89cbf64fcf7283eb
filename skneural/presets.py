"""Tuned constructor parameters for real tables, as plain dicts.

The estimators' defaults are scikit-learn's, so that swapping the import changes
nothing. For a table as it comes (a DataFrame with text, category and numeric columns,
missing values, targets in any units) these presets are a better start, chosen by
measurement on ten public data sets (``benchmarks/tabular.py``; results in
``benchmarks/tabular_results.md`` and docs/tabular.md)::

    MLPClassifierX(**presets.TABULAR_CLASSIFIER)
    MLPRegressorX(**presets.TABULAR_REGRESSOR)

They are ordinary keyword arguments: ``get_params``, ``clone`` and ``GridSearchCV``
see ordinary parameters, and any of them can be overridden,
``MLPClassifierX(**{**presets.TABULAR_CLASSIFIER, "dropout": 0.0})``, or searched
over with the others fixed. Importing this module does not start TensorFlow.

Why each value (the measurements are in docs/tabular.md):

- ``hidden_layer_sizes=(128, 128)``: two layers of 128. (256, 256) and
  (256, 256, 256) were no more accurate on the benchmark's data sets (mean rank 2.6
  and 2.5 against 2.3, one split) and cost about 1.8x the time.
- ``batch_size=256``: fewer, larger steps than scikit-learn's 200-row default; on
  tables under 256 rows it is clipped, with scikit-learn's warning.
- ``input_scaling='quantile'``: numeric columns mapped through their quantiles to a
  normal distribution inside the network, as TabM's authors preprocess (the
  default, ``'auto'``, leaves a purely numeric table as it is, as scikit-learn's MLP
  does). Mean rank 2.1 against 2.3 with ``'standard'``, at the same cost; periodic
  numeric embeddings also ranked 2.1 but cost 3.5x the time.
- ``numeric_embedding='pbld'``: RealMLP's embedding of each numeric column (its value
  beside three learned periodic features). With it the presets rank 2.10 among the
  benchmark's peers (3 splits of ten data sets), ahead of HistGradientBoosting (2.23)
  and RealMLP (2.60), and beat scikit-learn's MLP pipeline on all ten, at 2.00x its
  fit time; without it they ranked 2.40 (HistGradientBoosting 2.20) at 1.68x. The
  larger 'periodic' embedding cost 3.5x; 'piecewise_linear' ranked 2.28 and lost on
  the smaller tables.
- ``early_stopping=True`` with ``scoring='loss'``: stop when the held-out loss has
  not improved for ``n_iter_no_change`` (10) epochs and keep the best epoch's weights.
  The loss is a finer signal than accuracy or R² on a small held-out set.
- ``target_scaling='standard'`` (regressor): the network learns standardised targets,
  so targets in the thousands train as well as those near zero.
- ``n_ensemble`` stays 1: before 'pbld', four members ranked ahead of
  HistGradientBoosting and RealMLP on the benchmark where one network did not, but
  cost about four times the fit. Add ``"n_ensemble": 4`` when accuracy is worth it.

Examples
--------
>>> import pandas as pd
>>> from skneural import MLPRegressorX, presets
>>> X = pd.DataFrame({"size": [50.0, 80.0, None, 120.0] * 25,
...                   "town": ["a", "b", "a", "c"] * 25})
>>> y = 1000.0 + 20.0 * X["size"].fillna(90.0)
>>> reg = MLPRegressorX(**{**presets.TABULAR_REGRESSOR, "max_iter": 5}, random_state=0)
>>> reg.fit(X, y).predict(X.head(2)).shape
(2,)
"""

__all__ = ["TABULAR_CLASSIFIER", "TABULAR_REGRESSOR"]

_TABULAR = {
    "hidden_layer_sizes": (128, 128),
    "batch_size": 256,
    "input_scaling": "quantile",
    "numeric_embedding": "pbld",
    "early_stopping": True,
    "scoring": "loss",
}

#: Keyword arguments of :class:`skneural.MLPClassifierX` for a raw table.
TABULAR_CLASSIFIER: dict = {**_TABULAR}

#: Keyword arguments of :class:`skneural.MLPRegressorX` for a raw table.
TABULAR_REGRESSOR: dict = {**_TABULAR, "target_scaling": "standard"}
