"""skneural in one page: swap scikit-learn's MLP for MLPClassifierX, then use the
levers scikit-learn does not have.

Run with:  python examples/quickstart.py
"""

import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skneural import MLPClassifierX

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# 1. The same parameters as scikit-learn's MLP: only the class name changes.
params = dict(hidden_layer_sizes=(128, 64), max_iter=30, random_state=0)
for cls in (MLPClassifier, MLPClassifierX):
    model = make_pipeline(StandardScaler(), cls(**params))
    scores = cross_val_score(model, X_train, y_train, cv=3)
    print(f"{cls.__name__:>14}: 3-fold CV accuracy {scores.mean():.3f}")

# 2. The levers of a Keras network, each one constructor parameter.
clf = make_pipeline(
    StandardScaler(),
    MLPClassifierX(
        hidden_layer_sizes=(128, 64),
        activation="gelu",
        kernel_initializer="he_normal",
        solver="adamw",
        dropout=0.2,
        batch_normalization=True,
        early_stopping=True,
        max_iter=100,
        random_state=0,
    ),
)
clf.fit(X_train, y_train)
mlp = clf[-1]
print(
    f"test accuracy {clf.score(X_test, y_test):.3f} after {mlp.n_iter_} epochs "
    f"(best validation accuracy {mlp.best_validation_score_:.3f})"
)
print(mlp.history_.tail(3).round(4).to_string())
print("Keras layers:", [layer.name for layer in mlp.model_.layers])
