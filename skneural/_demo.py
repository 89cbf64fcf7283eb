"""``skneural demo``: the whole story on data that ships with scikit-learn.

A grid search over architecture and optimizer in a Pipeline, the cross-validated
score next to scikit-learn's MLP, learning curves, gradient norms of a deep sigmoid
network against ReLU + He, a decision boundary on XOR, and FGSM robustness with and
without adversarial training. Each section returns its lines of ``report.md`` and
saves its plot into the output folder.
"""

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._classifier import MLPClassifierX
from .adversarial import robustness_curve
from .exceptions import DiagnosticWarning


@dataclass
class _Digits:
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    epochs: int
    quick: bool


def run_demo(folder: Path, quick: bool = False) -> Path:
    """Run the demo, write ``report.md`` and the plots into ``folder``; return it."""
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    # float32 for both libraries: skneural trains in its input's dtype (float32 is its
    # fast path, as in benchmarks/), and scikit-learn's MLP keeps float32 too.
    X = X.astype(np.float32)
    split = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    data = _Digits(*split, epochs=15 if quick else 40, quick=quick)
    report = ["# skneural demo", "", "Data: scikit-learn's `load_digits` (8x8 images)."]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best = None
        for title, section in [
            ("grid search over architecture and optimizer (Pipeline, 3-fold CV)", _grid),
            ("5-fold CV: skneural vs scikit-learn's MLPClassifier", _versus_sklearn),
            ("the best network with early stopping (progress bar)", _learning_curves),
            ("gradient norms: 8 sigmoid layers vs 8 ReLU + He layers", _gradients),
            ("XOR: no hidden layer vs one", _xor),
            ("FGSM robustness, with and without adversarial training", _robustness),
        ]:
            print(f"[{time.perf_counter() - started:5.1f} s] {title}", flush=True)
            lines, best = section(data, folder, best)
            report += [""] + lines
    report += ["", f"Total time: {time.perf_counter() - started:.0f} s."]
    (folder / "report.md").write_text("\n".join(report) + "\n")
    return folder.resolve()


def _pipeline(**params) -> object:
    return make_pipeline(StandardScaler(), MLPClassifierX(random_state=0, **params))


def _grid(data: _Digits, folder: Path, best):
    grid = {
        "mlpclassifierx__hidden_layer_sizes": [(64,), (128, 64)],
        "mlpclassifierx__solver": ["adam", "sgd"] if data.quick else ["adam", "sgd", "nadam"],
    }
    search = GridSearchCV(_pipeline(max_iter=data.epochs), grid, cv=3)
    search.fit(data.X_train, data.y_train)
    lines = ["## Grid search", "", "| parameters | mean CV accuracy |", "|---|---|"]
    results = search.cv_results_
    for params, score in zip(results["params"], results["mean_test_score"], strict=True):
        shown = ", ".join(f"{k.split('__')[1]}={v}" for k, v in params.items())
        lines.append(f"| {shown} | {score:.4f} |")
    best = {k.split("__")[1]: v for k, v in search.best_params_.items()}
    return lines + ["", f"Best: {best}"], best


def _versus_sklearn(data: _Digits, folder: Path, best):
    sizes = best["hidden_layer_sizes"]
    models = {
        "skneural MLPClassifierX": _pipeline(hidden_layer_sizes=sizes, max_iter=data.epochs),
        "scikit-learn MLPClassifier": make_pipeline(
            StandardScaler(), MLPClassifier(sizes, max_iter=data.epochs, random_state=0)
        ),
    }
    lines = ["## Cross-validation, same network", "", "| estimator | accuracy | time (s) |"]
    lines.append("|---|---|---|")
    for name, model in models.items():
        start = time.perf_counter()
        scores = cross_val_score(model, data.X_train, data.y_train, cv=5)
        seconds = time.perf_counter() - start
        lines.append(f"| {name} | {scores.mean():.4f} ± {scores.std():.4f} | {seconds:.1f} |")
    lines += [
        "",
        "Same float32 data, same network, same epochs; the grid search above already "
        "compiled this network's shape. Timings on a busy machine vary by about 20%; "
        "docs/performance.md has the benchmark's figures, each library in a fresh process.",
    ]
    return lines, best


