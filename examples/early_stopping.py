"""Early stopping: stop when the held-out score stops improving, keep the best weights.

400 samples with 20% flipped labels and 50 features (8 informative), and a 2 x 256
network that can memorise all of them. With ``early_stopping=True`` the estimator
holds out ``validation_fraction`` of the training data, scores it after every epoch,
stops ``n_iter_no_change`` epochs after the best score, and restores the weights of
that best epoch. The demonstration checks the restore independently: the same
estimator, told to stop at the best epoch (``max_iter`` = best epoch), gives the same
predictions. The same network trained for all ``max_iter`` epochs fits its training
data perfectly (labels noise included), and its predictions on a test set are
accurate about as often but far more confidently wrong: a much larger test log loss.

Run with:  python examples/early_stopping.py
"""

import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from skneural import MLPClassifierX

N_ITER_NO_CHANGE = 10


def network(max_iter: int, early_stopping: bool, n_iter_no_change: int) -> MLPClassifierX:
    return MLPClassifierX(
        hidden_layer_sizes=(256, 256),
        max_iter=max_iter,
        early_stopping=early_stopping,
        validation_fraction=0.2,
        n_iter_no_change=n_iter_no_change,
        random_state=0,
    )


def fit_to_max_iter(model: MLPClassifierX, X, y) -> MLPClassifierX:
    """Fit a model meant to run all its epochs, so the max_iter warning is expected."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Stochastic Optimizer", ConvergenceWarning)
        return model.fit(X, y)


def main(quick: bool = False) -> dict:
    X, y = make_classification(
        n_samples=1400, n_features=50, n_informative=8, flip_y=0.2, random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=400, random_state=0)
    max_iter = 60 if quick else 200

    stopped = network(max_iter, True, N_ITER_NO_CHANGE).fit(X_train, y_train)
    scores = np.array(stopped.validation_scores_)
    val_loss = stopped.history_["val_loss"].to_numpy()
    best_epoch = int(np.argmax(scores)) + 1
    # Same seed, same split, same shuffles: this run ends at the best epoch, so its final
    # weights are the ones early stopping should have restored.
    by_hand = fit_to_max_iter(network(best_epoch, True, max_iter), X_train, y_train)
    full = fit_to_max_iter(network(max_iter, False, max_iter), X_train, y_train)

    results = {
        "max_iter": max_iter,
        "n_iter": stopped.n_iter_,
        "best_epoch": best_epoch,
        "validation_scores": scores.tolist(),
        "best_validation_score": stopped.best_validation_score_,
        "val_loss": val_loss.tolist(),
        "val_loss_min_epoch": int(np.argmin(val_loss)) + 1,
        "restore_difference": float(
            np.abs(stopped.predict_proba(X_test) - by_hand.predict_proba(X_test)).max()
        ),
        "full_n_iter": full.n_iter_,
    }
    for name, model in [("early", stopped), ("full", full)]:
        results[f"{name}_train_accuracy"] = model.score(X_train, y_train)
        results[f"{name}_test_accuracy"] = model.score(X_test, y_test)
        results[f"{name}_test_log_loss"] = log_loss(y_test, model.predict_proba(X_test))

    print(f"{len(y_train)} noisy training samples, a 256x256 network, max_iter={max_iter}.")
    print(
        f"Early stopping ran {stopped.n_iter_} epochs: the validation accuracy peaked at "
        f"{stopped.best_validation_score_:.3f} in epoch {best_epoch}, and the "
        f"{stopped.n_iter_ - best_epoch} epochs after it (more than n_iter_no_change="
        f"{N_ITER_NO_CHANGE}) did not improve on it."
    )
    print("  validation accuracy per epoch:", np.round(scores, 3).tolist())
    print(
        f"  validation loss: lowest {val_loss.min():.3f} in epoch "
        f"{results['val_loss_min_epoch']}, {val_loss[-1]:.3f} in the last epoch"
    )
    print(
        f"  restored weights vs. a run stopped by hand at epoch {best_epoch}: predictions "
        f"differ by at most {results['restore_difference']:.1e}"
    )
    print("                      epochs  train acc  test acc  test log loss")
    for label, name, n_iter in [
        ("with early stopping", "early", stopped.n_iter_),
        ("all max_iter epochs", "full", full.n_iter_),
    ]:
        print(
            f"  {label}  {n_iter:6d}  {results[f'{name}_train_accuracy']:9.3f}  "
            f"{results[f'{name}_test_accuracy']:8.3f}  {results[f'{name}_test_log_loss']:13.3f}"
        )
    print(
        "Training to the end memorises the noisy labels (train accuracy 1.0); its test "
        "predictions become overconfident, which the log loss shows."
    )
    return results


if __name__ == "__main__":
    main()
