"""One scenario, run in a fresh process by ``run.py``; writes its measurements as JSON.

    python benchmarks/scenarios.py NAME --config JSON --out FILE [--peer PEER]

Each scenario returns ``{"rows": [...]}``: per peer its name, a note, the list of
measurements of each metric (one per repeat) and, if the peer could not run, the
reason. Repeats are interleaved (every peer once, then every peer again, ...) so that
a slow patch of the machine hits all peers alike; each measurement uses a new
estimator. Presentation (titles, units, the table) is ``run.py``'s business.
"""

import argparse
import contextlib
import functools
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable

import numpy as np
import peers as P
import workloads as W

SEED = 0
BACKUP_CALLS = 200  # calls per timing of (g)'s backup estimate (~0.3 ms each)
ATTACK_EPS = 0.1  # (h)'s budget, in the units of the features
ATTACK_BATCH = 1024  # (h)'s rows per gradient, the same for skneural and ART
AGREE_TOL = 1e-6  # (h): a row equals ART's if every feature is within 1e-6 (+ 1e-6 relative)
SEARCH_GRID = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 3e-3]}  # (i): 4 candidates
SEARCH_FOLDS = 3  # (i): 4 candidates x 3 folds = 12 fits
WORKERS = 2  # (i): loky's n_jobs, and the worker processes of the Dask cluster
# What sizes TensorFlow's pools in a worker (skneural sizes them to the worker's share
# of the cores when it is imported in a loky or Dask worker, unless these are set).
TF_POOLS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
# Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in each worker before it starts. Set
# at all, it turns off glibc's adaptive mmap threshold, so that every block above 128 KiB
# (a 256 x 256 float32 activation) is mapped and unmapped afresh; None leaves it unset.
GLIBC_TRIM = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
#: (j): the architectures a grid search tries; the digits grid crosses all three, the
#: large one the first two with Adam only.
ARCH_GRID = {
    "hidden_layer_sizes": [(64,), (128,), (64, 64), (128, 64)],
    "activation": ["relu", "tanh", "logistic"],
    "solver": ["adam", "sgd"],
}
ARCH_FOLDS = 3
PROBED = ("OMP_NUM_THREADS", *TF_POOLS, "MALLOC_TRIM_THRESHOLD_")  # (i): reported
#: (i)'s ways of running the search: the row's name, joblib's backend, and Dask
#: configuration set while the cluster runs.
SEARCH_WAYS = (
    ("serial", "serial", {}),
    ("loky, n_jobs=2", "loky", {}),
    ("Dask, 2 workers", "dask", {}),
    ("Dask, 2 workers, MALLOC_TRIM_THRESHOLD_ unset", "dask", GLIBC_TRIM),
)


# -- measuring ----------------------------------------------------------------------


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return f"{exc.name or exc} not installed" if exc.name else str(exc)
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return text[:120]


def measure_peers(
    peers: tuple[P.Peer, ...],
    repeats: int,
    measure: Callable[[P.Peer], dict[str, float]],
    prepare: Callable[[P.Peer], None] | None = None,
) -> list[dict]:
    """``prepare(peer)`` once per peer (warm-up), then ``measure(peer)`` ``repeats``
    times, interleaved across peers. A peer that raises is reported, not fatal."""
    rows = {p.name: {"peer": p.name, "note": p.note, "values": {}, "error": None} for p in peers}

    def attempt(peer, step, record=True):
        row = rows[peer.name]
        if row["error"] is not None:
            return
        try:
            result = step(peer)
        except Exception as exc:  # a broken or missing peer must not stop the others
            row["error"] = describe_failure(exc)
            print(f"[{peer.name}] failed: {exc!r}", file=sys.stderr)
            return
        if not record:
            return
        for key, value in result.items():
            row["values"].setdefault(key, []).append(float(value))

    if prepare is not None:
        for peer in peers:
            attempt(peer, prepare, record=False)
    for _ in range(repeats):
        for peer in peers:
            gc.collect()
            attempt(peer, measure)
    return list(rows.values())


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fit(peer: P.Peer, task: str, epochs: int, X, y, seed: int = SEED):
    estimator, fit_params = peer.make(task, epochs, seed)
    return estimator.fit(X, y, **fit_params)


