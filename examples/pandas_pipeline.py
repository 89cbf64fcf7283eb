"""A pandas table with numeric and text columns: ColumnTransformer + MLPClassifierX in
a Pipeline, tuned with GridSearchCV, as with any scikit-learn estimator.

Run with:  python examples/pandas_pipeline.py
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skneural import MLPClassifierX


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    """Customers: age, income, a plan and a region; whether they renewed."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.lognormal(10.5, 0.5, n).round(2),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
            "region": rng.choice(["north", "south", "east", "west"], n),
        }
    )
    logit = (
        0.04 * (table.age - 45)
        + 1.2 * (np.log(table.income) - 10.5)
        + table.plan.map({"basic": -0.8, "plus": 0.3, "pro": 1.2})
        + 0.5 * (table.region == "south")
    )
    table["renewed"] = rng.uniform(size=n) < 1 / (1 + np.exp(-2 * logit))
    return table


def main(quick: bool = False) -> dict:
    table = make_table(600 if quick else 3000)
    X, y = table.drop(columns="renewed"), table["renewed"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    model = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("numbers", StandardScaler(), ["age", "income"]),
                        ("words", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"]),
                    ]
                ),
            ),
            ("mlp", MLPClassifierX(max_iter=30 if quick else 80, random_state=0)),
        ]
    )
    grid = {
        "mlp__hidden_layer_sizes": [(16,), (32, 16)],
        "mlp__alpha": [1e-4, 1e-2] if quick else [1e-4, 1e-3, 1e-2],
        "mlp__dropout": [0.0] if quick else [0.0, 0.2],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(model, grid, cv=3).fit(X_train, y_train)
    result = {
        "best_params": search.best_params_,
        "cv_accuracy": search.best_score_,
        "test_accuracy": search.score(X_test, y_test),
        "majority_rate": max(y_test.mean(), 1 - y_test.mean()),
    }
    print(f"best parameters: {result['best_params']}")
    print(f"cross-validated accuracy {result['cv_accuracy']:.3f}")
    print(
        f"test accuracy {result['test_accuracy']:.3f} "
        f"(always guessing the majority: {result['majority_rate']:.3f})"
    )
    return result


if __name__ == "__main__":
    main()
