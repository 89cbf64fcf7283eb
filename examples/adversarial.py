"""The fast gradient sign attack, and adversarial training as its remedy.

An MLP on scikit-learn's digits is attacked with FGSM through its StandardScaler, so
the budget is in pixel intensity (0-16); accuracy collapses. The same network trained
with ``adversarial_eps`` (half of every batch replaced by FGSM examples) keeps much
more of it. Finally the robustness curve of both, and GridSearchCV picking the
training budget by robust accuracy.

Run with:  python examples/adversarial.py
"""

import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MLPClassifierX
from skneural.adversarial import fgsm, make_adversarial_scorer, robustness_curve


def main(quick: bool = False) -> dict:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    epochs = 20 if quick else 50

    def model(adversarial_eps: float):
        return make_pipeline(
            StandardScaler(),
            MLPClassifierX((64,), max_iter=epochs, adversarial_eps=adversarial_eps, random_state=0),
        )

    budgets = [0.0, 0.1, 0.25, 0.5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        normal = model(0.0).fit(X_train, y_train)
        robust = model(0.3).fit(X_train, y_train)
        X_adv = fgsm(normal, X_test, y_test, eps=0.25)
        curves = {
            "normal": robustness_curve(normal, X_test, y_test, budgets),
            "adversarial training": robustness_curve(robust, X_test, y_test, budgets),
        }
        search = GridSearchCV(
            model(0.0),
            {"mlpclassifierx__adversarial_eps": [0.0, 0.3]},
            scoring={"clean": "accuracy", "robust": make_adversarial_scorer(0.25)},
            refit="robust",
            cv=2,
        ).fit(X_train[:600] if quick else X_train, y_train[:600] if quick else y_train)

    print(f"largest change of a pixel by FGSM at eps=0.25: {abs(X_adv - X_test).max():.2f}")
    print(f"{'eps':>6} {'normal':>8} {'adversarially trained':>22}")
    for i, eps in enumerate(budgets):
        print(
            f"{eps:>6g} {curves['normal']['score'][i]:>8.3f} "
            f"{curves['adversarial training']['score'][i]:>22.3f}"
        )
    best = search.best_params_["mlpclassifierx__adversarial_eps"]
    print(f"GridSearchCV by robust accuracy picks adversarial_eps={best}")
    return {
        "max_change": float(abs(X_adv - X_test).max()),
        "normal": list(curves["normal"]["score"]),
        "robust": list(curves["adversarial training"]["score"]),
        "picked_eps": best,
    }


if __name__ == "__main__":
    main()