def warm_up(task: str, X, y) -> Callable[[P.Peer], None]:
    """A one-epoch fit on 512 rows: process-wide start-up costs (TensorFlow's runtime,
    first kernels) are paid before the clock runs, whichever peer comes first."""
    return lambda peer: fit(peer, task, 1, X[:512], y[:512])


def rss_mb() -> float:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- the scenarios --------------------------------------------------------------------


def training_throughput(task: str, X, y, cfg: W.Config, peers) -> dict:
    """Samples per second of one whole ``fit`` (build, trace, train) of a new estimator."""

    def measure(peer):
        seconds = timed(lambda: fit(peer, task, cfg.train_epochs, X, y))
        return {"samples_per_s": len(X) * cfg.train_epochs / seconds, "fit_s": seconds}

    return {"rows": measure_peers(peers, cfg.repeats, measure, warm_up(task, X, y))}


def scenario_a(cfg: W.Config, peers=P.TRAINING_PEERS) -> dict:
    return training_throughput(P.CLASSIFICATION, *W.classification(cfg), cfg, peers)


def scenario_b(cfg: W.Config, peers=P.TRAINING_PEERS) -> dict:
    return training_throughput(P.REGRESSION, *W.regression(cfg), cfg, peers)


def scenario_c(cfg: W.Config, peers=P.TRAINING_PEERS) -> dict:
    """``cross_val_score(cv=5)`` on digits: wall time and mean accuracy."""
    from sklearn.model_selection import cross_val_score

    X, y = W.digits()

    def measure(peer):
        estimator, fit_params = peer.make(P.CLASSIFICATION, cfg.cv_epochs, SEED)
        start = time.perf_counter()
        scores = cross_val_score(estimator, X, y, cv=5, params=fit_params or None)
        return {"wall_s": time.perf_counter() - start, "accuracy": scores.mean()}

    prepare = warm_up(P.CLASSIFICATION, X, y)
    return {"rows": measure_peers(peers, cfg.repeats, measure, prepare)}


def scenario_d(cfg: W.Config, peers=P.PREDICT_PEERS) -> dict:
    """``predict`` latency on one row and throughput on ``predict_rows`` rows, of a
    classifier fitted for one epoch on 10,000 rows of (a)'s data."""
    X, y = W.classification(cfg)
    X_train, y_train = X[:10_000], y[:10_000]
    X_bulk = X[: cfg.predict_rows]
    fitted = {}

    def prepare(peer):
        estimator = fit(peer, P.CLASSIFICATION, 1, X_train, y_train)
        for i in range(10):
            estimator.predict(X[i : i + 1])
        estimator.predict(X_bulk)
        fitted[peer.name] = estimator

    def measure(peer):
        predict = fitted[peer.name].predict
        latencies = [timed(lambda i=i: predict(X[i : i + 1])) for i in range(cfg.predict_calls)]
        bulk = statistics.median(timed(lambda: predict(X_bulk)) for _ in range(5))
        return {
            "latency_ms": 1e3 * statistics.median(latencies),
            "rows_per_s": len(X_bulk) / bulk,
        }

    return {"rows": measure_peers(peers, cfg.repeats, measure, prepare)}


def scenario_e(cfg: W.Config, peers=P.TRAINING_PEERS) -> dict:
    """Resident memory over ``memory_fits`` fits of new estimators on digits.

    After each fit the estimator is dropped and ``gc.collect()`` runs, so what remains
    is what the libraries keep (caches, traced functions, leaks), not garbage waiting
    for the collector. Growth is from after fit 1 to after the last fit. One run per
    peer: a second run in the same process would start from a different state, so
    ``run.py`` starts one process per peer and repeat.
    """
    X, y = W.digits()

    def measure(peer):
        rss = []
        for i in range(cfg.memory_fits):
            fit(peer, P.CLASSIFICATION, cfg.memory_epochs, X, y, seed=i)
            gc.collect()
            rss.append(rss_mb())
        growth = rss[-1] - rss[0]
        return {
            "rss_first_mb": rss[0],
            "growth_mb": growth,
            "growth_per_fit_kb": 1024 * growth / (cfg.memory_fits - 1),
        }

    return {"rows": measure_peers(peers, 1, measure)}


