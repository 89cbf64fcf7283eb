"""``n_ensemble`` (issue 18): what k members cost next to one network, and what they buy.

    python benchmarks/ensemble.py [--rows 10000] [--epochs 10] [--repeats 3]
                                  [--output benchmarks/ensemble.md]

Cost: the same fit (hidden layers (256, 256), Adam, minibatches of 200, a fixed number
of epochs, no early stopping) with ``n_ensemble`` 1, 4 and 8 on the same float32
arrays, side by side in one process. "first" is the first fit of each k in the
process (it traces and compiles the epoch graph); "repeat" the median of further fits
of the same shape (the compiled graph is reused). The ratio is to k=1 measured in the
same round, so machine load moves both.

Accuracy: the estimators with early stopping (hidden layers (256, 256), at most
``--max-iter`` epochs) on a random 80/20 split of a few tabular data sets read from
files that PyPI packages ship (see ``benchmarks/tabular_data.py``): adult (the raw
DataFrame, categorical columns and missing values inside the network),
california_housing and 401ksubs, numeric columns standardized inside the network
(``input_scaling='standard'``). Test metrics of the averaged prediction for each k.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

KS = (1, 4, 8)
NETWORK = {"hidden_layer_sizes": (256, 256), "learning_rate_init": 1e-3}


def _cost_data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """california_housing's 8 numeric columns, standardized, as float32, and its
    target in units of 100,000 dollars."""
    from tabular_data import DATASETS

    X, y, _ = DATASETS["california_housing"].load()
    X = X.select_dtypes("number").to_numpy(np.float64)[:rows]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), (y.to_numpy(np.float64)[:rows] / 1e5).astype(np.float32)


def _fit_seconds(k: int, X, y, epochs: int) -> float:
    from skneural import MLPRegressorX

    est = MLPRegressorX(
        **NETWORK,
        n_ensemble=k,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=np.inf,
        random_state=0,
    )
    start = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - start
    assert est.n_iter_ == epochs
    return seconds


def cost(rows: int, epochs: int, repeats: int) -> list[str]:
    X, y = _cost_data(rows)
    first = {k: _fit_seconds(k, X, y, epochs) for k in KS}
    rounds = []
    for _ in range(repeats):
        rounds.append({k: _fit_seconds(k, X, y, epochs) for k in KS})
    lines = [
        f"Cost: california_housing, {len(X):,} rows x {X.shape[1]} columns, float32, "
        f"hidden layers (256, 256), {epochs} epochs of minibatches of 200, "
        f"{repeats} repeats (median).",
        "",
        "| n_ensemble | first fit (s) | ratio to k=1 | repeat fit (s) | ratio to k=1 |",
        "|---|---|---|---|---|",
    ]
    for k in KS:
        repeat = statistics.median(r[k] for r in rounds)
        ratio = statistics.median(r[k] / r[1] for r in rounds)
        lines.append(
            f"| {k} | {first[k]:.2f} | {first[k] / first[1]:.2f}x | {repeat:.2f} | {ratio:.2f}x |"
        )
    return lines


def _split(X, y, seed: int = 0):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=0.2, random_state=seed)


def accuracy(datasets: list[str], rows: int, max_iter: int) -> list[str]:
    from sklearn.metrics import log_loss, r2_score, roc_auc_score
    from tabular_data import CLASSIFICATION, DATASETS

    from skneural import MLPClassifierX, MLPRegressorX

    lines = [
        f"Accuracy: one random 80/20 split (seed 0) of at most {rows:,} rows, "
        f"hidden layers (256, 256), early_stopping=True, max_iter={max_iter}, "
        "input_scaling='standard' (numeric columns standardized inside the network); "
        "test metrics of the averaged prediction (regression: RMSE in the target's units).",
        "",
        "| data set | n_ensemble | metric | score | log-loss / RMSE | epochs | fit (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in datasets:
        X, y, task = DATASETS[name].load()
        if len(X) > rows:
            keep = np.random.default_rng(0).choice(len(X), rows, replace=False)
            X, y = X.iloc[np.sort(keep)], y.iloc[np.sort(keep)]
        X_train, X_test, y_train, y_test = _split(X, y)
        classifier = task == CLASSIFICATION
        if not classifier:  # a target in standard units, as a user would scale it
            scale = float(y_train.std())
            y_train, y_test = y_train / scale, y_test / scale
        for k in KS:
            Estimator = MLPClassifierX if classifier else MLPRegressorX
            est = Estimator(
                **NETWORK,
                n_ensemble=k,
                early_stopping=True,
                max_iter=max_iter,
                input_scaling="standard",
                random_state=0,
            )
            start = time.perf_counter()
            est.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            if classifier:
                proba = est.predict_proba(X_test)
                if proba.shape[1] == 2:
                    metric, score = "ROC AUC", roc_auc_score(y_test, proba[:, 1])
                else:
                    metric, score = "accuracy", est.score(X_test, y_test)
                second = log_loss(y_test, proba, labels=est.classes_)
            else:
                prediction = est.predict(X_test)
                metric, score = "R²", r2_score(y_test, prediction)
                second = float(np.sqrt(np.mean((prediction - y_test) ** 2)) * scale)
            lines.append(
                f"| {name} | {k} | {metric} | {score:.4f} | {second:.4g} | {est.n_iter_} "
                f"| {seconds:.1f} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the cost fits")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--accuracy-rows", type=int, default=10_000)
    parser.add_argument("--max-iter", type=int, default=60)
    parser.add_argument(
        "--datasets", default="adult,california_housing,401ksubs", help="'' skips accuracy"
    )
    parser.add_argument("--output", default=str(HERE / "ensemble.md"))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    started, clock = time.gmtime(), time.perf_counter()
    load_before = os.getloadavg()[0]
    lines = cost(args.rows, args.epochs, args.repeats)
    datasets = [d for d in args.datasets.split(",") if d]
    if datasets:
        lines += ["", *accuracy(datasets, args.accuracy_rows, args.max_iter)]
    commit = subprocess.run(
        ["git", "-C", str(HERE), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    header = [
        "# n_ensemble: cost and accuracy",
        "",
        f"Written by `python benchmarks/ensemble.py` (`{' '.join(sys.argv[1:]) or 'defaults'}`), "
        f"started {time.strftime('%Y-%m-%d %H:%M UTC', started)}, "
        f"{(time.perf_counter() - clock) / 60:.1f} min; skneural commit {commit or 'unknown'}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}. "
        f"1-minute load average {load_before:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end, this run's own work included: the machine is "
        "shared, so times are noisy; the ratios compare fits made side by side.",
        "",
    ]
    text = "\n".join([*header, *lines]) + "\n"
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
