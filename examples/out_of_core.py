"""Out-of-core training: a CSV larger than the memory budget, streamed in chunks.

The script writes a CSV of 200,000 rows x 20 features and a label (38 MB on disk,
32 MB as float64 in memory) one chunk at a time, so the whole table is never in
memory. Then it trains on it under a budget of 16 MB for the data:

1. one pass of ``pandas.read_csv(chunksize=5_000)`` fits a StandardScaler with
   ``partial_fit`` (the features have very different scales);
2. :func:`skneural.streaming.fit_batches` trains an MLPClassifierX on the scaled
   chunks for 3 passes over the file, re-reading it for every pass.

It reports the accuracy on held-out rows next to that of the same network fitted in
memory on the whole table (also 3 passes), and how much the process's peak resident
memory grew while streaming (about 8 MB: pandas' parser and the allocator keep
several chunks' worth), against the budget and the table's in-memory size.

Run with:  python examples/out_of_core.py
"""

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MLPClassifierX
from skneural.streaming import fit_batches

N_FEATURES = 20
N_CLASSES = 3
MEMORY_BUDGET_MB = 16
FULL = dict(n_rows=200_000, chunk_rows=5_000, epochs=3)
QUICK = dict(n_rows=40_000, chunk_rows=2_000, epochs=2)
MODEL = MLPClassifierX((64,), learning_rate_init=0.003, random_state=0)


class Teacher:
    """The rule that labels the rows: a fixed random one-hidden-layer network, with
    noise, on standard normal inputs that are then put on very different scales."""

    def __init__(self, seed: int):
        rng = np.random.default_rng(seed)
        self.hidden = rng.normal(size=(N_FEATURES, 8)) / np.sqrt(N_FEATURES)
        self.out = rng.normal(size=(8, N_CLASSES)) * 3.0
        self.scales = 10.0 ** rng.uniform(-2, 3, size=N_FEATURES)
        self.offsets = rng.normal(size=N_FEATURES) * self.scales

    def rows(self, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
        Z = rng.normal(size=(n_rows, N_FEATURES))
        logits = np.tanh(Z @ self.hidden * 2.0) @ self.out
        y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
        frame = pd.DataFrame(Z * self.scales + self.offsets)
        frame.columns = [f"x{i}" for i in range(N_FEATURES)]
        frame["label"] = y
        return frame


def write_csv(path: Path, teacher: Teacher, n_rows: int, chunk_rows: int, seed: int) -> None:
    """Write ``n_rows`` rows chunk by chunk: at most ``chunk_rows`` are ever in memory."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_rows, chunk_rows):
        chunk = teacher.rows(min(chunk_rows, n_rows - start), rng)
        chunk.to_csv(path, mode="a", header=start == 0, index=False, float_format="%.7g")


def read_chunks(path: Path, chunk_rows: int):
    return pd.read_csv(path, chunksize=chunk_rows)


def scaled_batches(path: Path, chunk_rows: int, scaler: StandardScaler):
    """The (X, y) batches of one pass over the file, scaled."""
    for chunk in read_chunks(path, chunk_rows):
        yield scaler.transform(chunk.drop(columns="label")), chunk["label"].to_numpy()


def rss_mb(field: str = "VmRSS") -> float | None:
    """Resident memory now (VmRSS) or at its peak (VmHWM) in MB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Restart the peak (VmHWM) from the current RSS; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def main(quick: bool = False) -> dict:
    size = QUICK if quick else FULL
    n_rows, chunk_rows, epochs = size["n_rows"], size["chunk_rows"], size["epochs"]
    teacher = Teacher(seed=0)
    held_out = teacher.rows(20_000, np.random.default_rng(1))
    X_test, y_test = held_out.drop(columns="label"), held_out["label"].to_numpy()
    classes = np.arange(N_CLASSES)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.csv"
        write_csv(path, teacher, n_rows, chunk_rows, seed=2)
        data_mb = n_rows * (N_FEATURES + 1) * 8 / 2**20
        chunk_mb = chunk_rows * (N_FEATURES + 1) * 8 / 2**20
        # TensorFlow's runtime is set up, and the network's graphs traced, on one chunk
        # first, so that what follows measures the streaming, not them.
        first = next(iter(read_chunks(path, chunk_rows)))
        fit_batches(clone(MODEL), [first], classes=classes, target="label")
        del first

        measured = reset_peak_rss()
        rss_before = rss_mb()
        start = time.perf_counter()
        scaler = StandardScaler()
        for chunk in read_chunks(path, chunk_rows):
            scaler.partial_fit(chunk.drop(columns="label"))
        clf = fit_batches(
            clone(MODEL),
            lambda: scaled_batches(path, chunk_rows, scaler),
            epochs=epochs,
            classes=classes,
        )
        streaming_seconds = time.perf_counter() - start
        peak_rss = rss_mb("VmHWM") if measured else None
        rss_growth = peak_rss - rss_before if measured else None
        streaming_accuracy = clf.score(scaler.transform(X_test), y_test)

        # For comparison only: the whole table in memory, breaking the budget.
        table = pd.read_csv(path)
        X, y = table.drop(columns="label"), table["label"].to_numpy()
        start = time.perf_counter()
        in_memory = make_pipeline(StandardScaler(), clone(MODEL).set_params(max_iter=epochs))
        with warnings.catch_warnings():
            # 3 epochs is the comparison's point, not a sign of trouble here.
            warnings.filterwarnings("ignore", "Stochastic Optimizer", ConvergenceWarning)
            in_memory.fit(X, y)
        in_memory_seconds = time.perf_counter() - start
        in_memory_accuracy = in_memory.score(X_test, y_test)
        csv_mb = path.stat().st_size / 2**20

    results = {
        "n_rows": n_rows,
        "chunk_rows": chunk_rows,
        "epochs": epochs,
        "csv_mb": csv_mb,
        "data_mb": data_mb,
        "chunk_mb": chunk_mb,
        "budget_mb": MEMORY_BUDGET_MB,
        "rss_growth_mb": rss_growth,
        "peak_rss_mb": peak_rss,
        "streaming_accuracy": streaming_accuracy,
        "in_memory_accuracy": in_memory_accuracy,
        "streaming_seconds": streaming_seconds,
        "in_memory_seconds": in_memory_seconds,
    }
    print(
        f"CSV: {n_rows:,} rows x {N_FEATURES} features, {csv_mb:.0f} MB on disk, "
        f"{data_mb:.0f} MB as float64; budget for the data {MEMORY_BUDGET_MB} MB"
    )
    print(f"Chunks of {chunk_rows:,} rows ({chunk_mb:.1f} MB), {epochs} passes over the file")
    memory = (
        f"peak RSS grew by {rss_growth:.1f} MB (to {peak_rss:.0f} MB, most of it TensorFlow)"
        if measured
        else "memory not measured (needs Linux's /proc)"
    )
    print(f"  streamed:  accuracy {streaming_accuracy:.3f} in {streaming_seconds:.1f} s; {memory}")
    print(
        f"  in memory: accuracy {in_memory_accuracy:.3f} in {in_memory_seconds:.1f} s "
        "(whole table loaded, for comparison)"
    )
    return results


if __name__ == "__main__":
    main()