def scenario_f(cfg: W.Config, peers=None) -> dict:
    """The machine's float32 matmul rate (TensorFlow and numpy), and the FLOPs one
    training sample of (a) costs: 6 x the weights and biases of the Dense layers."""
    import tensorflow as tf

    n = cfg.matmul_size
    rng = np.random.default_rng(0)
    a_np, b_np = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    a_tf, b_tf = tf.constant(a_np), tf.constant(b_np)
    engines = {
        "TensorFlow tf.linalg.matmul": lambda: tf.linalg.matmul(a_tf, b_tf).numpy(),
        "numpy matmul": lambda: a_np @ b_np,
    }

    def measure(name):
        engines[name]()  # warm-up
        seconds = statistics.median(timed(engines[name]) for _ in range(5))
        return {"gflop_per_s": 2 * n**3 / seconds / 1e9}

    matmul_peers = tuple(P.Peer(name, None) for name in engines)
    rows = measure_peers(matmul_peers, cfg.repeats, lambda peer: measure(peer.name))
    n_weights = P.build_mlp(cfg.n_features, cfg.n_classes, P.CLASSIFICATION, SEED).count_params()
    return {"rows": rows, "n_weights": n_weights, "flop_per_sample": 6 * n_weights}


class DiagnosticsCost:
    """Epoch times of skneural's compiled epoch with and without its diagnostics, on
    one data set: two runners (``EpochRunner``) on Keras workspaces built the way
    ``skneural._pool`` builds one, from the same initial weights, trained on the same
    orders (the diagnostics change no weight, so both follow the same trajectory).

    ``diagnostics=False`` drops only the per-step gradient norms and unit activity;
    the per-epoch backup of every variable and the finiteness check run in both, so
    they are estimated on their own: the same assignments and checks in a
    ``tf.function``, minus the call of an empty one.
    """

    def __init__(self, X, y, fit_epochs: int, cfg: W.Config):
        self.X, self.y, self.fit_epochs, self.cfg = X, y, fit_epochs, cfg
        self.rng = np.random.default_rng(SEED)
        self.pairs = 0

    def prepare(self) -> None:
        import tensorflow as tf

        from skneural._epoch import EpochRunner, TrainData
        from skneural._network import build_network
        from skneural._workspace import KerasWorkspace

        # A fit on a few rows gives the estimator's network spec, objective and
        # optimizer, and leaves a traced workspace of this shape in the pool for the
        # whole fits below.
        estimator = fit(P.SKNEURAL, P.CLASSIFICATION, 1, self.X[:512], self.y[:512])
        classes = estimator.classes_
        if not np.array_equal(classes, np.unique(self.y)):
            raise ValueError(f"the first 512 rows hold classes {classes}, not all of y's")
        Y = np.eye(len(classes))[np.searchsorted(classes, self.y)]
        weights = np.ones(len(self.X))
        plan = estimator._network.plan
        self.data = TrainData.from_arrays(self.X, Y, weights, plan.network.dtype)
        objective = plan.objective
        optimizer = estimator.model_.optimizer
        self.runners = {}
        for diagnostics in (True, False):
            model = build_network(plan.network, np.random.default_rng(SEED))
            model.compile(optimizer=type(optimizer).from_config(optimizer.get_config()))
            runner = EpochRunner(KerasWorkspace(model), objective, diagnostics=diagnostics)
            runner.configure(objective)
            self.runners[diagnostics] = runner

        model = self.runners[True].workspace.model
        state = [*model.variables, *model.optimizer.variables]
        backup = [tf.Variable(v.value, trainable=False) for v in state]

        @tf.function(autograph=False)
        def backup_and_check():  # the first and last steps of EpochRunner._run_epoch
            for saved, variable in zip(backup, state, strict=True):
                saved.assign(variable.value)
            return tf.reduce_all(
                [tf.reduce_all(tf.math.is_finite(v)) for v in model.trainable_variables]
            )

        self.backup_and_check = backup_and_check
        self.empty = tf.function(lambda: tf.constant(True), autograph=False)
        order = self.rng.permutation(len(self.X))
        for runner in self.runners.values():
            self.epoch(runner, order)  # traces
        seconds = min(self.epoch(runner, order) for runner in self.runners.values())
        self.block = max(1, round(self.cfg.overhead_block_s / seconds))
        self.backup_and_check()  # traces
        self.empty()

    def epoch(self, runner, order) -> float:
        """Seconds of one epoch in ``order``."""
        start = time.perf_counter()
        (result,) = runner.run_epochs(self.data, order[None], P.BATCH_SIZE)
        seconds = time.perf_counter() - start
        if not result.finite:
            raise RuntimeError("training diverged: the epoch times mean nothing")
        return seconds

    def calls_ms(self, fn) -> float:
        return 1e3 * timed(lambda: [fn() for _ in range(BACKUP_CALLS)]) / BACKUP_CALLS

    def measure(self) -> dict[str, float]:
        """One pair of timings: ``block`` epochs of each variant, interleaved epoch by
        epoch (ABBA...), so that a burst of load elsewhere slows both alike. The first
        ``repeats`` pairs also time a whole ``fit``."""
        seconds = {True: 0.0, False: 0.0}
        for i in range(self.block):
            order = self.rng.permutation(len(self.X))
            first = (self.pairs + i) % 2 == 0
            for diagnostics in (first, not first):
                seconds[diagnostics] += self.epoch(self.runners[diagnostics], order)
        ms = {d: 1e3 * s / self.block for d, s in seconds.items()}
        backup = self.calls_ms(self.backup_and_check) - self.calls_ms(self.empty)
        result = {
            "with_ms": ms[True],
            "without_ms": ms[False],
            "overhead_pct": 100 * (ms[True] / ms[False] - 1),
            "backup_ms": backup,
            "total_pct": 100 * (ms[True] / (ms[False] - backup) - 1),
        }
        if self.pairs < self.cfg.repeats:
            epochs = self.fit_epochs
            seconds = timed(lambda: fit(P.SKNEURAL, P.CLASSIFICATION, epochs, self.X, self.y))
            result["fit_epoch_ms"] = 1e3 * seconds / epochs
        self.pairs += 1
        return result


