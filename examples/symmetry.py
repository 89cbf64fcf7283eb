"""Why weights start random: an all-zero start never breaks the symmetry between units.

With ``kernel_initializer='zeros'`` every hidden unit starts with the same weights, so
every unit computes the same output, receives the same gradient and takes the same step,
epoch after epoch: after training, all 32 columns of ``coefs_[0]`` are still identical
and the layer is worth a single unit. skneural notices and issues a
``DiagnosticWarning`` ("Symmetry not broken"). The default ``'glorot_uniform'`` draws
each unit's weights at random, the units learn different features, and the network
scores far better on the digits.

The activation is the sigmoid ('logistic'): it outputs 1/2 at 0, so the zero-started
units do learn, just all in lockstep. (With 'tanh' or 'relu', which output 0 at 0,
nothing but the output bias would move at all.)

Run with:  python examples/symmetry.py
"""

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skneural import MLPClassifierX
from skneural.exceptions import DiagnosticWarning

N_UNITS = 32
#: Relative differences up to this are float rounding, not learned differences.
ROUNDING = 1e-6


def fit(kernel_initializer: str, X, y, epochs: int) -> tuple[MLPClassifierX, list[str]]:
    """The fitted network and the messages of the DiagnosticWarnings it issued."""
    model = MLPClassifierX(
        hidden_layer_sizes=(N_UNITS,),
        activation="logistic",
        kernel_initializer=kernel_initializer,
        learning_rate_init=0.01,
        max_iter=epochs,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Running all max_iter epochs is expected: the comparison is at a fixed budget.
        warnings.filterwarnings("ignore", "Stochastic Optimizer", ConvergenceWarning)
        model.fit(X, y)
    diagnostics = [str(w.message) for w in caught if issubclass(w.category, DiagnosticWarning)]
    for w in caught:
        if not issubclass(w.category, DiagnosticWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model, diagnostics


def main(quick: bool = False) -> dict:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, stratify=y, random_state=0)
    epochs = 15 if quick else 50

    results = {}
    for init in ["zeros", "glorot_uniform"]:
        model, diagnostics = fit(init, X_train, y_train, epochs)
        kernel = model.coefs_[0]
        # How far apart the units' weights are, relative to the largest weight. Identical
        # units may still differ by rounding: the matrix kernels may sum their (equal)
        # gradients in different orders.
        spread = float(np.ptp(kernel, axis=1).max() / np.abs(kernel).max())
        results[init] = {
            "unit_spread": spread,
            "all_columns_equal": spread <= ROUNDING,
            "kernel_max_abs": float(np.abs(kernel).max()),
            "symmetry_warning": any("Symmetry not broken" in m for m in diagnostics),
            "test_accuracy": model.score(X_test, y_test),
        }

    print(f"One hidden layer of {N_UNITS} sigmoid units on the digits, {epochs} epochs.")
    print("How far apart the units' weights in coefs_[0] are:")
    for init, r in results.items():
        warned = "DiagnosticWarning: symmetry" if r["symmetry_warning"] else "no warning"
        print(
            f"  {init:<15} units differ by {r['unit_spread']:.1e} of the largest weight "
            f"({r['kernel_max_abs']:.2f})   {warned:<27}  test accuracy {r['test_accuracy']:.3f}"
        )
    print(
        "The zero-started units moved (their weights are not 0) but stayed identical: "
        f"{N_UNITS} copies of one unit.\nRandom initialization breaks the symmetry."
    )
    return results


if __name__ == "__main__":
    main()
