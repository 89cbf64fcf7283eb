"""skneural.presets: plain keyword arguments that build, clone, search and fit."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV

from skneural import MLPClassifierX, MLPRegressorX, presets

PRESETS = [
    (MLPClassifierX, presets.TABULAR_CLASSIFIER),
    (MLPRegressorX, presets.TABULAR_REGRESSOR),
]


def _table(n=400, seed=0):
    """A raw table: a text column, a numeric column with missing values, a target in
    the thousands."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(30, 150, n)
    town = rng.choice(["north", "south", "east"], n)
    price = 1000.0 + 25.0 * size + np.where(town == "north", 800.0, 0.0) + rng.normal(0, 50, n)
    X = pd.DataFrame({"size": np.where(rng.random(n) < 0.1, np.nan, size), "town": town})
    return X, price


def test_importing_the_presets_does_not_start_tensorflow():
    code = "import sys, skneural.presets; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("cls, preset", PRESETS)
def test_a_preset_is_constructor_parameters_that_clone(cls, preset):
    est = cls(**preset)
    params = est.get_params()
    assert {key: params[key] for key in preset} == preset
    assert clone(est).get_params() == params
    # Each value differs from the default: a preset holds no dead entries.
    defaults = cls().get_params()
    assert all(defaults[key] != value for key, value in preset.items())


def test_the_regression_preset_fits_a_raw_table_the_defaults_cannot():
    X, y = _table()
    X_test, y_test = _table(seed=1)
    tuned = MLPRegressorX(**presets.TABULAR_REGRESSOR, random_state=0).fit(X, y)
    default = MLPRegressorX(random_state=0).fit(X, y)
    assert r2_score(y_test, tuned.predict(X_test)) > 0.8
    assert r2_score(y_test, default.predict(X_test)) < 0.5


def test_a_preset_goes_into_a_grid_search():
    X, y = _table(200)
    labels = np.where(y > np.median(y), "high", "low")
    search = GridSearchCV(
        MLPClassifierX(**{**presets.TABULAR_CLASSIFIER, "max_iter": 5}, random_state=0),
        {"alpha": [1e-4, 1e-2]},
        cv=2,
    ).fit(X, labels)
    assert search.best_estimator_.get_params()["batch_size"] == 256
    assert set(search.predict(X)) <= {"high", "low"}