def scenario_g(cfg: W.Config, peers=None) -> dict:
    """What skneural's training diagnostics cost per epoch, on (a)'s data and on one
    cross-validation fold of (c). Not a comparison of peers: a row per workload."""
    X_a, y_a = W.classification(cfg)
    X_d, y_d = W.digits_cv_fold()
    benches = {
        f"(a)'s data, {len(X_a):,} x {X_a.shape[1]}": DiagnosticsCost(
            X_a, y_a, cfg.train_epochs, cfg
        ),
        f"(c)'s digits, one training fold, {len(X_d):,} x {X_d.shape[1]}": DiagnosticsCost(
            X_d, y_d, cfg.cv_epochs, cfg
        ),
    }
    workloads = tuple(P.Peer(name, None) for name in benches)
    rows = measure_peers(
        workloads,
        cfg.overhead_pairs,
        lambda workload: benches[workload.name].measure(),
        lambda workload: benches[workload.name].prepare(),
    )
    for row in rows:
        block = getattr(benches[row["peer"]], "block", None)
        if block is not None:
            row["peer"] += f" ({block} epoch{'s' * (block > 1)} per timing)"
    return {"rows": rows}


def art_attack(estimator, norm: float):
    """ART's ``FastGradientMethod`` on the estimator's own Keras network, exposed as
    logits (the layer named "output", before the softmax) with a from-logits
    cross-entropy: the loss skneural's attack differentiates. (On ``model_``'s
    probabilities, Keras's cross-entropy clips them at 1e-7, which zeroes the gradient
    of confidently classified rows.)"""
    import keras
    from art.attacks.evasion import FastGradientMethod
    from art.estimators.classification import TensorFlowV2Classifier

    model = estimator.model_
    classifier = TensorFlowV2Classifier(
        model=keras.Model(model.inputs, model.get_layer("output").output),
        nb_classes=len(estimator.classes_),
        input_shape=(estimator.n_features_in_,),
        loss_object=keras.losses.CategoricalCrossentropy(from_logits=True),
    )
    return FastGradientMethod(classifier, eps=ATTACK_EPS, norm=norm, batch_size=ATTACK_BATCH)


class AttackWorkload:
    """One data set of (h) and the models attacked on it, fitted on first use: the
    skneural peer (hidden (256, 128), batches of 256) alone and behind a
    ``StandardScaler``, ``epochs`` epochs each (accuracy does not matter here; the
    arithmetic of an attack does not depend on it)."""

    def __init__(self, X, y, epochs: int):
        self.X, self.y, self.epochs = X, y, epochs

    @functools.cached_property
    def estimator(self):
        return fit(P.SKNEURAL, P.CLASSIFICATION, self.epochs, self.X, self.y)

    @functools.cached_property
    def pipeline(self):
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        unfitted, _ = P.SKNEURAL.make(P.CLASSIFICATION, self.epochs, SEED)
        return make_pipeline(StandardScaler(), unfitted).fit(self.X, self.y)


