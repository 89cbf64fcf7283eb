"""Benchmark skneural against scikit-learn, Keras, a hand-written TensorFlow loop,
scikeras and Keras's own scikit-learn wrappers.

    python benchmarks/run.py [--quick] [--scenarios a,b,...] [--repeats N] [--output FILE]

Each scenario runs in a fresh process (``scenarios.py``), one after the other, so all
peers of a scenario are measured side by side on the same machine. The markdown
report goes to stdout and to ``--output`` (default ``benchmarks/results.md``);
progress goes to stderr. See ``benchmarks/README.md``.
"""

import argparse
import atexit
import functools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import workloads as W
from peers import (
    ALL_PEERS,
    LBFGS_PEERS,
    SKLEARN,
    SKNEURAL,
    SKNEURAL_STORED,
    TRAINING_PEERS,
)

HERE = Path(__file__).resolve().parent
WORKER = HERE / "scenarios.py"
WORKER_TIMEOUT_S = 1800
BASELINE = SKNEURAL.name


@dataclass(frozen=True)
class Column:
    metric: str
    header: str
    fmt: str


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    what: str
    columns: tuple[Column, ...] = ()
    ratio: str | None = None  # metric compared to the baseline row's, row / baseline
    rows: str = "peer"  # what a row of the table is
    baseline: str = BASELINE  # the row the ratio divides by