def _learning_curves(data: _Digits, folder: Path, best):
    from .plotting import plot_learning_curves

    final = _pipeline(**best, early_stopping=True, max_iter=3 * data.epochs, verbose=1)
    final.fit(data.X_train, data.y_train)
    _save(plot_learning_curves(final[-1]), folder / "learning_curves.png")
    accuracy = final.score(data.X_test, data.y_test)
    return [
        "## Learning curves",
        "",
        f"Early stopping ended training after {final[-1].n_iter_} epochs; test accuracy "
        f"{accuracy:.4f}.",
        "",
        "![learning curves](learning_curves.png)",
    ], best


def _gradients(data: _Digits, folder: Path, best):
    import matplotlib.pyplot as plt

    from .plotting import plot_gradient_norms

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    networks = {
        "sigmoid, Glorot": dict(activation="logistic"),
        "ReLU, He": dict(activation="relu", kernel_initializer="he_normal"),
    }
    lines = ["## Vanishing gradients", "", "| network | first / last layer gradient | warned |"]
    lines.append("|---|---|---|")
    for ax, (name, params) in zip(axes, networks.items(), strict=True):
        deep = MLPClassifierX((32,) * 8, max_iter=10, random_state=0, **params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DiagnosticWarning)
            deep.fit(data.X_train / 16, data.y_train)
        warned = any(issubclass(w.category, DiagnosticWarning) for w in caught)
        first = deep.gradient_norms_.iloc[0]
        lines.append(f"| {name} | {first.iloc[0] / first.iloc[-1]:.1e} | {warned} |")
        plot_gradient_norms(deep, ax=ax)
        ax.set_title(f"Gradient norm per layer: {name}")
    _save(axes[0], folder / "gradient_norms.png")
    return lines + ["", "![gradient norms](gradient_norms.png)"], best


def _xor(data: _Digits, folder: Path, best):
    from .plotting import plot_decision_boundary

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    params = dict(learning_rate_init=0.05, max_iter=200, random_state=0)
    hidden = MLPClassifierX((8,), activation="tanh", **params).fit(X, y)
    linear = MLPClassifierX((), **params).fit(X, y)
    _save(plot_decision_boundary(hidden, X, y), folder / "decision_boundary.png")
    return [
        "## XOR",
        "",
        f"Accuracy without a hidden layer: {linear.score(X, y):.2f}; with one layer of 8 "
        f"tanh units: {hidden.score(X, y):.2f}.",
        "",
        "![decision boundary](decision_boundary.png)",
    ], best


def _robustness(data: _Digits, folder: Path, best):
    from .plotting import plot_robustness_curve

    budgets = [0.0, 0.1, 0.25, 0.5, 1.0] if data.quick else [0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0]
    curves = {}
    # The budget of adversarial training is in the scaled units the network sees.
    for name, eps in [("normal training", 0.0), ("adversarial training", 0.3)]:
        model = _pipeline(
            hidden_layer_sizes=best["hidden_layer_sizes"],
            max_iter=data.epochs,
            adversarial_eps=eps,
        ).fit(data.X_train, data.y_train)
        curves[name] = robustness_curve(model, data.X_test, data.y_test, budgets)
    ax = plot_robustness_curve(curves)
    ax.set_xlabel("eps (pixel intensity, 0-16), attacked through the scaler")
    _save(ax, folder / "robustness.png")
    lines = ["## Adversarial robustness (FGSM in pixel units)", ""]
    lines += ["| eps | " + " | ".join(curves) + " |", "|---" * (len(curves) + 1) + "|"]
    for i, eps in enumerate(budgets):
        scores = " | ".join(f"{curve['score'].iloc[i]:.3f}" for curve in curves.values())
        lines.append(f"| {eps:g} | {scores} |")
    return lines + ["", "![robustness](robustness.png)"], best


def _save(ax, path: Path) -> None:
    import matplotlib.pyplot as plt

    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=100, bbox_inches="tight")  # the legends sit outside
    plt.close(ax.figure)
