"""What every peer is run on: the sizes of a run and the data sets, defined once.

Every data set is float32 (Keras computes in float32 anyway, and skneural trains in
the input's dtype), so all peers see the very same arrays.
"""

from dataclasses import asdict, dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Config:
    """The sizes of one benchmark run (the same for every peer)."""

    repeats: int = 3  # measurements per peer in (a)-(d), (f); fits in (g); searches in (i)
    memory_repeats: int = 1  # runs of (e) per peer, each in a fresh process
    n_rows: int = 200_000  # rows of the training sets of (a), (b), (f)
    n_features: int = 100
    n_classes: int = 10
    train_epochs: int = 5  # epochs of (a), (b), (f)
    cv_epochs: int = 20  # epochs of each cross-validation fit in (c)
    predict_calls: int = 200  # 1-row predict calls per latency measurement in (d)
    predict_rows: int = 10_000  # rows of the throughput measurement in (d)
    memory_fits: int = 50  # consecutive fits in (e)
    memory_epochs: int = 2  # epochs of each fit in (e)
    matmul_size: int = 2048  # side of the square float32 matmul of (f)
    overhead_pairs: int = 8  # timings per variant (with / without diagnostics) in (g)
    overhead_block_s: float = 0.25  # (g) times as many epochs together as fill this
    attack_rows: int = 20_000  # rows of (h)'s synthetic data set ((a)'s recipe)
    attack_calls: int = 3  # timed calls of each attack per repeat in (h)
    search_rows: int = 10_000  # rows of (i)'s grid-search data ((a)'s recipe)
    search_features: int = 40
    search_epochs: int = 20  # epochs of each of (i)'s 12 fits
    lbfgs_iter: int = 200  # max_iter of (k)'s and (l)'s L-BFGS fits (scikit-learn's default)
    arch_digits_epochs: int = 30  # epochs of each fit of (j)'s digits grid and new-shape table
    arch_rows: int = 20_000  # rows of (j)'s second grid ((a)'s recipe, 5 classes)
    arch_features: int = 50
    arch_epochs: int = 20  # epochs of each fit of (j)'s second grid

    @classmethod
    def full(cls, repeats: int | None = None) -> "Config":
        if repeats is None:
            return cls()
        return cls(repeats=repeats, memory_repeats=repeats)

    @classmethod
    def quick(cls, repeats: int | None = None) -> "Config":
        return cls(
            repeats=repeats or 1,
            memory_repeats=repeats or 1,
            n_rows=5_000,
            train_epochs=2,
            cv_epochs=2,
            predict_calls=20,
            predict_rows=1_000,
            memory_fits=5,
            matmul_size=512,
            overhead_pairs=3,
            overhead_block_s=0.05,
            attack_rows=2_000,
            attack_calls=2,
            search_rows=2_000,
            search_epochs=2,
            lbfgs_iter=10,
            arch_digits_epochs=3,
            arch_rows=2_000,
            arch_epochs=2,
        )

    def to_dict(self) -> dict:
        return asdict(self)


def classification(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """``make_classification``: n_rows x n_features, n_classes classes, 20 informative."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=cfg.n_rows,
        n_features=cfg.n_features,
        n_informative=20,
        n_classes=cfg.n_classes,
        random_state=0,
    )
    return X.astype(np.float32), y


def attack_data(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """(a)'s recipe at ``attack_rows`` rows, for the attacks of (h)."""
    return classification(replace(cfg, n_rows=cfg.attack_rows))


def search_data(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """(a)'s recipe at ``search_rows`` x ``search_features``, for the grid search of (i)."""
    return classification(replace(cfg, n_rows=cfg.search_rows, n_features=cfg.search_features))


def architecture_data(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """(a)'s recipe at ``arch_rows`` x ``arch_features`` with 5 classes, for (j)."""
    return classification(
        replace(cfg, n_rows=cfg.arch_rows, n_features=cfg.arch_features, n_classes=5)
    )


def regression(cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """``make_regression``: n_rows x n_features, the target standardized."""
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=cfg.n_rows, n_features=cfg.n_features, random_state=0)
    y = (y - y.mean()) / y.std()
    return X.astype(np.float32), y.astype(np.float32)


def digits() -> tuple[np.ndarray, np.ndarray]:
    """``load_digits`` scaled to [0, 1] (1,797 x 64, 10 classes)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """``load_breast_cancer`` standardised (569 x 30, 2 classes)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def digits_cv_fold() -> tuple[np.ndarray, np.ndarray]:
    """The training rows of the first fold that ``cross_val_score(cv=5)`` fits a
    classifier on in (c) (``StratifiedKFold(5)``): 1,437 of digits' 1,797."""
    from sklearn.model_selection import StratifiedKFold

    X, y = digits()
    train, _ = next(StratifiedKFold(5).split(X, y))
    return X[train], y[train]