YES_NO = "yes/no"  # the fmt of a column of 1.0 (yes) / 0.0 (no), one per repeat
SAMPLES = Column("samples_per_s", "samples/s", ",.0f")
FIT_S = Column("fit_s", "fit time (s)", ".2f")
SCENARIOS = {
    s.key: s
    for s in (
        Scenario(
            "a", "Training throughput, classification",
            "`fit` of a new estimator on `make_classification` ({n_rows:,} x {n_features}, "
            "{n_classes} classes, 20 informative), {train_epochs} epochs; samples/s = rows x "
            "epochs / wall time of the whole `fit` call (build, tracing, training).",
            (SAMPLES, FIT_S), "samples_per_s",
        ),
        Scenario(
            "b", "Training throughput, regression",
            "As (a) on `make_regression` ({n_rows:,} x {n_features}, y standardized), "
            "{train_epochs} epochs.",
            (SAMPLES, FIT_S), "samples_per_s",
        ),
        Scenario(
            "c", "cross_val_score(cv=5) on digits",
            "`cross_val_score(estimator, X, y, cv=5)` on `load_digits` (X/16), "
            "{cv_epochs} epochs per fit: wall time of the call, mean accuracy of the folds. "
            "Each peer in a fresh process of its own, after a warm-up fit in it.",
            (Column("wall_s", "wall time (s)", ".2f"),
             Column("accuracy", "mean accuracy", ".3f")),
            "wall_s",
        ),
        Scenario(
            "d", "predict latency and throughput",
            "A classifier fitted 1 epoch on 10,000 rows of (a)'s data. Latency: median "
            "of {predict_calls} `predict` calls on 1 row, after 10 warm-up calls. "
            "Throughput: median of 5 `predict` calls on {predict_rows:,} rows.",
            (Column("latency_ms", "1-row latency (ms)", ".3f"),
             Column("rows_per_s", "rows/s", ",.0f")),
            "latency_ms",
        ),
        Scenario(
            "e", "Memory growth over repeated fits",
            "{memory_fits} consecutive `fit` calls of new classifiers on digits "
            "({memory_epochs} epochs each) in one fresh process per peer; after each fit "
            "the estimator is dropped and `gc.collect()` runs. RSS from /proc/self/statm; "
            "growth from after fit 1 to after fit {memory_fits}. "
            "{memory_repeats} process(es) per peer.",
            (Column("rss_first_mb", "RSS after fit 1 (MB)", ",.0f"),
             Column("growth_mb", "growth (MB)", ",.1f"),
             Column("growth_per_fit_kb", "growth per fit (KB)", ",.0f")),
        ),
        Scenario(
            "f", "FLOP rate reached in (a)",
            "FLOPs per training sample = 6 x the weights and biases of the Dense layers "
            "(forward 2x, backward 4x), times (a)'s samples/s, as a fraction of the "
            "machine's float32 matmul rate (median of 5 `tf.linalg.matmul` / numpy "
            "matmuls of {matmul_size}x{matmul_size}).",
            (Column("gflop_per_s", "float32 matmul GFLOP/s", ",.1f"),),
        ),
        Scenario(
            "g", "What skneural's training diagnostics cost",
            "skneural only. Time per epoch of `EpochRunner.run_epochs` (skneural/_epoch.py, "
            "one epoch per call) "
            "with `diagnostics=True` (per-step gradient norms and unit activity) and "
            "`False`, two runners on Keras workspaces as the pool builds them, same initial "
            "weights, same shuffled orders; after a warm-up epoch each (the trace), "
            "{overhead_pairs} pairs of timings, each as many epochs of each variant as fill "
            "{overhead_block_s} s, interleaved epoch by epoch (which goes first alternates). "
            "Overhead: with / without - 1, per pair. "
            "Both variants copy every variable to a backup and check finiteness each epoch; "
            "that is estimated alone (the same ops in a `tf.function`, minus an empty "
            "call); \"diagnostics + backup\" is with / (without - backup) - 1. Whole fit: "
            "`MLPClassifierX.fit` on the same rows ({train_epochs} epochs on (a)'s data, "
            "{cv_epochs} on the fold; its shape already traced) / epochs, {repeats} fit(s).",
            (Column("with_ms", "epoch, with diagnostics (ms)", ",.2f"),
             Column("without_ms", "epoch, without (ms)", ",.2f"),
             Column("overhead_pct", "diagnostics overhead (%)", ".1f"),
             Column("backup_ms", "backup + finiteness check (ms)", ".3f"),
             Column("total_pct", "diagnostics + backup (%)", ".1f"),
             Column("fit_epoch_ms", "whole fit / epochs (ms)", ",.2f")),
            rows="workload, batch 256",
        ),
        Scenario(
            "h", "FGSM throughput against ART",
            "Adversarial rows per second of `skneural.adversarial.fgsm(est, X, y, eps=0.1, "
            "norm=..., batch_size=1024)` and of ART's `FastGradientMethod(eps=0.1, norm=..., "
            "batch_size=1024).generate(X, y_onehot)` on a `TensorFlowV2Classifier` wrapping "
            "the same fitted Keras network (its logits, with "
            "`CategoricalCrossentropy(from_logits=True)`), called alternately; `est` is "
            "the skneural peer fitted {train_epochs} epochs. After a warm-up call each, "
            "{attack_calls} calls of each per repeat, rows/s from the median call; "
            "{repeats} repeat(s); skneural ÷ ART per repeat. Equal rows: every feature "
            "within 1e-6 (+ 1e-6 relative) of ART's, on the last call. Pipeline rows: `fgsm` on "
            "`make_pipeline(StandardScaler(), est)` (the scaler rewritten as TensorFlow "
            "ops; ART cannot attack a Pipeline), and the bare estimator's rows/s over it.",
            (Column("skneural_rows_per_s", "skneural (rows/s)", ",.0f"),
             Column("art_rows_per_s", "ART (rows/s)", ",.0f"),
             Column("speed_ratio", "skneural ÷ ART", ".2f"),
             Column("agree_pct", "rows equal to ART's (%)", ".1f"),
             Column("max_diff", "largest difference", ".1e"),
             Column("pipeline_ratio", "bare estimator ÷ Pipeline", ".2f")),
            rows="workload, norm",
        ),
        Scenario(
            "i", "Grid-search wall time: serial, loky, Dask",
            "`GridSearchCV` of the skneural peer ({search_epochs} epochs per fit) over "
            "`alpha` in (1e-4, 1e-2) x `learning_rate_init` in (1e-3, 3e-3), `cv=3`: 12 fits "
            "on (a)'s recipe at {search_rows:,} x {search_features}. Run serially "
            "(`n_jobs=1`, in the benchmark's process), with `n_jobs=2` on joblib's loky "
            "processes, and under `joblib.parallel_backend(\"dask\")` on a "
            "`LocalCluster(n_workers=2, threads_per_worker=1)`. In the workers skneural "
            "sizes TensorFlow's pools to the worker's share of the cores (`OMP_NUM_THREADS`, "
            "set by loky and Dask: 1 each here). Each way starts its "
            "workers, runs one warm-up search (the same search at 1 epoch per fit, so that "
            "starting the workers, importing TensorFlow and tracing the network are not "
            "timed; its wall time is shown), then {repeats} timed search(es): wall time of "
            "`search.fit`. The cluster's start-up (`LocalCluster` + `Client`) is timed on its "
            "own, in neither. The ways run one after the other (each on workers of its own), "
            "not interleaved. Same results: `best_params_` and `mean_test_score` of every "
            "timed search exactly equal to the first serial search's. The environment "
            "variables `LocalCluster` writes into the calling process (OMP_NUM_THREADS=1, "
            "...) are restored after each cluster. Dask's nannies also set "
            "MALLOC_TRIM_THRESHOLD_=65536 in the workers; the last row unsets it (Dask "
            "configuration `distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: "
            "None`), which leaves glibc's adaptive mmap threshold on.",
            (Column("wall_s", "search wall time (s)", ".2f"),
             Column("same_as_serial", "same results as serial", YES_NO),
             Column("warm_up_s", "warm-up search, 1 epoch per fit (s)", ".2f"),
             Column("startup_s", "cluster start-up (s)", ".2f")),
            "wall_s", rows="way of running the search", baseline="serial",
        ),
        Scenario(
            "j", "Grid search over architectures: the price of a new network shape",
            "scikit-learn's MLP and skneural only, each repeat of each in a fresh process "
            "of its own, after imports, in this order. Cold (c): `cross_val_score(cv=5)` "
            "on digits ({cv_epochs} epochs, the peers' (256, 128) ReLU Adam) as the "
            "process's first fit. New shape: for each of the 24 configurations of "
            "`hidden_layer_sizes` in ((64,), (128,), (64, 64), (128, 64)) x `activation` in "
            "(relu, tanh, logistic) x `solver` in (adam, sgd), a fit on the 1,198 training "
            "rows of digits' first fold of 3 ({arch_digits_epochs} epochs), then a second "
            "fit of the same configuration; new-shape cost = first - second. Digits grid: "
            "serial `GridSearchCV` over those 24 configurations, `cv=3`, "
            "{arch_digits_epochs} epochs per fit (72 fits). Large grid: the 12 Adam "
            "configurations on (a)'s recipe at {arch_rows:,} x {arch_features}, 5 classes, "
            "`cv=3`, {arch_epochs} epochs (36 fits). Otherwise the peers' shared settings "
            "(batches of 256, lr 1e-3, alpha 0, fixed epochs). skneural's pooled "
            "workspaces are dropped between the parts, and the plain skneural row's "
            "graph store points at a new, empty directory, so every part starts with no "
            "compiled graph, as a fresh process without stored graphs does. The row "
            "'skneural, graphs stored' finds the graphs stored by one unmeasured process "
            "of its own run before (its parts traced nothing and, since 84cf7b4, ran "
            "grappler's stored graphs). {repeats} process(es) per peer.",
            (Column("cold_cv_s", "cold (c) (s)", ".2f"),
             Column("cold_accuracy", "cold (c) accuracy", ".3f"),
             Column("digits_grid_s", "digits grid (s)", ".2f"),
             Column("digits_best", "digits best score", ".3f"),
             Column("large_grid_s", "large grid (s)", ".2f"),
             Column("large_best", "large best score", ".3f"),
             Column("new_shape_median_s", "new shape, median (s)", ".3f"),
             Column("new_shape_max_s", "new shape, max (s)", ".3f")),
            "digits_grid_s", baseline=SKLEARN.name,
        ),
        *(Scenario(
            key, f"solver='lbfgs' against scikit-learn's, {name}",
            f"`fit` with `solver='lbfgs'`, `max_iter={{lbfgs_iter}}`, `tol=0` (both run "
            f"until `max_iter` or scipy's own stopping rule), one hidden layer of 100 "
            f"(scikit-learn's default), ReLU, `alpha=0`, on 75% of {name} (stratified); "
            "accuracy on the rest. Each peer in a fresh process of its own, after a "
            "2-iteration warm-up fit in it.",
            (FIT_S, Column("n_iter", "iterations", ".0f"),
             Column("accuracy", "test accuracy", ".3f")),
            "fit_s",
        ) for key, name in (("k", "`load_digits` (X/16)"),
                            ("l", "`load_breast_cancer` (standardised)"))),
    )
}  # fmt: skip


