"""XOR needs a hidden layer.

Without hidden layers (``hidden_layer_sizes=()``) the network is logistic regression: its
decision boundary is a straight line, and no straight line separates XOR's two classes,
so at most 3 of the 4 points come out right. One hidden layer of 4 tanh units bends the
boundary and gets all 4, from every seed tried. A noisy cloud of XOR points tells the
same story on data the network has not seen.

Run with:  python examples/xor.py
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skneural import MLPClassifierX

X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y_XOR = np.array([0, 1, 1, 0])

# A large step and a saturating activation make four points quick and reliable to fit.
TRAINING = dict(activation="tanh", solver="adam", learning_rate_init=0.05, max_iter=300)
HIDDEN = (4,)


def xor_cloud(n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points scattered around the four corners (+-1, +-1); class 1 where the signs differ."""
    corners = rng.choice([-1.0, 1.0], size=(n_samples, 2))
    X = corners + rng.normal(scale=0.4, size=(n_samples, 2))
    y = (corners[:, 0] != corners[:, 1]).astype(int)
    return X, y


def fit(hidden_layer_sizes: tuple, X, y, seed: int) -> MLPClassifierX:
    model = MLPClassifierX(hidden_layer_sizes, random_state=seed, **TRAINING)
    with warnings.catch_warnings():
        # Some runs use all max_iter epochs; that is not what this demonstration is about.
        warnings.filterwarnings("ignore", "Stochastic Optimizer", ConvergenceWarning)
        return model.fit(X, y)


def main(quick: bool = False) -> dict:
    seeds = range(2) if quick else range(5)
    linear = [fit((), X_XOR, Y_XOR, seed) for seed in seeds]
    hidden = [fit(HIDDEN, X_XOR, Y_XOR, seed) for seed in seeds]
    results = {
        "linear_accuracy": [model.score(X_XOR, Y_XOR) for model in linear],
        "hidden_accuracy": [model.score(X_XOR, Y_XOR) for model in hidden],
        "linear_proba": linear[0].predict_proba(X_XOR)[:, 1].tolist(),
        "hidden_proba": hidden[0].predict_proba(X_XOR)[:, 1].tolist(),
    }

    rng = np.random.default_rng(0)
    X_train, y_train = xor_cloud(100 if quick else 400, rng)
    X_test, y_test = xor_cloud(1000, rng)
    results["cloud_linear_accuracy"] = fit((), X_train, y_train, 0).score(X_test, y_test)
    results["cloud_hidden_accuracy"] = fit(HIDDEN, X_train, y_train, 0).score(X_test, y_test)

    print(f"XOR on its 4 points, {len(seeds)} seeds:")
    print(f"  no hidden layer: accuracy {results['linear_accuracy']}")
    print(f"  {HIDDEN[0]} hidden units:  accuracy {results['hidden_accuracy']}")
    print("  P(class 1) for (0,0) (0,1) (1,0) (1,1), seed 0:")
    print("    no hidden layer: ", np.round(results["linear_proba"], 2))
    print(f"    {HIDDEN[0]} hidden units:  ", np.round(results["hidden_proba"], 2))
    print("  Without a hidden layer the model cannot do better than 3 of 4 (0.75):")
    print("  it hedges near 0.5. With 4 hidden units it gets every point right.")
    print(f"Noisy XOR cloud ({len(y_train)} training points, {len(y_test)} test points):")
    print(f"  no hidden layer: test accuracy {results['cloud_linear_accuracy']:.3f} (chance: 0.5)")
    print(f"  {HIDDEN[0]} hidden units:  test accuracy {results['cloud_hidden_accuracy']:.3f}")
    return results


if __name__ == "__main__":
    main()
