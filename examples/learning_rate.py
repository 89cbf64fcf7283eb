"""The learning rate: too small crawls, too large diverges; schedules change it per epoch.

Plain SGD with momentum on the diabetes regression (inputs and target standardised), one
hidden layer of 64 units, the same number of epochs for each rate:

- ``learning_rate_init=1e-4`` is too small: after all epochs the loss has barely moved;
- ``1e-2`` is good: the loss falls quickly, then levels off;
- ``0.5`` is too large: every step overshoots further and within a few epochs the
  loss explodes (by far more than 1e4 times where it started). skneural stops,
  issues a ``ConvergenceWarning`` ("Training diverged in epoch ..."), and restores
  the weights from the start of that epoch;
  ``history_`` keeps the diverged epoch's loss, ``loss_curve_`` only the kept epochs.
  (At ``1`` the very first epoch explodes: there is nothing to keep, and ``fit``
  raises a ``ValueError`` that says so, as scikit-learn's MLP does for non-finite
  weights.)

Then a schedule: ``learning_rate='cosine'`` with ``warmup_epochs=3`` ramps the rate up for
3 epochs and lets it decay along a half cosine; ``history_`` records each epoch's rate.

Run with:  python examples/learning_rate.py
"""

import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skneural import MLPRegressorX

RATES = {"too small": 1e-4, "good": 1e-2, "too large": 0.5}
SCHEDULE = dict(learning_rate="cosine", learning_rate_init=0.05, warmup_epochs=3)


def sgd(epochs: int, **params) -> MLPRegressorX:
    return MLPRegressorX(
        hidden_layer_sizes=(64,),
        solver="sgd",
        max_iter=epochs,
        # Every rate gets the same number of epochs: the stopping rule never fires.
        n_iter_no_change=epochs,
        random_state=0,
        **params,
    )


def fit(model: MLPRegressorX, X, y) -> tuple[MLPRegressorX, list[str]]:
    """The fitted model and the messages of its divergence warnings, if any."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Running all max_iter epochs is what these fits are asked to do.
        warnings.filterwarnings("ignore", "Stochastic Optimizer", ConvergenceWarning)
        model.fit(X, y)
    diverged = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ConvergenceWarning)
        and str(w.message).startswith("Training diverged in epoch")
    ]
    for w in caught:
        if str(w.message) not in diverged:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model, diverged


def main(quick: bool = False) -> dict:
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    epochs = 10 if quick else 30

    results = {"epochs": epochs, "rates": {}}
    for name, rate in RATES.items():
        model, diverged = fit(sgd(epochs, learning_rate_init=rate), X, y)
        predictions = model.predict(X)
        results["rates"][name] = {
            "learning_rate_init": rate,
            "n_iter": model.n_iter_,
            "loss_curve": model.loss_curve_,
            "history_loss": model.history_["loss"].tolist(),
            "divergence_warnings": diverged,
            "predictions_finite": bool(np.isfinite(predictions).all()),
            "max_abs_prediction": float(np.abs(predictions).max()),
        }

    model, _ = fit(sgd(epochs, **SCHEDULE), X, y)
    results["schedule"] = {**SCHEDULE, "max_iter": epochs}
    results["schedule_rates"] = model.history_["learning_rate"].tolist()

    print(f"SGD (momentum 0.9) on the diabetes data, {epochs} epochs per learning rate:")
    for name, r in results["rates"].items():
        curve = r["loss_curve"]
        if r["divergence_warnings"]:
            outcome = (
                f"diverged: history_ ends with loss {r['history_loss'][-1]} in epoch "
                f"{len(r['history_loss'])}; loss_curve_ = {np.array(curve).round(1).tolist()}"
            )
        else:
            outcome = f"loss {curve[0]:.3f} after epoch 1, {curve[-1]:.3f} after epoch {len(curve)}"
        print(f"  {name:<9} (learning_rate_init={r['learning_rate_init']:g}): {outcome}")
    large = results["rates"]["too large"]
    if large["divergence_warnings"]:
        print("  The warning:", large["divergence_warnings"][0])
    print(
        f"  After diverging the estimator still predicts: finite values = "
        f"{large['predictions_finite']}, up to {large['max_abs_prediction']:.1f} (standardised "
        "target):\n  the restored weights are those of the last good epoch. Lower the rate."
    )
    print(
        f"Schedule {SCHEDULE}, max_iter={epochs}: history_['learning_rate'] per epoch:\n  ",
        np.round(results["schedule_rates"], 4).tolist(),
    )
    return results


if __name__ == "__main__":
    main()
