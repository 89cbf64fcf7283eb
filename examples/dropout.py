"""Dropout narrows the gap between training and validation scores.

Twenty noisy samples of a sine curve and a network of 2 x 256 units: far more weights
than data, so the network bends to follow the noise. It scores much better on the points
it was trained on than on fresh points of the same curve (the gap is the overfitting).
``dropout=0.5`` switches off a random half of the hidden units at every step, so no unit
can rely on particular others to memorise a point; the same network, trained for the
same number of epochs, then shows a smaller gap. Scores are R^2, averaged over 3 seeds.

Run with:  python examples/dropout.py
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skneural import MLPRegressorX

N_TRAIN, N_VALIDATION, NOISE = 20, 500, 0.4
DROPOUT = 0.5
EPOCHS = 150


def noisy_sine(seed: int) -> tuple[np.ndarray, ...]:
    """Training and validation samples of y = sin(x) + noise, x uniform in [-3, 3]."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(N_TRAIN + N_VALIDATION, 1))
    y = np.sin(X[:, 0]) + rng.normal(scale=NOISE, size=len(X))
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def train_and_validation_scores(dropout: float, seed: int) -> tuple[float, float]:
    X_train, y_train, X_val, y_val = noisy_sine(seed)
    model = MLPRegressorX(
        hidden_layer_sizes=(256, 256),
        dropout=dropout,
        learning_rate_init=0.01,
        max_iter=EPOCHS,
        # Both networks get the same number of epochs: the stopping rule never fires.
        n_iter_no_change=EPOCHS,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Stochastic Optimizer", ConvergenceWarning)
        model.fit(X_train, y_train)
    return model.score(X_train, y_train), model.score(X_val, y_val)


def main(quick: bool = False) -> dict:
    seeds = range(2) if quick else range(3)
    results = {}
    for name, dropout in [("without", 0.0), ("with", DROPOUT)]:
        train, val = np.array([train_and_validation_scores(dropout, s) for s in seeds]).T
        results[name] = {
            "train_r2": train.tolist(),
            "validation_r2": val.tolist(),
            "gaps": (train - val).tolist(),
            "mean_gap": float(np.mean(train - val)),
        }

    print(
        f"{N_TRAIN} noisy points of a sine curve, a 256x256 network, {EPOCHS} epochs, "
        f"seeds {list(seeds)}."
    )
    print("R^2 on the training points, on fresh validation points, and the gap:")
    for name, r in results.items():
        label = f"{name} dropout" + (f" ({DROPOUT})" if name == "with" else "")
        print(
            f"  {label:<22} train {np.mean(r['train_r2']):.3f}  validation "
            f"{np.mean(r['validation_r2']):.3f}  gap {r['mean_gap']:.3f}  "
            f"(per seed: {np.round(r['gaps'], 2).tolist()})"
        )
    print(
        "Dropout gives up a little training score and gains validation score: the network"
        " memorises less noise."
    )
    return results


if __name__ == "__main__":
    main()