# -- running the workers ----------------------------------------------------------------


def run_worker(key: str, cfg: W.Config, peer: str | None = None) -> dict:
    """Run one scenario (or one peer of it) in a fresh process; its JSON result, or
    ``{"error": ...}`` if the process failed."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    env["SKNEURAL_GRAPH_CACHE"] = graph_store() if key in WARM_UP_PEERS else "off"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(WORKER), key, "--config", json.dumps(cfg.to_dict())]
        cmd += ["--out", str(out)] + (["--peer", peer] if peer else [])
        try:
            proc = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {WORKER_TIMEOUT_S} s"}
        if proc.returncode != 0 or not out.exists():
            lines = proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
            return {"error": lines[-1][:200]}
        return json.loads(out.read_text())


def run_per_peer(key: str, cfg: W.Config, processes: int, at_once: int = 1) -> dict:
    """Run ``key`` in ``processes`` fresh processes per peer, ``at_once`` at a time
    (every peer once, then every peer again, ...), and merge the rows."""
    jobs = [p.name for _ in range(processes) for p in PER_PEER_PEERS.get(key, TRAINING_PEERS)]
    for peer in WARM_UP_PEERS.get(key, ()):
        run_worker(key, cfg, peer.name)
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        results = list(pool.map(lambda peer: run_worker(key, cfg, peer), jobs))
    rows = {}
    for peer, result in zip(jobs, results, strict=True):
        new = result["rows"][0] if "rows" in result else {"values": {}, "error": result["error"]}
        row = rows.setdefault(peer, {"peer": peer, "values": {}, "error": None})
        row["error"] = row["error"] or new["error"]
        for metric, values in new["values"].items():
            row["values"].setdefault(metric, []).extend(values)
    return {"rows": list(rows.values())}


#: Scenarios run by :func:`run_per_peer` rather than all peers in one process: how
#: many processes per peer, and how many at a time. (e) measures a process's memory.
#: (c)'s fits take under a second: in a process shared with the other peers, the one
#: measured after the Keras-based peers pays for the heap they leave behind (skneural's
#: cross-validation took 1.03-1.10 s there against 0.81-0.88 s alone; its epochs ran
#: 36% slower in the first cross-validation after scikeras's, not in later ones).
#: (a) and (b) would deserve the same, but their data and imports would cost another
#: minute of the 15 the whole run may take; a fit of theirs lasts seconds.
PER_PEER = {
    "c": lambda cfg: (1, 1),  # its repeats in the peer's own process
    "e": lambda cfg: (cfg.memory_repeats, 2),  # memory is not a timing: two at a time
    # (j) measures first fits in a process: a fresh one per peer and repeat.
    "j": lambda cfg: (cfg.repeats, 1),
    "k": lambda cfg: (1, 1),
    "l": lambda cfg: (1, 1),
}
#: The peers of a per-peer scenario that are not :data:`TRAINING_PEERS`.
PER_PEER_PEERS = {"j": (SKLEARN, SKNEURAL, SKNEURAL_STORED), "k": LBFGS_PEERS, "l": LBFGS_PEERS}
#: Peers whose first process of a per-peer scenario is run once more, unmeasured, before
#: the others: it stores the graphs the measured processes find (``SKNEURAL_GRAPH_CACHE``
#: is a directory of the run; every other scenario runs with the store off, as before).
WARM_UP_PEERS = {"j": (SKNEURAL_STORED,)}


def busy_cpu_s() -> float:
    """CPU seconds spent by every process on the machine so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds spent by this process and its finished workers."""
    usages = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return sum(u.ru_utime + u.ru_stime for u in usages)


def run_all(keys: list[str], cfg: W.Config) -> dict[str, dict]:
    """Run the scenarios one after the other, noting how busy the rest of the machine
    was meanwhile (in cores: other processes' CPU time / wall time)."""
    results = {}
    for key in keys:
        print(f"({key}) {SCENARIOS[key].title} ...", file=sys.stderr, flush=True)
        start, busy, own = time.perf_counter(), busy_cpu_s(), own_cpu_s()
        if key in PER_PEER:
            results[key] = run_per_peer(key, cfg, *PER_PEER[key](cfg))
        else:
            results[key] = run_worker(key, cfg)
        elapsed = time.perf_counter() - start
        other = (busy_cpu_s() - busy) - (own_cpu_s() - own)
        results[key].update(wall_s=elapsed, other_cores=max(other, 0.0) / elapsed)
        status = f"failed: {results[key]['error']}" if "error" in results[key] else "done"
        print(f"({key}) {status} in {elapsed:.0f} s", file=sys.stderr, flush=True)
        if results[key]["other_cores"] > 0.1:
            print(
                f"warning: other processes used {results[key]['other_cores']:.2f} cores "
                "meanwhile; timings are disturbed",
                file=sys.stderr,
            )
    return results


# -- the report -----------------------------------------------------------------------


def cell(values: list[float], fmt: str) -> str:
    if fmt == YES_NO:
        noes = values.count(0.0)
        if noes in (0, len(values)):
            return "no" if noes else "yes"
        return f"no ({noes} of {len(values)})"
    text = format(statistics.median(values), fmt)
    if len(values) > 1:
        text += f" ({format(min(values), fmt)}–{format(max(values), fmt)})"
    return text


def median_of(rows: list[dict], peer: str, metric: str) -> float | None:
    for row in rows:
        if row["peer"] == peer and not row["error"] and row["values"].get(metric):
            return statistics.median(row["values"][metric])
    return None


def markdown_table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in body]


