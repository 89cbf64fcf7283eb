"""``n_ensemble`` (issue 18): what k members cost next to one network.

    python benchmarks/ensemble.py [--rows 10000] [--epochs 10] [--repeats 3]
                                  [--output benchmarks/ensemble.md]

The same fit (Adam, a fixed number of epochs, no early stopping) with ``n_ensemble``
1, 4 and 8, the members independent (``ensemble_sharing='none'``) or sharing their
hidden layers ('adapters', 'input'), on the same float32 arrays (california_housing's
8 numeric columns, standardized), side by side in one process, for three networks: a small one, the
presets' (``skneural.presets``: (128, 128), minibatches of 256) and a wide one.
"first" is the first fit of each variant in the process (it traces and compiles the
epoch graph); "repeat" the median of further fits of the same shape, each beside a fit
of the single network. The ratio is to that k=1 fit, so machine load moves both. k
members do k times the matrix products' arithmetic per row, forward and backward:
where that arithmetic dominates a fit, k members cost about k fits, shared kernels or
not (the members' rows all go through the kernel).

What members buy is measured on real tables by ``benchmarks/tabular.py`` with the
presets plus ``n_ensemble`` as candidates (``benchmarks/tabular_ensemble.json``;
results in ``benchmarks/tabular_ensemble.md``).
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

#: (n_ensemble, ensemble_sharing) pairs timed; the first is the single network.
VARIANTS = (
    (1, "none"),
    (4, "none"),
    (8, "none"),
    (4, "adapters"),
    (8, "adapters"),
    (4, "input"),
    (8, "input"),
)
#: The networks timed: name -> (hidden_layer_sizes, batch_size).
NETWORKS = {
    "small": ((64,), 200),
    "presets'": ((128, 128), 256),
    "wide": ((256, 256), 200),
}


def _cost_data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """california_housing's 8 numeric columns, standardized, as float32, and its
    target in units of 100,000 dollars."""
    from tabular_data import DATASETS

    X, y, _ = DATASETS["california_housing"].load()
    X = X.select_dtypes("number").to_numpy(np.float64)[:rows]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), (y.to_numpy(np.float64)[:rows] / 1e5).astype(np.float32)


def _fit_seconds(variant: tuple, X, y, epochs: int, hidden: tuple, batch_size: int) -> float:
    from skneural import MLPRegressorX

    est = MLPRegressorX(
        hidden_layer_sizes=hidden,
        batch_size=batch_size,
        n_ensemble=variant[0],
        ensemble_sharing=variant[1],
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
    lines = [
        f"california_housing, {len(X):,} rows x {X.shape[1]} columns, float32, Adam, "
        f"{epochs} epochs, {repeats} repeats (median).",
        "",
        "| network | n_ensemble | ensemble_sharing | first fit (s) | ratio to k=1 "
        "| repeat fit (s) | ratio to k=1 |",
        "|---|---|---|---|---|---|---|",
    ]
    single = VARIANTS[0]
    for name, (hidden, batch_size) in NETWORKS.items():
        first = {v: _fit_seconds(v, X, y, epochs, hidden, batch_size) for v in VARIANTS}
        for v in VARIANTS:
            # Each repeat of v beside one of the single network: two compiled graphs,
            # which the pool keeps (all seven in turn would be compiled again each time).
            rounds = [
                {u: _fit_seconds(u, X, y, epochs, hidden, batch_size) for u in (single, v)}
                for _ in range(repeats)
            ]
            repeat = statistics.median(r[v] for r in rounds)
            ratio = statistics.median(r[v] / r[single] for r in rounds)
            lines.append(
                f"| {name} {hidden}, batches of {batch_size} | {v[0]} | {v[1]} "
                f"| {first[v]:.2f} | {first[v] / first[single]:.2f}x | {repeat:.2f} "
                f"| {ratio:.2f}x |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the cost fits")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=str(HERE / "ensemble.md"))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    started, clock = time.gmtime(), time.perf_counter()
    load_before = os.getloadavg()[0]
    lines = cost(args.rows, args.epochs, args.repeats)
    commit = subprocess.run(
        ["git", "-C", str(HERE), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    header = [
        "# n_ensemble: what k members cost",
        "",
        f"Written by `python benchmarks/ensemble.py` (`{' '.join(sys.argv[1:]) or 'defaults'}`), "
        f"started {time.strftime('%Y-%m-%d %H:%M UTC', started)}, "
        f"{(time.perf_counter() - clock) / 60:.1f} min; skneural commit {commit or 'unknown'}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}. "
        f"1-minute load average {load_before:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end, this run's own work included; the ratios "
        "compare fits made side by side.",
        "",
    ]
    text = "\n".join([*header, *lines]) + "\n"
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