class AttackThroughput:
    """FGSM in one norm on one workload: skneural's ``fgsm`` against the same attack
    by another implementation, called alternately (which goes first alternates).

    The other is ART's ``FastGradientMethod`` on the same fitted network
    (``pipeline=False``), or, for ``pipeline=True``, skneural's ``fgsm`` on the bare
    estimator, to show what attacking through a ``StandardScaler`` (rewritten as
    TensorFlow ops) costs; ART cannot attack a Pipeline.
    """

    def __init__(self, workload: AttackWorkload, norm: float, pipeline: bool, calls: int):
        self.workload, self.norm, self.pipeline, self.calls = workload, norm, pipeline, calls
        self.art_error = None
        self.measured = 0

    def prepare(self) -> None:
        from skneural.adversarial import fgsm

        X, y = self.workload.X, self.workload.y
        estimator = self.workload.estimator

        def attack(target):
            return lambda: fgsm(
                target, X, y, eps=ATTACK_EPS, norm=self.norm, batch_size=ATTACK_BATCH
            )

        if self.pipeline:
            self.attacks = {"pipeline": attack(self.workload.pipeline)}
            self.attacks["estimator"] = attack(estimator)
        else:
            self.attacks = {"skneural": attack(estimator)}
        for run in self.attacks.values():
            run()  # warm-up: first kernels, Keras's first eager call
        if self.pipeline:
            return
        try:
            art = art_attack(estimator, self.norm)
            Y = np.eye(len(estimator.classes_), dtype=np.float32)
            Y = Y[np.searchsorted(estimator.classes_, y)]
            art.generate(X, Y)  # warm-up
            self.attacks["ART"] = lambda: art.generate(X, Y)
        except Exception as exc:  # ART missing or broken: skneural alone, and why
            self.art_error = describe_failure(exc)
            print(f"[ART] failed: {exc!r}", file=sys.stderr)

    def measure(self) -> dict[str, float]:
        """``calls`` timings of each attack, alternating; rows per second from the
        median call. Against ART: the share of rows whose adversarial examples agree
        and the largest difference, from the last outputs."""
        seconds = {name: [] for name in self.attacks}
        outputs = {}
        for i in range(self.calls):
            names = list(self.attacks)
            for name in names if (self.measured + i) % 2 == 0 else names[::-1]:
                start = time.perf_counter()
                outputs[name] = self.attacks[name]()
                seconds[name].append(time.perf_counter() - start)
        self.measured += 1
        rate = {name: len(self.workload.X) / statistics.median(s) for name, s in seconds.items()}
        if self.pipeline:
            return {
                "skneural_rows_per_s": rate["pipeline"],
                "pipeline_ratio": rate["estimator"] / rate["pipeline"],
            }
        result = {"skneural_rows_per_s": rate["skneural"]}
        if "ART" in rate:
            ours, theirs = outputs["skneural"], outputs["ART"]
            diff = np.abs(ours.astype(np.float64) - theirs)
            equal = np.all(diff <= AGREE_TOL * (1 + np.abs(theirs)), axis=1)
            result |= {
                "art_rows_per_s": rate["ART"],
                "speed_ratio": rate["skneural"] / rate["ART"],
                "agree_pct": 100 * equal.mean(),
                "max_diff": diff.max(),
            }
        return result


def scenario_h(cfg: W.Config, peers=None) -> dict:
    """FGSM throughput of skneural against ART on the same Keras network, on digits and
    on (a)'s recipe at ``attack_rows`` rows. Not a comparison of peers: a row per
    workload and attack."""
    data = {
        "digits, {:,} x {}": W.digits(),
        "(a)'s recipe, {:,} x {}": W.attack_data(cfg),
    }
    benches = {}
    for label, (X, y) in data.items():
        workload = AttackWorkload(X, y, cfg.train_epochs)
        for norm, pipeline, attack in (
            (np.inf, False, "L∞"),
            (2.0, False, "L2"),
            (np.inf, True, "L∞, Pipeline(StandardScaler, MLPClassifierX)"),
        ):
            bench = AttackThroughput(workload, norm, pipeline, cfg.attack_calls)
            benches[f"{label.format(*X.shape)}, {attack}"] = bench
    rows = measure_peers(
        tuple(P.Peer(name, None) for name in benches),
        cfg.repeats,
        lambda row: benches[row.name].measure(),
        lambda row: benches[row.name].prepare(),
    )
    art_errors = {bench.art_error for bench in benches.values() if bench.art_error}
    notes = [f"ART: n/a ({error})" for error in sorted(art_errors)]
    return {"rows": rows, "notes": notes}