def scenario_table(scenario: Scenario, rows: list[dict]) -> list[str]:
    header = [scenario.rows] + [c.header for c in scenario.columns]
    baseline = median_of(rows, scenario.baseline, scenario.ratio) if scenario.ratio else None
    if baseline:
        ratio_header = next(c.header for c in scenario.columns if c.metric == scenario.ratio)
        header.append(f"{ratio_header} ÷ {scenario.baseline}'s")
    body = []
    for row in rows:
        if row["error"]:
            cells = [f"n/a ({row['error']})"] + [""] * (len(header) - 2)
        else:
            cells = [
                cell(row["values"][c.metric], c.fmt) if c.metric in row["values"] else "—"
                for c in scenario.columns
            ]
            if baseline:
                cells.append(f"{median_of(rows, row['peer'], scenario.ratio) / baseline:.2f}")
        body.append([row["peer"]] + cells)
    return markdown_table(header, body)


def flop_table(scenario: Scenario, a: dict, f: dict) -> list[str]:
    """(f): the measured matmul rates, then each peer's FLOP rate in (a) against them."""
    peaks = {row["peer"]: median_of(f["rows"], row["peer"], "gflop_per_s") for row in f["rows"]}
    header = ["peer", "GFLOP/s in (a)"] + [f"fraction of {name}" for name in peaks]
    body = []
    for row in a["rows"]:
        if row["error"]:
            body.append([row["peer"], f"n/a ({row['error']})"] + [""] * len(peaks))
            continue
        gflops = [s * f["flop_per_sample"] / 1e9 for s in row["values"]["samples_per_s"]]
        fractions = [
            f"{statistics.median(gflops) / peak:.3f}" if peak else "n/a" for peak in peaks.values()
        ]
        body.append([row["peer"], cell(gflops, ".1f")] + fractions)
    return [
        *scenario_table(scenario, f["rows"]),
        "",
        f"Dense weights and biases: {f['n_weights']:,}, so {f['flop_per_sample']:,} FLOPs "
        "per training sample.",
        "",
        *markdown_table(header, body),
    ]


def architecture_tables(rows: list[dict]) -> list[str]:
    """(j): skneural ÷ scikit-learn per part, then the new-shape cost per configuration."""
    lines = []
    for peer in (SKNEURAL, SKNEURAL_STORED):
        ratios = []
        for metric, name in (
            ("cold_cv_s", "cold (c)"),
            ("digits_grid_s", "digits grid"),
            ("large_grid_s", "large grid"),
        ):
            ours, theirs = (median_of(rows, p.name, metric) for p in (peer, SKLEARN))
            if ours and theirs:
                ratios.append(f"{name} {ours / theirs:.2f}x")
        lines += [f"{peer.name} ÷ scikit-learn (medians): " + ", ".join(ratios) + ".", ""]
    found = {r["peer"]: r for r in rows if not r["error"]}
    ours = [found[p.name] for p in (SKNEURAL, SKNEURAL_STORED) if p.name in found]
    if not ours:
        return lines
    configs = [m.split(":", 1)[1] for m in ours[0]["values"] if m.startswith("new_shape_s:")]
    body = [
        [config] + [cell(row["values"][f"{m}:{config}"], ".3f") for row in ours for m in _NEW_SHAPE]
        for config in configs
    ]
    header = ["configuration"] + [
        f"{row['peer']}: {what}"
        for row in ours
        for what in ("new-shape cost (s)", "repeat fit (s)")
    ]
    return lines + markdown_table(header, body)