def grid_search(X, y, epochs: int, n_jobs: int):
    """(i)'s search, fitted: the skneural peer over ``SEARCH_GRID``, ``SEARCH_FOLDS`` folds."""
    from sklearn.model_selection import GridSearchCV

    estimator, _ = P.SKNEURAL.make(P.CLASSIFICATION, epochs, SEED)
    return GridSearchCV(estimator, SEARCH_GRID, cv=SEARCH_FOLDS, n_jobs=n_jobs).fit(X, y)


def worker_environ(pause_s: float) -> tuple[int, str]:
    """A probe task: its worker's pid and the ``PROBED`` variables of its environment.
    The pause keeps the worker busy, so that the probes spread over all the workers."""
    import tensorflow as tf

    time.sleep(pause_s)
    found = [f"{name}={os.environ.get(name, 'unset')}" for name in PROBED]
    threads = tf.config.threading
    intra = threads.get_intra_op_parallelism_threads()
    inter = threads.get_inter_op_parallelism_threads()
    found.append(f"TensorFlow's pools (intra, inter; 0: its default) = {intra}+{inter}")
    return os.getpid(), ", ".join(found)


@contextlib.contextmanager
def restored_environ():
    """Give this process its environment back as it was: a ``LocalCluster`` writes
    Dask's pre-spawn variables (OMP_NUM_THREADS=1, MALLOC_TRIM_THRESHOLD_, ...) into it."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def start_backend(kind: str, config: dict, stack: contextlib.ExitStack) -> int:
    """Make joblib run searches ``kind``'s way until ``stack`` closes: "serial" here,
    "loky" on ``WORKERS`` processes, "dask" on a new ``LocalCluster`` of ``WORKERS``
    processes of 1 thread each, under the Dask configuration ``config``. Returns the
    ``n_jobs``."""
    import joblib

    if kind == "serial":
        return 1
    if kind == "loky":
        stack.enter_context(joblib.parallel_config(backend="loky"))
        return WORKERS
    import dask
    from dask.distributed import Client, LocalCluster

    stack.enter_context(restored_environ())
    stack.enter_context(dask.config.set(config))
    cluster = stack.enter_context(
        LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
    )
    stack.enter_context(Client(cluster))
    stack.enter_context(joblib.parallel_backend("dask"))
    return -1


class SearchWay:
    """(i): one way of running the grid search (``kind``, ``config``: see
    :func:`start_backend`), started on ``stack`` and timed. Every search's
    ``best_params_`` and ``mean_test_score`` are compared with those of the first
    serial search, kept in ``serial`` (the serial way runs first and fills it)."""

    def __init__(self, name, kind, config, X, y, epochs: int, stack, serial: dict):
        self.name, self.kind, self.config = name, kind, config
        self.X, self.y, self.epochs = X, y, epochs
        self.stack, self.serial = stack, serial
        self.workers = []  # (pid, its PROBED variables), from the probe tasks
        self.differences = []
        self.measured = 0

    def run(self, repeats: int) -> list[dict]:
        peer = P.Peer(self.name, None)
        return measure_peers((peer,), repeats, lambda _: self.measure(), lambda _: self.prepare())

    def prepare(self) -> None:
        """Start the workers (a cluster's start-up timed on its own), then a warm-up
        search at 1 epoch per fit: the workers start, import TensorFlow and trace the
        network (the shape of the timed fits: only ``max_iter`` differs) before the
        clock runs. Probe tasks then read the workers' environment."""
        started = time.perf_counter()
        self.n_jobs = start_backend(self.kind, self.config, self.stack)
        self.startup_s = time.perf_counter() - started
        self.warm_up_s = timed(lambda: grid_search(self.X, self.y, 1, self.n_jobs))
        if self.n_jobs != 1:
            import joblib

            probes = joblib.Parallel(n_jobs=self.n_jobs)(
                joblib.delayed(worker_environ)(0.1) for _ in range(2 * WORKERS)
            )
            self.workers = sorted(set(probes))

    def measure(self) -> dict[str, float]:
        start = time.perf_counter()
        search = grid_search(self.X, self.y, self.epochs, self.n_jobs)
        result = {"wall_s": time.perf_counter() - start}
        if self.kind == "serial":
            self.serial.setdefault("search", search)
        if "search" in self.serial:
            result["same_as_serial"] = self.compare(search, self.serial["search"])
        if self.measured == 0:
            result["warm_up_s"] = self.warm_up_s
            if self.kind == "dask":
                result["startup_s"] = self.startup_s
        self.measured += 1
        return result

    def compare(self, search, serial) -> bool:
        """Whether ``search`` found what the serial search found; if not, why not."""
        ours, theirs = (s.cv_results_["mean_test_score"] for s in (search, serial))
        same = search.best_params_ == serial.best_params_ and np.array_equal(ours, theirs)
        if not same:
            self.differences.append(
                f"best_params_ {search.best_params_} (serial: {serial.best_params_}), "
                f"mean_test_score up to {np.abs(ours - theirs).max():.1e} apart"
            )
        return same

    def notes(self) -> list[str]:
        notes = [f"- {self.name}: differs from serial: {text}" for text in self.differences]
        if self.workers:
            found = "; ".join(sorted({environ for _, environ in self.workers}))
            notes.append(f"- {self.name}: probes reached {len(self.workers)} worker(s): {found}")
        return notes


def scenario_i(cfg: W.Config, peers=None) -> dict:
    """Wall time of one grid search (12 fits of the skneural peer), run serially, on
    loky's processes and on a Dask ``LocalCluster``, once more without the
    MALLOC_TRIM_THRESHOLD_ its nannies set. Not a comparison of peers: a row per way.

    The ways run one after the other, each on workers of its own, not interleaved:
    joblib keeps one loky pool at a time, and a cluster's workers are its own."""
    X, y = W.search_data(cfg)
    serial, rows, notes = {}, [], []
    for name, kind, config in SEARCH_WAYS:
        with contextlib.ExitStack() as stack:
            way = SearchWay(name, kind, config, X, y, cfg.search_epochs, stack, serial)
            rows += way.run(cfg.repeats)
        notes += way.notes()
    return {"rows": rows, "notes": notes}


def arch_estimator(peer: P.Peer, epochs: int, **params):
    estimator, _ = peer.make(P.CLASSIFICATION, epochs, SEED)
    return estimator.set_params(**params)


def arch_search(peer: P.Peer, grid: dict, X, y, epochs: int) -> dict[str, float]:
    """(j): wall time and best mean score of ``GridSearchCV`` over ``grid``, serial."""
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(arch_estimator(peer, epochs), grid, cv=ARCH_FOLDS, n_jobs=1)
    seconds = timed(lambda: search.fit(X, y))
    return {"wall_s": seconds, "best_score": search.best_score_}


def forget_compiled(peer: P.Peer) -> None:
    """Drop skneural's pooled workspaces, so that the next part of (j) compiles every
    graph as a fresh process would (a workspace's graphs are its own; nothing else of
    a trace is kept); for the plain skneural peer, also point the graph store at a new,
    empty directory, so that the part traces every graph (the stored peer keeps the
    directory ``run.py`` filled in an earlier process)."""
    if peer in (P.SKNEURAL, P.SKNEURAL_STORED):
        from skneural._pool import POOL

        POOL.clear()
    if peer is P.SKNEURAL:
        os.environ["SKNEURAL_GRAPH_CACHE"] = tempfile.mkdtemp(prefix="skneural-graphs-")
    gc.collect()


def config_name(params: dict) -> str:
    sizes = ",".join(str(n) for n in params["hidden_layer_sizes"])
    return f"({sizes}) {params['activation']} {params['solver']}"


def scenario_j(cfg: W.Config, peers=(P.SKLEARN, P.SKNEURAL)) -> dict:
    """Grid search over architectures: every configuration is a new network shape.

    In this process, in this order (``run.py`` gives each peer and repeat a fresh
    process): (c) cold, i.e. ``cross_val_score(cv=5)`` on digits as the first fit of
    the process (TensorFlow's and the peer's first-use costs included, not the imports);
    the new-shape table: for each of the 24 configurations of ``ARCH_GRID``, a fit on
    the training rows of digits' first fold of 3 (1,198 rows), then a second fit of
    the same configuration (a new estimator); then the digits grid, 24 configurations x
    3 folds; then the large grid, 12 configurations (Adam) x 3 folds. Between parts
    skneural's pooled workspaces are dropped, so every configuration of every part is a
    new shape."""
    from sklearn.model_selection import ParameterGrid, StratifiedKFold, cross_val_score

    X, y = W.digits()
    X_large, y_large = W.architecture_data(cfg)
    large_grid = {**ARCH_GRID, "solver": ["adam"]}
    train, _ = next(StratifiedKFold(ARCH_FOLDS).split(X, y))
    X_fold, y_fold = X[train], y[train]

    def measure(peer):
        result = {}
        forget_compiled(peer)
        estimator = arch_estimator(peer, cfg.cv_epochs)
        start = time.perf_counter()
        scores = cross_val_score(estimator, X, y, cv=5)
        result["cold_cv_s"] = time.perf_counter() - start
        result["cold_accuracy"] = scores.mean()
        forget_compiled(peer)
        overheads = []
        for params in ParameterGrid(ARCH_GRID):
            make = functools.partial(arch_estimator, peer, cfg.arch_digits_epochs, **params)
            first, repeat = (timed(lambda m=make: m().fit(X_fold, y_fold)) for _ in range(2))
            result[f"new_shape_s:{config_name(params)}"] = first - repeat
            result[f"repeat_s:{config_name(params)}"] = repeat
            overheads.append(first - repeat)
        result["new_shape_median_s"] = statistics.median(overheads)
        result["new_shape_max_s"] = max(overheads)
        forget_compiled(peer)
        digits = arch_search(peer, ARCH_GRID, X, y, cfg.arch_digits_epochs)
        result.update(digits_grid_s=digits["wall_s"], digits_best=digits["best_score"])
        forget_compiled(peer)
        large = arch_search(peer, large_grid, X_large, y_large, cfg.arch_epochs)
        result.update(large_grid_s=large["wall_s"], large_best=large["best_score"])
        return result

    return {"rows": measure_peers(peers, 1, measure)}


def lbfgs_fits(X, y, cfg: W.Config, peers) -> dict:
    """(k), (l): ``solver='lbfgs'`` fits of each peer's classifier (same network, same
    ``max_iter``) on 75% of ``X``; fit time, iterations run and accuracy on the rest."""
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=SEED
    )

    def make(peer, max_iter):
        estimator, _ = peer.make(P.CLASSIFICATION, max_iter, SEED)
        # scikit-learn's default network: L-BFGS is its choice for small data.
        return estimator.set_params(solver="lbfgs", max_iter=max_iter, hidden_layer_sizes=(100,))

    def measure(peer):
        estimator = make(peer, cfg.lbfgs_iter)
        fit_s = timed(lambda: estimator.fit(X_train, y_train))
        return {
            "fit_s": fit_s,
            "n_iter": float(estimator.n_iter_),
            "accuracy": estimator.score(X_test, y_test),
        }

    def prepare(peer):  # process start-up and, for skneural, the objective's trace
        make(peer, 2).fit(X_train, y_train)

    return {"rows": measure_peers(peers, cfg.repeats, measure, prepare)}


def scenario_k(cfg: W.Config, peers=P.LBFGS_PEERS) -> dict:
    return lbfgs_fits(*W.digits(), cfg, peers)


def scenario_l(cfg: W.Config, peers=P.LBFGS_PEERS) -> dict:
    return lbfgs_fits(*W.breast_cancer(), cfg, peers)


SCENARIOS = {
    "a": scenario_a,
    "b": scenario_b,
    "c": scenario_c,
    "d": scenario_d,
    "e": scenario_e,
    "f": scenario_f,
    "g": scenario_g,
    "h": scenario_h,
    "i": scenario_i,
    "j": scenario_j,
    "k": scenario_k,
    "l": scenario_l,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--config", required=True, help="a Config as JSON")
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    parser.add_argument("--peer", help="run only this peer (by name)")
    args = parser.parse_args()

    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    cfg = W.Config(**json.loads(args.config))
    scenario = SCENARIOS[args.scenario]
    started = time.perf_counter()
    if args.peer:
        result = scenario(cfg, peers=(P.ALL_PEERS[args.peer],))
    else:
        result = scenario(cfg)
    result["seconds"] = time.perf_counter() - started
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