_NEW_SHAPE = ("new_shape_s", "repeat_s")


@functools.cache
def graph_store() -> str:
    """The run's directory of stored graphs ((j)'s stored peer), removed at exit."""
    folder = tempfile.mkdtemp(prefix="skneural-bench-graphs-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


#: Environment variables that size TensorFlow's and the BLAS libraries' thread pools.
THREAD_VARIABLES = (
    "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
)  # fmt: skip


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    packages = (
        "tensorflow", "keras", "scikit-learn", "scikeras", "adversarial-robustness-toolbox",
        "numpy", "skneural",
    )  # fmt: skip
    commit = subprocess.run(
        ["git", "-C", str(HERE), "describe", "--always", "--dirty"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # Thread-pool settings inherited by the peers' processes change what they measure.
    threads = [f"{v}={os.environ[v]}" for v in THREAD_VARIABLES if v in os.environ]
    return [
        f"- CPU: {cpu}, nproc {os.cpu_count()}",
        f"- Python {platform.python_version()}; "
        + ", ".join(f"{p} {version(p)}" for p in packages),
        f"- skneural commit: {commit or 'unknown'}",
        f"- thread settings: {', '.join(threads) if threads else 'none (the libraries choose)'}",
    ]


def report(keys, results, cfg, quick, started, total_s) -> str:
    command = "python benchmarks/run.py" + (" --quick" if quick else "")
    if keys != list(SCENARIOS):
        command += f" --scenarios {','.join(keys)}"
    lines = [
        f"# skneural benchmarks{' (quick smoke run)' if quick else ''}",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC in {total_s / 60:.1f} min (`{command}`).",
        "",
        *machine(),
        "",
        "Every peer trains hidden layers (256, 128), ReLU, Adam (lr 1e-3), batches of 256, "
        "a fixed number of epochs, no early stopping, no L2 penalty, on the same float32 "
        f"arrays. Cells: median of {cfg.repeats} repeat(s) (min–max); ratios use medians.",
        "",
        "Peers:",
        "",
        *(f"- **{peer.name}**: {peer.note}" for peer in ALL_PEERS.values()),
    ]
    for key in keys:
        scenario, result = SCENARIOS[key], results[key]
        lines += ["", f"## ({key}) {scenario.title}", "", scenario.what.format(**cfg.to_dict()), ""]
        if "error" in result:
            lines.append(f"Failed: {result['error']}")
        elif key == "j":
            lines += scenario_table(scenario, result["rows"])
            lines += ["", *architecture_tables(result["rows"])]
        elif key == "f":
            a = results.get("a", {})
            lines += flop_table(scenario, a, result) if "rows" in a else ["n/a: (a) failed"]
        else:
            lines += scenario_table(scenario, result["rows"])
        lines += ["", *result["notes"]] if result.get("notes") else []
        lines.append(
            f"\n_Scenario wall time: {result['wall_s']:.0f} s; other processes used "
            f"{result['other_cores']:.2f} cores meanwhile._"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="e.g. a,b,d")
    parser.add_argument("--repeats", type=int, help="repeats per measurement")
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    args = parser.parse_args()

    keys = [k.strip() for k in args.scenarios.split(",") if k.strip()]
    unknown = sorted(set(keys) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")
    if "f" in keys and "a" not in keys:
        print("(f) needs (a)'s throughput: adding (a)", file=sys.stderr)
        keys.insert(keys.index("f"), "a")
    cfg = (W.Config.quick if args.quick else W.Config.full)(args.repeats)

    started = datetime.now(UTC)
    start = time.perf_counter()
    results = run_all(keys, cfg)
    text = report(keys, results, cfg, args.quick, started, time.perf_counter() - start)
    print(text)
    args.output.write_text(text)
    print(f"written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
